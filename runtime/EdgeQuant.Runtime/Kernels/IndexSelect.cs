using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// int8 data movement through one index table per dimension of a rank-4 tensor:
/// output[i0, i1, i2, i3] = input[t0[i0], t1[i1], t2[i2], t3[i3]], or the fill value where any
/// of the four indices is -1. Slices, splits, gathers with constant indices, reflect and edge
/// padding, nearest-neighbour resizing, zero insertion and window unfolding are all this op with
/// different tables (built at conversion). Input and output share one quantization.
/// </summary>
public static class IndexSelect
{
    /// <summary>The definition: one element at a time.</summary>
    public static void EvalS8Reference(in IndexSelectParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        ReadOnlySpan<int> t0, ReadOnlySpan<int> t1, ReadOnlySpan<int> t2, ReadOnlySpan<int> t3)
    {
        sbyte fill = (sbyte)p.FillValue;
        int o = 0;
        for (int a = 0; a < outShape.D0; a++)
            for (int b = 0; b < outShape.D1; b++)
                for (int c = 0; c < outShape.D2; c++)
                    for (int d = 0; d < outShape.D3; d++, o++)
                    {
                        int ia = t0[a], ib = t1[b], ic = t2[c], id = t3[d];
                        output[o] = ia < 0 || ib < 0 || ic < 0 || id < 0
                            ? fill
                            : input[((ia * inShape.D1 + ib) * inShape.D2 + ic) * inShape.D3 + id];
                    }
    }

    /// <summary>
    /// The dispatcher. When the innermost table is one contiguous run (slices along the outer
    /// dimensions, or none along the last), every output row is a block copy or a fill; otherwise
    /// the reference. Same bytes either way.
    /// </summary>
    public static void EvalS8(in IndexSelectParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        ReadOnlySpan<int> t0, ReadOnlySpan<int> t1, ReadOnlySpan<int> t2, ReadOnlySpan<int> t3)
    {
        int start = t3[0];
        bool run = start >= 0;
        for (int d = 1; run && d < t3.Length; d++) run = t3[d] == start + d;
        if (!run)
        {
            EvalS8Reference(p, input, inShape, output, outShape, t0, t1, t2, t3);
            return;
        }
        int row = outShape.D3;
        sbyte fill = (sbyte)p.FillValue;
        int o = 0;
        for (int a = 0; a < outShape.D0; a++)
            for (int b = 0; b < outShape.D1; b++)
                for (int c = 0; c < outShape.D2; c++, o += row)
                {
                    int ia = t0[a], ib = t1[b], ic = t2[c];
                    var dst = output.Slice(o, row);
                    if (ia < 0 || ib < 0 || ic < 0) dst.Fill(fill);
                    else input.Slice(((ia * inShape.D1 + ib) * inShape.D2 + ic) * inShape.D3 + start, row).CopyTo(dst);
                }
    }
}
