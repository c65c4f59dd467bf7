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
        ref int addressRef = ref MemoryMarshal.GetReference(address);
        for (int b = 0; b < batches; b++)
        {
            Stage(t, input, b, (short)-p.InputOffset, staged);
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
                    // Lanes are written straight from the registers (VPEXTRD / VMOVD): storing the vectors and
                    // reloading 32-bit parts would stall on store-to-load forwarding.
                    ref sbyte at0 = ref Unsafe.Add(ref outRef, oc);
                    Store4(Sse2.UnpackLow(a, c).AsInt32(), ref at0, ref addressRef, whole);
                    Store4(Sse2.UnpackHigh(a, c).AsInt32(), ref at0, ref Unsafe.Add(ref addressRef, 4), whole);
                    Store4(Sse2.UnpackLow(bb, d).AsInt32(), ref at0, ref Unsafe.Add(ref addressRef, 8), whole);
                    Store4(Sse2.UnpackHigh(bb, d).AsInt32(), ref at0, ref Unsafe.Add(ref addressRef, 12), whole);
                }
                for (; oc < cout; oc++)
                {
                    var v = Channel(ref tile, oc, ref starts, ref offsets, ref weights, ref folded, multipliers, shifts, outputOffset, min, max).AsInt32();
                    ref sbyte at0 = ref Unsafe.Add(ref outRef, oc);
                    for (int l = 0; l < SparseTiling.TilePixels; l += 4, v = Sse2.ShiftRightLogical128BitLane(v, 4))
                    {
                        int four = v.ToScalar();
                        for (int k = 0; k < 4; k++, four >>= 8)
                        {
                            int at = Unsafe.Add(ref addressRef, l + k);
                            if (at >= 0) Unsafe.Add(ref at0, at) = (sbyte)four;
                        }
                    }
                }
            }
        }
        return true;
    }

    /// <summary>Stores the four 32-bit lanes of <paramref name="v"/> (4 channels of 4 pixels) at their pixels' addresses (−1: skipped).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(Vector128<int> v, ref sbyte at0, ref int address, bool whole)
    {
        int a0 = address, a1 = Unsafe.Add(ref address, 1), a2 = Unsafe.Add(ref address, 2), a3 = Unsafe.Add(ref address, 3);
        if (whole || a0 >= 0) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref at0, a0)), v.ToScalar());
        if (whole || a1 >= 0) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref at0, a1)), Sse41.Extract(v, 1));
        if (whole || a2 >= 0) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref at0, a2)), Sse41.Extract(v, 2));
        if (whole || a3 >= 0) Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref at0, a3)), Sse41.Extract(v, 3));
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
        int m = multipliers[oc], shift = shifts[oc];
        Vector256<int> r0, r1;
        if (shift <= 0 && m != int.MinValue)
        {
            // The usual case (a right shift, a multiplier the high multiply cannot saturate): the short form.
            var mv = Vector256.Create(m);
            var right = Vector256.Create(-shift);
            var mask = Vector256.Create((1 << -shift) - 1);
            r0 = SimdOps256.MultiplyByQuantizedMultiplierRightShift(acc0, mv, mv, right, mask);
            r1 = SimdOps256.MultiplyByQuantizedMultiplierRightShift(acc1, mv, mv, right, mask);
            r0 = Vector256.Min(Vector256.Max(r0 + outputOffset, min), max);
            r1 = Vector256.Min(Vector256.Max(r1 + outputOffset, min), max);
        }
        else
        {
            var rq = new SimdOps256.Requantizer(Vector256.Create(m), Vector256.Create(shift));
            r0 = rq.ApplyClamp(acc0, outputOffset, min, max);
            r1 = rq.ApplyClamp(acc1, outputOffset, min, max);
        }
        var w16 = Avx2.PackSignedSaturate(r0, r1);
        return Sse2.PackSignedSaturate(w16.GetLower(), w16.GetUpper());
    }

    /// <summary>
    /// Fills the staged planes of <paramref name="t"/> from batch <paramref name="b"/> of the NHWC input: every element, padding
    /// included, is written (the padding with <paramref name="padValue"/> = −input_offset, whose term
    /// x + input_offset is 0), so nothing of a previous Invoke is read.
    /// </summary>
    private static void Stage(SparseTiling t, ReadOnlySpan<sbyte> input, int b, short padValue, Span<short> staged)
    {
        int cin = t.Cin, plane = t.PlaneStride, rowLength = t.RowLength, strideW = t.StrideW, padLeft = t.PadLeft, inW = t.InW;
        ref short dst0 = ref MemoryMarshal.GetReference(staged);
        ref sbyte src0 = ref MemoryMarshal.GetReference(input);
        if (t.StrideH == 1 && strideW == 1 && t.PadTop == 0 && padLeft == 0 && rowLength == inW && t.Rows == t.InH)
        {
            // No padding anywhere (a 1x1 convolution, or a valid one): the planes are the input transposed,
            // all rows as one.
            int pixels = t.InH * inW;
            ref sbyte src = ref Unsafe.Add(ref src0, b * pixels * cin);
            int done = cin >= 8 ? StageTransposed(ref src, ref dst0, 0, pixels, cin, cin, plane) : 0;
            for (int j = done; j < pixels; j++)
                for (int ic = 0; ic < cin; ic++) Unsafe.Add(ref dst0, ic * plane + j) = Unsafe.Add(ref src, j * cin + ic);
            staged.Slice(cin * plane, t.StagedElements - cin * plane).Fill(padValue);
            return;
        }
        for (int phase = 0; phase < t.Phases; phase++)
        {
            // Columns j whose input column j·Sw + phase − PadLeft lies inside the input: [jLo, jHi).
            int jLo = System.Math.Min(rowLength, System.Math.Max(0, (padLeft - phase + strideW - 1) / strideW));
            int last = inW - 1 + padLeft - phase;
            int jHi = last < 0 ? jLo : System.Math.Max(jLo, System.Math.Min(rowLength, last / strideW + 1));
            for (int r = 0; r < t.Rows; r++)
            {
                int iy = t.StrideH == 1 ? r - t.PadTop : r % t.OutH * t.StrideH + r / t.OutH * t.DilationH - t.PadTop;
                ref short row = ref Unsafe.Add(ref dst0, phase * t.PhaseStride + r * rowLength);
                if ((uint)iy >= (uint)t.InH)
                {
                    for (int ic = 0; ic < cin; ic++) MemoryMarshal.CreateSpan(ref Unsafe.Add(ref row, ic * plane), rowLength).Fill(padValue);
                    continue;
                }
                for (int ic = 0; ic < cin && (jLo > 0 || jHi < rowLength); ic++)
                {
                    for (int j = 0; j < jLo; j++) Unsafe.Add(ref row, ic * plane + j) = padValue;
                    for (int j = jHi; j < rowLength; j++) Unsafe.Add(ref row, ic * plane + j) = padValue;
                }
                if (jLo == jHi) continue;
                ref sbyte src = ref Unsafe.Add(ref src0, ((b * t.InH + iy) * inW + jLo * strideW + phase - padLeft) * cin);
                nint step = strideW * cin;
                if (cin == 1)
                {
                    for (int j = jLo; j < jHi; j++, src = ref Unsafe.Add(ref src, step)) Unsafe.Add(ref row, j) = src;
                    continue;
                }
                int jv = jLo;
                if (cin >= 8)
                {
                    jv = StageTransposed(ref src, ref row, jLo, jHi, cin, step, plane);
                    src = ref Unsafe.Add(ref src, (jv - jLo) * step);
                }
                for (int j = jv; j < jHi; j++, src = ref Unsafe.Add(ref src, step))
                {
                    ref short d = ref Unsafe.Add(ref row, j);
                    for (int ic = 0; ic < cin; ic++) Unsafe.Add(ref d, ic * plane) = Unsafe.Add(ref src, ic);
                }
            }
        }
        staged.Slice(cin * plane, t.StagedElements - cin * plane).Fill(padValue);
    }

    /// <summary>
    /// Stages 8 pixels x 8 channels at a time (pixels <paramref name="pixelStep"/> bytes apart): eight 8-byte loads widened to int16, an 8x8 transpose
    /// in registers, eight 16-byte stores, one per channel plane. Channels past the last whole block of 8
    /// are written one by one. Returns the first column not staged (the caller's scalar loop takes the rest).
    /// </summary>
    private static int StageTransposed(ref sbyte src, ref short row, int jLo, int jHi, int cin, nint pixelStep, int plane)
    {
        int j = jLo;
        for (; j + 8 <= jHi; j += 8, src = ref Unsafe.Add(ref src, 8 * pixelStep))
        {
            int c = 0;
            for (; c + 8 <= cin; c += 8)
            {
                ref sbyte s0 = ref Unsafe.Add(ref src, c);
                var p0 = Widen8(ref s0); var p1 = Widen8(ref Unsafe.Add(ref s0, pixelStep));
                var p2 = Widen8(ref Unsafe.Add(ref s0, 2 * pixelStep)); var p3 = Widen8(ref Unsafe.Add(ref s0, 3 * pixelStep));
                var p4 = Widen8(ref Unsafe.Add(ref s0, 4 * pixelStep)); var p5 = Widen8(ref Unsafe.Add(ref s0, 5 * pixelStep));
                var p6 = Widen8(ref Unsafe.Add(ref s0, 6 * pixelStep)); var p7 = Widen8(ref Unsafe.Add(ref s0, 7 * pixelStep));
                // Three rounds of interleaving turn 8 pixels x 8 channels into 8 channels x 8 pixels.
                var a0 = Zip(p0, p1, false); var a1 = Zip(p0, p1, true); var a2 = Zip(p2, p3, false); var a3 = Zip(p2, p3, true);
                var a4 = Zip(p4, p5, false); var a5 = Zip(p4, p5, true); var a6 = Zip(p6, p7, false); var a7 = Zip(p6, p7, true);
                var b0 = Zip(a0.AsInt32(), a2.AsInt32(), false); var b1 = Zip(a0.AsInt32(), a2.AsInt32(), true);
                var b2 = Zip(a1.AsInt32(), a3.AsInt32(), false); var b3 = Zip(a1.AsInt32(), a3.AsInt32(), true);
                var b4 = Zip(a4.AsInt32(), a6.AsInt32(), false); var b5 = Zip(a4.AsInt32(), a6.AsInt32(), true);
                var b6 = Zip(a5.AsInt32(), a7.AsInt32(), false); var b7 = Zip(a5.AsInt32(), a7.AsInt32(), true);
                ref short d = ref Unsafe.Add(ref row, c * plane + j);
                Zip(b0.AsInt64(), b4.AsInt64(), false).AsInt16().StoreUnsafe(ref d);
                Zip(b0.AsInt64(), b4.AsInt64(), true).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, plane));
                Zip(b1.AsInt64(), b5.AsInt64(), false).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 2 * plane));
                Zip(b1.AsInt64(), b5.AsInt64(), true).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 3 * plane));
                Zip(b2.AsInt64(), b6.AsInt64(), false).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 4 * plane));
                Zip(b2.AsInt64(), b6.AsInt64(), true).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 5 * plane));
                Zip(b3.AsInt64(), b7.AsInt64(), false).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 6 * plane));
                Zip(b3.AsInt64(), b7.AsInt64(), true).AsInt16().StoreUnsafe(ref Unsafe.Add(ref d, 7 * plane));
            }
            for (; c < cin; c++)
            {
                ref short d = ref Unsafe.Add(ref row, c * plane + j);
                for (int k = 0; k < 8; k++) Unsafe.Add(ref d, k) = Unsafe.Add(ref src, k * pixelStep + c);
            }
        }
        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Widen8(ref sbyte s)
        => Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref s))).AsSByte());

    /// <summary>PUNPCKL/H of 16-, 32- or 64-bit lanes (the T of the operands).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<T> Zip<T>(Vector128<T> a, Vector128<T> b, bool high)
    {
        if (typeof(T) == typeof(short))
            return (high ? Sse2.UnpackHigh(a.AsInt16(), b.AsInt16()) : Sse2.UnpackLow(a.AsInt16(), b.AsInt16())).As<short, T>();
        if (typeof(T) == typeof(int))
            return (high ? Sse2.UnpackHigh(a.AsInt32(), b.AsInt32()) : Sse2.UnpackLow(a.AsInt32(), b.AsInt32())).As<int, T>();
        return (high ? Sse2.UnpackHigh(a.AsInt64(), b.AsInt64()) : Sse2.UnpackLow(a.AsInt64(), b.AsInt64())).As<long, T>();
    }
}
