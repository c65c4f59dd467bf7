using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Concatenation of int8 rank-4 tensors along an axis. An input whose quantization differs from
/// the output's is rescaled: out = clamp(MultiplyByQuantizedMultiplier(x + inOffset, M, S) + OutputOffset);
/// an input with identical quantization (M = 0 marks it) is copied.
/// </summary>
public static partial class Concatenation
{
    /// <summary>Copies one input into its slot of the output. <paramref name="axisOffset"/> is the input's start along the axis.</summary>
    public static void EvalInputS8(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: true);

    /// <summary>As <see cref="EvalInputS8"/>, the rescaling one element at a time (the definition the vector path is tested against).</summary>
    public static void EvalInputS8Reference(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: false);

    private static void EvalInput(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset, bool vector)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= inShape[d];
        for (int d = axis + 1; d < 4; d++) inner *= inShape[d];
        int inAxis = inShape[axis], outAxis = outShape[axis];
        int chunk = inAxis * inner;
        for (int o = 0; o < outer; o++)
        {
            var src = input.Slice(o * chunk, chunk);
            var dst = output.Slice((o * outAxis + axisOffset) * inner, chunk);
            if (multiplier == 0)
            {
                src.CopyTo(dst);
                continue;
            }
#if NETSTANDARD2_1
            int i = 0;
#else
            int i = vector ? RescaleVector(src, dst, inputOffset, multiplier, shift, outputOffset) : 0;
#endif
            for (; i < chunk; i++)
            {
                int v = QuantMath.MultiplyByQuantizedMultiplier(src[i] + inputOffset, multiplier, shift) + outputOffset;
                dst[i] = (sbyte)System.Math.Clamp(v, -128, 127);
            }
        }
    }
}
