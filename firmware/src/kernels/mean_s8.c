/* Mean over H and W (mirrors Kernels/Mean.Reference.cs, with its accumulator headroom shift). */
#include "kernels.h"
#include "quant_math.h"

int32_t eq_mean_headroom_shift(int32_t hw, int32_t shift)
{
    const int64_t bound = (int64_t)383 * hw; /* |x + input_offset| <= 127 + 255 + 1 */
    int32_t l = 0;
    if (shift > 0) return 0;
    while (l < 16 && (bound << (l + 1)) < (int64_t)INT32_MAX && shift - (l + 1) >= -31) l++;
    return l;
}

void eq_mean_s8_ref(const eq_mean_params *p)
{
    const int32_t hw = p->in_h * p->in_w, c = p->channels;
    const int32_t l = eq_mean_headroom_shift(hw, p->shift);
    int32_t b, ch, i;
    for (b = 0; b < p->batches; b++)
        for (ch = 0; ch < c; ch++)
        {
            int32_t acc = 0, v;
            for (i = 0; i < hw; i++)
                acc += p->input[(b * hw + i) * c + ch] + p->input_offset;
            v = eq_add_wrap(eq_mbqm_call((int32_t)((uint32_t)acc << l), p->multiplier, p->shift - l), p->output_offset);
            p->output[b * c + ch] = (int8_t)eq_clamp(v, -128, 127);
        }
}

void eq_mean_s8(const eq_mean_params *p)
{
    eq_mean_s8_ref(p);
}
