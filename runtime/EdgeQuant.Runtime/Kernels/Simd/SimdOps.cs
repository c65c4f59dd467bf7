using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The 128-bit primitive layer under the Vector128 (arm64) kernels. Each primitive has one exact
/// definition (given in its summary, matching one NEON instruction or a fixed sequence of them)
/// and three bodies: the explicit arm64 intrinsic, an x64 equivalent, and a portable scalar
/// emulation. All three produce the same lanes, so the kernel logic above this layer runs and is
/// tested on x64; the arm64 bodies run under qemu-aarch64 (tools/arm64-tests), where the same
/// tests check them against the scalar definitions.
/// </summary>
internal static partial class SimdOps
{
    /// <summary>
    /// The first <paramref name="count"/> (1-4) bytes of <paramref name="bytes"/> (little-endian: byte 0 is the low byte) at
    /// <paramref name="o"/>: one 32-bit store for 4, else a 16-bit and an 8-bit store as needed. Rows of 1-4 channels taken
    /// from a vector lane or a general register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreBytes(uint bytes, ref sbyte o, int count)
    {
        ref byte b = ref Unsafe.As<sbyte, byte>(ref o);
        if (count == 4)
        {
            Unsafe.WriteUnaligned(ref b, bytes);
            return;
        }
        if ((count & 2) != 0)
        {
            Unsafe.WriteUnaligned(ref b, (ushort)bytes);
            b = ref Unsafe.Add(ref b, 2);
            bytes >>= 16;
        }
        if ((count & 1) != 0)
            b = (byte)bytes;
    }

    /// <summary>
    /// The low 8 bytes of <paramref name="v"/> at <paramref name="o"/> and, unless <paramref name="next"/> is negative, the high
    /// 8 at o + next, stored straight from the vector (VMOVQ, VMOVHPD; x64) through a pointer pinned for the two stores: two
    /// pixels' or rows' 8 channels from one vector with no shuffle and no move to a general register.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreTwo8(Vector128<long> v, ref sbyte o, nint next)
    {
        fixed (sbyte* p = &o)
        {
            Sse2.StoreScalar((long*)p, v);
            if (next >= 0)
                Sse2.StoreHigh((double*)(p + next), v.AsDouble());
        }
    }

    /// <summary>
    /// Four rows' 8 bytes, <paramref name="stride"/> apart from <paramref name="o"/>: rows 0 and 1 the low and high halves of
    /// <paramref name="r01"/>, rows 2 and 3 of <paramref name="r23"/> (<see cref="StoreTwo8"/> with one pin for the four).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe void StoreFour8(Vector128<long> r01, Vector128<long> r23, ref sbyte o, nint stride)
    {
        fixed (sbyte* p = &o)
        {
            Sse2.StoreScalar((long*)p, r01);
            Sse2.StoreHigh((double*)(p + stride), r01.AsDouble());
            Sse2.StoreScalar((long*)(p + 2 * stride), r23);
            Sse2.StoreHigh((double*)(p + 3 * stride), r23.AsDouble());
        }
    }

    /// <summary>
    /// The first 64-byte aligned element at or after <paramref name="at"/>, which must be stack memory (it does not move):
    /// kernels allocate 64 bytes more on the stack and start there, since a 512-bit access that crosses a cache line
    /// costs two, and the stack's alignment differs between processes and threads (fashion_resnet's Winograd layers
    /// measured 5.85 and 4.75 us in one process, 5.4 and 4.25 in another, before their scratch was aligned).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static unsafe ref T Align64<T>(ref T at)
    {
        nint address = (nint)Unsafe.AsPointer(ref at);
        return ref Unsafe.AddByteOffset(ref at, (-address) & 63);
    }

    /// <summary>
    /// SDOT: acc[i] + sum over j in 0..3 of a[4i+j] * b[4i+j] (int8 x int8, int32 lanes, wrapping).
    /// One instruction where <see cref="Dp"/> is supported (Raspberry Pi 5).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> DotProduct(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        if (Dp.IsSupported)
            return Dp.DotProduct(acc, a, b);
        if (AdvSimd.Arm64.IsSupported)
        {
            var lo = AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningLower(a.GetLower(), b.GetLower()));
            var hi = AdvSimd.AddPairwiseWidening(AdvSimd.MultiplyWideningUpper(a, b));
            return acc + AdvSimd.Arm64.AddPairwise(lo, hi);
        }
        if (Ssse3.IsSupported && Sse41.IsSupported)
        {
            var lo = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(a), Sse41.ConvertToVector128Int16(b));
            var hi = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(a, 8)), Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(b, 8)));
            return acc + Ssse3.HorizontalAdd(lo, hi);
        }
        return DotProductScalar(acc, a, b);
    }

    /// <summary>
    /// SMULL + SADALP, SMULL2 + SADALP (the Raspberry Pi 4 path, no dot product):
    /// acc[i] + a[2i]b[2i] + a[2i+1]b[2i+1] + a[2i+8]b[2i+8] + a[2i+9]b[2i+9].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddPairs(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        if (AdvSimd.IsSupported)
        {
            acc = AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningLower(a.GetLower(), b.GetLower()));
            return AdvSimd.AddPairwiseWideningAndAdd(acc, AdvSimd.MultiplyWideningUpper(a, b));
        }
        if (Sse41.IsSupported)
        {
            var lo = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(a), Sse41.ConvertToVector128Int16(b));
            var hi = Sse2.MultiplyAddAdjacent(Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(a, 8)), Sse41.ConvertToVector128Int16(Sse2.ShiftRightLogical128BitLane(b, 8)));
            return acc + lo + hi;
        }
        return MultiplyAddPairsScalar(acc, a, b);
    }

    /// <summary>ADDP, ADDP: the four horizontal sums [sum(a0), sum(a1), sum(a2), sum(a3)].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> ReduceAdd4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3)
    {
        if (AdvSimd.Arm64.IsSupported)
            return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));
        if (Ssse3.IsSupported)
            return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(a0, a1), Ssse3.HorizontalAdd(a2, a3));
        return Vector128.Create(Vector128.Sum(a0), Vector128.Sum(a1), Vector128.Sum(a2), Vector128.Sum(a3));
    }

    /// <summary>
    /// SQRDMULH: (a * b * 2 + 2^31) >> 32, saturating the single overflow case (MinValue, MinValue).
    /// Equal lane for lane to <see cref="QuantMath.SaturatingRoundingDoublingHighMul"/>: the
    /// gemmlowp nudge for negative products (1 - 2^30, then division toward zero) is the same as
    /// adding 2^30 and flooring.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> SaturatingRoundingDoublingHighMul(Vector128<int> a, Vector128<int> b)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyRoundedDoublingSaturateHigh(a, b);
        if (Sse41.IsSupported)
        {
            var nudge = Vector128.Create(1L << 30);
            // Even lanes: the 64-bit product's bits 31..62 land in the low half after >> 31.
            var even = Sse2.ShiftRightLogical(Sse41.Multiply(a, b) + nudge, 31).AsInt32();
            // Odd lanes: the same bits land in the high half after << 1.
            var odd = Sse2.ShiftLeftLogical(Sse41.Multiply(Sse2.ShiftRightLogical(a.AsInt64(), 32).AsInt32(), Sse2.ShiftRightLogical(b.AsInt64(), 32).AsInt32()) + nudge, 1).AsInt32();
            var r = Sse41.Blend(even.AsInt16(), odd.AsInt16(), 0b1100_1100).AsInt32();
            // Only MinValue x MinValue yields 0x80000000 here; it saturates to MaxValue.
            return r ^ Vector128.Equals(r, Vector128.Create(int.MinValue));
        }
        return SaturatingRoundingDoublingHighMulScalar(a, b);
    }

    /// <summary>
    /// x / 2^e rounded half away from zero, e in [0, 31] per lane, as
    /// <see cref="QuantMath.RoundingDivideByPOT"/>. NEON: AND, SSHR #31, SQADD, SRSHL by -e.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> RoundingDivideByPOT(Vector128<int> x, Vector128<int> e)
    {
        if (AdvSimd.IsSupported)
        {
            var negE = -e;
            // Ties of negative values go down: subtract one first (only where e > 0), saturating.
            var fixup = AdvSimd.ShiftRightArithmetic(x & negE, 31);
            return AdvSimd.ShiftArithmeticRounded(AdvSimd.AddSaturate(x, fixup), negE);
        }
        if (Avx2.IsSupported)
        {
            var ue = e.AsUInt32();
            var mask = Avx2.ShiftLeftLogicalVariable(Vector128<int>.One, ue) - Vector128<int>.One;
            var remainder = x & mask;
            var threshold = Vector128.ShiftRightArithmetic(mask, 1) - Vector128.ShiftRightArithmetic(x, 31);
            return Avx2.ShiftRightArithmeticVariable(x, ue) - Vector128.GreaterThan(remainder, threshold);
        }
        return RoundingDivideByPOTScalar(x, e);
    }

    /// <summary>x * 2^s per lane (wrapping), s in [0, 31]: SSHL / VPSLLVD.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> ShiftLeft(Vector128<int> x, Vector128<int> s)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.ShiftArithmetic(x, s);
        if (Avx2.IsSupported)
            return Avx2.ShiftLeftLogicalVariable(x, s.AsUInt32());
        return Vector128.Create(x[0] << s[0], x[1] << s[1], x[2] << s[2], x[3] << s[3]);
    }

    /// <summary>
    /// Vector <see cref="QuantMath.MultiplyByQuantizedMultiplier"/> with per-lane multiplier and
    /// shift (shift in [-31, 30]): the requantization every Vector128 kernel shares.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyByQuantizedMultiplier(Vector128<int> x, Vector128<int> multiplier, Vector128<int> shift)
    {
        var left = Vector128.Max(shift, Vector128<int>.Zero);
        var right = left - shift;
        return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(ShiftLeft(x, left), multiplier), right);
    }

    /// <summary>Requantizes four accumulators, adds the output offset and clamps (results within int8).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> RequantizeClamp(Vector128<int> acc, Vector128<int> multiplier, Vector128<int> shift,
        Vector128<int> outputOffset, Vector128<int> min, Vector128<int> max)
        => Vector128.Min(Vector128.Max(MultiplyByQuantizedMultiplier(acc, multiplier, shift) + outputOffset, min), max);

    /// <summary>Requantizes four accumulators, adds the output offset, clamps and stores four int8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void RequantizeStore4(Vector128<int> acc, Vector128<int> multiplier, Vector128<int> shift,
        Vector128<int> outputOffset, Vector128<int> min, Vector128<int> max, ref sbyte destination)
    {
        var v = RequantizeClamp(acc, multiplier, shift, outputOffset, min, max);
        var b = Vector128.Narrow(Vector128.Narrow(v, v), Vector128<short>.Zero);
        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref destination), b.AsInt32().ToScalar());
    }

    /// <summary>Narrows 16 int32 lanes already within int8 range (four vectors, in order) into 16 int8.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Narrow16(Vector128<int> a, Vector128<int> b, Vector128<int> c, Vector128<int> d)
        => Vector128.Narrow(Vector128.Narrow(a, b), Vector128.Narrow(c, d));

    internal static Vector128<int> DotProductScalar(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        Span<int> r = stackalloc int[4];
        for (int i = 0; i < 4; i++)
        {
            int s = acc[i];
            for (int j = 0; j < 4; j++) s += a[4 * i + j] * b[4 * i + j];
            r[i] = s;
        }
        return Vector128.Create((ReadOnlySpan<int>)r);
    }

    internal static Vector128<int> MultiplyAddPairsScalar(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b)
    {
        Span<int> r = stackalloc int[4];
        for (int i = 0; i < 4; i++)
            r[i] = acc[i] + a[2 * i] * b[2 * i] + a[2 * i + 1] * b[2 * i + 1] + a[2 * i + 8] * b[2 * i + 8] + a[2 * i + 9] * b[2 * i + 9];
        return Vector128.Create((ReadOnlySpan<int>)r);
    }

    internal static Vector128<int> SaturatingRoundingDoublingHighMulScalar(Vector128<int> a, Vector128<int> b) => Vector128.Create(
        QuantMath.SaturatingRoundingDoublingHighMul(a[0], b[0]), QuantMath.SaturatingRoundingDoublingHighMul(a[1], b[1]),
        QuantMath.SaturatingRoundingDoublingHighMul(a[2], b[2]), QuantMath.SaturatingRoundingDoublingHighMul(a[3], b[3]));

    internal static Vector128<int> RoundingDivideByPOTScalar(Vector128<int> x, Vector128<int> e) => Vector128.Create(
        QuantMath.RoundingDivideByPOT(x[0], e[0]), QuantMath.RoundingDivideByPOT(x[1], e[1]),
        QuantMath.RoundingDivideByPOT(x[2], e[2]), QuantMath.RoundingDivideByPOT(x[3], e[3]));
}
