using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>The float boundary: Quantize (float32 to int8) and Dequantize (int8 to float32), per tensor.</summary>
public static class Quantize
{
    /// <summary>q = clamp(round_half_away(x / scale) + zeroPoint, -128, 127); NaN maps to the zero point.</summary>
    public static void EvalF32ToS8(ReadOnlySpan<float> input, Span<sbyte> output, float scale, int zeroPoint)
    {
        for (int i = 0; i < input.Length; i++)
            output[i] = QuantMath.QuantizeS8(input[i], scale, zeroPoint);
    }

    /// <summary>x = (q - zeroPoint) x scale.</summary>
    public static void EvalS8ToF32(ReadOnlySpan<sbyte> input, Span<float> output, float scale, int zeroPoint)
    {
        for (int i = 0; i < input.Length; i++)
            output[i] = (input[i] - zeroPoint) * scale;
    }
}
