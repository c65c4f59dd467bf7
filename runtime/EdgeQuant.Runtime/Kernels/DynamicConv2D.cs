using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// DynamicConv2D and DynamicDepthwiseConv2D: float NHWC input quantized per inference
/// (<see cref="DynamicQuantize"/>, over the whole tensor), int8 filter ([Cout, Kh, Kw, Cin], or
/// [1, Kh, Kw, Cout] depthwise) with per-channel scales and zero point 0, float bias, float NHWC output.
/// Window rule and padding as Conv2D; padding positions contribute nothing (ONNX ConvInteger pads
/// with the zero point). <c>acc = Σ (q − zp) × w</c>, then <see cref="DynamicQuantize.Output"/>.
/// </summary>
public static partial class DynamicConv2D
{
    /// <summary>Dispatch. <paramref name="codes"/> is scratch of the input's length.</summary>
    public static void EvalF32(in DynamicConvParams p, bool depthwise, ReadOnlySpan<float> input, Shape4 inShape, ReadOnlySpan<sbyte> filter, Shape4 filterShape,
        ReadOnlySpan<float> scales, ReadOnlySpan<float> bias, Span<byte> codes, Span<float> output, Shape4 outShape)
    {
#if NET
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            if (!depthwise)
            {
                EvalF32Vector128(p, input, inShape, filter, filterShape, scales, bias, codes, output, outShape);
                return;
            }
            if (p.DepthMultiplier == 1)
            {
                EvalDepthwiseF32Vector128(p, input, inShape, filter, filterShape, scales, bias, codes, output, outShape);
                return;
            }
        }
#endif
        EvalF32Reference(p, depthwise, input, inShape, filter, filterShape, scales, bias, codes, output, outShape);
    }
}
