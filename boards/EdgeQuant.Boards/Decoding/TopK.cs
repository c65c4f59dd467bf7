namespace EdgeQuant.Boards.Decoding;

/// <summary>Top-k classes of a score vector, allocation-free.</summary>
public static class TopK
{
    /// <summary>
    /// Writes the indices of the <c>indices.Length</c> highest scores into <paramref name="indices"/>,
    /// best first; ties go to the lower index. Returns how many were written (at most scores.Length).
    /// </summary>
    public static int Select(ReadOnlySpan<float> scores, Span<int> indices) => Select<float>(scores, indices);

    /// <summary>The same on int8 codes (order is preserved by dequantization, so no floats are needed).</summary>
    public static int Select(ReadOnlySpan<sbyte> scores, Span<int> indices) => Select<sbyte>(scores, indices);

    private static int Select<T>(ReadOnlySpan<T> scores, Span<int> indices) where T : struct, IComparable<T>
    {
        int k = Math.Min(indices.Length, scores.Length), n = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            // Insertion into the sorted prefix; a later index never displaces an equal earlier one.
            int pos = n;
            while (pos > 0 && scores[i].CompareTo(scores[indices[pos - 1]]) > 0) pos--;
            if (pos >= k) continue;
            int end = Math.Min(n, k - 1);
            for (int j = end; j > pos; j--) indices[j] = indices[j - 1];
            indices[pos] = i;
            if (n < k) n++;
        }
        return n;
    }

    /// <summary>Index of the highest score (the first one on ties).</summary>
    public static int ArgMax(ReadOnlySpan<float> scores)
    {
        int best = 0;
        for (int i = 1; i < scores.Length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }
}
