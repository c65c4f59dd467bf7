using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    /// <summary>Largest K of <see cref="TryRunSmallKAvx512"/>: its 20 weight pairs per 16 channels stay in registers.</summary>
    internal const int SmallKMaxK = 40;

    /// <summary>Fewest rows for <see cref="TryRunSmallKAvx512"/>: below, its per-block set-up is not repaid.</summary>
    internal const int SmallKMinRows = 4;

    /// <summary>Rows widened per block: they stay in L1 while every block of 16 channels passes over them.</summary>
    private const int SmallKBlockRows = 64;

    /// <summary>
    /// AVX-512 kernel for short inner products (K &lt;= 40: 1x1 convolutions and FullyConnected layers with few input
    /// channels), where the products are so few per output (16 MACs for K = 16) that the requantization and the
    /// accumulators' round trip through memory cost as much as they do in the tiled kernel. Here a block of up to 64
    /// rows is widened to int16 once; then for each block of 16 output channels the whole weight block
    /// (<see cref="PackedFilter.Pairs"/>, one 512-bit vector per pair of taps) is held in registers, and each row takes
    /// one broadcast and one VPMADDWD per pair of taps, is requantized in registers by the exact 16-lane
    /// <see cref="SimdOps512.RightRequantizer"/> and stored: acc = Init + exact int16 products summed in int32, as the
    /// reference. Returns false (having written nothing) when the case is not covered: no AVX-512, K &gt; 40, fewer
    /// than 4 rows, or requantization parameters outside the exact form's conditions (<see cref="RightRequantTable.Covers"/>).
    /// </summary>
    internal static bool TryRunSmallKAvx512(ref sbyte a, nint aStride, int rows, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride)
    {
        short[]? pairs = pf.Pairs;
        int k = pf.K;
        if (!Avx512BW.IsSupported || pairs is null || k > SmallKMaxK || k == 0 || rows < SmallKMinRows || multipliers.Length != pf.Cout)
            return false;
        var table = RightRequantTable.Get(ref pf.RightRequant, multipliers, shifts, outputOffset, activationMin, activationMax, pf.MaxAccumulator);
        if (!table.Covered)
            return false;
        // Pairs of taps rounded up to an even count (the extra pair has zero weights).
        switch (((k + 1) / 2 + 1) & ~1)
        {
            case 2: RunSmallK<PairCount2>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 4: RunSmallK<PairCount4>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 6: RunSmallK<PairCount6>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 8: RunSmallK<PairCount8>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 10: RunSmallK<PairCount10>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 12: RunSmallK<PairCount12>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 14: RunSmallK<PairCount14>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 16: RunSmallK<PairCount16>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            case 18: RunSmallK<PairCount18>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
            default: RunSmallK<PairCount20>(ref a, aStride, rows, pf, table, activationMin, activationMax, ref output, outStride); break;
        }
        return true;
    }

    /// <summary>A pair count known to the JIT, so that <see cref="RunSmallK{TPairs}"/> is compiled with exactly that many weight registers.</summary>
    private interface IPairCount
    {
        static abstract int Value { get; }
    }

    /// <summary>A flag known to the JIT.</summary>
    private interface IFlag
    {
        static abstract bool Value { get; }
    }

    private struct Yes : IFlag { public static bool Value => true; }
    private struct No : IFlag { public static bool Value => false; }

    private struct PairCount2 : IPairCount { public static int Value => 2; }
    private struct PairCount4 : IPairCount { public static int Value => 4; }
    private struct PairCount6 : IPairCount { public static int Value => 6; }
    private struct PairCount8 : IPairCount { public static int Value => 8; }
    private struct PairCount10 : IPairCount { public static int Value => 10; }
    private struct PairCount12 : IPairCount { public static int Value => 12; }
    private struct PairCount14 : IPairCount { public static int Value => 14; }
    private struct PairCount16 : IPairCount { public static int Value => 16; }
    private struct PairCount18 : IPairCount { public static int Value => 18; }
    private struct PairCount20 : IPairCount { public static int Value => 20; }

    [SkipLocalsInit] // every staged element a row reads is written first (WidenSmall writes at least 2 x TPairs of them)
    private static void RunSmallK<TPairs>(ref sbyte a, nint aStride, int rows, PackedFilter pf, RightRequantTable table,
        int activationMin, int activationMax, ref sbyte output, nint outStride) where TPairs : struct, IPairCount
    {
        int k = pf.K, cout = pf.Cout, coutP = pf.CoutPadded, realPairs = (k + 1) / 2;
        int stride = 2 * TPairs.Value; // int16 elements per staged row
        // The widening stores up to 48 elements per row from its start: the last row's spill needs room.
        Span<short> staged = stackalloc short[SmallKBlockRows * 2 * 20 + 48];
        ref short xs = ref MemoryMarshal.GetReference(staged);
        ref short w = ref MemoryMarshal.GetArrayDataReference(pf.Pairs!);
        ref int init = ref MemoryMarshal.GetArrayDataReference(pf.Init);
        var min = Vector128.Create((sbyte)activationMin);
        var max = Vector128.Create((sbyte)activationMax);
        // The widening reads 16, 32 or 48 bytes from a row's start; rows whose read would pass the last row's end copy first.
        int read = k <= 16 ? 16 : k <= 32 ? 32 : 48;
        for (int r0 = 0; r0 < rows; r0 += SmallKBlockRows)
        {
            int n = System.Math.Min(SmallKBlockRows, rows - r0);
            for (int i = 0; i < n; i++)
            {
                int row = r0 + i;
                WidenSmall(ref Unsafe.Add(ref a, row * aStride), ref Unsafe.Add(ref xs, i * stride), k, read,
                    (rows - 1 - row) * aStride + k >= read);
            }
            ref sbyte o = ref Unsafe.Add(ref output, r0 * outStride);
            int j = 0;
            // Blocks of 16 channels while more than 8 remain (CoutPadded covers all 16), then one of 8.
            for (; j + 8 < cout; j += 16)
            {
                if (table.ClampsNegatives)
                    SmallKTile16<TPairs, Yes>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        System.Math.Min(16, cout - j), ref Unsafe.Add(ref o, j), outStride);
                else
                    SmallKTile16<TPairs, No>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        System.Math.Min(16, cout - j), ref Unsafe.Add(ref o, j), outStride);
            }
            if (j < cout)
                SmallKTile8<TPairs>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                    cout - j, ref Unsafe.Add(ref o, j), outStride);
        }
    }

    /// <summary>
    /// n staged rows by the 16 channels at j (9..16 of them real, <paramref name="channels"/>): the weight block in
    /// TPairs registers, one broadcast and one VPMADDWD per pair and row, requantized and stored in registers.
    /// </summary>
    private static void SmallKTile16<TPairs, TClamped>(ref short xs, int stride, int n, ref short w, int realPairs, int coutP, int j,
        ref int init, RightRequantTable table, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TPairs : struct, IPairCount where TClamped : struct, IFlag
    {
        var w0 = SmallKWeights(ref w, 0, realPairs, coutP, j);
        var w1 = SmallKWeights(ref w, 1, realPairs, coutP, j);
        Vector512<short> w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default, w8 = default, w9 = default,
            w10 = default, w11 = default, w12 = default, w13 = default, w14 = default, w15 = default, w16 = default, w17 = default,
            w18 = default, w19 = default;
        if (TPairs.Value > 2) { w2 = SmallKWeights(ref w, 2, realPairs, coutP, j); w3 = SmallKWeights(ref w, 3, realPairs, coutP, j); }
        if (TPairs.Value > 4) { w4 = SmallKWeights(ref w, 4, realPairs, coutP, j); w5 = SmallKWeights(ref w, 5, realPairs, coutP, j); }
        if (TPairs.Value > 6) { w6 = SmallKWeights(ref w, 6, realPairs, coutP, j); w7 = SmallKWeights(ref w, 7, realPairs, coutP, j); }
        if (TPairs.Value > 8) { w8 = SmallKWeights(ref w, 8, realPairs, coutP, j); w9 = SmallKWeights(ref w, 9, realPairs, coutP, j); }
        if (TPairs.Value > 10) { w10 = SmallKWeights(ref w, 10, realPairs, coutP, j); w11 = SmallKWeights(ref w, 11, realPairs, coutP, j); }
        if (TPairs.Value > 12) { w12 = SmallKWeights(ref w, 12, realPairs, coutP, j); w13 = SmallKWeights(ref w, 13, realPairs, coutP, j); }
        if (TPairs.Value > 14) { w14 = SmallKWeights(ref w, 14, realPairs, coutP, j); w15 = SmallKWeights(ref w, 15, realPairs, coutP, j); }
        if (TPairs.Value > 16) { w16 = SmallKWeights(ref w, 16, realPairs, coutP, j); w17 = SmallKWeights(ref w, 17, realPairs, coutP, j); }
        if (TPairs.Value > 18) { w18 = SmallKWeights(ref w, 18, realPairs, coutP, j); w19 = SmallKWeights(ref w, 19, realPairs, coutP, j); }
        var bias = Vector512.LoadUnsafe(ref init, (nuint)j);
        bias += bias; // the rows are staged doubled: the sums are 2 x the accumulator (SimdOps512 remarks)
        var rq = new SimdOps512.RightRequantizer(table, j);
        for (int i = 0; i < n; i++)
        {
            ref short x = ref Unsafe.Add(ref xs, i * stride);
            // Two chains of sums, so a row's additions are not one serial dependency.
            var s0 = bias + Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 0), w0);
            var s1 = Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 1), w1);
            if (TPairs.Value > 2) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 2), w2); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 3), w3); }
            if (TPairs.Value > 4) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 4), w4); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 5), w5); }
            if (TPairs.Value > 6) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 6), w6); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 7), w7); }
            if (TPairs.Value > 8) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 8), w8); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 9), w9); }
            if (TPairs.Value > 10) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 10), w10); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 11), w11); }
            if (TPairs.Value > 12) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 12), w12); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 13), w13); }
            if (TPairs.Value > 14) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 14), w14); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 15), w15); }
            if (TPairs.Value > 16) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 16), w16); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 17), w17); }
            if (TPairs.Value > 18) { s0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 18), w18); s1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref x, 19), w19); }
            var bytes = SimdOps512.NarrowClamp(TClamped.Value ? rq.ApplyClamped(s0 + s1) : rq.Apply(s0 + s1), min, max);
            if (channels == 16)
                bytes.StoreUnsafe(ref o);
            else
                SimdOps512.Store(bytes, ref o, channels);
            o = ref Unsafe.Add(ref o, outStride);
        }
    }

    /// <summary>As <see cref="SmallKTile16{TPairs, TClamped}"/> for the last 8 channels at j (1..8 of them real): 256-bit vectors.</summary>
    private static void SmallKTile8<TPairs>(ref short xs, int stride, int n, ref short w, int realPairs, int coutP, int j,
        ref int init, RightRequantTable table, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TPairs : struct, IPairCount
    {
        var w0 = SmallKWeights8(ref w, 0, realPairs, coutP, j);
        var w1 = SmallKWeights8(ref w, 1, realPairs, coutP, j);
        Vector256<short> w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default, w8 = default, w9 = default,
            w10 = default, w11 = default, w12 = default, w13 = default, w14 = default, w15 = default, w16 = default, w17 = default,
            w18 = default, w19 = default;
        if (TPairs.Value > 2) { w2 = SmallKWeights8(ref w, 2, realPairs, coutP, j); w3 = SmallKWeights8(ref w, 3, realPairs, coutP, j); }
        if (TPairs.Value > 4) { w4 = SmallKWeights8(ref w, 4, realPairs, coutP, j); w5 = SmallKWeights8(ref w, 5, realPairs, coutP, j); }
        if (TPairs.Value > 6) { w6 = SmallKWeights8(ref w, 6, realPairs, coutP, j); w7 = SmallKWeights8(ref w, 7, realPairs, coutP, j); }
        if (TPairs.Value > 8) { w8 = SmallKWeights8(ref w, 8, realPairs, coutP, j); w9 = SmallKWeights8(ref w, 9, realPairs, coutP, j); }
        if (TPairs.Value > 10) { w10 = SmallKWeights8(ref w, 10, realPairs, coutP, j); w11 = SmallKWeights8(ref w, 11, realPairs, coutP, j); }
        if (TPairs.Value > 12) { w12 = SmallKWeights8(ref w, 12, realPairs, coutP, j); w13 = SmallKWeights8(ref w, 13, realPairs, coutP, j); }
        if (TPairs.Value > 14) { w14 = SmallKWeights8(ref w, 14, realPairs, coutP, j); w15 = SmallKWeights8(ref w, 15, realPairs, coutP, j); }
        if (TPairs.Value > 16) { w16 = SmallKWeights8(ref w, 16, realPairs, coutP, j); w17 = SmallKWeights8(ref w, 17, realPairs, coutP, j); }
        if (TPairs.Value > 18) { w18 = SmallKWeights8(ref w, 18, realPairs, coutP, j); w19 = SmallKWeights8(ref w, 19, realPairs, coutP, j); }
        var bias = Vector256.LoadUnsafe(ref init, (nuint)j);
        bias += bias;
        var rq = new SimdOps512.RightRequantizer256(table, j);
        for (int i = 0; i < n; i++)
        {
            ref short x = ref Unsafe.Add(ref xs, i * stride);
            var s0 = bias + Avx2.MultiplyAddAdjacent(Pair(ref x, 0), w0);
            var s1 = Avx2.MultiplyAddAdjacent(Pair(ref x, 1), w1);
            if (TPairs.Value > 2) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 2), w2); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 3), w3); }
            if (TPairs.Value > 4) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 4), w4); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 5), w5); }
            if (TPairs.Value > 6) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 6), w6); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 7), w7); }
            if (TPairs.Value > 8) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 8), w8); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 9), w9); }
            if (TPairs.Value > 10) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 10), w10); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 11), w11); }
            if (TPairs.Value > 12) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 12), w12); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 13), w13); }
            if (TPairs.Value > 14) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 14), w14); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 15), w15); }
            if (TPairs.Value > 16) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 16), w16); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 17), w17); }
            if (TPairs.Value > 18) { s0 += Avx2.MultiplyAddAdjacent(Pair(ref x, 18), w18); s1 += Avx2.MultiplyAddAdjacent(Pair(ref x, 19), w19); }
            var bytes = Vector128.Min(Vector128.Max(Avx512F.VL.ConvertToVector128SByteWithSaturation(rq.Apply(s0 + s1)), min), max);
            SimdOps512.Store(bytes, ref o, channels);
            o = ref Unsafe.Add(ref o, outStride);
        }
    }

    /// <summary>Pair p's weights of the 16 channels at j (<see cref="PackedFilter.Pairs"/>: [pairs, CoutPadded, 2]); zero past the real pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> SmallKWeights(ref short w, int p, int realPairs, int coutP, int j)
        => p < realPairs ? Vector512.LoadUnsafe(ref w, (nuint)(2 * (p * coutP + j))) : Vector512<short>.Zero;

    /// <summary>Pair p's weights of the 8 channels at j; zero past the real pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> SmallKWeights8(ref short w, int p, int realPairs, int coutP, int j)
        => p < realPairs ? Vector256.LoadUnsafe(ref w, (nuint)(2 * (p * coutP + j))) : Vector256<short>.Zero;

    /// <summary>
    /// Sign-extends a row's k (&lt;= 40) int8 to int16, doubled, at <paramref name="to"/>: 16, 32 or 48 elements (<paramref name="read"/>,
    /// the bytes read), those past k being whatever follows the row (they meet zero weights). Without <paramref name="canRead"/>
    /// (the read would pass the end of the last row) the row is first copied to a buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenSmall(ref sbyte from, ref short to, int k, int read, bool canRead)
    {
        if (!canRead)
        {
            WidenSmallCopy(ref from, ref to, k, read);
            return;
        }
        // Doubled: 2 x int8 fits int16, and the requantization takes 2 x the accumulator (SimdOps512 remarks).
        if (read == 16)
        {
            var v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from));
            (v + v).StoreUnsafe(ref to);
        }
        else
        {
            var v = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref from));
            (v + v).StoreUnsafe(ref to);
            if (read == 48)
            {
                var u = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from, 32));
                (u + u).StoreUnsafe(ref to, 32);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    [SkipLocalsInit]
    private static void WidenSmallCopy(ref sbyte from, ref short to, int k, int read)
    {
        Span<sbyte> copy = stackalloc sbyte[48];
        copy.Clear();
        MemoryMarshal.CreateReadOnlySpan(ref from, k).CopyTo(copy);
        WidenSmall(ref MemoryMarshal.GetReference(copy), ref to, k, read, true);
    }
}
