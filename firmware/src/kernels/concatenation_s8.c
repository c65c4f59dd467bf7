/* Concatenation: one input copied or rescaled into its slot of the output (mirrors Kernels/Concatenation.cs). */
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
            const int32_t v = eq_add_wrap(eq_mbqm_call(src[i] + p->input_offset, p->multiplier, p->shift), p->output_offset);
            dst[i] = (int8_t)eq_clamp(v, -128, 127);
        }
    }
}
