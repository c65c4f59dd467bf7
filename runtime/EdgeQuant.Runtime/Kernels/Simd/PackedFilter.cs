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

    /// <summary>Inner length of one filter row (Kh x Kw x Cin, or Cin).</summary>
    public int K { get; }

    /// <summary><see cref="K"/> rounded up to <see cref="Granule"/>.</summary>
    public int KPadded { get; }

    /// <summary>
    /// bias[oc] + inputOffset x sum(filter[oc]) (the converter's folded bias), computed with the same
    /// wrapping int arithmetic as the reference accumulation: with it, sum(x x w) over every tap
    /// (padded taps holding the input zero point) gives the reference accumulator.
    /// </summary>
    public int[] Init { get; }

    /// <summary><see cref="Init"/> - 128 x sum(filter[oc]), for strategies that multiply x + 128.</summary>
    public int[] InitBiased { get; }

    /// <summary>[Cout, KPadded] with zero padding, or null when K is already a multiple of <see cref="Granule"/>.</summary>
    public sbyte[]? Padded { get; }

    /// <summary>Conv2D with K &lt;= <see cref="Conv2D.SmallKLimit"/>: the filter tap-major as int32, [K, Cout]; else null.</summary>
    public int[]? ByTap { get; private init; }

    private PackedFilter(int cout, int k, int[] init, int[] initBiased, sbyte[]? padded)
    {
        Cout = cout;
        K = k;
        KPadded = (k + Granule - 1) / Granule * Granule;
        Init = init;
        InitBiased = initBiased;
        Padded = padded;
    }

    /// <summary>Packs a [Cout, K] filter. <paramref name="pad"/>: also build the zero-padded copy (Conv2D's im2col path).</summary>
    public static PackedFilter Create(ReadOnlySpan<sbyte> filter, int cout, int k, ReadOnlySpan<int> bias, int inputOffset, bool pad)
    {
        var init = new int[cout];
        var initBiased = new int[cout];
        int kp = (k + Granule - 1) / Granule * Granule;
        sbyte[]? padded = pad && kp != k ? new sbyte[cout * kp] : null;
        for (int oc = 0; oc < cout; oc++)
        {
            var row = filter.Slice(oc * k, k);
            int sum = 0;
            foreach (sbyte v in row) sum += v;
            unchecked
            {
                init[oc] = bias[oc] + inputOffset * sum;
                initBiased[oc] = init[oc] - 128 * sum;
            }
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
        return new PackedFilter(cout, k, init, initBiased, padded) { ByTap = byTap };
    }
}
