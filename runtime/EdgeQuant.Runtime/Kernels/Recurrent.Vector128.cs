using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Recurrent
{
    /// <summary>The reference's step arithmetic with Vector128 dot products (the same int32 sums).</summary>
    internal static void EvalS8Vector128(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> r, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
        => Run<Vector128Dot>(lstm, p, x, xShape, w, r, bias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>
    /// 16 inputs (or 8 states) at a time: operands widened to int16 (the input with its offset added,
    /// |x + offset| ≤ 383), products widened to int32 and summed in four lanes; then the scalar tail from
    /// the same index. Every product and the int32 total are the reference's (the reader bounds the
    /// lengths so no sum overflows).
    /// </summary>
    private struct Vector128Dot : IDot
    {
        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<sbyte> w)
        {
            int n = x.Length, i = 0;
            ref sbyte xr = ref MemoryMarshal.GetReference(x);
            ref sbyte wr = ref MemoryMarshal.GetReference(w);
            var acc = Vector128<int>.Zero;
            var off = Vector128.Create((short)offset);
            for (; i <= n - 16; i += 16)
            {
                var xv = Vector128.LoadUnsafe(ref Unsafe.Add(ref xr, i));
                var wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wr, i));
                var (x0, x1) = Vector128.Widen(xv);
                var (w0, w1) = Vector128.Widen(wv);
                acc += Products(x0 + off, w0) + Products(x1 + off, w1);
            }

            int sum = Vector128.Sum(acc);
            for (; i < n; i++) sum += (Unsafe.Add(ref xr, i) + offset) * Unsafe.Add(ref wr, i);
            return sum;
        }

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<sbyte> w)
        {
            int n = h.Length, j = 0;
            ref short hr = ref MemoryMarshal.GetReference(h);
            ref sbyte wr = ref MemoryMarshal.GetReference(w);
            var acc = Vector128<int>.Zero;
            for (; j <= n - 16; j += 16)
            {
                var (w0, w1) = Vector128.Widen(Vector128.LoadUnsafe(ref Unsafe.Add(ref wr, j)));
                acc += Products(Vector128.LoadUnsafe(ref Unsafe.Add(ref hr, j)), w0) + Products(Vector128.LoadUnsafe(ref Unsafe.Add(ref hr, j + 8)), w1);
            }

            int sum = Vector128.Sum(acc);
            for (; j < n; j++) sum += Unsafe.Add(ref hr, j) * Unsafe.Add(ref wr, j);
            return sum;
        }

        /// <summary>Eight int16 × int16 products as int32, pairwise summed into four lanes.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector128<int> Products(Vector128<short> a, Vector128<short> b)
        {
            var (a0, a1) = Vector128.Widen(a);
            var (b0, b1) = Vector128.Widen(b);
            return (a0 * b0) + (a1 * b1);
        }
    }
}
