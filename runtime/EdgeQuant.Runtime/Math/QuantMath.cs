using System.Runtime.CompilerServices;

namespace EdgeQuant.Runtime.Math;

/// <summary>
/// Fixed-point requantization, defined once. Every kernel (reference and SIMD) calls these,
/// or reproduces them bit for bit. The rounding follows the TFLite int8 specification (gemmlowp):
/// a saturating rounding doubling high multiply (round to nearest, ties toward +infinity, as
/// ARM's SQRDMULH) followed by a rounding right shift (round to nearest, ties away from zero).
/// </summary>
public static class QuantMath
{
    /// <summary>
    /// (a * b * 2) / 2^32 rounded to nearest with ties toward +infinity, i.e. floor(a * b / 2^31 + 1/2)
    /// (-0.5 becomes 0, -1.5 becomes -1); saturates the single overflow case int.MinValue * int.MinValue.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int SaturatingRoundingDoublingHighMul(int a, int b)
    {
        if (a == b && a == int.MinValue)
            return int.MaxValue;
        long ab = (long)a * b;
        long nudge = ab >= 0 ? (1L << 30) : (1L - (1L << 30));
        // Division truncating toward zero, as C's integer division does.
        return (int)((ab + nudge) / (1L << 31));
    }

    /// <summary>x / 2^exponent rounded half away from zero. exponent in [0, 31].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int RoundingDivideByPOT(int x, int exponent)
    {
        int mask = (int)((1L << exponent) - 1);
        int remainder = x & mask;
        int threshold = (mask >> 1) + (x < 0 ? 1 : 0);
        return (x >> exponent) + (remainder > threshold ? 1 : 0);
    }

    /// <summary>
    /// x * multiplier * 2^shift where multiplier is a Q0.31 value in [2^30, 2^31) (or 0) and
    /// shift in [-31, 30]. A positive shift is applied as a left shift before the multiply.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int MultiplyByQuantizedMultiplier(int x, int multiplier, int shift)
    {
        int leftShift = shift > 0 ? shift : 0;
        int rightShift = shift > 0 ? 0 : -shift;
        return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(unchecked(x * (1 << leftShift)), multiplier), rightShift);
    }

    /// <summary>
    /// Splits a positive real multiplier into a Q0.31 fixed-point value and a power-of-two
    /// exponent such that real ≈ multiplier * 2^(shift - 31). Used at conversion time only.
    /// </summary>
    public static (int Multiplier, int Shift) QuantizeMultiplier(double real)
    {
        if (!(real > 0) || double.IsInfinity(real))
            return (0, 0);
        int shift = System.Math.ILogB(real) + 1;
        double q = System.Math.ScaleB(real, -shift); // in [0.5, 1)
        long qFixed = (long)System.Math.Round(q * (1L << 31), MidpointRounding.AwayFromZero);
        if (qFixed == (1L << 31))
        {
            qFixed /= 2;
            shift++;
        }
        if (shift < -31)
            return (0, 0);
        if (shift > 30)
        {
            shift = 30;
            qFixed = int.MaxValue;
        }
        return ((int)qFixed, shift);
    }

    /// <summary>Float to int8 as the Quantize op defines it: round(x / scale) half away from zero, plus zero point, saturated.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static sbyte QuantizeS8(float x, float scale, int zeroPoint)
    {
        float r = MathF.Round(x / scale, MidpointRounding.AwayFromZero);
        int q;
        if (float.IsNaN(r)) q = 0;
        else if (r > 1000f) q = 1000;
        else if (r < -1000f) q = -1000;
        else q = (int)r;
        q += zeroPoint;
        return (sbyte)System.Math.Clamp(q, -128, 127);
    }

    /// <summary>
    /// The 16x8 requantization (int16 activations, int64 accumulator): the Q0.31 multiplier is first
    /// rounded to 16 bits, m16 = (multiplier + 2^15) &gt;&gt; 16 (in [2^14, 2^15] for a normal multiplier),
    /// then x × m16 × 2^(shift − 15) is computed in 64 bits and rounded to nearest with ties toward
    /// +infinity: (x × m16 + 2^(t − 1)) &gt;&gt; t with t = 15 − shift. shift is in [−31, 14], so t is in [1, 46];
    /// the readers bound |x| below 2^47, so the product never overflows.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long MultiplyByQuantizedMultiplier16x8(long x, int multiplier, int shift)
    {
        long m16 = ((long)multiplier + (1 << 15)) >> 16;
        int t = 15 - shift;
        return (x * m16 + (1L << (t - 1))) >> t;
    }

    /// <summary>Float to int16 (zero point 0): round(x / scale) half away from zero, saturated to [−32768, 32767]; NaN gives 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static short QuantizeS16(float x, float scale)
    {
        float r = MathF.Round(x / scale, MidpointRounding.AwayFromZero);
        if (float.IsNaN(r)) return 0;
        if (r >= 32767f) return short.MaxValue;
        if (r <= -32768f) return short.MinValue;
        return (short)r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float DequantizeS8(sbyte q, float scale, int zeroPoint) => (q - zeroPoint) * scale;
}
