using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>Largest ring of staged row pairs (bytes, on the stack) of <see cref="TryEvalS8RowsAvx2"/>.</summary>
    private const int RowsStackLimit = 65536;

    /// <summary>
    /// Precomputes <see cref="TryEvalS8RowsAvx2"/>'s data (once per op, outside Eval): the filter as int16 weight
    /// pairs of vertically neighbouring taps, [ceil(Kh / 2), Kw, CoutPadded, 2] (kernel rows 2j and 2j + 1 at column
    /// kx; an odd Kh's last row is paired with a zero weight), in <see cref="PackedFilter.Pairs"/>, with the folded
    /// bias (<see cref="PackedFilter.Init"/>), channels padded to <see cref="PackedFilter.CoutPadded"/> with zeros.
    /// With stride 1 and no vertical dilation a second set follows, [Kh / 2 + 1, Kw, CoutPadded, 2], pairing rows
    /// (2j - 1, 2j) (row -1 and row Kh zero): the output rows whose window starts on an odd row read the same
    /// staged row pairs as the even ones through it (<see cref="TryEvalS8RowsAvx2"/>).
    /// Null where that path does not apply (no AVX2, depth multiplier other than 1).
    /// </summary>
    internal static PackedFilter? Prepare(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
    {
        int cout = filterShape.D3, kh = filterShape.D1, kw = filterShape.D2;
        if (!Avx2.IsSupported)
            return PrepareLanes(p, filter, filterShape, bias);
        if (p.DepthMultiplier != 1 || kh * kw == 0)
            return null;
        // Each channel's taps in the order the kernel pairs them: (row 2j + first, row 2j + first + 1) per column, zero
        // outside the kernel; first = 0 for the even set, -1 for the odd one.
        int jpEven = (kh + 1) / 2, jpOdd = Shifted(p) ? kh / 2 + 1 : 0, k = 2 * (jpEven + jpOdd) * kw;
        var byChannel = new sbyte[cout * k];
        Fill(byChannel, filter, kh, kw, cout, k, 0, jpEven, 0);
        Fill(byChannel, filter, kh, kw, cout, k, jpEven, jpOdd, -1);
        var folded = bias.ToArray();
        if (jpOdd > 0)
        {
            // Every tap appears in both sets, so the folded bias Create computes counts inputOffset x sum(w) twice:
            // take it out once beforehand (the same wrapping int arithmetic, so the result is exact).
            for (int oc = 0; oc < cout; oc++)
            {
                int sum = 0;
                for (int t = 0; t < kh * kw; t++)
                    sum += filter[t * cout + oc];
                unchecked { folded[oc] -= p.InputOffset * sum; }
            }
        }
        return PackedFilter.Create(byChannel, cout, k, folded, p.InputOffset, pad: false);

        static void Fill(sbyte[] byChannel, ReadOnlySpan<sbyte> filter, int kh, int kw, int cout, int k, int firstPair, int count, int firstRow)
        {
            for (int j = 0; j < count; j++)
                for (int kx = 0; kx < kw; kx++)
                    for (int e = 0; e < 2; e++)
                    {
                        int ky = firstRow + 2 * j + e;
                        if ((uint)ky < (uint)kh)
                            for (int oc = 0; oc < cout; oc++)
                                byChannel[oc * k + ((firstPair + j) * kw + kx) * 2 + e] = filter[(ky * kw + kx) * cout + oc];
                    }
        }
    }

    /// <summary>Whether <see cref="Prepare"/> builds the second (odd) pairing: stride 1 and no vertical dilation.</summary>
    private static bool Shifted(in Conv2DParams p) => p.StrideH == 1 && p.DilationH == 1;

    /// <summary>
    /// AVX2 (and AVX-512BW), depth multiplier 1, any Cout, stride, padding and dilation. The input is staged as
    /// int16 pairs of vertically neighbouring rows: pair row y holds, for every padded column and channel,
    /// (x[y][col][c], x[y + DilationH][col][c]) (the zero point outside the image, which cancels against the folded
    /// bias: (zp + inputOffset) x w = 0, as the reference skips padded taps). An output pixel's 3x3 window is then
    /// six VPMADDWD of one 8- or 16-channel load each against the kernel-row pairs' weights (<see cref="Prepare"/>):
    /// exact int16 products summed in int32, so acc = folded bias + sum(x x w) equals the reference accumulator. The
    /// pair rows are staged once each into a ring of (Kh - 1) x DilationH + 1 rows (neighbouring output rows share
    /// them; with stride 2 only the rows the kernel reads are built), as one flat interleave of two input rows. Per
    /// output row and group of 16 (AVX-512) or 8 channels, the weights and the requantization operands stay in
    /// registers while the pixels run, and each pixel is requantized in registers (<see cref="ChannelRequantizer512"/>,
    /// <see cref="ChannelRequantizer256"/>) and stored: no accumulator store and reload. A channel count that is not a
    /// multiple of the group runs its last group overlapping the one before (recomputing, and storing identically,
    /// some channels); below 8 channels the padding lanes meet zero weights and only the real channels are stored.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged element is read only after it is written, or against a zero weight
    internal static bool TryEvalS8RowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? pairs = packed.Pairs;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, jp = (kh + 1) / 2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        bool shifted = Shifted(p);
        int jpOdd = shifted ? kh / 2 + 1 : 0;
        if (!Avx2.IsSupported || pairs is null || p.DepthMultiplier != 1 || cout != cin || kh * kw == 0
            || packed.Cout != cout || packed.K != 2 * (jp + jpOdd) * kw || (uint)(128 - p.InputOffset) > 255
            || !ChannelRequantizer256.BoundsFit(p.ActivationMin, p.ActivationMax))
            return false;
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps.
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        // Stride 1, no vertical dilation: only the pair rows starting on even padded rows are staged (each input row once),
        // a ring of Kh / 2 + 1 of them; else every pair row an output row reads, a ring over (Kh - 1) x DilationH + 1 rows.
        int ringRows = shifted ? jpOdd : (kh - 1) * p.DilationH + 1;
        // A pair row: span x Cin int32, plus 8 spare for the loads of a group wider than Cin.
        int pairRow = span * cin + 8;
        if ((long)ringRows * pairRow * 4 > RowsStackLimit)
            return false;
        // Pair rows start on 64-byte boundaries (a 512-bit load of a 16-channel group then splits no cache line when Cin is a multiple of 16).
        pairRow = (pairRow + 15) & ~15;
        Span<int> ringSpace = stackalloc int[ringRows * pairRow + 16];
        Span<int> ring = ringSpace.Slice(Align64(ringSpace), ringRows * pairRow);
        Span<int> ringY = stackalloc int[ringRows];
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        // The zero point as a row, for pair halves outside the image.
        Span<sbyte> zeroRow = stackalloc sbyte[(hi - lo) * cin];
        zeroRow.Fill((sbyte)(-p.InputOffset));
        int zeroPair = (ushort)(short)(-p.InputOffset) * 0x10001;
        // Below 8 channels: the multipliers and shifts padded to 8 lanes (the padding lanes are never stored).
        Span<int> padded = stackalloc int[16];
        scoped ReadOnlySpan<int> m = multipliers, s = shifts;
        if (cout < 8)
        {
            padded.Clear();
            multipliers.Slice(0, cout).CopyTo(padded);
            shifts.Slice(0, cout).CopyTo(padded.Slice(8));
            m = padded.Slice(0, 8);
            s = padded.Slice(8, 8);
        }
        Span<int> rowOffsetSpace = stackalloc int[System.Math.Max(jp, jpOdd)];
        ref int ringRef = ref MemoryMarshal.GetReference(ring);
        for (int b = 0; b < inShape.D0; b++)
        {
            ringY.Fill(int.MinValue);
            for (int oy = 0; oy < outH; oy++)
            {
                // The window's first padded row, and the pairing: an odd first row (stride 1 only) starts one row higher
                // with the odd weight set, whose first pair has a zero upper weight.
                int y0 = oy * p.StrideH, count = jp;
                ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
                if (shifted && (y0 & 1) != 0)
                {
                    y0--;
                    count = jpOdd;
                    w = ref Unsafe.Add(ref w, jp * kw * packed.CoutPadded * 2);
                }
                var rowOffsets = rowOffsetSpace.Slice(0, count);
                for (int j = 0; j < count; j++)
                {
                    // Padded row y pairs input rows y - PadTop and y - PadTop + DilationH.
                    int y = y0 + 2 * j * p.DilationH, slot = (shifted ? y >> 1 : y) % ringRows;
                    if (ringY[slot] != y)
                    {
                        StagePairRow(p, input, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroRow, zeroPair, ring.Slice(slot * pairRow, pairRow));
                        ringY[slot] = y;
                    }
                    rowOffsets[j] = slot * pairRow;
                }
                ref sbyte o = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), (b * outH + oy) * outW * cout);
                if (Avx512BW.IsSupported && cout >= 16)
                {
                    Row512(p, ref ringRef, rowOffsets, kw, outW, cout, packed, ref w, m, s, ref o);
                    // A rest of 1..8 channels: one 8-channel group overlapping the last 16-channel one.
                    if ((cout & 15) is > 0 and <= 8)
                        Row256(p, ref ringRef, rowOffsets, kw, outW, cout, packed, ref w, m, s, ref o, from: cout & ~15);
                }
                else
                    Row256(p, ref ringRef, rowOffsets, kw, outW, cout, packed, ref w, m, s, ref o);
            }
        }
        return true;
    }

    /// <summary>One output row, 16 channels per group (a rest of 9..15 channels overlapping the group before; a rest of 1..8 is left to the 8-channel body).</summary>
    private static void Row512(in Conv2DParams p, ref int ring, ReadOnlySpan<int> rowOffsets, int kw, int outW, int cout, PackedFilter packed,
        ref short w, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, ref sbyte o)
    {
        int coutP = packed.CoutPadded, jp = rowOffsets.Length;
        nint pixelStep = p.StrideW * cout, columnStep = p.DilationW * cout;
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        int end = (cout & 15) is > 0 and <= 8 ? cout & ~15 : cout;
        for (int c0 = 0; c0 < end; c0 += 16)
        {
            int c = System.Math.Min(c0, cout - 16);
            var q = new ChannelRequantizer512(Vector512.LoadUnsafe(ref mRef, (nuint)c), Vector512.LoadUnsafe(ref sRef, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax);
            var bias = Vector512.LoadUnsafe(ref init, (nuint)c);
            ref sbyte oc = ref Unsafe.Add(ref o, c);
            if (kw == 3 && jp == 2)
            {
                // The common 3x3 (and 4x3): six weight vectors in registers for the whole row.
                ref short wc = ref Unsafe.Add(ref w, 2 * c);
                nint tapStep = 2 * coutP;
                var w00 = Vector512.LoadUnsafe(ref wc);
                var w01 = Vector512.LoadUnsafe(ref wc, (nuint)tapStep);
                var w02 = Vector512.LoadUnsafe(ref wc, (nuint)(2 * tapStep));
                var w10 = Vector512.LoadUnsafe(ref wc, (nuint)(3 * tapStep));
                var w11 = Vector512.LoadUnsafe(ref wc, (nuint)(4 * tapStep));
                var w12 = Vector512.LoadUnsafe(ref wc, (nuint)(5 * tapStep));
                ref short r0 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, rowOffsets[0] + c));
                ref short r1 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, rowOffsets[1] + c));
                nint col = 2 * columnStep, step = 2 * pixelStep;
                for (int ox = 0; ox < outW; ox++)
                {
                    var acc = bias + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r0), w00)
                        + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r0, (nuint)col), w01)
                        + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r0, (nuint)(2 * col)), w02);
                    acc += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1), w10)
                        + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, (nuint)col), w11)
                        + Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref r1, (nuint)(2 * col)), w12);
                    q.Apply(acc).StoreUnsafe(ref Unsafe.Add(ref oc, ox * cout));
                    r0 = ref Unsafe.Add(ref r0, step);
                    r1 = ref Unsafe.Add(ref r1, step);
                }
                continue;
            }
            for (int ox = 0; ox < outW; ox++)
            {
                var acc = bias;
                ref short wt = ref Unsafe.Add(ref w, 2 * c);
                for (int j = 0; j < jp; j++)
                {
                    ref int px = ref Unsafe.Add(ref ring, rowOffsets[j] + ox * pixelStep + c);
                    for (int kx = 0; kx < kw; kx++)
                    {
                        acc += Avx512BW.MultiplyAddAdjacent(Vector512.LoadUnsafe(ref Unsafe.As<int, short>(ref Unsafe.Add(ref px, kx * columnStep))),
                            Vector512.LoadUnsafe(ref wt));
                        wt = ref Unsafe.Add(ref wt, 2 * coutP);
                    }
                }
                q.Apply(acc).StoreUnsafe(ref Unsafe.Add(ref oc, ox * cout));
            }
        }
    }

    /// <summary>One output row from channel <paramref name="from"/> on, 8 channels per group (the last group overlapping when Cout is not a multiple of 8; below 8, partial stores).</summary>
    private static void Row256(in Conv2DParams p, ref int ring, ReadOnlySpan<int> rowOffsets, int kw, int outW, int cout, PackedFilter packed,
        ref short w, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, ref sbyte o, int from = 0)
    {
        int coutP = packed.CoutPadded, jp = rowOffsets.Length;
        nint pixelStep = p.StrideW * cout, columnStep = p.DilationW * cout;
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        int stored = System.Math.Min(cout, 8);
        for (int c0 = from; c0 < cout; c0 += 8)
        {
            int c = System.Math.Max(System.Math.Min(c0, cout - 8), 0);
            var q = new ChannelRequantizer256(Vector256.LoadUnsafe(ref mRef, (nuint)c), Vector256.LoadUnsafe(ref sRef, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax);
            var bias = Vector256.LoadUnsafe(ref init, (nuint)c);
            ref sbyte oc = ref Unsafe.Add(ref o, c);
            if (kw == 3 && jp == 2)
            {
                ref short wc = ref Unsafe.Add(ref w, 2 * c);
                nint tapStep = 2 * coutP;
                var w00 = Vector256.LoadUnsafe(ref wc);
                var w01 = Vector256.LoadUnsafe(ref wc, (nuint)tapStep);
                var w02 = Vector256.LoadUnsafe(ref wc, (nuint)(2 * tapStep));
                var w10 = Vector256.LoadUnsafe(ref wc, (nuint)(3 * tapStep));
                var w11 = Vector256.LoadUnsafe(ref wc, (nuint)(4 * tapStep));
                var w12 = Vector256.LoadUnsafe(ref wc, (nuint)(5 * tapStep));
                ref short r0 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, rowOffsets[0] + c));
                ref short r1 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, rowOffsets[1] + c));
                nint col = 2 * columnStep, step = 2 * pixelStep;
                for (int ox = 0; ox < outW; ox++)
                {
                    var acc = bias + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r0), w00)
                        + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r0, (nuint)col), w01)
                        + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r0, (nuint)(2 * col)), w02);
                    acc += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1), w10)
                        + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, (nuint)col), w11)
                        + Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref r1, (nuint)(2 * col)), w12);
                    Put(ref Unsafe.Add(ref oc, ox * cout), q.Apply(acc), stored);
                    r0 = ref Unsafe.Add(ref r0, step);
                    r1 = ref Unsafe.Add(ref r1, step);
                }
                continue;
            }
            for (int ox = 0; ox < outW; ox++)
            {
                var acc = bias;
                ref short wt = ref Unsafe.Add(ref w, 2 * c);
                for (int j = 0; j < jp; j++)
                {
                    ref int px = ref Unsafe.Add(ref ring, rowOffsets[j] + ox * pixelStep + c);
                    for (int kx = 0; kx < kw; kx++)
                    {
                        acc += Avx2.MultiplyAddAdjacent(Vector256.LoadUnsafe(ref Unsafe.As<int, short>(ref Unsafe.Add(ref px, kx * columnStep))),
                            Vector256.LoadUnsafe(ref wt));
                        wt = ref Unsafe.Add(ref wt, 2 * coutP);
                    }
                }
                Put(ref Unsafe.Add(ref oc, ox * cout), q.Apply(acc), stored);
            }
        }
    }

    /// <summary>
    /// Pair row for padded row y (input rows iy = y - PadTop and iy + DilationH): the zero-point pair over the padding
    /// columns, else the two rows (or the zero point for a row outside the image) interleaved byte by byte and
    /// sign-extended, 16 channels per step, the last step overlapping the one before.
    /// </summary>
    private static void StagePairRow(in Conv2DParams p, ReadOnlySpan<sbyte> input, int b, int iy, int inH, int inW, int cin, int span,
        int lo, int hi, ReadOnlySpan<sbyte> zeroRow, int zeroPair, Span<int> row)
    {
        int n = (hi - lo) * cin;
        row.Slice(0, lo * cin).Fill(zeroPair);
        row.Slice(hi * cin, (span - hi) * cin).Fill(zeroPair);
        if (n == 0)
            return;
        int iy2 = iy + p.DilationH, start = ((b * inH) * inW + lo - p.PadLeft) * cin;
        ref sbyte a = ref MemoryMarshal.GetReference((uint)iy < (uint)inH ? input.Slice(start + iy * inW * cin, n) : zeroRow);
        ref sbyte c = ref MemoryMarshal.GetReference((uint)iy2 < (uint)inH ? input.Slice(start + iy2 * inW * cin, n) : zeroRow);
        ref short d = ref Unsafe.As<int, short>(ref Unsafe.Add(ref MemoryMarshal.GetReference(row), lo * cin));
        if (n >= 16)
        {
            for (int i = 0; ; i += 16)
            {
                i = System.Math.Min(i, n - 16);
                var va = Vector128.LoadUnsafe(ref a, (nuint)i);
                var vc = Vector128.LoadUnsafe(ref c, (nuint)i);
                Avx2.ConvertToVector256Int16(Sse2.UnpackLow(va, vc)).StoreUnsafe(ref d, (nuint)(2 * i));
                Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(va, vc)).StoreUnsafe(ref d, (nuint)(2 * i + 16));
                if (i == n - 16)
                    break;
            }
        }
        else
        {
            for (int i = 0; i < n; i++)
            {
                Unsafe.Add(ref d, 2 * i) = Unsafe.Add(ref a, i);
                Unsafe.Add(ref d, 2 * i + 1) = Unsafe.Add(ref c, i);
            }
        }
    }

    /// <summary>The int index within <paramref name="space"/> of its first 64-byte boundary.</summary>
    private static unsafe int Align64(Span<int> space)
    {
        fixed (int* at = space)
            return (int)((64 - ((nint)at & 63)) & 63) / 4;
    }

    /// <summary>The low <paramref name="channels"/> (1..8) bytes of <paramref name="bytes"/> at o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(ref sbyte o, Vector128<sbyte> bytes, int channels)
    {
        ref byte d = ref Unsafe.As<sbyte, byte>(ref o);
        long v = bytes.AsInt64().ToScalar();
        if (channels == 8)
        {
            Unsafe.WriteUnaligned(ref d, v);
            return;
        }
        for (int i = 0; i < channels; i++, v >>= 8)
            Unsafe.Add(ref d, i) = (byte)v;
    }
}
