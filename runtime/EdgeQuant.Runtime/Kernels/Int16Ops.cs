using EdgeQuant.Runtime.Format;
#if !NETSTANDARD2_1
using System.Runtime.Intrinsics;
#endif

namespace EdgeQuant.Runtime.Kernels;

public static partial class Int16Ops
{
    /// <summary>
    /// Conv2DS16 / DepthwiseConv2DS16: the Vector128 path when accelerated (the same bytes), else the reference.
    /// <paramref name="patch"/>: Conv2D's gathered receptive field, at least Kh × Kw × Cin codes (<see cref="PatchLength"/>; empty for depthwise).
    /// </summary>
    public static void ConvS16(in Conv2DParams p, bool depthwise, ReadOnlySpan<short> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<long> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output, in Shape4 outShape, Span<short> patch)
    {
#if !NETSTANDARD2_1
        if (Vector128.IsHardwareAccelerated)
        {
            if (!depthwise && patch.Length >= PatchLength(filterShape)) { ConvS16Vector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape, patch); return; }
            if (p.DepthMultiplier == 1) { DepthwiseS16Vector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape); return; }
        }
#endif
        ConvS16Reference(p, depthwise, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }

    /// <summary>Codes of one Conv2DS16 receptive field, Kh × Kw × Cin (the filter's row length).</summary>
    public static int PatchLength(in Shape4 filterShape) => filterShape.D1 * filterShape.D2 * filterShape.D3;

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
