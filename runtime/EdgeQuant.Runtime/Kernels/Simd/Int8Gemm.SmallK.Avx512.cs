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

    /// <summary>
    /// A requantization of 16 lanes of sums as a tile kernel has them, known to the JIT: the exact form
    /// (<see cref="ExactRequantizer16{TClamped, TTwice}"/>) or the float one where it is proven (<see cref="FloatRequantizer512"/>).
    /// </summary>
    internal interface IRequantizer16
    {
        /// <summary>The 16 lanes' outputs before the clamp (to be narrowed with saturation and clamped as bytes).</summary>
        Vector512<int> Apply(Vector512<int> sums);
    }

    /// <summary>
    /// <see cref="SimdOps512.RightRequantizer"/> as an <see cref="IRequantizer16"/>: TClamped, without the sign term (fused
    /// ReLU); TTwice, the sums are the accumulators and are doubled here (else they are 2x already).
    /// </summary>
    private readonly struct ExactRequantizer16<TClamped, TTwice>(SimdOps512.RightRequantizer rq, Vector512<int> perm) : IRequantizer16
        where TClamped : struct, IFlag where TTwice : struct, IFlag
    {
        private readonly SimdOps512.RightRequantizer _rq = rq;
        private readonly Vector512<int> _perm = perm;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Apply(Vector512<int> sums)
        {
            var d = TTwice.Value ? sums + sums : sums;
            return TClamped.Value ? _rq.ApplyClamped(d, _perm) : _rq.Apply(d, _perm);
        }
    }

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
        // The widening stores up to 48 elements per row from its start, SmallKRest4 reads 32 pairs of a row: the last row's spill needs room.
        Span<short> staged = stackalloc short[SmallKBlockRows * 2 * 20 + 64 + 32];
        ref short xs = ref SimdOps.Align64(ref MemoryMarshal.GetReference(staged)); // 32 elements more: to start at a cache line
        ref short w = ref MemoryMarshal.GetArrayDataReference(pf.Pairs!);
        ref int init = ref MemoryMarshal.GetArrayDataReference(pf.Init);
        var min = Vector128.Create((sbyte)activationMin);
        var max = Vector128.Create((sbyte)activationMax);
        // The widening reads 16, 32 or 48 bytes from a row's start; rows whose read would pass the last row's end copy first.
        int read = k <= 16 ? 16 : k <= 32 ? 32 : 48;
        for (int r0 = 0; r0 < rows; r0 += SmallKBlockRows)
        {
            int n = System.Math.Min(SmallKBlockRows, rows - r0);
            WidenBlock(ref a, aStride, rows, r0, n, ref xs, stride, k, read);
            ref sbyte o = ref Unsafe.Add(ref output, r0 * outStride);
            int j = 0;
            // Blocks of 16 channels while more than 8 remain (CoutPadded covers all 16), then 1-4 channels four rows to a vector
            // or 5-8 in one of 8 lanes.
            for (; j + 8 < cout; j += 16)
            {
                if (table.ClampsNegatives)
                    SmallKTile16<TPairs, Yes>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        System.Math.Min(16, cout - j), ref Unsafe.Add(ref o, j), outStride);
                else
                    SmallKTile16<TPairs, No>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        System.Math.Min(16, cout - j), ref Unsafe.Add(ref o, j), outStride);
            }
            if (j + 4 >= cout && j < cout)
            {
                // 1-4 channels left: four rows per vector, not one row in a vector of 8 (mostly padding).
                if (TPairs.Value <= 8)
                {
                    if (table.ClampsNegatives)
                        SmallKRest4Lanes<TPairs, Yes>(ref xs, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                            cout - j, ref Unsafe.Add(ref o, j), outStride);
                    else
                        SmallKRest4Lanes<TPairs, No>(ref xs, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                            cout - j, ref Unsafe.Add(ref o, j), outStride);
                }
                else if (table.ClampsNegatives)
                    SmallKRest4<TPairs, Yes>(ref xs, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        cout - j, ref Unsafe.Add(ref o, j), outStride);
                else
                    SmallKRest4<TPairs, No>(ref xs, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        cout - j, ref Unsafe.Add(ref o, j), outStride);
            }
            else if (j < cout && TPairs.Value <= 16)
            {
                // 5-8 channels left: two rows per vector.
                if (table.ClampsNegatives)
                    SmallKTile8x2<TPairs, Yes>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        cout - j, ref Unsafe.Add(ref o, j), outStride);
                else
                    SmallKTile8x2<TPairs, No>(ref xs, stride, n, ref w, realPairs, coutP, j, ref init, table, min, max,
                        cout - j, ref Unsafe.Add(ref o, j), outStride);
            }
            else if (j < cout)
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
        if (TClamped.Value)
        {
            // Under a fused ReLU the start values go into the requantizer's constants (SimdOps512 remark 6): one addition less per row.
            rq = rq.WithStart(bias);
            bias = default;
        }
        var perm = SimdOps512.RightRequantizer.HighHalves;
        // The saturating narrowing is the clamp when the bounds are the int8 range (a ReLU6 quantized to [0, 6] is).
        bool clamp = min.ToScalar() != sbyte.MinValue || max.ToScalar() != sbyte.MaxValue;
        int i = 0;
        // Two rows per step: their chains are independent, so the scheduler always has work for every pipe.
        for (; i + 1 < n; i += 2)
        {
            ref short x = ref Unsafe.Add(ref xs, i * stride);
            ref short y = ref Unsafe.Add(ref x, stride);
            var sx = Dot16<TPairs, TClamped, RowPairs>(ref x, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w16, w17, w18, w19);
            var sy = Dot16<TPairs, TClamped, RowPairs>(ref y, bias, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w16, w17, w18, w19);
            StoreRowPair(new ExactRequantizer16<TClamped, No>(rq, perm), sx, sy, clamp, min, max, channels, ref o, outStride);
            o = ref Unsafe.Add(ref o, 2 * outStride);
        }
        if (i < n)
        {
            var sx = Dot16<TPairs, TClamped, RowPairs>(ref Unsafe.Add(ref xs, i * stride), bias, w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w16, w17, w18, w19);
            SimdOps512.Store(SimdOps512.NarrowClamp(TClamped.Value ? rq.ApplyClamped(sx, perm) : rq.Apply(sx, perm), min, max), ref o, channels);
        }
    }

    /// <summary>
    /// Two rows' 16 accumulators (doubled) requantized, narrowed, clamped when the bounds are narrower than int8, and stored
    /// (<paramref name="channels"/> of them) at <paramref name="o"/> and <paramref name="o"/> + <paramref name="next"/>: the
    /// end of both forms' 16-channel tiles.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRowPair<TRq>(in TRq rq, Vector512<int> sx, Vector512<int> sy,
        bool clamp, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint next) where TRq : struct, IRequantizer16
    {
        var bx = Avx512F.ConvertToVector128SByteWithSaturation(rq.Apply(sx));
        var by = Avx512F.ConvertToVector128SByteWithSaturation(rq.Apply(sy));
        if (clamp)
        {
            bx = Vector128.Min(Vector128.Max(bx, min), max);
            by = Vector128.Min(Vector128.Max(by, min), max);
        }
        if (channels == 16)
        {
            bx.StoreUnsafe(ref o);
            by.StoreUnsafe(ref Unsafe.Add(ref o, next));
        }
        else
        {
            SimdOps512.Store(bx, ref o, channels);
            SimdOps512.Store(by, ref Unsafe.Add(ref o, next), channels);
        }
    }

    /// <summary>
    /// The products of one staged row (or, for <see cref="InterleavedPairs"/>, of one group of four interleaved rows) with
    /// the TPairs weight registers (two chains of sums), plus bias unless the requantizer holds it
    /// (<typeparamref name="TFolded"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Dot16<TPairs, TFolded, TSource>(ref short x, Vector512<int> bias, Vector512<short> w0, Vector512<short> w1,
        Vector512<short> w2, Vector512<short> w3, Vector512<short> w4, Vector512<short> w5, Vector512<short> w6, Vector512<short> w7,
        Vector512<short> w8, Vector512<short> w9, Vector512<short> w10, Vector512<short> w11, Vector512<short> w12, Vector512<short> w13,
        Vector512<short> w14, Vector512<short> w15, Vector512<short> w16, Vector512<short> w17, Vector512<short> w18, Vector512<short> w19)
        where TPairs : struct, IPairCount where TFolded : struct, IFlag where TSource : struct, IPairSource
    {
        var s0 = Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 0), w0);
        if (!TFolded.Value)
            s0 += bias;
        var s1 = Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 1), w1);
        if (TPairs.Value > 2) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 2), w2); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 3), w3); }
        if (TPairs.Value > 4) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 4), w4); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 5), w5); }
        if (TPairs.Value > 6) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 6), w6); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 7), w7); }
        if (TPairs.Value > 8) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 8), w8); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 9), w9); }
        if (TPairs.Value > 10) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 10), w10); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 11), w11); }
        if (TPairs.Value > 12) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 12), w12); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 13), w13); }
        if (TPairs.Value > 14) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 14), w14); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 15), w15); }
        if (TPairs.Value > 16) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 16), w16); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 17), w17); }
        if (TPairs.Value > 18) { s0 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 18), w18); s1 += Avx512BW.MultiplyAddAdjacent(TSource.Pair(ref x, 19), w19); }
        return s0 + s1;
    }

    /// <summary>
    /// <see cref="SmallKRest4{TPairs, TClamped}"/> up to 8 pairs (K &lt;= 16): lane 4i + c is row i of a group of four and
    /// channel j + c, so that each 128-bit lane is one row. A group's four staged rows are 4 x TPairs consecutive int32
    /// pairs, two 512-bit loads; one VPERMT2D per four pairs puts row i's pairs 4h..4h+3 in lane i, and pair 4h + k is
    /// a VPSHUFD of that (dword k of each lane): 2 permutes and 8 in-lane shuffles for 8 pairs, where one VPERMT2D per
    /// pair took 8. The weight register holds the four channels' pair in every 128-bit lane, the requantizer the four
    /// channels' operands likewise (<see cref="SimdOps512.RightRequantizer.Four4"/>), and the narrowed bytes are already
    /// in row order. The rows past n of the last group are computed from whatever the staging area holds and not stored.
    /// </summary>
    private static void SmallKRest4Lanes<TPairs, TClamped>(ref short xs, int n, ref short w, int realPairs, int coutP, int j,
        ref int init, RightRequantTable table, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TPairs : struct, IPairCount where TClamped : struct, IFlag
    {
        int tp = TPairs.Value, groups = (n + 3) / 4;
        ref int xd = ref Unsafe.As<short, int>(ref xs); // a staged row: TPairs int32 pairs
        var lanes = Vector512.Create(0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3);
        var w0 = RestWeights(ref w, 0, realPairs, coutP, j, lanes);
        var w1 = RestWeights(ref w, 1, realPairs, coutP, j, lanes);
        Vector512<short> w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default;
        if (TPairs.Value > 2) { w2 = RestWeights(ref w, 2, realPairs, coutP, j, lanes); w3 = RestWeights(ref w, 3, realPairs, coutP, j, lanes); }
        if (TPairs.Value > 4) { w4 = RestWeights(ref w, 4, realPairs, coutP, j, lanes); w5 = RestWeights(ref w, 5, realPairs, coutP, j, lanes); }
        if (TPairs.Value > 6) { w6 = RestWeights(ref w, 6, realPairs, coutP, j, lanes); w7 = RestWeights(ref w, 7, realPairs, coutP, j, lanes); }
        // Lane 4i + k takes row i's pair k (of the four from 4h: the second index vector adds 4).
        var rowsLo = Vector512.Create(0, 1, 2, 3, tp, tp + 1, tp + 2, tp + 3, 2 * tp, 2 * tp + 1, 2 * tp + 2, 2 * tp + 3, 3 * tp, 3 * tp + 1, 3 * tp + 2, 3 * tp + 3);
        var rowsHi = rowsLo + Vector512.Create(4);
        var rq = SimdOps512.RightRequantizer.Four4(table, j);
        var bias = Rest4Bias<TClamped>(ref init, j, lanes, ref rq);
        var perm = SimdOps512.RightRequantizer.HighHalves;
        bool clamp = min.ToScalar() != sbyte.MinValue || max.ToScalar() != sbyte.MaxValue;
        for (int g = 0; g < groups; g++)
        {
            // Rows 4g..4g+3 and what follows them (rows past n hold stale values: their lanes are not stored).
            ref int r0 = ref Unsafe.Add(ref xd, 4 * g * tp);
            var a = Vector512.LoadUnsafe(ref r0);
            var b = Vector512.LoadUnsafe(ref r0, 16);
            var lo = Avx512F.PermuteVar16x32x2(a, rowsLo, b);
            var s0 = Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(lo, 0x00).AsInt16(), w0);
            if (!TClamped.Value)
                s0 += bias;
            var s1 = Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(lo, 0x55).AsInt16(), w1);
            if (TPairs.Value > 2)
            {
                s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(lo, 0xAA).AsInt16(), w2);
                s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(lo, 0xFF).AsInt16(), w3);
            }
            if (TPairs.Value > 4)
            {
                var hi = Avx512F.PermuteVar16x32x2(a, rowsHi, b);
                s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(hi, 0x00).AsInt16(), w4);
                s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(hi, 0x55).AsInt16(), w5);
                if (TPairs.Value > 6)
                {
                    s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(hi, 0xAA).AsInt16(), w6);
                    s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.Shuffle(hi, 0xFF).AsInt16(), w7);
                }
            }
            var sum = s0 + s1;
            var bytes = Avx512F.ConvertToVector128SByteWithSaturation(TClamped.Value ? rq.ApplyClamped(sum, perm) : rq.Apply(sum, perm));
            if (clamp)
                bytes = Vector128.Min(Vector128.Max(bytes, min), max);
            var rowsOut = bytes.AsUInt32(); // byte 4i + c: row i, channel c
            StoreRest4Rows(rowsOut, System.Math.Min(4, n - 4 * g), channels, ref Unsafe.Add(ref o, 4 * g * outStride), outStride);
        }
    }

    /// <summary>
    /// The last 1-4 channels at j (<paramref name="channels"/> of them real) of n staged rows, four rows per 512-bit vector,
    /// from 9 pairs (K &gt; 16; up to 8, <see cref="SmallKRest4Lanes{TPairs, TClamped}"/>): lane 4c + i is channel j + c of
    /// row i of a group of four, against a weight register holding each channel's pair four times. The rows' pairs are
    /// first interleaved through the stack (for each group and pair, the four rows' pairs side by side) and each pair of a
    /// group is one 128-bit broadcast. The requantizer's operands are spread the same way
    /// (<see cref="SimdOps512.RightRequantizer.Spread4"/>), and a byte shuffle turns the 16 results back into four rows.
    /// The rows past n of the last group are computed from whatever the staging area holds and not stored.
    /// </summary>
    [SkipLocalsInit] // every interleaved element a group reads is written first
    private static void SmallKRest4<TPairs, TClamped>(ref short xs, int n, ref short w, int realPairs, int coutP, int j,
        ref int init, RightRequantTable table, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TPairs : struct, IPairCount where TClamped : struct, IFlag
    {
        int tp = TPairs.Value, chunks = tp > 16 ? 2 : 1, groups = (n + 3) / 4;
        // Per group and chunk of 16 pairs: 4 vectors; pair q of a chunk at vector q % 4, 128-bit lane q / 4.
        Span<int> interleaved = stackalloc int[SmallKBlockRows / 4 * 2 * 64];
        ref int t = ref MemoryMarshal.GetReference(interleaved);
        ref int xd = ref Unsafe.As<short, int>(ref xs); // a staged row: TPairs int32 pairs
        for (int g = 0; g < groups; g++)
        {
            for (int c = 0; c < chunks; c++)
            {
                // Rows 4g..4g+3 (those past n hold stale values: their lanes are not stored).
                ref int r0 = ref Unsafe.Add(ref xd, 4 * g * TPairs.Value + 16 * c);
                var a = Vector512.LoadUnsafe(ref r0);
                var b = Vector512.LoadUnsafe(ref r0, (nuint)TPairs.Value);
                var cc = Vector512.LoadUnsafe(ref r0, (nuint)(2 * TPairs.Value));
                var d = Vector512.LoadUnsafe(ref r0, (nuint)(3 * TPairs.Value));
                var abLo = Avx512F.UnpackLow(a, b);
                var abHi = Avx512F.UnpackHigh(a, b);
                var cdLo = Avx512F.UnpackLow(cc, d);
                var cdHi = Avx512F.UnpackHigh(cc, d);
                ref int dst = ref Unsafe.Add(ref t, (g * chunks + c) * 64);
                Avx512F.UnpackLow(abLo.AsInt64(), cdLo.AsInt64()).AsInt32().StoreUnsafe(ref dst);
                Avx512F.UnpackHigh(abLo.AsInt64(), cdLo.AsInt64()).AsInt32().StoreUnsafe(ref dst, 16);
                Avx512F.UnpackLow(abHi.AsInt64(), cdHi.AsInt64()).AsInt32().StoreUnsafe(ref dst, 32);
                Avx512F.UnpackHigh(abHi.AsInt64(), cdHi.AsInt64()).AsInt32().StoreUnsafe(ref dst, 48);
            }
        }
        var spread = Vector512.Create(0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3);
        var w0 = RestWeights(ref w, 0, realPairs, coutP, j, spread);
        var w1 = RestWeights(ref w, 1, realPairs, coutP, j, spread);
        Vector512<short> w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default, w8 = default, w9 = default,
            w10 = default, w11 = default, w12 = default, w13 = default, w14 = default, w15 = default, w16 = default, w17 = default,
            w18 = default, w19 = default;
        if (TPairs.Value > 2) { w2 = RestWeights(ref w, 2, realPairs, coutP, j, spread); w3 = RestWeights(ref w, 3, realPairs, coutP, j, spread); }
        if (TPairs.Value > 4) { w4 = RestWeights(ref w, 4, realPairs, coutP, j, spread); w5 = RestWeights(ref w, 5, realPairs, coutP, j, spread); }
        if (TPairs.Value > 6) { w6 = RestWeights(ref w, 6, realPairs, coutP, j, spread); w7 = RestWeights(ref w, 7, realPairs, coutP, j, spread); }
        if (TPairs.Value > 8) { w8 = RestWeights(ref w, 8, realPairs, coutP, j, spread); w9 = RestWeights(ref w, 9, realPairs, coutP, j, spread); }
        if (TPairs.Value > 10) { w10 = RestWeights(ref w, 10, realPairs, coutP, j, spread); w11 = RestWeights(ref w, 11, realPairs, coutP, j, spread); }
        if (TPairs.Value > 12) { w12 = RestWeights(ref w, 12, realPairs, coutP, j, spread); w13 = RestWeights(ref w, 13, realPairs, coutP, j, spread); }
        if (TPairs.Value > 14) { w14 = RestWeights(ref w, 14, realPairs, coutP, j, spread); w15 = RestWeights(ref w, 15, realPairs, coutP, j, spread); }
        if (TPairs.Value > 16) { w16 = RestWeights(ref w, 16, realPairs, coutP, j, spread); w17 = RestWeights(ref w, 17, realPairs, coutP, j, spread); }
        if (TPairs.Value > 18) { w18 = RestWeights(ref w, 18, realPairs, coutP, j, spread); w19 = RestWeights(ref w, 19, realPairs, coutP, j, spread); }
        var rq = SimdOps512.RightRequantizer.Spread4(table, j);
        var bias = Rest4Bias<TClamped>(ref init, j, spread, ref rq);
        var perm = SimdOps512.RightRequantizer.HighHalves;
        bool clamp = min.ToScalar() != sbyte.MinValue || max.ToScalar() != sbyte.MaxValue;
        // Lane 4c + i to byte 4i + c: the four rows' channels in memory order.
        var toRows = Vector128.Create((byte)0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
        for (int g = 0; g < groups; g++)
        {
            var sum = Dot16<TPairs, TClamped, InterleavedPairs>(ref Unsafe.As<int, short>(ref Unsafe.Add(ref t, g * chunks * 64)), bias,
                w0, w1, w2, w3, w4, w5, w6, w7, w8, w9, w10, w11, w12, w13, w14, w15, w16, w17, w18, w19);
            var bytes = Avx512F.ConvertToVector128SByteWithSaturation(TClamped.Value ? rq.ApplyClamped(sum, perm) : rq.Apply(sum, perm));
            if (clamp)
                bytes = Vector128.Min(Vector128.Max(bytes, min), max);
            var rowsOut = Ssse3.Shuffle(bytes.AsByte(), toRows).AsUInt32();
            StoreRest4Rows(rowsOut, System.Math.Min(4, n - 4 * g), channels, ref Unsafe.Add(ref o, 4 * g * outStride), outStride);
        }
    }

    /// <summary>
    /// The doubled bias of channels j..j+3 laid out as <paramref name="lanes"/> says (lane l takes channel j + lanes[l]), for
    /// the rest kernels. Under ReLU (<typeparamref name="TClamped"/>) it becomes the requantizer's start and the sum's bias is
    /// zero; otherwise <paramref name="rq"/> is left as it is and the bias is added to the sum.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> Rest4Bias<TClamped>(ref int init, int j, Vector512<int> lanes, ref SimdOps512.RightRequantizer rq)
        where TClamped : struct, IFlag
    {
        var bias = Avx512F.PermuteVar16x32(Vector128.LoadUnsafe(ref init, (nuint)j).ToVector256Unsafe().ToVector512Unsafe(), lanes); // Init is CoutPadded long: 4 from j
        bias += bias;
        if (!TClamped.Value)
            return bias;
        rq = rq.WithStart(bias);
        return default;
    }

    /// <summary>
    /// The first <paramref name="live"/> of a group's four rows of 1-4 channels (<paramref name="channels"/>): dword i of
    /// <paramref name="rows"/> is row i's bytes, stored at <paramref name="o"/> + i x <paramref name="outStride"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreRest4Rows(Vector128<uint> rows, int live, int channels, ref sbyte o, nint outStride)
    {
        // Two 64-bit moves to general registers and the rows stored from there: 3 vector instructions where a VPEXTRD
        // per row took 7.
        ulong first = rows.AsUInt64().ToScalar(), second = rows.AsUInt64().GetElement(1);
        SimdOps.StoreBytes((uint)first, ref o, channels);
        if (live > 1) SimdOps.StoreBytes((uint)(first >> 32), ref Unsafe.Add(ref o, outStride), channels);
        if (live > 2) SimdOps.StoreBytes((uint)second, ref Unsafe.Add(ref o, 2 * outStride), channels);
        if (live > 3) SimdOps.StoreBytes((uint)(second >> 32), ref Unsafe.Add(ref o, 3 * outStride), channels);
    }

    /// <summary>Where <see cref="Dot16{TPairs, TFolded, TSource}"/> takes pair p of its operand from, known to the JIT.</summary>
    private interface IPairSource
    {
        static abstract Vector512<short> Pair(ref short x, int p);
    }

    /// <summary>Pair p of one staged row, broadcast to the 16 lanes.</summary>
    private struct RowPairs : IPairSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> Pair(ref short x, int p) => Pair512(ref x, p);
    }

    /// <summary>Pair p of the four rows of a group, interleaved by <see cref="SmallKRest4{TPairs, TClamped}"/>, in each 128-bit lane.</summary>
    /// <remarks>The group is on the stack (stackalloc), so its address does not move.</remarks>
    private struct InterleavedPairs : IPairSource
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static unsafe Vector512<short> Pair(ref short x, int p)
            => Avx512F.BroadcastVector128ToVector512((int*)Unsafe.AsPointer(ref Unsafe.Add(ref Unsafe.As<short, int>(ref x),
                64 * (p >> 4) + 16 * (p & 3) + 4 * ((p & 15) >> 2)))).AsInt16();
    }

    /// <summary>Pair p's weights of the 4 channels at j, each channel's pair in 4 consecutive lanes; zero past the real pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> RestWeights(ref short w, int p, int realPairs, int coutP, int j, Vector512<int> spread)
        => p < realPairs
            ? Avx512F.PermuteVar16x32(Vector128.LoadUnsafe(ref w, (nuint)(2 * (p * coutP + j))).ToVector256Unsafe().ToVector512Unsafe().AsInt32(), spread).AsInt16()
            : Vector512<short>.Zero;

    /// <summary>
    /// The last 8 channels at j (5..8 of them real, <paramref name="channels"/>) of n staged rows, two rows per 512-bit
    /// vector (K &lt;= 32, TPairs &lt;= 16): lanes 0-7 row i, lanes 8-15 row i + 1, against each pair's 8-channel weights in
    /// both halves. Rows i and i + 1 are 2 x TPairs consecutive int32 pairs, two 512-bit loads, and pair q's operand is one
    /// VPERMT2D of them (indices q in the low half, TPairs + q in the high one). The requantization operands are the 8
    /// channels' twice (<see cref="SimdOps512.RightRequantizer.Twice8"/>). An odd last row is computed with whatever follows
    /// it in the staging area (the staged block's spill room) and its second half not stored. Against one row in a vector
    /// of 8 (<see cref="SmallKTile8{TPairs}"/>) this halves the multiplies and requantizations per row.
    /// </summary>
    private static void SmallKTile8x2<TPairs, TClamped>(ref short xs, int stride, int n, ref short w, int realPairs, int coutP, int j,
        ref int init, RightRequantTable table, Vector128<sbyte> min, Vector128<sbyte> max, int channels, ref sbyte o, nint outStride)
        where TPairs : struct, IPairCount where TClamped : struct, IFlag
    {
        var w0 = Twice8Weights(ref w, 0, realPairs, coutP, j);
        var w1 = Twice8Weights(ref w, 1, realPairs, coutP, j);
        Vector512<short> w2 = default, w3 = default, w4 = default, w5 = default, w6 = default, w7 = default, w8 = default, w9 = default,
            w10 = default, w11 = default, w12 = default, w13 = default, w14 = default, w15 = default;
        if (TPairs.Value > 2) { w2 = Twice8Weights(ref w, 2, realPairs, coutP, j); w3 = Twice8Weights(ref w, 3, realPairs, coutP, j); }
        if (TPairs.Value > 4) { w4 = Twice8Weights(ref w, 4, realPairs, coutP, j); w5 = Twice8Weights(ref w, 5, realPairs, coutP, j); }
        if (TPairs.Value > 6) { w6 = Twice8Weights(ref w, 6, realPairs, coutP, j); w7 = Twice8Weights(ref w, 7, realPairs, coutP, j); }
        if (TPairs.Value > 8) { w8 = Twice8Weights(ref w, 8, realPairs, coutP, j); w9 = Twice8Weights(ref w, 9, realPairs, coutP, j); }
        if (TPairs.Value > 10) { w10 = Twice8Weights(ref w, 10, realPairs, coutP, j); w11 = Twice8Weights(ref w, 11, realPairs, coutP, j); }
        if (TPairs.Value > 12) { w12 = Twice8Weights(ref w, 12, realPairs, coutP, j); w13 = Twice8Weights(ref w, 13, realPairs, coutP, j); }
        if (TPairs.Value > 14) { w14 = Twice8Weights(ref w, 14, realPairs, coutP, j); w15 = Twice8Weights(ref w, 15, realPairs, coutP, j); }
        int tp = TPairs.Value;
        // Pair q of row i in lanes 0-7 (int q of the two rows' pairs), of row i + 1 in lanes 8-15 (int TPairs + q).
        var i0 = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, tp, tp, tp, tp, tp, tp, tp, tp);
        var one = Vector512.Create(1);
        Vector512<int> i1 = i0 + one, i2 = default, i3 = default, i4 = default, i5 = default, i6 = default, i7 = default, i8 = default,
            i9 = default, i10 = default, i11 = default, i12 = default, i13 = default, i14 = default, i15 = default;
        if (TPairs.Value > 2) { i2 = i1 + one; i3 = i2 + one; }
        if (TPairs.Value > 4) { i4 = i3 + one; i5 = i4 + one; }
        if (TPairs.Value > 6) { i6 = i5 + one; i7 = i6 + one; }
        if (TPairs.Value > 8) { i8 = i7 + one; i9 = i8 + one; }
        if (TPairs.Value > 10) { i10 = i9 + one; i11 = i10 + one; }
        if (TPairs.Value > 12) { i12 = i11 + one; i13 = i12 + one; }
        if (TPairs.Value > 14) { i14 = i13 + one; i15 = i14 + one; }
        var bias = Avx512F.InsertVector256(Vector256.LoadUnsafe(ref init, (nuint)j).ToVector512Unsafe(), Vector256.LoadUnsafe(ref init, (nuint)j), 1);
        bias += bias;
        var rq = SimdOps512.RightRequantizer.Twice8(table, j);
        if (TClamped.Value)
        {
            rq = rq.WithStart(bias);
            bias = default;
        }
        var perm = SimdOps512.RightRequantizer.HighHalves;
        ref int xd = ref Unsafe.As<short, int>(ref xs);
        for (int i = 0; i < n; i += 2)
        {
            ref int r = ref Unsafe.Add(ref xd, i * tp);
            var a = Vector512.LoadUnsafe(ref r);
            var b = TPairs.Value > 8 ? Vector512.LoadUnsafe(ref r, 16) : a;
            var s0 = Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i0, b).AsInt16(), w0);
            if (!TClamped.Value)
                s0 += bias;
            var s1 = Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i1, b).AsInt16(), w1);
            if (TPairs.Value > 2) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i2, b).AsInt16(), w2); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i3, b).AsInt16(), w3); }
            if (TPairs.Value > 4) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i4, b).AsInt16(), w4); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i5, b).AsInt16(), w5); }
            if (TPairs.Value > 6) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i6, b).AsInt16(), w6); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i7, b).AsInt16(), w7); }
            if (TPairs.Value > 8) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i8, b).AsInt16(), w8); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i9, b).AsInt16(), w9); }
            if (TPairs.Value > 10) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i10, b).AsInt16(), w10); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i11, b).AsInt16(), w11); }
            if (TPairs.Value > 12) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i12, b).AsInt16(), w12); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i13, b).AsInt16(), w13); }
            if (TPairs.Value > 14) { s0 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i14, b).AsInt16(), w14); s1 += Avx512BW.MultiplyAddAdjacent(Avx512F.PermuteVar16x32x2(a, i15, b).AsInt16(), w15); }
            var sum = s0 + s1;
            var bytes = SimdOps512.NarrowClamp(TClamped.Value ? rq.ApplyClamped(sum, perm) : rq.Apply(sum, perm), min, max);
            SimdOps512.StoreHalves(bytes, ref o, ref Unsafe.Add(ref o, outStride), i + 1 < n, channels);
            o = ref Unsafe.Add(ref o, 2 * outStride);
        }
    }

    /// <summary>Pair p's weights of the 8 channels at j in both 256-bit halves; zero past the real pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Twice8Weights(ref short w, int p, int realPairs, int coutP, int j)
    {
        if (p >= realPairs)
            return Vector512<short>.Zero;
        var v = Vector256.LoadUnsafe(ref w, (nuint)(2 * (p * coutP + j)));
        return Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1);
    }

    /// <summary>As <see cref="SmallKTile16{TPairs, TClamped}"/> for the last 8 channels at j (5..8 of them real): 256-bit vectors.</summary>
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
    /// Rows [r0, r0 + n) widened by <see cref="WidenSmall"/> to <paramref name="xs"/>, <paramref name="stride"/> elements apart.
    /// Contiguous rows whose staged rows are contiguous too (K a multiple of 4, rows K bytes apart: 1x1 convolutions with
    /// unit strides, FullyConnected batches) take one flat conversion of the block instead, 32 bytes per step. Row by row
    /// (one 16-byte load, conversion, doubling and store each) the widening took about 1 ns a row in a harness calling
    /// Int8Gemm.Run with fashion_mobilenetv2's 1x1 16→36 shape (6.5 ns a row in all; 5.5 without widening): as much as
    /// half a 16-channel tile. Flat, that layer went 5.0 → 4.2 µs in `bench --per-op` (37% → 46% of the peak).
    /// A method of its own: inlined, the row loop kept its counters on the stack (RunSmallK's many live values).
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void WidenBlock(ref sbyte a, nint aStride, int rows, int r0, int n, ref short xs, int stride, int k, int read)
    {
        // Bytes from a to the end of the last row: a row whose read of `read` bytes would pass it copies first.
        nint end = (rows - 1) * aStride + k;
        if (aStride == k && stride == k)
        {
            // Contiguous rows staged contiguously (K a multiple of 4): one flat conversion of n x k bytes, 32 per step, the
            // last step overlapping the one before.
            int total = n * k;
            if (total >= 32)
            {
                ref sbyte from = ref Unsafe.Add(ref a, r0 * aStride);
                int e = 0;
                for (; e <= total - 32; e += 32)
                {
                    var v = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref from, (nuint)e));
                    (v + v).StoreUnsafe(ref xs, (nuint)e);
                }
                if (e < total)
                {
                    var v = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref from, (nuint)(total - 32)));
                    (v + v).StoreUnsafe(ref xs, (nuint)(total - 32));
                }
                return;
            }
        }
        for (int i = 0; i < n; i++)
        {
            nint at = (r0 + i) * aStride;
            WidenSmall(ref Unsafe.Add(ref a, at), ref Unsafe.Add(ref xs, i * stride), k, read, end - at >= read);
        }
    }

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
