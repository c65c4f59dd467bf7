using System.Runtime.CompilerServices;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Per-inference quantization of a float activation tensor, ONNX DynamicQuantizeLinear semantics:
/// uint8, one scale and zero point for the whole tensor from its observed range widened to include 0,
/// rounding half to even. This is the definition every dynamic op uses (docs/compression.md).
/// </summary>
public static class DynamicQuantize
{
    /// <summary>
    /// <c>lo = min(0, min x)</c>, <c>hi = max(0, max x)</c>, <c>scale = (hi − lo) / 255</c> (float32),
    /// <c>zero_point = clamp(round_half_even(−lo / scale), 0, 255)</c>,
    /// <c>q = clamp(round_half_even(x / scale) + zero_point, 0, 255)</c>. NaN elements are ignored by the
    /// range and quantize to the zero point. When the range is empty (all zeros) or not finite the scale
    /// is 0, the zero point 0 and every code 0 (the op's integer sums are then 0).
    /// </summary>
    public static void QuantizeU8(ReadOnlySpan<float> x, Span<byte> q, out float scale, out int zeroPoint)
    {
        float lo = 0, hi = 0;
        for (int i = 0; i < x.Length; i++)
        {
            float v = x[i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
        }
        scale = (hi - lo) / 255f;
        if (!(scale > 0) || !float.IsFinite(scale))
        {
            scale = 0;
            zeroPoint = 0;
            q.Slice(0, x.Length).Clear();
            return;
        }
        zeroPoint = Saturate(MathF.Round(-lo / scale, MidpointRounding.ToEven));
        for (int i = 0; i < x.Length; i++) q[i] = Code(x[i], scale, zeroPoint);
    }

    /// <summary>One element: clamp(round_half_even(x / scale) + zero point, 0, 255); NaN gives the zero point.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte Code(float x, float scale, int zeroPoint)
    {
        float r = MathF.Round(x / scale, MidpointRounding.ToEven);
        if (float.IsNaN(r)) return (byte)zeroPoint;
        return (byte)Saturate(r + zeroPoint);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Saturate(float v) => v <= 0 ? 0 : v >= 255 ? 255 : (int)v;

    /// <summary>
    /// The float result of one output: <c>(float)acc × (input_scale × weight_scale) + bias</c>, each step
    /// in float32 in that order (what ONNX Runtime's MatMulInteger → Cast → Mul → Add computes),
    /// then clamped to [min, max].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Output(int acc, float inputScale, float weightScale, float bias, float min, float max)
    {
        float m = inputScale * weightScale;
        float y = (float)acc * m;
        y += bias;
        return y < min ? min : y > max ? max : y;
    }
}
