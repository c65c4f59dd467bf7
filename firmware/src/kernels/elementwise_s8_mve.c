/*
 * Add/Sub with Helium: the broadcast walk of elementwise_s8_dsp.c (eq_opt_add_s8_rows) over a row
 * kernel doing four elements per step in int32 lanes: VLDRB.S32 widens four int8 (VDUP for a
 * broadcast input), the offset and left shift, the three requantizations as eq_opt_mbqm_mve_n (the
 * four-lane form of quant_math.h's eq_mbqm with the op's one multiplier and shift in core registers), the clamp, and
 * VSTRB.32 narrows four results back; the row's last n % 4 elements run eq_opt_add_one.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif

/* One input's (x + offset) << left_shift requantized. The input of the larger scale has multiplier 2^30 and shift 0
 * (one half: the converter's Add parameters, as TFLite's, give it scale / (2 x the larger scale)), and one half of the
 * even (x + offset) << left_shift is exact: VQRDMULH by 2^30 gives (2a 2^30 + 2^31) / 2^32 = a / 2 + 1/2 floored,
 * a / 2 for even a, so that input is (x + offset) << (left_shift - 1). The other takes VQRDMULH and the right shift. */
static inline int32x4_t add_input(int32x4_t x, int32x4_t offset, int32_t left_shift, int32_t m, int32_t shift, const int half)
{
    if (half) return vshlq_r_s32(vaddq_s32(x, offset), left_shift - 1);
    return eq_opt_round_right_mve(vqrdmulhq_n_s32(vshlq_r_s32(vaddq_s32(x, offset), left_shift), m), shift);
}

/* The common case, n a multiple of 4: both inputs whole rows, one or both of them the half (add_input), the other's
 * shift and the output's right shifts, no subtraction. The loop's scalars fit the core registers and its vectors
 * (offsets, bounds) the Q registers. */
static inline void add_run_mve(const eq_opt_add_ctx *c, const int8_t *a, const int8_t *b, int8_t *y, int32_t n, const int half1, const int half2)
{
    const int32x4_t off1 = vdupq_n_s32(c->off1), off2 = vdupq_n_s32(c->off2), lo = vdupq_n_s32(c->act_min), hi = vdupq_n_s32(c->act_max);
    const int32_t ls = c->left_shift, m1 = c->m1, s1 = c->s1, m2 = c->m2, s2 = c->s2, mo = c->mo, so = c->so, out_off = c->out_off;
    for (int32_t i = 0; i < n; i += 4) {
        int32x4_t x1 = add_input(vldrbq_s32(a + i), off1, ls, m1, s1, half1);
        int32x4_t x2 = add_input(vldrbq_s32(b + i), off2, ls, m2, s2, half2);
        int32x4_t v = eq_opt_round_right_mve(vqrdmulhq_n_s32(vaddq_s32(x1, x2), mo), so);
        vstrbq_s32(y + i, vminq_s32(vmaxq_s32(vaddq_n_s32(v, out_off), lo), hi));
    }
}

/* Whether an input's requantization is the exact half of add_input (with a left shift of at least 1). */
static int is_half(const eq_opt_add_ctx *c, int32_t m, int32_t shift) { return eq_opt_add_half(m, shift) && c->left_shift >= 1; }

static void add_row_mve(const eq_opt_add_ctx *c, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb, int8_t *y, int32_t n)
{
    int32_t i = 0;
    const int half1 = is_half(c, c->m1, c->s1), half2 = is_half(c, c->m2, c->s2);
    if (sa && sb && !c->subtract && c->so < 0 && (half1 || c->s1 < 0) && (half2 || c->s2 < 0) && (half1 || half2)) {
        i = n & ~3;
        if (half1 && half2) add_run_mve(c, a, b, y, i, 1, 1);
        else if (half1) add_run_mve(c, a, b, y, i, 1, 0);
        else add_run_mve(c, a, b, y, i, 0, 1);
        y += i;
    } else {
        const int32x4_t lo = vdupq_n_s32(c->act_min), hi = vdupq_n_s32(c->act_max);
        for (; i + 4 <= n; i += 4, y += 4) {
            int32x4_t x1 = sa ? vldrbq_s32(a + i) : vdupq_n_s32(*a);
            int32x4_t x2 = sb ? vldrbq_s32(b + i) : vdupq_n_s32(*b);
            x1 = eq_opt_mbqm_mve_n(vshlq_r_s32(vaddq_n_s32(x1, c->off1), c->left_shift), c->m1, c->s1);
            x2 = eq_opt_mbqm_mve_n(vshlq_r_s32(vaddq_n_s32(x2, c->off2), c->left_shift), c->m2, c->s2);
            int32x4_t v = eq_opt_mbqm_mve_n(c->subtract ? vsubq_s32(x1, x2) : vaddq_s32(x1, x2), c->mo, c->so);
            v = vminq_s32(vmaxq_s32(vaddq_n_s32(v, c->out_off), lo), hi);
            vstrbq_s32(y, v);
        }
    }
    for (; i < n; i++) *y++ = eq_opt_add_one(c, a[i * sa], b[i * sb]);
}

eq_status eq_add_s8_mve(const eq_elementwise_params *p, int subtract)
{
    return eq_opt_add_s8_rows(p, subtract, add_row_mve);
}

#endif
