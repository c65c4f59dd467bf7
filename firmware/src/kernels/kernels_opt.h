/*
 * Shared helpers of the optimized int8 kernels: Cortex-M DSP extension (*_dsp.c: SMLAD/SXTAB16,
 * compiled when EQ_USE_DSP) and Helium/MVE (*_mve.c: VMLADAVA, compiled when EQ_USE_MVE).
 *
 * Every optimized entry point (declared in kernels.h) produces exactly the bytes of the reference
 * kernel (*_s8.c, mirroring C# *.Reference.cs): the same wrapping int32 accumulation, the
 * requantization of quant_math.h (eq_mbqm, or its four-lane form below, tested equal), the same
 * clamp. It returns EQ_OK when it produced the output, and EQ_OPT_DECLINED, having written nothing,
 * for a case it does not cover, so the dispatcher runs the reference.
 */
#ifndef EQ_KERNELS_OPT_H
#define EQ_KERNELS_OPT_H

#include <stdint.h>
#include <string.h>
#include "kernels.h"
#include "quant_math.h"

/* The few inner loops written in assembly (GCC inline asm) have C equivalents, used with clang
 * (which cannot allocate the 14-register blocks) or when EQ_OPT_NO_ASM is defined to 1 (the tests
 * run both). */
#ifndef EQ_OPT_NO_ASM
#if defined(__clang__)
#define EQ_OPT_NO_ASM 1
#else
#define EQ_OPT_NO_ASM 0
#endif
#endif

/* GCC's per-function optimization switches (e.g. "O2" for a hot loop in a -Os image, or
 * "no-ivopts"); other compilers ignore them. */
#if defined(__GNUC__) && !defined(__clang__)
#define EQ_OPT_GCC_OPTIMIZE(o) __attribute__((optimize(o)))
#else
#define EQ_OPT_GCC_OPTIMIZE(o)
#endif

/* Returned by an optimized entry point for a case it does not cover: the dispatcher then runs the
 * reference (kernels.h: anything but EQ_OK falls back). */
#define EQ_OPT_DECLINED EQ_ERR_ARGUMENT

/* The reference's requantization and clamp (quant_math.h), for one accumulator. */
static inline int8_t eq_opt_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                       int32_t output_offset, int32_t act_min, int32_t act_max)
{
    return (int8_t)eq_clamp(eq_add_wrap(eq_mbqm(acc, multiplier, shift), output_offset), act_min, act_max);
}

/* Unaligned little-endian 32-bit read (one LDR on Cortex-M3 and later: unaligned LDR is allowed). */
static inline uint32_t eq_opt_read32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

#if EQ_USE_DSP
#include <arm_acle.h>
/* SXTB16 / SXTAB16 of the word rotated right by 8 (the odd bytes), as one instruction: the ACLE
 * intrinsics take no rotation and GCC 12 does not fold a separate ROR into them. */
static inline int16x2_t eq_opt_sxtb16_ror8(uint32_t x)
{
    int16x2_t r;
    __asm("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
}
static inline int16x2_t eq_opt_sxtab16_ror8(int16x2_t a, uint32_t x)
{
    int16x2_t r;
    __asm("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(x));
    return r;
}

/* The requantization parameters held in locals: the int8 output stores may alias anything, so
 * reading them through a parameter struct would reload them after every store. With the full int8
 * activation range the clamp is one SSAT. */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t output_offset, act_min, act_max, full_range;
} eq_opt_requant_params;

static inline eq_opt_requant_params eq_opt_requant_of(const int32_t *multiplier, const int32_t *shift,
                                                     int32_t output_offset, int32_t act_min, int32_t act_max)
{
    eq_opt_requant_params r = { multiplier, shift, output_offset, act_min, act_max, act_min == -128 && act_max == 127 };
    return r;
}

static inline __attribute__((always_inline)) int8_t eq_opt_requant_r(const eq_opt_requant_params *r, int32_t oc, uint32_t acc)
{
    int32_t v = eq_add_wrap(eq_mbqm((int32_t)acc, r->multiplier[oc], r->shift[oc]), r->output_offset);
    return (int8_t)(r->full_range ? __ssat(v, 8) : eq_clamp(v, r->act_min, r->act_max));
}

/* The hot bodies are instantiated twice, full_range a compile-time constant, so the choice is not
 * made per output; the rest of the code asks r->full_range (eq_opt_requant_r). */
static inline __attribute__((always_inline)) int8_t eq_opt_requant_rc(const eq_opt_requant_params *r, int32_t oc, uint32_t acc,
                                                                       int full_range)
{
    int32_t v = eq_add_wrap(eq_mbqm((int32_t)acc, r->multiplier[oc], r->shift[oc]), r->output_offset);
    return (int8_t)(full_range ? __ssat(v, 8) : eq_clamp(v, r->act_min, r->act_max));
}

/* The same out of line, for the rarely run tails (odd channel, k % 4): keeps the code small. */
int8_t eq_opt_requant_one(const eq_opt_requant_params *r, int32_t oc, uint32_t acc);
/* Four outputs per call, out of line and built -O2 (gemm_s8_dsp.c): channels oc..oc+3 into y[0..3];
 * a 2x2 block, channels oc, oc+1 of two rows (a into ya[0..1], b into yb[0..1]). */
void eq_opt_requant4(const eq_opt_requant_params *r, int32_t oc, uint32_t t0, uint32_t t1, uint32_t t2, uint32_t t3, int8_t *y);
void eq_opt_requant2x2(const eq_opt_requant_params *r, int32_t oc, uint32_t a0, uint32_t a1, uint32_t b0, uint32_t b1, int8_t *ya,
                       int8_t *yb);

#endif

#if EQ_USE_MVE
#include <arm_mve.h>
/* eq_mbqm on four lanes, bit for bit (tested against the scalar helper on extreme values):
 * VSHL by the left shift (wrapping, as the scalar's uint32 shift), VQRDMULH (= srdhm, including its
 * one saturating case), then rounding right shift half away from zero: VRSHL rounds ties up, so
 * negative lanes are first lowered by one (saturating, so INT32_MIN stays put) when the shift is
 * non-zero. */
static inline int32x4_t eq_opt_mbqm_mve(int32x4_t x, int32x4_t multiplier, int32x4_t shift)
{
    const int32x4_t zero = vdupq_n_s32(0);
    int32x4_t left = vmaxq_s32(shift, zero);
    int32x4_t right = vminq_s32(shift, zero); /* -right shift, VRSHL's negative = right shift */
    int32x4_t v = vqrdmulhq_s32(vshlq_s32(x, left), multiplier);
    /* -1 on negative lanes whose right shift is non-zero: sign(v) AND sign(-right), no predicates. */
    int32x4_t fix = vandq_s32(vshrq_n_s32(v, 31), vshrq_n_s32(right, 31));
    return vrshlq_s32(vqaddq_s32(v, fix), right);
}

/* VQRDMULH's result v divided by 2^-shift (shift < 0), rounded half away from zero: -1 on negative lanes, then VRSHL. */
static inline int32x4_t eq_opt_round_right_mve(int32x4_t v, int32_t shift)
{
    return vrshlq_n_s32(vqaddq_s32(v, vshrq_n_s32(v, 31)), shift);
}

/* eq_opt_mbqm_mve with one multiplier and shift for all four lanes, held in core registers (VQRDMULH, VSHL and VRSHL
 * by a scalar): no vector constants, so a loop keeps its values in the eight Q registers instead of reloading spilled
 * constants (the Add loop of elementwise_s8_mve.c: about 19 instructions per element with the vector form, 6 with this).
 * The same steps as the vector form: left shift, VQRDMULH, and for a right shift the -1 on negative lanes before VRSHL. */
static inline int32x4_t eq_opt_mbqm_mve_n(int32x4_t x, int32_t multiplier, int32_t shift)
{
    int32x4_t v = vqrdmulhq_n_s32(shift > 0 ? vshlq_r_s32(x, shift) : x, multiplier);
    return shift >= 0 ? v : eq_opt_round_right_mve(v, shift);
}

/* eq_opt_requantize on four lanes: offset added, clamped to [act_min, act_max], still int32. */
static inline int32x4_t eq_opt_requantize_mve(int32x4_t acc, const int32_t *multiplier, const int32_t *shift,
                                              int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32x4_t v = vaddq_n_s32(eq_opt_mbqm_mve(acc, vldrwq_s32(multiplier), vldrwq_s32(shift)), output_offset);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}
#endif

#if EQ_USE_C_OPT
/* ---- Internal: the portable-C paths (gemm_s8_c.c, for cores without DSP/MVE, e.g. Cortex-M3).
 * Two GEMM rows (two output pixels, or two FullyConnected batch rows) are packed per k into one
 * int32, a + b * 2^23 (a, b the offset-applied int8 values, |a|, |b| <= 255), so one 32x32->64
 * multiply-accumulate (SMLAL) by a filter tap does both rows' multiply-accumulates: the 64-bit sum
 * is S0 + S1 * 2^23 exactly while |S0|, |S1| < 2^22, which eq_c_gemm_chunk k at a time keeps true
 * (|a * w| <= 128 * 128 when the input offset is 0, 255 * 128 otherwise). */
typedef struct {
    const int8_t *filter; /* [n_out][k] */
    const int32_t *bias, *multiplier, *shift;
    int32_t k, n_out;
    int32_t input_offset; /* added to every input value */
    int32_t output_offset, act_min, act_max;
} eq_c_gemm;
#define EQ_C_PACK_SHIFT 23
/* Largest k per 64-bit accumulation: 255 * 16384 and 128 * 32640 are both below 2^22. */
static inline int32_t eq_c_gemm_chunk(const eq_c_gemm *g) { return g->input_offset == 0 ? 255 : 128; }
/* The two values of one k, packed. */
static inline int32_t eq_c_pack(int32_t a, int32_t b) { return a + b * (1 << EQ_C_PACK_SHIFT); }
/* Packed rows X[0..k) times every filter row into y0 (the a halves) and y1 (the b halves; NULL: not stored). */
void eq_c_gemm_pair(const eq_c_gemm *g, const int32_t *x, int8_t *y0, int8_t *y1);
/* One int8 row (input_offset added) times every filter row into y0. */
void eq_c_gemm_row(const eq_c_gemm *g, const int8_t *x, int8_t *y0);
/* Packs two int8 rows of k values (input_offset added) into x. */
void eq_c_pack_rows(const eq_c_gemm *g, const int8_t *a, const int8_t *b, int32_t *x);
/* Packed rows on the stack when k is at most this: 512 bytes (stack budget during eq_invoke: 2 KB). */
#define EQ_C_STACK_K 128
/* The requantization parameters in locals (the int8 stores may alias anything). */
typedef struct {
    const int32_t *multiplier, *shift;
    int32_t output_offset, act_min, act_max;
} eq_c_requant;
static inline int8_t eq_c_requant_one(const eq_c_requant *r, int32_t oc, uint32_t acc)
{
    return (int8_t)eq_clamp(eq_add_wrap(eq_mbqm((int32_t)acc, r->multiplier[oc], r->shift[oc]), r->output_offset),
                            r->act_min, r->act_max);
}
#endif

/* ---- Internal: Add/Sub (elementwise_s8_dsp.c walks the broadcast, the DSP or MVE row kernel
 * computes). The parameters of eq_elementwise_params in locals. */
typedef struct {
    int32_t off1, off2, left_shift, m1, s1, m2, s2, mo, so, out_off, act_min, act_max, subtract;
} eq_opt_add_ctx;
/* Whether an Add input's requantization is one half (multiplier 2^30, shift 0): the input of the larger scale, as the
 * converter (and TFLite) sets Add's parameters. Half of an even value is exact, so with a left shift of at least 1 the
 * fast Add loops take that input as (x + offset) << (left_shift - 1), no multiply. */
static inline int eq_opt_add_half(int32_t multiplier, int32_t shift) { return multiplier == (1 << 30) && shift == 0; }
/* n outputs y[i] = a[i * sa] (op) b[i * sb], sa and sb 0 (broadcast) or 1. */
typedef void (*eq_opt_add_row_fn)(const eq_opt_add_ctx *c, const int8_t *a, int32_t sa, const int8_t *b, int32_t sb,
                                  int8_t *y, int32_t n);
/* The reference's arithmetic for one element (elementwise_s8.c add_one) on the context. */
static inline int8_t eq_opt_add_one(const eq_opt_add_ctx *c, int32_t x, int32_t y)
{
    const int32_t sa = eq_mbqm((int32_t)((uint32_t)(x + c->off1) << c->left_shift), c->m1, c->s1);
    const int32_t sb = eq_mbqm((int32_t)((uint32_t)(y + c->off2) << c->left_shift), c->m2, c->s2);
    const int32_t sum = c->subtract ? (int32_t)((uint32_t)sa - (uint32_t)sb) : eq_add_wrap(sa, sb);
    return (int8_t)eq_clamp(eq_add_wrap(eq_mbqm(sum, c->mo, c->so), c->out_off), c->act_min, c->act_max);
}
#if EQ_USE_DSP || EQ_USE_MVE
/* Add (subtract 0) or Sub (1) through the row kernel. */
eq_status eq_opt_add_s8_rows(const eq_elementwise_params *p, int subtract, eq_opt_add_row_fn row);
#endif

/* ---- Internal: the GEMM micro-kernels shared by Conv2D and FullyConnected (gemm_s8_dsp.c /
 * gemm_s8_mve.c). y[r][oc] = requantize(bias[oc] + sum_k (x_r[k] + input_offset) * filter[oc][k]). */
typedef struct {
    const int8_t *filter; /* [n_out][k] */
    const int32_t *bias, *multiplier, *shift;
    int32_t k, n_out;
    int32_t input_offset, output_offset, act_min, act_max;
} eq_opt_gemm_s8;

/* Two input rows at once (x0 -> y0, x1 -> y1), every output channel. */
typedef void (*eq_opt_gemm_rows2_fn)(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);
/* One input row, every output channel. */
typedef void (*eq_opt_gemm_row1_fn)(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0);
#if EQ_USE_DSP
void eq_opt_gemm_s8_rows2_dsp(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);
void eq_opt_gemm_s8_row1_dsp(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0);
#endif
#if EQ_USE_MVE
void eq_opt_gemm_s8_rows2_mve(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);
void eq_opt_gemm_s8_row1_mve(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0);
#endif
/* Conv2D and FullyConnected as rows times the filter through the given micro-kernels (conv2d_s8_dsp.c). */
eq_status eq_opt_conv2d_s8_gemm(const eq_conv_params *p, eq_opt_gemm_rows2_fn rows2, eq_opt_gemm_row1_fn row1);
eq_status eq_opt_fully_connected_s8_gemm(const eq_fc_params *p, eq_opt_gemm_rows2_fn rows2, eq_opt_gemm_row1_fn row1);
#endif
