using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    // The tiles of PairsRows for CPUs with AVX-512 (Avx512BW): the same channels-in-lanes inner loop, either with
    // 16 output channels per 512-bit VPMADDWD (4x16, 1x32) or with 256-bit accumulators for 24, 32 or 40 channels,
    // which only the EVEX encoding's 32 vector registers can hold. Exact int16 products summed in int32, the
    // accumulators laid out as the AVX2 tiles', so the requantization (PairsRequantization.Store) follows unchanged.

    /// <summary>Four rows by 16 channels in one 512-bit accumulator per row.</summary>
    private static void Tile4x16Avx512(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector512<int> i0, ref int acc)
    {
        Vector512<int> c0 = i0, c1 = i0, c2 = i0, c3 = i0;
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int p = 0; p < pairs; p++)
            {
                var w0 = Vector512.LoadUnsafe(ref w);
                c0 += Avx512BW.MultiplyAddAdjacent(Pair512(ref r0, p), w0);
                c1 += Avx512BW.MultiplyAddAdjacent(Pair512(ref r1, p), w0);
                c2 += Avx512BW.MultiplyAddAdjacent(Pair512(ref r2, p), w0);
                c3 += Avx512BW.MultiplyAddAdjacent(Pair512(ref r3, p), w0);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, row);
        c2.StoreUnsafe(ref acc, 2 * row);
        c3.StoreUnsafe(ref acc, 3 * row);
    }

    /// <summary>Four rows by 24 channels in 256-bit accumulators (12 of them: the EVEX encoding gives 32 vector registers).</summary>
    private static void Tile4x24Wide(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c10 = i0, c11 = i1, c12 = i2, c20 = i0, c21 = i1, c22 = i2, c30 = i0, c31 = i1, c32 = i2;
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int p = 0; p < pairs; p++)
            {
                var w0 = Vector256.LoadUnsafe(ref w, 0);
                var w1 = Vector256.LoadUnsafe(ref w, 16);
                var w2 = Vector256.LoadUnsafe(ref w, 32);
                var x = Pair(ref r0, p);
                c00 += Avx2.MultiplyAddAdjacent(x, w0);
                c01 += Avx2.MultiplyAddAdjacent(x, w1);
                c02 += Avx2.MultiplyAddAdjacent(x, w2);
                x = Pair(ref r1, p);
                c10 += Avx2.MultiplyAddAdjacent(x, w0);
                c11 += Avx2.MultiplyAddAdjacent(x, w1);
                c12 += Avx2.MultiplyAddAdjacent(x, w2);
                x = Pair(ref r2, p);
                c20 += Avx2.MultiplyAddAdjacent(x, w0);
                c21 += Avx2.MultiplyAddAdjacent(x, w1);
                c22 += Avx2.MultiplyAddAdjacent(x, w2);
                x = Pair(ref r3, p);
                c30 += Avx2.MultiplyAddAdjacent(x, w0);
                c31 += Avx2.MultiplyAddAdjacent(x, w1);
                c32 += Avx2.MultiplyAddAdjacent(x, w2);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c02.StoreUnsafe(ref acc, 16);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c12.StoreUnsafe(ref acc, row + 16);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c22.StoreUnsafe(ref acc, 2 * row + 16);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        c32.StoreUnsafe(ref acc, 3 * row + 16);
    }

    /// <summary>Four rows by 32 channels in 256-bit accumulators (16 of them: the EVEX encoding gives 32 vector registers).</summary>
    private static void Tile4x32Wide(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c03 = i3, c10 = i0, c11 = i1, c12 = i2, c13 = i3, c20 = i0, c21 = i1, c22 = i2, c23 = i3, c30 = i0, c31 = i1, c32 = i2, c33 = i3;
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int p = 0; p < pairs; p++)
            {
                var w0 = Vector256.LoadUnsafe(ref w, 0);
                var w1 = Vector256.LoadUnsafe(ref w, 16);
                var w2 = Vector256.LoadUnsafe(ref w, 32);
                var w3 = Vector256.LoadUnsafe(ref w, 48);
                var x = Pair(ref r0, p);
                c00 += Avx2.MultiplyAddAdjacent(x, w0);
                c01 += Avx2.MultiplyAddAdjacent(x, w1);
                c02 += Avx2.MultiplyAddAdjacent(x, w2);
                c03 += Avx2.MultiplyAddAdjacent(x, w3);
                x = Pair(ref r1, p);
                c10 += Avx2.MultiplyAddAdjacent(x, w0);
                c11 += Avx2.MultiplyAddAdjacent(x, w1);
                c12 += Avx2.MultiplyAddAdjacent(x, w2);
                c13 += Avx2.MultiplyAddAdjacent(x, w3);
                x = Pair(ref r2, p);
                c20 += Avx2.MultiplyAddAdjacent(x, w0);
                c21 += Avx2.MultiplyAddAdjacent(x, w1);
                c22 += Avx2.MultiplyAddAdjacent(x, w2);
                c23 += Avx2.MultiplyAddAdjacent(x, w3);
                x = Pair(ref r3, p);
                c30 += Avx2.MultiplyAddAdjacent(x, w0);
                c31 += Avx2.MultiplyAddAdjacent(x, w1);
                c32 += Avx2.MultiplyAddAdjacent(x, w2);
                c33 += Avx2.MultiplyAddAdjacent(x, w3);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c02.StoreUnsafe(ref acc, 16);
        c03.StoreUnsafe(ref acc, 24);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c12.StoreUnsafe(ref acc, row + 16);
        c13.StoreUnsafe(ref acc, row + 24);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c22.StoreUnsafe(ref acc, 2 * row + 16);
        c23.StoreUnsafe(ref acc, 2 * row + 24);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        c32.StoreUnsafe(ref acc, 3 * row + 16);
        c33.StoreUnsafe(ref acc, 3 * row + 24);
    }

    /// <summary>Four rows by 40 channels in 256-bit accumulators (20 of them: the EVEX encoding gives 32 vector registers).</summary>
    private static void Tile4x40Wide(ref short x0, RowOffsets xStride, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, Vector256<int> i4, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c03 = i3, c04 = i4, c10 = i0, c11 = i1, c12 = i2, c13 = i3, c14 = i4, c20 = i0, c21 = i1, c22 = i2, c23 = i3, c24 = i4, c30 = i0, c31 = i1, c32 = i2, c33 = i3, c34 = i4;
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int p = 0; p < pairs; p++)
            {
                var w0 = Vector256.LoadUnsafe(ref w, 0);
                var w1 = Vector256.LoadUnsafe(ref w, 16);
                var w2 = Vector256.LoadUnsafe(ref w, 32);
                var w3 = Vector256.LoadUnsafe(ref w, 48);
                var w4 = Vector256.LoadUnsafe(ref w, 64);
                var x = Pair(ref r0, p);
                c00 += Avx2.MultiplyAddAdjacent(x, w0);
                c01 += Avx2.MultiplyAddAdjacent(x, w1);
                c02 += Avx2.MultiplyAddAdjacent(x, w2);
                c03 += Avx2.MultiplyAddAdjacent(x, w3);
                c04 += Avx2.MultiplyAddAdjacent(x, w4);
                x = Pair(ref r1, p);
                c10 += Avx2.MultiplyAddAdjacent(x, w0);
                c11 += Avx2.MultiplyAddAdjacent(x, w1);
                c12 += Avx2.MultiplyAddAdjacent(x, w2);
                c13 += Avx2.MultiplyAddAdjacent(x, w3);
                c14 += Avx2.MultiplyAddAdjacent(x, w4);
                x = Pair(ref r2, p);
                c20 += Avx2.MultiplyAddAdjacent(x, w0);
                c21 += Avx2.MultiplyAddAdjacent(x, w1);
                c22 += Avx2.MultiplyAddAdjacent(x, w2);
                c23 += Avx2.MultiplyAddAdjacent(x, w3);
                c24 += Avx2.MultiplyAddAdjacent(x, w4);
                x = Pair(ref r3, p);
                c30 += Avx2.MultiplyAddAdjacent(x, w0);
                c31 += Avx2.MultiplyAddAdjacent(x, w1);
                c32 += Avx2.MultiplyAddAdjacent(x, w2);
                c33 += Avx2.MultiplyAddAdjacent(x, w3);
                c34 += Avx2.MultiplyAddAdjacent(x, w4);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c02.StoreUnsafe(ref acc, 16);
        c03.StoreUnsafe(ref acc, 24);
        c04.StoreUnsafe(ref acc, 32);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c12.StoreUnsafe(ref acc, row + 16);
        c13.StoreUnsafe(ref acc, row + 24);
        c14.StoreUnsafe(ref acc, row + 32);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c22.StoreUnsafe(ref acc, 2 * row + 16);
        c23.StoreUnsafe(ref acc, 2 * row + 24);
        c24.StoreUnsafe(ref acc, 2 * row + 32);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
        c32.StoreUnsafe(ref acc, 3 * row + 16);
        c33.StoreUnsafe(ref acc, 3 * row + 24);
        c34.StoreUnsafe(ref acc, 3 * row + 32);
    }

    /// <summary>One row by 32 channels.</summary>
    private static void Tile1x32Avx512(ref short x0, int segments, nint segStride, int pairs, ref short w, int cout,
        Vector512<int> c0, Vector512<int> c1, ref int acc)
    {
        nint step = 2 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int p = 0; p < pairs; p++)
            {
                var x = Pair512(ref r0, p);
                c0 += Avx512BW.MultiplyAddAdjacent(x, Vector512.LoadUnsafe(ref w));
                c1 += Avx512BW.MultiplyAddAdjacent(x, Vector512.LoadUnsafe(ref w, 32));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, 16);
    }

    /// <summary>Pair p of a staged row, broadcast to the 16 int32 lanes (as 32 int16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> Pair512(ref short row, int p)
        => Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref row, 2 * p)))).AsInt16();
}
