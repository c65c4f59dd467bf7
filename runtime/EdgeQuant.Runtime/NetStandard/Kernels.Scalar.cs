// netstandard2.1 build only: the dispatchers of the kernels (Conv2D.cs, DepthwiseConv2D.cs,
// FullyConnected.cs, Elementwise.cs, Mean.cs, Pooling.cs, Transpose.cs in net10.0) with the same signatures, always
// running the reference kernels (*.Reference.cs, compiled in both builds). There is no
// System.Runtime.Intrinsics in netstandard2.1, so the fast paths and their per-op data do not exist.
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels.Simd
{
    /// <summary>The fast paths' per-op data; never created in this build (Interpreter asks only when Vector128 is accelerated).</summary>
    internal sealed class PackedFilter
    {
        private PackedFilter() { }
    }
}

namespace EdgeQuant.Runtime.Kernels
{
    using EdgeQuant.Runtime.Kernels.Simd;

    public static partial class Conv2D
    {
        public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
            ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
            => EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);

        internal static PackedFilter Prepare(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");

        /// <summary>No rows kernels here: the interpreter splits a pixel range into sub-convolutions.</summary>
        internal static bool TryEvalS8Pixels(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape, PackedFilter? packed,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, int pixelFrom, int pixelTo) => false;

        internal static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
            ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias, PackedFilter? packed,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
            => EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);

        /// <summary>No Winograd kernel here: the interpreter never splits a convolution by tiles.</summary>
        internal static bool WinogradTakes(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter packed,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, in Shape4 outShape) => false;

        internal static int WinogradTiles(int outH, int outW, out int tilesPerRow)
        {
            tilesPerRow = (outW + 1) / 2;
            return (outH + 1) / 2 * tilesPerRow;
        }

        internal static bool TryEvalS8WinogradTiles(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
            PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
            int tileFrom, int tileTo) => false;
    }

    public static partial class DepthwiseConv2D
    {
        public static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
            ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
            => EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);

        internal static PackedFilter Prepare(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");

        internal static void EvalS8(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
            ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias, PackedFilter? packed,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
            => EvalS8Reference(p, input, inShape, filter, filterShape, bias, multipliers, shifts, output, outShape);

        /// <summary>No rows kernel here: the interpreter keeps bands of rows.</summary>
        internal static bool RowsAvx2Takes(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter? packed, in Shape4 outShape) => false;

        internal static bool TryEvalS8Pixels(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
            PackedFilter? packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, int pixelFrom, int pixelTo) => false;
    }

    public static partial class FullyConnected
    {
        public static void EvalS8(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
            ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
            => EvalS8Reference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);

        internal static PackedFilter Prepare(in FullyConnectedParams p, ReadOnlySpan<sbyte> filter, int cin, int cout, ReadOnlySpan<int> bias)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");

        internal static void EvalS8(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
            ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias, PackedFilter? packed,
            ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
            => EvalS8Reference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
    }

    public static partial class Elementwise
    {
        public static void AddS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
            Span<sbyte> output, in Shape4 outShape, bool subtract)
            => AddS8Reference(p, a, aShape, b, bShape, output, outShape, subtract);

        public static void MulS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
            Span<sbyte> output, in Shape4 outShape)
            => MulS8Reference(p, a, aShape, b, bShape, output, outShape);

        internal static sbyte[]? PrepareAddTable(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape) => null;

        internal static void AddS8Table(sbyte[] table, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");

        internal static AddRequantization? PrepareAddAvx512(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape) => null;

        internal static void AddS8Avx512(AddRequantization q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");

        internal static AddAffine? PrepareAddAffine(in ElementwiseParams p, bool subtract, in Shape4 aShape, in Shape4 bShape, in Shape4 outShape) => null;

        internal static void AddS8Affine(AddAffine q, ReadOnlySpan<sbyte> a, ReadOnlySpan<sbyte> b, Span<sbyte> output)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");
    }

    public static partial class Concatenation
    {
        internal static RescaleAffine? PrepareRescaleAffine(int inputOffset, int multiplier, int shift, int outputOffset, ReadOnlySpan<sbyte> table, int chunk) => null;

        internal static void EvalInputS8Affine(RescaleAffine q, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
            int axis, int axisOffset)
            => throw new PlatformNotSupportedException("no SIMD fast paths in the netstandard2.1 build");
    }

    /// <summary>The float32 form of a Concatenation input's rescaling; never built in the netstandard2.1 build.</summary>
    internal sealed class RescaleAffine
    {
        private RescaleAffine() { }
    }

    /// <summary>The float32 form of an Add; never built in the netstandard2.1 build.</summary>
    internal sealed class AddAffine
    {
        private AddAffine() { }
    }

    /// <summary>The AVX-512 Add's prepared requantizations; never built in the netstandard2.1 build.</summary>
    internal sealed class AddRequantization
    {
        private AddRequantization() { }
    }

    public static partial class Mean
    {
        public static void EvalS8(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
            => EvalS8Reference(p, input, inShape, output);

        public static void EvalS8(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, int c0, int c1)
            => EvalS8Reference(p, input, inShape, output, c0, c1);
    }

    public static partial class Pooling
    {
        public static void MaxS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
            => MaxS8Reference(p, input, inShape, output, outShape);

        public static void AverageS8(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
            => AverageS8Reference(p, input, inShape, output, outShape);
    }

    public static partial class Transpose
    {
        public static void EvalS8(in TransposeParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
            => EvalS8Reference(p, input, inShape, output, outShape);
    }
}
