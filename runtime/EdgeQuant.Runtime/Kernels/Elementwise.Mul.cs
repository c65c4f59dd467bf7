using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// Mul with portable Vector128 (SSE4.1 / NEON): rows of the innermost dimension, 16 elements a
    /// step — widen to int32, (x + offset1) x (y + offset2) (at most 255 x 255, exact), the shared
    /// vector requantization, then a scalar tail with <see cref="MulOne"/>. Same bytes as the reference.
    /// </summary>
    internal static void MulS8Vector128(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        bool aFull = aShape == outShape, bFull = bShape == outShape;
        if ((aFull || aShape.FlatSize == 1) && (bFull || bShape.FlatSize == 1))
        {
            MulRow(p, a, aFull ? 1 : 0, b, bFull ? 1 : 0, output);
            return;
        }
        int n = outShape.D3, i = 0;
        int aStep = aShape.D3 == 1 ? 0 : 1, bStep = bShape.D3 == 1 ? 0 : 1;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++, i += n)
                {
                    int ai = Index(aShape, d0, d1, d2, 0), bi = Index(bShape, d0, d1, d2, 0);
                    MulRow(p, a.Slice(ai, aStep == 0 ? 1 : n), aStep, b.Slice(bi, bStep == 0 ? 1 : n), bStep, output.Slice(i, n));
                }
    }

    private static void MulRow(in ElementwiseParams p, ReadOnlySpan<sbyte> a, int aStep, ReadOnlySpan<sbyte> b, int bStep, Span<sbyte> output)
    {
        int n = output.Length, j = 0;
        ref sbyte ra = ref MemoryMarshal.GetReference(a);
        ref sbyte rb = ref MemoryMarshal.GetReference(b);
        ref sbyte ro = ref MemoryMarshal.GetReference(output);
        var off1 = Vector128.Create(p.Input1Offset);
        var off2 = Vector128.Create(p.Input2Offset);
        var mult = Vector128.Create(p.OutputMultiplier);
        var shift = Vector128.Create(p.OutputShift);
        var outOff = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        for (; j + 16 <= n; j += 16)
        {
            var va = aStep == 0 ? Vector128.Create(ra) : Vector128.LoadUnsafe(ref Unsafe.Add(ref ra, j));
            var vb = bStep == 0 ? Vector128.Create(rb) : Vector128.LoadUnsafe(ref Unsafe.Add(ref rb, j));
            var (a0, a1) = Vector128.Widen(va);
            var (b0, b1) = Vector128.Widen(vb);
            var (a00, a01) = Vector128.Widen(a0);
            var (a10, a11) = Vector128.Widen(a1);
            var (b00, b01) = Vector128.Widen(b0);
            var (b10, b11) = Vector128.Widen(b1);
            var r0 = Requantize((a00 + off1) * (b00 + off2), mult, shift, outOff, min, max);
            var r1 = Requantize((a01 + off1) * (b01 + off2), mult, shift, outOff, min, max);
            var r2 = Requantize((a10 + off1) * (b10 + off2), mult, shift, outOff, min, max);
            var r3 = Requantize((a11 + off1) * (b11 + off2), mult, shift, outOff, min, max);
            SimdOps.Narrow16(r0, r1, r2, r3).StoreUnsafe(ref Unsafe.Add(ref ro, j));
        }
        for (; j < n; j++)
            output[j] = MulOne(p, a[j * aStep], b[j * bStep]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Requantize(Vector128<int> x, Vector128<int> mult, Vector128<int> shift, Vector128<int> outOff, Vector128<int> min, Vector128<int> max)
        => Vector128.Min(Vector128.Max(SimdOps.MultiplyByQuantizedMultiplier(x, mult, shift) + outOff, min), max);
}
