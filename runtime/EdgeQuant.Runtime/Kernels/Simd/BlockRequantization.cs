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
    private readonly Vector128<short> _off16;
    private readonly Vector128<sbyte> _min, _max;
    private readonly bool _hasLeft, _allRight, _clampsNegatives;

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
        // Usually every channel shifts right by at least 1: then the shorter sequence of Pixels2 applies (its padding
        // lanes, multiplier 0, are given a right shift of 1 too; they are never stored), for an int8 output offset.
        bool allRight = (uint)(outputOffset + 128) <= 255;
        if (n == 8)
            allRight &= Vector128.LessThanAll(Vector128.Max(s0, s1), Vector128<int>.Zero); // every shift <= -1
        else
            foreach (int sh in shifts.Slice(from, n))
                allRight &= sh <= -1;
        _allRight = allRight;
        _clampsNegatives = ClampsNegatives(outputOffset, activationMin);
        if (allRight)
        {
            _n0 = Vector128.Min(_n0, Vector128.Create(-1));
            _n1 = Vector128.Min(_n1, Vector128.Create(-1));
        }
        _off16 = Vector128.Create((short)(allRight ? outputOffset : 0));
        _off = Vector128.Create(outputOffset);
        _min = Vector128.Create((sbyte)activationMin);
        _max = Vector128.Create((sbyte)activationMax);
    }

    /// <summary>
    /// Whether every channel of the block shifts right by at least 1 and the output offset is an int8 value: then
    /// <see cref="Pixels2"/> takes its shorter sequence, and a kernel may keep <see cref="M0"/>..<see cref="Max"/> in
    /// registers and call <see cref="Pixels2Right"/> itself.
    /// </summary>
    public bool AllRight => _allRight;

    /// <summary>Multipliers of channels 0-3 and 4-7 of the block (0 for the padding channels of a tail).</summary>
    public Vector128<int> M0 => _m0;

    /// <inheritdoc cref="M0"/>
    public Vector128<int> M1 => _m1;

    /// <summary>min(shift, 0) of channels 0-3 and 4-7 (with <see cref="AllRight"/>: every lane at most -1).</summary>
    public Vector128<int> N0 => _n0;

    /// <inheritdoc cref="N0"/>
    public Vector128<int> N1 => _n1;

    /// <summary>The output offset in int16 lanes (with <see cref="AllRight"/>).</summary>
    public Vector128<short> Offset16 => _off16;

    /// <summary>The activation bounds in int8 lanes.</summary>
    public Vector128<sbyte> Min => _min;

    /// <inheritdoc cref="Min"/>
    public Vector128<sbyte> Max => _max;

    /// <summary>Whether every channel of an op shifts right by at least 1 and its output offset is an int8 value (every block <see cref="AllRight"/>).</summary>
    public static bool OpAllRight(ReadOnlySpan<int> shifts, int outputOffset)
    {
        bool all = (uint)(outputOffset + 128) <= 255;
        foreach (int s in shifts)
            all &= s <= -1;
        return all;
    }

    /// <summary>
    /// The vectors of <see cref="M0"/>..<see cref="N1"/> for the block of 8 channels at <paramref name="from"/> of an op whose
    /// every channel shifts right (<see cref="OpAllRight"/>), without building the whole struct: multipliers and shifts
    /// loaded as they are (a tail block's padding lanes: multiplier 0, shift -1; never stored).
    /// </summary>
    [SkipLocalsInit]
    public static void LoadRight(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int from,
        out Vector128<int> m0, out Vector128<int> m1, out Vector128<int> n0, out Vector128<int> n1)
    {
        int n = multipliers.Length - from;
        if (n >= 8)
        {
            ref int m = ref MemoryMarshal.GetReference(multipliers);
            ref int s = ref MemoryMarshal.GetReference(shifts);
            m0 = Vector128.LoadUnsafe(ref m, (nuint)from);
            m1 = Vector128.LoadUnsafe(ref m, (nuint)from + 4);
            n0 = Vector128.LoadUnsafe(ref s, (nuint)from);
            n1 = Vector128.LoadUnsafe(ref s, (nuint)from + 4);
            return;
        }
        Span<int> t = stackalloc int[16];
        t.Slice(0, 8).Clear();
        t.Slice(8).Fill(-1);
        multipliers.Slice(from, n).CopyTo(t);
        shifts.Slice(from, n).CopyTo(t.Slice(8));
        m0 = Vector128.Create((ReadOnlySpan<int>)t.Slice(0, 4));
        m1 = Vector128.Create((ReadOnlySpan<int>)t.Slice(4, 4));
        n0 = Vector128.Create((ReadOnlySpan<int>)t.Slice(8, 4));
        n1 = Vector128.Create((ReadOnlySpan<int>)t.Slice(12, 4));
    }

    /// <summary>
    /// <see cref="Pixels2"/> of a block with <see cref="AllRight"/>, from its vectors held by the caller: SQRDMULH, SSRA,
    /// SRSHL per accumulator vector, then <see cref="SimdOps.NarrowOffsetClamp"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pixels2Right(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> offset, Vector128<sbyte> min, Vector128<sbyte> max)
        => Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, offset, min, max, clamped: false);

    /// <summary>
    /// <see cref="Pixels2Right"/> for an op whose activation minimum is at least its output offset (a fused ReLU): SQRDMULH
    /// and SRSHL per accumulator vector, without the fixup (<see cref="SimdOps.HighMulRoundingShiftRightClamped"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pixels2RightClamped(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> offset, Vector128<sbyte> min, Vector128<sbyte> max)
        => Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, offset, min, max, clamped: true);

    /// <summary>
    /// <see cref="Pixels2RightClamped"/> where <paramref name="clamped"/> (a constant where the caller's generic flag gives
    /// it: the JIT keeps one of the two), else <see cref="Pixels2Right"/>. Clamped only for an op whose activation minimum is
    /// at least its output offset (<see cref="ClampsNegatives(int, int)"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<sbyte> Pixels2RightOrClamped(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11,
        Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1, Vector128<short> offset, Vector128<sbyte> min, Vector128<sbyte> max,
        bool clamped)
        => SimdOps.NarrowOffsetClamp(Scale(a00, m0, n0, clamped), Scale(a01, m1, n1, clamped), Scale(a10, m0, n0, clamped),
            Scale(a11, m1, n1, clamped), offset, min, max);

    /// <summary>One accumulator vector's multiply and right shift, with or without the fixup.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Scale(Vector128<int> a, Vector128<int> m, Vector128<int> n, bool clamped)
        => clamped ? SimdOps.HighMulRoundingShiftRightClamped(a, m, n) : SimdOps.HighMulRoundingShiftRight(a, m, n);

    /// <summary>Whether an op's outputs below its output offset are all clamped away (a fused ReLU): then <see cref="Pixels2RightClamped"/> applies.</summary>
    public static bool ClampsNegatives(int outputOffset, int activationMin) => activationMin >= outputOffset;

    /// <summary>Stores the 8 bytes of <paramref name="v"/> at <paramref name="half"/> (0 or 1), the first <paramref name="channels"/> (1..8) of them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<sbyte> v, [ConstantExpected(Max = 1)] int half, ref sbyte o, int channels)
    {
        long bytes = v.AsInt64().GetElement(half);
        if (channels == 8)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), bytes);
            return;
        }
        // A channel tail: 4, 2 and 1 bytes as its count has them.
        if ((channels & 4) != 0)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), (int)bytes);
            o = ref Unsafe.Add(ref o, 4);
            bytes >>= 32;
        }
        if ((channels & 2) != 0)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), (short)bytes);
            o = ref Unsafe.Add(ref o, 2);
            bytes >>= 16;
        }
        if ((channels & 1) != 0)
            o = (sbyte)bytes;
    }

    /// <summary>Two pixels' outputs: bytes 0..7 the first pixel's 8 channels, 8..15 the second's.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector128<sbyte> Pixels2(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11)
        => !_allRight ? Pixels2General(a00, a01, a10, a11)
            : _clampsNegatives ? Pixels2RightClamped(a00, a01, a10, a11, _m0, _m1, _n0, _n1, _off16, _min, _max)
            : Pixels2Right(a00, a01, a10, a11, _m0, _m1, _n0, _n1, _off16, _min, _max);

    /// <summary>
    /// <see cref="Pixels2"/> of four pixels (a tile), with one branch on <see cref="AllRight"/> for the four and the
    /// block's vectors read once: inlined per pair, Pixels2's own branch left register copies at each of its joins in
    /// the arm64 tile kernels.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Pixels4(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11,
        Vector128<int> a20, Vector128<int> a21, Vector128<int> a30, Vector128<int> a31, out Vector128<sbyte> p01, out Vector128<sbyte> p23)
    {
        if (_allRight)
        {
            Vector128<int> m0 = _m0, m1 = _m1, n0 = _n0, n1 = _n1;
            Vector128<short> off = _off16;
            Vector128<sbyte> min = _min, max = _max;
            if (_clampsNegatives)
            {
                p01 = Pixels2RightClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max);
                p23 = Pixels2RightClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max);
                return;
            }
            p01 = Pixels2Right(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max);
            p23 = Pixels2Right(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max);
            return;
        }
        p01 = Pixels2General(a00, a01, a10, a11);
        p23 = Pixels2General(a20, a21, a30, a31);
    }

    /// <summary><see cref="Pixels4"/> of eight pixels (the 8-pixel tiles), one branch for the eight.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Pixels8(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11,
        Vector128<int> a20, Vector128<int> a21, Vector128<int> a30, Vector128<int> a31,
        Vector128<int> a40, Vector128<int> a41, Vector128<int> a50, Vector128<int> a51,
        Vector128<int> a60, Vector128<int> a61, Vector128<int> a70, Vector128<int> a71,
        out Vector128<sbyte> p01, out Vector128<sbyte> p23, out Vector128<sbyte> p45, out Vector128<sbyte> p67)
    {
        if (_allRight)
        {
            Vector128<int> m0 = _m0, m1 = _m1, n0 = _n0, n1 = _n1;
            Vector128<short> off = _off16;
            Vector128<sbyte> min = _min, max = _max;
            if (_clampsNegatives)
            {
                p01 = Pixels2RightClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max);
                p23 = Pixels2RightClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max);
                p45 = Pixels2RightClamped(a40, a41, a50, a51, m0, m1, n0, n1, off, min, max);
                p67 = Pixels2RightClamped(a60, a61, a70, a71, m0, m1, n0, n1, off, min, max);
                return;
            }
            p01 = Pixels2Right(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max);
            p23 = Pixels2Right(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max);
            p45 = Pixels2Right(a40, a41, a50, a51, m0, m1, n0, n1, off, min, max);
            p67 = Pixels2Right(a60, a61, a70, a71, m0, m1, n0, n1, off, min, max);
            return;
        }
        p01 = Pixels2General(a00, a01, a10, a11);
        p23 = Pixels2General(a20, a21, a30, a31);
        p45 = Pixels2General(a40, a41, a50, a51);
        p67 = Pixels2General(a60, a61, a70, a71);
    }

    /// <summary><see cref="Pixels2"/> without the <see cref="AllRight"/> form: split shifts, then the offset in int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Vector128<sbyte> Pixels2General(Vector128<int> a00, Vector128<int> a01, Vector128<int> a10, Vector128<int> a11)
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
