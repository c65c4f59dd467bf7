using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8RowsVnni"/>.</summary>
    private const int RowsVnniStackLimit = 32768;

    /// <summary>
    /// The AVX-VNNI form of <see cref="TryEvalS8RowsAvx2"/> (Kh x Kw &gt; 1, no horizontal dilation, any Cout): the input rows
    /// are staged as biased bytes (x XOR 0x80; the padding holds the biased zero point, so padded taps cancel against the
    /// folded bias as in the reference), the whole padded image when it fits, else per output row the Kh rows it reads. A
    /// kernel row's Kw x Cin taps are contiguous; each quadruplet of them is one 32-bit broadcast multiplied against 8
    /// output channels' weight quadruplets (<see cref="PackedFilter.Quads"/> with QuadRowTaps = Kw x Cin) by VPDPBUSD into
    /// accumulators started at <see cref="PackedFilter.InitBiased"/> (<see cref="Int8Gemm.QuadsRows"/>): exact, so the
    /// accumulator equals the reference's. A kernel row whose tap count is not a multiple of 4 reads up to three bytes
    /// past its taps against zero weights. Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    internal static bool TryEvalS8RowsVnni(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        sbyte[]? quads = packed.Quads;
        int cout = outShape.D3, coutP = packed.CoutPadded;
        if (!Avx2.IsSupported || quads is null || packed.QuadRowTaps != filterShape.D2 * inShape.D3 || packed.K != filterShape.D1 * packed.QuadRowTaps
            || p.DilationW != 1 || packed.Cout != cout || (uint)(128 - p.InputOffset) > 255)
            return false;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        int rowTaps = kw * cin, quadCount = (rowTaps + 3) / 4;
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps; three spare bytes per row for a last partial quadruplet.
        int span = (outW - 1) * p.StrideW + kw;
        int rowLen = span * cin + 3;
        if (kh * rowLen > RowsVnniStackLimit || coutP > Int8Gemm.MaxPairsChannels)
            return false;
        // The whole padded image when it fits (each input row widened once), else the Kh rows of one output row.
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        bool wholeImage = paddedH * rowLen <= RowsVnniStackLimit;
        Span<byte> rows = stackalloc byte[(wholeImage ? paddedH : kh) * rowLen];
        nint segStride = wholeImage ? (nint)p.DilationH * rowLen : rowLen;
        // A whole output row's accumulators when they fit (one requantization pass per row), else a tile's.
        bool wholeRow = outW * coutP <= RowAccumulatorLimit;
        Span<int> accumulators = stackalloc int[(wholeRow ? System.Math.Max(outW, 4) : 4) * coutP];
        ref int acc = ref MemoryMarshal.GetReference(accumulators);
        ref byte rowRef = ref MemoryMarshal.GetReference(rows);
        byte zeroPoint = (byte)((sbyte)(-p.InputOffset) ^ 0x80); // the zero point, biased
        ref sbyte w = ref MemoryMarshal.GetArrayDataReference(quads);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var q = new Int8Gemm.PairsRequantization(packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, biased: true);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        int pixelStep = p.StrideW * cin;
        for (int b = 0; b < inShape.D0; b++)
        {
            if (wholeImage)
                for (int y = 0; y < paddedH; y++)
                    StageRowBiased(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, y * rowLen));
            for (int oy = 0; oy < outH; oy++)
            {
                ref byte top = ref rowRef;
                if (wholeImage)
                    top = ref Unsafe.Add(ref rowRef, oy * p.StrideH * rowLen);
                else
                    for (int ky = 0; ky < kh; ky++)
                        StageRowBiased(p, ref src, b, oy * p.StrideH - p.PadTop + ky * p.DilationH, inH, inW, cin, span, lo, hi, zeroPoint,
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
                        Int8Gemm.QuadsRows(4, ref Unsafe.Add(ref top, ox * pixelStep), pixelStep, kh, segStride, quadCount, ref w, coutP, q,
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
                    Int8Gemm.QuadsRows(1, ref Unsafe.Add(ref top, ox * pixelStep), pixelStep, kh, segStride, quadCount, ref w, coutP, q,
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

    /// <summary>Input row iy biased (or the biased zero point, outside the image) over the padded columns, plus three zero bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRowBiased(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
        byte zeroPoint, ref byte row)
    {
        if ((uint)iy >= (uint)inH)
        {
            Fill(ref Unsafe.As<byte, sbyte>(ref row), span * cin, (sbyte)zeroPoint);
        }
        else
        {
            Fill(ref Unsafe.As<byte, sbyte>(ref row), lo * cin, (sbyte)zeroPoint);
            int n = (hi - lo) * cin;
            Int8Gemm.StageBiased(ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin), ref Unsafe.Add(ref row, lo * cin), n, n);
            Fill(ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref row, hi * cin)), (span - hi) * cin, (sbyte)zeroPoint);
        }
        Unsafe.Add(ref row, span * cin) = 0;
        Unsafe.Add(ref row, span * cin + 1) = 0;
        Unsafe.Add(ref row, span * cin + 2) = 0;
    }
}
