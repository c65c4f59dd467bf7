using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>How conv / depthwise / fully-connected weights are stored (docs/compression.md).</summary>
public enum WeightEncoding
{
    /// <summary>Symmetric int8 (the default; byte-identical to conversions before compression existed).</summary>
    Int8,
    /// <summary>Symmetric per-channel 4-bit, values in [-7, 7], two per byte.</summary>
    Int4,
    /// <summary>16 shared levels per layer on the int8 per-channel grid, 4-bit indices.</summary>
    Codebook4,
    /// <summary>256 shared levels per layer on the int8 per-channel grid, 8-bit indices.</summary>
    Codebook8,
}

/// <summary>How each weight is rounded to its grid.</summary>
public enum RoundingMode
{
    /// <summary>To the nearest level (ties away from zero).</summary>
    Nearest,
    /// <summary>Up or down, chosen per weight to minimise the layer's output error against the float teacher (<see cref="AdaptiveRounding"/>).</summary>
    Adaptive,
}

/// <summary>
/// Re-quantizes one conv / depthwise / fully-connected layer's weights for a non-default
/// <see cref="WeightEncoding"/>, <see cref="RoundingMode"/> or pruning, replacing the op's int8
/// values and scales. The stored integers stay "int8 values times a per-channel scale", so the
/// bias, the requantization multipliers and the float simulation need nothing new.
/// </summary>
public static class WeightEncoder
{
    /// <summary>True when the options ask for anything but plain nearest-rounded int8 weights.</summary>
    public static bool IsActive(QuantizationOptions o) => o.Weights != WeightEncoding.Int8 || o.Rounding != RoundingMode.Nearest || o.PruneSparsity > 0;

    /// <summary>
    /// Fills <paramref name="r"/>'s Weights (decoded int values), WeightScales, Encoding, Codebook and
    /// CodebookIndices for op <paramref name="op"/>. <paramref name="index"/> maps (channel, i) to the flat weight index.
    /// </summary>
    public static void Encode(IrOp op, float[] w, int cout, int per, Func<int, int, int> index, QuantizationOptions o, OpQuant r)
    {
        bool prunable = o.PruneSparsity > 0 && op.Type is OpType.Conv2D or OpType.FullyConnected;
        var mask = prunable ? MagnitudePruning.Mask(w, o.PruneSparsity) : null;
        int qmax = o.Weights == WeightEncoding.Int4 ? 7 : 127;
        var scales = new float[cout];
        var q = new sbyte[w.Length];
        var channel = new double[per];
        var keep = new bool[per];
        for (int c = 0; c < cout; c++)
        {
            float m = 0;
            for (int i = 0; i < per; i++) m = Math.Max(m, Math.Abs(w[index(c, i)]));
            scales[c] = m > 0 ? m / qmax : 1f;
        }
        if (!o.PerChannel)
        {
            float g = scales.Max();
            Array.Fill(scales, g);
        }
        if (o.Weights == WeightEncoding.Int4 && o.PerChannel)
            for (int c = 0; c < cout; c++) scales[c] = Int4Grid.BestScale(w, c, per, index, scales[c], qmax);

        // Levels in grid units: the integers of the range, or the layer's codebook.
        int[] levels;
        if (o.Weights is WeightEncoding.Codebook4 or WeightEncoding.Codebook8)
        {
            var normalized = new List<double>(w.Length);
            for (int c = 0; c < cout; c++)
                for (int i = 0; i < per; i++)
                {
                    int k = index(c, i);
                    if (mask is null || mask[k]) normalized.Add(w[k] / scales[c]);
                }
            levels = CodebookClustering.Levels(normalized, o.Weights == WeightEncoding.Codebook4 ? 16 : 256, qmax);
        }
        else
        {
            levels = new int[2 * qmax + 1];
            for (int v = -qmax; v <= qmax; v++) levels[v + qmax] = v;
        }

        var stats = o.Rounding == RoundingMode.Adaptive && o.LayerStatistics is not null && o.LayerStatistics.TryGetValue(op, out var s) ? s : null;
        for (int c = 0; c < cout; c++)
        {
            for (int i = 0; i < per; i++)
            {
                int k = index(c, i);
                channel[i] = w[k] / scales[c];
                keep[i] = mask is null || mask[k];
            }
            var chosen = stats is null
                ? AdaptiveRounding.Nearest(channel, keep, levels)
                : AdaptiveRounding.Round(channel, keep, levels, stats.For(c));
            for (int i = 0; i < per; i++) q[index(c, i)] = (sbyte)chosen[i];
        }
        r.Weights = q;
        r.WeightScales = scales;
        r.Encoding = o.Weights;
        r.Sparse = prunable;
        if (o.Weights is WeightEncoding.Codebook4 or WeightEncoding.Codebook8)
        {
            int size = o.Weights == WeightEncoding.Codebook4 ? 16 : 256;
            var table = new sbyte[size];
            for (int e = 0; e < size; e++) table[e] = (sbyte)levels[Math.Min(e, levels.Length - 1)];
            var idx = new byte[q.Length];
            for (int k = 0; k < q.Length; k++)
            {
                int at = Array.BinarySearch(levels, (int)q[k]);
                if (at < 0) throw new InvalidOperationException($"weight value {q[k]} of '{op.Name}' is not in its codebook");
                idx[k] = (byte)at;
            }
            r.Codebook = table;
            r.CodebookIndices = idx;
        }
    }
}

/// <summary>The int4 grid: per-channel scales chosen to minimise the weights' squared rounding error.</summary>
public static class Int4Grid
{
    /// <summary>
    /// Among scales max/qmax × {1, 0.98, ..., 0.6} (clipping the largest weights in exchange for a finer
    /// grid), the one with the least Σ (w − s·round(w/s))² over channel <paramref name="c"/>.
    /// </summary>
    public static float BestScale(float[] w, int c, int per, Func<int, int, int> index, float maxScale, int qmax)
    {
        float best = maxScale;
        double bestErr = double.MaxValue;
        for (int step = 0; step <= 20; step++)
        {
            float s = maxScale * (1f - 0.02f * step);
            double err = 0;
            for (int i = 0; i < per; i++)
            {
                float v = w[index(c, i)];
                int qv = Math.Clamp((int)MathF.Round(v / s, MidpointRounding.AwayFromZero), -qmax, qmax);
                double d = v - s * qv;
                err += d * d;
            }
            if (err < bestErr) { bestErr = err; best = s; }
        }
        return best;
    }

    /// <summary>Packs int4 values (or 4-bit indices) row by row: each of <paramref name="rows"/> rows starts on a byte, element 2i in the low nibble.</summary>
    public static byte[] Pack(ReadOnlySpan<int> values, int rows)
    {
        int per = values.Length / rows;
        int rowBytes = CompressedWeights.PackedRowBytes(per);
        var packed = new byte[rows * rowBytes];
        for (int r = 0; r < rows; r++)
            for (int i = 0; i < per; i++)
                packed[r * rowBytes + (i >> 1)] |= (byte)((values[r * per + i] & 15) << ((i & 1) * 4));
        return packed;
    }
}
