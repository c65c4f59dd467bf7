using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Pooling
{
    public static void MaxS8Reference(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int y0 = oy * p.StrideH - p.PadTop, x0 = ox * p.StrideW - p.PadLeft;
                    int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    for (int ch = 0; ch < c; ch++)
                    {
                        int m = -128;
                        for (int y = ys; y < ye; y++)
                            for (int x = xs; x < xe; x++)
                                m = System.Math.Max(m, input[((b * inH + y) * inW + x) * c + ch]);
                        output[((b * outShape.D1 + oy) * outShape.D2 + ox) * c + ch] = (sbyte)System.Math.Clamp(m, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    public static void AverageS8Reference(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int y0 = oy * p.StrideH - p.PadTop, x0 = ox * p.StrideW - p.PadLeft;
                    int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    int count = (ye - ys) * (xe - xs);
                    for (int ch = 0; ch < c; ch++)
                    {
                        int sum = 0;
                        for (int y = ys; y < ye; y++)
                            for (int x = xs; x < xe; x++)
                                sum += input[((b * inH + y) * inW + x) * c + ch];
                        int avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        output[((b * outShape.D1 + oy) * outShape.D2 + ox) * c + ch] = (sbyte)System.Math.Clamp(avg, p.ActivationMin, p.ActivationMax);
                    }
                }
    }
}
