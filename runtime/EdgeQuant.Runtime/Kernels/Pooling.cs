using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// MaxPool2D and AveragePool2D over int8 NHWC; input and output share quantization.
/// Average: the sum over the window's valid (unpadded) positions divided by their count,
/// rounded half away from zero (padding is not counted, as ONNX count_include_pad=0 and TFLite).
/// </summary>
public static partial class Pooling
{
    public static void MaxS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
        => MaxS8Reference(p, input, inShape, output, outShape);

    public static void AverageS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
        => AverageS8Reference(p, input, inShape, output, outShape);
}
