using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryEvalS8RowsLanes"/>.</summary>
    private const int LanesStackLimit = 16384;

    /// <summary>Most tap runs (kernel rows, or taps when dilated horizontally) of <see cref="TryEvalS8RowsLanes"/> (their table lives on the stack).</summary>
    private const int LanesMaxSegments = 64;

    /// <summary>
    /// Output rows per staged chunk of <see cref="TryEvalS8RowsLanes"/>: all of them where the padded image fits, else as
    /// many as fit (fewer where that makes whole tiles of 8 pixels and keeps at least half of them); below 2 (and not
    /// all) the rows run one at a time over a ring of the input rows they read.
    /// </summary>
    internal static int LanesChunkRows(int outH, int outW, int strideH, int window, long rowLen)
    {
        long fit = (LanesStackLimit - 8 - window * rowLen) / ((long)strideH * rowLen) + 1;
        int chunk = (int)System.Math.Clamp(fit, 0, outH);
        for (int r = chunk; r > chunk / 2 && chunk < outH; r--)
            if (r * outW % 8 == 0)
                return r;
        return chunk;
    }

    /// <summary>
    /// The arm64 path without Dp (Pi 4) for Kh x Kw &gt; 1 over widened rows (horizontal dilation with Cin a multiple of 8, any Cout):
    /// the input rows are widened to int16 into stack rows that already hold the padding (the zero point,
    /// cancelling against the folded bias as in the im2col path), the whole padded image when it fits, else the rows
    /// of as many output rows as fit (whole tiles of 8 pixels where possible; the rows two chunks share are widened
    /// twice), else a ring of the rows one output row reads (each input row widened once), so a kernel row's Kw x Cin taps lie
    /// contiguous for every output pixel. Output channels sit in lanes, 8 per int16 weight vector
    /// (<see cref="PackedFilter.RowTaps"/>, kernel rows padded to a multiple of 8 taps with zero weights; whole
    /// 8-tap groups run unchecked, a row's last 1-7 taps as one checked group); eight taps of a pixel are
    /// loaded as one int16 vector and each is multiplied against the 8 channels' weights by SMLAL/SMLAL2 by
    /// lane (<see cref="SimdOps.MultiplyAddLaneLower(Vector128{int}, Vector128{short}, Vector128{short}, byte)"/>): exact int16 products summed in int32, so the
    /// accumulator equals the reference's. Per block of 8 channels, tiles of 8 output pixels (then 4) share every
    /// weight load; with the whole image or a chunk of rows staged a tile may span two output rows, else a row's last 1-3
    /// pixels run as a 4-pixel tile with the last pixel repeated; requantization per
    /// block (<see cref="BlockRequantization"/>); the channel tail runs in-vector (zero weights) and stores only
    /// its real channels. On x64 the same kernel runs through the emulated primitives (tests only).
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged element is written before it is read; the spare ones are cleared
    internal static bool TryEvalS8RowsLanes(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? taps = packed.RowTaps;
        int cout = outShape.D3, coutP = packed.CoutPadded;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        // A one-channel image (a 3x3 stem): quadruplet rows, 4 pixels per load (Conv2D.Cin1.Sdot.AdvSimd.cs).
        if (cin == 1 && TryEvalS8Cin1Lanes(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
            return true;
        // Horizontal dilation: every kernel tap's Cin values are whole groups of 8 (Cin a multiple of 8), DilationW pixels
        // from the previous column's, so the runs are the Kh x Kw taps instead of the Kh kernel rows.
        bool tapRuns = kw > 1 && p.DilationW != 1;
        int segments = tapRuns ? kh * kw : kh;
        if (!Vector128.IsHardwareAccelerated || taps is null || (tapRuns && cin % 8 != 0) || packed.Cout != cout
            || packed.K != kh * kw * cin || segments > LanesMaxSegments || (uint)(128 - p.InputOffset) > 255)
            return false;
        int outH = outShape.D1, outW = outShape.D2;
        int rowTaps = kw * cin, groups = tapRuns ? cin / 8 : rowTaps / 8, rem = tapRuns ? 0 : rowTaps % 8;
        nint rowStride = tapRuns ? (nint)cin * coutP : (nint)((rowTaps + 7) & ~7) * coutP;
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        long rowLen = (long)span * cin;
        int window = (kh - 1) * p.DilationH + 1;
        int chunk = LanesChunkRows(outH, outW, p.StrideH, window, rowLen);
        bool chunked = chunk >= 2 || chunk == outH; // else one output row at a time over a ring of input rows
        int slots = chunked ? (chunk - 1) * p.StrideH + window : window;
        if (slots * rowLen + 8 > LanesStackLimit)
            return false;
        int len = (int)rowLen;
        // 8 spare elements: the last pixel's last 8-tap group may run past its taps (against zero weights).
        Span<short> rows = stackalloc short[slots * len + 8];
        rows.Slice(slots * len).Clear();
        Span<int> slotRow = stackalloc int[slots];
        Span<int> segOff = stackalloc int[segments];
        ref short rowRef = ref MemoryMarshal.GetReference(rows);
        ref int segRef = ref MemoryMarshal.GetReference(segOff);
        short zeroPoint = (short)(-p.InputOffset);
        ref short w = ref MemoryMarshal.GetArrayDataReference(taps);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        nint pixStep = (nint)p.StrideW * cin;
        for (int b = 0; b < inShape.D0; b++)
        {
            if (chunked)
            {
                // The padded rows of `chunk` output rows are staged at a time (the whole image where it fits): the chunk's
                // output pixels run as one sequence (tiles may span two output rows, whose pixels are contiguous in the
                // output), so no row ends in a partial tile.
                for (int ky = 0; ky < kh; ky++)
                    SegmentOffsets(segOff, ky, ky * p.DilationH * len, tapRuns, kw, p.DilationW * cin);
                nint rowStep = (nint)p.StrideH * len;
                for (int oy0 = 0; oy0 < outH; oy0 += chunk)
                {
                    int oy1 = System.Math.Min(outH, oy0 + chunk), staged = (oy1 - oy0 - 1) * p.StrideH + window;
                    for (int y = 0; y < staged; y++)
                        StageRowS16(p, ref src, b, oy0 * p.StrideH + y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, y * len));
                    ref sbyte ob = ref Unsafe.Add(ref dst, ((nint)b * outH + oy0) * outW * cout);
                    int n = (oy1 - oy0) * outW;
                    for (int j = 0; j < coutP; j += 8)
                    {
                        var rq = new BlockRequantization(multipliers, shifts, j, p.OutputOffset, p.ActivationMin, p.ActivationMax);
                        var i0 = Vector128.LoadUnsafe(ref init, (nuint)j);
                        var i1 = Vector128.LoadUnsafe(ref init, (nuint)j + 4);
                        ref short wj = ref Unsafe.Add(ref w, j);
                        if (cout - j <= 4)
                            LanesImage<No>(ref rowRef, pixStep, rowStep, outW, n, ref segRef, segments, groups, rem, rowStride, ref wj, coutP, i0, i1, rq, ref Unsafe.Add(ref ob, j), cout);
                        else
                            LanesImage<Yes>(ref rowRef, pixStep, rowStep, outW, n, ref segRef, segments, groups, rem, rowStride, ref wj, coutP, i0, i1, rq, ref Unsafe.Add(ref ob, j), cout);
                    }
                }
                continue;
            }
            slotRow.Fill(-1);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ky = 0; ky < kh; ky++)
                {
                    int y = oy * p.StrideH + ky * p.DilationH, s = y % slots;
                    if (slotRow[s] != y)
                    {
                        StageRowS16(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, s * len));
                        slotRow[s] = y;
                    }
                    SegmentOffsets(segOff, ky, s * len, tapRuns, kw, p.DilationW * cin);
                }
                ref sbyte o = ref Unsafe.Add(ref dst, (nint)(b * outH + oy) * outW * cout);
                for (int j = 0; j < coutP; j += 8)
                {
                    var rq = new BlockRequantization(multipliers, shifts, j, p.OutputOffset, p.ActivationMin, p.ActivationMax);
                    var i0 = Vector128.LoadUnsafe(ref init, (nuint)j);
                    var i1 = Vector128.LoadUnsafe(ref init, (nuint)j + 4);
                    ref short wj = ref Unsafe.Add(ref w, j);
                    // A block of at most 4 real channels (Cout = 8n + 1..4) skips the upper halves (SMLAL2).
                    if (cout - j <= 4)
                        LanesRow<No>(ref rowRef, pixStep, outW, ref segRef, segments, groups, rem, rowStride, ref wj, coutP, i0, i1, rq, ref Unsafe.Add(ref o, j), cout);
                    else
                        LanesRow<Yes>(ref rowRef, pixStep, outW, ref segRef, segments, groups, rem, rowStride, ref wj, coutP, i0, i1, rq, ref Unsafe.Add(ref o, j), cout);
                }
            }
        }
        return true;
    }

    /// <summary>
    /// All n output pixels of a batch for one 8-channel block, over the whole staged image (pixel q at output row
    /// q / outW, column q % outW; rows rowStep apart): 8-pixel tiles whose pixels may span rows (each at its own
    /// offset), then 4-pixel tiles, the last 1-3 pixels with the last repeated.
    /// </summary>
    private static void LanesImage<TUpper>(ref short rowRef, nint pixStep, nint rowStep, int outW, int n, ref int segRef, int kh, int groups, int rem,
        nint rowStride, ref short wj, nint coutP, Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, int cout)
        where TUpper : struct, IFlag
    {
        Span<nint> inRow = stackalloc nint[8];
        for (int k = 0; k < 8; k++)
            inRow[k] = k * pixStep;
        Span<nint> off8 = stackalloc nint[8];
        int q = 0;
        if (rowStep == outW * pixStep && n >= 8)
        {
            // The output rows' pixels are contiguous in the staged image too (Kw = 1 at unit stride: a staged row holds
            // exactly the output row's pixels): every whole tile of 8 in one call.
            int tiles = n / 8;
            LanesTile8<TUpper>(ref rowRef, ref MemoryMarshal.GetReference(inRow), ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                i0, i1, rq, ref o, cout, tiles, 8 * pixStep);
            q = 8 * tiles;
        }
        while (q < n)
        {
            int oy = q / outW, ox = q - oy * outW;
            nint b0 = oy * rowStep + ox * pixStep;
            if (ox <= outW - 8)
            {
                LanesTile8<TUpper>(ref Unsafe.Add(ref rowRef, b0), ref MemoryMarshal.GetReference(inRow), ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                    i0, i1, rq, ref Unsafe.Add(ref o, (nint)q * cout), cout);
                q += 8;
                continue;
            }
            if (n - q >= 8)
            {
                // The next 8 pixels, wherever the row ends among them (the output's pixels are contiguous).
                nint rowOff = 0, colOff = 0;
                for (int k = 0, x = ox; k < 8; k++)
                {
                    off8[k] = rowOff + colOff;
                    colOff += pixStep;
                    if (++x == outW)
                    {
                        x = 0;
                        rowOff += rowStep;
                        colOff = -(nint)ox * pixStep;
                    }
                }
                LanesTile8<TUpper>(ref Unsafe.Add(ref rowRef, b0), ref MemoryMarshal.GetReference(off8), ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                    i0, i1, rq, ref Unsafe.Add(ref o, (nint)q * cout), cout);
                q += 8;
                continue;
            }
            int m = System.Math.Min(4, n - q);
            if (m == 1)
            {
                LanesTile1<TUpper>(ref Unsafe.Add(ref rowRef, b0), ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                    i0, i1, rq, ref Unsafe.Add(ref o, (nint)q * cout));
                break;
            }
            nint d1 = PixelOffset(q + System.Math.Min(1, m - 1), outW, pixStep, rowStep) - b0;
            nint d2 = PixelOffset(q + System.Math.Min(2, m - 1), outW, pixStep, rowStep) - b0;
            nint d3 = PixelOffset(q + m - 1, outW, pixStep, rowStep) - b0;
            LanesTile4<TUpper>(ref Unsafe.Add(ref rowRef, b0), d1, d2, d3, ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                i0, i1, rq, ref Unsafe.Add(ref o, (nint)q * cout), cout, m);
            q += m;
        }
    }

    private static nint PixelOffset(int q, int outW, nint pixStep, nint rowStep) => q / outW * rowStep + q % outW * pixStep;

    /// <summary>
    /// The tap runs of kernel row ky, whose staged input row starts at <paramref name="rowOffset"/>: the row itself, or with
    /// horizontal dilation its Kw taps, <paramref name="tapStep"/> elements apart.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SegmentOffsets(Span<int> segOff, int ky, int rowOffset, bool tapRuns, int kw, int tapStep)
    {
        if (!tapRuns)
        {
            segOff[ky] = rowOffset;
            return;
        }
        for (int kx = 0; kx < kw; kx++)
            segOff[ky * kw + kx] = rowOffset + kx * tapStep;
    }

    /// <summary>One output row of one 8-channel block: 8-pixel tiles, then 4-pixel ones, the last 1-3 pixels as a 4-pixel tile with the last repeated.</summary>
    private static void LanesRow<TUpper>(ref short rowRef, nint pixStep, int outW, ref int segRef, int kh, int groups, int rem, nint rowStride, ref short wj,
        nint coutP, Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, int cout) where TUpper : struct, IFlag
    {
        Span<nint> off8 = stackalloc nint[8];
        for (int k = 0; k < 8; k++)
            off8[k] = k * pixStep;
        int ox = 0;
        for (; ox <= outW - 8; ox += 8)
            LanesTile8<TUpper>(ref Unsafe.Add(ref rowRef, ox * pixStep), ref MemoryMarshal.GetReference(off8), ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                i0, i1, rq, ref Unsafe.Add(ref o, ox * cout), cout);
        for (; ox <= outW - 4; ox += 4)
            LanesTile4<TUpper>(ref Unsafe.Add(ref rowRef, ox * pixStep), pixStep, 2 * pixStep, 3 * pixStep, ref segRef, kh, groups, rem, rowStride, ref wj, coutP,
                i0, i1, rq, ref Unsafe.Add(ref o, ox * cout), cout, 4);
        if (ox == outW - 1)
            LanesTile1<TUpper>(ref Unsafe.Add(ref rowRef, ox * pixStep), ref segRef, kh, groups, rem, rowStride, ref wj, coutP, i0, i1, rq,
                ref Unsafe.Add(ref o, ox * cout));
        else if (ox < outW)
        {
            int n = outW - ox;
            LanesTile4<TUpper>(ref Unsafe.Add(ref rowRef, ox * pixStep), pixStep * System.Math.Min(1, n - 1), pixStep * System.Math.Min(2, n - 1),
                pixStep * (n - 1), ref segRef, kh, groups, rem, rowStride, ref wj, coutP, i0, i1, rq, ref Unsafe.Add(ref o, ox * cout), cout, n);
        }
    }

    /// <summary>A compile-time flag for the JIT to specialize a kernel on.</summary>
    internal interface IFlag { static abstract bool Value { get; } }

    internal readonly struct Yes : IFlag { public static bool Value => true; }

    internal readonly struct No : IFlag { public static bool Value => false; }

    /// <summary>
    /// 8 whole pixels (taps at x + pixOff[k], k &lt; 8, pixOff[0] = 0, plus each segment's offset) x 8 channels, as
    /// <see cref="LanesTile4"/>: 16 accumulators, each weight vector loaded once for the 8 pixels.
    /// </summary>
    private static void LanesTile8<TUpper>(ref short x, ref nint pixOff, ref int segOff, int kh, int groups, int rem, nint rowStride, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, nint outStride, int tiles = 1, nint tileStep = 0) where TUpper : struct, IFlag
    {
        nint wBytes = coutP * sizeof(short), w1 = wBytes, w2 = 2 * wBytes, w3 = 3 * wBytes;
        nint b1 = Unsafe.Add(ref pixOff, 1) * sizeof(short), b2 = Unsafe.Add(ref pixOff, 2) * sizeof(short), b3 = Unsafe.Add(ref pixOff, 3) * sizeof(short),
            b4 = Unsafe.Add(ref pixOff, 4) * sizeof(short), b5 = Unsafe.Add(ref pixOff, 5) * sizeof(short), b6 = Unsafe.Add(ref pixOff, 6) * sizeof(short),
            b7 = Unsafe.Add(ref pixOff, 7) * sizeof(short);
        bool whole = rq.Channels == 8;
        // Consecutive tiles whose pixels sit at the same offsets from x + t x tileStep (one call for a whole image of
        // contiguous pixels, LanesImage): no call, argument passing and prologue per tile.
        for (int tile = 0; tile < tiles; tile++, x = ref Unsafe.Add(ref x, tileStep), o = ref Unsafe.Add(ref o, 8 * outStride))
        {
            Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1, a40 = i0, a41 = i1, a50 = i0, a51 = i1, a60 = i0, a61 = i1, a70 = i0, a71 = i1;
            for (int ky = 0; ky < kh; ky++)
            {
                ref short r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
                ref short wt = ref Unsafe.Add(ref w, ky * rowStride);
                for (int g = 0; g < groups; g++)
                {
                    var v0 = Vector128.LoadUnsafe(ref r);
                    var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b1));
                    var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b2));
                    var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b3));
                    var v4 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b4));
                    var v5 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b5));
                    var v6 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b6));
                    var v7 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b7));
                    Vector128<short> wv;
                    Vector64<short> wl;
                    // Written out per lane: a helper taking these sixteen accumulators by reference (as Lane4 takes eight)
                    // kept them in memory (cortex-a72: fashion_mobilenetv2 1,645,591 -> 1,916,507 instructions per inference).
                    // Taps 0-3 at wt + k x wBytes, 4-7 at wt4 + k x wBytes: register-offset loads, two pointer steps per group, not eight.
                    ref short wt4 = ref Unsafe.AddByteOffset(ref wt, 4 * wBytes);
                    wv = Vector128.LoadUnsafe(ref wt);
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 0);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 0);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 0);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 0);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 0);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 0);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 0);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 0);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 0);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 0);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 0);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 0);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 0);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 0);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 0);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 0);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 1);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 1);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 1);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 1);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 1);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 1);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 1);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 1);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 1);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 1);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 1);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 1);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 1);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 1);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 1);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 1);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 2);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 2);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 2);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 2);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 2);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 2);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 2);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 2);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 2);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 2);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 2);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 2);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 2);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 2);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 2);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 2);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 3);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 3);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 3);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 3);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 3);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 3);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 3);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 3);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 3);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 3);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 3);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 3);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 3);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 3);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 3);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 3);
                    wv = Vector128.LoadUnsafe(ref wt4);
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 4);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 4);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 4);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 4);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 4);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 4);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 4);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 4);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 4);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 4);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 4);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 4);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 4);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 4);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 4);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 4);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w1));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 5);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 5);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 5);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 5);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 5);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 5);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 5);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 5);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 5);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 5);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 5);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 5);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 5);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 5);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 5);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 5);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w2));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 6);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 6);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 6);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 6);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 6);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 6);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 6);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 6);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 6);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 6);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 6);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 6);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 6);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 6);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 6);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 6);
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w3));
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 7);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 7);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 7);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 7);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 7);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 7);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 7);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 7);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 7);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 7);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 7);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 7);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 7);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 7);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 7);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 7);
                    wt = ref Unsafe.AddByteOffset(ref wt4, 4 * wBytes);
                    r = ref Unsafe.Add(ref r, 8);
                }
                if (rem > 0)
                {
                    var v0 = Vector128.LoadUnsafe(ref r);
                    var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b1));
                    var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b2));
                    var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b3));
                    var v4 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b4));
                    var v5 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b5));
                    var v6 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b6));
                    var v7 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b7));
                    Vector128<short> wv;
                    Vector64<short> wl;
                    wv = Vector128.LoadUnsafe(ref wt);
                    if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 0);
                    if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 0);
                    if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 0);
                    if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 0);
                    if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 0);
                    if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 0);
                    if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 0);
                    if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 0);
                    wl = wv.GetLower();
                    a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 0);
                    a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 0);
                    a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 0);
                    a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 0);
                    a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 0);
                    a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 0);
                    a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 0);
                    a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 0);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    if (rem > 1)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 1);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 1);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 1);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 1);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 1);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 1);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 1);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 1);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 1);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 1);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 1);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 1);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 1);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 1);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 1);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 1);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                    if (rem > 2)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 2);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 2);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 2);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 2);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 2);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 2);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 2);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 2);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 2);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 2);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 2);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 2);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 2);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 2);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 2);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 2);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                    if (rem > 3)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 3);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 3);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 3);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 3);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 3);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 3);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 3);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 3);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 3);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 3);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 3);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 3);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 3);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 3);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 3);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 3);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                    if (rem > 4)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 4);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 4);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 4);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 4);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 4);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 4);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 4);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 4);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 4);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 4);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 4);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 4);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 4);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 4);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 4);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 4);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                    if (rem > 5)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 5);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 5);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 5);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 5);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 5);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 5);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 5);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 5);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 5);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 5);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 5);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 5);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 5);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 5);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 5);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 5);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                    if (rem > 6)
                    {
                        wv = Vector128.LoadUnsafe(ref wt);
                        if (TUpper.Value) a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 6);
                        if (TUpper.Value) a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 6);
                        if (TUpper.Value) a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 6);
                        if (TUpper.Value) a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 6);
                        if (TUpper.Value) a41 = SimdOps.MultiplyAddLaneUpper(a41, wv, v4, 6);
                        if (TUpper.Value) a51 = SimdOps.MultiplyAddLaneUpper(a51, wv, v5, 6);
                        if (TUpper.Value) a61 = SimdOps.MultiplyAddLaneUpper(a61, wv, v6, 6);
                        if (TUpper.Value) a71 = SimdOps.MultiplyAddLaneUpper(a71, wv, v7, 6);
                        wl = wv.GetLower();
                        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, 6);
                        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, 6);
                        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, 6);
                        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, 6);
                        a40 = SimdOps.MultiplyAddLaneLower(a40, wl, v4, 6);
                        a50 = SimdOps.MultiplyAddLaneLower(a50, wl, v5, 6);
                        a60 = SimdOps.MultiplyAddLaneLower(a60, wl, v6, 6);
                        a70 = SimdOps.MultiplyAddLaneLower(a70, wl, v7, 6);
                        wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                    }
                }
            }
            rq.Pixels8(a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51, a60, a61, a70, a71, out var p0, out var p1, out var p2, out var p3);
            if (whole)
            {
                // A whole block: eight 8-byte stores, the channel count read once, one pointer step each (the JIT
                // multiplied outStride by 3, 5, 6 and 7 apart).
                ref sbyte q = ref o;
                Store8(p0, 0, ref q);
                Store8(p0, 1, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p1, 0, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p1, 1, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p2, 0, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p2, 1, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p3, 0, ref q = ref Unsafe.Add(ref q, outStride));
                Store8(p3, 1, ref Unsafe.Add(ref q, outStride));
            }
            else
            {
                rq.Store(p0, 0, ref Unsafe.Add(ref o, 0 * outStride));
                rq.Store(p0, 1, ref Unsafe.Add(ref o, 1 * outStride));
                rq.Store(p1, 0, ref Unsafe.Add(ref o, 2 * outStride));
                rq.Store(p1, 1, ref Unsafe.Add(ref o, 3 * outStride));
                rq.Store(p2, 0, ref Unsafe.Add(ref o, 4 * outStride));
                rq.Store(p2, 1, ref Unsafe.Add(ref o, 5 * outStride));
                rq.Store(p3, 0, ref Unsafe.Add(ref o, 6 * outStride));
                rq.Store(p3, 1, ref Unsafe.Add(ref o, 7 * outStride));
            }
        }
    }

    /// <summary>
    /// Input channel <paramref name="k"/> of an 8-channel group for 4 pixels (v0..v3: the pixels' 8 staged channels): its
    /// weight vector wv (8 output channels) times each pixel's lane k, SMLAL2 into the upper four output channels (where
    /// <typeparamref name="TUpper"/>: a block of more than 4 real channels) and SMLAL into the lower four, every SMLAL2
    /// first and the lower half of wv taken at its last use.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Lane4<TUpper>(Vector128<short> wv, [ConstantExpected(Max = 7)] byte k, Vector128<short> v0, Vector128<short> v1,
        Vector128<short> v2, Vector128<short> v3, ref Vector128<int> a00, ref Vector128<int> a01, ref Vector128<int> a10, ref Vector128<int> a11,
        ref Vector128<int> a20, ref Vector128<int> a21, ref Vector128<int> a30, ref Vector128<int> a31) where TUpper : struct, IFlag
    {
        if (TUpper.Value)
        {
            a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, k);
            a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, k);
            a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, k);
            a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, k);
        }
        var wl = wv.GetLower();
        a00 = SimdOps.MultiplyAddLaneLower(a00, wl, v0, k);
        a10 = SimdOps.MultiplyAddLaneLower(a10, wl, v1, k);
        a20 = SimdOps.MultiplyAddLaneLower(a20, wl, v2, k);
        a30 = SimdOps.MultiplyAddLaneLower(a30, wl, v3, k);
    }

    /// <summary>The 8 bytes of <paramref name="v"/> at <paramref name="half"/> (0 or 1): one pixel's whole 8-channel block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store8(Vector128<sbyte> v, [ConstantExpected(Max = 1)] int half, ref sbyte o)
        => Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), v.AsInt64().GetElement(half));

    /// <summary>
    /// One pixel (taps at x plus each segment's offset) x 8 channels, as <see cref="LanesTile4{TUpper}"/> stores its first
    /// pixel: a last pixel left over past the 8- and 4-pixel tiles (a 7x7 map's 49th) costs 1 activation load per 8 taps
    /// here, where the 4-pixel tile computed the pixel four times. Two accumulator pairs (even and odd taps), summed at the end.
    /// </summary>
    private static void LanesTile1<TUpper>(ref short x, ref int segOff, int kh, int groups, int rem, nint rowStride, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o) where TUpper : struct, IFlag
    {
        nint w1 = coutP * sizeof(short), w2 = 2 * w1, w3 = 3 * w1, w4 = 4 * w1;
        Vector128<int> a0 = i0, a1 = i1, b0 = default, b1 = default;
        Vector128<short> wv;
        for (int ky = 0; ky < kh; ky++)
        {
            ref short r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
            ref short wt = ref Unsafe.Add(ref w, ky * rowStride);
            for (int g = 0; g < groups; g++)
            {
                var v = Vector128.LoadUnsafe(ref r);
                ref short wt4 = ref Unsafe.AddByteOffset(ref wt, w4);
                wv = Vector128.LoadUnsafe(ref wt);
                if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 0);
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 0);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w1));
                if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 1);
                b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 1);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w2));
                if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 2);
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 2);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, w3));
                if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 3);
                b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 3);
                wv = Vector128.LoadUnsafe(ref wt4);
                if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 4);
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 4);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w1));
                if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 5);
                b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 5);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w2));
                if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 6);
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 6);
                wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt4, w3));
                if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 7);
                b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 7);
                wt = ref Unsafe.AddByteOffset(ref wt4, w4);
                r = ref Unsafe.Add(ref r, 8);
            }
            if (rem > 0)
            {
                var v = Vector128.LoadUnsafe(ref r);
                wv = Vector128.LoadUnsafe(ref wt);
                if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 0);
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 0);
                if (rem > 1)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 1 * w1));
                    if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 1);
                    b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 1);
                }
                if (rem > 2)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 2 * w1));
                    if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 2);
                    a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 2);
                }
                if (rem > 3)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 3 * w1));
                    if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 3);
                    b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 3);
                }
                if (rem > 4)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 4 * w1));
                    if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 4);
                    a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 4);
                }
                if (rem > 5)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 5 * w1));
                    if (TUpper.Value) b1 = SimdOps.MultiplyAddLaneUpper(b1, wv, v, 5);
                    b0 = SimdOps.MultiplyAddLaneLower(b0, wv.GetLower(), v, 5);
                }
                if (rem > 6)
                {
                    wv = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref wt, 6 * w1));
                    if (TUpper.Value) a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 6);
                    a0 = SimdOps.MultiplyAddLaneLower(a0, wv.GetLower(), v, 6);
                }
            }
        }
        rq.Store(rq.Pixels2(a0 + b0, a1 + b1, a0 + b0, a1 + b1), 0, ref o);
    }

    /// <summary>
    /// 4 pixels (taps at x, x + d1, x + d2, x + d3, plus each segment's offset) x 8 channels over Kh segments of
    /// <paramref name="groups"/> whole 8-tap groups and <paramref name="rem"/> (0..7) more taps, the segments'
    /// weights <paramref name="rowStride"/> apart; stores the first <paramref name="valid"/> pixels.
    /// </summary>
    private static void LanesTile4<TUpper>(ref short x, nint d1, nint d2, nint d3, ref int segOff, int kh, int groups, int rem, nint rowStride, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, nint outStride, int valid) where TUpper : struct, IFlag
    {
        nint wBytes = coutP * sizeof(short);
        nint b1 = d1 * sizeof(short), b2 = d2 * sizeof(short), b3 = d3 * sizeof(short);
        Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1;
        for (int ky = 0; ky < kh; ky++)
        {
            ref short r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
            ref short wt = ref Unsafe.Add(ref w, ky * rowStride);
            for (int g = 0; g < groups; g++)
            {
                var v0 = Vector128.LoadUnsafe(ref r);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b3));
                Vector128<short> wv;
                // One Lane4 per tap: its eight accumulators by reference stay in registers once inlined (the instruction
                // counts under qemu are those of the code written out per lane).
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 0, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 1, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 2, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 3, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 4, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 5, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 6, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 7, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                r = ref Unsafe.Add(ref r, 8);
            }
            if (rem > 0)
            {
                // The row's last 1-7 taps.
                var v0 = Vector128.LoadUnsafe(ref r);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.AddByteOffset(ref r, b3));
                Vector128<short> wv;
                wv = Vector128.LoadUnsafe(ref wt);
                Lane4<TUpper>(wv, 0, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                if (rem > 1)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 1, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
                if (rem > 2)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 2, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
                if (rem > 3)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 3, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
                if (rem > 4)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 4, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
                if (rem > 5)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 5, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
                if (rem > 6)
                {
                    wv = Vector128.LoadUnsafe(ref wt);
                    Lane4<TUpper>(wv, 6, v0, v1, v2, v3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                    wt = ref Unsafe.AddByteOffset(ref wt, wBytes);
                }
            }
        }
        rq.Pixels4(a00, a01, a10, a11, a20, a21, a30, a31, out var p01, out var p23);
        rq.Store(p01, 0, ref o);
        if (valid > 1) rq.Store(p01, 1, ref Unsafe.Add(ref o, outStride));
        if (valid > 2) rq.Store(p23, 0, ref Unsafe.Add(ref o, 2 * outStride));
        if (valid > 3) rq.Store(p23, 1, ref Unsafe.Add(ref o, 3 * outStride));
    }

    /// <summary>Input row iy (or the zero point, outside the image) widened over the padded columns (portable vectors).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void StageRowS16(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
        short zeroPoint, ref short row)
    {
        if ((uint)iy >= (uint)inH)
        {
            FillS16Portable(ref row, span * cin, zeroPoint);
            return;
        }
        FillS16Portable(ref row, lo * cin, zeroPoint);
        ref sbyte from = ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin);
        ref short to = ref Unsafe.Add(ref row, lo * cin);
        int n = (hi - lo) * cin, i = 0;
        // 32 elements per step: two loads, four SXTL/SXTL2, four stores, one loop test; the two pointers step once per
        // iteration (indexed addresses had cost an address computation per store).
        for (; i <= n - 32; i += 32)
        {
            var v = Vector128.LoadUnsafe(ref from);
            var u = Vector128.LoadUnsafe(ref from, 16);
            Vector128.WidenLower(v).StoreUnsafe(ref to);
            Vector128.WidenUpper(v).StoreUnsafe(ref to, 8);
            Vector128.WidenLower(u).StoreUnsafe(ref to, 16);
            Vector128.WidenUpper(u).StoreUnsafe(ref to, 24);
            from = ref Unsafe.Add(ref from, 32);
            to = ref Unsafe.Add(ref to, 32);
        }
        if (i <= n - 16)
        {
            var v = Vector128.LoadUnsafe(ref from);
            Vector128.WidenLower(v).StoreUnsafe(ref to);
            Vector128.WidenUpper(v).StoreUnsafe(ref to, 8);
            from = ref Unsafe.Add(ref from, 16);
            to = ref Unsafe.Add(ref to, 16);
            i += 16;
        }
        for (int k = 0; k < n - i; k++)
            Unsafe.Add(ref to, k) = Unsafe.Add(ref from, k);
        FillS16Portable(ref Unsafe.Add(ref row, hi * cin), (span - hi) * cin, zeroPoint);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillS16Portable(ref short to, int n, short value)
    {
        int i = 0;
        var v = Vector128.Create(value);
        for (; i <= n - 8; i += 8)
            v.StoreUnsafe(ref to, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref to, i) = value;
    }
}
