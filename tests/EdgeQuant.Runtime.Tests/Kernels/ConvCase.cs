using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// A random Conv2D or DepthwiseConv2D case with converter-style quantization, and its float
/// simulation: dequantize, convolve in double, quantize with the output scale and zero point.
/// </summary>
internal sealed class ConvCase
{
    public bool Depthwise;
    public Conv2DParams P;
    public Shape4 InShape, FilterShape, OutShape;
    public sbyte[] Input = [], Filter = [];
    public int[] Bias = [], Multipliers = [], Shifts = [];
    public float InScale, OutScale;
    public int InZp, OutZp;
    public float[] FilterScales = [];

    public static ConvCase Random(Rand r, bool depthwise)
    {
        var c = new ConvCase { Depthwise = depthwise };
        int n = r.Int(1, 2), cin = r.Int(1, 7);
        int kh = r.Int(1, 4), kw = r.Int(1, 4);
        int sh = r.Int(1, 3), sw = r.Int(1, 3), dh = r.Int(1, 2), dw = r.Int(1, 2);
        int mult = depthwise ? r.Int(1, 3) : 1;
        int cout = depthwise ? cin * mult : r.Int(1, 6);
        int pt = r.Int(0, kh - 1), pb = r.Int(0, kh - 1), pl = r.Int(0, kw - 1), pr = r.Int(0, kw - 1);
        int effH = (kh - 1) * dh + 1, effW = (kw - 1) * dw + 1;
        int h = System.Math.Max(r.Int(1, 9), effH - pt - pb), w = System.Math.Max(r.Int(1, 9), effW - pl - pr);
        int oh = (h + pt + pb - effH) / sh + 1, ow = (w + pl + pr - effW) / sw + 1;
        c.P = new Conv2DParams
        {
            StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
            PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr, DepthMultiplier = mult, FoldedBiasOffset = -1,
        };
        c.InShape = new Shape4(n, h, w, cin);
        c.FilterShape = depthwise ? new Shape4(1, kh, kw, cout) : new Shape4(cout, kh, kw, cin);
        c.OutShape = new Shape4(n, oh, ow, cout);
        c.InScale = r.Scale(0.005, 0.1);
        c.InZp = r.Int(-30, 30);
        c.Input = r.S8(c.InShape.FlatSize);
        c.Filter = r.S8(c.FilterShape.FlatSize, -127, 127);
        c.FilterScales = r.Scales(cout, 0.001, 0.02);
        c.Bias = r.I32(cout, -3000, 3000);

        // Calibrate the output range on the float result, sometimes too narrow so saturation is exercised.
        var real = c.Real();
        double lo = real.Min(), hi = real.Max();
        double slack = r.Int(0, 3) == 0 ? 0.7 : 1.1;
        (c.OutScale, c.OutZp) = ConverterMath.Choose(lo * slack, hi * slack);
        bool relu = r.Int(0, 3) == 0;
        c.P.InputOffset = -c.InZp;
        c.P.OutputOffset = c.OutZp;
        c.P.ActivationMin = relu ? c.OutZp : -128;
        c.P.ActivationMax = 127;
        (c.Multipliers, c.Shifts) = ConverterMath.PerChannel(c.InScale, c.FilterScales, c.OutScale);
        return c;
    }

    /// <summary>The real-valued convolution of the dequantized operands, in double.</summary>
    public double[] Real()
    {
        var y = new double[OutShape.FlatSize];
        int cin = InShape.D3, cout = OutShape.D3, kh = FilterShape.D1, kw = FilterShape.D2;
        int i = 0;
        for (int b = 0; b < OutShape.D0; b++)
            for (int oy = 0; oy < OutShape.D1; oy++)
                for (int ox = 0; ox < OutShape.D2; ox++)
                    for (int oc = 0; oc < cout; oc++, i++)
                    {
                        double ws = FilterScales[oc];
                        double acc = Bias[oc] * ((double)InScale * ws);
                        for (int ky = 0; ky < kh; ky++)
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int iy = oy * P.StrideH - P.PadTop + ky * P.DilationH;
                                int ix = ox * P.StrideW - P.PadLeft + kx * P.DilationW;
                                if (iy < 0 || iy >= InShape.D1 || ix < 0 || ix >= InShape.D2) continue;
                                int pix = ((b * InShape.D1 + iy) * InShape.D2 + ix) * cin;
                                if (Depthwise)
                                {
                                    int ic = oc / P.DepthMultiplier;
                                    acc += (Input[pix + ic] - InZp) * (double)InScale * (Filter[(ky * kw + kx) * cout + oc] * ws);
                                }
                                else
                                {
                                    for (int ic = 0; ic < cin; ic++)
                                        acc += (Input[pix + ic] - InZp) * (double)InScale * (Filter[((oc * kh + ky) * kw + kx) * cin + ic] * ws);
                                }
                            }
                        y[i] = acc;
                    }
        return y;
    }

    public sbyte[] Expected()
    {
        var real = Real();
        var q = new sbyte[real.Length];
        for (int i = 0; i < q.Length; i++) q[i] = ConverterMath.Quantize(real[i], OutScale, OutZp, P.ActivationMin, P.ActivationMax);
        return q;
    }

    public sbyte[] Run(bool reference)
    {
        var output = new sbyte[OutShape.FlatSize];
        if (Depthwise)
        {
            if (reference) Runtime.Kernels.DepthwiseConv2D.EvalS8Reference(P, Input, InShape, Filter, FilterShape, Bias, Multipliers, Shifts, output, OutShape);
            else Runtime.Kernels.DepthwiseConv2D.EvalS8(P, Input, InShape, Filter, FilterShape, Bias, Multipliers, Shifts, output, OutShape);
        }
        else
        {
            if (reference) Runtime.Kernels.Conv2D.EvalS8Reference(P, Input, InShape, Filter, FilterShape, Bias, Multipliers, Shifts, output, OutShape);
            else Runtime.Kernels.Conv2D.EvalS8(P, Input, InShape, Filter, FilterShape, Bias, Multipliers, Shifts, output, OutShape);
        }
        return output;
    }

    public override string ToString() =>
        $"{(Depthwise ? "depthwise" : "conv")} in {InShape} filter {FilterShape} out {OutShape} stride ({P.StrideH},{P.StrideW}) " +
        $"dilation ({P.DilationH},{P.DilationW}) pads ({P.PadTop},{P.PadLeft},{P.PadBottom},{P.PadRight}) multiplier {P.DepthMultiplier}";
}

internal static class Lsb
{
    /// <summary>Asserts every element of <paramref name="actual"/> is within <paramref name="tolerance"/> of <paramref name="expected"/>.</summary>
    public static void AssertWithin(ReadOnlySpan<sbyte> actual, ReadOnlySpan<sbyte> expected, int tolerance, string context)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), context);
        for (int i = 0; i < actual.Length; i++)
            if (System.Math.Abs(actual[i] - expected[i]) > tolerance)
                Assert.Fail($"{context}: element {i} is {actual[i]}, the float simulation gives {expected[i]} (tolerance {tolerance} LSB)");
    }
}
