using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Mean over H and W of int8 NHWC (global average pool): acc = sum(x + InputOffset) over the
/// H x W positions, out = clamp(MultiplyByQuantizedMultiplier(acc x 2^L, M, S - L) + OutputOffset)
/// where M x 2^S represents input_scale / (output_scale x H x W) and L = <see cref="HeadroomShift"/>.
/// The pre-shift keeps the fixed-point product's first rounding far below one output step
/// (without it, a multiplier near 2^-3 rounds twice on a coarse grid and flips about 6% of outputs
/// against the exact mean).
/// </summary>
public static partial class Mean
{
    /// <summary>
    /// The left shift applied to the accumulator: the largest L &lt;= 16 with 383 x hw x 2^L &lt; 2^31
    /// and S - L &gt;= -31; 0 when S is positive.
    /// </summary>
    public static int HeadroomShift(int hw, int shift)
    {
        if (shift > 0) return 0;
        long bound = 383L * hw; // |x + InputOffset| <= 127 + 255 + 1
        int l = 0;
        while (l < 16 && (bound << (l + 1)) < int.MaxValue && shift - (l + 1) >= -31) l++;
        return l;
    }

    public static void EvalS8Reference(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
        => EvalS8Reference(p, input, inShape, output, 0, inShape.D3);

    /// <summary>Channels [<paramref name="c0"/>, <paramref name="c1"/>) only (the rest of the output is not written).</summary>
    public static void EvalS8Reference(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, int c0, int c1)
    {
        int hw = inShape.D1 * inShape.D2, c = inShape.D3;
        int l = HeadroomShift(hw, p.Shift);
        for (int b = 0; b < inShape.D0; b++)
            for (int ch = c0; ch < c1; ch++)
            {
                int acc = 0;
                for (int i = 0; i < hw; i++)
                    acc += input[(b * hw + i) * c + ch] + p.InputOffset;
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc << l, p.Multiplier, p.Shift - l) + p.OutputOffset;
                output[b * c + ch] = (sbyte)System.Math.Clamp(v, -128, 127);
            }
    }
}
