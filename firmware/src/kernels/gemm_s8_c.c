/*
 * int8 GEMM micro-kernels in portable C, for cores with neither the DSP extension nor Helium
 * (Cortex-M3; kernels.h EQ_USE_C_OPT): Conv2D pixels and FullyConnected rows times the [n_out][k]
 * filter, bit-exact to the reference kernels.
 *
 * - eq_c_gemm_pair: two rows packed per k in one int32 (kernels_opt.h eq_c_pack), three output
 *   channels at a time. One LDR of the packed value, then per channel one LDRSB of the tap and one
 *   SMLAL: two multiply-accumulates per SMLAL, 7 instructions per 6 MACs plus the loop. The 64-bit
 *   sums are split back into the two rows' sums after at most eq_c_gemm_chunk k.
 * - eq_c_gemm_row: one row (FullyConnected batch 1, long in-place rows), four channels at a time
 *   with MLA, the input value loaded once for the four.
 *
 * The reference accumulates bias + sum((x + input_offset) * w) modulo 2^32. Here the sums of the
 * products are exact (no wrap is possible within a chunk) and are added to the bias modulo 2^32, so
 * the accumulators are the reference's; requantization is quant_math.h's eq_mbqm.
 */
#include "kernels_opt.h"

#if EQ_USE_C_OPT

#if defined(__GNUC__) && !defined(__clang__)
/* The Cortex-M3 has no code budget to meet: its images (built -Os) get these loops as -O2 builds them. */
#pragma GCC optimize("O2")
#endif

/* acc = s0 + s1 * 2^23 exactly, |s0| and |s1| below 2^22: adds s0 to *a and s1 to *b (wrapping). */
static inline void unpack_add(int64_t acc, uint32_t *a, uint32_t *b)
{
    /* s0 is the low 23 bits sign-extended; floor(acc / 2^23) is s1, or s1 - 1 when s0 < 0. */
    const int32_t s0 = (int32_t)((uint32_t)acc << (32 - EQ_C_PACK_SHIFT)) >> (32 - EQ_C_PACK_SHIFT);
    *a += (uint32_t)s0;
    *b += (uint32_t)(int32_t)(acc >> EQ_C_PACK_SHIFT) + ((uint32_t)s0 >> 31);
}

void eq_c_pack_rows(const eq_c_gemm *g, const int8_t *a, const int8_t *b, int32_t *x)
{
    const int32_t off = g->input_offset;
    int32_t *end = x + g->k;
    while (x != end) *x++ = eq_c_pack(*a++ + off, *b++ + off);
}

/* Three channels (filter rows f, f + k, f + 2k) over packed rows x[0..n), n >= 1. Kept out of line
 * and rolled: GCC then holds the three 64-bit sums, four pointers and the end in registers, one
 * LDR, three LDRSB and three SMLAL per k (its unrolled versions spill). */
static __attribute__((noinline)) void dot_pair3(const int32_t *x, int32_t n, const int8_t *f, int32_t k, int64_t *s)
{
    const int8_t *f0 = f, *f1 = f + k, *f2 = f1 + k;
    const int32_t *end = x + n;
    int64_t a0 = 0, a1 = 0, a2 = 0;
    do {
        const int32_t v = *x++;
        a0 += (int64_t)v * *f0++;
        a1 += (int64_t)v * *f1++;
        a2 += (int64_t)v * *f2++;
    } while (x != end);
    s[0] = a0;
    s[1] = a1;
    s[2] = a2;
}

/* eq_c_requant_one for the two rows' outputs of channel oc: quant_math.h's eq_mbqm written out so
 * the shift split, mask and threshold are computed once for both. */
static inline __attribute__((always_inline)) void requant2(const eq_c_requant *r, int32_t oc, uint32_t a, uint32_t b,
                                                           int8_t *ya, int8_t *yb)
{
    const int32_t m = r->multiplier[oc], shift = r->shift[oc];
    const int left = shift > 0 ? (int)shift : 0, right = shift > 0 ? 0 : (int)-shift;
    const int32_t mask = (int32_t)((1u << right) - 1u), half = mask >> 1;
    int32_t va = eq_srdhm((int32_t)(a << left), m), vb = eq_srdhm((int32_t)(b << left), m);
    va = (va >> right) + ((va & mask) > half + (int32_t)((uint32_t)va >> 31) ? 1 : 0);
    vb = (vb >> right) + ((vb & mask) > half + (int32_t)((uint32_t)vb >> 31) ? 1 : 0);
    *ya = (int8_t)eq_clamp(eq_add_wrap(va, r->output_offset), r->act_min, r->act_max);
    if (yb != NULL) *yb = (int8_t)eq_clamp(eq_add_wrap(vb, r->output_offset), r->act_min, r->act_max);
}

void eq_c_gemm_pair(const eq_c_gemm *g, const int32_t *x, int8_t *y0, int8_t *y1)
{
    const int32_t k = g->k, n = g->n_out, chunk = eq_c_gemm_chunk(g);
    const int32_t *bias = g->bias;
    const eq_c_requant rq = { g->multiplier, g->shift, g->output_offset, g->act_min, g->act_max };
    const int8_t *w = g->filter;
    int32_t oc = 0;
    for (; oc + 3 <= n; oc += 3, w += 3 * k) {
        uint32_t a0 = (uint32_t)bias[oc], a1 = (uint32_t)bias[oc + 1], a2 = (uint32_t)bias[oc + 2];
        uint32_t b0 = a0, b1 = a1, b2 = a2;
        for (int32_t k0 = 0; k0 < k; k0 += chunk) {
            int64_t s[3];
            dot_pair3(x + k0, k - k0 < chunk ? k - k0 : chunk, w + k0, k, s);
            unpack_add(s[0], &a0, &b0);
            unpack_add(s[1], &a1, &b1);
            unpack_add(s[2], &a2, &b2);
        }
        requant2(&rq, oc, a0, b0, y0 + oc, y1 != NULL ? y1 + oc : NULL);
        requant2(&rq, oc + 1, a1, b1, y0 + oc + 1, y1 != NULL ? y1 + oc + 1 : NULL);
        requant2(&rq, oc + 2, a2, b2, y0 + oc + 2, y1 != NULL ? y1 + oc + 2 : NULL);
    }
    for (; oc < n; oc++, w += k) {
        uint32_t a = (uint32_t)bias[oc], b = a;
        for (int32_t k0 = 0; k0 < k; k0 += chunk) {
            const int32_t *v = x + k0, *end = v + (k - k0 < chunk ? k - k0 : chunk);
            const int8_t *f = w + k0;
            int64_t s = 0;
            while (v != end) s += (int64_t)*v++ * *f++;
            unpack_add(s, &a, &b);
        }
        requant2(&rq, oc, a, b, y0 + oc, y1 != NULL ? y1 + oc : NULL);
    }
}

void eq_c_gemm_row(const eq_c_gemm *g, const int8_t *x0, int8_t *y0)
{
    const int32_t k = g->k, n = g->n_out, off = g->input_offset;
    const int32_t *bias = g->bias;
    const eq_c_requant rq = { g->multiplier, g->shift, g->output_offset, g->act_min, g->act_max };
    const int8_t *w = g->filter;
    int32_t oc = 0;
    for (; oc + 4 <= n; oc += 4, w += 4 * k) {
        const int8_t *x = x0, *end = x0 + k;
        const int8_t *f0 = w, *f1 = w + k, *f2 = f1 + k, *f3 = f2 + k;
        uint32_t t0 = (uint32_t)bias[oc], t1 = (uint32_t)bias[oc + 1], t2 = (uint32_t)bias[oc + 2], t3 = (uint32_t)bias[oc + 3];
        while (x != end) {
            const int32_t v = *x++ + off;
            t0 += (uint32_t)(v * *f0++);
            t1 += (uint32_t)(v * *f1++);
            t2 += (uint32_t)(v * *f2++);
            t3 += (uint32_t)(v * *f3++);
        }
        y0[oc] = eq_c_requant_one(&rq, oc, t0);
        y0[oc + 1] = eq_c_requant_one(&rq, oc + 1, t1);
        y0[oc + 2] = eq_c_requant_one(&rq, oc + 2, t2);
        y0[oc + 3] = eq_c_requant_one(&rq, oc + 3, t3);
    }
    for (; oc < n; oc++, w += k) {
        const int8_t *x = x0, *f = w, *end = x0 + k;
        uint32_t t = (uint32_t)bias[oc];
        while (x != end) t += (uint32_t)((*x++ + off) * *f++);
        y0[oc] = eq_c_requant_one(&rq, oc, t);
    }
}

#endif
