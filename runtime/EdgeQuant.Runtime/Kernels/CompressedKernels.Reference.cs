using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// The loop nests that define the compressed-filter ops (50-52) and the sparse ops (53-54). They are
/// <see cref="Conv2D.EvalS8Reference"/>, <see cref="DepthwiseConv2D.EvalS8Reference"/> and
/// <see cref="FullyConnected.EvalS8Reference"/> with each weight read through the encoding: the
/// same int32 accumulation and requantization, so a compressed model computes exactly what the
/// int8 model with the decoded weights computes.
/// </summary>
public static partial class CompressedKernels
{
    /// <summary>Conv2D with a compressed filter [Cout, Kh, Kw, Cin].</summary>
    public static void Conv2DReference(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int oc = 0; oc < cout; oc++)
                    {
                        int acc = bias[oc];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int inBase = ((b * inH + iy) * inW + ix) * cin;
                                int col = (ky * kw + kx) * cin;
                                for (int ic = 0; ic < cin; ic++)
                                    acc += (input[inBase + ic] + p.InputOffset) * filter.At(oc, col + ic, oc);
                            }
                        }
                        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                        output[((b * outH + oy) * outW + ox) * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>DepthwiseConv2D with a compressed filter [1, Kh, Kw, Cout] (one row).</summary>
    public static void DepthwiseConv2DReference(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int mult = p.DepthMultiplier;
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int oc = 0; oc < cout; oc++)
                    {
                        int ic = oc / mult;
                        int acc = bias[oc];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                acc += (input[((b * inH + iy) * inW + ix) * cin + ic] + p.InputOffset) * filter.At(0, (ky * kw + kx) * cout + oc, oc);
                            }
                        }
                        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                        output[((b * outH + oy) * outW + ox) * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>FullyConnected with a compressed filter [Cout, Cin].</summary>
    public static void FullyConnectedReference(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        CompressedFilter filter, int cout, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        for (int b = 0; b < batches; b++)
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = bias[oc];
                for (int ic = 0; ic < cin; ic++)
                    acc += (input[b * cin + ic] + p.InputOffset) * filter.At(oc, ic, oc);
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
    }
}
