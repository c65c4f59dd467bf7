using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class SparseKernels
{
    /// <summary>
    /// Sparse Conv2D over pixel tiles (x64 AVX2): the input staged once as int16 planes (<see cref="SparseTiling"/>),
    /// then per tile of 16 flat pixels and per output channel, each pair of stored weights costs two
    /// contiguous loads (the two taps' inputs for the 16 pixels), VPUNPCKLWD/VPUNPCKHWD and two VPMADDWD
    /// into 16 int32 sums. Sums start from the folded bias, so the staged values are the raw int8 codes and
    /// padding is the input zero point; requantized 8 pixels per vector with the channel's multiplier and
    /// shift broadcast. Integer sums in any order equal the reference's. Returns false (nothing written)
    /// when the tiling or its scratch is missing.
    /// </summary>
    private static bool TryConv2DAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, CompressedPrepared prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
        var t = prepared.SparseTiles;
        if (!Avx2.IsSupported || t is null || scratch.Length < t.ScratchBytes) return false;
        var staged = MemoryMarshal.Cast<sbyte, short>(scratch).Slice(0, t.StagedElements);
        int batches = inShape.D0, outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int rowLength = t.RowLength, flat = outH * rowLength;
        ref int starts = ref MemoryMarshal.GetArrayDataReference(t.PairStarts);
        ref int offsets = ref MemoryMarshal.GetArrayDataReference(t.PairOffsets);
        ref int weights = ref MemoryMarshal.GetArrayDataReference(t.PairWeights);
        ref int folded = ref MemoryMarshal.GetArrayDataReference(prepared.FoldedBias);
        ref sbyte outRef = ref MemoryMarshal.GetReference(output);
        var outputOffset = Vector256.Create(p.OutputOffset);
        var min = Vector256.Create(p.ActivationMin);
        var max = Vector256.Create(p.ActivationMax);
        Span<int> address = stackalloc int[SparseTiling.TilePixels];
        Span<int> quads = stackalloc int[SparseTiling.TilePixels];
        ref int addressRef = ref MemoryMarshal.GetReference(address);
        ref int quadsRef = ref MemoryMarshal.GetReference(quads);
        ref sbyte bytesRef = ref Unsafe.As<int, sbyte>(ref quadsRef);
        for (int b = 0; b < batches; b++)
        {
            t.Stage(input, b, (short)-p.InputOffset, staged);
            int oy = 0, ox = 0;
            for (int q0 = 0; q0 < flat; q0 += SparseTiling.TilePixels)
            {
                // Output addresses of the tile's 16 flat pixels (-1: a discarded column or past the last row).
                bool whole = true;
                for (int l = 0; l < SparseTiling.TilePixels; l++)
                {
                    bool inside = oy < outH && ox < outW;
                    whole &= inside;
                    Unsafe.Add(ref addressRef, l) = inside ? ((b * outH + oy) * outW + ox) * cout : -1;
                    if (++ox == rowLength) { ox = 0; oy++; }
                }
                ref short tile = ref Unsafe.Add(ref MemoryMarshal.GetReference(staged), q0);
                int oc = 0;
                // Four channels at a time: their 4 x 16 bytes are transposed so that each pixel's four outputs
                // (adjacent in NHWC) are one 32-bit store.
                for (; oc + 4 <= cout; oc += 4)
                {
                    var v0 = Channel(ref tile, oc, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max);
                    var v1 = Channel(ref tile, oc + 1, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max);
                    var v2 = Channel(ref tile, oc + 2, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max);
                    var v3 = Channel(ref tile, oc + 3, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max);
                    var a = Sse2.UnpackLow(v0, v1).AsInt16();
                    var c = Sse2.UnpackLow(v2, v3).AsInt16();
                    var bb = Sse2.UnpackHigh(v0, v1).AsInt16();
                    var d = Sse2.UnpackHigh(v2, v3).AsInt16();
                    Sse2.UnpackLow(a, c).StoreUnsafe(ref Unsafe.As<int, short>(ref quadsRef));
                    Sse2.UnpackHigh(a, c).StoreUnsafe(ref Unsafe.As<int, short>(ref Unsafe.Add(ref quadsRef, 4)));
                    Sse2.UnpackLow(bb, d).StoreUnsafe(ref Unsafe.As<int, short>(ref Unsafe.Add(ref quadsRef, 8)));
                    Sse2.UnpackHigh(bb, d).StoreUnsafe(ref Unsafe.As<int, short>(ref Unsafe.Add(ref quadsRef, 12)));
                    for (int l = 0; l < SparseTiling.TilePixels; l++)
                    {
                        int at = Unsafe.Add(ref addressRef, l);
                        if (whole || at >= 0)
                            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref outRef, at + oc)), Unsafe.Add(ref quadsRef, l));
                    }
                }
                for (; oc < cout; oc++)
                {
                    Channel(ref tile, oc, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max).StoreUnsafe(ref bytesRef);
                    for (int l = 0; l < SparseTiling.TilePixels; l++)
                    {
                        int at = Unsafe.Add(ref addressRef, l);
                        if (at >= 0) Unsafe.Add(ref outRef, at + oc) = Unsafe.Add(ref bytesRef, l);
                    }
                }
            }
        }
        return true;
    }

    /// <summary>One output channel over one tile: its weight pairs against the staged rows, requantized; 16 int8 in pixel order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Channel(ref short tile, int oc, ref int starts, ref int offsets, ref int weights, ref int folded,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Vector256<int> outputOffset, Vector256<int> min, Vector256<int> max)
    {
        var acc0 = Vector256.Create(Unsafe.Add(ref folded, oc));
        var acc1 = acc0;
        for (int i = Unsafe.Add(ref starts, oc), e = Unsafe.Add(ref starts, oc + 1); i < e; i++)
        {
            var xa = Vector256.LoadUnsafe(ref tile, (nuint)Unsafe.Add(ref offsets, 2 * i));
            var xb = Vector256.LoadUnsafe(ref tile, (nuint)Unsafe.Add(ref offsets, 2 * i + 1));
            var w = Vector256.Create(Unsafe.Add(ref weights, i)).AsInt16();
            acc0 += Avx2.MultiplyAddAdjacent(Avx2.UnpackLow(xa, xb), w);
            acc1 += Avx2.MultiplyAddAdjacent(Avx2.UnpackHigh(xa, xb), w);
        }
        // acc0 holds pixels 0-3 and 8-11, acc1 4-7 and 12-15: VPACKSSDW puts them back in order.
        var rq = new SimdOps256.Requantizer(Vector256.Create(multipliers[oc]), Vector256.Create(shifts[oc]));
        var w16 = Avx2.PackSignedSaturate(rq.ApplyClamp(acc0, outputOffset, min, max), rq.ApplyClamp(acc1, outputOffset, min, max));
        return Sse2.PackSignedSaturate(w16.GetLower(), w16.GetUpper());
    }
}
