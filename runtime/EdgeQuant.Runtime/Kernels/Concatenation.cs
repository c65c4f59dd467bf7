using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
    /// <summary>Fewest elements of an input rescaled through its 256-value table: building the table costs about as much as 256 elements.</summary>
    internal const int RescaleTableMinElements = 512;

    /// <summary>
    /// Whether this machine maps bytes through a 256-value table faster than it rescales them: with AVX-512 VBMI (two
    /// VPERMI2B per 64 bytes), on arm64 (TBL and three TBX per 16), and byte by byte on x64 CPUs with AVX2 and no AVX-512
    /// (Zen 1, whose one multiplying pipe makes the exact vector rescaling slow: fashion_resnet's 7x7x88 took 4.4-5.1 us
    /// rescaled, 3.3 mapped). AVX-512 machines without VBMI keep the vector rescaling.
    /// </summary>
#if NETSTANDARD2_1
    internal static bool MapsTables => false;
#else
    internal static bool MapsTables => Simd.TableMap.IsSupported
        || (System.Runtime.Intrinsics.X86.Avx2.IsSupported && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported);
#endif

    /// <summary>
    /// Whether a rescaled input runs in its float32 form (<see cref="PrepareRescaleAffine"/>) rather than through its
    /// table: where the table is mapped byte by byte (AVX2 without AVX-512). With VBMI the two VPERMI2B per 64 bytes are
    /// faster (Zen 5, fashion_resnet's 7x7x88 Concatenation: 0.25-0.35 us mapped, 0.46-0.70 in float32), as is arm64's
    /// TBL/TBX.
    /// </summary>
#if NETSTANDARD2_1
    internal static bool PrefersAffine => false;
#else
    internal static bool PrefersAffine => !Simd.TableMap.IsSupported;
#endif

    /// <summary>Copies one input into its slot of the output. <paramref name="axisOffset"/> is the input's start along the axis.</summary>
    public static void EvalInputS8(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: true);

    /// <summary>As <see cref="EvalInputS8"/>, the rescaling one element at a time (the definition the vector path is tested against).</summary>
    public static void EvalInputS8Reference(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: false);

    /// <summary>
    /// The 256 results of an input's rescaling, computed once per op by the reference arithmetic:
    /// table[(byte)x] = clamp(MultiplyByQuantizedMultiplier(x + inputOffset, multiplier, shift) + outputOffset).
    /// </summary>
    internal static sbyte[] RescaleTable(int inputOffset, int multiplier, int shift, int outputOffset)
    {
        var table = new sbyte[256];
        for (int x = -128; x < 128; x++)
            table[x & 0xFF] = (sbyte)System.Math.Clamp(QuantMath.MultiplyByQuantizedMultiplier(x + inputOffset, multiplier, shift) + outputOffset, -128, 127);
        return table;
    }

    /// <summary>
    /// An input's place in the output as contiguous runs: <c>Outer</c> runs of <c>Chunk</c> elements (the input's
    /// dimensions from the axis on), run o at o x <c>OutRun</c> + <c>At</c> of the output.
    /// </summary>
    internal static (int Outer, int Chunk, int OutRun, int At) Runs(in Shape4 inShape, in Shape4 outShape, int axis, int axisOffset)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= inShape[d];
        for (int d = axis + 1; d < 4; d++) inner *= inShape[d];
        return (outer, inShape[axis] * inner, outShape[axis] * inner, axisOffset * inner);
    }

    /// <summary>As <see cref="EvalInputS8Reference"/> (the same bytes) with the input's rescaling given as its <see cref="RescaleTable"/>.</summary>
    internal static void EvalInputS8Mapped(ReadOnlySpan<sbyte> table, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset)
    {
        var (outer, chunk, outRun, at) = Runs(inShape, outShape, axis, axisOffset);
#if !NETSTANDARD2_1
        MapRuns(table, input, output, outer, chunk, outRun, at);
#else
        for (int o = 0; o < outer; o++)
        {
            var src = input.Slice(o * chunk, chunk);
            var dst = output.Slice(o * outRun + at, chunk);
            for (int k = 0; k < chunk; k++)
                dst[k] = table[(byte)src[k]];
        }
#endif
    }

    private static void EvalInput(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset, bool vector)
    {
        var (outer, chunk, outRun, at) = Runs(inShape, outShape, axis, axisOffset);
#if !NETSTANDARD2_1
        // The rescaling is a function of the int8 value alone: its 256 results, computed once by the vector code, looked
        // up, when there are enough elements to repay them: runs shorter than a vector step (a few channels per pixel),
        // or any runs where bytes map through a table fast (AVX-512 VBMI, arm64).
        long total = (long)outer * chunk;
        if (vector && multiplier != 0 && ((chunk < 16 && total >= 256) || (MapsTables && total >= RescaleTableMinElements)))
        {
            Span<sbyte> table = stackalloc sbyte[256];
            RescaleValues(table, inputOffset, multiplier, shift, outputOffset);
            MapRuns(table, input, output, outer, chunk, outRun, at);
            return;
        }
#endif
        for (int o = 0; o < outer; o++)
        {
            var src = input.Slice(o * chunk, chunk);
            var dst = output.Slice(o * outRun + at, chunk);
            if (multiplier == 0)
            {
#if NETSTANDARD2_1
                src.CopyTo(dst);
#else
                // Inline vector moves for a run of a few channels (a call to memmove per pixel cost more than the copy).
                Conv2D.Copy(ref MemoryMarshal.GetReference(src), ref MemoryMarshal.GetReference(dst), chunk);
#endif
                continue;
            }
#if NETSTANDARD2_1
            int i = 0;
#else
            int i = vector ? RescaleVector(src, dst, inputOffset, multiplier, shift, outputOffset) : 0;
            if (vector && i < chunk && chunk >= 16)
            {
                // The tail as one more step overlapping the one before (recomputing identical bytes of this run only).
                RescaleVector(src.Slice(chunk - 16), dst.Slice(chunk - 16), inputOffset, multiplier, shift, outputOffset);
                i = chunk;
            }
#endif
            for (; i < chunk; i++)
            {
                int v = QuantMath.MultiplyByQuantizedMultiplier(src[i] + inputOffset, multiplier, shift) + outputOffset;
                dst[i] = (sbyte)System.Math.Clamp(v, -128, 127);
            }
        }
    }
}
