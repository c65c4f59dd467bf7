using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>A Concatenation's constant input as the output holds it: <see cref="Concatenation.PrepareConstant"/>.</summary>
internal sealed class ConcatConstant(sbyte[] bytes, bool uniform)
{
    /// <summary>The rescaled bytes: the whole input, or one run (<see cref="Uniform"/>) padded with zeros to a multiple of 32 bytes.</summary>
    public sbyte[] Bytes { get; } = bytes;
    /// <summary>Whether every run along the axis holds the same bytes, kept once.</summary>
    public bool Uniform { get; } = uniform;
}

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

    /// <summary>
    /// A constant input as the output holds it (<see cref="PrepareConstant"/>): its bytes rescaled once by the reference
    /// arithmetic, kept whole, or as one run where every run along the axis is the same (a zero tensor padding channels).
    /// </summary>
    internal static ConcatConstant PrepareConstant(ReadOnlySpan<sbyte> values, in Shape4 inShape, in Shape4 outShape, int axis,
        int inputOffset, int multiplier, int shift, int outputOffset)
    {
        var (outer, chunk, _, _) = Runs(inShape, outShape, axis, 0);
        var bytes = new sbyte[outer * chunk];
        // The reference's own loop, writing a tensor of the input's shape (the concatenation of this input alone).
        EvalInput(values, inShape, bytes, inShape, axis, 0, inputOffset, multiplier, shift, outputOffset, vector: false);
        bool uniform = true;
        for (int o = 1; o < outer && uniform; o++)
            uniform = bytes.AsSpan(o * chunk, chunk).SequenceEqual(bytes.AsSpan(0, chunk));
        if (!uniform) return new ConcatConstant(bytes, false);
        // The one run, followed by zeros up to a whole 32-byte move (InterleaveChannels reads it whole).
        var run = new sbyte[(chunk + 31) & ~31];
        bytes.AsSpan(0, chunk).CopyTo(run);
        return new ConcatConstant(run, true);
    }

    /// <summary>
    /// As <see cref="EvalInputS8Reference"/> (the same bytes) for a constant input prepared by <see cref="PrepareConstant"/>:
    /// its runs copied into place, from element <paramref name="from"/> of the input (a band of rows).
    /// </summary>
    internal static void EvalInputS8Constant(ConcatConstant constant, int from, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset)
    {
        var (outer, chunk, outRun, at) = Runs(inShape, outShape, axis, axisOffset);
        if (output.Length < (long)(outer - 1) * outRun + at + chunk
            || (constant.Uniform ? constant.Bytes.Length < chunk : constant.Bytes.Length < from + (long)outer * chunk))
            throw new ArgumentException($"concatenation output of {output.Length} elements or constant input of {constant.Bytes.Length} is shorter than its shape");
#if NETSTANDARD2_1
        for (int o = 0; o < outer; o++)
            constant.Bytes.AsSpan(constant.Uniform ? 0 : from + o * chunk, chunk).CopyTo(output.Slice(o * outRun + at, chunk));
#else
        ref sbyte src = ref MemoryMarshal.GetArrayDataReference(constant.Bytes);
        ref sbyte dst = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), at);
        if (!constant.Uniform)
            src = ref Unsafe.Add(ref src, from);
        nint step = constant.Uniform ? 0 : chunk;
        for (int o = 0; o < outer; o++)
        {
            Conv2D.Copy(ref src, ref dst, chunk);
            src = ref Unsafe.Add(ref src, step);
            dst = ref Unsafe.Add(ref dst, outRun);
        }
#endif
    }

#if !NETSTANDARD2_1
    /// <summary>
    /// A channel concatenation of two inputs that are both copied (the same quantization as the output, or constants
    /// prepared by <see cref="PrepareConstant"/>: BlazeFace's channel padding), one pixel at a time: each input's run moved
    /// by whole 8-, 16- or 32-byte moves (16 where 256-bit vectors are not native, arm64) that may write past the run into bytes this call writes later (the second
    /// input's run, or the next pixel's), so a pixel of 24 + 4 channels is two loads and two stores. The last pixels,
    /// whose moves would reach past an input or past <paramref name="output"/>, are copied exactly. Input k: its first
    /// element <paramref name="a"/> / <paramref name="b"/> (for this band of pixels), channels per pixel (chunkA, chunkB;
    /// together the output pixel), elements per pixel (stepA, stepB; 0 for a uniform constant: one run for every pixel).
    /// </summary>
    internal static void InterleaveChannels(ReadOnlySpan<sbyte> a, int chunkA, int stepA, ReadOnlySpan<sbyte> b, int chunkB, int stepB,
        Span<sbyte> output, int pixels)
    {
        int outRun = chunkA + chunkB;
        if (pixels <= 0) return;
        if (chunkA <= 0 || chunkB <= 0 || output.Length < (long)pixels * outRun
            || a.Length < (stepA == 0 ? chunkA : (long)(pixels - 1) * stepA + chunkA)
            || b.Length < (stepB == 0 ? chunkB : (long)(pixels - 1) * stepB + chunkB))
            throw new ArgumentException($"concatenation inputs of {a.Length} and {b.Length} elements or output of {output.Length} are shorter than {pixels} pixels of {chunkA} + {chunkB}");
        // Pixels whose wide moves stay inside both inputs and the output.
        int wa = Width(chunkA), wb = Width(chunkB);
        long fast = System.Math.Min(pixels, (output.Length - chunkA - wb) / (long)outRun + 1);
        fast = System.Math.Min(fast, (output.Length - wa) / (long)outRun + 1);
        fast = System.Math.Min(fast, stepA == 0 ? (a.Length >= wa ? pixels : 0) : (a.Length - wa) / stepA + 1);
        fast = System.Math.Min(fast, stepB == 0 ? (b.Length >= wb ? pixels : 0) : (b.Length - wb) / stepB + 1);
        int f = (int)System.Math.Max(0, fast);
        ref sbyte sa = ref MemoryMarshal.GetReference(a);
        ref sbyte sb = ref MemoryMarshal.GetReference(b);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        for (int o = 0; o < f; o++)
        {
            MoveWide(ref sa, ref dst, chunkA);
            MoveWide(ref sb, ref Unsafe.Add(ref dst, chunkA), chunkB);
            sa = ref Unsafe.Add(ref sa, stepA);
            sb = ref Unsafe.Add(ref sb, stepB);
            dst = ref Unsafe.Add(ref dst, outRun);
        }
        for (int o = f; o < pixels; o++)
        {
            Conv2D.Copy(ref sa, ref dst, chunkA);
            Conv2D.Copy(ref sb, ref Unsafe.Add(ref dst, chunkA), chunkB);
            sa = ref Unsafe.Add(ref sa, stepA);
            sb = ref Unsafe.Add(ref sb, stepB);
            dst = ref Unsafe.Add(ref dst, outRun);
        }
    }

    /// <summary>The bytes <see cref="MoveWide"/> reads and writes for a run of <paramref name="chunk"/>.</summary>
    private static int Width(int chunk) => chunk <= 8 ? 8 : chunk <= 16 ? 16 : Vector256.IsHardwareAccelerated ? (chunk + 31) & ~31 : (chunk + 15) & ~15;

    /// <summary>Run of <paramref name="chunk"/> bytes moved in <see cref="Width"/> bytes (the excess written too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MoveWide(ref sbyte from, ref sbyte to, int chunk)
    {
        if (chunk <= 8)
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref to), Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref from)));
        else if (chunk <= 16)
            Vector128.LoadUnsafe(ref from).StoreUnsafe(ref to);
        else if (Vector256.IsHardwareAccelerated)
            for (int i = 0; i < chunk; i += 32)
                Vector256.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
        else
            for (int i = 0; i < chunk; i += 16)
                Vector128.LoadUnsafe(ref from, (nuint)i).StoreUnsafe(ref to, (nuint)i);
    }
#endif

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
