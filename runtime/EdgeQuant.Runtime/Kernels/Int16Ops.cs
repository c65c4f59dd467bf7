using EdgeQuant.Runtime.Format;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics;
#endif

namespace EdgeQuant.Runtime.Kernels;

public static partial class Int16Ops
{
    /// <summary>Conv2DS16 / DepthwiseConv2DS16: the Vector128 path when accelerated (the same bytes), else the reference.</summary>
    public static void ConvS16(in Conv2DParams p, bool depthwise, ReadOnlySpan<short> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<long> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output, in Shape4 outShape)
    {
#if !NETSTANDARD2_1
        if (Vector128.IsHardwareAccelerated)
        {
            if (!depthwise) { ConvS16Vector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape); return; }
            if (p.DepthMultiplier == 1) { DepthwiseS16Vector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape); return; }
        }
#endif
        ConvS16Reference(p, depthwise, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }

    /// <summary>FullyConnectedS16: the Vector128 path when accelerated (the same bytes), else the reference.</summary>
    public static void FullyConnectedS16(in FullyConnectedParams p, ReadOnlySpan<short> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<long> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output)
    {
#if !NETSTANDARD2_1
        if (Vector128.IsHardwareAccelerated)
        {
            FullyConnectedS16Vector128(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
            return;
        }
#endif
        FullyConnectedS16Reference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
    }
}
