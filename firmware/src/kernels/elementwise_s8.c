/* Add, Sub, Mul with broadcasting: the reference (mirrors Kernels/Elementwise.Reference.cs) and dispatchers. */
#include "kernels.h"
#include "quant_math.h"

static int32_t bcast_index(const int32_t *s, int32_t d0, int32_t d1, int32_t d2, int32_t d3)
{
    const int32_t i0 = s[0] == 1 ? 0 : d0, i1 = s[1] == 1 ? 0 : d1, i2 = s[2] == 1 ? 0 : d2, i3 = s[3] == 1 ? 0 : d3;
    return ((i0 * s[1] + i1) * s[2] + i2) * s[3] + i3;
}

static int8_t add_one(const eq_elementwise_params *p, int32_t x, int32_t y, int subtract)
{
    const int32_t a = (x + p->input1_offset) * (1 << p->left_shift);
    const int32_t b = (y + p->input2_offset) * (1 << p->left_shift);
    const int32_t sa = eq_mbqm_call(a, p->input1_multiplier, p->input1_shift);
    const int32_t sb = eq_mbqm_call(b, p->input2_multiplier, p->input2_shift);
    const int32_t sum = subtract ? (int32_t)((uint32_t)sa - (uint32_t)sb) : eq_add_wrap(sa, sb);
    const int32_t v = eq_add_wrap(eq_mbqm_call(sum, p->output_multiplier, p->output_shift), p->output_offset);
    return (int8_t)eq_clamp(v, p->act_min, p->act_max);
}

static int8_t mul_one(const eq_elementwise_params *p, int32_t x, int32_t y)
{
    const int32_t prod = (x + p->input1_offset) * (y + p->input2_offset);
    const int32_t v = eq_add_wrap(eq_mbqm_call(prod, p->output_multiplier, p->output_shift), p->output_offset);
    return (int8_t)eq_clamp(v, p->act_min, p->act_max);
}

void eq_add_s8_ref(const eq_elementwise_params *p, int subtract)
{
    const int32_t *o = p->out_shape;
    int32_t d0, d1, d2, d3, i = 0;
    for (d0 = 0; d0 < o[0]; d0++)
        for (d1 = 0; d1 < o[1]; d1++)
            for (d2 = 0; d2 < o[2]; d2++)
                for (d3 = 0; d3 < o[3]; d3++, i++)
                    p->output[i] = add_one(p, p->a[bcast_index(p->a_shape, d0, d1, d2, d3)],
                                           p->b[bcast_index(p->b_shape, d0, d1, d2, d3)], subtract);
}

void eq_mul_s8_ref(const eq_elementwise_params *p)
{
    const int32_t *o = p->out_shape;
    int32_t d0, d1, d2, d3, i = 0;
    for (d0 = 0; d0 < o[0]; d0++)
        for (d1 = 0; d1 < o[1]; d1++)
            for (d2 = 0; d2 < o[2]; d2++)
                for (d3 = 0; d3 < o[3]; d3++, i++)
                    p->output[i] = mul_one(p, p->a[bcast_index(p->a_shape, d0, d1, d2, d3)],
                                           p->b[bcast_index(p->b_shape, d0, d1, d2, d3)]);
}

void eq_add_s8(const eq_elementwise_params *p)
{
#if EQ_USE_MVE
    if (eq_add_s8_mve(p, 0) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_add_s8_dsp(p, 0);
#else
    eq_add_s8_ref(p, 0);
#endif
}

void eq_sub_s8(const eq_elementwise_params *p)
{
#if EQ_USE_MVE
    if (eq_add_s8_mve(p, 1) == EQ_OK) return;
#endif
#if EQ_USE_DSP
    /* The DSP path covers every case: the reference is not linked into DSP images. */
    (void)eq_add_s8_dsp(p, 1);
#else
    eq_add_s8_ref(p, 1);
#endif
}

void eq_mul_s8(const eq_elementwise_params *p)
{
    eq_mul_s8_ref(p);
}
