using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// MaxPool2D and AveragePool2D over int8 NHWC; input and output share quantization.
/// Average: the sum over the window's valid (unpadded) positions divided by their count,
/// rounded half away from zero (padding is not counted, as ONNX count_include_pad=0 and TFLite).
/// </summary>
public static partial class Pooling
{
    /// <summary>The dispatcher: staged rows (rows up to 8 KB), channels in Vector256 (AVX2) and Vector128 steps, then the reference.</summary>
    public static void MaxS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        if (TryMaxS8Rows(p, input, inShape, output, outShape)) return;
        if (Vector128.IsHardwareAccelerated) MaxS8Vector(p, input, inShape, output, outShape);
        else MaxS8Reference(p, input, inShape, output, outShape);
    }

    /// <summary>The dispatcher: channels in Vector128 steps, then the reference.</summary>
    public static void AverageS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        if (Vector128.IsHardwareAccelerated) AverageS8Vector(p, input, inShape, output, outShape);
        else AverageS8Reference(p, input, inShape, output, outShape);
    }
}
