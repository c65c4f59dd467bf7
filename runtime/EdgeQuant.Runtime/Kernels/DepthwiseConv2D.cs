using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Depthwise Conv2D, int8 NHWC. Input [N, H, W, Cin], filter [1, Kh, Kw, Cout] with
/// Cout = Cin x DepthMultiplier; output channel oc reads input channel oc / DepthMultiplier.
/// Arithmetic as <see cref="Conv2D"/>.
/// </summary>
public static partial class DepthwiseConv2D
{
    /// <summary>
    /// The dispatcher: AVX2 (depth multiplier 1), Vector128 (depth multipliers 1..16; the x64 fallback
    /// for the others), then the reference; 16 channels per step.
    /// </summary>
    public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
        => EvalS8(p, input, inShape, filter, filterShape, bias, null, multipliers, shifts, output, outShape);

    /// <summary>
    /// The dispatcher with the per-op data of <see cref="Prepare"/> (null: none): AVX2 over staged
    /// rows first (<see cref="TryEvalS8RowsAvx2"/>), on arm64 SDOT over quadruplet rows with Dp (<see cref="TryEvalS8RowsSdot"/>),
    /// widened multiply-accumulate over staged rows (<see cref="TryEvalS8RowsLanes"/>), then as above.
    /// </summary>
    internal static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias, Simd.PackedFilter? packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        if (packed is not null && System.Runtime.Intrinsics.X86.Avx2.IsSupported
            && TryEvalS8RowsAvx2(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
            return;
        if (packed is not null && System.Runtime.Intrinsics.Arm.Dp.IsSupported && packed.Quads is not null
            && TryEvalS8RowsSdot(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
            return;
        if (packed is not null && !System.Runtime.Intrinsics.X86.Avx2.IsSupported && packed.RowTaps is not null
            && TryEvalS8RowsLanes(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
            return;
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported
            && TryEvalS8Avx2(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape))
            return;
        if (Vector128.IsHardwareAccelerated
            && TryEvalS8Vector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape))
            return;
        EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }

    /// <summary>The scalar tail of the fast paths: channels [from, Cout) of one output pixel, as the reference computes them.</summary>
    private static void ScalarChannels(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, ReadOnlySpan<sbyte> filter, int kh, int kw,
        ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> outPixel, int b, int iy0, int ix0, int from)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3, cout = outPixel.Length;
        for (int oc = from; oc < cout; oc++)
        {
            int ic = oc / p.DepthMultiplier;
            int acc = bias[oc];
            for (int ky = 0; ky < kh; ky++)
            {
                int iy = iy0 + ky * p.DilationH;
                if ((uint)iy >= (uint)inH) continue;
                for (int kx = 0; kx < kw; kx++)
                {
                    int ix = ix0 + kx * p.DilationW;
                    if ((uint)ix >= (uint)inW) continue;
                    acc += (input[((b * inH + iy) * inW + ix) * cin + ic] + p.InputOffset) * filter[(ky * kw + kx) * cout + oc];
                }
            }
            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
            outPixel[oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
        }
    }
}
