using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DynamicConv2D
{
    /// <summary>
    /// DynamicConv2D (not depthwise) with the Cin-long inner products of each filter tap 16 wide
    /// (<see cref="DynamicFullyConnected.Dot"/>); exact integer sums, so the reference's bytes.
    /// </summary>
    public static void EvalF32Vector128(in DynamicConvParams p, ReadOnlySpan<float> input, Shape4 inShape, ReadOnlySpan<sbyte> filter, Shape4 filterShape,
        ReadOnlySpan<float> scales, ReadOnlySpan<float> bias, Span<byte> codes, Span<float> output, Shape4 outShape)
    {
        DynamicQuantize.QuantizeU8(input.Slice(0, inShape.FlatSize), codes, out float scale, out int zp);
        int h = inShape.D1, w = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int oh = outShape.D1, ow = outShape.D2, cout = outShape.D3;
        ReadOnlySpan<byte> q = codes;
        for (int b = 0; b < outShape.D0; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                    for (int oc = 0; oc < cout; oc++)
                    {
                        int acc = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * p.StrideH - p.PadTop + ky * p.DilationH;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * p.StrideW - p.PadLeft + kx * p.DilationW;
                                if (ix < 0 || ix >= w) continue;
                                acc += DynamicFullyConnected.Dot(q.Slice(((b * h + iy) * w + ix) * cin, cin), zp, filter.Slice(((oc * kh + ky) * kw + kx) * cin, cin));
                            }
                        }
                        output[((b * oh + oy) * ow + ox) * cout + oc] =
                            DynamicQuantize.Output(acc, scale, scales[scales.Length == 1 ? 0 : oc], bias[oc], p.ActivationMin, p.ActivationMax);
                    }
    }
}
