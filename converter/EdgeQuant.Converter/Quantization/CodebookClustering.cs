namespace EdgeQuant.Converter.Quantization;

/// <summary>
/// Weight sharing: one-dimensional k-means over a layer's weights expressed in units of their
/// channel's int8 grid step (w / scale[c], in [-127, 127]), the centroids then rounded to integers.
/// The codebook therefore holds int8 values and the runtime's integer arithmetic is unchanged;
/// per-channel scales keep each channel's range while the levels (non-uniform) are shared.
/// </summary>
public static class CodebookClustering
{
    /// <summary>At most <paramref name="k"/> distinct sorted integer levels in [-qmax, qmax] for <paramref name="values"/> (always including 0).</summary>
    public static int[] Levels(List<double> values, int k, int qmax)
    {
        if (values.Count == 0) return [0];
        var sorted = values.ToArray();
        Array.Sort(sorted);
        // Start from quantiles; Lloyd iterations on the sorted data (assignments are contiguous runs).
        var centers = new double[k];
        for (int j = 0; j < k; j++) centers[j] = sorted[(int)((j + 0.5) * sorted.Length / k)];
        var prefix = new double[sorted.Length + 1];
        for (int i = 0; i < sorted.Length; i++) prefix[i + 1] = prefix[i] + sorted[i];
        for (int iter = 0; iter < 50; iter++)
        {
            Array.Sort(centers);
            bool moved = false;
            int start = 0;
            for (int j = 0; j < k; j++)
            {
                double upper = j + 1 < k ? (centers[j] + centers[j + 1]) / 2 : double.PositiveInfinity;
                int end = start;
                while (end < sorted.Length && sorted[end] <= upper) end++;
                if (end > start)
                {
                    double mean = (prefix[end] - prefix[start]) / (end - start);
                    if (Math.Abs(mean - centers[j]) > 1e-9) moved = true;
                    centers[j] = mean;
                }
                start = end;
            }
            if (!moved) break;
        }
        var set = new SortedSet<int> { 0 };
        foreach (double c in centers) set.Add(Math.Clamp((int)Math.Round(c, MidpointRounding.AwayFromZero), -qmax, qmax));
        var levels = set.ToList();
        // Adding 0 (pruned and padded weights need it) may exceed k: drop the level whose removal costs least.
        while (levels.Count > k)
        {
            int drop = 1;
            double least = double.MaxValue;
            for (int j = 0; j < levels.Count; j++)
            {
                if (levels[j] == 0) continue;
                double left = j > 0 ? levels[j] - levels[j - 1] : double.MaxValue;
                double right = j + 1 < levels.Count ? levels[j + 1] - levels[j] : double.MaxValue;
                double gap = Math.Min(left, right);
                if (gap < least) { least = gap; drop = j; }
            }
            levels.RemoveAt(drop);
        }
        return levels.ToArray();
    }
}
