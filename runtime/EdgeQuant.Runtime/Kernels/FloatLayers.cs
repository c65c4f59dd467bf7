using EdgeQuant.Runtime.Format;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics;
#endif

namespace EdgeQuant.Runtime.Kernels;

public static partial class FloatLayers
{
    /// <summary>
    /// The filter of a Conv2DF32 ([Cout, Kh, Kw, Cin]) or FullyConnectedF32 ([Cout, Cin]) transposed so that output
    /// channels are contiguous ([Kh, Kw, Cin, Cout] / [Cin, Cout]), for the fast paths (made once per interpreter).
    /// </summary>
    public static float[] Transpose(ReadOnlySpan<float> filter, int cout)
    {
        int per = filter.Length / cout;
        var t = new float[filter.Length];
        for (int oc = 0; oc < cout; oc++)
            for (int i = 0; i < per; i++)
                t[i * cout + oc] = filter[oc * per + i];
        return t;
    }

    /// <summary>Conv2DF32 / DepthwiseConv2DF32: the Vector128 path when accelerated (the same bytes), else the reference.
    /// <paramref name="transposed"/> is <see cref="Transpose"/> of a Conv2D filter (null: reference).</summary>
    public static void ConvF32(in DynamicConvParams p, bool depthwise, ReadOnlySpan<float> input, in Shape4 inShape,
        ReadOnlySpan<float> filter, float[]? transposed, in Shape4 filterShape, ReadOnlySpan<float> bias, Span<float> output, in Shape4 outShape)
    {
#if !NETSTANDARD2_1
        if (Vector128.IsHardwareAccelerated)
        {
            if (!depthwise && transposed is not null) { ConvF32Vector128(p, input, inShape, transposed, filterShape, bias, output, outShape); return; }
            if (depthwise && p.DepthMultiplier == 1) { DepthwiseF32Vector128(p, input, inShape, filter, filterShape, bias, output, outShape); return; }
        }
#endif
        ConvF32Reference(p, depthwise, input, inShape, filter, filterShape, bias, output, outShape);
    }

    /// <summary>FullyConnectedF32: the Vector128 path over <paramref name="transposed"/> ([Cin, Cout]) when accelerated, else the reference.</summary>
    public static void FullyConnectedF32(ReadOnlySpan<float> input, int batches, int cin, ReadOnlySpan<float> filter, float[]? transposed, int cout,
        ReadOnlySpan<float> bias, float min, float max, Span<float> output)
    {
#if !NETSTANDARD2_1
        if (Vector128.IsHardwareAccelerated && transposed is not null)
        {
            FullyConnectedF32Vector128(input, batches, cin, transposed, cout, bias, min, max, output);
            return;
        }
#endif
        FullyConnectedF32Reference(input, batches, cin, filter, cout, bias, min, max, output);
    }
}
