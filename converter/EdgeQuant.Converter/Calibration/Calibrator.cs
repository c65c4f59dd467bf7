using EdgeQuant.Converter.Ir;

namespace EdgeQuant.Converter.Calibration;

/// <summary>How activation ranges are chosen from calibration data.</summary>
public enum CalibrationMethod
{
    /// <summary>The observed minimum and maximum.</summary>
    MinMax,
    /// <summary>The 0.01th and 99.99th percentiles (outliers clipped).</summary>
    Percentile,
    /// <summary>The range minimising the KL divergence between the float histogram and its 8-bit quantization.</summary>
    Entropy,
    /// <summary>The range minimising the expected squared quantization error (clipping plus rounding).</summary>
    Mse,
}

/// <summary>An activation range in float.</summary>
public readonly record struct Range(float Min, float Max);

/// <summary>
/// Runs the float graph over calibration samples and chooses a range per activation tensor.
/// Min-max needs one pass; the histogram methods take a second pass with 2048-bin histograms
/// over each tensor's observed range.
/// </summary>
public static class Calibrator
{
    public const int Bins = 2048;

    public static Dictionary<IrTensor, Range> Calibrate(IrGraph g, IReadOnlyList<float[]> samples, CalibrationMethod method, Action<int, int>? progress = null)
        => Calibrate(g, samples, method, progress, out _);

    /// <summary>As above; <paramref name="channelMeans"/> receives each activation's mean per channel (innermost dimension), used for bias correction.</summary>
    public static Dictionary<IrTensor, Range> Calibrate(IrGraph g, IReadOnlyList<float[]> samples, CalibrationMethod method, Action<int, int>? progress, out Dictionary<IrTensor, double[]> channelMeans)
    {
        if (samples.Count == 0) throw new ConversionException("calibration needs at least one sample");
        var exec = new IrExecutor(g);
        var min = new Dictionary<IrTensor, float>();
        var max = new Dictionary<IrTensor, float>();
        var sums = new Dictionary<IrTensor, double[]>();
        int passes = method == CalibrationMethod.MinMax ? 1 : 2;
        int total = samples.Count * passes, done = 0;
        for (int s = 0; s < samples.Count; s++)
        {
            CheckFinite(samples[s], s);
            exec.Run(samples[s], (t, v) =>
            {
                float lo = min.GetValueOrDefault(t, float.PositiveInfinity), hi = max.GetValueOrDefault(t, float.NegativeInfinity);
                foreach (float x in v)
                {
                    if (x < lo) lo = x;
                    if (x > hi) hi = x;
                }
                min[t] = lo;
                max[t] = hi;
                int c = t.Shape[^1];
                if (!sums.TryGetValue(t, out var acc)) sums[t] = acc = new double[c];
                for (int i = 0; i < v.Length; i++) acc[i % c] += v[i];
            });
            progress?.Invoke(++done, total);
        }
        var ranges = new Dictionary<IrTensor, Range>();
        foreach (var t in min.Keys) ranges[t] = new Range(min[t], max[t]);
        channelMeans = new Dictionary<IrTensor, double[]>();
        foreach (var (t, acc) in sums)
        {
            double count = (double)samples.Count * t.ElementCount / acc.Length;
            channelMeans[t] = acc.Select(a => a / count).ToArray();
        }
        if (method == CalibrationMethod.MinMax) return ranges;

        var hist = new Dictionary<IrTensor, long[]>();
        foreach (var t in min.Keys) hist[t] = new long[Bins];
        for (int s = 0; s < samples.Count; s++)
        {
            exec.Run(samples[s], (t, v) =>
            {
                var h = hist[t];
                var r = ranges[t];
                float width = r.Max - r.Min;
                if (!(width > 0)) { h[0] += v.Length; return; }
                float k = Bins / width;
                foreach (float x in v)
                {
                    int b = (int)((x - r.Min) * k);
                    h[Math.Clamp(b, 0, Bins - 1)]++;
                }
            });
            progress?.Invoke(++done, total);
        }
        foreach (var t in hist.Keys)
        {
            var r = ranges[t];
            if (!(r.Max > r.Min)) continue;
            ranges[t] = method switch
            {
                CalibrationMethod.Percentile => Percentile(hist[t], r, 0.9999),
                CalibrationMethod.Mse => SearchRange(hist[t], r, MseCost),
                _ => SearchRange(hist[t], r, KlCost),
            };
        }
        return ranges;
    }

    private static void CheckFinite(float[] sample, int index)
    {
        for (int i = 0; i < sample.Length; i++)
            if (!float.IsFinite(sample[i]))
                throw new ConversionException($"calibration sample {index} holds {sample[i]} at element {i}; calibration data must be finite (no NaN or infinity)");
    }

    private static Range Percentile(long[] h, Range r, double p)
    {
        long total = h.Sum();
        long cut = (long)Math.Floor(total * (1 - p));
        float binW = (r.Max - r.Min) / Bins;
        int lo = 0, hi = Bins - 1;
        long acc = 0;
        while (lo < Bins - 1 && acc + h[lo] <= cut) acc += h[lo++];
        acc = 0;
        while (hi > lo && acc + h[hi] <= cut) acc += h[hi--];
        float min = r.Min >= 0 ? r.Min : r.Min + lo * binW;
        float max = r.Min + (hi + 1) * binW;
        return new Range(Math.Min(min, r.Min >= 0 ? r.Min : 0), Math.Max(max, 0));
    }

    private delegate double Cost(long[] h, Range full, int i0, int i1, int zeroBin);

    /// <summary>Tries ranges shrunk symmetrically (in bins) toward zero's bin and keeps the cheapest.</summary>
    private static Range SearchRange(long[] h, Range r, Cost cost)
    {
        float binW = (r.Max - r.Min) / Bins;
        int zeroBin = Math.Clamp((int)((0 - r.Min) / binW), 0, Bins - 1);
        double best = double.PositiveInfinity;
        (int, int) bestRange = (0, Bins);
        for (int step = 0; step <= 64; step++)
        {
            double f = 1.0 - step / 80.0; // keep at least 20% of the observed range
            int i0 = (int)Math.Round(zeroBin - (zeroBin - 0) * f);
            int i1 = (int)Math.Round(zeroBin + (Bins - zeroBin) * f);
            if (i1 - i0 < 256) break;
            double c = cost(h, r, i0, i1, zeroBin);
            if (c < best) { best = c; bestRange = (i0, i1); }
        }
        float min = r.Min + bestRange.Item1 * binW, max = r.Min + bestRange.Item2 * binW;
        return new Range(Math.Min(min, 0), Math.Max(max, 0));
    }

    /// <summary>Expected squared error: rounding noise (step^2/12) inside the range, clipping error outside.</summary>
    private static double MseCost(long[] h, Range r, int i0, int i1, int zeroBin)
    {
        double binW = (r.Max - r.Min) / Bins;
        double lo = r.Min + i0 * binW, hi = r.Min + i1 * binW;
        double step = (hi - lo) / 255;
        double err = 0;
        for (int b = 0; b < Bins; b++)
        {
            if (h[b] == 0) continue;
            double c = r.Min + (b + 0.5) * binW;
            double e = c < lo ? (lo - c) * (lo - c) : c > hi ? (c - hi) * (c - hi) : step * step / 12;
            err += h[b] * e;
        }
        return err;
    }

    /// <summary>KL(P || Q): P the histogram with outliers folded into the edge bins, Q its 256-level quantization.</summary>
    private static double KlCost(long[] h, Range r, int i0, int i1, int zeroBin)
    {
        int n = i1 - i0;
        var p = new double[n];
        for (int b = 0; b < n; b++) p[b] = h[i0 + b];
        for (int b = 0; b < i0; b++) p[0] += h[b];
        for (int b = i1; b < Bins; b++) p[n - 1] += h[b];
        var q = new double[n];
        int zb = zeroBin - i0;
        if (zb >= 0 && zb < n) q[zb] = h[zeroBin];
        const int levels = 255;
        for (int l = 0; l < levels; l++)
        {
            int s = (int)((long)l * n / levels), e = (int)((long)(l + 1) * n / levels);
            double sum = 0;
            int nonzero = 0;
            // Q is built from the in-range histogram only, so mass clipped into P's edge bins costs divergence.
            // Zero is exactly representable (it is the zero point), so the bin holding it (the ReLU spike) is its own level.
            for (int b = s; b < e; b++) if (b != zb && h[i0 + b] != 0) { sum += h[i0 + b]; nonzero++; }
            if (nonzero == 0) continue;
            for (int b = s; b < e; b++) if (b != zb && h[i0 + b] != 0) q[b] = sum / nonzero;
        }
        double ps = p.Sum(), qs = q.Sum();
        if (ps == 0 || qs == 0) return double.PositiveInfinity;
        double kl = 0;
        for (int b = 0; b < n; b++)
        {
            if (p[b] == 0) continue;
            double pp = p[b] / ps, qq = q[b] / qs;
            kl += pp * Math.Log(pp / Math.Max(qq, 1e-12));
        }
        return kl;
    }
}
