using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class SparseKernels
{
    /// <summary>
    /// Sparse Conv2D dispatcher: the pixel-tiled SIMD path when the per-op data has a tiling and the op's
    /// scratch holds its staged input; otherwise, with the per-op data, windows that lie wholly inside the input sum
    /// x[window + offset_i] · value_i over the stored weights from the folded bias (no bounds checks,
    /// no index arithmetic); border windows and runs without per-op data take the reference loop.
    /// </summary>
    internal static void Conv2D(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        SparseFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias, CompressedPrepared? prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
#if !NETSTANDARD2_1
        if (prepared is not null && TryConv2DAvx2(p, input, inShape, prepared, multipliers, shifts, output, outShape, scratch))
            return;
#endif
        if (prepared?.SparseInputOffsets is not { } offsets)
        {
            Conv2DReference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
            return;
        }
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int spanH = (kh - 1) * p.DilationH + 1, spanW = (kw - 1) * p.DilationW + 1;
        var folded = prepared.FoldedBias;
        var starts = filter.RowStarts;
        var values = filter.Values;
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * cout;
                    if (iy0 < 0 || ix0 < 0 || iy0 + spanH > inH || ix0 + spanW > inW)
                    {
                        BorderPixel(p, input, inShape, filter, kw, bias, multipliers, shifts, output.Slice(outBase, cout), b, iy0, ix0);
                        continue;
                    }
                    var window = input.Slice(((b * inH + iy0) * inW + ix0) * cin);
                    for (int oc = 0; oc < cout; oc++)
                    {
                        int acc = folded[oc];
                        for (int i = starts[oc], e = starts[oc + 1]; i < e; i++)
                            acc += window[offsets[i]] * values[i];
                        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                        output[outBase + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>One output pixel whose window crosses the padding, as the reference computes it.</summary>
    private static void BorderPixel(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, SparseFilter filter, int kw,
        ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> outPixel, int b, int iy0, int ix0)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        for (int oc = 0; oc < outPixel.Length; oc++)
        {
            int acc = bias[oc];
            for (int i = filter.RowStarts[oc]; i < filter.RowStarts[oc + 1]; i++)
            {
                int c = filter.Columns[i];
                int tap = c / cin, ic = c - tap * cin;
                int ky = tap / kw, kx = tap - ky * kw;
                int iy = iy0 + ky * p.DilationH, ix = ix0 + kx * p.DilationW;
                if ((uint)iy >= (uint)inH || (uint)ix >= (uint)inW) continue;
                acc += (input[((b * inH + iy) * inW + ix) * cin + ic] + p.InputOffset) * filter.Values[i];
            }
            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
            outPixel[oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
        }
    }

    /// <summary>Sparse FullyConnected dispatcher: with the per-op data, Σ x[column_i] · value_i from the folded bias.</summary>
    internal static void FullyConnected(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        SparseFilter filter, int cout, ReadOnlySpan<int> bias, CompressedPrepared? prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        if (prepared is null)
        {
            FullyConnectedReference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
            return;
        }
#if !NETSTANDARD2_1
        FullyConnectedFast(p, input, batches, cin, filter, cout, prepared, multipliers, shifts, output);
        return;
#else
        var folded = prepared.FoldedBias;
        var starts = filter.RowStarts;
        var cols = filter.Columns;
        var values = filter.Values;
        for (int b = 0; b < batches; b++)
        {
            var x = input.Slice(b * cin, cin);
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = folded[oc];
                for (int i = starts[oc], e = starts[oc + 1]; i < e; i++)
                    acc += x[cols[i]] * values[i];
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
        }
#endif
    }
}
