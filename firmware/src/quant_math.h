/*
 * Fixed-point requantization, defined once for the C runtime: a port of the C# QuantMath
 * (runtime/EdgeQuant.Runtime/Math/QuantMath.cs) with identical results for every input.
 * C# int arithmetic wraps; where it could, these use uint32_t so C has no undefined behaviour.
 */
#ifndef EQ_QUANT_MATH_H
#define EQ_QUANT_MATH_H

#include <stdint.h>

/* a + b modulo 2^32, as C#'s unchecked int addition. */
static inline int32_t eq_add_wrap(int32_t a, int32_t b) { return (int32_t)((uint32_t)a + (uint32_t)b); }

/* floor(a * b / 2^31 + 1/2) with ties toward +infinity; saturates INT32_MIN * INT32_MIN.
 * The C# form (nudge by +-2^30, then divide truncating toward zero) equals this floor for every
 * other pair: for v = a * b >= 0 both are floor((v + 2^30) / 2^31); for v < 0 the truncated
 * (v + 1 - 2^30) / 2^31 is ceil((v + 1 - 2^30) / 2^31) = floor((v + 2^30) / 2^31). So one 64-bit
 * multiply-add and an arithmetic shift (SMULL/SMLAL on Cortex-M). Checked against the C# form on
 * edge and random values by firmware/bench/kernel_tests.c on every board. */
static inline int32_t eq_srdhm(int32_t a, int32_t b)
{
    if (a == b && a == INT32_MIN)
        return INT32_MAX;
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* x / 2^exponent rounded half away from zero; exponent in [0, 31]. */
static inline int32_t eq_rounding_divide_by_pot(int32_t x, int exponent)
{
    int32_t mask = (int32_t)((1u << exponent) - 1u);
    int32_t remainder = x & mask;
    int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* x * multiplier * 2^shift; multiplier Q0.31 >= 0, shift in [-31, 30] (a positive shift is a left shift first). */
static inline int32_t eq_mbqm(int32_t x, int32_t multiplier, int32_t shift)
{
    int left = shift > 0 ? (int)shift : 0;
    int right = shift > 0 ? 0 : (int)-shift;
    return eq_rounding_divide_by_pot(eq_srdhm((int32_t)((uint32_t)x << left), multiplier), right);
}

/* eq_mbqm out of line (quant_math.c): the one copy the reference kernels share, so each of them
 * costs a call instead of an inlined copy against the M4 code budget. Same result for every input. */
int32_t eq_mbqm_call(int32_t x, int32_t multiplier, int32_t shift);

/* The 16x8 requantization (QuantMath.MultiplyByQuantizedMultiplier16x8): the Q0.31 multiplier rounded
 * to 16 bits, m16 = (multiplier + 2^15) >> 16, then (x * m16 + 2^(t - 1)) >> t with t = 15 - shift
 * (shift in [-31, 14], so t in [1, 46]). The reader bounds |x| below 2^47, so x * m16 fits 64 bits. */
static inline int64_t eq_mbqm_16x8(int64_t x, int32_t multiplier, int32_t shift)
{
    const int64_t m16 = ((int64_t)multiplier + (1 << 15)) >> 16;
    const int t = 15 - (int)shift;
    return (x * m16 + ((int64_t)1 << (t - 1))) >> t;
}

static inline int32_t eq_clamp(int32_t v, int32_t lo, int32_t hi) { return v < lo ? lo : (v > hi ? hi : v); }

/* Float to int8 as the Quantize op and Interpreter.SetInput define it (QuantMath.QuantizeS8). */
int8_t eq_quantize_s8(float x, float scale, int32_t zero_point);
/* (q - zero_point) * scale, one IEEE float multiply. */
float eq_dequantize_s8(int8_t q, float scale, int32_t zero_point);

#endif
