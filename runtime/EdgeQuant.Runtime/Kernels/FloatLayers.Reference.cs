using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// The float32 fallback layers of mixed precision (Conv2DF32, DepthwiseConv2DF32, FullyConnectedF32): a
/// layer that quantizes badly runs on its float weights. Float sums depend on their order, so the order is
/// part of the definition: acc starts at bias[oc], then adds each product x × w (rounded to float32, never
/// fused into a multiply-add) for ky, then kx, then ic ascending (Conv2D), ky then kx (depthwise), ic
/// (FullyConnected); out = min(max(acc, min), max). Fast paths keep each output's order (they vectorize across outputs).
/// </summary>
public static partial class FloatLayers
{
    /// <summary>Conv2DF32 / DepthwiseConv2DF32 with the geometry and float clamp of <see cref="DynamicConvParams"/>.</summary>
    public static void ConvF32Reference(in DynamicConvParams p, bool depthwise, ReadOnlySpan<float> input, in Shape4 inShape,
        ReadOnlySpan<float> filter, in Shape4 filterShape, ReadOnlySpan<float> bias, Span<float> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int oc = 0; oc < cout; oc++)
                    {
                        float acc = bias[oc];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int inBase = ((b * inH + iy) * inW + ix) * cin;
                                if (depthwise)
                                {
                                    float prod = input[inBase + oc / p.DepthMultiplier] * filter[(ky * kw + kx) * cout + oc];
                                    acc += prod;
                                }
                                else
                                {
                                    int fBase = ((oc * kh + ky) * kw + kx) * cin;
                                    for (int ic = 0; ic < cin; ic++)
                                    {
                                        float prod = input[inBase + ic] * filter[fBase + ic];
                                        acc += prod;
                                    }
                                }
                            }
                        }
                        output[((b * outH + oy) * outW + ox) * cout + oc] = Clamp(acc, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>FullyConnectedF32: input [batches, Cin], filter [Cout, Cin], bias [Cout], output [batches, Cout].</summary>
    public static void FullyConnectedF32Reference(ReadOnlySpan<float> input, int batches, int cin, ReadOnlySpan<float> filter, int cout,
        ReadOnlySpan<float> bias, float min, float max, Span<float> output)
    {
        for (int b = 0; b < batches; b++)
            for (int oc = 0; oc < cout; oc++)
            {
                float acc = bias[oc];
                for (int ic = 0; ic < cin; ic++)
                {
                    float prod = input[b * cin + ic] * filter[oc * cin + ic];
                    acc += prod;
                }
                output[b * cout + oc] = Clamp(acc, min, max);
            }
    }

    /// <summary>The output clamp: below min gives min, above max gives max, anything else (NaN included) passes.</summary>
    public static float Clamp(float v, float min, float max) => v < min ? min : v > max ? max : v;
}
