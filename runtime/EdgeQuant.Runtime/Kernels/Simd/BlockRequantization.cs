using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The requantization of one block of 8 output channels (two int32 accumulator vectors per pixel) for the
/// arm64 tile kernels: multipliers and split shifts loaded once per block (the left shift skipped when it is 0
/// for the whole block), two pixels narrowed together
/// into one 16-byte vector (<see cref="SimdOps.NarrowSaturateClamp"/>). Channels of the block past the
/// op's last (the padding of a channel tail) get multiplier 0 and are never stored.
/// </summary>
internal readonly struct BlockRequantization
{
    private readonly Vector128<int> _m0, _m1, _l0, _l1, _n0, _n1, _off;
    private readonly Vector128<sbyte> _min, _max;
    private readonly bool _hasLeft;

    /// <summary>Real channels in the block (1..8).</summary>
    public int Channels { get; }

    [SkipLocalsInit]
    public BlockRequantization(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int from, int outputOffset, int activationMin, int activationMax)
    {
        int n = System.Math.Min(8, multipliers.Length - from);
        Channels = n;
        Vector128<int> m0, m1, s0, s1;
        if (n == 8)
        {
            ref int m = ref MemoryMarshal.GetReference(multipliers);
            ref int s = ref MemoryMarshal.GetReference(shifts);
            m0 = Vector128.LoadUnsafe(ref m, (nuint)from);
            m1 = Vector128.LoadUnsafe(ref m, (nuint)from + 4);
            s0 = Vector128.LoadUnsafe(ref s, (nuint)from);
            s1 = Vector128.LoadUnsafe(ref s, (nuint)from + 4);
        }
        else
        {
            Span<int> t = stackalloc int[16];
            t.Clear();
            multipliers.Slice(from, n).CopyTo(t);
            shifts.Slice(from, n).CopyTo(t.Slice(8));
            m0 = Vector128.Create((ReadOnlySpan<int>)t.Slice(0, 4));
            m1 = Vector128.Create((ReadOnlySpan<int>)t.Slice(4, 4));
            s0 = Vector128.Create((ReadOnlySpan<int>)t.Slice(8, 4));
            s1 = Vector128.Create((ReadOnlySpan<int>)t.Slice(12, 4));
        }
        _m0 = m0; _m1 = m1;
        _l0 = Vector128.Max(s0, Vector128<int>.Zero);
        _l1 = Vector128.Max(s1, Vector128<int>.Zero);
        _n0 = Vector128.Min(s0, Vector128<int>.Zero);
        _n1 = Vector128.Min(s1, Vector128<int>.Zero);
        // Most layers scale down (every shift <= 0): their left shift is skipped.
        _hasLeft = (_l0 | _l1) != Vector128<int>.Zero;
        _off = Vector128.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>Two pixels' outputs: bytes 0..7 the first pixel's 8 channels, 8..15 the second's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Pixels2(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11)
    {
        if (_hasLeft)
        {
            var l0 = _l0;
            var l1 = _l1;
            a00 = SimdOps.ShiftLeft(a00, l0);
            a01 = SimdOps.ShiftLeft(a01, l1);
            a10 = SimdOps.ShiftLeft(a10, l0);
            a11 = SimdOps.ShiftLeft(a11, l1);
        }
        var m0 = _m0;
        var m1 = _m1;
        var n0 = _n0;
        var n1 = _n1;
        var off = _off;
        return SimdOps.NarrowSaturateClamp(
            SimdOps.HighMulRoundingShift(a00, m0, n0) + off,
            SimdOps.HighMulRoundingShift(a01, m1, n1) + off,
            SimdOps.HighMulRoundingShift(a10, m0, n0) + off,
            SimdOps.HighMulRoundingShift(a11, m1, n1) + off, _min, _max);
    }

    /// <summary>Stores the 8 bytes of <paramref name="v"/> at <paramref name="half"/> (0 or 1), only the block's real channels.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Store(Vector128<sbyte> v, [ConstantExpected(Max = 1)] int half, ref sbyte o)
    {
        long bytes = v.AsInt64().GetElement(half);
        if (Channels == 8)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), bytes);
            return;
        }
        // A channel tail, byte by byte in place: a call here would make the tile kernels keep their vectors in memory.
        for (int c = 0; c < Channels; c++, bytes >>= 8)
            Unsafe.Add(ref o, c) = (sbyte)bytes;
    }
}
