using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class Int8Gemm
{
    // AVX-VNNI (VPDPBUSD, 256-bit: .NET exposes no 512-bit form) with output channels in lanes. Each int32 lane
    // accumulates four products of unsigned and signed bytes with no saturation: the activations enter biased
    // (x XOR 0x80 = x + 128, 0..255), the weights as the signed quadruplets of PackedFilter.Quads (the layout of the
    // arm64 SDOT tiles: [segments, quads, CoutPadded, 4]), and the accumulators start from PackedFilter.InitBiased
    // (Init - 128 x sum(w)). All of it is exact wrapping int32 arithmetic, so the accumulator equals the reference's
    // Init + sum(x x w), bit for bit. One 32-bit broadcast of four activations feeds 8 channels x 4 taps per
    // instruction: 32 MACs with the accumulation included, against 16 for VPMADDWD and a separate VPADDD.
    // On AVX2 machines without VNNI, SimdOps256.DotBusd is an exact emulation, so these kernels run (and are
    // tested) anywhere AVX2 is; the dispatchers take them only where AvxVnni.IsSupported.

    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryRunQuadsVnni"/>: 4 rows of K up to 4096.</summary>
    private const int QuadsStackLimit = 4 * 4096;

    /// <summary>
    /// The 1x1 / FullyConnected form of the VNNI kernel (<see cref="PackedFilter.Quads"/> with
    /// <see cref="PackedFilter.QuadRowTaps"/> = K): rows are staged biased on the stack, 4 at a time, K rounded up
    /// to 4 with zero bytes (against zero weights), then multiplied in tiles of 4 rows x 8-32 channels
    /// (<see cref="QuadsRows"/>) into a group's accumulators, which <see cref="PairsRequantization.Store"/> requantizes.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    internal static bool TryRunQuadsVnni(ref sbyte a, nint aStride, int rows, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride)
    {
        sbyte[]? quads = pf.Quads;
        int k = pf.K;
        if (!Avx2.IsSupported || quads is null || pf.QuadRowTaps != k || k == 0)
            return false;
        int k4 = (k + 3) & ~3, cout = pf.Cout, coutP = pf.CoutPadded;
        if (4 * k4 > QuadsStackLimit || coutP > MaxPairsChannels)
            return false;
        Span<byte> staged = stackalloc byte[4 * k4];
        int group = System.Math.Min((rows + 3) & ~3, System.Math.Max(GemmGroupRows, GemmGroupInts / coutP & ~3));
        Span<int> accumulators = stackalloc int[group * coutP];
        ref byte xs = ref MemoryMarshal.GetReference(staged);
        ref int acc = ref MemoryMarshal.GetReference(accumulators);
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(quads);
        var q = new PairsRequantization(pf, multipliers, shifts, outputOffset, activationMin, activationMax, biased: true);
        for (int g = 0; g < rows; g += group)
        {
            int n = System.Math.Min(group, rows - g);
            ref sbyte ag = ref Unsafe.Add(ref a, g * aStride);
            if (n < 4 && rows >= 4)
            {
                // As in TryRunPairsAvx2: a last group of fewer than 4 rows takes the 4 last rows (the ones before recomputed, stored identically).
                g = rows - 4;
                n = 4;
                ag = ref Unsafe.Add(ref a, g * aStride);
            }
            int r = 0;
            if (n >= 4)
            {
                for (; ; r += 4)
                {
                    r = System.Math.Min(r, n - 4);
                    for (int i = 0; i < 4; i++)
                        StageBiased(ref Unsafe.Add(ref ag, (r + i) * aStride), ref Unsafe.Add(ref xs, i * k4), k, k4);
                    QuadsRows(4, ref xs, RowOffsets.Strided(k4), 1, 0, k4 / 4, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
                    if (r == n - 4)
                        break;
                }
                r = n;
            }
            for (; r < n; r++)
            {
                StageBiased(ref Unsafe.Add(ref ag, r * aStride), ref xs, k, k4);
                QuadsRows(1, ref xs, RowOffsets.Strided(k4), 1, 0, k4 / 4, ref w, coutP, q, ref Unsafe.Add(ref acc, r * coutP));
            }
            q.Store(n, ref acc, coutP, cout, ref Unsafe.Add(ref output, g * outStride), outStride);
        }
        return true;
    }

    /// <summary>
    /// to[i] = from[i] XOR 0x80 (x + 128 as a byte) for i in [0, k), to[i] = 0 for i in [k, k4): 32 bytes per step, the last
    /// step overlapping the previous one; 16 and 8 likewise below 32. Reads stay within the k elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StageBiased(ref sbyte from, ref byte to, int k, int k4)
    {
        ref byte f = ref Unsafe.As<sbyte, byte>(ref from);
        if (k >= 32)
        {
            var bias = Vector256.Create((byte)0x80);
            int i = 0;
            for (; i <= k - 32; i += 32)
                (Vector256.LoadUnsafe(ref f, (nuint)i) ^ bias).StoreUnsafe(ref to, (nuint)i);
            if (i < k)
                (Vector256.LoadUnsafe(ref f, (nuint)(k - 32)) ^ bias).StoreUnsafe(ref to, (nuint)(k - 32));
        }
        else if (k >= 16)
        {
            var bias = Vector128.Create((byte)0x80);
            (Vector128.LoadUnsafe(ref f) ^ bias).StoreUnsafe(ref to);
            (Vector128.LoadUnsafe(ref f, (nuint)(k - 16)) ^ bias).StoreUnsafe(ref to, (nuint)(k - 16));
        }
        else if (k >= 8)
        {
            const ulong bias = 0x8080808080808080UL;
            Unsafe.WriteUnaligned(ref to, Unsafe.ReadUnaligned<ulong>(ref f) ^ bias);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref to, k - 8), Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref f, k - 8)) ^ bias);
        }
        else
            for (int i = 0; i < k; i++)
                Unsafe.Add(ref to, i) = (byte)(Unsafe.Add(ref f, i) ^ 0x80);
        for (int i = k; i < k4; i++)
            Unsafe.Add(ref to, i) = 0;
    }

    /// <summary>
    /// acc[i x Cout + oc] = InitBiased[oc] + sum of biased activations x weights for rows i in [0, n) (n = 4 or 1), every
    /// oc of the padded channel count <paramref name="cout"/>: row i's activations start at x, x + xStride.D1, .D2, .D3 (<see cref="RowOffsets"/>) and consist of
    /// <paramref name="segments"/> runs of <paramref name="quads"/> quadruplets of bytes, segStride apart; the weights are the
    /// matching [segments x quads, Cout, 4] quadruplets. The VNNI counterpart of <see cref="PairsRows"/>, shared with
    /// Conv2D's rows path. With AVX-512 (32 vector registers) 4 rows x 32 channels per pass, then one tile of 24, 16 or 8.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void QuadsRows(int n, ref byte x, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        in PairsRequantization q, ref int acc)
    {
        int j = 0;
        if (n == 4)
        {
            if (Avx512F.IsSupported)
            {
                for (; j <= cout - 32; j += 32)
                    QuadTile4x32(ref x, xStride, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout,
                        q.Init(j), q.Init(j + 8), q.Init(j + 16), q.Init(j + 24), ref Unsafe.Add(ref acc, j));
                if (cout - j == 24)
                {
                    QuadTile4x24(ref x, xStride, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout,
                        q.Init(j), q.Init(j + 8), q.Init(j + 16), ref Unsafe.Add(ref acc, j));
                    j += 24;
                }
            }
            for (; j <= cout - 16; j += 16)
                QuadTile4x16(ref x, xStride, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout, q.Init(j), q.Init(j + 8),
                    ref Unsafe.Add(ref acc, j));
            if (j < cout)
                QuadTile4x8(ref x, xStride, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout, q.Init(j), ref Unsafe.Add(ref acc, j));
        }
        else
        {
            for (; j <= cout - 16; j += 16)
                QuadTile1x16(ref x, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout, q.Init(j), q.Init(j + 8), ref Unsafe.Add(ref acc, j));
            if (j < cout)
                QuadTile1x8(ref x, segments, segStride, quads, ref Unsafe.Add(ref w, 4 * j), cout, q.Init(j), ref Unsafe.Add(ref acc, j));
        }
    }

    /// <summary>Quadruplet <paramref name="i"/> of a staged row, broadcast to the 8 int32 lanes (as 32 bytes).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Quad(ref byte row, int i) => Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref row, 4 * i))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<sbyte> Weights(ref sbyte w, nuint offset) => Vector256.LoadUnsafe(ref w, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Busd(Vector256<int> acc, Vector256<byte> x, Vector256<sbyte> w) => SimdOps256.DotBusd(acc, x, w);

    /// <summary>Four rows by 32 channels: 16 accumulators, 4 weight vectors and a broadcast (EVEX registers only).</summary>
    private static void QuadTile4x32(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, Vector256<int> i3, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c03 = i3, c10 = i0, c11 = i1, c12 = i2, c13 = i3;
        Vector256<int> c20 = i0, c21 = i1, c22 = i2, c23 = i3, c30 = i0, c31 = i1, c32 = i2, c33 = i3;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var w2 = Weights(ref w, 64);
                var w3 = Weights(ref w, 96);
                var x = Quad(ref r0, i);
                c00 = Busd(c00, x, w0);
                c01 = Busd(c01, x, w1);
                c02 = Busd(c02, x, w2);
                c03 = Busd(c03, x, w3);
                x = Quad(ref r1, i);
                c10 = Busd(c10, x, w0);
                c11 = Busd(c11, x, w1);
                c12 = Busd(c12, x, w2);
                c13 = Busd(c13, x, w3);
                x = Quad(ref r2, i);
                c20 = Busd(c20, x, w0);
                c21 = Busd(c21, x, w1);
                c22 = Busd(c22, x, w2);
                c23 = Busd(c23, x, w3);
                x = Quad(ref r3, i);
                c30 = Busd(c30, x, w0);
                c31 = Busd(c31, x, w1);
                c32 = Busd(c32, x, w2);
                c33 = Busd(c33, x, w3);
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

    /// <summary>Four rows by 24 channels: 12 accumulators (EVEX registers only).</summary>
    private static void QuadTile4x24(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, Vector256<int> i2, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c02 = i2, c10 = i0, c11 = i1, c12 = i2, c20 = i0, c21 = i1, c22 = i2, c30 = i0, c31 = i1, c32 = i2;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var w2 = Weights(ref w, 64);
                var x = Quad(ref r0, i);
                c00 = Busd(c00, x, w0);
                c01 = Busd(c01, x, w1);
                c02 = Busd(c02, x, w2);
                x = Quad(ref r1, i);
                c10 = Busd(c10, x, w0);
                c11 = Busd(c11, x, w1);
                c12 = Busd(c12, x, w2);
                x = Quad(ref r2, i);
                c20 = Busd(c20, x, w0);
                c21 = Busd(c21, x, w1);
                c22 = Busd(c22, x, w2);
                x = Quad(ref r3, i);
                c30 = Busd(c30, x, w0);
                c31 = Busd(c31, x, w1);
                c32 = Busd(c32, x, w2);
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

    private static void QuadTile4x16(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, Vector256<int> i1, ref int acc)
    {
        Vector256<int> c00 = i0, c01 = i1, c10 = i0, c11 = i1, c20 = i0, c21 = i1, c30 = i0, c31 = i1;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                var w1 = Weights(ref w, 32);
                var x = Quad(ref r0, i);
                c00 = Busd(c00, x, w0);
                c01 = Busd(c01, x, w1);
                x = Quad(ref r1, i);
                c10 = Busd(c10, x, w0);
                c11 = Busd(c11, x, w1);
                x = Quad(ref r2, i);
                c20 = Busd(c20, x, w0);
                c21 = Busd(c21, x, w1);
                x = Quad(ref r3, i);
                c30 = Busd(c30, x, w0);
                c31 = Busd(c31, x, w1);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c00.StoreUnsafe(ref acc);
        c01.StoreUnsafe(ref acc, 8);
        c10.StoreUnsafe(ref acc, row);
        c11.StoreUnsafe(ref acc, row + 8);
        c20.StoreUnsafe(ref acc, 2 * row);
        c21.StoreUnsafe(ref acc, 2 * row + 8);
        c30.StoreUnsafe(ref acc, 3 * row);
        c31.StoreUnsafe(ref acc, 3 * row + 8);
    }

    private static void QuadTile4x8(ref byte x0, RowOffsets xStride, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> i0, ref int acc)
    {
        Vector256<int> c0 = i0, c1 = i0, c2 = i0, c3 = i0;
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref byte r1 = ref Unsafe.Add(ref r0, xStride.D1), r2 = ref Unsafe.Add(ref r0, xStride.D2), r3 = ref Unsafe.Add(ref r0, xStride.D3);
            for (int i = 0; i < quads; i++)
            {
                var w0 = Weights(ref w, 0);
                c0 = Busd(c0, Quad(ref r0, i), w0);
                c1 = Busd(c1, Quad(ref r1, i), w0);
                c2 = Busd(c2, Quad(ref r2, i), w0);
                c3 = Busd(c3, Quad(ref r3, i), w0);
                w = ref Unsafe.Add(ref w, step);
            }
        }
        nuint row = (nuint)cout;
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, row);
        c2.StoreUnsafe(ref acc, 2 * row);
        c3.StoreUnsafe(ref acc, 3 * row);
    }

    private static void QuadTile1x16(ref byte x0, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> c0, Vector256<int> c1, ref int acc)
    {
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int i = 0; i < quads; i++)
            {
                var x = Quad(ref r0, i);
                c0 = Busd(c0, x, Weights(ref w, 0));
                c1 = Busd(c1, x, Weights(ref w, 32));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
        c1.StoreUnsafe(ref acc, 8);
    }

    private static void QuadTile1x8(ref byte x0, int segments, nint segStride, int quads, ref sbyte w, int cout,
        Vector256<int> c0, ref int acc)
    {
        nint step = 4 * cout;
        for (int s = 0; s < segments; s++)
        {
            ref byte r0 = ref Unsafe.Add(ref x0, s * segStride);
            for (int i = 0; i < quads; i++)
            {
                c0 = Busd(c0, Quad(ref r0, i), Weights(ref w, 0));
                w = ref Unsafe.Add(ref w, step);
            }
        }
        c0.StoreUnsafe(ref acc);
    }
}
