namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// What the Conv2D / FullyConnected fast paths precompute from a filter once (at interpreter
/// construction), so that Eval neither computes nor allocates it: the accumulator start values
/// and, when the inner length is not a multiple of 16, a copy of the filter with zero-padded rows
/// so the im2col path runs whole 16-byte steps.
/// </summary>
internal sealed class PackedFilter
{
    /// <summary>Inner-product length granularity of the padded layout.</summary>
    public const int Granule = 16;

    /// <summary>Output channels.</summary>
    public int Cout { get; }

    /// <summary>
    /// <see cref="Cout"/> rounded up to 8: the channel stride of <see cref="Pairs"/> and <see cref="RowPairs"/>,
    /// whose kernels keep 8 channels per vector; the channels past Cout have zero weights and a zero
    /// <see cref="Init"/>, and the kernels never store them.
    /// </summary>
    public int CoutPadded { get; }

    /// <summary>Inner length of one filter row (Kh x Kw x Cin, or Cin).</summary>
    public int K { get; }

    /// <summary><see cref="K"/> rounded up to <see cref="Granule"/>.</summary>
    public int KPadded { get; }

    /// <summary>
    /// bias[oc] + inputOffset x sum(filter[oc]) (the converter's folded bias), computed with the same
    /// wrapping int arithmetic as the reference accumulation: with it, sum(x x w) over every tap
    /// (padded taps holding the input zero point) gives the reference accumulator.
    /// <see cref="CoutPadded"/> long, zero past <see cref="Cout"/>.
    /// </summary>
    public int[] Init { get; }

    /// <summary><see cref="Init"/> - 128 x sum(filter[oc]), for strategies that multiply x + 128.</summary>
    public int[] InitBiased { get; }

    /// <summary>
    /// 2 x <see cref="Init"/> (wrapping), where <see cref="Pairs"/> is built: the AVX2 GEMM stages its rows doubled when the exact
    /// requantization applies, so that its sums are the doubled accumulators that form takes (<see cref="SimdOps512"/> remark 4).
    /// </summary>
    public int[]? InitDoubled { get; private init; }

    /// <summary>
    /// max over channels of |Init[oc]| + 128 x sum |filter[oc]|: no accumulator Init[oc] + sum x x w of int8
    /// activations x exceeds it in magnitude (the exact 16-lane requantization's condition, <see cref="SimdOps512"/>).
    /// </summary>
    public long MaxAccumulator { get; private init; }

    /// <summary>Per channel, |Init[oc]| + 128 x sum |filter[oc]|: the bound of <see cref="MaxAccumulator"/> for each channel apart.</summary>
    public long[] ChannelBounds { get; private init; } = [];

    /// <summary>The op's <see cref="RightRequantTable"/>, built on its first x64 fast-path call (<see cref="RightRequantTable.Get"/>).</summary>
    internal RightRequantTable? RightRequant;

    /// <summary>
    /// For a Cout of at most 8 run two pixels per 16 lanes (a one-channel stem's AVX-512 body): the table of the 8 (padded)
    /// channels twice over, and <see cref="Init"/> twice over; built on the op's first such call.
    /// </summary>
    internal RightRequantTable? RightRequantTwice;

    /// <inheritdoc cref="RightRequantTwice"/>
    internal int[]? InitTwice;

    /// <summary>A 3x3 stride-1 filter transformed for Winograd's F(2x2, 3x3) (<see cref="Conv2D.TryEvalS8WinogradAvx512"/>); set by <see cref="Conv2D.Prepare"/> where that path is taken, else null.</summary>
    internal WinogradFilter? Winograd;

    /// <summary>[Cout, KPadded] with zero padding, or null when K is already a multiple of <see cref="Granule"/>.</summary>
    public sbyte[]? Padded { get; }

    /// <summary>Conv2D with K &lt;= <see cref="Conv2D.SmallKLimit"/>: the filter tap-major as int32, [K, Cout]; else null.</summary>
    public int[]? ByTap { get; private init; }

    /// <summary>
    /// With AVX2 and a Conv2D filter of more than one tap per channel: the filter as int16 pairs of
    /// consecutive taps within a kernel row, [Kh, ceil(Kw x Cin / 2), CoutPadded, 2], the second tap of a
    /// row's odd last pair zero, the padding channels zero; for VPMADDWD against a broadcast pair of widened activations
    /// (Conv2D.Rows.Avx2.cs). Else null.
    /// </summary>
    public short[]? RowPairs { get; private init; }

    /// <summary>
    /// On arm64 (or when asked for, so x64 can test the path through its emulated primitives) for a Conv2D
    /// filter of more than one tap per channel: the filter as int16 with output channels in lanes,
    /// [Kh, Kw x Cin rounded up to 8, CoutPadded], the padding taps and channels zero, for the SMLAL-by-lane
    /// kernel (Conv2D.Rows.AdvSimd.cs; the depthwise kernel's single row is [Kh x Kw rounded up to 8, CoutPadded]). Else null.
    /// </summary>
    public short[]? RowTaps { get; private init; }

    /// <summary>
    /// With AVX2: the filter as int16 pairs of consecutive inner taps, [ceil(K / 2), CoutPadded, 2]
    /// (an odd K's last pair ends in a zero, the padding channels are zero), for <see cref="Int8Gemm"/>'s
    /// VPMADDWD kernel with output channels in lanes. Else null.
    /// </summary>
    public short[]? Pairs { get; private init; }

    /// <summary>
    /// With Dp (or when asked for, so x64 can test the path through its emulated primitives): the filter as
    /// quadruplets of consecutive kernel-row taps for SDOT by element, [K / QuadRowTaps, ceil(QuadRowTaps / 4),
    /// CoutPadded, 4]: each 16 bytes hold one quadruplet of 4 consecutive channels; taps past a row's end and
    /// the padding channels are zero (Conv2D.Sdot.AdvSimd.cs). Else null.
    /// </summary>
    public sbyte[]? Quads { get; private init; }

    /// <summary>The taps of one kernel row in <see cref="Quads"/> (Kw x Cin; Cin for 1x1), or 0.</summary>
    public int QuadRowTaps { get; private init; }

    private PackedFilter(int cout, int k, int[] init, int[] initBiased, sbyte[]? padded)
    {
        Cout = cout;
        CoutPadded = (cout + 7) & ~7;
        K = k;
        KPadded = (k + Granule - 1) / Granule * Granule;
        Init = init;
        InitBiased = initBiased;
        Padded = padded;
    }

    /// <summary>
    /// Packs a [Cout, K] filter. <paramref name="pad"/>: also build the zero-padded copy (Conv2D's im2col path).
    /// <paramref name="rowTaps"/>: Kw x Cin of a Conv2D filter with Kh x Kw &gt; 1 (K = Kh x rowTaps), for <see cref="RowPairs"/>; 0 for none.
    /// </summary>
    public static PackedFilter Create(ReadOnlySpan<sbyte> filter, int cout, int k, ReadOnlySpan<int> bias, int inputOffset, bool pad, int rowTaps = 0)
        => Create(filter, cout, k, bias, inputOffset, pad, rowTaps, System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported);

    /// <summary>
    /// As above; <paramref name="rowTapsS16"/>: build <see cref="RowTaps"/> (when <paramref name="rowTaps"/> &gt; 0);
    /// <paramref name="quadRowTaps"/> &gt; 0 (a divisor of K): build <see cref="Quads"/> with that kernel-row length.
    /// </summary>
    public static PackedFilter Create(ReadOnlySpan<sbyte> filter, int cout, int k, ReadOnlySpan<int> bias, int inputOffset, bool pad, int rowTaps, bool rowTapsS16,
        int quadRowTaps = 0)
    {
        int coutP = (cout + 7) & ~7;
        var init = new int[coutP];
        var initBiased = new int[coutP];
        int kp = (k + Granule - 1) / Granule * Granule;
        long maxAccumulator = 0;
        var bounds = new long[cout];
        sbyte[]? padded = pad && kp != k ? new sbyte[cout * kp] : null;
        for (int oc = 0; oc < cout; oc++)
        {
            var row = filter.Slice(oc * k, k);
            int sum = 0;
            long absSum = 0;
            foreach (sbyte v in row)
            {
                sum += v;
                absSum += System.Math.Abs((int)v);
            }
            unchecked
            {
                init[oc] = bias[oc] + inputOffset * sum;
                initBiased[oc] = init[oc] - 128 * sum;
            }
            bounds[oc] = System.Math.Abs((long)init[oc]) + 128 * absSum;
            maxAccumulator = System.Math.Max(maxAccumulator, bounds[oc]);
            if (padded != null) row.CopyTo(padded.AsSpan(oc * kp, k));
        }
        int[]? byTap = null;
        if (pad && k <= Conv2D.SmallKLimit)
        {
            byTap = new int[k * cout];
            for (int oc = 0; oc < cout; oc++)
                for (int t = 0; t < k; t++)
                    byTap[t * cout + oc] = filter[oc * k + t];
        }
        short[]? rowPairs = null;
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && rowTaps > 0 && k % rowTaps == 0)
        {
            int pairs = (rowTaps + 1) / 2, rows = k / rowTaps;
            rowPairs = new short[rows * pairs * coutP * 2];
            for (int ky = 0; ky < rows; ky++)
                for (int q = 0; q < pairs; q++)
                    for (int oc = 0; oc < cout; oc++)
                        for (int e = 0; e < 2; e++)
                        {
                            int t = 2 * q + e;
                            if (t < rowTaps)
                                rowPairs[((ky * pairs + q) * coutP + oc) * 2 + e] = filter[oc * k + ky * rowTaps + t];
                        }
        }
        short[]? kPairs = null;
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported && k > 0)
        {
            kPairs = new short[(k + 1) / 2 * coutP * 2];
            for (int oc = 0; oc < cout; oc++)
                for (int t = 0; t < k; t++)
                    kPairs[((t >> 1) * coutP + oc) * 2 + (t & 1)] = filter[oc * k + t];
        }
        short[]? taps16 = null;
        if (rowTapsS16 && rowTaps > 0 && k % rowTaps == 0)
        {
            int rowP = (rowTaps + 7) & ~7, rows = k / rowTaps;
            taps16 = new short[rows * rowP * coutP];
            for (int oc = 0; oc < cout; oc++)
                for (int ky = 0; ky < rows; ky++)
                    for (int t = 0; t < rowTaps; t++)
                        taps16[(ky * rowP + t) * coutP + oc] = filter[oc * k + ky * rowTaps + t];
        }
        sbyte[]? quads = null;
        if (quadRowTaps > 0 && k % quadRowTaps == 0)
        {
            int q = (quadRowTaps + 3) / 4, segments = k / quadRowTaps;
            quads = new sbyte[segments * q * coutP * 4];
            for (int oc = 0; oc < cout; oc++)
                for (int sg = 0; sg < segments; sg++)
                    for (int t = 0; t < quadRowTaps; t++)
                        quads[((sg * q + t / 4) * coutP + oc) * 4 + t % 4] = filter[oc * k + sg * quadRowTaps + t];
        }
        return new PackedFilter(cout, k, init, initBiased, padded)
        {
            ByTap = byTap, RowPairs = rowPairs, Pairs = kPairs, RowTaps = taps16, Quads = quads, QuadRowTaps = quads is null ? 0 : quadRowTaps,
            InitDoubled = kPairs is null ? null : Array.ConvertAll(init, v => unchecked(v + v)),
            MaxAccumulator = maxAccumulator,
            ChannelBounds = bounds,
        };
    }
}
