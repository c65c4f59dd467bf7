/*
 * Add/Sub with Helium: the broadcast walk of elementwise_s8_dsp.c (eq_opt_add_s8_rows) over a row
 * kernel doing four elements per step in int32 lanes: VLDRB.S32 widens four int8 (VDUP for a
 * broadcast input), the offset and left shift, the three requantizations as eq_opt_mbqm_mve (the
 * four-lane form of quant_math.h's eq_mbqm, tested equal on extreme values), the clamp, and
 * VSTRB.32 narrows four results back; the row's last n % 4 elements run eq_opt_add_one.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif

static void add_row_mve(const eq_opt_add_ctx *c, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb, int8_t *y, int32_t n)
{
    const int32x4_t ls = vdupq_n_s32(c->left_shift);
    const int32x4_t m1 = vdupq_n_s32(c->m1), s1 = vdupq_n_s32(c->s1), m2 = vdupq_n_s32(c->m2), s2 = vdupq_n_s32(c->s2);
    const int32x4_t mo = vdupq_n_s32(c->mo), so = vdupq_n_s32(c->so);
    const int32x4_t lo = vdupq_n_s32(c->act_min), hi = vdupq_n_s32(c->act_max);
    const int32_t off1 = c->off1, off2 = c->off2, out_off = c->out_off, sub = c->subtract;
    int32_t i = 0;
    for (; i + 4 <= n; i += 4, y += 4) {
        int32x4_t x1 = sa ? vldrbq_s32(a + i) : vdupq_n_s32(*a);
        int32x4_t x2 = sb ? vldrbq_s32(b + i) : vdupq_n_s32(*b);
        x1 = eq_opt_mbqm_mve(vshlq_s32(vaddq_n_s32(x1, off1), ls), m1, s1);
        x2 = eq_opt_mbqm_mve(vshlq_s32(vaddq_n_s32(x2, off2), ls), m2, s2);
        int32x4_t v = eq_opt_mbqm_mve(sub ? vsubq_s32(x1, x2) : vaddq_s32(x1, x2), mo, so);
        v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi);
        vstrbq_s32(y, v);
    }
    for (; i < n; i++) *y++ = eq_opt_add_one(c, a[i * sa], b[i * sb]);
}

eq_status eq_add_s8_mve(const eq_elementwise_params *p, int subtract)
{
    return eq_opt_add_s8_rows(p, subtract, add_row_mve);
}

#endif
