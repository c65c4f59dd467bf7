using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Per-op data of the compressed and sparse fast paths, computed once per model (never per Invoke):
/// the folded bias <c>bias[oc] + inputOffset × Σ w[oc]</c> (int32, wrapping as the reference's
/// accumulator does) and, for a sparse Conv2D, each stored weight's input offset relative to the
/// window's top-left input element. Sizes are O(Cout) and O(stored weights): no weight is expanded.
/// </summary>
internal sealed class CompressedPrepared
{
    public int[] FoldedBias { get; init; } = System.Array.Empty<int>();
    /// <summary>Sparse Conv2D: (ky·DilationH·inW + kx·DilationW)·Cin + ic of each stored weight, in storage order.</summary>
    public int[]? SparseInputOffsets { get; init; }
    /// <summary>Sparse Conv2D: the pixel-tiled path's plan (staged-input offsets and weight pairs).</summary>
    public SparseTiling? SparseTiles { get; init; }

    public static CompressedPrepared ForCompressed(CompressedFilter f, bool depthwise, int cout, int rowElements, ReadOnlySpan<int> bias, int inputOffset)
    {
        var folded = new int[cout];
        for (int oc = 0; oc < cout; oc++)
        {
            int sum = 0;
            if (depthwise)
                for (int t = oc; t < rowElements; t += cout) sum += f.At(0, t, oc);
            else
                for (int c = 0; c < rowElements; c++) sum += f.At(oc, c, oc);
            folded[oc] = unchecked(bias[oc] + inputOffset * sum);
        }
        return new CompressedPrepared { FoldedBias = folded };
    }

    public static CompressedPrepared ForSparse(SparseFilter f, int cout, ReadOnlySpan<int> bias, int inputOffset,
        bool conv, int kw, int cin, int inW, int dilationH, int dilationW)
    {
        var folded = new int[cout];
        for (int oc = 0; oc < cout; oc++)
        {
            int sum = 0;
            for (int i = f.RowStarts[oc]; i < f.RowStarts[oc + 1]; i++) sum += f.Values[i];
            folded[oc] = unchecked(bias[oc] + inputOffset * sum);
        }
        int[]? offsets = null;
        if (conv)
        {
            offsets = new int[f.Values.Length];
            for (int i = 0; i < offsets.Length; i++)
            {
                int c = f.Columns[i];
                int tap = c / cin, ic = c - tap * cin;
                int ky = tap / kw, kx = tap - ky * kw;
                offsets[i] = (ky * dilationH * inW + kx * dilationW) * cin + ic;
            }
        }
        return new CompressedPrepared { FoldedBias = folded, SparseInputOffsets = offsets };
    }
}

/// <summary>A packed per-channel record of ops 55-57 expanded once per model (<see cref="Format.PackedRequant"/>).</summary>
internal sealed class RequantArrays
{
    public readonly int[] Bias, Multipliers, Shifts;

    public RequantArrays(int channels)
    {
        Bias = new int[channels];
        Multipliers = new int[channels];
        Shifts = new int[channels];
    }
}
