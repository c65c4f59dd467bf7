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
        => Run<Vector128Dot>(lstm, p, x, xShape, MemoryMarshal.AsBytes(w), MemoryMarshal.AsBytes(r), bias, default,
            inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>Ops 25-26 with the int4 rows decoded 16 weights per vector and Vector128 dot products (the reference's sums).</summary>
    internal static void EvalS8Int4Vector128(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<byte> w, ReadOnlySpan<byte> r, ReadOnlySpan<int> bias, ReadOnlySpan<int> postBias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
        => Run<Int4Vector128Dot>(lstm, p, x, xShape, w, r, bias, postBias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);

    /// <summary>
    /// int4 rows: each chunk decoded by <see cref="DecodeInt4Vector128"/> into a stack buffer, then summed by
    /// <see cref="Vector128Dot"/> (the chunked int32 sums wrap as the reference's single sum does).
    /// </summary>
    private struct Int4Vector128Dot : IDot
    {
        public readonly int RowBytes(int n) => (n + 1) >> 1;

        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<byte> w)
        {
            Span<byte> buf = stackalloc byte[Int4Chunk];
            int acc = 0;
            for (int start = 0; start < x.Length; start += Int4Chunk)
            {
                int n = System.Math.Min(Int4Chunk, x.Length - start);
                DecodeInt4Vector128(w.Slice(start >> 1), buf.Slice(0, n));
                acc = unchecked(acc + default(Vector128Dot).Input(x.Slice(start, n), offset, buf.Slice(0, n)));
            }
            return acc;
        }

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<byte> w)
        {
            Span<byte> buf = stackalloc byte[Int4Chunk];
            int acc = 0;
            for (int start = 0; start < h.Length; start += Int4Chunk)
            {
                int n = System.Math.Min(Int4Chunk, h.Length - start);
                DecodeInt4Vector128(w.Slice(start >> 1), buf.Slice(0, n));
                acc = unchecked(acc + default(Vector128Dot).State(h.Slice(start, n), buf.Slice(0, n)));
            }
            return acc;
        }
    }

    /// <summary>
    /// <see cref="DecodeInt4"/> 16 weights at a time: 8 bytes widened to 16-bit lanes, each lane rebuilt as
    /// (low nibble, high nibble) in its two bytes, which in memory order is the weights' order; then
    /// v = (nibble ^ 8) − 8 per byte sign-extends. The scalar decode finishes the last &lt; 16.
    /// </summary>
    internal static void DecodeInt4Vector128(ReadOnlySpan<byte> packed, Span<byte> values)
    {
        int n = values.Length, i = 0;
        ref byte src = ref MemoryMarshal.GetReference(packed);
        ref byte dst = ref MemoryMarshal.GetReference(values);
        var eight = Vector128.Create((byte)8);
        for (; i <= n - 16; i += 16)
        {
            var b = Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref src, i >> 1))).AsByte());
            var pairs = (b & Vector128.Create((ushort)0x0F)) | ((b & Vector128.Create((ushort)0xF0)) << 4);
            ((pairs.AsByte() ^ eight) - eight).StoreUnsafe(ref Unsafe.Add(ref dst, i));
        }
        if (i < n) DecodeInt4(packed.Slice(i >> 1), values.Slice(i));
    }

    /// <summary>
    /// 16 inputs (or 8 states) at a time: operands widened to int16 (the input with its offset added,
    /// |x + offset| ≤ 383), products widened to int32 and summed in four lanes; then the scalar tail from
    /// the same index. Every product and the int32 total are the reference's (the reader bounds the
    /// lengths so no sum overflows).
    /// </summary>
    private struct Vector128Dot : IDot
    {
        public readonly int RowBytes(int n) => n;

        public readonly int Input(ReadOnlySpan<sbyte> x, int offset, ReadOnlySpan<byte> wBytes)
        {
            var w = MemoryMarshal.Cast<byte, sbyte>(wBytes);
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

        public readonly int State(ReadOnlySpan<short> h, ReadOnlySpan<byte> wBytes)
        {
            var w = MemoryMarshal.Cast<byte, sbyte>(wBytes);
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
