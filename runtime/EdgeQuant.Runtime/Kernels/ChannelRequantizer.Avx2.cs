using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// <see cref="Math.QuantMath.MultiplyByQuantizedMultiplier"/> plus output offset and activation clamp for 8 channels
/// (one per int32 lane, each with its own multiplier and shift, left or right), narrowed to int8 in registers: for
/// kernels that keep one group of channels in registers while they run over many pixels (the depthwise and
/// one-input-channel convolutions), so no accumulator is stored and reloaded. The per-lane operands are derived
/// once per group. Bit for bit the reference for every multiplier (including int.MinValue's saturation) and shift
/// in [-31, 30]; the bounds must lie within int8 with min &lt;= max (<see cref="BoundsFit"/>), so that narrowing
/// with saturation and then clamping bytes equals clamping then narrowing.
/// </summary>
internal readonly struct ChannelRequantizer256
{
    private readonly Vector256<int> _left, _right, _m, _mOdd, _mask, _half, _off;
    private readonly Vector128<sbyte> _min, _max;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer256(Vector256<int> multiplier, Vector256<int> shift, int outputOffset, int activationMin, int activationMax)
    {
        _left = Vector256.Max(shift, Vector256<int>.Zero);
        _right = _left - shift;
        _m = multiplier;
        _mOdd = Avx2.ShiftRightLogical(multiplier.AsInt64(), 32).AsInt32();
        _mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, _right.AsUInt32()) - Vector256<int>.One;
        _half = Vector256.ShiftRightArithmetic(_mask, 1);
        _off = Vector256.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>Whether the activation bounds allow this requantizer (within int8, min &lt;= max).</summary>
    public static bool BoundsFit(int activationMin, int activationMax) => activationMin >= -128 && activationMax <= 127 && activationMin <= activationMax;

    /// <summary>The 8 int8 results of 8 accumulators, in the low 8 bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector256<int> acc)
    {
        var v = Rounded(acc);
        var w = Sse2.PackSignedSaturate(v.GetLower(), v.GetUpper());
        return Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w, w), _min), _max);
    }

    /// <summary>The 16 int8 results of two groups' accumulators (this requantizer for a, <paramref name="second"/> for b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector256<int> a, in ChannelRequantizer256 second, Vector256<int> b)
    {
        var va = Rounded(a);
        var vb = second.Rounded(b);
        var w = Avx2.Permute4x64(Avx2.PackSignedSaturate(va, vb).AsInt64(), 0b11_01_10_00).AsInt16();
        return Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w.GetLower(), w.GetUpper()), _min), _max);
    }

    /// <summary>The requantized accumulators plus the output offset, in int32 (not yet clamped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector256<int> Rounded(Vector256<int> acc)
    {
        var x = Avx2.ShiftLeftLogicalVariable(acc, _left.AsUInt32());
        var nudge = Vector256.Create(1L << 30);
        // The doubling high multiply: bits 31..62 of x * m + 2^30 (a floor division, which equals the reference's
        // sign-dependent nudge and truncation), even lanes in place, odd lanes moved up by one bit.
        var even = Avx2.ShiftRightLogical(Avx2.Multiply(x, _m) + nudge, 31).AsInt32();
        var odd = Avx2.ShiftLeftLogical(Avx2.Multiply(Avx2.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), _mOdd) + nudge, 1).AsInt32();
        var r = Avx2.Blend(even, odd, 0b1010_1010);
        r ^= Vector256.Equals(r, Vector256.Create(int.MinValue)); // int.MinValue x int.MinValue saturates to int.MaxValue
        // The rounding right shift, ties away from zero; the offset is added in int32 (wrapping, as the reference).
        var threshold = _half - Vector256.ShiftRightArithmetic(r, 31);
        return Avx2.ShiftRightArithmeticVariable(r, _right.AsUInt32()) - Vector256.GreaterThan(r & _mask, threshold) + _off;
    }
}

/// <summary>
/// <see cref="ChannelRequantizer256"/> for 16 channels in one 512-bit vector (AVX-512F/BW): the same operations,
/// narrowed by VPMOVSDB. Callers check <see cref="Avx512BW.IsSupported"/>.
/// </summary>
internal readonly struct ChannelRequantizer512
{
    private readonly Vector512<int> _left, _right, _m, _mOdd, _mask, _half, _off;
    private readonly Vector128<sbyte> _min, _max;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ChannelRequantizer512(Vector512<int> multiplier, Vector512<int> shift, int outputOffset, int activationMin, int activationMax)
    {
        _left = Vector512.Max(shift, Vector512<int>.Zero);
        _right = _left - shift;
        _m = multiplier;
        _mOdd = Avx512F.ShiftRightLogical(multiplier.AsInt64(), 32).AsInt32();
        _mask = Avx512F.ShiftLeftLogicalVariable(Vector512<int>.One, _right.AsUInt32()) - Vector512<int>.One;
        _half = Vector512.ShiftRightArithmetic(_mask, 1);
        _off = Vector512.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>The 16 int8 results of 16 accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Apply(Vector512<int> acc)
    {
        var x = Avx512F.ShiftLeftLogicalVariable(acc, _left.AsUInt32());
        var nudge = Vector512.Create(1L << 30);
        var even = Avx512F.ShiftRightLogical(Avx512F.Multiply(x, _m) + nudge, 31).AsInt32();
        var odd = Avx512F.ShiftLeftLogical(Avx512F.Multiply(Avx512F.ShiftRightLogical(x.AsInt64(), 32).AsInt32(), _mOdd) + nudge, 1).AsInt32();
        var r = Vector512.ConditionalSelect(OddLanes, odd, even);
        r ^= Vector512.Equals(r, Vector512.Create(int.MinValue));
        var threshold = _half - Vector512.ShiftRightArithmetic(r, 31);
        var v = Avx512F.ShiftRightArithmeticVariable(r, _right.AsUInt32()) - Vector512.GreaterThan(r & _mask, threshold) + _off;
        return Vector128.Min(Vector128.Max(Avx512F.ConvertToVector128SByteWithSaturation(v), _min), _max);
    }

    private static Vector512<int> OddLanes => Vector512.Create(0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1, 0, -1);
}
