using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Mean over H and W of int8 NHWC (global average pool): acc = sum(x + InputOffset) over the
/// H x W positions, out = clamp(MultiplyByQuantizedMultiplier(acc, M, S) + OutputOffset) where
/// M x 2^S represents input_scale / (output_scale x H x W).
/// </summary>
public static partial class Mean
{
    public static void EvalS8(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
        => EvalS8Reference(p, input, inShape, output);

    public static void EvalS8Reference(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
    {
        int hw = inShape.D1 * inShape.D2, c = inShape.D3;
        for (int b = 0; b < inShape.D0; b++)
            for (int ch = 0; ch < c; ch++)
            {
                int acc = 0;
                for (int i = 0; i < hw; i++)
                    acc += input[(b * hw + i) * c + ch] + p.InputOffset;
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc, p.Multiplier, p.Shift) + p.OutputOffset;
                output[b * c + ch] = (sbyte)System.Math.Clamp(v, -128, 127);
            }
    }
}
