using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The 256-bit (x64 AVX2) primitive layer. Callers check <see cref="Avx2.IsSupported"/>.
/// <see cref="DotBusd"/> is VPDPBUSD where AVX-VNNI exists and an exact AVX2 sequence elsewhere,
/// so the VNNI kernels run (and are tested) on any AVX2 machine.
/// </summary>
internal static class SimdOps256
{
    /// <summary>
    /// VPDPBUSD: acc[i] + sum over j in 0..3 of u[4i+j] * s[4i+j] (uint8 x int8, int32 lanes, wrapping).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> DotBusd(Vector256<int> acc, Vector256<byte> u, Vector256<sbyte> s)
    {
        if (AvxVnni.IsSupported)
            return AvxVnni.MultiplyWideningAndAdd(acc, u, s);
        // Pairs fit int16 x int16 -> int32 exactly (255 x 128 x 2 < 2^31); VPHADDD pairs them into
        // quadruples within 128-bit lanes, VPERMQ restores the order.
        var lo = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(u.GetLower()).AsInt16(), Avx2.ConvertToVector256Int16(s.GetLower()));
        var hi = Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(u.GetUpper()).AsInt16(), Avx2.ConvertToVector256Int16(s.GetUpper()));
        return acc + Avx2.Permute4x64(Avx2.HorizontalAdd(lo, hi).AsInt64(), 0b11_01_10_00).AsInt32();
    }

    /// <summary>Sums of pairs of sign-extended int8: VPMOVSXBW twice, VPMADDWD. 16 bytes of each operand.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyAddPairs(Vector256<short> a, Vector128<sbyte> b)
        => Avx2.MultiplyAddAdjacent(a, Avx2.ConvertToVector256Int16(b));

    /// <summary>[sum(a0), sum(a1), sum(a2), sum(a3)] of four 8-lane accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> ReduceAdd4(Vector256<int> a0, Vector256<int> a1, Vector256<int> a2, Vector256<int> a3)
    {
        var h = Avx2.HorizontalAdd(Avx2.HorizontalAdd(a0, a1), Avx2.HorizontalAdd(a2, a3));
        return h.GetLower() + h.GetUpper();
    }

    /// <summary>See <see cref="SimdOps.SaturatingRoundingDoublingHighMul"/>: VPMULDQ on even and odd lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> SaturatingRoundingDoublingHighMul(Vector256<int> a, Vector256<int> b)
    {
        var nudge = Vector256.Create(1L << 30);
        var even = Avx2.ShiftRightLogical(Avx2.Multiply(a, b) + nudge, 31).AsInt32();
        var odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(a.AsInt64(), 32).AsInt32(), Avx2.ShiftRightLogical(b.AsInt64(), 32).AsInt32()) + nudge, 1).AsInt32();
        var r = Avx2.Blend(even, odd, 0b1010_1010);
        return r ^ Vector256.Equals(r, Vector256.Create(int.MinValue));
    }

    /// <summary>See <see cref="SimdOps.RoundingDivideByPOT"/>: VPSRAVD plus the rounding correction.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> RoundingDivideByPOT(Vector256<int> x, Vector256<int> e)
    {
        var ue = e.AsUInt32();
        var mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, ue) - Vector256<int>.One;
        var remainder = x & mask;
        var threshold = Vector256.ShiftRightArithmetic(mask, 1) - Vector256.ShiftRightArithmetic(x, 31);
        return Avx2.ShiftRightArithmeticVariable(x, ue) - Vector256.GreaterThan(remainder, threshold);
    }

    /// <summary>Vector <see cref="Math.QuantMath.MultiplyByQuantizedMultiplier"/>, per-lane multiplier and shift.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyByQuantizedMultiplier(Vector256<int> x, Vector256<int> multiplier, Vector256<int> shift)
    {
        var left = Vector256.Max(shift, Vector256<int>.Zero);
        var right = left - shift;
        return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(Avx2.ShiftLeftLogicalVariable(x, left.AsUInt32()), multiplier), right);
    }

    /// <summary>
    /// <see cref="MultiplyByQuantizedMultiplier(Vector256{int}, Vector256{int}, Vector256{int})"/> with its per-lane
    /// shifts and rounding mask derived once, for kernels that apply the same 8 channels' requantization
    /// to several pixels. Bit for bit the same result. Four fields, so the JIT keeps it in registers.
    /// </summary>
    public readonly struct Requantizer
    {
        private readonly Vector256<int> _left, _right, _multiplier, _mask;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Requantizer(Vector256<int> multiplier, Vector256<int> shift)
        {
            _left = Vector256.Max(shift, Vector256<int>.Zero);
            _right = _left - shift;
            _multiplier = multiplier;
            _mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, _right.AsUInt32()) - Vector256<int>.One;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Apply(Vector256<int> x)
        {
            x = Avx2.ShiftLeftLogicalVariable(x, _left.AsUInt32());
            var nudge = Vector256.Create(1L << 30);
            var even = Avx2.ShiftRightLogical(Avx2.Multiply(x, _multiplier) + nudge, 31).AsInt32();
            var odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(),
                Avx2.ShiftRightLogical(_multiplier.AsInt64(), 32).AsInt32()) + nudge, 1).AsInt32();
            var r = Avx2.Blend(even, odd, 0b1010_1010);
            r ^= Vector256.Equals(r, Vector256.Create(int.MinValue));
            var threshold = Vector256.ShiftRightArithmetic(_mask, 1) - Vector256.ShiftRightArithmetic(r, 31);
            return Avx2.ShiftRightArithmeticVariable(r, _right.AsUInt32()) - Vector256.GreaterThan(r & _mask, threshold);
        }

        /// <summary><see cref="Apply"/>, plus the output offset, clamped.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> ApplyClamp(Vector256<int> x, Vector256<int> outputOffset, Vector256<int> min, Vector256<int> max)
            => Vector256.Min(Vector256.Max(Apply(x) + outputOffset, min), max);
    }

    /// <summary>
    /// <see cref="MultiplyByQuantizedMultiplier(Vector256{int}, Vector256{int}, Vector256{int})"/> for shifts &lt;= 0
    /// (<paramref name="right"/> = -shift) and multipliers other than int.MinValue (so the high multiply
    /// cannot saturate), with the operands derived by the caller: <paramref name="multiplierOdd"/> =
    /// the odd lanes' multiplier moved to the even lanes, <paramref name="mask"/> = 2^right - 1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> MultiplyByQuantizedMultiplierRightShift(Vector256<int> x, Vector256<int> multiplier, Vector256<int> multiplierOdd,
        Vector256<int> right, Vector256<int> mask)
    {
        var nudge = Vector256.Create(1L << 30);
        var even = Avx2.ShiftRightLogical(Avx2.Multiply(x, multiplier) + nudge, 31).AsInt32();
        var odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), multiplierOdd) + nudge, 1).AsInt32();
        var r = Avx2.Blend(even, odd, 0b1010_1010);
        var threshold = Vector256.ShiftRightArithmetic(mask, 1) - Vector256.ShiftRightArithmetic(r, 31);
        return Avx2.ShiftRightArithmeticVariable(r, right.AsUInt32()) - Vector256.GreaterThan(r & mask, threshold);
    }

    /// <summary>Requantizes, offsets and clamps 8 accumulators; the int8 results are in the low 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<int> RequantizeClamp(Vector256<int> acc, Vector256<int> multiplier, Vector256<int> shift,
        Vector256<int> outputOffset, Vector256<int> min, Vector256<int> max)
    {
        var v = MultiplyByQuantizedMultiplier(acc, multiplier, shift) + outputOffset;
        return Vector256.Min(Vector256.Max(v, min), max);
    }

    /// <summary>Packs 32 clamped int32 lanes (already within int8 range) into 32 int8 in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<sbyte> Pack32(Vector256<int> a, Vector256<int> b, Vector256<int> c, Vector256<int> d)
    {
        // VPACKSSDW / VPACKSSWB interleave 128-bit lanes; VPERMD puts the dwords back in order.
        var w = Avx2.PackSignedSaturate(Avx2.PackSignedSaturate(a, b), Avx2.PackSignedSaturate(c, d));
        return Avx2.PermuteVar8x32(w.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte();
    }

    /// <summary>Packs 8 clamped int32 lanes into 8 int8 (returned as one 64-bit value, lane 0 lowest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long Pack8(Vector256<int> a)
    {
        var w = Sse2.PackSignedSaturate(a.GetLower(), a.GetUpper());
        return Sse2.PackSignedSaturate(w, w).AsInt64().ToScalar();
    }

    /// <summary>The 8 int8 at x as float32 (exact): VPMOVSXBD from memory, then VCVTDQ2PS.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> EightToSingle(ref sbyte x)
        => Avx.ConvertToVector256Single(Avx2.ConvertToVector256Int32(
            Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref x))).AsSByte()));

    /// <summary>Packs 16 clamped int32 lanes (already within int8 range) into 16 int8 in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pack16(Vector256<int> a, Vector256<int> b)
    {
        var w = Avx2.Permute4x64(Avx2.PackSignedSaturate(a, b).AsInt64(), 0b11_01_10_00).AsInt16();
        return Sse2.PackSignedSaturate(w.GetLower(), w.GetUpper());
    }
}
