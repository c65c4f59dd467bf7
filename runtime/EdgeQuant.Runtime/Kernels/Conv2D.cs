using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Conv2D, int8 NHWC. Input [N, H, W, Cin] int8, filter [Cout, Kh, Kw, Cin] int8 (symmetric,
/// per-channel), bias [Cout] int32 (scale input_scale x filter_scale[oc]), output [N, Ho, Wo, Cout].
/// out = clamp(MultiplyByQuantizedMultiplier(bias + sum((x + inputOffset) * w), m[oc], s[oc]) + outputOffset).
/// Padded positions contribute nothing (they hold the input zero point).
/// </summary>
public static partial class Conv2D
{
    public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }
}
