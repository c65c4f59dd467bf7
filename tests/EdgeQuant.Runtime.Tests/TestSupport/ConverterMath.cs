using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// Builds kernel parameters from real-valued scales and zero points exactly as a converter
/// does (TFLite's int8 conventions), so kernel tests exercise the parameters real blobs carry.
/// </summary>
internal static class ConverterMath
{
    /// <summary>Per-channel requantization of Conv2D / DepthwiseConv2D / FullyConnected: in_scale * w_scale[oc] / out_scale.</summary>
    public static (int[] Multipliers, int[] Shifts) PerChannel(float inScale, ReadOnlySpan<float> filterScales, float outScale)
    {
        var m = new int[filterScales.Length];
        var s = new int[filterScales.Length];
        for (int c = 0; c < filterScales.Length; c++)
            (m[c], s[c]) = QuantMath.QuantizeMultiplier((double)inScale * filterScales[c] / outScale);
        return (m, s);
    }

    /// <summary>TFLite's int8 Add/Sub: left shift 20, inputs rescaled to twice the larger input scale.</summary>
    public static ElementwiseParams Add(float s1, int z1, float s2, int z2, float so, int zo, int actMin = -128, int actMax = 127)
    {
        const int leftShift = 20;
        double twiceMax = 2.0 * System.Math.Max(s1, s2);
        var (m1, sh1) = QuantMath.QuantizeMultiplier(s1 / twiceMax);
        var (m2, sh2) = QuantMath.QuantizeMultiplier(s2 / twiceMax);
        var (mo, sho) = QuantMath.QuantizeMultiplier(twiceMax / ((1 << leftShift) * (double)so));
        return new ElementwiseParams
        {
            Input1Offset = -z1, Input2Offset = -z2, OutputOffset = zo, LeftShift = leftShift,
            Input1Multiplier = m1, Input1Shift = sh1, Input2Multiplier = m2, Input2Shift = sh2,
            OutputMultiplier = mo, OutputShift = sho, ActivationMin = actMin, ActivationMax = actMax,
        };
    }

    /// <summary>TFLite's int8 Mul: one multiplier s1 * s2 / so.</summary>
    public static ElementwiseParams Mul(float s1, int z1, float s2, int z2, float so, int zo, int actMin = -128, int actMax = 127)
    {
        var (mo, sho) = QuantMath.QuantizeMultiplier((double)s1 * s2 / so);
        return new ElementwiseParams
        {
            Input1Offset = -z1, Input2Offset = -z2, OutputOffset = zo,
            OutputMultiplier = mo, OutputShift = sho, ActivationMin = actMin, ActivationMax = actMax,
        };
    }

    /// <summary>Mean over H x W: in_scale / (out_scale * H * W).</summary>
    public static MeanParams Mean(float si, int zi, float so, int zo, int hw)
    {
        var (m, s) = QuantMath.QuantizeMultiplier((double)si / ((double)so * hw));
        return new MeanParams { InputOffset = -zi, OutputOffset = zo, Multiplier = m, Shift = s };
    }

    /// <summary>One Concatenation input: copied when its quantization equals the output's (multiplier 0), else rescaled.</summary>
    public static (int Offset, int Multiplier, int Shift) ConcatInput(float si, int zi, float so, int zo)
    {
        if (si == so && zi == zo) return (0, 0, 0);
        var (m, s) = QuantMath.QuantizeMultiplier((double)si / so);
        return (-zi, m, s);
    }

    /// <summary>Softmax table E[d] = round(2^23 * exp(-beta * scale * d)), d in [0, 255].</summary>
    public static int[] SoftmaxTable(double beta, float inScale)
    {
        var t = new int[256];
        for (int d = 0; d < 256; d++)
            t[d] = (int)System.Math.Round((1 << 23) * System.Math.Exp(-beta * inScale * d), MidpointRounding.AwayFromZero);
        return t;
    }

    /// <summary>256-entry table: t[x + 128] = quantize(f(dequantize(x))).</summary>
    public static sbyte[] LookupTable(Func<double, double> f, float inScale, int inZp, float outScale, int outZp)
    {
        var t = new sbyte[256];
        for (int x = -128; x < 128; x++)
            t[x + 128] = Quantize(f((x - inZp) * (double)inScale), outScale, outZp);
        return t;
    }

    public static double Sigmoid(double x) => 1.0 / (1.0 + System.Math.Exp(-x));

    /// <summary>Reference quantization of a real value: round half away from zero, plus zero point, saturated to [min, max].</summary>
    public static sbyte Quantize(double real, float scale, int zp, int min = -128, int max = 127)
    {
        double r = System.Math.Round(real / scale, MidpointRounding.AwayFromZero) + zp;
        return (sbyte)System.Math.Clamp(r, min, max);
    }

    /// <summary>Output quantization covering [lo, hi] (always including 0), as calibration would choose it.</summary>
    public static (float Scale, int ZeroPoint) Choose(double lo, double hi)
    {
        lo = System.Math.Min(lo, 0);
        hi = System.Math.Max(hi, 0);
        if (hi - lo < 1e-6) hi = lo + 1e-6;
        float scale = (float)((hi - lo) / 255.0);
        int zp = (int)System.Math.Clamp(System.Math.Round(-128 - lo / scale), -128, 127);
        return (scale, zp);
    }
}
