/*
 * Optimized int8 kernels: Cortex-M DSP extension (SMLAD/SXTAB16), Helium/MVE (VMLADAVA), and a
 * register-blocked portable C path for cores with neither (Cortex-M3, host).
 *
 * Every entry point computes exactly the bytes of the reference loop nests (C# `*.Reference.cs`,
 * C `*_s8.c`): the same int32 accumulation (wrapping), the same requantization
 * (eq_opt_requantize below = QuantMath.MultiplyByQuantizedMultiplier), the same clamp. Each returns
 * 1 when it produced the output and 0 when the case is not covered (then nothing was written and
 * the caller runs the reference kernel). Which path is compiled is chosen by __ARM_FEATURE_MVE /
 * __ARM_FEATURE_DSP; exactly one definition of each entry point is linked.
 *
 * Layouts (as the blob stores them): input/output NHWC int8; Conv2D filter [Cout, Kh, Kw, Cin];
 * DepthwiseConv2D filter [1, Kh, Kw, Cout]; FullyConnected filter [Cout, Cin]; bias, multiplier and
 * shift int32 per output channel.
 */
#ifndef EQ_KERNELS_OPT_H
#define EQ_KERNELS_OPT_H

#include <stdint.h>
#include <string.h>

typedef struct {
    const int8_t *input;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
    int8_t *output;
    int32_t batches, in_h, in_w, in_c;
    int32_t k_h, k_w;
    int32_t out_h, out_w, out_c;
    int32_t stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
    int32_t depth_multiplier; /* DepthwiseConv2D only: out_c = in_c * depth_multiplier */
    int32_t input_offset, output_offset, act_min, act_max;
} eq_opt_conv_s8;

typedef struct {
    const int8_t *input;
    const int8_t *filter;
    const int32_t *bias;
    const int32_t *multiplier;
    const int32_t *shift;
    int8_t *output;
    int32_t batches, in_c, out_c;
    int32_t input_offset, output_offset, act_min, act_max;
} eq_opt_fc_s8;

/* Scratch bytes eq_conv2d_s8_opt can use for a filter of k_h x k_w x in_c (the arena scratch the
 * converter plans: KernelScratch.Conv2DBytes). With less it takes a path needing less, or returns 0. */
int eq_conv2d_s8_opt(const eq_opt_conv_s8 *p, int8_t *scratch, uint32_t scratch_bytes);
int eq_depthwise_conv2d_s8_opt(const eq_opt_conv_s8 *p);
int eq_fully_connected_s8_opt(const eq_opt_fc_s8 *p);

/* ---- Requantization. TODO(fw-core merge): this is the arithmetic of the core's quant_math
 * (C# QuantMath); once firmware/src/quant_math.h lands these forward to it, so it exists once. ---- */

/* QuantMath.SaturatingRoundingDoublingHighMul: floor(a*b / 2^31 + 1/2), saturating INT32_MIN^2.
 * (ab + 2^30) >> 31 equals the C# form (nudge, then division truncating toward zero) for every ab. */
static inline int32_t eq_opt_srdhm(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) return INT32_MAX;
    int64_t ab = (int64_t)a * b;
    return (int32_t)((ab + ((int64_t)1 << 30)) >> 31);
}

/* QuantMath.RoundingDivideByPOT: x / 2^e rounded half away from zero, e in [0, 31]. */
static inline int32_t eq_opt_rdbpot(int32_t x, int32_t e)
{
    int32_t mask = (int32_t)(((int64_t)1 << e) - 1);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> e) + (remainder > threshold ? 1 : 0);
}

/* QuantMath.MultiplyByQuantizedMultiplier; a positive shift is a (wrapping) left shift first. */
static inline int32_t eq_opt_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    int32_t left = shift > 0 ? shift : 0;
    int32_t right = shift > 0 ? 0 : -shift;
    return eq_opt_rdbpot(eq_opt_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

static inline int8_t eq_opt_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                       int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32_t v = eq_opt_mbqm(acc, multiplier, shift) + output_offset;
    v = v < act_min ? act_min : v;
    v = v > act_max ? act_max : v;
    return (int8_t)v;
}

/* Rotate right by 8: feeds SXTB16/SXTAB16 the odd bytes (compilers fold it into the operand's ROR #8). */
static inline uint32_t eq_opt_ror8(uint32_t x) { return (x >> 8) | (x << 24); }

/* Unaligned little-endian 32-bit read (one LDR on Cortex-M3 and later: unaligned LDR is allowed). */
static inline uint32_t eq_opt_read32(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}



#if defined(__ARM_FEATURE_MVE)
#include <arm_mve.h>
/* eq_opt_mbqm on four lanes, bit for bit (tested against the scalar helper on extreme values):
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
    int32x4_t fix = vpselq_s32(vshrq_n_s32(v, 31), zero, vcmpltq_n_s32(right, 0));
    return vrshlq_s32(vqaddq_s32(v, fix), right);
}

/* eq_opt_requantize on four lanes: offset added, clamped to [act_min, act_max], still int32. */
static inline int32x4_t eq_opt_requantize_mve(int32x4_t acc, const int32_t *multiplier, const int32_t *shift,
                                              int32_t output_offset, int32_t act_min, int32_t act_max)
{
    int32x4_t v = vaddq_n_s32(eq_opt_mbqm_mve(acc, vldrwq_s32(multiplier), vldrwq_s32(shift)), output_offset);
    return vminq_s32(vmaxq_s32(v, vdupq_n_s32(act_min)), vdupq_n_s32(act_max));
}
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
void eq_opt_gemm_s8_rows2(const eq_opt_gemm_s8 *g, const int8_t *x0, const int8_t *x1, int8_t *y0, int8_t *y1);
/* One input row, every output channel. */
void eq_opt_gemm_s8_row1(const eq_opt_gemm_s8 *g, const int8_t *x0, int8_t *y0);
#endif
