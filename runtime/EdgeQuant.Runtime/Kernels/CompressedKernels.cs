using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Conv2D, DepthwiseConv2D and FullyConnected over compressed filters (Int4, Index4, Index8; ops 50-52).
/// Dispatch: the Vector128 paths (x64 SSSE3 / arm64 AdvSimd table look-ups decode 16 or 32 weights
/// in registers) when the per-op data is there and the shape suits them, then the reference.
/// </summary>
public static partial class CompressedKernels
{
    internal static void Conv2D(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias, CompressedPrepared? prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
#if !NETSTANDARD2_1
        if (prepared is not null && TryConv2DVector128(p, input, inShape, filter, filterShape, prepared, multipliers, shifts, output, outShape, scratch))
            return;
#endif
        Conv2DReference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }

    internal static void DepthwiseConv2D(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias, CompressedPrepared? prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
#if !NETSTANDARD2_1
        if (prepared is not null && TryDepthwiseConv2DVector128(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape))
            return;
#endif
        DepthwiseConv2DReference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);
    }

    internal static void FullyConnected(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        CompressedFilter filter, int cout, ReadOnlySpan<int> bias, CompressedPrepared? prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
#if !NETSTANDARD2_1
        if (prepared is not null && TryFullyConnectedVector128(p, input, batches, cin, filter, cout, prepared, multipliers, shifts, output))
            return;
#endif
        FullyConnectedReference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
    }
}
