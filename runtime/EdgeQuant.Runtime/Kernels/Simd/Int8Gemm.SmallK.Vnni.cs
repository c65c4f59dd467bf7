using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    /// <summary>
    /// The short-K kernel (K &lt;= 40: 1x1 convolutions and FullyConnected layers with few input channels) with VPDPBUSD
    /// for the products and the exact 16-lane requantization of <see cref="SimdOps512.RightRequantizer"/> (or, per 16-channel
    /// tile where the op's table proves it, the float32 one of <see cref="FloatRequantizer512"/>), for AVX-512
    /// machines with AVX-VNNI. A block of up to 64 rows is staged biased (x XOR 0x80 = x + 128) as bytes, K rounded up to
    /// 4; then for each block of 16 output channels the weights (<see cref="PackedFilter.Quads"/>, 8 channels x 4 taps per
    /// 256-bit vector) are loaded once, and each row takes one 32-bit broadcast and two VPDPBUSD per quadruplet of taps,
    /// starting from <see cref="PackedFilter.InitBiased"/>: the two 8-channel halves are joined into one 512-bit vector,
    /// doubled and requantized in registers. Per 16 outputs of K = 16 that is 4 broadcasts and 8 VPDPBUSD where the
    /// VPMADDWD kernel (<see cref="TryRunSmallKAvx512"/>) takes 8 broadcasts, 8 VPMADDWD and 8 VPADDD. The last 1-8
    /// channels take two rows per 512-bit vector (<see cref="SmallKVnniTile8x2"/>), not one row in a vector of 8; the last
    /// 1-4 at K &lt;= 16 four rows (<see cref="SmallKVnniRest4x4{TQuads, TRq}"/>).
    /// Where AVX-VNNI is missing, <see cref="SimdOps256.DotBusd"/> emulates it exactly (so the kernel is tested on any
    /// AVX-512 machine); the dispatcher takes it only with AVX-VNNI. Returns false (having written nothing) when the case
    /// is not covered: no AVX-512, no <see cref="PackedFilter.Quads"/> of a 1x1 layout, K &gt; 40, fewer than 4 rows, or
    /// requantization parameters outside the exact form's conditions.
    /// </summary>
    internal static bool TryRunSmallKVnni(ref sbyte a, nint aStride, int rows, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride)
    {
        sbyte[]? quads = pf.Quads;
        int k = pf.K;
        if (!Avx512BW.IsSupported || quads is null || pf.QuadRowTaps != k || k == 0 || k > SmallKMaxK || rows < SmallKMinRows
            || multipliers.Length != pf.Cout)
            return false;
        var table = RightRequantTable.Get(ref pf.RightRequant, multipliers, shifts, outputOffset, activationMin, activationMax, pf.MaxAccumulator);
        if (!table.Covered)
            return false;
        var ft = table.FloatForm(pf.ChannelBounds);
        switch ((k + 3) / 4)
        {
            case 1: RunSmallKVnni<QuadCount1>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 2: RunSmallKVnni<QuadCount2>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 3: RunSmallKVnni<QuadCount3>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 4: RunSmallKVnni<QuadCount4>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 5: RunSmallKVnni<QuadCount5>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 6: RunSmallKVnni<QuadCount6>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 7: RunSmallKVnni<QuadCount7>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 8: RunSmallKVnni<QuadCount8>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            case 9: RunSmallKVnni<QuadCount9>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
            default: RunSmallKVnni<QuadCount10>(ref a, aStride, rows, pf, table, ft, activationMin, activationMax, ref output, outStride); break;
        }
        return true;
    }

    /// <summary>
    /// Whether the VPDPBUSD form of the short-K kernel is taken over the VPMADDWD form (with AVX-VNNI). Measured on Zen 5,
    /// 1x1 convolutions over 28x28 pixels (784 rows), both forms alternating in one process (6 December, ninth session,
    /// after the four-rows rest <see cref="SmallKVnniRest4x4{TQuads, TRq}"/>, two groups a step, and blocks of 10 KB):
    /// <list type="bullet">
    /// <item>K a multiple of 4 from 8: the VPDPBUSD form (8→36 2.98 against 3.05 µs, 8→4 0.55 against 0.74, 16→36 4.19
    /// against 4.61, 16→32 3.60 against 3.78), except K = 20 with 1-4 channels past the blocks of 16 (20→20: 3.54 against
    /// 3.41; the four-rows rest needs rows of at most 16 bytes, so the VPDPBUSD form's rest takes two rows a vector there).</item>
    /// <item>K = 4: the VPMADDWD form (4→36 2.25 against 2.38, 4→16 0.90 against 1.00).</item>
    /// <item>K not a multiple of 4, with AVX-512 VBMI (its rows staged by VPERMB, <see cref="StageBiasedBlock"/>): the
    /// VPDPBUSD form (VPDPBUSD against VPMADDWD, which widens such rows one by one: 3→36 3.15 against 4.81, 7→16 1.27
    /// against 2.04, 10→16 1.59 against 2.36, 15→36 3.99 against 5.08, 18→20 3.49 against 4.31, 19→4 1.69 against 2.41).
    /// Without VBMI such rows are staged one by one and the VPMADDWD form is faster up to K = 20 (before VPERMB: 9→16 2.42
    /// against 3.20, 10→16 2.41 against 2.99, 18→16 2.92 against 3.01; 22→36 7.14 against 6.96).</item>
    /// </list>
    /// </summary>
    internal static bool SmallKPrefersVnni(int k, int cout)
    {
        if (k % 4 != 0)
            return Avx512Vbmi.IsSupported || k > 20;
        int rest = cout & 15;
        return k >= 8 && !(rest is >= 1 and <= 4 && k == 20);
    }

    private struct QuadCount1 : IPairCount { public static int Value => 1; }
    private struct QuadCount2 : IPairCount { public static int Value => 2; }
    private struct QuadCount3 : IPairCount { public static int Value => 3; }
    private struct QuadCount4 : IPairCount { public static int Value => 4; }
    private struct QuadCount5 : IPairCount { public static int Value => 5; }
    private struct QuadCount6 : IPairCount { public static int Value => 6; }
    private struct QuadCount7 : IPairCount { public static int Value => 7; }
    private struct QuadCount8 : IPairCount { public static int Value => 8; }
    private struct QuadCount9 : IPairCount { public static int Value => 9; }
    private struct QuadCount10 : IPairCount { public static int Value => 10; }

    /// <summary>
    /// Bytes of staged rows per block of <see cref="RunSmallKVnni{TQuads}"/> (on the stack): 256 rows of K = 40, 640 of K = 16.
    /// Against blocks of 64 rows, on fashion_mobilenetv2's 1x1 layers (two builds alternating in one process): 16→36 on 784
    /// rows 0.970 of the time, 36→20 on 196 rows 0.926, 20→90 on 196 rows 0.965. Every block pays each channel tile's
    /// set-up and the exit of its row loop again. The staged rows stay in L1 while every tile of 16 channels passes over them.
    /// </summary>
    private const int SmallKVnniBlockBytes = 10240;

    [SkipLocalsInit] // every staged byte a stored output depends on is written first (SmallKVnniRest4x4 reads past the rows, and drops what it gets)
    private static void RunSmallKVnni<TQuads>(ref sbyte a, nint aStride, int rows, PackedFilter pf, RightRequantTable table, FloatRequantTable? ft,
        int activationMin, int activationMax, ref sbyte output, nint outStride) where TQuads : struct, IPairCount
    {
        int k = pf.K;
        int k4 = 4 * TQuads.Value; // bytes per staged row
        // The block's rows plus 64 bytes of alignment and 64 that SmallKVnniRest4x4's loads read past the last row.
        Span<byte> staged = stackalloc byte[SmallKVnniBlockBytes + 128];
        ref byte xs = ref SimdOps.Align64(ref MemoryMarshal.GetReference(staged));
        var min = Vector128.Create((sbyte)activationMin);
        var max = Vector128.Create((sbyte)activationMax);
        // Blocks of equal size (a multiple of 4 rows), as few as the budget allows.
        int most = SmallKVnniBlockBytes / k4 & ~3;
        int blocks = (rows + most - 1) / most;
        int block = ((rows + blocks - 1) / blocks + 3) & ~3;
        for (int r0 = 0; r0 < rows; r0 += block)
        {
            int n = System.Math.Min(block, rows - r0);
            StageBiasedBlock(ref Unsafe.Add(ref a, r0 * aStride), aStride, n, ref xs, k, k4);
            VnniChannels<TQuads, ContiguousQuads>(ref xs, new PixelGrid(1, n, k4, 0, 4, outStride, 0), pf, table, ft, min, max,
                ref Unsafe.Add(ref output, r0 * outStride));
        }
    }

    /// <summary>
    /// <see cref="VnniChannels{TQuads, TSource}"/> for one-input-channel convolutions (Conv2D.Cin1.Vnni.cs): pixel quadruplet q
    /// (kernel row q's taps, <paramref name="quads"/> = Kh &lt;= 10 of them) g.QuadStride bytes after quadruplet q - 1.
    /// </summary>
    internal static void VnniChannelsStrided(int quads, ref byte xs, in PixelGrid g, PackedFilter pf, RightRequantTable table, FloatRequantTable? ft,
        Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o)
    {
        switch (quads)
        {
            case 1: VnniChannels<QuadCount1, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 2: VnniChannels<QuadCount2, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 3: VnniChannels<QuadCount3, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 4: VnniChannels<QuadCount4, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 5: VnniChannels<QuadCount5, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 6: VnniChannels<QuadCount6, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 7: VnniChannels<QuadCount7, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 8: VnniChannels<QuadCount8, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            case 9: VnniChannels<QuadCount9, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
            default: VnniChannels<QuadCount10, StridedQuads>(ref xs, g, pf, table, ft, min, max, ref o); break;
        }
    }

    /// <summary>
    /// Every output channel of the pixels of <paramref name="g"/> (their quadruplets staged biased at <paramref name="xs"/>):
    /// blocks of 16 channels while more than 8 remain (the weights and Init are CoutPadded long, the table a multiple of 16),
    /// then the last 1-8 two pixels to a vector (of a GEMM block with K &lt;= 16, the last 1-4 four pixels to a vector).
    /// Shared by the short-K GEMM and the one-input-channel convolution.
    /// </summary>
    private static void VnniChannels<TQuads, TSource>(ref byte xs, in PixelGrid g, PackedFilter pf, RightRequantTable table, FloatRequantTable? ft,
        Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o)
        where TQuads : struct, IPairCount where TSource : struct, IQuadSource
    {
        if (table.ClampsNegatives)
            VnniChannels<TQuads, TSource, Yes>(ref xs, g, pf, table, ft, min, max, ref o);
        else
            VnniChannels<TQuads, TSource, No>(ref xs, g, pf, table, ft, min, max, ref o);
    }

    /// <summary>Whether channels [j, j + channels) take <paramref name="ft"/>'s float form.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TakesFloat(FloatRequantTable? ft, int j, int channels)
        => ft is not null && ft.RangeMode(j, channels) != FloatRequantTable.BlockMode.Exact;

    /// <summary><see cref="VnniChannels{TQuads, TSource}"/> with the requantization's form known (TClamped: without the sign term).</summary>
    private static void VnniChannels<TQuads, TSource, TClamped>(ref byte xs, in PixelGrid g, PackedFilter pf, RightRequantTable table, FloatRequantTable? ft,
        Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o)
        where TQuads : struct, IPairCount where TSource : struct, IQuadSource where TClamped : struct, IFlag
    {
        int cout = pf.Cout, coutP = pf.CoutPadded;
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(pf.Quads!);
        ref int init = ref MemoryMarshal.GetArrayDataReference(pf.InitBiased);
        var perm = SimdOps512.RightRequantizer.HighHalves;
        int j = 0;
        for (; j + 8 < cout; j += 16)
        {
            int channels = System.Math.Min(16, cout - j);
            if (TakesFloat(ft, j, channels))
                SmallKVnniTile16<TQuads, FloatRequantizer512, TSource>(ref xs, g, ref w, coutP, j, ref init, new FloatRequantizer512(ft!, j, doubled: false),
                    min, max, channels, ref Unsafe.Add(ref o, j));
            else
                SmallKVnniTile16<TQuads, ExactRequantizer16<TClamped, Yes>, TSource>(ref xs, g, ref w, coutP, j, ref init,
                    new(new SimdOps512.RightRequantizer(table, j), perm), min, max, channels, ref Unsafe.Add(ref o, j));
        }
        if (j < cout && Rest4Lanes<TQuads, TSource>(cout - j, g))
        {
            if (TakesFloat(ft, j, cout - j))
                SmallKVnniRest4x4<TQuads, FloatRequantizer512>(ref xs, g.Cols, g.ColStep, ref w, coutP, j, ref init, FloatRequantizer512.Four4(ft!, j, doubled: false),
                    min, max, cout - j, ref Unsafe.Add(ref o, j), g.OutPixel);
            else
                SmallKVnniRest4x4<TQuads, ExactRequantizer16<TClamped, Yes>>(ref xs, g.Cols, g.ColStep, ref w, coutP, j, ref init,
                    new(SimdOps512.RightRequantizer.Four4(table, j), perm), min, max, cout - j, ref Unsafe.Add(ref o, j), g.OutPixel);
        }
        else if (j < cout)
        {
            if (TakesFloat(ft, j, cout - j))
                SmallKVnniTile8x2<TQuads, FloatRequantizer512, TSource>(ref xs, g, ref w, coutP, j, ref init, FloatRequantizer512.Twice8(ft!, j, doubled: false),
                    min, max, cout - j, ref Unsafe.Add(ref o, j));
            else
                SmallKVnniTile8x2<TQuads, ExactRequantizer16<TClamped, Yes>, TSource>(ref xs, g, ref w, coutP, j, ref init,
                    new(SimdOps512.RightRequantizer.Twice8(table, j), perm), min, max, cout - j, ref Unsafe.Add(ref o, j));
        }
    }

    /// <summary>
    /// Whether the last <paramref name="channels"/> of a grid go to <see cref="SmallKVnniRest4x4{TQuads, TRq}"/>: 1-4 of
    /// them, K &lt;= 16, the pixels of a GEMM block (one row of staged rows 4 x TQuads bytes apart).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool Rest4Lanes<TQuads, TSource>(int channels, in PixelGrid g) where TQuads : struct, IPairCount where TSource : struct, IQuadSource
        => typeof(TSource) == typeof(ContiguousQuads) && TQuads.Value <= 4 && channels <= 4 && g.Rows == 1 && g.ColStep == 4 * TQuads.Value;

    /// <summary>
    /// Rows [0, n) from <paramref name="a"/> (<paramref name="aStride"/> bytes apart) biased to <paramref name="xs"/>, k4 bytes
    /// apart. Contiguous rows whose staged rows are contiguous too (K a multiple of 4, rows K bytes apart: 1x1 convolutions
    /// with unit strides) take one flat pass of 64 bytes per step, the last step overlapping the one before. Contiguous rows
    /// of another K take one VPERMB per 64 / k4 rows with AVX-512 VBMI (<see cref="SpreadIndices"/>; [k, k4) of a row then
    /// repeat its last byte, which meets zero weights; 15→16 on 784 rows 2.98 → 1.80 µs); else, and for the last rows, row
    /// by row ([k, k4) zero).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void StageBiasedBlock(ref sbyte a, nint aStride, int n, ref byte xs, int k, int k4)
    {
        int total = n * k;
        ref byte f = ref Unsafe.As<sbyte, byte>(ref a);
        var bias = Vector512.Create((byte)0x80);
        if (aStride == k && k == k4 && total >= 64)
        {
            int e = 0;
            for (; e <= total - 64; e += 64)
                (Vector512.LoadUnsafe(ref f, (nuint)e) ^ bias).StoreUnsafe(ref xs, (nuint)e);
            if (e < total)
                (Vector512.LoadUnsafe(ref f, (nuint)(total - 64)) ^ bias).StoreUnsafe(ref xs, (nuint)(total - 64));
            return;
        }
        int i = 0;
        if (aStride == k && Avx512Vbmi.IsSupported && SpreadIndices[k] is { } spread)
        {
            // A step's 64 stored bytes run past its rows into the next step's (rewritten there, or by the rows after the loop);
            // the last step's stay within the staging area's slack. Its 64 loaded bytes stay within the block's rows.
            int per = 64 / k4;
            var index = Vector512.Create(spread);
            for (; i + per <= n && i * k + 64 <= total; i += per)
                (Avx512Vbmi.PermuteVar64x8(Vector512.LoadUnsafe(ref f, (nuint)(i * k)), index) ^ bias).StoreUnsafe(ref xs, (nuint)(i * k4));
        }
        for (; i < n; i++)
            StageBiased(ref Unsafe.Add(ref a, i * aStride), ref Unsafe.Add(ref xs, i * k4), k, k4);
    }

    /// <summary>
    /// For each K up to <see cref="SmallKMaxK"/> not a multiple of 4: the VPERMB indices that take 64 / k4 contiguous rows of
    /// K bytes (from a 64-byte load) to rows k4 = K rounded up to 4 bytes apart; byte c of a row past K takes the row's last
    /// byte. Null for multiples of 4.
    /// </summary>
    private static readonly byte[]?[] SpreadIndices = BuildSpreadIndices();

    private static byte[]?[] BuildSpreadIndices()
    {
        var all = new byte[]?[SmallKMaxK + 1];
        for (int k = 1; k <= SmallKMaxK; k++)
        {
            int k4 = (k + 3) & ~3;
            if (k4 == k)
                continue;
            var index = new byte[64];
            for (int p = 0; p < 64; p++)
                index[p] = (byte)System.Math.Min(63, p / k4 * k + System.Math.Min(p % k4, k - 1));
            all[k] = index;
        }
        return all;
    }

    /// <summary>
    /// The pixels of <paramref name="g"/> by the 16 channels at j (9..16 of them real, <paramref name="channels"/>), two pixels
    /// per step: the weights in registers, per pixel two 8-channel accumulators joined, doubled and requantized in registers.
    /// </summary>
    private static void SmallKVnniTile16<TQuads, TRq, TSource>(ref byte xs, in PixelGrid g, ref sbyte w, int coutP, int j, ref int init,
        TRq rq, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o)
        where TQuads : struct, IPairCount where TRq : struct, IRequantizer16 where TSource : struct, IQuadSource
    {
        nint step = 4 * coutP; // bytes from one quadruplet's weights to the next
        ref sbyte wj = ref Unsafe.Add(ref w, 4 * j);
        var a0 = QuadWeights(ref wj, 0, step); var b0 = QuadWeights(ref wj, 0, step, 32);
        Vector256<sbyte> a1 = default, b1 = default, a2 = default, b2 = default, a3 = default, b3 = default, a4 = default, b4 = default,
            a5 = default, b5 = default, a6 = default, b6 = default, a7 = default, b7 = default, a8 = default, b8 = default, a9 = default, b9 = default;
        if (TQuads.Value > 1) { a1 = QuadWeights(ref wj, 1, step); b1 = QuadWeights(ref wj, 1, step, 32); }
        if (TQuads.Value > 2) { a2 = QuadWeights(ref wj, 2, step); b2 = QuadWeights(ref wj, 2, step, 32); }
        if (TQuads.Value > 3) { a3 = QuadWeights(ref wj, 3, step); b3 = QuadWeights(ref wj, 3, step, 32); }
        if (TQuads.Value > 4) { a4 = QuadWeights(ref wj, 4, step); b4 = QuadWeights(ref wj, 4, step, 32); }
        if (TQuads.Value > 5) { a5 = QuadWeights(ref wj, 5, step); b5 = QuadWeights(ref wj, 5, step, 32); }
        if (TQuads.Value > 6) { a6 = QuadWeights(ref wj, 6, step); b6 = QuadWeights(ref wj, 6, step, 32); }
        if (TQuads.Value > 7) { a7 = QuadWeights(ref wj, 7, step); b7 = QuadWeights(ref wj, 7, step, 32); }
        if (TQuads.Value > 8) { a8 = QuadWeights(ref wj, 8, step); b8 = QuadWeights(ref wj, 8, step, 32); }
        if (TQuads.Value > 9) { a9 = QuadWeights(ref wj, 9, step); b9 = QuadWeights(ref wj, 9, step, 32); }
        var ia = Vector256.LoadUnsafe(ref init, (nuint)j);
        var ib = Vector256.LoadUnsafe(ref init, (nuint)(j + 8));
        bool clamp = min.ToScalar() != sbyte.MinValue || max.ToScalar() != sbyte.MaxValue;
        nint qs = g.QuadStride, colStep = g.ColStep, outPixel = g.OutPixel;
        for (int r = 0; r < g.Rows; r++)
        {
            ref byte x = ref Unsafe.Add(ref xs, r * g.RowStep);
            ref sbyte op = ref Unsafe.Add(ref o, r * g.OutRow);
            int i = 0;
            for (; i + 1 < g.Cols; i += 2)
            {
                ref byte y = ref Unsafe.Add(ref x, colStep);
                var sx = Join(Dot8Vnni<TQuads, TSource>(ref x, qs, ia, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9),
                    Dot8Vnni<TQuads, TSource>(ref x, qs, ib, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9));
                var sy = Join(Dot8Vnni<TQuads, TSource>(ref y, qs, ia, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9),
                    Dot8Vnni<TQuads, TSource>(ref y, qs, ib, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9));
                StoreRowPair(rq, sx, sy, clamp, min, max, channels, ref op, outPixel);
                x = ref Unsafe.Add(ref x, 2 * colStep);
                op = ref Unsafe.Add(ref op, 2 * outPixel);
            }
            if (i < g.Cols)
            {
                var sx = Join(Dot8Vnni<TQuads, TSource>(ref x, qs, ia, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9),
                    Dot8Vnni<TQuads, TSource>(ref x, qs, ib, b0, b1, b2, b3, b4, b5, b6, b7, b8, b9));
                SimdOps512.Store(SimdOps512.NarrowClamp(rq.Apply(sx), min, max), ref op, channels);
            }
        }
    }

    /// <summary>
    /// The last 1-8 channels at j (<paramref name="channels"/> of them real) of the pixels of <paramref name="g"/>, two pixels
    /// of a row per 512-bit vector: lanes 0-7 pixel i, lanes 8-15 pixel i + 1, against the 8 channels' requantization operands
    /// in both halves (<see cref="SimdOps512.RightRequantizer.Twice8"/>). A row's odd last pixel is computed twice and stored once.
    /// </summary>
    private static void SmallKVnniTile8x2<TQuads, TRq, TSource>(ref byte xs, in PixelGrid g, ref sbyte w, int coutP, int j, ref int init,
        TRq rq, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o)
        where TQuads : struct, IPairCount where TRq : struct, IRequantizer16 where TSource : struct, IQuadSource
    {
        nint step = 4 * coutP;
        ref sbyte wj = ref Unsafe.Add(ref w, 4 * j);
        var a0 = QuadWeights(ref wj, 0, step);
        Vector256<sbyte> a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default, a9 = default;
        if (TQuads.Value > 1) a1 = QuadWeights(ref wj, 1, step);
        if (TQuads.Value > 2) a2 = QuadWeights(ref wj, 2, step);
        if (TQuads.Value > 3) a3 = QuadWeights(ref wj, 3, step);
        if (TQuads.Value > 4) a4 = QuadWeights(ref wj, 4, step);
        if (TQuads.Value > 5) a5 = QuadWeights(ref wj, 5, step);
        if (TQuads.Value > 6) a6 = QuadWeights(ref wj, 6, step);
        if (TQuads.Value > 7) a7 = QuadWeights(ref wj, 7, step);
        if (TQuads.Value > 8) a8 = QuadWeights(ref wj, 8, step);
        if (TQuads.Value > 9) a9 = QuadWeights(ref wj, 9, step);
        var ia = Vector256.LoadUnsafe(ref init, (nuint)j);
        nint qs = g.QuadStride, colStep = g.ColStep, outPixel = g.OutPixel;
        for (int r = 0; r < g.Rows; r++)
        {
            ref byte x = ref Unsafe.Add(ref xs, r * g.RowStep);
            ref sbyte op = ref Unsafe.Add(ref o, r * g.OutRow);
            for (int i = 0; i < g.Cols; i += 2)
            {
                bool pair = i + 1 < g.Cols;
                ref byte y = ref pair ? ref Unsafe.Add(ref x, colStep) : ref x;
                var s = Join(Dot8Vnni<TQuads, TSource>(ref x, qs, ia, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9),
                    Dot8Vnni<TQuads, TSource>(ref y, qs, ia, a0, a1, a2, a3, a4, a5, a6, a7, a8, a9));
                var bytes = SimdOps512.NarrowClamp(rq.Apply(s), min, max);
                SimdOps512.StoreHalves(bytes, ref op, ref Unsafe.Add(ref op, outPixel), pair, channels);
                x = ref Unsafe.Add(ref x, 2 * colStep);
                op = ref Unsafe.Add(ref op, 2 * outPixel);
            }
        }
    }

    /// <summary>
    /// The last 1-4 channels at j (<paramref name="channels"/> of them real) of n staged GEMM rows (4 x TQuads &lt;= 16 bytes
    /// apart, <paramref name="rowStep"/>), four rows per 512-bit vector: lane 4i + c is row i of a group of four and channel
    /// j + c. Each 256-bit half takes two rows from one 32-byte load, and quadruplet q of both is one shuffle (dwords q and
    /// TQuads + q, each four times) against a weight register holding the four channels' quadruplet q in both 128-bit
    /// halves: per 16 outputs of K = 16, 2 loads, 8 VPSHUFD (<see cref="Rest4Quad{TQuads}"/>) and 8 VPDPBUSD where <see cref="SmallKVnniTile8x2{TQuads, TRq, TSource}"/>
    /// takes 16 VPDPBUSD for 8 outputs. The requantizer holds the four channels' operands in every 128-bit quarter
    /// (<see cref="SimdOps512.RightRequantizer.Four4"/>) and the narrowed bytes are in row order. Two groups of four rows a
    /// step (two independent chains: the rest of 16→36 on 784 rows 0.74 → 0.59 µs). The rows past n of the last group are
    /// computed from whatever the staging area holds (it has 64 bytes past a full block) and not stored.
    /// </summary>
    private static void SmallKVnniRest4x4<TQuads, TRq>(ref byte xs, int n, nint rowStep, ref sbyte w, int coutP, int j, ref int init,
        TRq rq, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TQuads : struct, IPairCount where TRq : struct, IRequantizer16
    {
        int tq = TQuads.Value;
        nint step = 4 * coutP;
        ref sbyte wj = ref Unsafe.Add(ref w, 4 * j);
        var w0 = Rest4Weights(ref wj, 0);
        Vector256<sbyte> w1 = default, w2 = default, w3 = default;
        if (TQuads.Value > 1) w1 = Rest4Weights(ref wj, step);
        if (TQuads.Value > 2) w2 = Rest4Weights(ref wj, 2 * step);
        if (TQuads.Value > 3) w3 = Rest4Weights(ref wj, 3 * step);
        var start = Vector256.Create(Vector128.LoadUnsafe(ref init, (nuint)j));
        // Lanes 0-3 take the first row's dword q, lanes 4-7 the second row's (TQuads dwords further).
        var q0 = Vector256.Create(0, 0, 0, 0, tq, tq, tq, tq);
        var one = Vector256.Create(1);
        var q1 = q0 + one;
        var q2 = q1 + one;
        var q3 = q2 + one;
        bool clamp = min.ToScalar() != sbyte.MinValue || max.ToScalar() != sbyte.MaxValue;
        int i = 0;
        for (; i + 4 < n; i += 8)
        {
            // Two groups a step, for two independent chains in flight: rows past n of the second are not stored.
            ref byte x = ref Unsafe.Add(ref xs, i * rowStep);
            var b0 = Rest4Group<TQuads, TRq>(ref x, rowStep, start, w0, w1, w2, w3, q0, q1, q2, q3, rq);
            var b1 = Rest4Group<TQuads, TRq>(ref Unsafe.Add(ref x, 4 * rowStep), rowStep, start, w0, w1, w2, w3, q0, q1, q2, q3, rq);
            if (clamp)
            {
                b0 = Vector128.Min(Vector128.Max(b0, min), max);
                b1 = Vector128.Min(Vector128.Max(b1, min), max);
            }
            StoreRest4Rows(b0.AsUInt32(), 4, channels, ref Unsafe.Add(ref o, i * outStride), outStride);
            StoreRest4Rows(b1.AsUInt32(), System.Math.Min(4, n - i - 4), channels, ref Unsafe.Add(ref o, (i + 4) * outStride), outStride);
        }
        if (i < n)
        {
            var b0 = Rest4Group<TQuads, TRq>(ref Unsafe.Add(ref xs, i * rowStep), rowStep, start, w0, w1, w2, w3, q0, q1, q2, q3, rq);
            if (clamp)
                b0 = Vector128.Min(Vector128.Max(b0, min), max);
            StoreRest4Rows(b0.AsUInt32(), n - i, channels, ref Unsafe.Add(ref o, i * outStride), outStride);
        }
    }

    /// <summary>The four rows from <paramref name="x"/> of <see cref="SmallKVnniRest4x4{TQuads, TRq}"/>, requantized and narrowed (row i in dword i).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Rest4Group<TQuads, TRq>(ref byte x, nint rowStep, Vector256<int> start, Vector256<sbyte> w0, Vector256<sbyte> w1,
        Vector256<sbyte> w2, Vector256<sbyte> w3, Vector256<int> q0, Vector256<int> q1, Vector256<int> q2, Vector256<int> q3,
        in TRq rq) where TQuads : struct, IPairCount where TRq : struct, IRequantizer16
    {
        var lo = Vector256.LoadUnsafe(ref x).AsInt32();
        var hi = Vector256.LoadUnsafe(ref Unsafe.Add(ref x, 2 * rowStep)).AsInt32();
        var s0 = Busd(start, Rest4Quad<TQuads>(lo, q0, 0x00), w0);
        var s1 = Busd(start, Rest4Quad<TQuads>(hi, q0, 0x00), w0);
        if (TQuads.Value > 1)
        {
            s0 = Busd(s0, Rest4Quad<TQuads>(lo, q1, 0x55), w1);
            s1 = Busd(s1, Rest4Quad<TQuads>(hi, q1, 0x55), w1);
        }
        if (TQuads.Value > 2)
        {
            s0 = Busd(s0, Rest4Quad<TQuads>(lo, q2, 0xAA), w2);
            s1 = Busd(s1, Rest4Quad<TQuads>(hi, q2, 0xAA), w2);
        }
        if (TQuads.Value > 3)
        {
            s0 = Busd(s0, Rest4Quad<TQuads>(lo, q3, 0xFF), w3);
            s1 = Busd(s1, Rest4Quad<TQuads>(hi, q3, 0xFF), w3);
        }
        return Avx512F.ConvertToVector128SByteWithSaturation(rq.Apply(Join(s0, s1)));
    }

    /// <summary>
    /// Quadruplet q of two staged rows (the 32 bytes from the first, rows 4 x TQuads bytes apart) four times each: with 16
    /// bytes per row each row is a 128-bit half, and VPSHUFD (<paramref name="imm"/> = q x 0x55) picks dword q within the
    /// halves; shorter rows take VPERMD by <paramref name="index"/> (dwords q and TQuads + q), a cross-lane permute that runs
    /// on fewer of Zen 5's pipes (16→4 on 784 rows: 0.84 → 0.81 µs with VPSHUFD).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Rest4Quad<TQuads>(Vector256<int> rows, Vector256<int> index, [ConstantExpected] byte imm) where TQuads : struct, IPairCount
        => (TQuads.Value == 4 ? Avx2.Shuffle(rows, imm) : Avx2.PermuteVar8x32(rows, index)).AsByte();

    /// <summary>The four channels' quadruplet at <paramref name="w"/> + <paramref name="offset"/> (16 bytes) in both 128-bit halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Rest4Weights(ref sbyte w, nint offset)
        => Vector256.Create(Vector128.LoadUnsafe(ref Unsafe.Add(ref w, offset)));

    /// <summary>Two 8-lane accumulators as one 16-lane vector (the exact requantizer doubles it: <see cref="ExactRequantizer16{TClamped, TTwice}"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Join(Vector256<int> low, Vector256<int> high)
        => Avx512F.InsertVector256(low.ToVector512Unsafe(), high, 1);

    /// <summary>The 32 weight bytes (8 channels x 4 taps) of quadruplet q at <paramref name="w"/> + <paramref name="offset"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> QuadWeights(ref sbyte w, int q, nint step, nint offset = 0)
        => Vector256.LoadUnsafe(ref Unsafe.Add(ref w, q * step + offset));

    /// <summary>acc + the TQuads quadruplets of one pixel (TSource: where they are) times the 8 channels' weights, one VPDPBUSD each.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Dot8Vnni<TQuads, TSource>(ref byte x, nint qs, Vector256<int> acc, Vector256<sbyte> w0, Vector256<sbyte> w1, Vector256<sbyte> w2,
        Vector256<sbyte> w3, Vector256<sbyte> w4, Vector256<sbyte> w5, Vector256<sbyte> w6, Vector256<sbyte> w7, Vector256<sbyte> w8,
        Vector256<sbyte> w9) where TQuads : struct, IPairCount where TSource : struct, IQuadSource
    {
        // Two chains (even and odd quadruplets) from 4 up: half the latency of one chain of dependent VPDPBUSD.
        if (TQuads.Value < 4)
        {
            acc = Busd(acc, TSource.Quad(ref x, qs, 0), w0);
            if (TQuads.Value > 1) acc = Busd(acc, TSource.Quad(ref x, qs, 1), w1);
            if (TQuads.Value > 2) acc = Busd(acc, TSource.Quad(ref x, qs, 2), w2);
            return acc;
        }
        var odd = Busd(Vector256<int>.Zero, TSource.Quad(ref x, qs, 1), w1);
        acc = Busd(acc, TSource.Quad(ref x, qs, 0), w0);
        odd = Busd(odd, TSource.Quad(ref x, qs, 3), w3);
        acc = Busd(acc, TSource.Quad(ref x, qs, 2), w2);
        if (TQuads.Value > 4) acc = Busd(acc, TSource.Quad(ref x, qs, 4), w4);
        if (TQuads.Value > 5) odd = Busd(odd, TSource.Quad(ref x, qs, 5), w5);
        if (TQuads.Value > 6) acc = Busd(acc, TSource.Quad(ref x, qs, 6), w6);
        if (TQuads.Value > 7) odd = Busd(odd, TSource.Quad(ref x, qs, 7), w7);
        if (TQuads.Value > 8) acc = Busd(acc, TSource.Quad(ref x, qs, 8), w8);
        if (TQuads.Value > 9) odd = Busd(odd, TSource.Quad(ref x, qs, 9), w9);
        return acc + odd;
    }

    /// <summary>
    /// The pixels a VPDPBUSD tile runs over: <see cref="Rows"/> rows of <see cref="Cols"/> pixels, pixel (r, c)'s quadruplets
    /// at r x RowStep + c x ColStep bytes into the staging (quadruplet q a further q x 4 bytes, or q x QuadStride:
    /// <see cref="IQuadSource"/>), its outputs at r x OutRow + c x OutPixel. A GEMM's block of rows is one row of pixels.
    /// </summary>
    internal readonly struct PixelGrid(int rows, int cols, nint colStep, nint rowStep, nint quadStride, nint outPixel, nint outRow)
    {
        public readonly int Rows = rows, Cols = cols;
        public readonly nint ColStep = colStep, RowStep = rowStep, QuadStride = quadStride, OutPixel = outPixel, OutRow = outRow;
    }

    /// <summary>Where quadruplet q of a pixel is, known to the JIT.</summary>
    internal interface IQuadSource
    {
        static abstract Vector256<byte> Quad(ref byte x, nint quadStride, int q);
    }

    /// <summary>A staged GEMM row: the quadruplets one after another.</summary>
    internal struct ContiguousQuads : IQuadSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Quad(ref byte x, nint quadStride, int q) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, 4 * q))).AsByte();
    }

    /// <summary>A one-channel image: quadruplet q (kernel row q's taps) a staged image row further (quadStride bytes) per q.</summary>
    internal struct StridedQuads : IQuadSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<byte> Quad(ref byte x, nint quadStride, int q) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref x, q * quadStride))).AsByte();
    }
}
