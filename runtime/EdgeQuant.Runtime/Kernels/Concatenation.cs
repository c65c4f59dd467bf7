using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Concatenation of int8 rank-4 tensors along an axis. An input whose quantization differs from
/// the output's is rescaled: out = clamp(MultiplyByQuantizedMultiplier(x + inOffset, M, S) + OutputOffset);
/// an input with identical quantization (M = 0 marks it) is copied.
/// </summary>
public static class Concatenation
{
    /// <summary>Copies one input into its slot of the output. <paramref name="axisOffset"/> is the input's start along the axis.</summary>
    public static void EvalInputS8(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: true);

    /// <summary>As <see cref="EvalInputS8"/>, the rescaling one element at a time (the definition the vector path is tested against).</summary>
    public static void EvalInputS8Reference(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset)
        => EvalInput(input, inShape, output, outShape, axis, axisOffset, inputOffset, multiplier, shift, outputOffset, vector: false);

    private static void EvalInput(ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape,
        int axis, int axisOffset, int inputOffset, int multiplier, int shift, int outputOffset, bool vector)
    {
        int outer = 1, inner = 1;
        for (int d = 0; d < axis; d++) outer *= inShape[d];
        for (int d = axis + 1; d < 4; d++) inner *= inShape[d];
        int inAxis = inShape[axis], outAxis = outShape[axis];
        int chunk = inAxis * inner;
        for (int o = 0; o < outer; o++)
        {
            var src = input.Slice(o * chunk, chunk);
            var dst = output.Slice((o * outAxis + axisOffset) * inner, chunk);
            if (multiplier == 0)
            {
                src.CopyTo(dst);
                continue;
            }
            int i = vector ? RescaleVector(src, dst, inputOffset, multiplier, shift, outputOffset) : 0;
            for (; i < chunk; i++)
            {
                int v = QuantMath.MultiplyByQuantizedMultiplier(src[i] + inputOffset, multiplier, shift) + outputOffset;
                dst[i] = (sbyte)System.Math.Clamp(v, -128, 127);
            }
        }
    }

    /// <summary>
    /// The rescaling copy, 16 elements per step: AVX2 (two 8-lane requantizations with the operands
    /// derived once, <see cref="SimdOps256.Requantizer"/>) or portable Vector128 (<see cref="SimdOps"/>,
    /// NEON on arm64); the same arithmetic as <see cref="QuantMath.MultiplyByQuantizedMultiplier"/>.
    /// Returns where the scalar tail starts.
    /// </summary>
    internal static int RescaleVector(ReadOnlySpan<sbyte> src, Span<sbyte> dst, int inputOffset, int multiplier, int shift, int outputOffset)
    {
        int n = src.Length, i = 0;
        ref sbyte s = ref MemoryMarshal.GetReference(src);
        ref sbyte d = ref MemoryMarshal.GetReference(dst);
        if (Avx2.IsSupported)
        {
            var r = new SimdOps256.Requantizer(Vector256.Create(multiplier), Vector256.Create(shift));
            var inOff = Vector256.Create(inputOffset);
            var outOff = Vector256.Create(outputOffset);
            var min = Vector256.Create(-128);
            var max = Vector256.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var lo = r.ApplyClamp(Avx2.ConvertToVector256Int32(v) + inOff, outOff, min, max);
                var hi = r.ApplyClamp(Avx2.ConvertToVector256Int32(Sse2.ShiftRightLogical128BitLane(v, 8)) + inOff, outOff, min, max);
                SimdOps256.Pack16(lo, hi).StoreUnsafe(ref d, (nuint)i);
            }
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var m = Vector128.Create(multiplier);
            var sh = Vector128.Create(shift);
            var inOff = Vector128.Create(inputOffset);
            var outOff = Vector128.Create(outputOffset);
            var min = Vector128.Create(-128);
            var max = Vector128.Create(127);
            for (; i <= n - 16; i += 16)
            {
                var v = Vector128.LoadUnsafe(ref s, (nuint)i);
                var w0 = Vector128.WidenLower(v);
                var w1 = Vector128.WidenUpper(v);
                SimdOps.Narrow16(
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w0) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenLower(w1) + inOff, m, sh, outOff, min, max),
                    SimdOps.RequantizeClamp(Vector128.WidenUpper(w1) + inOff, m, sh, outOff, min, max)).StoreUnsafe(ref d, (nuint)i);
            }
        }
        return i;
    }
}
