/*
 * int8 GEMM micro-kernels with the Cortex-M DSP extension (M4/M7/M33/M55): Conv2D (im2col rows or
 * 1x1 pixels in place) and FullyConnected rows times the [n_out][k] filter.
 *
 * Four int8 are read with one LDR and widened to two int16 pairs by SXTB16 (elements 0,2 and,
 * rotated by 8, elements 1,3); SXTAB16 adds the input offset to both halves as it widens. Filter
 * words are widened the same way, so the pairs line up and each SMLAD does two multiply-accumulates.
 * Blocks of 2 rows x 2 output channels, three ways:
 * - k <= EQ_OPT_WIDEN_MAX_K (rows2_widened): both rows widened once (offset included) into a stack
 *   buffer, then 16 instructions per 16 MACs for every channel pair;
 * - longer rows, folded bias, second row k bytes after the first (im2col, FullyConnected batches,
 *   1x1 pixels in place; rows2_adjacent): rows widened on the fly, 21 instructions per 16 MACs;
 * - other long rows: two calls of the one-row kernel.
 * One row (FullyConnected batch 1, a last odd pixel): 1 row x 4 channels. k % 4 leftovers and odd
 * channels run as scalar multiply-accumulates.
 *
 * Accumulation wraps modulo 2^32 as the reference's does (SMLAD wraps; scalar tails use uint32_t).
 */
#include "kernels_opt.h"

#if EQ_USE_DSP

#include <arm_acle.h>

int8_t eq_opt_requant_one(const eq_opt_requant_params *r, int32_t oc, uint32_t acc)
{
    return eq_opt_requant_r(r, oc, acc);
}

/* eq_opt_requant4 and eq_opt_requant2x2: the requantization of four outputs per call, built -O2
 * (quant_math.h inlined, the clamp chosen once per call) so -Os images do not call eq_mbqm out of
 * line for every output. Parameters are copied to locals: the int8 stores may alias anything
 * reached through r. The clamped case is rolled, to keep them small. */
EQ_OPT_GCC_OPTIMIZE("O2")
void eq_opt_requant4(const eq_opt_requant_params *r, int32_t oc, uint32_t t0, uint32_t t1, uint32_t t2, uint32_t t3, int8_t *y)
{
    const int32_t *m = r->multiplier + oc, *sh = r->shift + oc;
    const int32_t off = r->output_offset, lo = r->act_min, hi = r->act_max;
    if (r->full_range) {
        const int32_t v0 = eq_add_wrap(eq_mbqm((int32_t)t0, m[0], sh[0]), off);
        const int32_t v1 = eq_add_wrap(eq_mbqm((int32_t)t1, m[1], sh[1]), off);
        const int32_t v2 = eq_add_wrap(eq_mbqm((int32_t)t2, m[2], sh[2]), off);
        const int32_t v3 = eq_add_wrap(eq_mbqm((int32_t)t3, m[3], sh[3]), off);
        y[0] = (int8_t)__ssat(v0, 8);
        y[1] = (int8_t)__ssat(v1, 8);
        y[2] = (int8_t)__ssat(v2, 8);
        y[3] = (int8_t)__ssat(v3, 8);
    } else {
        const uint32_t t[4] = { t0, t1, t2, t3 };
#pragma GCC unroll 1
        for (int i = 0; i < 4; i++) y[i] = (int8_t)eq_clamp(eq_add_wrap(eq_mbqm((int32_t)t[i], m[i], sh[i]), off), lo, hi);
    }
}

EQ_OPT_GCC_OPTIMIZE("O2")
void eq_opt_requant2x2(const eq_opt_requant_params *r, int32_t oc, uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1, int8_t *ya,
                       int8_t *yb)
{
    const int32_t m0 = r->multiplier[oc], m1 = r->multiplier[oc + 1], s0 = r->shift[oc], s1 = r->shift[oc + 1];
    const int32_t off = r->output_offset, lo = r->act_min, hi = r->act_max;
    if (r->full_range) {
        const int32_t v0 = eq_add_wrap(eq_mbqm((int32_t)a0, m0, s0), off);
        const int32_t v1 = eq_add_wrap(eq_mbqm((int32_t)a1, m1, s1), off);
        const int32_t v2 = eq_add_wrap(eq_mbqm((int32_t)b0, m0, s0), off);
        const int32_t v3 = eq_add_wrap(eq_mbqm((int32_t)b1, m1, s1), off);
        ya[0] = (int8_t)__ssat(v0, 8);
        ya[1] = (int8_t)__ssat(v1, 8);
        yb[0] = (int8_t)__ssat(v2, 8);
        yb[1] = (int8_t)__ssat(v3, 8);
    } else {
        const uint32_t t[4] = { a0, a1, b0, b1 };
        int8_t *const y[4] = { ya, ya + 1, yb, yb + 1 };
#pragma GCC unroll 1
        for (int i = 0; i < 4; i++)
            *y[i] = (int8_t)eq_clamp(eq_add_wrap(eq_mbqm((int32_t)t[i], (i & 1) ? m1 : m0, (i & 1) ? s1 : s0), off), lo, hi);
    }
}

/* steps x 4 k of rows x, x + k times filter rows w, w + k into t00 t01 t10 t11 (row, channel).
 * Written out because the 13 live values (4 sums, 2 pointers, count, k - 4, 6 temporaries) only fit
 * the 14 allocatable registers without spills when scheduled by hand: 22 instructions per 16
 * multiply-accumulates (one step per iteration: unrolling saves 0.06 per MAC but costs 400 bytes of
 * the M4 code budget). Post-incremented first-row loads, [p, k - 4] for the
 * second rows. */
static inline __attribute__((always_inline)) void dot_2x2_adjacent(const int8_t *x, const int8_t *w, int32_t k, int32_t steps,
                                                                   int32_t *t00, int32_t *t01, int32_t *t10, int32_t *t11)
{
#if EQ_OPT_NO_ASM
    /* clang cannot allocate the 14 registers of the assembly below: the same steps in C. */
    const int8_t *end = x + 4 * steps;
    int32_t a00 = *t00, a01 = *t01, a10 = *t10, a11 = *t11;
    for (; x != end; x += 4, w += 4) {
        uint32_t xa = eq_opt_read32(x), xb = eq_opt_read32(x + k), wa = eq_opt_read32(w), wb = eq_opt_read32(w + k);
        int16x2_t ae = __sxtb16((int8x4_t)xa), ao = eq_opt_sxtb16_ror8(xa);
        int16x2_t be = __sxtb16((int8x4_t)xb), bo = eq_opt_sxtb16_ror8(xb);
        int16x2_t we = __sxtb16((int8x4_t)wa), wo = eq_opt_sxtb16_ror8(wa);
        a00 = __smlad(ao, wo, __smlad(ae, we, a00));
        a10 = __smlad(bo, wo, __smlad(be, we, a10));
        we = __sxtb16((int8x4_t)wb);
        wo = eq_opt_sxtb16_ror8(wb);
        a01 = __smlad(ao, wo, __smlad(ae, we, a01));
        a11 = __smlad(bo, wo, __smlad(be, we, a11));
    }
    *t00 = a00; *t01 = a01; *t10 = a10; *t11 = a11;
#else
    uint32_t p, q, r, s, u, v;
    const int32_t km4 = k - 4;
#define EQ_STEP_2X2                                  \
          "ldr %[p], [%[x]], #4\n\t"                   \
          "ldr %[q], [%[x], %[km4]]\n\t"               \
          "sxtb16 %[r], %[p]\n\t"                      \
          "sxtb16 %[p], %[p], ror #8\n\t"              \
          "sxtb16 %[s], %[q]\n\t"                      \
          "sxtb16 %[q], %[q], ror #8\n\t"              \
          "ldr %[v], [%[w]], #4\n\t"                   \
          "sxtb16 %[u], %[v]\n\t"                      \
          "sxtb16 %[v], %[v], ror #8\n\t"              \
          "smlad %[t00], %[r], %[u], %[t00]\n\t"       \
          "smlad %[t00], %[p], %[v], %[t00]\n\t"       \
          "smlad %[t10], %[s], %[u], %[t10]\n\t"       \
          "smlad %[t10], %[q], %[v], %[t10]\n\t"       \
          "ldr %[v], [%[w], %[km4]]\n\t"               \
          "sxtb16 %[u], %[v]\n\t"                      \
          "sxtb16 %[v], %[v], ror #8\n\t"              \
          "smlad %[t01], %[r], %[u], %[t01]\n\t"       \
          "smlad %[t01], %[p], %[v], %[t01]\n\t"       \
          "smlad %[t11], %[s], %[u], %[t11]\n\t"       \
          "smlad %[t11], %[q], %[v], %[t11]\n\t"
    __asm("1:\n\t"
          EQ_STEP_2X2
          "subs %[n], %[n], #1\n\t"
          "bne 1b"
          : [t00] "+r"(*t00), [t01] "+r"(*t01), [t10] "+r"(*t10), [t11] "+r"(*t11),
            [x] "+r"(x), [w] "+r"(w), [n] "+r"(steps),
            [p] "=&r"(p), [q] "=&r"(q), [r] "=&r"(r), [s] "=&r"(s), [u] "=&r"(u), [v] "=&r"(v)
          : [km4] "r"(km4)
          : "cc", "memory");
#undef EQ_STEP_2X2
#endif
}

/* The common case, kept to 14 live registers so nothing spills: input offset already in the bias
 * (the blob's folded bias; padding taps hold -input_offset), and the second row and the second
 * filter row both k bytes after the first, so one register offset reaches both. */
static inline __attribute__((always_inline)) void rows2_adjacent_body(const eq_opt_gemm_s8 *g, const int8_t *x0,
                                                                       int8_t *y0, int8_t *y1)
{
    const int32_t k = g->k, n = g->n_out, k4 = k & ~3;
    const int8_t *w0 = g->filter;
    const int32_t *bias = g->bias;
    const eq_opt_requant_params rq = eq_opt_requant_of(g->multiplier, g->shift, g->output_offset, g->act_min, g->act_max);
    int32_t oc = 0;
    for (; oc + 2 <= n; oc += 2, w0 += 2 * k) {
        int32_t t00 = bias[oc], t01 = bias[oc + 1], t10 = t00, t11 = t01;
        if (k4 > 0) dot_2x2_adjacent(x0, w0, k, k4 >> 2, &t00, &t01, &t10, &t11);
        uint32_t s00 = (uint32_t)t00, s01 = (uint32_t)t01, s10 = (uint32_t)t10, s11 = (uint32_t)t11;
        for (int32_t j = k4; j < k; j++) {
            int32_t xa = x0[j], xb = x0[k + j], fa = w0[j], fb = w0[k + j];
            s00 += (uint32_t)(xa * fa);
            s10 += (uint32_t)(xb * fa);
            s01 += (uint32_t)(xa * fb);
            s11 += (uint32_t)(xb * fb);
        }
        eq_opt_requant2x2(&rq, oc, s00, s01, s10, s11, y0 + oc, y1 + oc);
    }
    if (oc < n) {
        uint32_t s0 = (uint32_t)bias[oc], s1 = s0;
        for (int32_t j = 0; j < k; j++) {
            int32_t f = w0[j];
            s0 += (uint32_t)(x0[j] * f);
            s1 += (uint32_t)(x0[k + j] * f);
        }
        y0[oc] = eq_opt_requant_one(&rq, oc, s0);
        y1[oc] = eq_opt_requant_one(&rq, oc, s1);
    }
}

/* Largest k for which rows2_widened stages the two rows on the stack: 4 * 160 = 640 bytes (the
 * kernels' stack budget during eq_invoke is 2 KB). */
#define EQ_OPT_WIDEN_MAX_K 160

/* steps x 4 k of two rows already widened to int16 pairs (xw: per step the words a(0,2) a(1,3)
 * b(0,2) b(1,3), offset included) times filter rows w, w + k: 16 instructions per 16 MACs. */
static inline __attribute__((always_inline)) void dot_2x2_widened(const int32_t *xw, const int8_t *w, int32_t k, int32_t steps,
                                                                  int32_t *t00, int32_t *t01, int32_t *t10, int32_t *t11)
{
#if EQ_OPT_NO_ASM
    /* As dot_2x2_adjacent: C for clang. */
    int32_t a00 = *t00, a01 = *t01, a10 = *t10, a11 = *t11;
    for (int32_t i = 0; i < steps; i++, xw += 4, w += 4) {
        uint32_t wa = eq_opt_read32(w), wb = eq_opt_read32(w + k);
        int16x2_t we = __sxtb16((int8x4_t)wa), wo = eq_opt_sxtb16_ror8(wa);
        a00 = __smlad(xw[1], wo, __smlad(xw[0], we, a00));
        a10 = __smlad(xw[3], wo, __smlad(xw[2], we, a10));
        we = __sxtb16((int8x4_t)wb);
        wo = eq_opt_sxtb16_ror8(wb);
        a01 = __smlad(xw[1], wo, __smlad(xw[0], we, a01));
        a11 = __smlad(xw[3], wo, __smlad(xw[2], we, a11));
    }
    *t00 = a00; *t01 = a01; *t10 = a10; *t11 = a11;
#else
    uint32_t p, q, r, s, u, v;
    const int32_t km4 = k - 4;
#define EQ_STEP_WIDENED                              \
          "ldrd %[r], %[p], [%[x]], #8\n\t"            \
          "ldrd %[s], %[q], [%[x]], #8\n\t"            \
          "ldr %[v], [%[w]], #4\n\t"                   \
          "sxtb16 %[u], %[v]\n\t"                      \
          "sxtb16 %[v], %[v], ror #8\n\t"              \
          "smlad %[t00], %[r], %[u], %[t00]\n\t"       \
          "smlad %[t00], %[p], %[v], %[t00]\n\t"       \
          "smlad %[t10], %[s], %[u], %[t10]\n\t"       \
          "smlad %[t10], %[q], %[v], %[t10]\n\t"       \
          "ldr %[v], [%[w], %[km4]]\n\t"               \
          "sxtb16 %[u], %[v]\n\t"                      \
          "sxtb16 %[v], %[v], ror #8\n\t"              \
          "smlad %[t01], %[r], %[u], %[t01]\n\t"       \
          "smlad %[t01], %[p], %[v], %[t01]\n\t"       \
          "smlad %[t11], %[s], %[u], %[t11]\n\t"       \
          "smlad %[t11], %[q], %[v], %[t11]\n\t"
    __asm("1:\n\t"
          EQ_STEP_WIDENED
          "subs %[n], %[n], #1\n\t"
          "bne 1b"
          : [t00] "+r"(*t00), [t01] "+r"(*t01), [t10] "+r"(*t10), [t11] "+r"(*t11),
            [x] "+r"(xw), [w] "+r"(w), [n] "+r"(steps),
            [p] "=&r"(p), [q] "=&r"(q), [r] "=&r"(r), [s] "=&r"(s), [u] "=&r"(u), [v] "=&r"(v)
          : [km4] "r"(km4)
          : "cc", "memory");
#undef EQ_STEP_WIDENED
#endif
}

/* k <= EQ_OPT_WIDEN_MAX_K: the two rows are widened to int16 pairs once (with the input offset, so
 * any rows and any bias work), then every channel pair reads them pre-widened: a third fewer
 * instructions per MAC than widening them again for each pair, as dot_2x2_adjacent must. */
static void rows2_widened(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1)
{
    const int32_t k = g->k, n = g->n_out, k4 = k & ~3, off = g->input_offset;
    const int32_t *bias = g->bias;
    const eq_opt_requant_params rq = eq_opt_requant_of(g->multiplier, g->shift, g->output_offset, g->act_min, g->act_max);
    const int16x2_t off2 = (int16x2_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
    int32_t xw[EQ_OPT_WIDEN_MAX_K];
    for (int32_t i = 0; i < k4; i += 4) {
        uint32_t a = eq_opt_read32(x0 + i), b = eq_opt_read32(x1 + i);
        xw[i] = __sxtab16(off2, (int8x4_t)a);
        xw[i + 1] = eq_opt_sxtab16_ror8(off2, a);
        xw[i + 2] = __sxtab16(off2, (int8x4_t)b);
        xw[i + 3] = eq_opt_sxtab16_ror8(off2, b);
    }
    const int8_t *w0 = g->filter;
    int32_t oc = 0;
    for (; oc + 2 <= n; oc += 2, w0 += 2 * k) {
        int32_t t00 = bias[oc], t01 = bias[oc + 1], t10 = t00, t11 = t01;
        if (k4 > 0) dot_2x2_widened(xw, w0, k, k4 >> 2, &t00, &t01, &t10, &t11);
        uint32_t s00 = (uint32_t)t00, s01 = (uint32_t)t01, s10 = (uint32_t)t10, s11 = (uint32_t)t11;
        for (int32_t j = k4; j < k; j++) {
            int32_t xa = x0[j] + off, xb = x1[j] + off, fa = w0[j], fb = w0[k + j];
            s00 += (uint32_t)(xa * fa);
            s10 += (uint32_t)(xb * fa);
            s01 += (uint32_t)(xa * fb);
            s11 += (uint32_t)(xb * fb);
        }
        eq_opt_requant2x2(&rq, oc, s00, s01, s10, s11, y0 + oc, y1 + oc);
    }
    if (oc < n) {
        uint32_t s0 = (uint32_t)bias[oc], s1 = s0;
        for (int32_t j = 0; j < k; j++) {
            int32_t f = w0[j];
            s0 += (uint32_t)((x0[j] + off) * f);
            s1 += (uint32_t)((x1[j] + off) * f);
        }
        y0[oc] = eq_opt_requant_one(&rq, oc, s0);
        y1[oc] = eq_opt_requant_one(&rq, oc, s1);
    }
}

static void rows2_adjacent(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0, int8_t *y1)
{
    rows2_adjacent_body(g, x0, y0, y1);
}

void eq_opt_gemm_s8_rows2_dsp(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1)
{
    if (g->k <= EQ_OPT_WIDEN_MAX_K) {
        rows2_widened(g, x0, x1, y0, y1);
        return;
    }
    if (g->input_offset == 0 && x1 == x0 + g->k) {
        rows2_adjacent(g, x0, y0, y1);
        return;
    }
    /* Long rows that are not adjacent or have no folded bias (rare: the converter writes the
     * folded bias; strided 1x1 layers with more than 160 channels): one row at a time. */
    eq_opt_gemm_s8_row1_dsp(g, x0, y0);
    eq_opt_gemm_s8_row1_dsp(g, x1, y1);
}

/* steps x 4 k of one row x times filter rows f0..f3 (no input offset: the folded bias) into t0..t3:
 * 25 instructions per 16 multiply-accumulates. In assembly so the image's -Os keeps it (GCC's -Os
 * rotates the C loop and reloads its pointers from the stack); 14 live registers. */
static inline __attribute__((always_inline)) void dot_1x4(const int8_t *x, const int8_t *f0, const int8_t *f1, const int8_t *f2,
                                                          const int8_t *f3, int32_t steps, int32_t *t0, int32_t *t1,
                                                          int32_t *t2, int32_t *t3)
{
#if EQ_OPT_NO_ASM
    int32_t a0 = *t0, a1 = *t1, a2 = *t2, a3 = *t3;
    for (int32_t i = 0; i < steps; i++, x += 4, f0 += 4, f1 += 4, f2 += 4, f3 += 4) {
        uint32_t v = eq_opt_read32(x), w;
        int16x2_t xe = __sxtb16((int8x4_t)v), xo = eq_opt_sxtb16_ror8(v);
        w = eq_opt_read32(f0);
        a0 = __smlad(xo, eq_opt_sxtb16_ror8(w), __smlad(xe, __sxtb16((int8x4_t)w), a0));
        w = eq_opt_read32(f1);
        a1 = __smlad(xo, eq_opt_sxtb16_ror8(w), __smlad(xe, __sxtb16((int8x4_t)w), a1));
        w = eq_opt_read32(f2);
        a2 = __smlad(xo, eq_opt_sxtb16_ror8(w), __smlad(xe, __sxtb16((int8x4_t)w), a2));
        w = eq_opt_read32(f3);
        a3 = __smlad(xo, eq_opt_sxtb16_ror8(w), __smlad(xe, __sxtb16((int8x4_t)w), a3));
    }
    *t0 = a0; *t1 = a1; *t2 = a2; *t3 = a3;
#else
    uint32_t xe, xo, wa, wb;
#define EQ_DOT_1X4_CH(F, T)                         \
          "ldr %[wa], [%[" F "]], #4\n\t"            \
          "sxtb16 %[wb], %[wa]\n\t"                 \
          "sxtb16 %[wa], %[wa], ror #8\n\t"         \
          "smlad %[" T "], %[xe], %[wb], %[" T "]\n\t" \
          "smlad %[" T "], %[xo], %[wa], %[" T "]\n\t"
    __asm("1:\n\t"
          "ldr %[xo], [%[x]], #4\n\t"
          "sxtb16 %[xe], %[xo]\n\t"
          "sxtb16 %[xo], %[xo], ror #8\n\t"
          EQ_DOT_1X4_CH("f0", "t0")
          EQ_DOT_1X4_CH("f1", "t1")
          EQ_DOT_1X4_CH("f2", "t2")
          EQ_DOT_1X4_CH("f3", "t3")
          "subs %[n], %[n], #1\n\t"
          "bne 1b"
          : [t0] "+r"(*t0), [t1] "+r"(*t1), [t2] "+r"(*t2), [t3] "+r"(*t3), [x] "+r"(x), [f0] "+r"(f0), [f1] "+r"(f1),
            [f2] "+r"(f2), [f3] "+r"(f3), [n] "+r"(steps), [xe] "=&r"(xe), [xo] "=&r"(xo), [wa] "=&r"(wa), [wb] "=&r"(wb)
          :
          : "cc", "memory");
#undef EQ_DOT_1X4_CH
#endif
}

/* One row times four filter rows per step (the input offset added by SXTAB16, none with the folded bias). */
static inline __attribute__((always_inline)) void row1_body(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0, int fast)
{
    const int32_t k = g->k, n = g->n_out, off = fast ? 0 : g->input_offset;
    const int32_t *bias = g->bias;
    const eq_opt_requant_params rq = eq_opt_requant_of(g->multiplier, g->shift, g->output_offset, g->act_min, g->act_max);
    const int8_t *w0 = g->filter;
    int32_t oc = 0;
    const int16x2_t off2 = (int16x2_t)(((uint32_t)off & 0xFFFFu) | ((uint32_t)off << 16));
    for (; oc + 4 <= n; oc += 4, w0 += 4 * k) {
        const int8_t *a = x0, *end = x0 + (k & ~3);
        const int8_t *f0 = w0, *f1 = w0 + k, *f2 = f1 + k, *f3 = f2 + k;
        int32_t t0 = bias[oc], t1 = bias[oc + 1], t2 = bias[oc + 2], t3 = bias[oc + 3];
        if (fast && a != end) {
            const int32_t k4 = k & ~3;
            dot_1x4(a, f0, f1, f2, f3, k4 >> 2, &t0, &t1, &t2, &t3);
            a = end;
            f0 += k4;
            f1 += k4;
            f2 += k4;
            f3 += k4;
        }
        while (!fast && a != end) {
            uint32_t x = eq_opt_read32(a);
            a += 4;
            /* fast: no offset (folded bias), so no offset register and plain SXTB16. */
            int16x2_t xe = fast ? __sxtb16((int8x4_t)x) : __sxtab16(off2, (int8x4_t)x);
            int16x2_t xo = fast ? eq_opt_sxtb16_ror8(x) : eq_opt_sxtab16_ror8(off2, x);
            uint32_t w = eq_opt_read32(f0);
            f0 += 4;
            t0 = __smlad(xe, __sxtb16((int8x4_t)w), t0);
            t0 = __smlad(xo, eq_opt_sxtb16_ror8(w), t0);
            w = eq_opt_read32(f1);
            f1 += 4;
            t1 = __smlad(xe, __sxtb16((int8x4_t)w), t1);
            t1 = __smlad(xo, eq_opt_sxtb16_ror8(w), t1);
            w = eq_opt_read32(f2);
            f2 += 4;
            t2 = __smlad(xe, __sxtb16((int8x4_t)w), t2);
            t2 = __smlad(xo, eq_opt_sxtb16_ror8(w), t2);
            w = eq_opt_read32(f3);
            f3 += 4;
            t3 = __smlad(xe, __sxtb16((int8x4_t)w), t3);
            t3 = __smlad(xo, eq_opt_sxtb16_ror8(w), t3);
        }
        uint32_t s0 = (uint32_t)t0, s1 = (uint32_t)t1, s2 = (uint32_t)t2, s3 = (uint32_t)t3;
        for (int32_t j = k & 3; j > 0; j--) {
            int32_t x = *a++ + off;
            s0 += (uint32_t)(x * *f0++);
            s1 += (uint32_t)(x * *f1++);
            s2 += (uint32_t)(x * *f2++);
            s3 += (uint32_t)(x * *f3++);
        }
        y0[oc] = eq_opt_requant_one(&rq, oc, s0);
        y0[oc + 1] = eq_opt_requant_rc(&rq, oc + 1, s1, fast ? 1 : rq.full_range);
        y0[oc + 2] = eq_opt_requant_rc(&rq, oc + 2, s2, fast ? 1 : rq.full_range);
        y0[oc + 3] = eq_opt_requant_rc(&rq, oc + 3, s3, fast ? 1 : rq.full_range);
    }
    for (; oc < n; oc++, w0 += k) {
        const int8_t *a = x0, *f = w0;
        uint32_t s = (uint32_t)bias[oc];
        for (int32_t j = 0; j < k; j++) s += (uint32_t)((*a++ + off) * *f++);
        y0[oc] = eq_opt_requant_one(&rq, oc, s);
    }
}



void eq_opt_gemm_s8_row1_dsp(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0)
{
    /* Instantiated twice: folded bias with the full int8 range (the converter's usual output), and the rest. */
    if (g->input_offset == 0 && g->act_min == -128 && g->act_max == 127) row1_body(g, x0, y0, 1);
    else row1_body(g, x0, y0, 0);
}

#endif
