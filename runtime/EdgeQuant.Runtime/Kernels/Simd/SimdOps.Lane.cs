using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class SimdOps
{
    /// <summary>
    /// SMLAL by lane: acc[i] + w[i] * x[lane] for i in 0..3 (int16 x int16 products, exact in int32,
    /// wrapping sum). One instruction on arm64 (SMLAL Vd.4S, Vn.4H, Vm.H[lane]); <paramref name="lane"/>
    /// must be a constant there. Elsewhere the same lanes through widening and a broadcast.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddLaneLower(Vector128<int> acc, Vector128<short> w, Vector128<short> x, [ConstantExpected(Max = 7)] byte lane)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(acc, w.GetLower(), x, lane);
        return acc + Vector128.WidenLower(w) * Vector128.Create((int)x.GetElement(lane));
    }

    /// <summary>
    /// <see cref="MultiplyAddLaneLower(Vector128{int}, Vector128{short}, Vector128{short}, byte)"/> with the weights' lower half
    /// taken once by the caller: a kernel that issues every SMLAL2 of a weight vector first and then takes its lower half at
    /// that last use spares the JIT a register copy per weight vector.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddLaneLower(Vector128<int> acc, Vector64<short> wLower, Vector128<short> x, [ConstantExpected(Max = 7)] byte lane)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(acc, wLower, x, lane);
        return acc + Vector128.WidenLower(wLower.ToVector128Unsafe()) * Vector128.Create((int)x.GetElement(lane));
    }

    /// <summary>SMLAL2 by lane: acc[i] + w[4 + i] * x[lane] for i in 0..3, as <see cref="MultiplyAddLaneLower(Vector128{int}, Vector128{short}, Vector128{short}, byte)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddLaneUpper(Vector128<int> acc, Vector128<short> w, Vector128<short> x, [ConstantExpected(Max = 7)] byte lane)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(acc, w, x, lane);
        return acc + Vector128.WidenUpper(w) * Vector128.Create((int)x.GetElement(lane));
    }

    /// <summary>
    /// SMLAL: acc[i] + a[i] * b[i] for i in 0..3 (the lower int16 lanes, exact int32 products, wrapping sum).
    /// One instruction on arm64; elsewhere the same lanes through widening.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddWideningLower(Vector128<int> acc, Vector128<short> a, Vector128<short> b)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyWideningLowerAndAdd(acc, a.GetLower(), b.GetLower());
        return acc + Vector128.WidenLower(a) * Vector128.WidenLower(b);
    }

    /// <summary>
    /// SMLAL with the second operand's lower half given alone (a value kept in a register across many uses:
    /// taking <c>GetLower()</c> of a live vector at each use costs the JIT a register copy each time).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddWideningLower(Vector128<int> acc, Vector128<short> a, Vector64<short> bLower)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyWideningLowerAndAdd(acc, a.GetLower(), bLower);
        return acc + Vector128.WidenLower(a) * Vector128.WidenLower(bLower.ToVector128Unsafe());
    }

    /// <summary>
    /// SMLAL with both operands' lower halves given alone (columns and weights each used by several SMLALs: their lower
    /// halves are taken once, at the last SMLAL2 that reads the whole vector).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddWideningLower(Vector128<int> acc, Vector64<short> aLower, Vector64<short> bLower)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyWideningLowerAndAdd(acc, aLower, bLower);
        return acc + Vector128.WidenLower(aLower.ToVector128Unsafe()) * Vector128.WidenLower(bLower.ToVector128Unsafe());
    }

    /// <summary>SMLAL2: acc[i] + a[4 + i] * b[4 + i] for i in 0..3, as <see cref="MultiplyAddWideningLower(Vector128{int}, Vector128{short}, Vector128{short})"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddWideningUpper(Vector128<int> acc, Vector128<short> a, Vector128<short> b)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyWideningUpperAndAdd(acc, a, b);
        return acc + Vector128.WidenUpper(a) * Vector128.WidenUpper(b);
    }

    /// <summary>
    /// SDOT by element: acc[i] + sum over j in 0..3 of w[4i + j] * x[4 lane + j] (int8 x int8, int32 lanes,
    /// wrapping): four output channels' quadruplets of weights in <paramref name="w"/> against one quadruplet
    /// of activations. One instruction with <see cref="Dp"/> (SDOT Vd.4S, Vn.16B, Vm.4B[lane]); elsewhere the
    /// quadruplet is broadcast and <see cref="DotProduct"/> does the rest.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotProductLane(Vector128<int> acc, Vector128<sbyte> w, Vector128<sbyte> x, [ConstantExpected(Max = 3)] byte lane)
    {
        if (Dp.IsSupported)
            return Dp.DotProductBySelectedQuadruplet(acc, w, x, lane);
        return DotProduct(acc, w, Vector128.Create(x.AsInt32().GetElement(lane)).AsSByte());
    }

    /// <summary>
    /// The part of <see cref="QuantMath.MultiplyByQuantizedMultiplier"/> after its left shift, per lane, with the
    /// right shift given negated once per channel (<paramref name="negRight"/> = min(shift, 0); the left shift,
    /// max(shift, 0), is applied by the caller, or skipped where every lane's is 0). arm64: SQRDMULH, then the
    /// rounding right shift of <see cref="RoundingDivideByPOT"/> (AND, SSHR, SQADD, SRSHL).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMulRoundingShift(Vector128<int> x, Vector128<int> multiplier, Vector128<int> negRight)
    {
        var y = SaturatingRoundingDoublingHighMul(x, multiplier);
        if (AdvSimd.IsSupported)
        {
            var fixup = AdvSimd.ShiftRightArithmetic(y & negRight, 31);
            return AdvSimd.ShiftArithmeticRounded(AdvSimd.AddSaturate(y, fixup), negRight);
        }
        return RoundingDivideByPOT(y, -negRight);
    }

    /// <summary>
    /// <see cref="HighMulRoundingShift"/> for lanes that all shift right (every lane of <paramref name="negRight"/>
    /// at most -1): SQRDMULH, then the round-half-away-from-zero fixup as one SSRA (y + (y &gt;&gt; 31)), then SRSHL.
    /// The fixup needs no saturation: SQRDMULH never returns int.MinValue (|2ab + 2^31| stays above -2^63 + 2^32
    /// for int32 a, b), so y - 1 cannot wrap. Three instructions instead of five.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMulRoundingShiftRight(Vector128<int> x, Vector128<int> multiplier, Vector128<int> negRight)
    {
        if (AdvSimd.IsSupported)
        {
            var y = AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, multiplier);
            return AdvSimd.ShiftArithmeticRounded(AdvSimd.ShiftRightArithmeticAdd(y, y, 31), negRight);
        }
        return HighMulRoundingShift(x, multiplier, negRight);
    }

    /// <summary>
    /// <see cref="HighMulRoundingShiftRight"/> without the fixup: SQRDMULH, then SRSHL alone, which rounds halves up where
    /// the reference rounds them away from zero. The two differ only where y &lt; 0, and there both results are &lt;= 0
    /// ((y + 2^(e-1)) &gt;&gt; e &lt;= 0 for y &lt;= -1): for an op whose activation minimum is at least its output
    /// offset (a fused ReLU), every such output is clamped to the minimum either way. Two instructions instead of three.
    /// Elsewhere SRSHL is emulated exactly (its rounding addition in 64 bits), so that x64 runs of the arm64 kernels
    /// test this form, not the reference's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> HighMulRoundingShiftRightClamped(Vector128<int> x, Vector128<int> multiplier, Vector128<int> negRight)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.ShiftArithmeticRounded(AdvSimd.MultiplyRoundedDoublingSaturateHigh(x, multiplier), negRight);
        var y = SaturatingRoundingDoublingHighMul(x, multiplier);
        return Vector128.Create(RoundingShiftRight(y[0], -negRight[0]), RoundingShiftRight(y[1], -negRight[1]),
            RoundingShiftRight(y[2], -negRight[2]), RoundingShiftRight(y[3], -negRight[3]));

        // SRSHL by -e (e >= 1): the rounding constant added without overflow, halves rounded up.
        static int RoundingShiftRight(int y, int e) => (int)(((long)y + (1L << (e - 1))) >> e);
    }

    /// <summary>
    /// Four right-shifted requantized int32 vectors (each lane within +-2^30, as <see cref="HighMulRoundingShiftRight"/>
    /// leaves them) plus the output offset, narrowed with saturation to 16 int8 lanes in order, clamped to [min, max].
    /// arm64: SQXTN/SQXTN2 to int16, the offset added there with SQADD (half the additions of adding it in int32),
    /// SQXTN/SQXTN2 to int8, SMAX/SMIN. Exact: sat8(sat16(sat16(x) + off)) = sat8(x + off) since a lane saturated to
    /// int16 stays beyond every int8 bound after adding an offset in [-128, 127] (and x + off cannot wrap in int32).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowOffsetClamp(Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d,
        Vector128<short> offset, Vector128<sbyte> min, Vector128<sbyte> max)
    {
        if (AdvSimd.IsSupported)
        {
            var ab = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(a), b), offset);
            var cd = AdvSimd.AddSaturate(AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(c), d), offset);
            var bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(ab), cd);
            return AdvSimd.Min(AdvSimd.Max(bytes, min), max);
        }
        var off = Vector128.WidenLower(offset);
        return NarrowSaturateClamp(a + off, b + off, c + off, d + off, min, max);
    }

    /// <summary>
    /// Four int32 vectors narrowed with saturation to 16 int8 lanes, in order (SQXTN, SQXTN2 to int16, then
    /// to int8), then clamped to [min, max]. Exact for the requantized outputs: a saturated lane lies beyond
    /// every int8 bound on the same side, so the clamp gives what the reference's int32 clamp gives.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> NarrowSaturateClamp(Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d,
        Vector128<sbyte> min, Vector128<sbyte> max)
    {
        if (AdvSimd.IsSupported)
        {
            var ab = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(a), b);
            var cd = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(c), d);
            var bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(ab), cd);
            return AdvSimd.Min(AdvSimd.Max(bytes, min), max);
        }
        var lo = Vector128.Create(-128);
        var hi = Vector128.Create(127);
        var r = Vector128.Narrow(Vector128.Narrow(Vector128.Clamp(a, lo, hi), Vector128.Clamp(b, lo, hi)),
            Vector128.Narrow(Vector128.Clamp(c, lo, hi), Vector128.Clamp(d, lo, hi)));
        return Vector128.Min(Vector128.Max(r, min), max);
    }
}
