using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Mean over H and W of int8 NHWC (global average pool). The arithmetic is defined in
/// Mean.Reference.cs (note its accumulator pre-shift, <see cref="HeadroomShift"/>).
/// </summary>
public static partial class Mean
{
    /// <summary>The dispatcher: channels in Vector128 steps, then the reference.</summary>
    public static void EvalS8(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
    {
        if (Vector128.IsHardwareAccelerated) EvalS8Vector128(p, input, inShape, output);
        else EvalS8Reference(p, input, inShape, output);
    }

    /// <summary>Channels [<paramref name="c0"/>, <paramref name="c1"/>) only (the rest of the output is not written): one thread's share.</summary>
    public static void EvalS8(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, int c0, int c1)
    {
        if (Vector128.IsHardwareAccelerated) EvalS8Vector128(p, input, inShape, output, c0, c1);
        else EvalS8Reference(p, input, inShape, output, c0, c1);
    }
}
