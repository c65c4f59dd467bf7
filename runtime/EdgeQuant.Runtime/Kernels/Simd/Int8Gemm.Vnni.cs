using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    // AVX-VNNI (VPDPBUSD, 256-bit: .NET exposes no 512-bit form) with output channels in lanes. Each int32 lane
    // accumulates four products of unsigned and signed bytes with no saturation: the activations enter biased
    // (x XOR 0x80 = x + 128, 0..255), the weights as the signed quadruplets of PackedFilter.Quads (the layout of the
    // arm64 SDOT tiles: [segments, quads, CoutPadded, 4]), and the accumulators start from PackedFilter.InitBiased
    // (Init - 128 x sum(w)). All of it is exact wrapping int32 arithmetic, so the accumulator equals the reference's
    // Init + sum(x x w), bit for bit. One 32-bit broadcast of four activations feeds 8 channels x 4 taps per
    // instruction: 32 MACs with the accumulation included, against 16 for VPMADDWD and a separate VPADDD.
    // On AVX2 machines without VNNI, SimdOps256.DotBusd is an exact emulation, so these kernels run (and are
    // tested) anywhere AVX2 is; the dispatchers take them only where AvxVnni.IsSupported.

    /// <summary>
    /// How many rows past the last whole 4-row tile the VPDPBUSD kernels run as 1-row tiles (<see cref="QuadTile1Wide{TGroups}"/>)
    /// rather than as one more 4-row tile overlapping the one before. Measured on Zen 5 (fashion_resnet's 7x7 3x3 28 -> 60 layer,
    /// ranges of its pixels): past 20 pixels, 1 more took 0.13-0.14 us alone against 0.30 as an overlapping tile, 2 more 0.30
    /// against 0.32, 3 more 0.44 against 0.33.
    /// </summary>
    internal const int QuadSinglesUpTo = 1;

    /// <summary>
    /// Whether the rows past the last whole 4-row tile of <paramref name="n"/> run one by one (their count at most
    /// <paramref name="singlesUpTo"/>: <see cref="QuadSinglesUpTo"/>, Conv2D's IRowKernel.SinglesUpTo) rather than as one
    /// more 4-row tile overlapping the one before. The rule of the GEMM and the convolution rows kernels, kept in one place.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool RestRunsAlone(int n, int singlesUpTo) => (n & 3) <= singlesUpTo;

    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryRunQuadsVnni"/>: 4 rows of K up to 4096.</summary>
    private const int QuadsStackLimit = 4 * 4096;

    /// <summary>
    /// The 1x1 / FullyConnected form of the VNNI kernel (<see cref="PackedFilter.Quads"/> with
    /// <see cref="PackedFilter.QuadRowTaps"/> = K): rows are staged biased on the stack, 4 at a time, K rounded up
    /// to 4 with zero bytes (against zero weights), then multiplied in tiles of 4 rows x 8-32 channels
    /// (<see cref="QuadsRows"/>) into a group's accumulators, which <see cref="PairsRequantization.Store"/> requantizes.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    internal static bool TryRunQuadsVnni(ref sbyte a, nint aStride, int rows, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride)
    {
        sbyte[]? quads = pf.Quads;
        int k = pf.K;
        if (!Avx2.IsSupported || quads is null || pf.QuadRowTaps != k || k == 0)
            return false;
        int k4 = (k + 3) & ~3, cout = pf.Cout, coutP = pf.CoutPadded;
        if (4 * k4 > QuadsStackLimit || coutP > MaxPairsChannels)
            return false;
        Span<byte> staged = stackalloc byte[4 * k4];
        int group = System.Math.Min((rows + 3) & ~3, System.Math.Max(GemmGroupRows, GemmGroupInts / coutP & ~3));
        Span<int> accumulators = stackalloc int[group * coutP];
        ref byte xs = ref MemoryMarshal.GetReference(staged);
        ref int acc = ref MemoryMarshal.GetReference(accumulators);
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(quads);
        var q = new PairsRequantization(pf, multipliers, shifts, outputOffset, activationMin, activationMax, biased: true);
        for (int g = 0; g < rows; g += group)
        {
            int n = System.Math.Min(group, rows - g);
            ref sbyte ag = ref Unsafe.Add(ref a, g * aStride);
            bool singles = RestRunsAlone(n, QuadSinglesUpTo);
            if (n < 4 && rows >= 4 && !singles)
            {
                // As in TryRunPairsAvx2: a last group of 2-3 rows takes the 4 last rows (the ones before recomputed, stored identically).
                g = rows - 4;
                n = 4;
                ag = ref Unsafe.Add(ref a, g * aStride);
            }
            // A last row past whole 4-row tiles runs alone (QuadSinglesUpTo); 2-3 rows as a 4-row tile overlapping the one before.
            int tiled = singles ? n & ~3 : n;
            int r = 0;
            if (tiled >= 4)
            {
                for (; ; r += 4)
                {
                    r = System.Math.Min(r, tiled - 4);
                    for (int i = 0; i < 4; i++)
                        StageBiased(ref Unsafe.Add(ref ag, (r + i) * aStride), ref Unsafe.Add(ref xs, i * k4), k, k4);
                    QuadsRows(4, ref xs, RowOffsets.Strided(k4), 1, 0, k4 / 4, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
                    if (r == tiled - 4)
                        break;
                }
                r = tiled;
            }
            for (; r < n; r++)
            {
                StageBiased(ref Unsafe.Add(ref ag, r * aStride), ref xs, k, k4);
                QuadsRows(1, ref xs, RowOffsets.Strided(k4), 1, 0, k4 / 4, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
            }
            q.Store(n, ref acc, coutP, cout, ref Unsafe.Add(ref output, g * outStride), outStride);
        }
        return true;
    }

    /// <summary>
    /// to[i] = from[i] XOR 0x80 (x + 128 as a byte) for i in [0, k), to[i] = 0 for i in [k, k4): 32 bytes per step, the last
    /// step overlapping the previous one; 16 and 8 likewise below 32. Reads stay within the k elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StageBiased(ref sbyte from, ref byte to, int k, int k4)
    {
        ref byte f = ref Unsafe.As<sbyte, byte>(ref from);
        if (k >= 32)
        {
            var bias = Vector256.Create((byte)0x80);
            int i = 0;
            for (; i <= k - 32; i += 32)
                (Vector256.LoadUnsafe(ref f, (nuint)i) ^ bias).StoreUnsafe(ref to, (nuint)i);
            if (i < k)
                (Vector256.LoadUnsafe(ref f, (nuint)(k - 32)) ^ bias).StoreUnsafe(ref to, (nuint)(k - 32));
        }
        else if (k >= 16)
        {
            var bias = Vector128.Create((byte)0x80);
            (Vector128.LoadUnsafe(ref f) ^ bias).StoreUnsafe(ref to);
            (Vector128.LoadUnsafe(ref f, (nuint)(k - 16)) ^ bias).StoreUnsafe(ref to, (nuint)(k - 16));
        }
        else if (k >= 8)
        {
            const ulong bias = 0x8080808080808080UL;
            Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<ulong>(ref f) ^ bias);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, k - 8), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref f, k - 8)) ^ bias);
        }
        else
            for (int i = 0; i < k; i++)
                Unsafe.Add(ref to, i) = (byte)(Unsafe.Add(ref f, i) ^ 0x80);
        for (int i = k; i < k4; i++)
            Unsafe.Add(ref to, i) = 0;
    }

    /// <summary>
    /// acc[i x Cout + oc] = InitBiased[oc] + sum of biased activations x weights for rows i in [0, n) (n = 4 or 1), every
    /// oc of the padded channel count <paramref name="cout"/>: row i's activations start at x, x + xStride.D1, .D2, .D3 (<see cref="RowOffsets"/>) and consist of
    /// <paramref name="segments"/> runs of <paramref name="quads"/> quadruplets of bytes, segStride apart; the weights are the
    /// matching [segments x quads, Cout, 4] quadruplets. The VNNI counterpart of <see cref="PairsRows"/>, shared with
    /// Conv2D's rows path. With AVX-512 (32 vector registers) 4 rows x 32 channels per pass, then one tile of 24, 16 or 8;
    /// one row 64 channels per pass (<see cref="QuadTile1Wide{TGroups}"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void QuadsRows(int n, ref byte x, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        in PairsRequantization q, ref int acc)
    {
        int j = 0;
        if (n == 4)
        {
            // With AVX-512 (32 registers), a last 1-4 real channels past whole 8-channel groups ride packed on the last
            // tile (ITail); alone (Cout <= 4) they take a 4x8 tile. Without, the tiles run over the padded channels.
            int real = q.Channels, last = real & 7;
            int tail = Avx512F.IsSupported && real > 8 && real <= cout && last is >= 1 and <= 4 ? (last <= 2 ? 2 : 4) : 0;
            int whole = tail != 0 ? real & ~7 : cout;
            if (Avx512F.IsSupported)
            {
                // A 3-4 channel tail after whole 32-channel tiles rides on the last 32 channels run as 24 + 8: the 32-channel
                // tile and the tail's two accumulators outgrow the registers (36 channels took 10.1 us against 9.3 untailed).
                int stop = tail == 4 && whole % 32 == 0 ? whole - 32 : whole;
                for (; j <= stop - 32; j += 32)
                    QuadTile4(32, j + 32 == whole ? tail : 0, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc);
                if (whole - j >= 24)
                {
                    QuadTile4(24, j + 24 == whole ? tail : 0, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc);
                    j += 24;
                }
            }
            for (; j <= whole - 16; j += 16)
                QuadTile4(16, j + 16 == whole ? tail : 0, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc);
            if (j < whole)
                QuadTile4(8, tail, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc);
        }
        else
            QuadsRow1(ref x, segments, segStride, quads, ref w, cout, q, ref acc);
    }

    /// <summary>
    /// <see cref="QuadsRows"/> for one row: passes of up to 64 channels. Not inlined: its eight instantiations inlined into
    /// the rows kernels made the JIT stop inlining in the 4-row path (fashion_resnet's 3x3 stride-2 12 -> 28 layer, which
    /// has no single rows, 3.7 -> 4.1 us).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void QuadsRow1(ref byte x, int segments, nint segStride, int quads, ref sbyte w, int cout,
        in PairsRequantization q, ref int acc)
    {
        int j = 0;
        for (; j <= cout - 64; j += 64)
            QuadTile1Wide<QuadCount8>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc);
        switch ((cout - j) / 8)
        {
            case 1: QuadTile1Wide<QuadCount1>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 2: QuadTile1Wide<QuadCount2>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 3: QuadTile1Wide<QuadCount3>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 4: QuadTile1Wide<QuadCount4>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 5: QuadTile1Wide<QuadCount5>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 6: QuadTile1Wide<QuadCount6>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 7: QuadTile1Wide<QuadCount7>(ref x, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
        }
    }

    /// <summary>
    /// One row by the TGroups x 8 channels from j (of the padded <paramref name="cout"/>; TGroups is one of the short-K
    /// kernels' QuadCount1..8): per quadruplet one broadcast and TGroups VPDPBUSD into independent accumulators, so the
    /// row's chain of dependent products is spread over up to 8 of
    /// them (a 1x16 tile per 16 channels, two chains as long as the row's K / 4, was latency-bound: fashion_resnet's 7x7
    /// 3x3 28 -> 60 layer spent as long on its 49th pixel as on a 4-pixel tile). With 4 groups or fewer, even and odd
    /// quadruplets go to two sets of accumulators, added at the end.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void QuadTile1Wide<TGroups>(ref byte x0, int segments, nint segStride, int quads, ref sbyte w, int cout,
        in PairsRequantization q, int j, ref int acc) where TGroups : struct, IPairCount
    {
        nint step = 4 * cout;
        ref sbyte wj = ref Unsafe.Add(ref w, 4 * j);
        int g = TGroups.Value;
        var c0 = q.Init(j);
        var c1 = g > 1 ? q.Init(j + 8) : default;
        var c2 = g > 2 ? q.Init(j + 16) : default;
        var c3 = g > 3 ? q.Init(j + 24) : default;
        var c4 = g > 4 ? q.Init(j + 32) : default;
        var c5 = g > 5 ? q.Init(j + 40) : default;
        var c6 = g > 6 ? q.Init(j + 48) : default;
        var c7 = g > 7 ? q.Init(j + 56) : default;
        if (g <= 4)
        {
            // c4..c7 take the odd quadruplets of groups 0..3.
            for (int s = 0; s < segments; s++)
            {
                ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
                int i = 0;
                for (; i + 1 < quads; i += 2)
                {
                    var x = Quad(ref r0, i);
                    var y = Quad(ref r0, i + 1);
                    ref sbyte wn = ref Unsafe.Add(ref wj, step);
                    c0 = Busd(c0, x, Weights(ref wj, 0));
                    c4 = Busd(c4, y, Weights(ref wn, 0));
                    if (g > 1) { c1 = Busd(c1, x, Weights(ref wj, 32)); c5 = Busd(c5, y, Weights(ref wn, 32)); }
                    if (g > 2) { c2 = Busd(c2, x, Weights(ref wj, 64)); c6 = Busd(c6, y, Weights(ref wn, 64)); }
                    if (g > 3) { c3 = Busd(c3, x, Weights(ref wj, 96)); c7 = Busd(c7, y, Weights(ref wn, 96)); }
                    wj = ref Unsafe.Add(ref wj, 2 * step);
                }
                if (i < quads)
                {
                    var x = Quad(ref r0, i);
                    c0 = Busd(c0, x, Weights(ref wj, 0));
                    if (g > 1) c1 = Busd(c1, x, Weights(ref wj, 32));
                    if (g > 2) c2 = Busd(c2, x, Weights(ref wj, 64));
                    if (g > 3) c3 = Busd(c3, x, Weights(ref wj, 96));
                    wj = ref Unsafe.Add(ref wj, step);
                }
            }
            ref int a = ref Unsafe.Add(ref acc, j);
            (c0 + c4).StoreUnsafe(ref a);
            if (g > 1) (c1 + c5).StoreUnsafe(ref a, 8);
            if (g > 2) (c2 + c6).StoreUnsafe(ref a, 16);
            if (g > 3) (c3 + c7).StoreUnsafe(ref a, 24);
            return;
        }
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int i = 0; i < quads; i++)
            {
                var x = Quad(ref r0, i);
                c0 = Busd(c0, x, Weights(ref wj, 0));
                c1 = Busd(c1, x, Weights(ref wj, 32));
                c2 = Busd(c2, x, Weights(ref wj, 64));
                c3 = Busd(c3, x, Weights(ref wj, 96));
                c4 = Busd(c4, x, Weights(ref wj, 128));
                if (g > 5) c5 = Busd(c5, x, Weights(ref wj, 160));
                if (g > 6) c6 = Busd(c6, x, Weights(ref wj, 192));
                if (g > 7) c7 = Busd(c7, x, Weights(ref wj, 224));
                wj = ref Unsafe.Add(ref wj, step);
            }
        }
        ref int o = ref Unsafe.Add(ref acc, j);
        c0.StoreUnsafe(ref o);
        c1.StoreUnsafe(ref o, 8);
        c2.StoreUnsafe(ref o, 16);
        c3.StoreUnsafe(ref o, 24);
        c4.StoreUnsafe(ref o, 32);
        if (g > 5) c5.StoreUnsafe(ref o, 40);
        if (g > 6) c6.StoreUnsafe(ref o, 48);
        if (g > 7) c7.StoreUnsafe(ref o, 56);
    }

    /// <summary>
    /// The 4-row tile of <paramref name="width"/> (8, 16, 24 or 32) channels from channel j, with a packed tail of
    /// <paramref name="tail"/> lanes per row (0, 2 or 4: <see cref="ITail"/>) for the channels after them.
    /// </summary>
    private static void QuadTile4(int width, int tail, ref byte x, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w,
        int cout, in PairsRequantization q, int j, ref int acc)
    {
        switch (tail)
        {
            case 2: QuadTile4<Tail2>(width, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            case 4: QuadTile4<Tail4>(width, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
            default: QuadTile4<Tail0>(width, ref x, xStride, segments, segStride, quads, ref w, cout, q, j, ref acc); break;
        }
    }

    /// <inheritdoc cref="QuadTile4(int, int, ref byte, RowOffsets, int, nint, int, ref sbyte, int, in PairsRequantization, int, ref int)"/>
    private static void QuadTile4<TTail>(int width, ref byte x, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w,
        int cout, in PairsRequantization q, int j, ref int acc) where TTail : struct, ITail
    {
        ref sbyte wj = ref Unsafe.Add(ref w, 4 * j);
        ref int aj = ref Unsafe.Add(ref acc, j);
        var tailInit = TTail.Width == 0 ? default : q.Init(j + width);
        switch (width)
        {
            case 32:
                QuadTile4x32<TTail>(ref x, xStride, segments, segStride, quads, ref wj, cout, q.Init(j), q.Init(j + 8), q.Init(j + 16), q.Init(j + 24),
                    tailInit, ref aj);
                break;
            case 24:
                QuadTile4x24<TTail>(ref x, xStride, segments, segStride, quads, ref wj, cout, q.Init(j), q.Init(j + 8), q.Init(j + 16), tailInit, ref aj);
                break;
            case 16:
                QuadTile4x16<TTail>(ref x, xStride, segments, segStride, quads, ref wj, cout, q.Init(j), q.Init(j + 8), tailInit, ref aj);
                break;
            default:
                QuadTile4x8<TTail>(ref x, xStride, segments, segStride, quads, ref wj, cout, q.Init(j), tailInit, ref aj);
                break;
        }
    }

    /// <summary>Quadruplet <paramref name="i"/> of a staged row, broadcast to the 8 int32 lanes (as 32 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Quad(ref byte row, int i) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref row, 4 * i))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Weights(ref sbyte w, nuint offset) => Vector256.LoadUnsafe(ref w, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Busd(Vector256<int> acc, Vector256<byte> x, Vector256<sbyte> w) => SimdOps256.DotBusd(acc, x, w);

    /// <summary>
    /// How many lanes per row a 4-row tile gives its packed tail, the last 1-4 channels past its own (known to the JIT): 0
    /// (none), 2 (1-2 channels, all four rows in one accumulator: lane l row l % 4, channel l / 4) or 4 (3-4 channels, rows
    /// 0-1 in one accumulator and rows 2-3 in another: lanes 0-1 and 4-5 the first row's channels 0-1 and 2-3, lanes 2-3
    /// and 6-7 the second's). One or two VPDPBUSD per quadruplet where a 4x8 tile runs four, half or more of their lanes
    /// against padding. The inputs are the rows' broadcasts interleaved (VPUNPCKLDQ, VPUNPCKLQDQ), the weights the
    /// channels' quadruplets permuted (VPERMQ, VPERMD): instructions with EVEX forms, so that the tile's accumulators may
    /// stay in ymm16-31 (VPBLENDD, VPBLENDVB and VINSERTI128 reach ymm0-15 only, and with them the JIT spilled an
    /// accumulator every quadruplet: 28 channels took 9.6 us against 6.7).
    /// </summary>
    private interface ITail
    {
        static abstract int Width { get; }
    }

    private struct Tail0 : ITail { public static int Width => 0; }
    private struct Tail2 : ITail { public static int Width => 2; }
    private struct Tail4 : ITail { public static int Width => 4; }

    /// <summary>Width 4: 64-bit quarters 0, 0, 1, 1 (channels 0-1 twice, then 2-3 twice).</summary>
    private const byte TailFourSpread = 0b01_01_00_00;

    /// <summary>Width 2: lanes 0-3 channel 0, 4-7 channel 1.</summary>
    private static Vector256<int> TailTwoSpread
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256.Create(0, 0, 0, 0, 1, 1, 1, 1);
    }

    /// <summary>The tail's start values laid out as its lanes, from the 8 from its first channel (<paramref name="init"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TailInit<TTail>(Vector256<int> init) where TTail : struct, ITail
        => TTail.Width == 4 ? Avx2.Permute4x64(init.AsInt64(), TailFourSpread).AsInt32()
            : TTail.Width == 2 ? Avx2.PermuteVar8x32(init, TailTwoSpread) : default;

    /// <summary>The tail's first accumulator after one quadruplet: rows 0-1 (width 4) or all four rows (width 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TailFirst<TTail>(Vector256<int> t, ref sbyte w, Vector256<byte> x0, Vector256<byte> x1, Vector256<byte> x2,
        Vector256<byte> x3) where TTail : struct, ITail
    {
        if (TTail.Width == 4)
            return Busd(t, Avx2.UnpackLow(x0.AsInt64(), x1.AsInt64()).AsByte(), FourSpread(ref w));
        if (TTail.Width == 2)
        {
            var x = Avx2.UnpackLow(Avx2.UnpackLow(x0.AsInt32(), x1.AsInt32()).AsInt64(), Avx2.UnpackLow(x2.AsInt32(), x3.AsInt32()).AsInt64());
            return Busd(t, x.AsByte(), Avx2.PermuteVar8x32(Vector256.LoadUnsafe(ref w).AsInt32(), TailTwoSpread).AsSByte());
        }
        return t;
    }

    /// <summary>The tail's second accumulator (width 4: rows 2-3) after one quadruplet.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> TailSecond<TTail>(Vector256<int> t, ref sbyte w, Vector256<byte> x2, Vector256<byte> x3) where TTail : struct, ITail
        => TTail.Width == 4 ? Busd(t, Avx2.UnpackLow(x2.AsInt64(), x3.AsInt64()).AsByte(), FourSpread(ref w)) : t;

    /// <summary>Width 4's weights: the quadruplets of channels 0-1 at w twice, then of 2-3 twice (of the 8 channels' there: the rows are padded).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> FourSpread(ref sbyte w) => Avx2.Permute4x64(Vector256.LoadUnsafe(ref w).AsInt64(), TailFourSpread).AsSByte();

    /// <summary>Each row's lanes of the tail, back in channel order, to its accumulator row (<paramref name="row"/> apart).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TailStore<TTail>(Vector256<int> t0, Vector256<int> t1, ref int acc, nuint row) where TTail : struct, ITail
    {
        if (TTail.Width == 4)
        {
            // Quarters 0, 2 (the first row's channels 0-1, 2-3), then 1, 3 (the second row's).
            var a = Avx2.Permute4x64(t0.AsInt64(), 0b11_01_10_00).AsInt32();
            var b = Avx2.Permute4x64(t1.AsInt64(), 0b11_01_10_00).AsInt32();
            a.GetLower().StoreUnsafe(ref acc);
            a.GetUpper().StoreUnsafe(ref acc, row);
            b.GetLower().StoreUnsafe(ref acc, 2 * row);
            b.GetUpper().StoreUnsafe(ref acc, 3 * row);
        }
        else if (TTail.Width == 2)
        {
            // Lanes r and r + 4 (row r's channels 0 and 1) to 64-bit quarter r.
            var pairs = Avx2.PermuteVar8x32(t0, Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsInt64();
            Unsafe.WriteUnaligned(ref Unsafe.As<int, byte>(ref acc), pairs.GetElement(0));
            Unsafe.WriteUnaligned(ref Unsafe.As<int, byte>(ref Unsafe.Add(ref acc, row)), pairs.GetElement(1));
            Unsafe.WriteUnaligned(ref Unsafe.As<int, byte>(ref Unsafe.Add(ref acc, 2 * row)), pairs.GetElement(2));
            Unsafe.WriteUnaligned(ref Unsafe.As<int, byte>(ref Unsafe.Add(ref acc, 3 * row)), pairs.GetElement(3));
        }
    }

    /// <summary>Four rows by 32 channels: 16 accumulators, 4 weight vectors and a broadcast (EVEX registers only).</summary>
    private static void QuadTile4x32<TTail>(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, Vector256<int> tailInit, ref int acc) where TTail : struct, ITail
    {
        var t0 = TailInit<TTail>(tailInit);
        var t1 = t0;
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c03 = i3, c10 = i0, c11 = i1, c12 = i2, c13 = i3;
        Vector256<int> c20 = i0, c21 = i1, c22 = i2, c23 = i3, c30 = i0, c31 = i1, c32 = i2, c33 = i3;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var w2 = Weights(ref w, 64);
                var w3 = Weights(ref w, 96);
                var xa = Quad(ref r0, i);
                c00 = Busd(c00, xa, w0);
                c01 = Busd(c01, xa, w1);
                c02 = Busd(c02, xa, w2);
                c03 = Busd(c03, xa, w3);
                var xb = Quad(ref r1, i);
                c10 = Busd(c10, xb, w0);
                c11 = Busd(c11, xb, w1);
                c12 = Busd(c12, xb, w2);
                c13 = Busd(c13, xb, w3);
                var xc = Quad(ref r2, i);
                c20 = Busd(c20, xc, w0);
                c21 = Busd(c21, xc, w1);
                c22 = Busd(c22, xc, w2);
                c23 = Busd(c23, xc, w3);
                var xd = Quad(ref r3, i);
                c30 = Busd(c30, xd, w0);
                c31 = Busd(c31, xd, w1);
                c32 = Busd(c32, xd, w2);
                c33 = Busd(c33, xd, w3);
                t0 = TailFirst<TTail>(t0, ref Unsafe.Add(ref w, 128), xa, xb, xc, xd);
                t1 = TailSecond<TTail>(t1, ref Unsafe.Add(ref w, 128), xc, xd);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c02.StoreUnsafe(ref acc, 16);
        c03.StoreUnsafe(ref acc, 24);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c12.StoreUnsafe(ref acc, row + 16);
        c13.StoreUnsafe(ref acc, row + 24);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c22.StoreUnsafe(ref acc, 2 * row + 16);
        c23.StoreUnsafe(ref acc, 2 * row + 24);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        c32.StoreUnsafe(ref acc, 3 * row + 16);
        c33.StoreUnsafe(ref acc, 3 * row + 24);
        TailStore<TTail>(t0, t1, ref Unsafe.Add(ref acc, 32), row);
    }

    /// <summary>Four rows by 24 channels: 12 accumulators (EVEX registers only).</summary>
    private static void QuadTile4x24<TTail>(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> tailInit, ref int acc) where TTail : struct, ITail
    {
        var t0 = TailInit<TTail>(tailInit);
        var t1 = t0;
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c10 = i0, c11 = i1, c12 = i2, c20 = i0, c21 = i1, c22 = i2, c30 = i0, c31 = i1, c32 = i2;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var w2 = Weights(ref w, 64);
                var xa = Quad(ref r0, i);
                c00 = Busd(c00, xa, w0);
                c01 = Busd(c01, xa, w1);
                c02 = Busd(c02, xa, w2);
                var xb = Quad(ref r1, i);
                c10 = Busd(c10, xb, w0);
                c11 = Busd(c11, xb, w1);
                c12 = Busd(c12, xb, w2);
                var xc = Quad(ref r2, i);
                c20 = Busd(c20, xc, w0);
                c21 = Busd(c21, xc, w1);
                c22 = Busd(c22, xc, w2);
                var xd = Quad(ref r3, i);
                c30 = Busd(c30, xd, w0);
                c31 = Busd(c31, xd, w1);
                c32 = Busd(c32, xd, w2);
                t0 = TailFirst<TTail>(t0, ref Unsafe.Add(ref w, 96), xa, xb, xc, xd);
                t1 = TailSecond<TTail>(t1, ref Unsafe.Add(ref w, 96), xc, xd);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c02.StoreUnsafe(ref acc, 16);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c12.StoreUnsafe(ref acc, row + 16);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c22.StoreUnsafe(ref acc, 2 * row + 16);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        c32.StoreUnsafe(ref acc, 3 * row + 16);
        TailStore<TTail>(t0, t1, ref Unsafe.Add(ref acc, 24), row);
    }

    private static void QuadTile4x16<TTail>(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> tailInit, ref int acc) where TTail : struct, ITail
    {
        var t0 = TailInit<TTail>(tailInit);
        var t1 = t0;
        Vector256<int> c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1, c30 = i0, c31 = i1;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var xa = Quad(ref r0, i);
                c00 = Busd(c00, xa, w0);
                c01 = Busd(c01, xa, w1);
                var xb = Quad(ref r1, i);
                c10 = Busd(c10, xb, w0);
                c11 = Busd(c11, xb, w1);
                var xc = Quad(ref r2, i);
                c20 = Busd(c20, xc, w0);
                c21 = Busd(c21, xc, w1);
                var xd = Quad(ref r3, i);
                c30 = Busd(c30, xd, w0);
                c31 = Busd(c31, xd, w1);
                t0 = TailFirst<TTail>(t0, ref Unsafe.Add(ref w, 64), xa, xb, xc, xd);
                t1 = TailSecond<TTail>(t1, ref Unsafe.Add(ref w, 64), xc, xd);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        TailStore<TTail>(t0, t1, ref Unsafe.Add(ref acc, 16), row);
    }

    private static void QuadTile4x8<TTail>(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> tailInit, ref int acc) where TTail : struct, ITail
    {
        var t0 = TailInit<TTail>(tailInit);
        var t1 = t0;
        Vector256<int> c0 = i0, c1 = i0, c2 = i0, c3 = i0;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var xa = Quad(ref r0, i);
                var xb = Quad(ref r1, i);
                var xc = Quad(ref r2, i);
                var xd = Quad(ref r3, i);
                c0 = Busd(c0, xa, w0);
                c1 = Busd(c1, xb, w0);
                c2 = Busd(c2, xc, w0);
                c3 = Busd(c3, xd, w0);
                t0 = TailFirst<TTail>(t0, ref Unsafe.Add(ref w, 32), xa, xb, xc, xd);
                t1 = TailSecond<TTail>(t1, ref Unsafe.Add(ref w, 32), xc, xd);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, row);
        c2.StoreUnsafe(ref acc, 2 * row);
        c3.StoreUnsafe(ref acc, 3 * row);
        TailStore<TTail>(t0, t1, ref Unsafe.Add(ref acc, 8), row);
    }
}
