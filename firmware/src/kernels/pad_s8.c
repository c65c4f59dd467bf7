/* Pad: constant padding of a rank-4 tensor (mirrors Kernels/Pad.cs). */
#include <string.h>
#include "kernels.h"

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
