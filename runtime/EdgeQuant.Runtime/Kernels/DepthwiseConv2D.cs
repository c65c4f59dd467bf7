using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Depthwise Conv2D, int8 NHWC. Input [N, H, W, Cin], filter [1, Kh, Kw, Cout] with
/// Cout = Cin x DepthMultiplier; output channel oc reads input channel oc / DepthMultiplier.
/// Arithmetic as <see cref="Conv2D"/>.
/// </summary>
public static partial class DepthwiseConv2D
{
    public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }
}
