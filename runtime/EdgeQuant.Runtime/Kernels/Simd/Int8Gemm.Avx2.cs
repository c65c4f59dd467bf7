using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryRunPairsAvx2"/>: 4 rows of K up to 2048.</summary>
    private const int PairsStackLimit = 4 * 2048;

    /// <summary>Largest Cout of the channels-in-lanes kernel (its 4 rows of int32 accumulators live on the stack).</summary>
    internal const int MaxPairsChannels = 1024;

    /// <summary>Rows requantized per pass: enough to spread the per-channel set-up, few enough for the accumulators to stay in L1.</summary>
    private const int GemmGroupRows = 8;

    /// <summary>Accumulators (int32) of one row group at most, when more than <see cref="GemmGroupRows"/> rows fit.</summary>
    private const int GemmGroupInts = 4096;

    /// <summary>
    /// AVX2 kernel with output channels in lanes (<see cref="PackedFilter.Pairs"/>, any Cout: the last
    /// group of 8 lanes runs over padding channels of zero weight that are never stored):
    /// a tile's activation rows are widened to int16 on the stack (an odd K gets a zero), each pair
    /// of a row's taps is broadcast as one 32-bit lane and VPMADDWD multiplies it against 8 output
    /// channels' weight pairs: exact int16 products summed in int32, so acc = Init + dot as in the
    /// reference. Tiles of 4 rows x 16 channels share every weight load and need no horizontal sums;
    /// requantization runs 8 channels at a time. Returns false (having written nothing) when not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    private static bool TryRunPairsAvx2(ref sbyte a, nint aStride, int rows, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride)
    {
        short[]? pairs = pf.Pairs;
        if (!Avx2.IsSupported || pairs is null)
            return false;
        int k = pf.K, k2 = (k + 1) & ~1, cout = pf.Cout, coutP = pf.CoutPadded;
        if (4 * k2 > PairsStackLimit || coutP > MaxPairsChannels)
            return false;
        Span<short> staged = stackalloc short[4 * k2];
        // Groups of rows get one requantization pass each: at least 8 rows, more while their accumulators stay within 16 KB.
        int group = System.Math.Min((rows + 3) & ~3, System.Math.Max(GemmGroupRows, GemmGroupInts / coutP & ~3));
        Span<int> accumulators = stackalloc int[group * coutP];
        ref short xs = ref MemoryMarshal.GetReference(staged);
        ref int acc = ref MemoryMarshal.GetReference(accumulators);
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        // Where the exact requantization applies, the rows are staged doubled and the sums start from 2 x Init: the sums are
        // then the doubled accumulators it takes, and it skips one addition per 8 outputs (SimdOps512 remark 4).
        var q = new PairsRequantization(pf, multipliers, shifts, outputOffset, activationMin, activationMax, doubleWhereExact: true);
        bool doubled = q.Doubled;
        // With AVX2 alone (Zen 1: one multiplying pipe bounds a 1-row tile as it bounds a 4-row one, per product) the 1-3
        // rows past the last whole 4-row tile run as 1-row tiles; elsewhere as one more 4-row tile overlapping the one
        // before (see Conv2D's IRowKernel.SinglesUpTo).
        bool singles = !Avx512BW.IsSupported;
        for (int g = 0; g < rows; g += group)
        {
            int n = System.Math.Min(group, rows - g);
            ref sbyte ag = ref Unsafe.Add(ref a, g * aStride);
            if (n < 4 && rows >= 4 && !singles)
            {
                // A last group of fewer than 4 rows takes the 4 last rows instead, recomputing (and storing again,
                // identically) the rows before: a 4-row tile is several times faster per row than the 1-row ones.
                g = rows - 4;
                n = 4;
                ag = ref Unsafe.Add(ref a, g * aStride);
            }
            // The rows in 4-row tiles: all of them, the last tile overlapping the one before, or (singles) the whole tiles
            // only; the rows after those one by one.
            int tiled = singles ? n & ~3 : n < 4 ? 0 : n;
            for (int r = 0; r < tiled; r += 4)
            {
                r = System.Math.Min(r, tiled - 4);
                Widen4(ref Unsafe.Add(ref ag, r * aStride), aStride, ref xs, k, k2, doubled);
                PairsRows(4, ref xs, RowOffsets.Strided(k2), 1, 0, k2 / 2, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
            }
            for (int r = tiled; r < n; r++)
            {
                Widen(ref Unsafe.Add(ref ag, r * aStride), ref xs, k, doubled);
                PairsRows(1, ref xs, RowOffsets.Strided(k2), 1, 0, k2 / 2, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
            }
            q.Store(n, ref acc, coutP, cout, ref Unsafe.Add(ref output, g * outStride), outStride);
        }
        return true;
    }

    /// <summary>
    /// acc[i x Cout + oc] = Init[oc] + dot for rows i in [0, n) (n = 4 or 1), every oc (<paramref name="cout"/>
    /// is the padded channel count, <see cref="PackedFilter.CoutPadded"/>, a multiple of 8):
    /// the channels-in-lanes inner loop shared by the GEMM above and Conv2D's widened-rows path. Row i's
    /// activations start at x, x + xStride.D1, .D2, .D3 (<see cref="RowOffsets"/>) and consist of <paramref name="segments"/> runs of
    /// <paramref name="pairs"/> int16 pairs, segStride apart; the weights are the matching
    /// [segments x pairs, Cout, 2] pairs. <see cref="PairsRequantization.Store"/> then requantizes.
    /// Without AVX-512 the tiles are 16 channels wide; a last 9-12 real channels (Cout = 28, 60, 90 ...) run as
    /// <see cref="Tile4x12"/>, a last 17-20 (Cout = 20, 36, 52 ...) as <see cref="Tile4x20"/>, and a Cout of 1-4 as
    /// <see cref="Tile4x4"/>, their last 4 channels two rows per 256-bit vector: half the multiply-adds of a vector per row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void PairsRows(int n, ref short x, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        in PairsRequantization q, ref int acc)
    {
        int j = 0;
        if (Avx512BW.IsSupported)
        {
            // The AVX-512 machines' tiles first (Int8Gemm.Avx512.cs); the AVX2 tiles take what is left.
            if (n == 4)
            {
                // With AVX-512 the EVEX encoding gives 32 vector registers, so one pass over the pairs can hold 4 rows x 24,
                // 32 or 40 channels in 256-bit accumulators: every broadcast pair then feeds 3-5 weight vectors. Those are
                // kept 256-bit: Zen 4 runs a 512-bit VPMADDWD as two halves and reaches 83-87 GMAC/s with it against 93-95
                // at 256 bits (tools/peak/peak_vpmaddwd.c). A rest of 16 channels takes the 512-bit 4x16 tile
                // (one broadcast per row for all 16; it measured faster for the 16-channel stems), a lone 8 the AVX2 tile below.
                int rest = cout & 31;
                int to32 = rest == 8 ? cout - 40 : cout - rest;
                for (; j < to32; j += 32)
                    Tile4x32Wide(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout,
                        q.Init(j), q.Init(j + 8), q.Init(j + 16), q.Init(j + 24), ref Unsafe.Add(ref acc, j));
                switch (cout - j)
                {
                    case 40:
                        Tile4x40Wide(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout,
                            q.Init(j), q.Init(j + 8), q.Init(j + 16), q.Init(j + 24), q.Init(j + 32), ref Unsafe.Add(ref acc, j));
                        j += 40;
                        break;
                    case 24:
                        Tile4x24Wide(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout,
                            q.Init(j), q.Init(j + 8), q.Init(j + 16), ref Unsafe.Add(ref acc, j));
                        j += 24;
                        break;
                    case 16:
                        Tile4x16Avx512(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init512(j), ref Unsafe.Add(ref acc, j));
                        j += 16;
                        break;
                }
            }
            else
                for (; j <= cout - 32; j += 32)
                    Tile1x32Avx512(ref x, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout,
                        q.Init512(j), q.Init512(j + 16), ref Unsafe.Add(ref acc, j));
        }
        if (n == 4)
        {
            for (; j <= cout - 16; j += 16)
            {
                if (q.Channels - j <= 12)
                {
                    // A last block of 9-12 real channels: 8 + 4 lanes (see Tile4x4).
                    Tile4x12(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), q.Init(j + 8).GetLower(),
                        ref Unsafe.Add(ref acc, j));
                    j = cout;
                    break;
                }
                if (q.Channels - j is > 16 and <= 20)
                {
                    // A last 17-20 real channels (Cout = 20, 36, 52 ...): 16 + 4 lanes in one pass over the pairs.
                    Tile4x20(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), q.Init(j + 8),
                        q.Init(j + 16).GetLower(), ref Unsafe.Add(ref acc, j));
                    j = cout;
                    break;
                }
                Tile4x16(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), q.Init(j + 8), ref Unsafe.Add(ref acc, j));
            }
            if (j < cout && q.Channels - j <= 4)
                Tile4x4(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j).GetLower(), ref Unsafe.Add(ref acc, j));
            else if (j < cout)
                Tile4x8(ref x, xStride, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), ref Unsafe.Add(ref acc, j));
        }
        else
        {
            for (; j <= cout - 16; j += 16)
                Tile1x16(ref x, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), q.Init(j + 8), ref Unsafe.Add(ref acc, j));
            if (j < cout && q.Channels - j <= 4)
                Tile1x4(ref x, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j).GetLower(), ref Unsafe.Add(ref acc, j));
            else if (j < cout)
                Tile1x8(ref x, segments, segStride, pairs, ref Unsafe.Add(ref w, 2 * j), cout, q.Init(j), ref Unsafe.Add(ref acc, j));
        }
    }

    /// <summary>The per-call requantization operands (constant per op; vectors loaded per 8 channels).</summary>
    internal readonly ref struct PairsRequantization(int[] init, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputOffset, int activationMin, int activationMax)
    {
        private readonly ref int _init = ref MemoryMarshal.GetArrayDataReference(init);
        private readonly ref int _m = ref MemoryMarshal.GetReference(multipliers);
        private readonly ref int _s = ref MemoryMarshal.GetReference(shifts);
        /// <summary>The op's output channels: the filter's (the accumulator rows are padded past them), else the multipliers'.</summary>
        public int Channels { get; } = multipliers.Length;

        private readonly Vector256<int> _off = Vector256.Create(outputOffset);
        private readonly Vector256<int> _min = Vector256.Create(activationMin);
        private readonly Vector256<int> _max = Vector256.Create(activationMax);

        /// <summary>The op's exact single-rounding table (<see cref="SimdOps512"/>) when it covers every channel, else null.</summary>
        private readonly RightRequantTable? _exact;

        /// <summary>With AVX2 and FMA alone: the op's float form (<see cref="FloatRequant"/>) where it is proven for a block, else null.</summary>
        private readonly FloatRequantTable? _float;

        /// <summary>
        /// As the primary constructor, for the filter <paramref name="pf"/>: where its accumulator bound and these parameters
        /// meet the conditions of the exact single-rounding form (<see cref="RightRequantTable.Covers"/>), <see cref="Store"/> takes it.
        /// </summary>
        /// <remarks><paramref name="biased"/>: the accumulators start from <see cref="PackedFilter.InitBiased"/> (the VNNI kernels,
        /// whose activations enter as x + 128); they end at the same values, so the requantization is the same.</remarks>
        public PairsRequantization(PackedFilter pf, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
            int outputOffset, int activationMin, int activationMax, bool biased = false, bool doubleWhereExact = false)
            : this(biased ? pf.InitBiased : pf.Init, multipliers, shifts, outputOffset, activationMin, activationMax)
        {
            Channels = pf.Cout;
            if (multipliers.Length == pf.Cout)
            {
                var t = RightRequantTable.Get(ref pf.RightRequant, multipliers, shifts, outputOffset, activationMin, activationMax, pf.MaxAccumulator);
                _exact = t.Covered ? t : null;
                // The AVX2 store only: on Zen 5 the AVX-512 store measured slower through the float form (fashion_mobilenet's
                // 7x7 64→64 layers 1.08-1.11x in one process against the exact form, 7 December), where the short-K and
                // one-input-channel VPDPBUSD kernels, which requantize in registers, gain (Int8Gemm.SmallK.Vnni.cs).
                if (!Avx512BW.IsSupported)
                    _float = _exact?.FloatForm(pf.ChannelBounds);
            }
            if (doubleWhereExact && !biased && _exact is not null && pf.InitDoubled is not null)
            {
                _init = ref MemoryMarshal.GetArrayDataReference(pf.InitDoubled);
                Doubled = true;
            }
        }

        /// <summary>
        /// Whether the sums start from <see cref="PackedFilter.InitDoubled"/> and so, with rows staged doubled, are 2 x the
        /// accumulators, which the exact form takes as they are (asked for by <c>doubleWhereExact</c>; only with the exact form).
        /// </summary>
        public bool Doubled { get; }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Init(int j) => Vector256.LoadUnsafe(ref _init, (nuint)j);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector512<int> Init512(int j) => Vector512.LoadUnsafe(ref _init, (nuint)j);

        /// <summary>
        /// output[i x outStride + oc] = requantized acc[i x accStride + oc] for i in [0, n), oc in [0, cout):
        /// 8 channels at a time, their shifts and rounding mask derived once for the n rows (kept apart
        /// from the accumulating tiles so neither runs short of registers). A last group of fewer than 8
        /// channels (the accumulators are padded to 8) takes its multipliers and shifts from a padded
        /// copy and stores only its real channels. Where the 8 channels need neither a
        /// left shift nor the saturation fix-up (no multiplier is int.MinValue) and the activation
        /// bounds are int8, two rows at a time take <see cref="SimdOps256.MultiplyByQuantizedMultiplierRightShift"/>,
        /// narrow with saturation and clamp as bytes: clamping then narrowing equals narrowing then
        /// clamping when the bounds lie within int8.
        /// </summary>
        [SkipLocalsInit]
        public void Store(int n, ref int acc, int accStride, int cout, ref sbyte output, nint outStride)
        {
            if (_exact is not null)
            {
                StoreExact(_exact, n, ref acc, accStride, cout, ref output, outStride);
                return;
            }
            int full = cout & ~7;
            for (int j = 0; j < full; j += 8)
                StoreBlock(n, ref Unsafe.Add(ref acc, j), accStride, Vector256.LoadUnsafe(ref _m, (nuint)j), Vector256.LoadUnsafe(ref _s, (nuint)j),
                    8, ref Unsafe.Add(ref output, j), outStride);
            if (full < cout)
            {
                // The channel tail in-vector: multipliers and shifts of the real channels, zeros in the padding lanes.
                int tail = cout - full;
                Span<int> ms = stackalloc int[16];
                ms.Clear();
                for (int c = 0; c < tail; c++)
                {
                    ms[c] = Unsafe.Add(ref _m, full + c);
                    ms[8 + c] = Unsafe.Add(ref _s, full + c);
                }
                StoreBlock(n, ref Unsafe.Add(ref acc, full), accStride, Vector256.Create((ReadOnlySpan<int>)ms.Slice(0, 8)),
                    Vector256.Create((ReadOnlySpan<int>)ms.Slice(8, 8)), tail, ref Unsafe.Add(ref output, full), outStride);
            }
        }

        /// <summary>
        /// <see cref="Store"/> through the exact single-rounding form (<see cref="SimdOps512"/>; the accumulators doubled in
        /// registers unless the sums already are): with AVX-512, 16 channels per step while more than 8 remain (the padded accumulator rows hold them), then 8;
        /// with AVX2 alone, 8 channels of two rows per step, narrowed together.
        /// </summary>
        private void StoreExact(RightRequantTable t, int n, ref int acc, int accStride, int cout, ref sbyte output, nint outStride)
        {
            var min8 = Vector128.Create((sbyte)_min.ToScalar());
            var max8 = Vector128.Create((sbyte)_max.ToScalar());
            int j = 0;
            if (Avx512BW.IsSupported)
            {
                for (; j + 8 < cout; j += 16)
                {
                    var rq = new SimdOps512.RightRequantizer(t, j);
                    int channels = System.Math.Min(16, cout - j);
                    ref int a = ref Unsafe.Add(ref acc, j);
                    ref sbyte o = ref Unsafe.Add(ref output, j);
                    for (int i = 0; i < n; i++)
                    {
                        var v = Vector512.LoadUnsafe(ref a);
                        SimdOps512.Store(SimdOps512.NarrowClamp(rq.Apply(Doubled ? v : v + v), min8, max8), ref o, channels);
                        a = ref Unsafe.Add(ref a, accStride);
                        o = ref Unsafe.Add(ref o, outStride);
                    }
                }
                if (j < cout)
                {
                    var rq = new SimdOps512.RightRequantizer256(t, j);
                    ref int a = ref Unsafe.Add(ref acc, j);
                    ref sbyte o = ref Unsafe.Add(ref output, j);
                    for (int i = 0; i < n; i++)
                    {
                        var v = Vector256.LoadUnsafe(ref a);
                        var bytes = Vector128.Min(Vector128.Max(Avx512F.VL.ConvertToVector128SByteWithSaturation(rq.Apply(Doubled ? v : v + v)), min8), max8);
                        SimdOps512.Store(bytes, ref o, cout - j);
                        a = ref Unsafe.Add(ref a, accStride);
                        o = ref Unsafe.Add(ref o, outStride);
                    }
                }
                return;
            }
            var min = Vector256.Create(min8, min8);
            var max = Vector256.Create(max8, max8);
            bool clamped = t.ClampsNegatives; // the sign term dropped under a fused ReLU (SimdOps512 remark 5)
            bool doubled = Doubled;
            for (; j < cout; j += 8)
            {
                if (cout - j <= 4)
                {
                    StoreExactRest4(t, n, ref Unsafe.Add(ref acc, j), accStride, j, cout - j, doubled, min8, max8, ref Unsafe.Add(ref output, j), outStride);
                    break;
                }
                int channels = System.Math.Min(8, cout - j);
                ref int a = ref Unsafe.Add(ref acc, j);
                ref sbyte o = ref Unsafe.Add(ref output, j);
                if (_float is { } ft && ft.Mode[j >> 3] != FloatRequantTable.BlockMode.Exact)
                {
                    StoreFloat(new FloatRequantizer256(ft, j, doubled), n, ref a, accStride, channels, min, max, ref o, outStride);
                    continue;
                }
                var rq = new SimdOps512.RightRequantizer256(t, j);
                // Four rows at a time (Narrow4: no cross-lane VPERMD, slow where 256-bit operations are split in two, as on
                // Zen 1). Whole steps of 8 channels store each row's 8 bytes straight from the vectors (no move to a general
                // register per row); in a last step of 1-3 rows the missing ones read the last real row and are not stored.
                int i = 0;
                if (channels == 8)
                    for (; i <= n - 4; i += 4)
                    {
                        Narrow4(rq, clamped, doubled, Vector256.LoadUnsafe(ref a), Vector256.LoadUnsafe(ref Unsafe.Add(ref a, accStride)),
                            Vector256.LoadUnsafe(ref Unsafe.Add(ref a, 2 * accStride)), Vector256.LoadUnsafe(ref Unsafe.Add(ref a, 3 * accStride)),
                            min, max, out var r01, out var r23);
                        SimdOps.StoreFour8(r01, r23, ref o, outStride);
                        a = ref Unsafe.Add(ref a, 4 * accStride);
                        o = ref Unsafe.Add(ref o, 4 * outStride);
                    }
                for (; i < n; i += 4)
                {
                    int rows = System.Math.Min(4, n - i);
                    Narrow4(rq, clamped, doubled, Vector256.LoadUnsafe(ref a),
                        Vector256.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(1, rows - 1) * accStride)),
                        Vector256.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(2, rows - 1) * accStride)),
                        Vector256.LoadUnsafe(ref Unsafe.Add(ref a, (rows - 1) * accStride)), min, max, out var r01, out var r23);
                    PutRows(ref o, outStride, r01, r23, rows, channels);
                    a = ref Unsafe.Add(ref a, 4 * accStride);
                    o = ref Unsafe.Add(ref o, 4 * outStride);
                }
            }
        }

        /// <summary>
        /// <see cref="StoreExact"/>'s loop over rows for one block of 8 channels through the float form (<see cref="FloatRequant"/>:
        /// proven equal to the exact one for every accumulator the block's channels can reach).
        /// </summary>
        private static void StoreFloat(in FloatRequantizer256 fq, int n, ref int a, int accStride, int channels,
            Vector256<sbyte> min, Vector256<sbyte> max, ref sbyte o, nint outStride)
        {
            int i = 0;
            if (channels == 8)
                for (; i <= n - 4; i += 4)
                {
                    var w01 = Avx2.PackSignedSaturate(fq.Apply(Vector256.LoadUnsafe(ref a)), fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, accStride))));
                    var w23 = Avx2.PackSignedSaturate(fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, 2 * accStride))),
                        fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, 3 * accStride))));
                    Unpack4(Vector256.Min(Vector256.Max(Avx2.PackSignedSaturate(w01, w23), min), max).AsInt32(), out var r01, out var r23);
                    SimdOps.StoreFour8(r01, r23, ref o, outStride);
                    a = ref Unsafe.Add(ref a, 4 * accStride);
                    o = ref Unsafe.Add(ref o, 4 * outStride);
                }
            for (; i < n; i += 4)
            {
                int rows = System.Math.Min(4, n - i);
                var w01 = Avx2.PackSignedSaturate(fq.Apply(Vector256.LoadUnsafe(ref a)),
                    fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(1, rows - 1) * accStride))));
                var w23 = Avx2.PackSignedSaturate(fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(2, rows - 1) * accStride))),
                    fq.Apply(Vector256.LoadUnsafe(ref Unsafe.Add(ref a, (rows - 1) * accStride))));
                Unpack4(Vector256.Min(Vector256.Max(Avx2.PackSignedSaturate(w01, w23), min), max).AsInt32(), out var r01, out var r23);
                PutRows(ref o, outStride, r01, r23, rows, channels);
                a = ref Unsafe.Add(ref a, 4 * accStride);
                o = ref Unsafe.Add(ref o, 4 * outStride);
            }
        }

        /// <summary>The first <paramref name="rows"/> (1-4) rows' <paramref name="channels"/> bytes of <see cref="Unpack4"/>'s output, outStride apart.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void PutRows(ref sbyte o, nint outStride, Vector128<long> r01, Vector128<long> r23, int rows, int channels)
        {
            Put(ref o, r01.ToScalar(), channels);
            if (rows > 1)
                Put(ref Unsafe.Add(ref o, outStride), r01.GetElement(1), channels);
            if (rows > 2)
                Put(ref Unsafe.Add(ref o, 2 * outStride), r23.ToScalar(), channels);
            if (rows > 3)
                Put(ref Unsafe.Add(ref o, 3 * outStride), r23.GetElement(1), channels);
        }

        /// <summary>The two packs' bytes (each 128-bit lane four channels of the four rows) in row order, as in <see cref="Narrow4"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Unpack4(Vector256<int> bytes, out Vector128<long> r01, out Vector128<long> r23)
        {
            var low = bytes.GetLower();
            var high = bytes.GetUpper();
            r01 = Sse2.UnpackLow(low, high).AsInt64();
            r23 = Sse2.UnpackHigh(low, high).AsInt64();
        }

        /// <summary>
        /// Four rows' accumulators of 8 channels (doubled here unless <paramref name="doubled"/>) requantized, clamped and
        /// narrowed: the two packs leave each 128-bit lane holding four channels of the four rows, which two dword unpacks of
        /// the halves put in row order (<paramref name="r01"/>: rows 0 and 1, <paramref name="r23"/>: rows 2 and 3).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Narrow4(in SimdOps512.RightRequantizer256 rq, bool clamped, bool doubled, Vector256<int> v0, Vector256<int> v1,
            Vector256<int> v2, Vector256<int> v3, Vector256<sbyte> min, Vector256<sbyte> max, out Vector128<long> r01, out Vector128<long> r23)
        {
            if (!doubled)
            {
                v0 += v0;
                v1 += v1;
                v2 += v2;
                v3 += v3;
            }
            var w01 = Avx2.PackSignedSaturate(rq.Apply(v0, clamped), rq.Apply(v1, clamped));
            var w23 = Avx2.PackSignedSaturate(rq.Apply(v2, clamped), rq.Apply(v3, clamped));
            Unpack4(Vector256.Min(Vector256.Max(Avx2.PackSignedSaturate(w01, w23), min), max).AsInt32(), out r01, out r23);
        }

        /// <summary>
        /// The last 1-4 channels (at j) of <see cref="StoreExact"/>, two rows per 256-bit vector (rows 0 and 1 in one, 2 and 3
        /// in the other; <see cref="SimdOps512.RightRequantizer128.Twice"/>): half the requantizations of a 128-bit vector per
        /// row. The two packs leave the four rows' 4 bytes in the order 0, 2, 1, 3 (rows past n read the last real row and
        /// are not stored).
        /// </summary>
        private static void StoreExactRest4(RightRequantTable t, int n, ref int a, int accStride, int j, int channels, bool doubled,
            Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint outStride)
        {
            var rq = new SimdOps512.RightRequantizer128(t, j).Twice();
            bool clamped = t.ClampsNegatives; // the sign term dropped under a fused ReLU (SimdOps512 remark 5)
            for (int i = 0; i < n; i += 4)
            {
                int rows = System.Math.Min(4, n - i);
                var v01 = Vector256.Create(Vector128.LoadUnsafe(ref a),
                    Vector128.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(1, rows - 1) * accStride)));
                var v23 = Vector256.Create(Vector128.LoadUnsafe(ref Unsafe.Add(ref a, System.Math.Min(2, rows - 1) * accStride)),
                    Vector128.LoadUnsafe(ref Unsafe.Add(ref a, (rows - 1) * accStride)));
                if (!doubled)
                {
                    v01 += v01;
                    v23 += v23;
                }
                var w = Avx2.PackSignedSaturate(rq.Apply(v01, clamped), rq.Apply(v23, clamped));
                var bytes = Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(w.GetLower(), w.GetUpper()), min), max).AsInt32();
                Put(ref o, (uint)bytes.ToScalar(), channels);
                if (rows > 1)
                    Put(ref Unsafe.Add(ref o, outStride), (uint)bytes.GetElement(2), channels);
                if (rows > 2)
                    Put(ref Unsafe.Add(ref o, 2 * outStride), (uint)bytes.GetElement(1), channels);
                if (rows > 3)
                    Put(ref Unsafe.Add(ref o, 3 * outStride), (uint)bytes.GetElement(3), channels);
                a = ref Unsafe.Add(ref a, 4 * accStride);
                o = ref Unsafe.Add(ref o, 4 * outStride);
            }
        }

        /// <summary>One block of 8 accumulator lanes of n rows, of which the first <paramref name="channels"/> (1..8) are stored.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void StoreBlock(int n, ref int acc, int accStride, Vector256<int> m, Vector256<int> shift, int channels, ref sbyte output, nint outStride)
        {
            int i = 0;
            if (_min.ToScalar() >= -128 && _max.ToScalar() <= 127 && _min.ToScalar() <= _max.ToScalar()
                && Vector256.LessThanOrEqualAll(shift, Vector256<int>.Zero) && !Vector256.EqualsAny(m, Vector256.Create(int.MinValue)))
            {
                var min8 = Vector256.Create((sbyte)_min.ToScalar());
                var max8 = Vector256.Create((sbyte)_max.ToScalar());
                var order = Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7);
                var right = -shift;
                var mask = Avx2.ShiftLeftLogicalVariable(Vector256<int>.One, right.AsUInt32()) - Vector256<int>.One;
                var mOdd = Avx2.ShiftRightLogical(m.AsInt64(), 32).AsInt32();
                for (; i <= n - 2; i += 2)
                {
                    var a = SimdOps256.MultiplyByQuantizedMultiplierRightShift(Vector256.LoadUnsafe(ref acc, (nuint)(i * accStride)), m, mOdd, right, mask) + _off;
                    var b = SimdOps256.MultiplyByQuantizedMultiplierRightShift(Vector256.LoadUnsafe(ref acc, (nuint)((i + 1) * accStride)), m, mOdd, right, mask) + _off;
                    var w = Avx2.PackSignedSaturate(a, b);
                    var bytes = Vector256.Min(Vector256.Max(Avx2.PackSignedSaturate(w, w), min8), max8);
                    var pair = Avx2.PermuteVar8x32(bytes.AsInt32(), order).AsInt64().GetLower();
                    Put(ref Unsafe.Add(ref output, i * outStride), pair.ToScalar(), channels);
                    Put(ref Unsafe.Add(ref output, (i + 1) * outStride), pair.GetElement(1), channels);
                }
            }
            if (i < n)
            {
                var r = new SimdOps256.Requantizer(m, shift);
                for (; i < n; i++)
                    Put(ref Unsafe.Add(ref output, i * outStride), SimdOps256.Pack8(r.ApplyClamp(Vector256.LoadUnsafe(ref acc, (nuint)(i * accStride)), _off, _min, _max)), channels);
            }
        }

        /// <summary>The low <paramref name="channels"/> bytes of <paramref name="bytes"/> at o: one 8-byte store, or 4/2/1-byte pieces for a tail.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Put(ref sbyte o, long bytes, int channels)
        {
            ref byte b = ref Unsafe.As<sbyte, byte>(ref o);
            if (channels == 8)
            {
                Unsafe.WriteUnaligned(ref b, bytes);
                return;
            }
            if ((channels & 4) != 0)
            {
                Unsafe.WriteUnaligned(ref b, (int)bytes);
                b = ref Unsafe.Add(ref b, 4);
                bytes >>= 32;
            }
            SimdOps.StoreBytes((uint)bytes, ref Unsafe.As<byte, sbyte>(ref b), channels & 3);
        }
    }

    /// <summary>Row from (k int8) as int16 at to (times 2 when <paramref name="doubled"/>: |2 x int8| &lt;= 256 fits), an odd k padded with a 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen(ref sbyte from, ref short to, int k, bool doubled = false)
    {
        int i = 0;
        for (; i <= k - 16; i += 16)
            Widen16(ref from, ref to, i, doubled);
        if (i < k && k >= 16)
        {
            // The last 16 bytes again, overlapping what is done (the same values): no byte loop for a K such as 90 or 150.
            Widen16(ref from, ref to, k - 16, doubled);
            i = k;
        }
        for (; i < k; i++)
            Unsafe.Add(ref to, i) = (short)(doubled ? 2 * Unsafe.Add(ref from, i) : Unsafe.Add(ref from, i));
        if ((k & 1) != 0)
            Unsafe.Add(ref to, k) = 0;
    }

    /// <summary>
    /// Four rows (<paramref name="stride"/> apart) widened as <see cref="Widen"/> to <paramref name="to"/>, k2 apart: for K of
    /// 16 or more, 16 columns of all four rows per step (the last step overlapping the one before where K is not a multiple
    /// of 16), with the doubling decided once: per row and with the choice in the loop, this took a fifth of a K = 16 layer's
    /// tile time in loop control (Zen 3, fashion_mobilenetv2 op 1, sampled in the JIT's disassembly).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen4(ref sbyte from, nint stride, ref short to, int k, int k2, bool doubled)
    {
        if (k < 16)
        {
            for (int i = 0; i < 4; i++)
                Widen(ref Unsafe.Add(ref from, i * stride), ref Unsafe.Add(ref to, i * k2), k, doubled);
            return;
        }
        if (doubled)
            Rows(ref from, stride, ref to, k, k2, true);
        else
            Rows(ref from, stride, ref to, k, k2, false);
        if ((k & 1) != 0)
            for (int i = 0; i < 4; i++)
                Unsafe.Add(ref to, i * k2 + k) = 0;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Rows(ref sbyte from, nint stride, ref short to, int k, nint k2, bool doubled)
        {
            nint last = k - 16;
            for (nint i = 0; ; i += 16)
            {
                if (i > last)
                    i = last;
                Widen16(ref from, ref to, i, doubled);
                Widen16(ref Unsafe.Add(ref from, stride), ref Unsafe.Add(ref to, k2), i, doubled);
                Widen16(ref Unsafe.Add(ref from, 2 * stride), ref Unsafe.Add(ref to, 2 * k2), i, doubled);
                Widen16(ref Unsafe.Add(ref from, 3 * stride), ref Unsafe.Add(ref to, 3 * k2), i, doubled);
                if (i == last)
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Widen16(ref sbyte from, ref short to, nint i, bool doubled)
    {
        var v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from, (nuint)i));
        (doubled ? v + v : v).StoreUnsafe(ref to, (nuint)i);
    }

    /// <summary>Pair p of a staged row, broadcast to the 8 int32 lanes (as 16 int16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Pair(ref short row, int p)
        => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref row, 2 * p)))).AsInt16();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x16(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector256<int> i1, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1, c30 = i0, c31 = i1;
        nint step = 2 * cout;
        nint d1 = xStride.D1, d2 = xStride.D2, d3 = xStride.D3;
        for (int s = 0; s < segments; s++)
        {
            // One advancing pointer for row 0's pair and the other rows at fixed offsets from it (base + index addressing),
            // counted down: fewer live general registers than four row pointers and an index, so none is spilled.
            ref short xr = ref Unsafe.Add(ref x0, s * segStride);
            nint p = pairs;
            if (p <= 0)
                continue;
            do
            {
                var w0 = Vector256.LoadUnsafe(ref w);
                var w1 = Vector256.LoadUnsafe(ref w, 16);
                var x = Pair(ref xr, 0);
                c00 += Avx2.MultiplyAddAdjacent(x, w0);
                c01 += Avx2.MultiplyAddAdjacent(x, w1);
                x = Pair(ref Unsafe.Add(ref xr, d1), 0);
                c10 += Avx2.MultiplyAddAdjacent(x, w0);
                c11 += Avx2.MultiplyAddAdjacent(x, w1);
                x = Pair(ref Unsafe.Add(ref xr, d2), 0);
                c20 += Avx2.MultiplyAddAdjacent(x, w0);
                c21 += Avx2.MultiplyAddAdjacent(x, w1);
                x = Pair(ref Unsafe.Add(ref xr, d3), 0);
                c30 += Avx2.MultiplyAddAdjacent(x, w0);
                c31 += Avx2.MultiplyAddAdjacent(x, w1);
                w = ref Unsafe.Add(ref w, step);
                xr = ref Unsafe.Add(ref xr, 2);
            }
            while (--p > 0);
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
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x8(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, ref int acc)
    {
        Vector256<int> c0 = i0, c1 = i0, c2 = i0, c3 = i0;
        nint step = 2 * cout;
        nint d1 = xStride.D1, d2 = xStride.D2, d3 = xStride.D3;
        for (int s = 0; s < segments; s++)
        {
            // As in Tile4x20: rows at offsets from one advancing pointer, the loop ending on the weights' address.
            ref short xr = ref Unsafe.Add(ref x0, s * segStride);
            if (pairs <= 0)
                continue;
            ref short wEnd = ref Unsafe.Add(ref w, pairs * step);
            do
            {
                var w0 = Vector256.LoadUnsafe(ref w);
                c0 += Avx2.MultiplyAddAdjacent(Pair(ref xr, 0), w0);
                c1 += Avx2.MultiplyAddAdjacent(Pair(ref Unsafe.Add(ref xr, d1), 0), w0);
                c2 += Avx2.MultiplyAddAdjacent(Pair(ref Unsafe.Add(ref xr, d2), 0), w0);
                c3 += Avx2.MultiplyAddAdjacent(Pair(ref Unsafe.Add(ref xr, d3), 0), w0);
                w = ref Unsafe.Add(ref w, step);
                xr = ref Unsafe.Add(ref xr, 2);
            }
            while (Unsafe.IsAddressLessThan(ref w, ref wEnd));
        }
        nuint row = (nuint)cout;
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, row);
        c2.StoreUnsafe(ref acc, 2 * row);
        c3.StoreUnsafe(ref acc, 3 * row);
    }

    /// <summary>
    /// <see cref="Tile4x16"/> and <see cref="Tile4x4"/> in one pass over the pairs, for a last 17-20 real channels: every
    /// broadcast pair feeds the 16 channels and, blended two rows to a vector, the last 4 (a separate 4-channel pass would
    /// load the four rows' pairs again for only two multiply-adds, and the loads bound it). Lanes 20-23 of the accumulators
    /// are not written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x20(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector128<int> i2, ref int acc)
    {
        var i2Twice = Vector256.Create(i2, i2);
        Vector256<int> c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1, c30 = i0, c31 = i1, e01 = i2Twice, e23 = i2Twice;
        nint step = 2 * cout;
        nint d1 = xStride.D1, d2 = xStride.D2, d3 = xStride.D3;
        for (int s = 0; s < segments; s++)
        {
            // As in Tile4x16, but the loop ends on the weights' address (this tile's loop has no register for a counter:
            // kept in memory it was loaded, decremented and stored back each step).
            ref short xr = ref Unsafe.Add(ref x0, s * segStride);
            if (pairs <= 0)
                continue;
            ref short wEnd = ref Unsafe.Add(ref w, pairs * step);
            do
            {
                var w0 = Vector256.LoadUnsafe(ref w);
                var w1 = Vector256.LoadUnsafe(ref w, 16);
                var w2 = Vector128.LoadUnsafe(ref w, 32);
                var w2Twice = Vector256.Create(w2, w2);
                var xa = Pair(ref xr, 0);
                var xb = Pair(ref Unsafe.Add(ref xr, d1), 0);
                c00 += Avx2.MultiplyAddAdjacent(xa, w0);
                c01 += Avx2.MultiplyAddAdjacent(xa, w1);
                c10 += Avx2.MultiplyAddAdjacent(xb, w0);
                c11 += Avx2.MultiplyAddAdjacent(xb, w1);
                e01 += Avx2.MultiplyAddAdjacent(Rows2(xa, xb), w2Twice);
                xa = Pair(ref Unsafe.Add(ref xr, d2), 0);
                xb = Pair(ref Unsafe.Add(ref xr, d3), 0);
                c20 += Avx2.MultiplyAddAdjacent(xa, w0);
                c21 += Avx2.MultiplyAddAdjacent(xa, w1);
                c30 += Avx2.MultiplyAddAdjacent(xb, w0);
                c31 += Avx2.MultiplyAddAdjacent(xb, w1);
                e23 += Avx2.MultiplyAddAdjacent(Rows2(xa, xb), w2Twice);
                w = ref Unsafe.Add(ref w, step);
                xr = ref Unsafe.Add(ref xr, 2);
            }
            while (Unsafe.IsAddressLessThan(ref w, ref wEnd));
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        e01.GetLower().StoreUnsafe(ref acc, 16);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        e01.GetUpper().StoreUnsafe(ref acc, row + 16);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        e23.GetLower().StoreUnsafe(ref acc, 2 * row + 16);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        e23.GetUpper().StoreUnsafe(ref acc, 3 * row + 16);
    }

    /// <summary>
    /// <see cref="Tile4x16"/> for a last block of 9-12 real channels: lanes 12-15 of its accumulators are not written. Its
    /// last 4 channels run two rows per 256-bit vector (<see cref="Rows2"/>), as <see cref="Tile4x4"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x12(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector128<int> i1, ref int acc)
    {
        var i1Twice = Vector256.Create(i1, i1);
        Vector256<int> c00 = i0, c10 = i0, c20 = i0, c30 = i0, c01 = i1Twice, c23 = i1Twice;
        nint step = 2 * cout;
        nint d1 = xStride.D1, d2 = xStride.D2, d3 = xStride.D3;
        for (int s = 0; s < segments; s++)
        {
            // As in Tile4x20: rows at offsets from one advancing pointer, the loop ending on the weights' address.
            ref short xr = ref Unsafe.Add(ref x0, s * segStride);
            if (pairs <= 0)
                continue;
            ref short wEnd = ref Unsafe.Add(ref w, pairs * step);
            do
            {
                var w0 = Vector256.LoadUnsafe(ref w);
                var w1 = Vector128.LoadUnsafe(ref w, 16);
                var w1Twice = Vector256.Create(w1, w1);
                var x0p = Pair(ref xr, 0);
                var x1p = Pair(ref Unsafe.Add(ref xr, d1), 0);
                c00 += Avx2.MultiplyAddAdjacent(x0p, w0);
                c10 += Avx2.MultiplyAddAdjacent(x1p, w0);
                c01 += Avx2.MultiplyAddAdjacent(Rows2(x0p, x1p), w1Twice);
                var x2p = Pair(ref Unsafe.Add(ref xr, d2), 0);
                var x3p = Pair(ref Unsafe.Add(ref xr, d3), 0);
                c20 += Avx2.MultiplyAddAdjacent(x2p, w0);
                c30 += Avx2.MultiplyAddAdjacent(x3p, w0);
                c23 += Avx2.MultiplyAddAdjacent(Rows2(x2p, x3p), w1Twice);
                w = ref Unsafe.Add(ref w, step);
                xr = ref Unsafe.Add(ref xr, 2);
            }
            while (Unsafe.IsAddressLessThan(ref w, ref wEnd));
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.GetLower().StoreUnsafe(ref acc, 8);
        c10.StoreUnsafe(ref acc, row);
        c01.GetUpper().StoreUnsafe(ref acc, row + 8);
        c20.StoreUnsafe(ref acc, 2 * row);
        c23.GetLower().StoreUnsafe(ref acc, 2 * row + 8);
        c30.StoreUnsafe(ref acc, 3 * row);
        c23.GetUpper().StoreUnsafe(ref acc, 3 * row + 8);
    }

    /// <summary>
    /// <see cref="Tile4x8"/> for a last block of 1-4 real channels: two rows per 256-bit vector (rows 0 and 1 in one
    /// accumulator's halves, rows 2 and 3 in the other's) against the 4 channels' weight pairs in both halves, so half the
    /// multiply-adds of one 4-lane vector per row (which cost as much as 8-lane ones wherever 256-bit operations run whole).
    /// Only a Cout of 1-4 comes here: a last 4 after 16-channel blocks goes with them into <see cref="Tile4x20"/>. Each broadcast
    /// pair is already in both halves, so one VPBLENDD builds the two rows' vector. Lanes 4-7 of the block's accumulators
    /// are not written (nor stored by the requantization).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile4x4(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector128<int> i0, ref int acc)
    {
        var init = Vector256.Create(i0, i0);
        Vector256<int> c01 = init, c23 = init;
        nint step = 2 * cout;
        nint d1 = xStride.D1, d2 = xStride.D2, d3 = xStride.D3;
        for (int s = 0; s < segments; s++)
        {
            // As in Tile4x20: rows at offsets from one advancing pointer, the loop ending on the weights' address.
            ref short xr = ref Unsafe.Add(ref x0, s * segStride);
            if (pairs <= 0)
                continue;
            ref short wEnd = ref Unsafe.Add(ref w, pairs * step);
            do
            {
                var w0 = Vector128.LoadUnsafe(ref w);
                var wTwice = Vector256.Create(w0, w0);
                c01 += Avx2.MultiplyAddAdjacent(Rows2(Pair(ref xr, 0), Pair(ref Unsafe.Add(ref xr, d1), 0)), wTwice);
                c23 += Avx2.MultiplyAddAdjacent(Rows2(Pair(ref Unsafe.Add(ref xr, d2), 0), Pair(ref Unsafe.Add(ref xr, d3), 0)), wTwice);
                w = ref Unsafe.Add(ref w, step);
                xr = ref Unsafe.Add(ref xr, 2);
            }
            while (Unsafe.IsAddressLessThan(ref w, ref wEnd));
        }
        nuint row = (nuint)cout;
        c01.GetLower().StoreUnsafe(ref acc);
        c01.GetUpper().StoreUnsafe(ref acc, row);
        c23.GetLower().StoreUnsafe(ref acc, 2 * row);
        c23.GetUpper().StoreUnsafe(ref acc, 3 * row);
    }

    /// <summary>Two rows' broadcast pairs as one vector: the first row's in lanes 0-3, the second's in lanes 4-7 (VPBLENDD).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<short> Rows2(Vector256<short> first, Vector256<short> second)
        => Avx2.Blend(first.AsInt32(), second.AsInt32(), 0b1111_0000).AsInt16();

    private static void Tile1x4(ref short x0, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector128<int> c0, ref int acc)
    {
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int p = 0; p < pairs; p++)
            {
                c0 += Sse2.MultiplyAddAdjacent(Pair128(ref r0, p), Vector128.LoadUnsafe(ref w));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
    }

    /// <summary>Pair p of a staged row, broadcast to 4 int32 lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Pair128(ref short row, int p)
        => Vector128.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref row, 2 * p)))).AsInt16();

    private static void Tile1x16(ref short x0, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> c0, Vector256<int> c1, ref int acc)
    {
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int p = 0; p < pairs; p++)
            {
                var x = Pair(ref r0, p);
                c0 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w));
                c1 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref w, 16));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, 8);
    }

    private static void Tile1x8(ref short x0, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> c0, ref int acc)
    {
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int p = 0; p < pairs; p++)
            {
                c0 += Avx2.MultiplyAddAdjacent(Pair(ref r0, p), Vector256.LoadUnsafe(ref w));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
    }
}
