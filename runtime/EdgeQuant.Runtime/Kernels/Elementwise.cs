using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Add, Sub and Mul of int8 NHWC tensors with numpy-style broadcasting over rank-4 shapes.
/// Add/Sub: both inputs are shifted left by LeftShift, rescaled to a common scale with
/// multipliers below one, summed, and rescaled to the output (TFLite's int8 Add).
/// Mul: the product of the offset inputs rescaled by OutputMultiplier.
/// </summary>
public static partial class Elementwise
{
    public static void AddS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape, bool subtract)
    {
        AddS8Reference(p, a, aShape, b, bShape, output, outShape, subtract);
    }

    public static void MulS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        MulS8Reference(p, a, aShape, b, bShape, output, outShape);
    }
}
