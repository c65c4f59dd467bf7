using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staged image plus tap-pair rows (bytes, on the stack) of <see cref="TryEvalS8Cin1Avx2"/>.</summary>
    private const int Cin1X64StackLimit = 65536;

    /// <summary>
    /// Whether the dispatcher takes <see cref="TryEvalS8Cin1Avx2"/> (or, with AVX-VNNI, the VNNI stem) for this op: with
    /// AVX-512, every op with one input channel. With AVX2 alone, only at unit horizontal stride, 8 channels or more and
    /// where the op's requantization takes the exact form without its sign term (a fused ReLU), so that the bias folds
    /// into its constants (<see cref="ChannelRequantizer256.Folding"/>, <see cref="Cin1Pixels256"/>): there it measured
    /// faster than the widened-rows and Winograd paths on Zen 1 (28x28 stems, 3x3, pad 1, same process: 8 channels 12.9 -> 9.1 us,
    /// 12 16.4-17.2 -> 12.9, 16 19.0 -> 17.5, 24 31.3 -> 23.4, 32 35.7 -> 30.6), and slower elsewhere (4 channels 9.2 ->
    /// 10.9, stride 2 with 16 5.2 -> 6.3; without the fold the rows path was faster too).
    /// </summary>
    internal static bool Cin1Avx2Preferred(in Conv2DParams p, in Shape4 inShape, in Shape4 outShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts)
    {
        if (inShape.D3 != 1 || !Avx2.IsSupported)
            return false;
        if (Avx512BW.IsSupported)
            return true;
        if (p.StrideW != 1 || outShape.D3 < 8 || packed.Pairs is null || packed.Cout != outShape.D3 || multipliers.Length != outShape.D3
            || !ChannelRequantizer256.BoundsFit(p.ActivationMin, p.ActivationMax))
            return false;
        var table = RightRequantTable.Get(ref packed.RightRequant, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        return table.Covered && table.ClampsNegatives;
    }

    /// <summary>
    /// AVX2 (and AVX-512BW) for a Conv2D with one input channel (the stems of image models): any Cout, Kh x Kw up to 64
    /// taps, stride, padding and dilation. The input is widened once into a padded int16 image on the stack (the zero
    /// point outside the image, which cancels against the folded bias: (zp + inputOffset) x w = 0, as the reference
    /// skips padded taps). For a block of output rows (the whole image when it fits the stack limit), the taps of every
    /// pixel are gathered as int32 pairs of consecutive taps (t, t + 1) in the tap order of <see cref="PackedFilter.Pairs"/>
    /// ([ceil(K / 2), CoutPadded, 2], an odd K's last pair ending in a zero weight), pair-major so that with stride 1
    /// eight pixels are two loads and two PUNPCK*WD; a 3x3 on the 16-channel groups gathers only (t2, t3) and reads the
    /// other four pairs straight from the image (<see cref="Cin1Direct3x3Group"/>). Then per group of 16 (AVX-512) or 8 output
    /// channels, whose weight pairs and requantization operands stay in registers for the block, each pixel is
    /// ceil(K / 2) broadcasts and VPMADDWD (exact int16 products summed in int32: the
    /// reference accumulator), requantized in registers (<see cref="ChannelRequantizer512"/>,
    /// <see cref="ChannelRequantizer256"/>) and stored: 5 multiply-adds for a 3x3 stem where the widened-rows path
    /// pairs each kernel row on its own (6), and no accumulator store and reload. A Cout that is not a multiple of
    /// the group runs its last group overlapping the one before; below 8 the padding lanes meet zero weights and only
    /// the real channels are stored. Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged element is written before it is read (or read against a zero weight)
    internal static bool TryEvalS8Cin1Avx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? pairs = packed.Pairs;
        int inH = inShape.D1, inW = inShape.D2, kh = filterShape.D1, kw = filterShape.D2, taps = kh * kw, tapPairs = (taps + 1) / 2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        if (!Avx2.IsSupported || pairs is null || inShape.D3 != 1 || filterShape.D3 != 1 || taps == 0 || taps > 64
            || packed.Cout != cout || packed.K != taps || (uint)(128 - p.InputOffset) > 255
            || !ChannelRequantizer256.BoundsFit(p.ActivationMin, p.ActivationMax))
            return false;
        // Columns [-PadLeft, span - PadLeft) and rows [-PadTop, paddedH - PadTop) cover every tap; 8 spare columns for the
        // 8-pixel steps past the row's last pixel.
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        int rowLen = span + 8;
        long imageBytes = ((long)paddedH * rowLen + 8) * 2;
        // The tap pairs of a block of output rows, pair-major: plane k holds pair k of every pixel of the block, the rows
        // one after another (so that each channel group runs over the block's pixels in one flat loop, its weights and
        // requantization operands set up once per block, not per row), plus 8 spare for the last row's 8-pixel steps.
        long rowBytes = (long)tapPairs * outW * 4;
        if (imageBytes + rowBytes + tapPairs * 32 > Cin1X64StackLimit)
            return false;
        int blockRows = (int)System.Math.Min(outH, (Cin1X64StackLimit - imageBytes - tapPairs * 32) / rowBytes);
        int planeStride = blockRows * outW + 8;
        Span<short> image = stackalloc short[paddedH * rowLen + 8];
        Span<int> planes = stackalloc int[tapPairs * planeStride];
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
        // With AVX-512, 9..15 channels also take one 16-lane group (CoutPadded is 16: the padding lanes meet zero weights;
        // only the real channels are stored): the 8-lane body ran two overlapping groups for them at a third of the rate.
        // (8 channels stay 8-lane: their packed weights are 8 wide.)
        bool wide = Avx512BW.IsSupported && cout > 8;
        // With AVX-512, up to 8 channels run two pixels per 16 lanes (Cin1TwoPixels): the 8-lane body took twice the
        // instructions per output.
        bool twoPixels = Avx512BW.IsSupported && cout <= 8;
        // The op's table of the one-rounding form (built on the op's first call, kept in the packed filter; no allocation after).
        // (The two-pixel body keeps a table of its own, of the channels twice over.)
        var table = twoPixels ? null : RightRequantTable.Get(ref packed.RightRequant, m, s, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        // With AVX2 alone, five tap pairs of 9-16 channels in the exact form without its sign term: Cin1Pixels256.
        bool pixels256 = !wide && !twoPixels && tapPairs == 5 && Cin1Pixels256Takes(cout, packed, table);
        // A 3x3 with unit horizontal dilation on the 16-channel groups or in Cin1Pixels256: four of its five tap pairs are
        // two neighbouring int16 of one image row ((t0, t1), (t4, t5), (t6, t7), and (t8, its right neighbour) against a zero
        // weight), which the kernel broadcasts straight from the widened image; only pair (t2, t3) spans two rows and is built.
        bool direct = (wide || pixels256) && kh == 3 && kw == 3 && p.DilationW == 1;
        short zeroPoint = (short)(-p.InputOffset);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        // Each tap's offset in the widened image from its window's top left: taps 2k and 2k + 1 make pair k (an odd K's
        // last pair repeats its tap against a zero weight). Worked out once here, not per row and pair: the divisions
        // cost more than the rest of the staging.
        Span<int> tapAt = stackalloc int[2 * tapPairs];
        for (int t = 0; t < 2 * tapPairs; t++)
        {
            int tt = System.Math.Min(t, taps - 1);
            tapAt[t] = (tt / kw) * p.DilationH * rowLen + (tt % kw) * p.DilationW;
        }
        ref short img = ref MemoryMarshal.GetReference(image);
        ref sbyte outEnd = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), output.Length);
        ref int tr = ref MemoryMarshal.GetReference(planes);
        for (int b = 0; b < inShape.D0; b++)
        {
            for (int y = 0; y < paddedH; y++)
            {
                Span<short> row = image.Slice(y * rowLen, rowLen);
                int iy = y - p.PadTop;
                if ((uint)iy >= (uint)inH)
                {
                    row.Fill(zeroPoint);
                    continue;
                }
                row.Slice(0, lo).Fill(zeroPoint);
                if (hi > lo)
                    WidenS8(ref Unsafe.AsRef(in input[(b * inH + iy) * inW + lo - p.PadLeft]), ref row[lo], hi - lo);
                row.Slice(hi).Fill(zeroPoint);
            }
            image.Slice(paddedH * rowLen).Clear();
            for (int oy0 = 0; oy0 < outH; oy0 += blockRows)
            {
                int rows = System.Math.Min(blockRows, outH - oy0);
                for (int r = 0; r < rows; r++)
                {
                    ref short top = ref Unsafe.Add(ref img, (oy0 + r) * p.StrideH * rowLen);
                    for (int k = direct ? 1 : 0; k < (direct ? 2 : tapPairs); k++)
                    {
                        ref short ra = ref Unsafe.Add(ref top, tapAt[2 * k]);
                        ref short rb = ref Unsafe.Add(ref top, tapAt[2 * k + 1]);
                        // Rows are built in order, so a row's 8-pixel steps past its end are overwritten by the next row.
                        ref int q = ref Unsafe.Add(ref tr, k * planeStride + r * outW);
                        if (p.StrideW == 1)
                        {
                            for (int ox = 0; ox < outW; ox += 8)
                            {
                                var va = Vector128.LoadUnsafe(ref ra, (nuint)ox);
                                var vb = Vector128.LoadUnsafe(ref rb, (nuint)ox);
                                Sse2.UnpackLow(va, vb).AsInt32().StoreUnsafe(ref q, (nuint)ox);
                                Sse2.UnpackHigh(va, vb).AsInt32().StoreUnsafe(ref q, (nuint)ox + 4);
                            }
                        }
                        else
                        {
                            for (int ox = 0; ox < outW; ox++)
                                Unsafe.Add(ref q, ox) = (ushort)Unsafe.Add(ref ra, ox * p.StrideW) | (Unsafe.Add(ref rb, ox * p.StrideW) << 16);
                        }
                    }
                }
                ref sbyte o = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), (b * outH + oy0) * outW * cout);
                int n = rows * outW;
                if (twoPixels)
                    Cin1TwoPixels(p, ref tr, tapPairs, planeStride, n, cout, packed, pairs, m, s, ref o);
                else if (wide)
                    Cin1Row512(p, ref tr, tapPairs, planeStride, rows, outW, cout, packed, pairs, table!, m, s, ref o, ref outEnd,
                        direct, ref Unsafe.Add(ref img, oy0 * p.StrideH * rowLen), rowLen);
                else if (pixels256)
                    Cin1Pixels256(p, ref tr, planeStride, n, cout, packed, pairs, table!, ref o, ref outEnd,
                        direct, ref Unsafe.Add(ref img, oy0 * p.StrideH * rowLen), rowLen, rows, outW);
                else
                    Cin1Row256(p, ref tr, tapPairs, planeStride, n, cout, packed, pairs, table!, m, s, ref o);
            }
        }
        return true;
    }

    /// <summary>
    /// A block of <paramref name="rows"/> x <paramref name="outW"/> consecutive output pixels, 16 channels per group (a rest
    /// of 1..15 channels as a group overlapping the one before: an 8-channel group for a rest of 1..8 could not read the
    /// taps from the image and made 20 or 24 channels 2.9x slower than 16, on Zen 5); tap pair k of pixel i
    /// at tapRow[k x outWPad + i]. With <paramref name="direct"/> (the 3x3 stem with unit horizontal dilation), tap pairs
    /// 0, 2, 3 and 4 are broadcast from the widened image, whose row at <paramref name="top"/> is the first output row's
    /// window top, and only plane 1 of tapRow is read (<see cref="Cin1Direct3x3Group"/>).
    /// </summary>
    private static void Cin1Row512(in Conv2DParams p, ref int tapRow, int tapPairs, int outWPad, int rows, int outW, int cout, PackedFilter packed,
        short[] pairs, RightRequantTable table, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, ref sbyte o, ref sbyte end,
        bool direct, ref short top, int rowLen)
    {
        int coutP = packed.CoutPadded, n = rows * outW;
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        scoped ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        scoped ref int sRef = ref MemoryMarshal.GetReference(shifts);
        nint pairStep = 2 * coutP;
        // Below 16 channels: one group over the padded lanes, its multipliers and shifts from a padded copy, stores of the real channels.
        int stored = System.Math.Min(cout, 16);
        Span<int> padded = stackalloc int[32];
        if (cout < 16)
        {
            padded.Clear();
            multipliers.Slice(0, cout).CopyTo(padded);
            shifts.Slice(0, cout).CopyTo(padded.Slice(16));
            mRef = ref MemoryMarshal.GetReference(padded);
            sRef = ref Unsafe.Add(ref mRef, 16);
        }
        for (int c0 = 0; c0 < cout; c0 += 16)
        {
            int c = System.Math.Max(System.Math.Min(c0, cout - 16), 0);
            ref short wc = ref Unsafe.Add(ref w, 2 * c);
            ref sbyte oc = ref Unsafe.Add(ref o, c);
            if (tapPairs == 5 && FoldedRequantizer512.Applies(table))
            {
                // The 3x3 stem: five weight vectors in registers for the whole block.
                var folded = new FoldedRequantizer512(table, c, packed.Init, p.ActivationMin, p.ActivationMax);
                if (direct)
                    Cin1Direct3x3Group(folded, p, ref top, rowLen, ref Unsafe.Add(ref tapRow, outWPad), rows, outW, cout, stored, ref end, ref wc, pairStep, ref oc);
                else
                    Cin1Group5(folded, ref tapRow, outWPad, n, cout, stored, ref end, ref wc, pairStep, ref oc);
                continue;
            }
            var q = new ChannelRequantizer512(table, c, Vector512.LoadUnsafe(ref mRef, (nuint)c), Vector512.LoadUnsafe(ref sRef, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax);
            var bias = Vector512.LoadUnsafe(ref init, (nuint)c);
            if (tapPairs == 5)
            {
                if (direct)
                    Cin1Direct3x3Group(new BiasedRequantizer512(q, bias), p, ref top, rowLen, ref Unsafe.Add(ref tapRow, outWPad), rows, outW, cout, stored,
                        ref end, ref wc, pairStep, ref oc);
                else
                    Cin1Group5(new BiasedRequantizer512(q, bias), ref tapRow, outWPad, n, cout, stored, ref end, ref wc, pairStep, ref oc);
                continue;
            }
            for (int ox = 0; ox < n; ox++)
            {
                var acc = bias;
                ref short wt = ref wc;
                for (int k = 0; k < tapPairs; k++)
                {
                    acc += Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref tapRow, k * outWPad + ox)).AsInt16(), Vector512.LoadUnsafe(ref wt));
                    wt = ref Unsafe.Add(ref wt, pairStep);
                }
                Put16(q.Apply(acc), ref Unsafe.Add(ref oc, ox * cout), stored, ref end);
            }
        }
    }

    /// <summary>
    /// One 16-channel group of the direct 3x3 stem (<see cref="Cin1Row512"/>): weights in registers, two pixels per step;
    /// pair 1 of pixel i of the block from <paramref name="plane"/>[i], the others broadcast from the image.
    /// </summary>
    private static void Cin1Direct3x3Group<TQ>(TQ q, in Conv2DParams p, ref short top, int rowLen, ref int plane, int rows, int outW, int cout, int stored, ref sbyte end,
        ref short wc, nint pairStep, ref sbyte oc) where TQ : struct, IGroupRequantizer512
    {
        var w0 = GroupWeights(ref wc, 0, pairStep, q.WeightScale);
        var w1 = GroupWeights(ref wc, 1, pairStep, q.WeightScale);
        var w2 = GroupWeights(ref wc, 2, pairStep, q.WeightScale);
        var w3 = GroupWeights(ref wc, 3, pairStep, q.WeightScale);
        var w4 = GroupWeights(ref wc, 4, pairStep, q.WeightScale);
        nint sw = p.StrideW, rowStep = p.StrideH * rowLen, dh = p.DilationH * rowLen;
        for (int r = 0; r < rows; r++)
        {
            var taps = new DirectTaps(ref top, r * rowStep, dh);
            ref byte a0 = ref taps.A0, a2 = ref taps.A2, a3 = ref taps.A3, a4 = ref taps.A4;
            ref int x1 = ref Unsafe.Add(ref plane, r * outW);
            ref sbyte orow = ref Unsafe.Add(ref oc, r * outW * cout);
            nint step = 2 * sw;
            int i = 0;
            for (; i + 1 < outW; i += 2)
            {
                nint u = i * step, v = u + step;
                var pa0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, u))).AsInt16(), w0);
                var pb0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, v))).AsInt16(), w0);
                var pa1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x1, i)).AsInt16(), w1);
                var pb1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x1, i + 1)).AsInt16(), w1);
                var pa2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, u))).AsInt16(), w2);
                var pb2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, v))).AsInt16(), w2);
                var pa3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, u))).AsInt16(), w3);
                var pb3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, v))).AsInt16(), w3);
                var pa4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, u))).AsInt16(), w4);
                var pb4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, v))).AsInt16(), w4);
                var ra = q.Apply((pa0 + pa1) + (pa2 + pa3) + pa4);
                var rb = q.Apply((pb0 + pb1) + (pb2 + pb3) + pb4);
                Put16(ra, ref Unsafe.Add(ref orow, i * cout), stored, ref end);
                Put16(rb, ref Unsafe.Add(ref orow, (i + 1) * cout), stored, ref end);
            }
            if (i < outW)
            {
                nint u = i * step;
                var acc = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, u))).AsInt16(), w0)
                    + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x1, i)).AsInt16(), w1)
                    + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, u))).AsInt16(), w2)
                    + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, u))).AsInt16(), w3)
                    + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, u))).AsInt16(), w4);
                Put16(q.Apply(acc), ref Unsafe.Add(ref orow, i * cout), stored, ref end);
            }
        }
    }

    /// <summary>
    /// One 16-channel group of a 3x3 stem (five tap pairs) over <paramref name="count"/> pixels: the weights (scaled as the
    /// requantizer asks) in registers, two pixels per step (two independent chains for the out-of-order core), each pixel
    /// five broadcasts and VPMADDWD, requantized in registers and stored.
    /// </summary>
    private static void Cin1Group5<TQ>(TQ q, ref int tapRow, nint row, int count, int cout, int stored, ref sbyte end, ref short wc, nint pairStep, ref sbyte oc)
        where TQ : struct, IGroupRequantizer512
    {
        var w0 = GroupWeights(ref wc, 0, pairStep, q.WeightScale);
        var w1 = GroupWeights(ref wc, 1, pairStep, q.WeightScale);
        var w2 = GroupWeights(ref wc, 2, pairStep, q.WeightScale);
        var w3 = GroupWeights(ref wc, 3, pairStep, q.WeightScale);
        var w4 = GroupWeights(ref wc, 4, pairStep, q.WeightScale);
        int i = 0;
        for (; i + 1 < count; i += 2)
        {
            ref int x = ref Unsafe.Add(ref tapRow, i);
            var a0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x).AsInt16(), w0);
            var b0 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 1)).AsInt16(), w0);
            var a1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, row)).AsInt16(), w1);
            var b1 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, row + 1)).AsInt16(), w1);
            var a2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 2 * row)).AsInt16(), w2);
            var b2 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 2 * row + 1)).AsInt16(), w2);
            var a3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 3 * row)).AsInt16(), w3);
            var b3 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 3 * row + 1)).AsInt16(), w3);
            var a4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 4 * row)).AsInt16(), w4);
            var b4 = Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 4 * row + 1)).AsInt16(), w4);
            var ra = q.Apply((a0 + a1) + (a2 + a3) + a4);
            var rb = q.Apply((b0 + b1) + (b2 + b3) + b4);
            Put16(ra, ref Unsafe.Add(ref oc, i * cout), stored, ref end);
            Put16(rb, ref Unsafe.Add(ref oc, (i + 1) * cout), stored, ref end);
        }
        if (i < count)
        {
            ref int x = ref Unsafe.Add(ref tapRow, i);
            var a = Avx512BW.MultiplyAddAdjacent(Vector512.Create(x).AsInt16(), w0)
                + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, row)).AsInt16(), w1)
                + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 2 * row)).AsInt16(), w2)
                + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 3 * row)).AsInt16(), w3)
                + Avx512BW.MultiplyAddAdjacent(Vector512.Create(Unsafe.Add(ref x, 4 * row)).AsInt16(), w4);
            Put16(q.Apply(a), ref Unsafe.Add(ref oc, i * cout), stored, ref end);
        }
    }

    /// <summary>A 16-channel group's bytes at o: all 16, or the first <paramref name="stored"/> (9..15) of a group over padding lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put16(Vector128<sbyte> v, ref sbyte o, int stored, ref sbyte end)
    {
        // Below 16 channels a pixel's 16 bytes run into the next pixels' first channels, which are stored afterwards (the
        // pixels of one call run in order): all 16 unless they would pass the end of the output (the op's, or a thread's
        // band): three instructions fewer per pixel than the 8-, 4-, 2- and 1-byte pieces.
        if (stored == 16 || !Unsafe.IsAddressGreaterThan(ref Unsafe.Add(ref o, 16), ref end))
            v.StoreUnsafe(ref o);
        else
            SimdOps512.Store(v, ref o, stored);
    }

    /// <summary>Tap pair k's weights of a 16-channel group, times <paramref name="scale"/> (the requantizer's <see cref="IGroupRequantizer512.WeightScale"/>: 1 or 2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> GroupWeights(ref short wc, int k, nint pairStep, int scale)
    {
        var w = Vector512.LoadUnsafe(ref wc, (nuint)(k * pairStep));
        return scale == 2 ? w + w : w;
    }

    /// <summary>
    /// AVX2, the 3x3 stem (five tap pairs) of 9-16 channels where the exact form applies without its sign term (a fused
    /// ReLU): both groups of a pixel in one pass over the <paramref name="count"/> pixels, which shares each tap pair's
    /// broadcast and the narrowing and stores all channels of the pixel at once. Channels 0-7 in 256-bit vectors, channels
    /// 8-15 in 256-bit vectors, or in 128-bit ones for 9-12 channels (half the multiply-adds where 256-bit operations run as
    /// two halves, Zen 1); lanes past Cout meet zero weights (CoutPadded is 16) and their bytes, stored past the pixel, are
    /// overwritten by the next pixel's (the pixels run in order; the last one stores only its own near the end). The bias is
    /// moved into the requantization's constants and the weights doubled (SimdOps512 remarks 5 and 6): no bias addition
    /// and no doubling per output vector. Only where <see cref="Cin1Pixels256Takes"/> (the dispatcher asks it first).
    /// </summary>
    /// <remarks>
    /// With <paramref name="direct"/> (a 3x3 with unit horizontal dilation), as <see cref="Cin1Direct3x3Group"/> with
    /// AVX-512: tap pairs 0, 2, 3 and 4 are broadcast straight from the widened image (the window top of the block's first
    /// output row at <paramref name="top"/>, rows <paramref name="rowLen"/> apart), pair 1 from its plane at
    /// tapRow + <paramref name="row"/>; the other four planes are not built. The <paramref name="count"/> pixels are then
    /// <paramref name="rows"/> output rows of <paramref name="outW"/>.
    /// </remarks>
    private static void Cin1Pixels256(in Conv2DParams p, ref int tapRow, nint row, int count, int cout, PackedFilter packed, short[] pairs,
        RightRequantTable table, ref sbyte o, ref sbyte end, bool direct, ref short top, int rowLen, int rows, int outW)
    {
        Debug.Assert(Cin1Pixels256Takes(cout, packed, table));
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        nint pairStep = 2 * packed.CoutPadded;
        var first = new StemGroup8(table, 0, packed.Init, ref w, pairStep);
        var min = Vector128.Create((sbyte)p.ActivationMin);
        var max = Vector128.Create((sbyte)p.ActivationMax);
        // Channel 8's weight pairs start 16 int16 into each tap pair's row.
        ref short wb = ref Unsafe.Add(ref w, 16);
        if (direct && cout <= 12)
            Cin1Pixels256Direct(first, new StemGroup4(table, 8, packed.Init, ref wb, pairStep), p, ref top, rowLen, ref Unsafe.Add(ref tapRow, row),
                rows, outW, cout, min, max, ref o, ref end);
        else if (direct)
            Cin1Pixels256Direct(first, new StemGroup8(table, 8, packed.Init, ref wb, pairStep), p, ref top, rowLen, ref Unsafe.Add(ref tapRow, row),
                rows, outW, cout, min, max, ref o, ref end);
        else if (cout <= 12)
            Cin1Pixels256(first, new StemGroup4(table, 8, packed.Init, ref wb, pairStep), ref tapRow, row, count, cout, min, max, ref o, ref end);
        else
            Cin1Pixels256(first, new StemGroup8(table, 8, packed.Init, ref wb, pairStep), ref tapRow, row, count, cout, min, max, ref o, ref end);
    }

    /// <summary>
    /// Where a direct 3x3 stem (<see cref="Cin1Direct3x3Group"/>, <see cref="Cin1Pixels256"/>) reads four of its five tap pairs
    /// in the widened image, for the first pixel of an output row whose window top lies <paramref name="row"/> elements from
    /// <paramref name="top"/> (kernel rows <paramref name="dh"/> apart): pair 0 at (row 0, col 0), pair 2 at (row 1, col 1),
    /// pair 3 at (row 2, col 0), pair 4 at (row 2, col 2), whose second element meets a zero weight. Pair 1 (t2, t3) spans two
    /// rows and comes from its plane.
    /// </summary>
    private readonly ref struct DirectTaps(ref short top, nint row, nint dh)
    {
        public readonly ref byte A0 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref top, row));
        public readonly ref byte A2 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref top, row + dh + 1));
        public readonly ref byte A3 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref top, row + 2 * dh));
        public readonly ref byte A4 = ref Unsafe.As<short, byte>(ref Unsafe.Add(ref top, row + 2 * dh + 2));
    }

    /// <summary>Whether <see cref="Cin1Pixels256"/> takes the op (with its five tap pairs): 9-16 channels, the exact form without its sign term.</summary>
    private static bool Cin1Pixels256Takes(int cout, PackedFilter packed, RightRequantTable? table)
        => cout > 8 && cout <= 16 && packed.CoutPadded == 16 && table is not null && table.Covered && table.ClampsNegatives;

    /// <summary>
    /// The rows of <see cref="Cin1Pixels256"/> with its four image pairs read in place: channels 0-7 by <paramref name="first"/>,
    /// 8 onwards by <paramref name="rest"/>; pair 1 from <paramref name="plane"/>.
    /// </summary>
    private static void Cin1Pixels256Direct<TRest>(in StemGroup8 first, in TRest rest, in Conv2DParams p, ref short top, int rowLen, ref int plane,
        int rows, int outW, int cout, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, ref sbyte end) where TRest : struct, IStemRest
    {
        nint step = 2 * p.StrideW, rowStep = p.StrideH * rowLen, dh = p.DilationH * rowLen;
        for (int r = 0; r < rows; r++)
        {
            var taps = new DirectTaps(ref top, r * rowStep, dh);
            ref byte a0 = ref taps.A0, a2 = ref taps.A2, a3 = ref taps.A3, a4 = ref taps.A4;
            ref int x1 = ref Unsafe.Add(ref plane, r * outW);
            ref sbyte orow = ref Unsafe.Add(ref o, r * outW * cout);
            for (int i = 0; i < outW; i++)
            {
                nint u = i * step;
                var x0 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a0, u))).AsInt16();
                var x1v = Vector256.Create(Unsafe.Add(ref x1, i)).AsInt16();
                var x2 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a2, u))).AsInt16();
                var x3 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a3, u))).AsInt16();
                var x4 = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref a4, u))).AsInt16();
                var bytes = rest.Narrow(first.Requantized(x0, x1v, x2, x3, x4), x0, x1v, x2, x3, x4);
                Put16(Vector128.Min(Vector128.Max(bytes, min), max), ref Unsafe.Add(ref orow, i * cout), cout, ref end);
            }
        }
    }

    /// <summary>The pixels of <see cref="Cin1Pixels256"/>: channels 0-7 by <paramref name="first"/>, 8 onwards by <paramref name="rest"/>.</summary>
    private static void Cin1Pixels256<TRest>(in StemGroup8 first, in TRest rest, ref int tapRow, nint row, int count, int cout,
        Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, ref sbyte end) where TRest : struct, IStemRest
    {
        for (int i = 0; i < count; i++)
        {
            ref int x = ref Unsafe.Add(ref tapRow, i);
            var x0 = Vector256.Create(x).AsInt16();
            var x1 = Vector256.Create(Unsafe.Add(ref x, row)).AsInt16();
            var x2 = Vector256.Create(Unsafe.Add(ref x, 2 * row)).AsInt16();
            var x3 = Vector256.Create(Unsafe.Add(ref x, 3 * row)).AsInt16();
            var x4 = Vector256.Create(Unsafe.Add(ref x, 4 * row)).AsInt16();
            var bytes = rest.Narrow(first.Requantized(x0, x1, x2, x3, x4), x0, x1, x2, x3, x4);
            Put16(Vector128.Min(Vector128.Max(bytes, min), max), ref Unsafe.Add(ref o, i * cout), cout, ref end);
        }
    }

    /// <summary>Channels 8 onwards of <see cref="Cin1Pixels256"/>: 4 lanes (<see cref="StemGroup4"/>) or 8 (<see cref="StemGroup8"/>).</summary>
    private interface IStemRest
    {
        /// <summary>
        /// The pixel's 16 bytes (not yet clamped): channels 0-7 from <paramref name="first"/> (that group's requantized
        /// lanes), then this group's channels, from its products with the five broadcast tap pairs.
        /// </summary>
        Vector128<sbyte> Narrow(Vector256<int> first, Vector256<short> x0, Vector256<short> x1, Vector256<short> x2, Vector256<short> x3,
            Vector256<short> x4);
    }

    /// <summary>
    /// 8 channels of the 3x3 stem from <c>from</c>: the five tap pairs' weights doubled, in registers, and the exact form
    /// without its sign term with the folded bias in its constants (SimdOps512 remark 6).
    /// </summary>
    private readonly struct StemGroup8 : IStemRest
    {
        private readonly SimdOps512.RightRequantizer256 _rq;
        private readonly Vector256<short> _w0, _w1, _w2, _w3, _w4;

        public StemGroup8(RightRequantTable table, int from, int[] init, ref short w, nint pairStep)
        {
            var start = Vector256.Create(new ReadOnlySpan<int>(init, from, 8));
            _rq = new SimdOps512.RightRequantizer256(table, from).WithStart(start + start);
            _w0 = Doubled(ref w, 0);
            _w1 = Doubled(ref w, pairStep);
            _w2 = Doubled(ref w, 2 * pairStep);
            _w3 = Doubled(ref w, 3 * pairStep);
            _w4 = Doubled(ref w, 4 * pairStep);

            static Vector256<short> Doubled(ref short w, nint offset)
            {
                var v = Vector256.LoadUnsafe(ref w, (nuint)offset);
                return v + v;
            }
        }

        /// <summary>The group's 8 requantized int32 lanes (before narrowing and the byte clamps).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector256<int> Requantized(Vector256<short> x0, Vector256<short> x1, Vector256<short> x2, Vector256<short> x3, Vector256<short> x4)
            => _rq.Apply((Avx2.MultiplyAddAdjacent(x0, _w0) + Avx2.MultiplyAddAdjacent(x1, _w1))
                + (Avx2.MultiplyAddAdjacent(x2, _w2) + Avx2.MultiplyAddAdjacent(x3, _w3)) + Avx2.MultiplyAddAdjacent(x4, _w4), clamped: true);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<sbyte> Narrow(Vector256<int> first, Vector256<short> x0, Vector256<short> x1, Vector256<short> x2, Vector256<short> x3,
            Vector256<short> x4)
        {
            // VPACKSSDW packs within 128-bit lanes ([A0-3, B0-3, A4-7, B4-7]); VPERMQ puts the channels in order.
            var words = Avx2.Permute4x64(Avx2.PackSignedSaturate(first, Requantized(x0, x1, x2, x3, x4)).AsInt64(), 0b11_01_10_00).AsInt16();
            return Sse2.PackSignedSaturate(words.GetLower(), words.GetUpper());
        }
    }

    /// <summary>
    /// 4 channels of the 3x3 stem from <c>from</c> in 128-bit vectors (a rest of 1-4 channels: half the multiply-adds of
    /// an 8-lane group where 256-bit operations run as two halves, Zen 1), otherwise as <see cref="StemGroup8"/>.
    /// </summary>
    private readonly struct StemGroup4 : IStemRest
    {
        private readonly SimdOps512.RightRequantizer128 _rq;
        private readonly Vector128<short> _w0, _w1, _w2, _w3, _w4;

        public StemGroup4(RightRequantTable table, int from, int[] init, ref short w, nint pairStep)
        {
            var start = Vector128.Create(new ReadOnlySpan<int>(init, from, 4));
            _rq = new SimdOps512.RightRequantizer128(table, from).WithStart(start + start);
            _w0 = Doubled(ref w, 0);
            _w1 = Doubled(ref w, pairStep);
            _w2 = Doubled(ref w, 2 * pairStep);
            _w3 = Doubled(ref w, 3 * pairStep);
            _w4 = Doubled(ref w, 4 * pairStep);

            static Vector128<short> Doubled(ref short w, nint offset)
            {
                var v = Vector128.LoadUnsafe(ref w, (nuint)offset);
                return v + v;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Vector128<sbyte> Narrow(Vector256<int> first, Vector256<short> x0, Vector256<short> x1, Vector256<short> x2, Vector256<short> x3,
            Vector256<short> x4)
        {
            var sum = (Sse2.MultiplyAddAdjacent(x0.GetLower(), _w0) + Sse2.MultiplyAddAdjacent(x1.GetLower(), _w1))
                + (Sse2.MultiplyAddAdjacent(x2.GetLower(), _w2) + Sse2.MultiplyAddAdjacent(x3.GetLower(), _w3))
                + Sse2.MultiplyAddAdjacent(x4.GetLower(), _w4);
            var mine = _rq.Apply(sum, clamped: true);
            var words = Sse2.PackSignedSaturate(first.GetLower(), first.GetUpper());
            return Sse2.PackSignedSaturate(words, Sse2.PackSignedSaturate(mine, mine));
        }
    }

    /// <summary><paramref name="outW"/> consecutive output pixels, 8 channels per group (the last group overlapping when Cout is not a multiple of 8; below 8, partial stores).</summary>
    private static void Cin1Row256(in Conv2DParams p, ref int tapRow, int tapPairs, int outWPad, int outW, int cout, PackedFilter packed,
        short[] pairs, RightRequantTable table, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, ref sbyte o)
    {
        int coutP = packed.CoutPadded;
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        nint pairStep = 2 * coutP;
        int stored = System.Math.Min(cout, 8);
        // The op's float32 tables (FloatRequant), built with its exact table; none below 8 channels, whose table is of a
        // padded copy. (The one-pass kernel of 9-16 channels, Cin1Pixels256, keeps the exact form: with the float one its
        // 16-channel stems measured 1.04-1.07x slower on Zen 5's AVX2 path, where these groups measured 0.89x.)
        FloatRequantTable? floatForm(bool folded) => cout < 8 || !Fma.IsSupported ? null
            : folded ? table.FloatFormFolded(packed.ChannelBounds, packed.Init) : table.FloatForm(packed.ChannelBounds);
        for (int c0 = 0; c0 < cout; c0 += 8)
        {
            int c = System.Math.Max(System.Math.Min(c0, cout - 8), 0);
            var bias = Vector256.LoadUnsafe(ref init, (nuint)c);
            ref short wc = ref Unsafe.Add(ref w, 2 * c);
            ref sbyte oc = ref Unsafe.Add(ref o, c);
            if (tapPairs == 5)
            {
                // The 3x3 stem: five weight vectors in registers. Where the requantizer folds the bias into its constants (a
                // fused ReLU), the weights are doubled and the sum of products goes to it alone: no bias addition and no
                // doubling per output vector.
                var qf = ChannelRequantizer256.Folding(cout >= 8 ? table : null, c, Vector256.LoadUnsafe(ref mRef, (nuint)c),
                    Vector256.LoadUnsafe(ref sRef, (nuint)c), p.OutputOffset, p.ActivationMin, p.ActivationMax, bias);
                bool folded = qf.Folded;
                // The proven float32 form where the group's channels have it (of the sums without the start values when folded).
                qf = qf.WithFloat(floatForm(folded), c);
                var w0 = Vector256.LoadUnsafe(ref wc);
                var w1 = Vector256.LoadUnsafe(ref wc, (nuint)pairStep);
                var w2 = Vector256.LoadUnsafe(ref wc, (nuint)(2 * pairStep));
                var w3 = Vector256.LoadUnsafe(ref wc, (nuint)(3 * pairStep));
                var w4 = Vector256.LoadUnsafe(ref wc, (nuint)(4 * pairStep));
                if (folded)
                {
                    w0 += w0;
                    w1 += w1;
                    w2 += w2;
                    w3 += w3;
                    w4 += w4;
                }
                nint row = outWPad;
                int ox = 0;
                // Two pixels a step: two independent chains, requantized, narrowed and clamped together (ApplyTwo).
                for (; ox + 1 < outW; ox += 2)
                {
                    ref int x = ref Unsafe.Add(ref tapRow, ox);
                    var a = StemSum(ref x, row, w0, w1, w2, w3, w4);
                    var b = StemSum(ref Unsafe.Add(ref x, 1), row, w0, w1, w2, w3, w4);
                    if (!folded)
                    {
                        a += bias;
                        b += bias;
                    }
                    var bytes = qf.ApplyTwo(a, b);
                    BlockRequantization.Store(bytes, 0, ref Unsafe.Add(ref oc, ox * cout), stored);
                    BlockRequantization.Store(bytes, 1, ref Unsafe.Add(ref oc, (ox + 1) * cout), stored);
                }
                if (ox < outW)
                {
                    var acc = StemSum(ref Unsafe.Add(ref tapRow, ox), row, w0, w1, w2, w3, w4);
                    if (!folded)
                        acc += bias;
                    BlockRequantization.Store(qf.Apply(acc), 0, ref Unsafe.Add(ref oc, ox * cout), stored);
                }
                continue;
            }
            var q = new ChannelRequantizer256(cout >= 8 ? table : null, c, Vector256.LoadUnsafe(ref mRef, (nuint)c), Vector256.LoadUnsafe(ref sRef, (nuint)c),
                p.OutputOffset, p.ActivationMin, p.ActivationMax).WithFloat(floatForm(false), c);
            for (int ox = 0; ox < outW; ox++)
            {
                var acc = bias;
                ref short wt = ref wc;
                for (int k = 0; k < tapPairs; k++)
                {
                    acc += Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref tapRow, k * outWPad + ox)).AsInt16(), Vector256.LoadUnsafe(ref wt));
                    wt = ref Unsafe.Add(ref wt, pairStep);
                }
                BlockRequantization.Store(q.Apply(acc), 0, ref Unsafe.Add(ref oc, ox * cout), stored);
            }
        }
    }

    /// <summary>The five tap pairs of the pixel at <paramref name="x"/> (plane k at k x <paramref name="row"/>) against an 8-channel group's weight pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> StemSum(ref int x, nint row, Vector256<short> w0, Vector256<short> w1, Vector256<short> w2, Vector256<short> w3,
        Vector256<short> w4)
        => (Avx2.MultiplyAddAdjacent(Vector256.Create(x).AsInt16(), w0) + Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref x, row)).AsInt16(), w1))
            + (Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref x, 2 * row)).AsInt16(), w2)
                + Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref x, 3 * row)).AsInt16(), w3))
            + Avx2.MultiplyAddAdjacent(Vector256.Create(Unsafe.Add(ref x, 4 * row)).AsInt16(), w4);

    /// <summary>
    /// <paramref name="count"/> consecutive output pixels of at most 8 channels, two pixels per 512-bit vector: lanes 0-7 the
    /// 8 (padded) channels of pixel i, lanes 8-15 those of pixel i + 1. Each tap pair of the two pixels is one 64-bit load
    /// from the pair-major planes spread by VPERMD ([0 x 8, 1 x 8]) against the 8 channels' weight pairs twice over; the
    /// 16 lanes are requantized as a 16-channel group whose channels 8-15 repeat 0-7 (the op's table and folded bias
    /// twice over, kept in the packed filter; padding channels with multiplier 0 and shift -1, never stored), then stored
    /// as 16 bytes (8 channels) or two pieces. The 3x3 stem keeps its five weight vectors in registers.
    /// </summary>
    [SkipLocalsInit]
    private static void Cin1TwoPixels(in Conv2DParams p, ref int tapRow, int tapPairs, int outWPad, int count, int cout, PackedFilter packed,
        short[] pairs, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, ref sbyte o)
    {
        // The 8 channels (CoutPadded is 8) twice over: multipliers, shifts (-1 in the padding lanes: covered by the exact
        // form, multiplier 0) and the folded bias.
        Span<int> m16 = stackalloc int[16];
        Span<int> s16 = stackalloc int[16];
        for (int c = 0; c < 16; c++)
        {
            int ch = c & 7;
            m16[c] = ch < cout ? multipliers[ch] : 0;
            s16[c] = ch < cout ? shifts[ch] : -1;
        }
        var table = RightRequantTable.Get(ref packed.RightRequantTwice, m16, s16, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        var init = packed.InitTwice;
        if (init is null)
        {
            init = new int[16];
            for (int c = 0; c < 16; c++) init[c] = packed.Init[c & 7];
            packed.InitTwice = init;
        }
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        nint pairStep = 2 * packed.CoutPadded;
        if (FoldedRequantizer512.Applies(table))
            Cin1TwoPixels(new FoldedRequantizer512(table, 0, init, p.ActivationMin, p.ActivationMax), ref tapRow, tapPairs, outWPad, count, cout, ref w, pairStep, ref o);
        else
            Cin1TwoPixels(new BiasedRequantizer512(new ChannelRequantizer512(table, 0, Vector512.Create((ReadOnlySpan<int>)m16), Vector512.Create((ReadOnlySpan<int>)s16),
                p.OutputOffset, p.ActivationMin, p.ActivationMax), Vector512.Create(new ReadOnlySpan<int>(init))), ref tapRow, tapPairs, outWPad, count, cout, ref w, pairStep, ref o);
    }

    /// <summary>Tap pair k's weights of the 8 channels, twice over (times the requantizer's weight scale).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> TwiceWeights(ref short w, int k, nint pairStep, int scale)
    {
        var h = Vector256.LoadUnsafe(ref w, (nuint)(k * pairStep));
        if (scale == 2) h += h;
        return Vector512.Create(h, h);
    }

    /// <summary>Tap pair k of pixels i and i + 1 (<paramref name="x"/> at pixel i of plane 0), spread to lanes 0-7 and 8-15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<short> TwoPixelPair(ref int x, nint k, Vector512<int> spread)
        => Avx512F.PermuteVar16x32(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<long>(ref Unsafe.As<int, byte>(ref Unsafe.Add(ref x, k))))
            .AsInt32().ToVector256Unsafe().ToVector512Unsafe(), spread).AsInt16();

    private static void Cin1TwoPixels<TQ>(TQ q, ref int tapRow, int tapPairs, nint row, int count, int cout, ref short w, nint pairStep, ref sbyte o)
        where TQ : struct, IGroupRequantizer512
    {
        var spread = Vector512.Create(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
        int scale = q.WeightScale;
        // The last pixel of an odd count reads its right neighbour's slot of the planes (the 8 spare entries per plane) and
        // stores only its own half.
        if (tapPairs == 5)
        {
            var w0 = TwiceWeights(ref w, 0, pairStep, scale);
            var w1 = TwiceWeights(ref w, 1, pairStep, scale);
            var w2 = TwiceWeights(ref w, 2, pairStep, scale);
            var w3 = TwiceWeights(ref w, 3, pairStep, scale);
            var w4 = TwiceWeights(ref w, 4, pairStep, scale);
            for (int i = 0; i < count; i += 2)
            {
                ref int x = ref Unsafe.Add(ref tapRow, i);
                var a = Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, 0, spread), w0)
                    + Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, row, spread), w1);
                var b = Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, 2 * row, spread), w2)
                    + Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, 3 * row, spread), w3);
                var bytes = q.Apply(a + b + Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, 4 * row, spread), w4));
                PutTwoPixels(bytes, ref Unsafe.Add(ref o, i * cout), cout, count - i);
            }
            return;
        }
        for (int i = 0; i < count; i += 2)
        {
            ref int x = ref Unsafe.Add(ref tapRow, i);
            var acc = Vector512<int>.Zero;
            for (int k = 0; k < tapPairs; k++)
                acc += Avx512BW.MultiplyAddAdjacent(TwoPixelPair(ref x, k * row, spread), TwiceWeights(ref w, k, pairStep, scale));
            PutTwoPixels(q.Apply(acc), ref Unsafe.Add(ref o, i * cout), cout, count - i);
        }
    }

    /// <summary>Bytes 0..cout-1 (pixel i) and 8..8+cout-1 (pixel i + 1, when <paramref name="left"/> &gt; 1) at o and o + cout.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PutTwoPixels(Vector128<sbyte> v, ref sbyte o, int cout, int left)
    {
        if (cout == 8 && left > 1)
        {
            v.StoreUnsafe(ref o);
            return;
        }
        BlockRequantization.Store(v, 0, ref o, cout);
        if (left > 1)
            BlockRequantization.Store(v, 1, ref Unsafe.Add(ref o, cout), cout);
    }
}
