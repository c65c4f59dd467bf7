/* Quantize (float32 to int8) and Dequantize (int8 to float32), per tensor (mirror Kernels/Quantize.cs). */
#include <string.h>
#include "kernels.h"
#include "quant_math.h"

void eq_quantize_f32_s8(const eq_quantize_params *p)
{
    uint32_t i;
    /* Floats in the arena are read and written with memcpy: the arena is a byte buffer. */
    for (i = 0; i < p->count; i++)
    {
        float x;
        memcpy(&x, (const unsigned char *)p->input_f32 + 4u * i, sizeof x);
        p->output_s8[i] = eq_quantize_s8(x, p->scale, p->zero_point);
    }
}

void eq_dequantize_s8_f32(const eq_quantize_params *p)
{
    uint32_t i;
    for (i = 0; i < p->count; i++)
    {
        const float x = eq_dequantize_s8(p->input_s8[i], p->scale, p->zero_point);
        memcpy((unsigned char *)p->output_f32 + 4u * i, &x, sizeof x);
    }
}
