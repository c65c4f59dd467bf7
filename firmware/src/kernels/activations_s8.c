/* Softmax, Lookup (Logistic, Tanh, Lookup), Quantize and Dequantize (mirror Kernels/Softmax.cs, Lookup.cs, Quantize.cs). */
#include <string.h>
#include "kernels.h"
#include "quant_math.h"

void eq_softmax_s8(const eq_softmax_params *p)
{
    int32_t r, i;
    for (r = 0; r < p->rows; r++)
    {
        const int8_t *x = p->input + r * p->depth;
        int8_t *y = p->output + r * p->depth;
        int32_t max = -128;
        int64_t sum = 0, half;
        for (i = 0; i < p->depth; i++) if (x[i] > max) max = x[i];
        for (i = 0; i < p->depth; i++) sum += p->exp_table[max - x[i]];
        half = sum / 2;
        for (i = 0; i < p->depth; i++)
        {
            const int64_t q = ((int64_t)p->exp_table[max - x[i]] * 256 + half) / sum - 128;
            y[i] = (int8_t)(q < -128 ? -128 : (q > 127 ? 127 : q));
        }
    }
}

void eq_lookup_s8(const eq_lookup_params *p)
{
    uint32_t i;
    for (i = 0; i < p->count; i++)
        p->output[i] = p->table[p->input[i] + 128];
}

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
