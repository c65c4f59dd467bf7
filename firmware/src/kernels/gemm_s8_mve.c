/*
 * int8 GEMM micro-kernels with Helium (Cortex-M55): a block of 2 rows x 2 output channels takes
 * 16 inputs per step with VLDRB and four VMLADAVA (16 multiply-accumulates each, int8 x int8 into
 * a scalar int32, wrapping). The input offset cannot be added in int8 lanes: it comes with the
 * blob's folded bias, or else through the filter sum, sum (x + off) * w = sum x * w + off * sum w,
 * taken in the same loop by VADDVA (wrapping arithmetic, so identical modulo 2^32 to the reference). The
 * k tail is one predicated step (VCTP8, zeroing loads). Four channels of accumulators are then
 * requantized together by eq_opt_requantize_mve.
 */
#include "kernels_opt.h"

#if EQ_USE_MVE

#if defined(__GNUC__) && !defined(__clang__)
/* Helium paths build -O2 inside -Os images: the 24 KB code budget is the M4's (the Cortex-M55 has none). */
#pragma GCC optimize("O2")
#endif

/* Dot products of rows x0, x1 with filter rows w0, w1 (k each): r[0]=x0.w0 r[1]=x0.w1 r[2]=x1.w0 r[3]=x1.w1, with the offset. */
/* Inlined with off a compile-time 0 when the bias is the blob's folded one: the filter sums vanish. */
static inline __attribute__((always_inline)) void dot_2x2(const int8_t *x0, const int8_t *x1, const int8_t *w0, const int8_t *w1, int32_t k,
                           int32_t off, int32_t bias0, int32_t bias1, int32_t r[4])
{
    int32_t s00 = 0, s01 = 0, s10 = 0, s11 = 0, sw0 = 0, sw1 = 0;
    int32_t j = k;
    for (; j >= 16; j -= 16) {
        int8x16_t a = vldrbq_s8(x0), b = vldrbq_s8(x1), f0 = vldrbq_s8(w0), f1 = vldrbq_s8(w1);
        x0 += 16; x1 += 16; w0 += 16; w1 += 16;
        s00 = vmladavaq_s8(s00, a, f0);
        s01 = vmladavaq_s8(s01, a, f1);
        s10 = vmladavaq_s8(s10, b, f0);
        s11 = vmladavaq_s8(s11, b, f1);
        if (off != 0) {
            sw0 = vaddvaq_s8(sw0, f0);
            sw1 = vaddvaq_s8(sw1, f1);
        }
    }
    if (j > 0) {
        mve_pred16_t p = vctp8q((uint32_t)j);
        int8x16_t a = vldrbq_z_s8(x0, p), b = vldrbq_z_s8(x1, p), f0 = vldrbq_z_s8(w0, p), f1 = vldrbq_z_s8(w1, p);
        s00 = vmladavaq_s8(s00, a, f0);
        s01 = vmladavaq_s8(s01, a, f1);
        s10 = vmladavaq_s8(s10, b, f0);
        s11 = vmladavaq_s8(s11, b, f1);
        if (off != 0) {
            sw0 = vaddvaq_s8(sw0, f0);
            sw1 = vaddvaq_s8(sw1, f1);
        }
    }
    uint32_t c0 = (uint32_t)bias0 + (uint32_t)off * (uint32_t)sw0, c1 = (uint32_t)bias1 + (uint32_t)off * (uint32_t)sw1;
    r[0] = (int32_t)(c0 + (uint32_t)s00);
    r[1] = (int32_t)(c1 + (uint32_t)s01);
    r[2] = (int32_t)(c0 + (uint32_t)s10);
    r[3] = (int32_t)(c1 + (uint32_t)s11);
}

/* Dot products of row x0 with filter rows w0, w1: r[0]=x0.w0 r[1]=x0.w1, with the offset. */
static inline __attribute__((always_inline)) void dot_1x2(const int8_t *x0, const int8_t *w0, const int8_t *w1, int32_t k,
                           int32_t off, int32_t bias0, int32_t bias1, int32_t r[2])
{
    int32_t s0 = 0, s1 = 0, sw0 = 0, sw1 = 0;
    int32_t j = k;
    for (; j >= 16; j -= 16) {
        int8x16_t a = vldrbq_s8(x0), f0 = vldrbq_s8(w0), f1 = vldrbq_s8(w1);
        x0 += 16; w0 += 16; w1 += 16;
        s0 = vmladavaq_s8(s0, a, f0);
        s1 = vmladavaq_s8(s1, a, f1);
        if (off != 0) {
            sw0 = vaddvaq_s8(sw0, f0);
            sw1 = vaddvaq_s8(sw1, f1);
        }
    }
    if (j > 0) {
        mve_pred16_t p = vctp8q((uint32_t)j);
        int8x16_t a = vldrbq_z_s8(x0, p), f0 = vldrbq_z_s8(w0, p), f1 = vldrbq_z_s8(w1, p);
        s0 = vmladavaq_s8(s0, a, f0);
        s1 = vmladavaq_s8(s1, a, f1);
        if (off != 0) {
            sw0 = vaddvaq_s8(sw0, f0);
            sw1 = vaddvaq_s8(sw1, f1);
        }
    }
    r[0] = (int32_t)((uint32_t)bias0 + (uint32_t)off * (uint32_t)sw0 + (uint32_t)s0);
    r[1] = (int32_t)((uint32_t)bias1 + (uint32_t)off * (uint32_t)sw1 + (uint32_t)s1);
}

static inline int32_t dot_1(const int8_t *x0, const int8_t *w0, int32_t k, int32_t off, int32_t bias)
{
    int32_t s = 0, sw = 0, j = k;
    for (; j >= 16; j -= 16, x0 += 16, w0 += 16) {
        int8x16_t f = vldrbq_s8(w0);
        s = vmladavaq_s8(s, vldrbq_s8(x0), f);
        sw = vaddvaq_s8(sw, f);
    }
    if (j > 0) {
        mve_pred16_t p = vctp8q((uint32_t)j);
        int8x16_t f = vldrbq_z_s8(w0, p);
        s = vmladavaq_s8(s, vldrbq_z_s8(x0, p), f);
        sw = vaddvaq_s8(sw, f);
    }
    return (int32_t)((uint32_t)bias + (uint32_t)off * (uint32_t)sw + (uint32_t)s);
}

static inline __attribute__((always_inline)) void rows2(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1, int32_t off)
{
    const int32_t k = g->k, n = g->n_out;
    int32_t oc = 0;
    int32_t r[4], a0[4], a1[4];
    for (; oc + 4 <= n; oc += 4) {
        const int8_t *w = g->filter + oc * k;
        dot_2x2(x0, x1, w, w + k, k, off, g->bias[oc], g->bias[oc + 1], r);
        a0[0] = r[0]; a0[1] = r[1]; a1[0] = r[2]; a1[1] = r[3];
        dot_2x2(x0, x1, w + 2 * k, w + 3 * k, k, off, g->bias[oc + 2], g->bias[oc + 3], r);
        a0[2] = r[0]; a0[3] = r[1]; a1[2] = r[2]; a1[3] = r[3];
        vstrbq_s32(y0 + oc, eq_opt_requantize_mve(vldrwq_s32(a0), g->multiplier + oc, g->shift + oc,
                                                  g->output_offset, g->act_min, g->act_max));
        vstrbq_s32(y1 + oc, eq_opt_requantize_mve(vldrwq_s32(a1), g->multiplier + oc, g->shift + oc,
                                                  g->output_offset, g->act_min, g->act_max));
    }
    for (; oc < n; oc++) {
        const int8_t *w = g->filter + oc * k;
        y0[oc] = eq_opt_requantize(dot_1(x0, w, k, off, g->bias[oc]), g->multiplier[oc], g->shift[oc],
                                   g->output_offset, g->act_min, g->act_max);
        y1[oc] = eq_opt_requantize(dot_1(x1, w, k, off, g->bias[oc]), g->multiplier[oc], g->shift[oc],
                                   g->output_offset, g->act_min, g->act_max);
    }
}

static inline __attribute__((always_inline)) void row1(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0, int32_t off)
{
    const int32_t k = g->k, n = g->n_out;
    int32_t oc = 0;
    int32_t r[2], a0[4];
    for (; oc + 4 <= n; oc += 4) {
        const int8_t *w = g->filter + oc * k;
        dot_1x2(x0, w, w + k, k, off, g->bias[oc], g->bias[oc + 1], r);
        a0[0] = r[0]; a0[1] = r[1];
        dot_1x2(x0, w + 2 * k, w + 3 * k, k, off, g->bias[oc + 2], g->bias[oc + 3], r);
        a0[2] = r[0]; a0[3] = r[1];
        vstrbq_s32(y0 + oc, eq_opt_requantize_mve(vldrwq_s32(a0), g->multiplier + oc, g->shift + oc,
                                                  g->output_offset, g->act_min, g->act_max));
    }
    for (; oc < n; oc++) {
        const int8_t *w = g->filter + oc * k;
        y0[oc] = eq_opt_requantize(dot_1(x0, w, k, off, g->bias[oc]), g->multiplier[oc], g->shift[oc],
                                   g->output_offset, g->act_min, g->act_max);
    }
}

/* k <= 32 (pointwise layers with few input channels): both rows stay in four Q registers for the
 * whole call and the loop runs over output channels instead, four per step: two predicated filter
 * loads and four VMLADAV(A) per channel, no k loop and no per-call set-up. Lanes past k are zero in
 * the rows (zeroing loads) and are not read from the filter. */
static inline __attribute__((always_inline)) void rows2_short(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1,
                                                              int8_t *y0, int8_t *y1, int32_t off, int full)
{
    /* Locals: the int8 stores may alias g, which would otherwise be re-read after each. */
    const int32_t k = g->k, n = g->n_out, out_off = g->output_offset, lo = g->act_min, hi = g->act_max;
    const int32_t *bias = g->bias, *mult = g->multiplier, *shift = g->shift;
    /* full: k is 32, every lane is used and no load needs a predicate. */
    const mve_pred16_t p0 = vctp8q((uint32_t)k), p1 = vctp8q((uint32_t)(k > 16 ? k - 16 : 0));
    const int8x16_t a0 = full ? vldrbq_s8(x0) : vldrbq_z_s8(x0, p0), a1 = full ? vldrbq_s8(x0 + 16) : vldrbq_z_s8(x0 + 16, p1);
    const int8x16_t b0 = full ? vldrbq_s8(x1) : vldrbq_z_s8(x1, p0), b1 = full ? vldrbq_s8(x1 + 16) : vldrbq_z_s8(x1 + 16, p1);
    const int8_t *w = g->filter;
    int32_t oc = 0;
    for (; oc + 4 <= n; oc += 4) {
        int32x4_t r0 = vdupq_n_s32(0), r1 = r0, sw = r0;
#define EQ_SHORT_CHANNEL(J)                                                                       \
        do {                                                                                      \
            int8x16_t f0 = full ? vldrbq_s8(w) : vldrbq_z_s8(w, p0);                              \
            int8x16_t f1 = full ? vldrbq_s8(w + 16) : vldrbq_z_s8(w + 16, p1);                    \
            r0 = vsetq_lane_s32(vmladavaq_s8(vmladavq_s8(a0, f0), a1, f1), r0, J);                \
            r1 = vsetq_lane_s32(vmladavaq_s8(vmladavq_s8(b0, f0), b1, f1), r1, J);                \
            if (off != 0) sw = vsetq_lane_s32(vaddvaq_s8(vaddvq_s8(f0), f1), sw, J);              \
            w += k;                                                                               \
        } while (0)
        EQ_SHORT_CHANNEL(0);
        EQ_SHORT_CHANNEL(1);
        EQ_SHORT_CHANNEL(2);
        EQ_SHORT_CHANNEL(3);
#undef EQ_SHORT_CHANNEL
        int32x4_t c = vldrwq_s32(bias + oc);
        if (off != 0) c = vmlaq_n_s32(c, sw, off);
        vstrbq_s32(y0 + oc, eq_opt_requantize_mve(vaddq_s32(c, r0), mult + oc, shift + oc, out_off, lo, hi));
        vstrbq_s32(y1 + oc, eq_opt_requantize_mve(vaddq_s32(c, r1), mult + oc, shift + oc, out_off, lo, hi));
    }
    for (; oc < n; oc++, w += k) {
        y0[oc] = eq_opt_requantize(dot_1(x0, w, k, off, bias[oc]), mult[oc], shift[oc], out_off, lo, hi);
        y1[oc] = eq_opt_requantize(dot_1(x1, w, k, off, bias[oc]), mult[oc], shift[oc], out_off, lo, hi);
    }
}

void eq_opt_gemm_s8_rows2_mve(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1)
{
    if (g->k <= 32) {
        if (g->input_offset == 0) {
            if (g->k == 32) rows2_short(g, x0, x1, y0, y1, 0, 1);
            else rows2_short(g, x0, x1, y0, y1, 0, 0);
        } else {
            rows2_short(g, x0, x1, y0, y1, g->input_offset, 0);
        }
        return;
    }
    if (g->input_offset == 0) rows2(g, x0, x1, y0, y1, 0);
    else rows2(g, x0, x1, y0, y1, g->input_offset);
}

void eq_opt_gemm_s8_row1_mve(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0)
{
    if (g->input_offset == 0) row1(g, x0, y0, 0);
    else row1(g, x0, y0, g->input_offset);
}

#endif
