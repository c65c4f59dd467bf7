namespace EdgeQuant.Converter.Quantization;

/// <summary>Unstructured magnitude (L1) pruning of one layer.</summary>
public static class MagnitudePruning
{
    /// <summary>True for the weights kept: all but the <paramref name="sparsity"/> fraction of smallest magnitude (ties kept).</summary>
    public static bool[] Mask(float[] w, double sparsity)
    {
        var keep = new bool[w.Length];
        int drop = (int)Math.Floor(sparsity * w.Length);
        if (drop <= 0) { Array.Fill(keep, true); return keep; }
        var mags = new float[w.Length];
        for (int i = 0; i < w.Length; i++) mags[i] = Math.Abs(w[i]);
        var order = new int[w.Length];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(mags, order);
        Array.Fill(keep, true);
        for (int i = 0; i < Math.Min(drop, w.Length); i++) keep[order[i]] = false;
        return keep;
    }
}
