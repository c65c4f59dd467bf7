using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class BatchMatMul
{
    /// <summary>
    /// Vector128: 16 k at a time, each operand widened to int32 with its offset added, multiplied
    /// and summed in four int32 lanes (the same products and the same int32 sum, modulo 2^32, as
    /// the reference), then the scalar tail from the same k, then the reference's requantization.
    /// </summary>
    internal static void EvalS8Vector128(in BatchMatMulParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        int m = outShape.D2, n = outShape.D3, k = aShape.D3;
        ref sbyte aRef = ref MemoryMarshal.GetReference(a);
        ref sbyte bRef = ref MemoryMarshal.GetReference(b);
        var offA = Vector128.Create((short)p.Input1Offset);
        var offB = Vector128.Create((short)p.Input2Offset);
        for (int o0 = 0; o0 < outShape.D0; o0++)
            for (int o1 = 0; o1 < outShape.D1; o1++)
            {
                int aBase = (((aShape.D0 == 1 ? 0 : o0) * aShape.D1) + (aShape.D1 == 1 ? 0 : o1)) * m * k;
                int bBase = (((bShape.D0 == 1 ? 0 : o0) * bShape.D1) + (bShape.D1 == 1 ? 0 : o1)) * n * k;
                int oBase = ((o0 * outShape.D1) + o1) * m * n;
                for (int i = 0; i < m; i++)
                {
                    ref sbyte row = ref Unsafe.Add(ref aRef, aBase + i * k);
                    for (int j = 0; j < n; j++)
                    {
                        ref sbyte col = ref Unsafe.Add(ref bRef, bBase + j * k);
                        var sum = Vector128<int>.Zero;
                        int kk = 0;
                        for (; kk <= k - 16; kk += 16)
                        {
                            var va = Vector128.LoadUnsafe(ref Unsafe.Add(ref row, kk));
                            var vb = Vector128.LoadUnsafe(ref Unsafe.Add(ref col, kk));
                            // x + offset fits int16 (|x + offset| ≤ 383); its int32 widening times the other's is the exact product.
                            var (aLo, aHi) = Vector128.Widen(va);
                            var (bLo, bHi) = Vector128.Widen(vb);
                            aLo += offA; aHi += offA; bLo += offB; bHi += offB;
                            sum += Product(aLo, bLo) + Product(aHi, bHi);
                        }
                        int acc = Vector128.Sum(sum);
                        for (; kk < k; kk++)
                            acc += (Unsafe.Add(ref row, kk) + p.Input1Offset) * (Unsafe.Add(ref col, kk) + p.Input2Offset);
                        output[oBase + i * n + j] = Requantize(p, acc);
                    }
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Product(Vector128<short> x, Vector128<short> y)
    {
        var (x0, x1) = Vector128.Widen(x);
        var (y0, y1) = Vector128.Widen(y);
        return (x0 * y0) + (x1 * y1);
    }
}
