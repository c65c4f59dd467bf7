using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryEvalS8RowsAvx2"/>.</summary>
    private const int RowsStackLimit = 16384;

    /// <summary>Largest output row (Wo x Cout int32 accumulators, on the stack) requantized in one pass.</summary>
    internal const int RowAccumulatorLimit = 4096;

    /// <summary>
    /// AVX2 path for Kh x Kw &gt; 1 over widened rows (no horizontal dilation, any Cout: the channel tail
    /// runs in-vector over <see cref="PackedFilter.CoutPadded"/> lanes), used
    /// for stems and small 3x3 layers alike: no im2col copy, the taps are read where they lie. The input
    /// rows are widened to int16 into stack rows that already hold the padding (the zero point, so
    /// padded taps cancel against the folded bias as in the im2col path): the whole padded image when
    /// it fits (each row widened once), else per output row the Kh rows it reads.
    /// A kernel row's Kw x Cin taps are then contiguous, and each pair of them is one 32-bit broadcast
    /// multiplied against 8 output channels' interleaved weight pairs (<see cref="PackedFilter.RowPairs"/>)
    /// by VPMADDWD: exact int16 x int16 products summed in int32, so the accumulator equals the
    /// reference's. Tiles of 4 output pixels x 16 channels (<see cref="Int8Gemm.PairsRows"/>). A row with
    /// an odd tap count reads one element past its taps against a zero weight.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    [MethodImpl(MethodImplOptions.NoInlining)] // inlined, its requantization struct made the dispatcher zero a larger frame on every call
    internal static bool TryEvalS8RowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int pixelFrom = 0, int pixelTo = -1)
    {
        short[]? rowPairs = packed.RowPairs;
        int cout = outShape.D3, coutP = packed.CoutPadded;
        // Horizontal dilation: one kernel row whose taps split into whole pairs per kernel column (even Cin).
        bool dilated = p.DilationW != 1 && filterShape.D2 > 1;
        if (!Avx2.IsSupported || rowPairs is null || (dilated && (filterShape.D1 != 1 || inShape.D3 % 2 != 0))
            || packed.Cout != cout || (uint)(128 - p.InputOffset) > 255)
            return false;
        var q = new Int8Gemm.PairsRequantization(packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax);
        // Pairs of taps per kernel row (per kernel column when dilated); one spare element per row for an odd last pair.
        return RunRows<PairRows, short>(p, input, inShape, filterShape, packed, q, ref Unsafe.As<short, byte>(ref MemoryMarshal.GetArrayDataReference(rowPairs)),
            dilated ? inShape.D3 / 2 : (filterShape.D2 * inShape.D3 + 1) / 2, spare: 1, RowsStackLimit, (short)(-p.InputOffset), output, outShape,
            pixelFrom, pixelTo);
    }

    /// <summary>The staging and the tiles of one rows path (<see cref="TryEvalS8RowsAvx2"/>, <see cref="TryEvalS8RowsVnni"/>).</summary>
    private interface IRowKernel<TElem> where TElem : unmanaged
    {
        /// <summary>Input row iy (or the zero point, outside the image) over the padded columns, plus the spare elements.</summary>
        static abstract void Stage(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
            TElem zeroPoint, ref TElem row);

        /// <summary>
        /// Up to how many pixels past a range's last whole 4-pixel tile (0-3) run as 1-pixel tiles rather than as one more
        /// 4-pixel tile overlapping the one before: all of them where a 1-pixel tile costs about a quarter of a 4-pixel one,
        /// as VPMADDWD does on CPUs with AVX2 alone (Zen 1: one multiplying pipe, which bounds both; a 7x7 map then
        /// computes 49 pixels, not 52); one with VPDPBUSD (<see cref="Int8Gemm.QuadSinglesUpTo"/>).
        /// </summary>
        static abstract int SinglesUpTo { get; }

        /// <summary>The accumulators of n = 4 or 1 pixels (<see cref="Int8Gemm.PairsRows"/>, <see cref="Int8Gemm.QuadsRows"/>).</summary>
        static abstract void Rows(int n, ref TElem x, RowOffsets xStride, int segments, nint segStride, int steps, ref byte w, int cout,
            in Int8Gemm.PairsRequantization q, ref int acc);
    }

    /// <summary>Widened int16 rows, VPMADDWD over pairs of taps.</summary>
    private readonly struct PairRows : IRowKernel<short>
    {
        public static int SinglesUpTo => Avx512BW.IsSupported ? 0 : 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Stage(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
            short zeroPoint, ref short row) => StageRow(p, ref src, b, iy, inH, inW, cin, span, lo, hi, zeroPoint, ref row);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows(int n, ref short x, RowOffsets xStride, int segments, nint segStride, int steps, ref byte w, int cout,
            in Int8Gemm.PairsRequantization q, ref int acc)
            => Int8Gemm.PairsRows(n, ref x, xStride, segments, segStride, steps, ref Unsafe.As<byte, short>(ref w), cout, q, ref acc);
    }

    /// <summary>
    /// The rows paths' driver: stages the padded input rows (the whole padded image when it fits
    /// <paramref name="stackLimit"/> elements, each row staged once, else per output row the Kh rows it reads). With the
    /// whole image staged it runs the image's pixels in order as 4-pixel tiles (a tile may span output rows; the last
    /// one overlapping), into chunks of up to <see cref="RowAccumulatorLimit"/> accumulators, one requantization pass
    /// each; else each output row as 4-pixel tiles (the last ones overlapping) and 1-pixel tiles for a row under 4, into
    /// a whole output row's accumulators when they fit, else a tile's.
    /// <paramref name="steps"/>: pairs or quadruplets per kernel row; <paramref name="spare"/>: elements past each
    /// staged row that a last partial step reads against zero weights. False (nothing written) when the rows do not fit.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    private static bool RunRows<TKernel, TElem>(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, in Int8Gemm.PairsRequantization q, ref byte w, int steps, int spare, int stackLimit, TElem zeroPoint,
        Span<sbyte> output, in Shape4 outShape, int pixelFrom, int pixelTo)
        where TKernel : struct, IRowKernel<TElem> where TElem : unmanaged
    {
        int cout = outShape.D3, coutP = packed.CoutPadded;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps.
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        int rowLen = span * cin + spare;
        if (kh * rowLen > stackLimit || coutP > Int8Gemm.MaxPairsChannels)
            return false;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        bool wholeImage = paddedH * rowLen <= stackLimit;
        // A range of output pixels (one thread's share of a batch-1 op): only where the whole image can be staged.
        bool range = pixelTo >= 0;
        if (range && (!wholeImage || inShape.D0 != 1 || pixelFrom < 0 || pixelTo > outH * outW || pixelFrom >= pixelTo))
            return false;
        // 64 bytes more of each, to start at a cache line (SimdOps.Align64).
        Span<TElem> rows = stackalloc TElem[(wholeImage ? paddedH : kh) * rowLen + 64];
        // The runs of taps the tiles walk: the kernel rows, or with horizontal dilation (one kernel row only) the kernel
        // columns, Cin taps each (steps per run: Cin / 2 or Cin / 4, the caller's), DilationW pixels apart.
        bool tapRuns = p.DilationW != 1 && kw > 1;
        int segments = tapRuns ? kw : kh;
        nint segStride = tapRuns ? (nint)p.DilationW * cin : wholeImage ? (nint)p.DilationH * rowLen : rowLen;
        bool wholeRow = outW * coutP <= RowAccumulatorLimit;
        // With the whole image staged, the tiles run over the image's pixels in order, a tile running on into the next
        // output row where a row's width is not a multiple of 4 (its taps a staged row further on: RowOffsets), into
        // chunks of accumulators requantized in one pass each. Per output row, a width of 14 took 4 tiles for 14 pixels
        // (16 computed) and a width of 7 took 2 (8).
        int total = outH * outW;
        bool flat = wholeImage && (total >= 4 || range);
        int from = range ? pixelFrom : 0, to = range ? pixelTo : total;
        // The staged rows the pixels read (all of them without a range).
        int stageFrom = range ? from / outW * p.StrideH : 0;
        int stageTo = range ? (to - 1) / outW * p.StrideH + (kh - 1) * p.DilationH + 1 : paddedH;
        int chunk = System.Math.Max(4, System.Math.Min(total, RowAccumulatorLimit / coutP) & ~3);
        Span<int> accumulators = stackalloc int[(flat ? chunk : wholeRow ? System.Math.Max(outW, 4) : 4) * coutP + 16];
        ref int acc = ref SimdOps.Align64(ref MemoryMarshal.GetReference(accumulators));
        ref TElem rowRef = ref SimdOps.Align64(ref MemoryMarshal.GetReference(rows));
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        int pixelStep = p.StrideW * cin;
        nint rowStep = (nint)p.StrideH * rowLen;
        for (int b = 0; b < inShape.D0; b++)
        {
            if (wholeImage)
                for (int y = stageFrom; y < stageTo; y++)
                    TKernel.Stage(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, y * rowLen));
            if (flat)
            {
                ref sbyte image = ref Unsafe.Add(ref dst, b * total * cout);
                if (to - from < 4)
                {
                    // A range of 1-3 pixels: 1-pixel tiles.
                    for (int at = from; at < to; at++)
                    {
                        int y = at / outW;
                        TKernel.Rows(1, ref Unsafe.Add(ref rowRef, y * rowStep + (at - y * outW) * pixelStep), default, segments, segStride, steps, ref w,
                            coutP, q, ref acc);
                        q.Store(1, ref acc, coutP, cout, ref Unsafe.Add(ref image, at * cout), cout);
                    }
                    continue;
                }
                // (oy, ox): the output pixel `next`, where the tile after the last one starts unless a last overlapping tile
                // steps back.
                int oy = from / outW, ox = from - oy * outW, next = from;
                for (int c0 = from; c0 < to; c0 += chunk)
                {
                    int n = System.Math.Min(chunk, to - c0);
                    bool singles = Int8Gemm.RestRunsAlone(n, TKernel.SinglesUpTo);
                    if (n < 4 && !singles)
                    {
                        // A last chunk of 1-3 pixels: the range's last 4 (the ones before recomputed, stored again identically).
                        c0 = to - 4;
                        n = 4;
                    }
                    // The pixels in 4-pixel tiles: all of them, the last tile overlapping the one before, or (singles) the
                    // whole tiles only, the last 1-3 pixels then one by one.
                    int tiled = singles ? n & ~3 : n;
                    for (int t = 0; t < tiled; t += 4)
                    {
                        t = System.Math.Min(t, tiled - 4);
                        int at = c0 + t;
                        if (at != next)
                        {
                            oy = at / outW;
                            ox = at - oy * outW;
                        }
                        nint o0 = oy * rowStep + ox * pixelStep;
                        Advance(ref oy, ref ox, outW);
                        nint o1 = oy * rowStep + ox * pixelStep - o0;
                        Advance(ref oy, ref ox, outW);
                        nint o2 = oy * rowStep + ox * pixelStep - o0;
                        Advance(ref oy, ref ox, outW);
                        nint o3 = oy * rowStep + ox * pixelStep - o0;
                        Advance(ref oy, ref ox, outW);
                        next = at + 4;
                        TKernel.Rows(4, ref Unsafe.Add(ref rowRef, o0), new RowOffsets(o1, o2, o3), segments, segStride, steps, ref w, coutP, q,
                            ref Unsafe.Add(ref acc, t * coutP));
                    }
                    for (int t = tiled; t < n; t++)
                    {
                        int at = c0 + t, y = at / outW;
                        TKernel.Rows(1, ref Unsafe.Add(ref rowRef, y * rowStep + (at - y * outW) * pixelStep), default, segments, segStride, steps, ref w,
                            coutP, q, ref Unsafe.Add(ref acc, t * coutP));
                    }
                    q.Store(n, ref acc, coutP, cout, ref Unsafe.Add(ref image, c0 * cout), cout);
                }
                continue;
            }
            for (int oy = 0; oy < outH; oy++)
            {
                ref TElem top = ref rowRef;
                if (wholeImage)
                    top = ref Unsafe.Add(ref rowRef, oy * rowStep);
                else
                    for (int ky = 0; ky < kh; ky++)
                        TKernel.Stage(p, ref src, b, oy * p.StrideH - p.PadTop + ky * p.DilationH, inH, inW, cin, span, lo, hi, zeroPoint,
                            ref Unsafe.Add(ref rowRef, ky * rowLen));
                ref sbyte o = ref Unsafe.Add(ref dst, (b * outH + oy) * outW * cout);
                int ox = 0;
                if (outW >= 4)
                {
                    for (; ; ox += 4)
                    {
                        // The row's last pixels as one overlapping 4-pixel tile (recomputed, stored again identically):
                        // the 1-pixel tiles run a fraction of its rate.
                        ox = System.Math.Min(ox, outW - 4);
                        TKernel.Rows(4, ref Unsafe.Add(ref top, ox * pixelStep), RowOffsets.Strided(pixelStep), segments, segStride, steps, ref w, coutP, q,
                            ref Unsafe.Add(ref acc, wholeRow ? ox * coutP : 0));
                        if (!wholeRow)
                            q.Store(4, ref acc, coutP, cout, ref Unsafe.Add(ref o, ox * cout), cout);
                        if (ox == outW - 4)
                            break;
                    }
                    ox = outW;
                }
                for (; ox < outW; ox++)
                {
                    TKernel.Rows(1, ref Unsafe.Add(ref top, ox * pixelStep), default, segments, segStride, steps, ref w, coutP, q,
                        ref Unsafe.Add(ref acc, wholeRow ? ox * coutP : 0));
                    if (!wholeRow)
                        q.Store(1, ref acc, coutP, cout, ref Unsafe.Add(ref o, ox * cout), cout);
                }
                if (wholeRow)
                    q.Store(outW, ref acc, coutP, cout, ref o, cout);
            }
        }
        return true;
    }

    /// <summary>(oy, ox) to the next output pixel in row order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Advance(ref int oy, ref int ox, int outW)
    {
        if (++ox == outW)
        {
            ox = 0;
            oy++;
        }
    }

    /// <summary>Input row iy (or the zero point, outside the image) widened over the padded columns, plus the spare element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRow(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
        short zeroPoint, ref short row)
    {
        if ((uint)iy >= (uint)inH)
        {
            FillS16(ref row, span * cin, zeroPoint);
        }
        else
        {
            FillS16(ref row, lo * cin, zeroPoint);
            WidenS8(ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin), ref Unsafe.Add(ref row, lo * cin), (hi - lo) * cin);
            FillS16(ref Unsafe.Add(ref row, hi * cin), (span - hi) * cin, zeroPoint);
        }
        Unsafe.Add(ref row, span * cin) = 0;
    }

    /// <summary>
    /// Sign-extends n int8 to int16: VPMOVSXBW 16 at a time, the last step overlapping the previous one
    /// (8 at a time below 16), scalar below 8. Reads and writes stay within the n elements.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenS8(ref sbyte from, ref short to, int n)
    {
        if (n >= 16)
        {
            int i = 0;
            for (; i <= n - 16; i += 16)
                Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref to, (nuint)i);
            if (i < n)
                Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from, (nuint)(n - 16))).StoreUnsafe(ref to, (nuint)(n - 16));
        }
        else if (n >= 8)
        {
            Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref from))).AsSByte()).StoreUnsafe(ref to);
            Sse41.ConvertToVector128Int16(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref from, n - 8)))).AsSByte())
                .StoreUnsafe(ref to, (nuint)(n - 8));
        }
        else
        {
            for (int i = 0; i < n; i++)
                Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillS16(ref short to, int n, short value)
    {
        int i = 0;
        var v = Vector256.Create(value);
        for (; i <= n - 16; i += 16)
            v.StoreUnsafe(ref to, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref to, i) = value;
    }
}
