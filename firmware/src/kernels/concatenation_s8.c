/* Concatenation: one input copied or rescaled into its slot of the output (mirrors Kernels/Concatenation.cs). */
#include <string.h>
#include "kernels.h"
#include "quant_math.h"

/* The input's runs (outer of them, chunk bytes each, one after the other) into the output's slots (dst_step bytes apart).
 * A channel concat copies one short run per pixel (BlazeFace: 24 and 4 bytes, 4,096 times), where a C library call
 * costs more than the copy (newlib's memmove: about 135 instructions per pixel for 24 + 4 bytes on the M55): when the
 * runs, the step and both addresses are multiples of 4, they go as words, read and written through memcpy of 4 bytes
 * (one LDR and one STR, within C's aliasing rules), in one loop over all runs. Input and output are different tensors
 * (the arena plan keeps live tensors apart). */
static void copy_runs(int8_t *dst, int32_t dst_step, const int8_t *src, int32_t chunk, int32_t outer)
{
    int32_t o, w;
    if (((chunk | dst_step | (int32_t)(uintptr_t)dst | (int32_t)(uintptr_t)src) & 3) == 0)
    {
        const int32_t words = chunk >> 2, skip = dst_step - chunk;
        for (o = 0; o < outer; o++, dst += skip)
            for (w = 0; w < words; w++, dst += 4, src += 4)
            {
                uint32_t v;
                memcpy(&v, src, 4);
                memcpy(dst, &v, 4);
            }
        return;
    }
    for (o = 0; o < outer; o++, dst += dst_step, src += chunk) memmove(dst, src, (size_t)chunk);
}

/* One input byte in the output's quantization. */
static int8_t rescale(const eq_concat_input_params *p, int32_t x)
{
    const int32_t v = eq_add_wrap(eq_mbqm_call(x + p->input_offset, p->multiplier, p->shift), p->output_offset);
    return (int8_t)eq_clamp(v, -128, 127);
}

void eq_concatenation_input_s8(const eq_concat_input_params *p)
{
    int32_t outer = 1, inner = 1, d, o, i, chunk, use_table;
    const int32_t in_axis = p->in_shape[p->axis], out_axis = p->out_shape[p->axis];
    int8_t table[256];
    for (d = 0; d < p->axis; d++) outer *= p->in_shape[d];
    for (d = p->axis + 1; d < 4; d++) inner *= p->in_shape[d];
    chunk = in_axis * inner;
    /* The rescale depends on the byte alone: for more than 256 elements, its 256 results once per call (256 bytes of
     * stack), then one lookup per element. */
    use_table = p->multiplier != 0 && outer * chunk > 256;
    if (use_table)
        for (i = 0; i < 256; i++) table[i] = rescale(p, i - 128);
    if (p->multiplier == 0)
    {
        copy_runs(p->output + p->axis_offset * inner, out_axis * inner, p->input, chunk, outer);
        return;
    }
    for (o = 0; o < outer; o++)
    {
        const int8_t *src = p->input + o * chunk;
        int8_t *dst = p->output + (o * out_axis + p->axis_offset) * inner;
        if (use_table)
        {
            for (i = 0; i < chunk; i++) dst[i] = table[src[i] + 128];
            continue;
        }
        for (i = 0; i < chunk; i++) dst[i] = rescale(p, src[i]);
    }
}
