using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>The plain loop nest that defines Conv2D.</summary>
    public static void EvalS8Reference(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
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
                                int fBase = ((oc * kh + ky) * kw + kx) * cin;
                                for (int ic = 0; ic < cin; ic++)
                                    acc += (input[inBase + ic] + p.InputOffset) * filter[fBase + ic];
                            }
                        }
                        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                        output[((b * outH + oy) * outW + ox) * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                }
    }
}
