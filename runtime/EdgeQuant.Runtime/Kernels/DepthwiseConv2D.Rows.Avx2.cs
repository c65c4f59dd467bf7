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
    /// pair rows are staged once each (neighbouring output rows share them; with stride 2 only the rows the kernel
    /// reads are built), as one flat interleave of two input rows, for a block of output rows (the whole op when it fits
    /// the 64 KB stack limit). Per block and group of 16 (AVX-512) or 8 channels, the weights and the requantization
    /// operands stay in registers while all pixels of the block run, and each pixel is requantized in registers
    /// (<see cref="ChannelRequantizer512"/>, <see cref="ChannelRequantizer256"/>; both take the exact one-rounding form
    /// where the op's <see cref="RightRequantTable"/> covers it) and stored: no accumulator store and reload. A channel count that is not a
    /// multiple of the group runs its last group overlapping the one before (recomputing, and storing identically,
    /// some channels); below 8 channels the padding lanes meet zero weights and only the real channels are stored.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    /// <summary>
    /// Whether <see cref="TryEvalS8RowsAvx2"/> takes the op's shape and parameters (it may still decline an image whose
    /// staged rows would not fit its stack limit): for the interpreter's choice of splitting it into pixel ranges.
    /// </summary>
    internal static bool RowsAvx2Takes(in Conv2DParams p, in Shape4 inShape, in Shape4 filterShape, PackedFilter? packed, in Shape4 outShape)
    {
        int kh = filterShape.D1, kw = filterShape.D2, jp = (kh + 1) / 2, jpOdd = Shifted(p) ? kh / 2 + 1 : 0;
        return Avx2.IsSupported && packed?.Pairs is not null && p.DepthMultiplier == 1 && outShape.D3 == inShape.D3 && kh * kw != 0
            && packed.Cout == outShape.D3 && packed.K == 2 * (jp + jpOdd) * kw && (uint)(128 - p.InputOffset) <= 255
            && ChannelRequantizer256.BoundsFit(p.ActivationMin, p.ActivationMax);
    }

    /// <summary>
    /// Output pixels [<paramref name="pixelFrom"/>, <paramref name="pixelTo"/>) (row-major, batch 1) written by
    /// <see cref="TryEvalS8RowsAvx2"/>, the rest of <paramref name="output"/> untouched: one thread's share of an op whose
    /// rows do not split evenly (a 7-row map in 2 parts: 25/24 pixels rather than 4/3 rows). Only the pair rows of the
    /// range's rows are staged; its first and last rows are partial. False (nothing written) where that kernel declines.
    /// </summary>
    internal static bool TryEvalS8Pixels(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter? packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, int pixelFrom, int pixelTo)
        => packed is not null && inShape.D0 == 1 && (uint)pixelFrom < (uint)pixelTo && pixelTo <= outShape.D1 * outShape.D2
            && TryEvalS8RowsAvx2(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape, pixelFrom, pixelTo);

    [SkipLocalsInit] // every staged element is read only after it is written, or against a zero weight
    internal static bool TryEvalS8RowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int pixelFrom = 0, int pixelTo = -1)
    {
        short[]? pairs = packed.Pairs;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, jp = (kh + 1) / 2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        bool shifted = Shifted(p);
        int jpOdd = shifted ? kh / 2 + 1 : 0;
        if (!RowsAvx2Takes(p, inShape, filterShape, packed, outShape))
            return false;
        // The output rows [oyFirst, oyEnd) the pixels lie in, the first one from column xFirst, the last one up to xLast.
        int oyFirst = 0, oyEnd = outH, xFirst = 0, xLast = outW;
        if (pixelTo >= 0)
        {
            oyFirst = pixelFrom / outW;
            oyEnd = (pixelTo - 1) / outW + 1;
            xFirst = pixelFrom % outW;
            xLast = (pixelTo - 1) % outW + 1;
        }
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps.
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        // A pair row: span x stride int32, plus 8 spare for the loads of a group wider than Cin; pair rows start on 64-byte
        // boundaries. The columns are `stride` channels apart: Cin rounded up to the group (16 with AVX-512, else 8) where
        // that adds at most an eighth, so that the groups' loads split no cache line (with the columns Cin apart, 14x14x90
        // took 3.7 us against 3.2 for 96 channels, the same six groups, on Zen 5; 150 channels 6.2 -> 5.4 us padded to 160,
        // 120 4.6 -> 4.4); more padding cost more staging than it saved (20 channels padded to 32: 1.1 -> 1.4 us). With
        // AVX2 alone a strided layer keeps them Cin apart: its pair rows are staged in one run rather than column by column,
        // and staging is a larger share of it (Zen 3, same process: 28x28x36 stride 2 6.71 -> 5.79 us, 14x14x90 0.955).
        bool wide = Avx512BW.IsSupported && cout >= 16;
        int stride = wide ? (cin + 15) & ~15 : (cin + 7) & ~7;
        if (8 * (stride - cin) > cin || (p.StrideW > 1 && !wide))
            stride = cin;
        int pairRow = (span * stride + 8 + 15) & ~15;
        bool halve = shifted || (p.StrideH & 1) == 0;
        if ((long)KeySpan(p, shifted, halve, jp, jpOdd, outH, 1) * pairRow * 4 > RowsStackLimit)
        {
            // The padded columns would not let one output row's pair rows fit the stack: Cin apart, as they fit.
            stride = cin;
            pairRow = (span * stride + 8 + 15) & ~15;
        }
        // Blocks of output rows: the pair rows a block reads are staged (each pair row once per op: a block's first rows
        // are usually the previous block's last), then each channel group runs over all rows of the block with its
        // weights and requantization operands in registers, set up once per block and group rather than per row (on
        // 7x7 maps that set-up cost as much as a third of a row). The block is as tall as keeps its staged rows within
        // the stack limit: every zoo layer is one block (blocks sized for the 32 KB L1 were no faster, 16 KB ones slower:
        // 10.7 against 9.0 us for 14x14x90 in the same process). Pair row y lives in slot key(y) mod ringRows,
        // key(y) = y / 2 when only even y occur (stride 1 without vertical dilation, which pairs from even rows only, or
        // an even stride), else y.
        int blockRows = 1, ringRows = KeySpan(p, shifted, halve, jp, jpOdd, outH, 1);
        if ((long)ringRows * pairRow * 4 > RowsStackLimit)
            return false;
        int whole = KeySpan(p, shifted, halve, jp, jpOdd, outH, outH);
        if (outH <= 256 && (long)whole * pairRow * 4 <= RowsStackLimit)
        {
            blockRows = outH;
            ringRows = whole;
        }
        while (blockRows < System.Math.Min(outH, 256))
        {
            int next = KeySpan(p, shifted, halve, jp, jpOdd, outH, blockRows + 1);
            if ((long)next * pairRow * 4 > RowsStackLimit)
                break;
            blockRows++;
            ringRows = next;
        }
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
        // Per output row of a block: whether it takes the odd weight set, then the ring offsets of its pair rows.
        int d = 1 + System.Math.Max(jp, jpOdd);
        Span<int> desc = stackalloc int[blockRows * d];
        // The op's table of the one-rounding form (built on the op's first call, kept in the packed filter; no allocation after).
        var table = RightRequantTable.Get(ref packed.RightRequant, m, s, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        if (cout >= 8)
        {
            // The float form of the requantization where it is proven (FloatRequant), kept with the table (the groups read it
            // back, RightRequantTable.BuiltFloatForm): for the whole accumulators (the AVX2 and AVX-512 groups), and with AVX2
            // alone for the 3x3 body's sums without the start values where its exact form folds them (a fused ReLU; the
            // AVX-512 groups keep the bias addition).
            table.FloatForm(packed.ChannelBounds);
            if (!Avx512BW.IsSupported && table.Covered && table.ClampsNegatives)
                table.FloatFormFolded(packed.ChannelBounds, packed.Init);
        }
        ref int ringRef = ref MemoryMarshal.GetReference(ring);
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs!);
        for (int b = 0; b < inShape.D0; b++)
        {
            ringY.Fill(int.MinValue);
            ref sbyte ob = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), b * outH * outW * cout);
            for (int oy0 = oyFirst; oy0 < oyEnd; oy0 += blockRows)
            {
                int rows = System.Math.Min(blockRows, oyEnd - oy0);
                for (int r = 0; r < rows; r++)
                {
                    // The window's first padded row, and the pairing: an odd first row (stride 1 only) starts one row higher
                    // with the odd weight set, whose first pair has a zero upper weight.
                    int y0 = (oy0 + r) * p.StrideH, count = jp;
                    bool odd = shifted && (y0 & 1) != 0;
                    if (odd)
                    {
                        y0--;
                        count = jpOdd;
                    }
                    Span<int> rd = desc.Slice(r * d, d);
                    rd[0] = odd ? 1 : 0;
                    for (int j = 0; j < count; j++)
                    {
                        // Padded row y pairs input rows y - PadTop and y - PadTop + DilationH.
                        int y = y0 + 2 * j * p.DilationH, slot = (halve ? y >> 1 : y) % ringRows;
                        if (ringY[slot] != y)
                        {
                            StagePairRow(p, input, b, y - p.PadTop, inH, inW, cin, stride, span, lo, hi, zeroRow, zeroPair, ring.Slice(slot * pairRow, pairRow));
                            ringY[slot] = y;
                        }
                        rd[1 + j] = slot * pairRow;
                    }
                }
                Rows(p, ref ringRef, stride, desc, rows, jp, jpOdd, kw, outW, cout, packed, ref w, wide, table, m, s, ref Unsafe.Add(ref ob, oy0 * outW * cout),
                    oy0 == oyFirst ? xFirst : 0, oy0 + rows == oyEnd ? xLast : outW);
            }
        }
        return true;
    }

    /// <summary>
    /// The most pair-row keys (see <see cref="TryEvalS8RowsAvx2"/>) a block of <paramref name="rows"/> consecutive output
    /// rows spans: key(last pair of its last row) - key(first pair of its first row) + 1, over blocks starting on an even
    /// and an odd row (the keys advance by the same amount every row, or every two rows with the odd pairing).
    /// </summary>
    private static int KeySpan(in Conv2DParams p, bool shifted, bool halve, int jp, int jpOdd, int outH, int rows)
    {
        int most = 0;
        for (int first = 0; first < System.Math.Min(2, outH); first++)
        {
            int last = System.Math.Min(first + rows - 1, outH - 1);
            most = System.Math.Max(most, Key(p, shifted, halve, jp, jpOdd, last, true) - Key(p, shifted, halve, jp, jpOdd, first, false) + 1);
        }
        return most;

        static int Key(in Conv2DParams p, bool shifted, bool halve, int jp, int jpOdd, int oy, bool lastPair)
        {
            int y = oy * p.StrideH, count = jp;
            if (shifted && (y & 1) != 0)
            {
                y--;
                count = jpOdd;
            }
            if (lastPair)
                y += 2 * (count - 1) * p.DilationH;
            return halve ? y >> 1 : y;
        }
    }

    /// <summary>Output rows described by <paramref name="desc"/> (per row: odd weight set or not, then the ring offsets of its pair rows), every channel group.</summary>
    /// <remarks>The first row's pixels start at column <paramref name="xFirst"/>, the last row's end at <paramref name="xLast"/> (a pixel range's partial rows).</remarks>
    private static void Rows(in Conv2DParams p, ref int ring, int stride, ReadOnlySpan<int> desc, int rows, int jp, int jpOdd, int kw, int outW, int cout,
        PackedFilter packed, ref short w, bool wide, RightRequantTable table, ReadOnlySpan<int> m, ReadOnlySpan<int> s, ref sbyte o, int xFirst, int xLast)
    {
        if (wide)
        {
            // 16-channel groups (a rest of 9..15 channels overlapping the group before); a rest of 1..8 channels is one
            // 8-channel group overlapping the last 16-channel one.
            int end = (cout & 15) is > 0 and <= 8 ? cout & ~15 : cout;
            Groups<Width512, Vector512<short>, Vector512<int>, ChannelRequantizer512>(p, ref ring, stride, desc, rows, jp, jpOdd, kw, outW, cout,
                packed, ref w, table, m, s, ref o, 0, end, xFirst, xLast);
            if (end < cout && kw == 3 && jp == 2 && jpOdd is 0 or 2)
                RestTwoPixels3x3(p, ref ring, stride, desc, rows, jpOdd, outW, cout, packed, ref w, table, m, s, ref o, xFirst, xLast);
            else if (end < cout)
                Groups<Width256, Vector256<short>, Vector256<int>, ChannelRequantizer256>(p, ref ring, stride, desc, rows, jp, jpOdd, kw, outW, cout,
                    packed, ref w, table, m, s, ref o, end, cout, xFirst, xLast);
        }
        else if (Width128.Takes(table, cout))
        {
            // A rest of 1-4 channels past the 8-channel groups: one 4-channel group (overlapping the one before by up to 3)
            // in 128-bit vectors, not a padded 8-channel one: half its multiply-adds where 256-bit operations run as two
            // halves (Zen 1).
            int end = cout & ~7;
            Groups<Width256, Vector256<short>, Vector256<int>, ChannelRequantizer256>(p, ref ring, stride, desc, rows, jp, jpOdd, kw, outW, cout,
                packed, ref w, table, m, s, ref o, 0, end, xFirst, xLast);
            Groups<Width128, Vector128<short>, Vector128<int>, Width128.Requantizer4>(p, ref ring, stride, desc, rows, jp, jpOdd, kw, outW, cout,
                packed, ref w, table, m, s, ref o, end, cout, xFirst, xLast);
        }
        else
            Groups<Width256, Vector256<short>, Vector256<int>, ChannelRequantizer256>(p, ref ring, stride, desc, rows, jp, jpOdd, kw, outW, cout,
                packed, ref w, table, m, s, ref o, 0, cout, xFirst, xLast);
    }

    /// <summary>
    /// With AVX-512, the 8-channel group that ends the channels of a 3x3 layer whose count leaves 1-8 past the 16-channel
    /// groups (channels Cout - 8 .. Cout, overlapping the group before), two output pixels per 512-bit vector: lanes 0-7
    /// pixel ox, lanes 8-15 pixel ox + 1, each tap's two 256-bit loads joined by one VINSERTI64X4 against the tap's
    /// weights in both halves, one 16-lane requantization (<see cref="ChannelRequantizer512.Twice8"/>) for both pixels.
    /// Against one pixel in 8 lanes it halves the multiplies, additions and requantizations; a row's odd last pixel is
    /// computed twice and stored once.
    /// </summary>
    private static void RestTwoPixels3x3(in Conv2DParams p, ref int ring, int stride, ReadOnlySpan<int> desc, int rows, int jpOdd, int outW,
        int cout, PackedFilter packed, ref short w, RightRequantTable table, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        ref sbyte o, int xFirst, int xLast)
    {
        int c = cout - 8, coutP = packed.CoutPadded, d = 1 + System.Math.Max(2, jpOdd);
        nint pixelStep = p.StrideW * stride, col = 2 * p.DilationW * stride, step = 2 * pixelStep, rowOut = outW * cout;
        nint tapStep = 2 * coutP, oddSet = 2 * 3 * coutP * 2;
        ref int dRef = ref MemoryMarshal.GetReference(desc);
        var q = ChannelRequantizer512.Twice8(table, c, Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(multipliers), (nuint)c),
            Vector256.LoadUnsafe(ref MemoryMarshal.GetReference(shifts), (nuint)c), p.OutputOffset, p.ActivationMin, p.ActivationMax, table.BuiltFloatForm);
        var b8 = Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(packed.Init), (nuint)c);
        var bias = Avx512F.InsertVector256(b8.ToVector512Unsafe(), b8, 1);
        ref short wc = ref Unsafe.Add(ref w, 2 * c);
        ref short wo = ref Unsafe.Add(ref wc, jpOdd == 0 ? 0 : oddSet);
        var e00 = Twice(ref wc, 0); var e01 = Twice(ref wc, tapStep); var e02 = Twice(ref wc, 2 * tapStep);
        var e10 = Twice(ref wc, 3 * tapStep); var e11 = Twice(ref wc, 4 * tapStep); var e12 = Twice(ref wc, 5 * tapStep);
        var o00 = Twice(ref wo, 0); var o01 = Twice(ref wo, tapStep); var o02 = Twice(ref wo, 2 * tapStep);
        var o10 = Twice(ref wo, 3 * tapStep); var o11 = Twice(ref wo, 4 * tapStep); var o12 = Twice(ref wo, 5 * tapStep);
        for (int r = 0; r < rows; r++)
        {
            ref int rd = ref Unsafe.Add(ref dRef, r * d);
            bool odd = rd != 0;
            var w00 = odd ? o00 : e00; var w01 = odd ? o01 : e01; var w02 = odd ? o02 : e02;
            var w10 = odd ? o10 : e10; var w11 = odd ? o11 : e11; var w12 = odd ? o12 : e12;
            int xs = r == 0 ? xFirst : 0, xe = r == rows - 1 ? xLast : outW;
            ref short r0 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 1) + c + xs * pixelStep));
            ref short r1 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 2) + c + xs * pixelStep));
            ref sbyte oc = ref Unsafe.Add(ref o, r * rowOut + xs * cout + c);
            for (int ox = xs; ox < xe; ox += 2)
            {
                // The second pixel's taps (the first pixel's again for an odd last one).
                nint next = ox + 1 < xe ? step : 0;
                var acc = bias + Avx512BW.MultiplyAddAdjacent(Pair(ref r0, 0, next), w00) + Avx512BW.MultiplyAddAdjacent(Pair(ref r0, col, next), w01)
                    + Avx512BW.MultiplyAddAdjacent(Pair(ref r0, 2 * col, next), w02);
                acc += Avx512BW.MultiplyAddAdjacent(Pair(ref r1, 0, next), w10) + Avx512BW.MultiplyAddAdjacent(Pair(ref r1, col, next), w11)
                    + Avx512BW.MultiplyAddAdjacent(Pair(ref r1, 2 * col, next), w12);
                SimdOps512.StoreHalves(q.Apply(acc), ref oc, ref Unsafe.Add(ref oc, cout), next != 0, 8);
                oc = ref Unsafe.Add(ref oc, 2 * cout);
                r0 = ref Unsafe.Add(ref r0, 2 * step);
                r1 = ref Unsafe.Add(ref r1, 2 * step);
            }
        }

        // A tap's 8 channels' weight pairs in both halves.
        static Vector512<short> Twice(ref short wt, nint offset)
        {
            var v = Vector256.LoadUnsafe(ref Unsafe.Add(ref wt, offset));
            return Avx512F.InsertVector256(v.ToVector512Unsafe(), v, 1);
        }

        // The 8 channels' pairs at x + offset (first pixel) and x + offset + next (second pixel) joined.
        static Vector512<short> Pair(ref short x, nint offset, nint next)
            => Avx512F.InsertVector256(Vector256.LoadUnsafe(ref Unsafe.Add(ref x, offset)).ToVector512Unsafe(),
                Vector256.LoadUnsafe(ref Unsafe.Add(ref x, offset + next)), 1);
    }

    /// <summary>
    /// Output rows for the channel groups starting in [<paramref name="from"/>, <paramref name="end"/>), TWidth.Lanes
    /// channels per group (the last group overlapping the one before when Cout is not a multiple of the lanes; below 8
    /// channels, partial stores); each group's weights and requantization operands are set up once for all its rows.
    /// One body for both widths: the JIT compiles it once per width struct, with that width's instructions inlined.
    /// </summary>
    private static void Groups<TWidth, TShort, TInt, TRequant>(in Conv2DParams p, ref int ring, int stride, ReadOnlySpan<int> desc, int rows, int jp,
        int jpOdd, int kw, int outW, int cout, PackedFilter packed, ref short w, RightRequantTable table, ReadOnlySpan<int> multipliers,
        ReadOnlySpan<int> shifts, ref sbyte o, int from, int end, int xFirst, int xLast)
        where TWidth : struct, IRowWidth<TShort, TInt, TRequant> where TShort : struct where TInt : struct where TRequant : struct
    {
        int coutP = packed.CoutPadded, d = 1 + System.Math.Max(jp, jpOdd);
        // The ring's columns are `stride` channels apart, the output's pixels Cout.
        nint pixelStep = p.StrideW * stride, columnStep = p.DilationW * stride, rowOut = outW * cout;
        nint oddSet = jp * kw * coutP * 2;
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        ref int dRef = ref MemoryMarshal.GetReference(desc);
        int stored = System.Math.Min(cout, TWidth.Lanes);
        for (int c0 = from; c0 < end; c0 += TWidth.Lanes)
        {
            int c = System.Math.Max(System.Math.Min(c0, cout - TWidth.Lanes), 0);
            var bias = TWidth.Load(ref init, (nuint)c);
            if (kw == 3 && jp == 2 && jpOdd is 0 or 2)
            {
                // The common 3x3: six weight vectors (twelve with the odd set) in registers for every row of the group.
                // Where the requantizer folds the bias into its constants (AVX2, a fused ReLU), the weights are doubled and
                // the sum of products goes to it alone: no bias addition and no doubling per output vector.
                var qf = TWidth.FoldingRequantizer(table, c, ref mRef, ref sRef, p, cout, ref init);
                bool folded = TWidth.Folded(qf);
                ref short wc = ref Unsafe.Add(ref w, 2 * c);
                nint tapStep = 2 * coutP;
                var e00 = Weights(ref wc, 0, folded);
                var e01 = Weights(ref wc, tapStep, folded);
                var e02 = Weights(ref wc, 2 * tapStep, folded);
                var e10 = Weights(ref wc, 3 * tapStep, folded);
                var e11 = Weights(ref wc, 4 * tapStep, folded);
                var e12 = Weights(ref wc, 5 * tapStep, folded);
                ref short wo = ref Unsafe.Add(ref wc, jpOdd == 0 ? 0 : oddSet);
                var o00 = Weights(ref wo, 0, folded);
                var o01 = Weights(ref wo, tapStep, folded);
                var o02 = Weights(ref wo, 2 * tapStep, folded);
                var o10 = Weights(ref wo, 3 * tapStep, folded);
                var o11 = Weights(ref wo, 4 * tapStep, folded);
                var o12 = Weights(ref wo, 5 * tapStep, folded);
                nint col = 2 * columnStep, step = 2 * pixelStep;
                for (int r = 0; r < rows; r++)
                {
                    ref int rd = ref Unsafe.Add(ref dRef, r * d);
                    bool odd = rd != 0;
                    var w00 = odd ? o00 : e00;
                    var w01 = odd ? o01 : e01;
                    var w02 = odd ? o02 : e02;
                    var w10 = odd ? o10 : e10;
                    var w11 = odd ? o11 : e11;
                    var w12 = odd ? o12 : e12;
                    int xs = r == 0 ? xFirst : 0, xe = r == rows - 1 ? xLast : outW;
                    ref short r0 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 1) + c + xs * pixelStep));
                    ref short r1 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 2) + c + xs * pixelStep));
                    ref sbyte oc = ref Unsafe.Add(ref o, r * rowOut + xs * cout + c);
                    int ox = xs;
                    if (stored == TWidth.Lanes)
                        for (; ox < xe - 1; ox += 2)
                        {
                            // Two pixels at a time: two independent chains, narrowed and clamped together.
                            var acc0 = Pixel(ref r0, ref r1, col, w00, w01, w02, w10, w11, w12);
                            var acc1 = Pixel(ref Unsafe.Add(ref r0, step), ref Unsafe.Add(ref r1, step), col, w00, w01, w02, w10, w11, w12);
                            if (!folded)
                            {
                                acc0 = TWidth.Add(acc0, bias);
                                acc1 = TWidth.Add(acc1, bias);
                            }
                            TWidth.StoreTwo(ref oc, cout, qf, acc0, acc1);
                            oc = ref Unsafe.Add(ref oc, 2 * cout);
                            r0 = ref Unsafe.Add(ref r0, 2 * step);
                            r1 = ref Unsafe.Add(ref r1, 2 * step);
                        }
                    for (; ox < xe; ox++)
                    {
                        var acc = Pixel(ref r0, ref r1, col, w00, w01, w02, w10, w11, w12);
                        if (!folded)
                            acc = TWidth.Add(acc, bias);
                        TWidth.Store(ref oc, qf, acc, stored);
                        oc = ref Unsafe.Add(ref oc, cout);
                        r0 = ref Unsafe.Add(ref r0, step);
                        r1 = ref Unsafe.Add(ref r1, step);
                    }
                }
                continue;
            }
            var q = TWidth.Requantizer(table, c, ref mRef, ref sRef, p, cout);
            for (int r = 0; r < rows; r++)
            {
                ref int rd = ref Unsafe.Add(ref dRef, r * d);
                int count = rd != 0 ? jpOdd : jp;
                ref short ws = ref Unsafe.Add(ref w, (rd != 0 ? oddSet : 0) + 2 * c);
                ref sbyte oc = ref Unsafe.Add(ref o, r * rowOut + c);
                int xe = r == rows - 1 ? xLast : outW;
                int ox = r == 0 ? xFirst : 0;
                if (stored == TWidth.Lanes)
                    for (; ox < xe - 1; ox += 2)
                    {
                        // Two pixels at a time, as in the 3x3 body: each weight vector loaded once for both, the two
                        // requantized and narrowed together.
                        var acc0 = bias;
                        var acc1 = bias;
                        ref short wt = ref ws;
                        for (int j = 0; j < count; j++)
                        {
                            ref int px = ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 1 + j) + ox * pixelStep + c);
                            for (int kx = 0; kx < kw; kx++)
                            {
                                var wv = TWidth.Load(ref wt, 0);
                                ref short x0 = ref Unsafe.As<int, short>(ref Unsafe.Add(ref px, kx * columnStep));
                                acc0 = TWidth.Add(acc0, TWidth.MultiplyAddAdjacent(TWidth.Load(ref x0, 0), wv));
                                acc1 = TWidth.Add(acc1, TWidth.MultiplyAddAdjacent(TWidth.Load(ref x0, (nuint)(2 * pixelStep)), wv));
                                wt = ref Unsafe.Add(ref wt, 2 * coutP);
                            }
                        }
                        TWidth.StoreTwo(ref Unsafe.Add(ref oc, ox * cout), cout, q, acc0, acc1);
                    }
                for (; ox < xe; ox++)
                {
                    var acc = bias;
                    ref short wt = ref ws;
                    for (int j = 0; j < count; j++)
                    {
                        ref int px = ref Unsafe.Add(ref ring, Unsafe.Add(ref rd, 1 + j) + ox * pixelStep + c);
                        for (int kx = 0; kx < kw; kx++)
                        {
                            acc = TWidth.Add(acc, TWidth.MultiplyAddAdjacent(
                                TWidth.Load(ref Unsafe.As<int, short>(ref Unsafe.Add(ref px, kx * columnStep)), 0), TWidth.Load(ref wt, 0)));
                            wt = ref Unsafe.Add(ref wt, 2 * coutP);
                        }
                    }
                    TWidth.Store(ref Unsafe.Add(ref oc, ox * cout), q, acc, stored);
                }
            }
        }

        // One pixel's six products of the common 3x3 (pair rows r0 and r1, kernel columns col apart), summed.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static TInt Pixel(ref short r0, ref short r1, nint col, TShort w00, TShort w01, TShort w02, TShort w10, TShort w11, TShort w12)
            => TWidth.Add(TWidth.Add(TWidth.Add(TWidth.MultiplyAddAdjacent(TWidth.Load(ref r0, 0), w00),
                    TWidth.MultiplyAddAdjacent(TWidth.Load(ref r0, (nuint)col), w01)),
                    TWidth.MultiplyAddAdjacent(TWidth.Load(ref r0, (nuint)(2 * col)), w02)),
                TWidth.Add(TWidth.Add(TWidth.MultiplyAddAdjacent(TWidth.Load(ref r1, 0), w10),
                    TWidth.MultiplyAddAdjacent(TWidth.Load(ref r1, (nuint)col), w11)),
                    TWidth.MultiplyAddAdjacent(TWidth.Load(ref r1, (nuint)(2 * col)), w12)));

        // A tap's weight pairs of the group at wt + offset, doubled when the requantizer folds the bias.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static TShort Weights(ref short wt, nint offset, bool doubled)
        {
            var v = TWidth.Load(ref wt, (nuint)offset);
            return doubled ? TWidth.Double(v) : v;
        }
    }

    /// <summary>
    /// The vector width of <see cref="Groups{TWidth, TShort, TInt, TRequant}"/>: its int16 and int32 vectors, its
    /// per-group requantizer, and the few operations the body needs; implemented by structs, so the JIT compiles the
    /// body once per width with these calls inlined.
    /// </summary>
    private interface IRowWidth<TShort, TInt, TRequant>
    {
        /// <summary>Channels per group (int32 lanes).</summary>
        static abstract int Lanes { get; }

        static abstract TShort Load(ref short x, nuint elementOffset);

        static abstract TInt Load(ref int x, nuint elementOffset);

        /// <summary>VPMADDWD: per int32 lane, the sum of the two int16 products.</summary>
        static abstract TInt MultiplyAddAdjacent(TShort x, TShort w);

        static abstract TInt Add(TInt a, TInt b);

        /// <summary>The requantizer of the group at channel c (the one-rounding form where the table covers it).</summary>
        static abstract TRequant Requantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p, int cout);

        /// <summary>
        /// The requantizer of the group at channel c for the 3x3 body, which keeps the weights in registers: one that takes
        /// twice the sum of products without the start values <paramref name="init"/> where <see cref="Folded"/> says so
        /// (<see cref="ChannelRequantizer256.Folding"/>), else as <see cref="Requantizer"/>.
        /// </summary>
        static abstract TRequant FoldingRequantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p, int cout,
            ref int init);

        /// <summary>Whether <paramref name="q"/> takes twice the sum of products, with the bias in its constants.</summary>
        static abstract bool Folded(in TRequant q);

        /// <summary>w + w (weights of at most 128 in magnitude: 256 fits the int16).</summary>
        static abstract TShort Double(TShort w);

        /// <summary>The group's <paramref name="stored"/> output bytes (all lanes, or fewer below 8 channels) at o.</summary>
        static abstract void Store(ref sbyte o, in TRequant q, TInt acc, int stored);

        /// <summary>Two neighbouring pixels' <see cref="Store"/>s of a whole group (stored = Lanes): o and o + next.</summary>
        static abstract void StoreTwo(ref sbyte o, nint next, in TRequant q, TInt acc0, TInt acc1);
    }

    /// <summary>AVX-512 (BW): 16 channels per group.</summary>
    private struct Width512 : IRowWidth<Vector512<short>, Vector512<int>, ChannelRequantizer512>
    {
        public static int Lanes => 16;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> Load(ref short x, nuint elementOffset) => Vector512.LoadUnsafe(ref x, elementOffset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Load(ref int x, nuint elementOffset) => Vector512.LoadUnsafe(ref x, elementOffset);

        // The weights first: VPMADDWD is commutative, and the JIT folds only its second operand's load into the instruction.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> MultiplyAddAdjacent(Vector512<short> x, Vector512<short> w) => Avx512BW.MultiplyAddAdjacent(w, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<int> Add(Vector512<int> a, Vector512<int> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ChannelRequantizer512 Requantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p, int cout)
            => ChannelRequantizer512.Create(table, table.BuiltFloatForm, c, Vector512.LoadUnsafe(ref multipliers, (nuint)c), Vector512.LoadUnsafe(ref shifts, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax);

        // The AVX-512 kernels keep the bias addition.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ChannelRequantizer512 FoldingRequantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p,
            int cout, ref int init) => Requantizer(table, c, ref multipliers, ref shifts, p, cout);

        public static bool Folded(in ChannelRequantizer512 q) => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector512<short> Double(Vector512<short> w) => w + w;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(ref sbyte o, in ChannelRequantizer512 q, Vector512<int> acc, int stored) => q.Apply(acc).StoreUnsafe(ref o);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreTwo(ref sbyte o, nint next, in ChannelRequantizer512 q, Vector512<int> acc0, Vector512<int> acc1)
        {
            q.Apply(acc0).StoreUnsafe(ref o);
            q.Apply(acc1).StoreUnsafe(ref Unsafe.Add(ref o, next));
        }
    }

    /// <summary>AVX2: 8 channels per group (fewer below 8 channels: the multipliers and shifts padded to 8 lanes, partial stores).</summary>
    private struct Width256 : IRowWidth<Vector256<short>, Vector256<int>, ChannelRequantizer256>
    {
        public static int Lanes => 8;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Load(ref short x, nuint elementOffset) => Vector256.LoadUnsafe(ref x, elementOffset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Load(ref int x, nuint elementOffset) => Vector256.LoadUnsafe(ref x, elementOffset);

        // The weights first, as in the 512-bit form: the input's load is folded.
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> MultiplyAddAdjacent(Vector256<short> x, Vector256<short> w) => Avx2.MultiplyAddAdjacent(w, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<int> Add(Vector256<int> a, Vector256<int> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ChannelRequantizer256 Requantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p, int cout)
            => new ChannelRequantizer256(cout >= 8 ? table : null, c, Vector256.LoadUnsafe(ref multipliers, (nuint)c), Vector256.LoadUnsafe(ref shifts, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax).WithFloat(table.BuiltFloatForm, c);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static ChannelRequantizer256 FoldingRequantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p,
            int cout, ref int init)
        {
            var q = ChannelRequantizer256.Folding(cout >= 8 ? table : null, c, Vector256.LoadUnsafe(ref multipliers, (nuint)c),
                Vector256.LoadUnsafe(ref shifts, (nuint)c), p.OutputOffset, p.ActivationMin, p.ActivationMax, Vector256.LoadUnsafe(ref init, (nuint)c));
            return q.WithFloat(q.Folded ? table.BuiltFloatFormFolded : table.BuiltFloatForm, c);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Folded(in ChannelRequantizer256 q) => q.Folded;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector256<short> Double(Vector256<short> w) => w + w;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(ref sbyte o, in ChannelRequantizer256 q, Vector256<int> acc, int stored) => Put(ref o, q.Apply(acc), stored);

        // Both pixels narrowed together, each 8 bytes stored straight from the vector (VMOVQ, VMOVHPD; the output pinned
        // for the two stores).
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreTwo(ref sbyte o, nint next, in ChannelRequantizer256 q, Vector256<int> acc0, Vector256<int> acc1)
            => SimdOps.StoreTwo8(q.ApplyTwo(acc0, acc1).AsInt64(), ref o, next);
    }

    /// <summary>
    /// AVX2, 4 channels per group: only the last group of an op whose channel count leaves 1-4 past its 8-channel groups
    /// (<see cref="Takes"/>), requantized by the exact form alone.
    /// </summary>
    private struct Width128 : IRowWidth<Vector128<short>, Vector128<int>, Width128.Requantizer4>
    {
        /// <summary>
        /// Whether the last 4 channels run this way: Cout = 8n + 1..4 with n &gt;= 1, even (the exact form's 64-bit constants
        /// are per pair of channels, so its 4 lanes must start on an even channel), and covered by the exact form.
        /// </summary>
        public static bool Takes(RightRequantTable table, int cout) => table.Covered && cout > 8 && (cout & 7) is > 0 and <= 4 && (cout & 1) == 0;

        public static int Lanes => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<short> Load(ref short x, nuint elementOffset) => Vector128.LoadUnsafe(ref x, elementOffset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Load(ref int x, nuint elementOffset) => Vector128.LoadUnsafe(ref x, elementOffset);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> MultiplyAddAdjacent(Vector128<short> x, Vector128<short> w) => Sse2.MultiplyAddAdjacent(w, x);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<int> Add(Vector128<int> a, Vector128<int> b) => a + b;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Requantizer4 Requantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p, int cout)
            => new(table, c, p.ActivationMin, p.ActivationMax);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Requantizer4 FoldingRequantizer(RightRequantTable table, int c, ref int multipliers, ref int shifts, in Conv2DParams p,
            int cout, ref int init)
        {
            var q = new Requantizer4(table, c, p.ActivationMin, p.ActivationMax);
            return q.Clamped ? q.WithStart(Vector128.LoadUnsafe(ref init, (nuint)c)) : q;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static bool Folded(in Requantizer4 q) => q.Folded;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static Vector128<short> Double(Vector128<short> w) => w + w;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Store(ref sbyte o, in Requantizer4 q, Vector128<int> acc, int stored)
            => Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), q.Apply(acc).AsInt32().ToScalar());

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void StoreTwo(ref sbyte o, nint next, in Requantizer4 q, Vector128<int> acc0, Vector128<int> acc1)
        {
            Store(ref o, q, acc0, 4);
            Store(ref Unsafe.Add(ref o, next), q, acc1, 4);
        }

        /// <summary>
        /// The exact form on 4 channels (<see cref="SimdOps512.RightRequantizer128"/>), narrowed to 4 bytes and clamped; after
        /// <see cref="WithStart"/>, of twice the sum of products with the start values in its constants.
        /// </summary>
        public readonly struct Requantizer4
        {
            private readonly SimdOps512.RightRequantizer128 _rq;
            private readonly bool _clamped, _folded;
            private readonly Vector128<sbyte> _min, _max;

            public Requantizer4(RightRequantTable table, int c, int activationMin, int activationMax)
            {
                _rq = new(table, c);
                _clamped = table.ClampsNegatives; // the sign term dropped under a fused ReLU (SimdOps512 remark 5)
                _min = Vector128.Create((sbyte)activationMin);
                _max = Vector128.Create((sbyte)activationMax);
            }

            /// <summary>Whether the sign term is dropped (a fused ReLU), which <see cref="WithStart"/> needs.</summary>
            public bool Clamped => _clamped;

            /// <summary>Whether <see cref="Apply"/> takes twice the sum of products without the start values.</summary>
            public bool Folded => _folded;

            /// <summary>This requantizer with <paramref name="init"/> moved into its constants (SimdOps512 remark 6); only when <see cref="Clamped"/>.</summary>
            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Requantizer4 WithStart(Vector128<int> init) => new(this, _rq.WithStart(init + init));

            private Requantizer4(in Requantizer4 q, SimdOps512.RightRequantizer128 folded)
            {
                this = q;
                _rq = folded;
                _folded = true;
            }

            [MethodImpl(MethodImplOptions.AggressiveInlining)]
            public Vector128<sbyte> Apply(Vector128<int> acc)
            {
                var words = Sse2.PackSignedSaturate(_rq.Apply(_folded ? acc : acc + acc, _clamped), Vector128<int>.Zero);
                return Vector128.Min(Vector128.Max(Sse2.PackSignedSaturate(words, words), _min), _max);
            }
        }
    }

    /// <summary>
    /// Pair row for padded row y (input rows iy = y - PadTop and iy + DilationH): the zero-point pair over the padding
    /// columns, else the two rows (or the zero point for a row outside the image) interleaved byte by byte and
    /// sign-extended (<see cref="Interleave"/>): in one run, or column by column where the columns are
    /// <paramref name="stride"/> channels apart rather than Cin.
    /// </summary>
    private static void StagePairRow(in Conv2DParams p, ReadOnlySpan<sbyte> input, int b, int iy, int inH, int inW, int cin, int stride, int span,
        int lo, int hi, ReadOnlySpan<sbyte> zeroRow, int zeroPair, Span<int> row)
    {
        int n = (hi - lo) * cin;
        row.Slice(0, lo * stride).Fill(zeroPair);
        row.Slice(hi * stride, (span - hi) * stride).Fill(zeroPair);
        if (n == 0)
            return;
        int iy2 = iy + p.DilationH, start = ((b * inH) * inW + lo - p.PadLeft) * cin;
        ref sbyte a = ref MemoryMarshal.GetReference((uint)iy < (uint)inH ? input.Slice(start + iy * inW * cin, n) : zeroRow);
        ref sbyte c = ref MemoryMarshal.GetReference((uint)iy2 < (uint)inH ? input.Slice(start + iy2 * inW * cin, n) : zeroRow);
        ref short d = ref Unsafe.As<int, short>(ref Unsafe.Add(ref MemoryMarshal.GetReference(row), lo * stride));
        if (stride != cin)
        {
            // Columns `stride` channels apart: each column's Cin channels interleaved on their own (the slots from Cin to
            // the stride are never read: a last group overlaps the one before instead).
            for (int col = 0; col < hi - lo; col++)
                Interleave(ref Unsafe.Add(ref a, col * cin), ref Unsafe.Add(ref c, col * cin), ref Unsafe.Add(ref d, 2 * col * stride), cin);
            return;
        }
        Interleave(ref a, ref c, ref d, n);
    }

    /// <summary>
    /// d[2i] = a[i], d[2i + 1] = c[i] for i in [0, n), sign-extended, 32 or 16 elements per step, the last step overlapping
    /// the one before.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(ref sbyte a, ref sbyte c, ref short d, int n)
    {
        if (Avx512BW.IsSupported && n >= 32)
        {
            // 32 elements per step: both rows sign-extended (VPMOVSXBW from memory), interleaved within 128-bit lanes
            // (VPUNPCKL/HWD: elements 8k..8k+3 and 8k+4..8k+7 of lane k), put back in element order by two VPERMT2Q.
            var first = Vector512.Create(0L, 1, 8, 9, 2, 3, 10, 11);
            var second = Vector512.Create(4L, 5, 12, 13, 6, 7, 14, 15);
            for (int i = 0; ; i += 32)
            {
                i = System.Math.Min(i, n - 32);
                var va = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref a, (nuint)i));
                var vc = Avx512BW.ConvertToVector512Int16(Vector256.LoadUnsafe(ref c, (nuint)i));
                var low = Avx512BW.UnpackLow(va, vc).AsInt64();
                var high = Avx512BW.UnpackHigh(va, vc).AsInt64();
                Avx512F.PermuteVar8x64x2(low, first, high).AsInt16().StoreUnsafe(ref d, (nuint)(2 * i));
                Avx512F.PermuteVar8x64x2(low, second, high).AsInt16().StoreUnsafe(ref d, (nuint)(2 * i + 32));
                if (i == n - 32)
                    break;
            }
        }
        else if (n >= 16)
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
