/* Concatenation, Pad, Transpose (mirror Kernels/Concatenation.cs, Pad.cs, Transpose.cs). */
#include <string.h>
#include "kernels.h"
#include "quant_math.h"

void eq_concatenation_input_s8(const eq_concat_input_params *p)
{
    int32_t outer = 1, inner = 1, d, o, i, chunk;
    const int32_t in_axis = p->in_shape[p->axis], out_axis = p->out_shape[p->axis];
    for (d = 0; d < p->axis; d++) outer *= p->in_shape[d];
    for (d = p->axis + 1; d < 4; d++) inner *= p->in_shape[d];
    chunk = in_axis * inner;
    for (o = 0; o < outer; o++)
    {
        const int8_t *src = p->input + o * chunk;
        int8_t *dst = p->output + (o * out_axis + p->axis_offset) * inner;
        if (p->multiplier == 0)
        {
            memmove(dst, src, (size_t)chunk);
            continue;
        }
        for (i = 0; i < chunk; i++)
        {
            const int32_t v = eq_add_wrap(eq_mbqm(src[i] + p->input_offset, p->multiplier, p->shift), p->output_offset);
            dst[i] = (int8_t)eq_clamp(v, -128, 127);
        }
    }
}

void eq_pad_s8(const eq_pad_params *p)
{
    const int32_t *is = p->in_shape, *os = p->out_shape;
    const int32_t row = is[3];
    int32_t a, b, c;
    memset(p->output, (int8_t)p->pad_value, (size_t)os[0] * (size_t)os[1] * (size_t)os[2] * (size_t)os[3]);
    for (a = 0; a < is[0]; a++)
        for (b = 0; b < is[1]; b++)
            for (c = 0; c < is[2]; c++)
            {
                const int32_t src = ((a * is[1] + b) * is[2] + c) * is[3];
                const int32_t dst = (((a + p->before[0]) * os[1] + b + p->before[1]) * os[2] + c + p->before[2]) * os[3] + p->before[3];
                memmove(p->output + dst, p->input + src, (size_t)row);
            }
}

void eq_transpose_s8(const eq_transpose_params *p)
{
    int32_t stride[4], s0, s1, s2, s3, a, b, c, d, i = 0;
    const int32_t *os = p->out_shape;
    stride[3] = 1;
    for (d = 2; d >= 0; d--) stride[d] = stride[d + 1] * p->in_shape[d + 1];
    s0 = stride[p->perm[0]]; s1 = stride[p->perm[1]]; s2 = stride[p->perm[2]]; s3 = stride[p->perm[3]];
    for (a = 0; a < os[0]; a++)
        for (b = 0; b < os[1]; b++)
            for (c = 0; c < os[2]; c++)
            {
                const int32_t base = a * s0 + b * s1 + c * s2;
                for (d = 0; d < os[3]; d++, i++)
                    p->output[i] = p->input[base + d * s3];
            }
}
