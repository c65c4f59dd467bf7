using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryEvalS8RowsLanes"/>.</summary>
    private const int LanesStackLimit = 24576;

    /// <summary>Largest Kh of <see cref="TryEvalS8RowsLanes"/> (its per-row segment table lives on the stack).</summary>
    private const int LanesMaxKh = 16;

    /// <summary>
    /// Precomputes <see cref="TryEvalS8RowsLanes"/>'s data (once per op, outside Eval): the filter widened to
    /// int16 with channels in lanes, [Kh x Kw, CoutPadded] (<see cref="PackedFilter.RowTaps"/>), and the folded
    /// bias (<see cref="PackedFilter.Init"/>). Null where that path does not apply (not arm64, unless
    /// <paramref name="force"/>, as the x64 tests do; depth multiplier other than 1).
    /// </summary>
    internal static PackedFilter? PrepareLanes(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias, bool force = false)
    {
        int cout = filterShape.D3, taps = filterShape.D1 * filterShape.D2;
        if (!(AdvSimd.Arm64.IsSupported || force) || p.DepthMultiplier != 1 || taps == 0)
            return null;
        var byChannel = new sbyte[cout * taps];
        for (int t = 0; t < taps; t++)
            for (int oc = 0; oc < cout; oc++)
                byChannel[oc * taps + t] = filter[t * cout + oc];
        return PackedFilter.Create(byChannel, cout, taps, bias, p.InputOffset, pad: false, rowTaps: taps, rowTapsS16: true);
    }

    /// <summary>
    /// arm64 (Pi 4 and Pi 5 alike), depth multiplier 1, any Cout: widened multiply-accumulate over staged rows.
    /// The input rows are widened to int16 into stack rows that already hold the padding (the zero point,
    /// which cancels against the folded bias, as in the other staged paths): the whole padded image when it
    /// fits, else a ring of the (Kh - 1) x DilationH + 1 rows an output row reads, each input row widened once.
    /// Per block of 8 channels (one int16 vector; the last block of a channel tail runs in-vector against zero
    /// weights and stores only its real channels) and tile of 4 output pixels, every tap is one weight load, four
    /// activation loads and SMLAL/SMLAL2 into the 8 int32 accumulators: exact int16 products summed in int32,
    /// so the accumulator equals the reference's. A 3x3 filter instead keeps its 9 weight vectors in registers for
    /// a whole output row of the block, two pixels at a time (<see cref="Row3x3"/>). No per-tap bounds checks; requantization per block
    /// (<see cref="BlockRequantization"/>). A row's last pixels run as a tile with the last pixel repeated.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged element is written before it is read; the 8 spare ones are cleared
    internal static bool TryEvalS8RowsLanes(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? w16 = packed.RowTaps;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, taps = kh * kw;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3, coutP = packed.CoutPadded;
        if (!Vector128.IsHardwareAccelerated || w16 is null || p.DepthMultiplier != 1 || cout != cin || packed.Cout != cout
            || packed.K != taps || kh > LanesMaxKh || (uint)(128 - p.InputOffset) > 255)
            return false;
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        long rowLen = (long)span * cin;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        int window = (kh - 1) * p.DilationH + 1;
        int slots = paddedH * rowLen + 8 <= LanesStackLimit ? paddedH : window;
        if (slots * rowLen + 8 > LanesStackLimit)
            return false;
        int len = (int)rowLen;
        Span<short> rows = stackalloc short[slots * len + 8];
        rows.Slice(slots * len).Clear();
        Span<int> slotRow = stackalloc int[slots];
        Span<int> segOff = stackalloc int[kh];
        ref short rowRef = ref MemoryMarshal.GetReference(rows);
        ref int segRef = ref MemoryMarshal.GetReference(segOff);
        ref short w = ref MemoryMarshal.GetArrayDataReference(w16);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        short zeroPoint = (short)(-p.InputOffset);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        nint pixStep = (nint)p.StrideW * cin, tapStep = (nint)p.DilationW * cin;
        for (int b = 0; b < inShape.D0; b++)
        {
            slotRow.Fill(-1);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ky = 0; ky < kh; ky++)
                {
                    int y = oy * p.StrideH + ky * p.DilationH, s = y % slots;
                    if (slotRow[s] != y)
                    {
                        Conv2D.StageRowS16(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, s * len));
                        slotRow[s] = y;
                    }
                    segOff[ky] = s * len;
                }
                ref sbyte o = ref Unsafe.Add(ref dst, (nint)(b * outH + oy) * outW * cout);
                for (int c = 0; c < coutP; c += 8)
                {
                    var rq = new BlockRequantization(multipliers, shifts, c, p.OutputOffset, p.ActivationMin, p.ActivationMax);
                    var i0 = Vector128.LoadUnsafe(ref init, (nuint)c);
                    var i1 = Vector128.LoadUnsafe(ref init, (nuint)c + 4);
                    ref short rc = ref Unsafe.Add(ref rowRef, c);
                    ref short wc = ref Unsafe.Add(ref w, c);
                    if (kh == 3 && kw == 3)
                    {
                        Row3x3(ref Unsafe.Add(ref rc, segOff[0]), ref Unsafe.Add(ref rc, segOff[1]), ref Unsafe.Add(ref rc, segOff[2]), pixStep, tapStep, outW,
                            ref wc, coutP, i0, i1, rq, ref Unsafe.Add(ref o, c), cout);
                        continue;
                    }
                    int ox = 0;
                    for (; ox <= outW - 4; ox += 4)
                        LanesTile4(ref Unsafe.Add(ref rc, ox * pixStep), pixStep, 2 * pixStep, 3 * pixStep, ref segRef, kh, kw, tapStep, ref wc, coutP,
                            i0, i1, rq, ref Unsafe.Add(ref o, ox * cout + c), cout, 4);
                    if (ox < outW)
                    {
                        // The row's last 1-3 pixels: the last one repeated in the spare places, which are not stored.
                        int n = outW - ox;
                        LanesTile4(ref Unsafe.Add(ref rc, ox * pixStep), pixStep * System.Math.Min(1, n - 1), pixStep * System.Math.Min(2, n - 1),
                            pixStep * (n - 1), ref segRef, kh, kw, tapStep, ref wc, coutP, i0, i1, rq, ref Unsafe.Add(ref o, ox * cout + c), cout, n);
                    }
                }
            }
        }
        return true;
    }

    /// <summary>
    /// One output row of a 3x3 filter for one block of 8 channels: the 9 weight vectors stay in registers while
    /// the row's pixels go by two at a time (one SMLAL2/SMLAL pair per tap and pixel, one requantization and
    /// narrow per pair); a last odd pixel alone. r0..r2 are the three kernel rows' staged taps of the first pixel.
    /// </summary>
    private static void Row3x3(ref short r0, ref short r1, ref short r2, nint pixStep, nint tapStep, int n, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, nint cout)
    {
        var w00 = Vector128.LoadUnsafe(ref w);
        var w01 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, coutP));
        var w02 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 2 * coutP));
        var w10 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 3 * coutP));
        var w11 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 4 * coutP));
        var w12 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 5 * coutP));
        var w20 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 6 * coutP));
        var w21 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 7 * coutP));
        var w22 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 8 * coutP));
        Vector64<short> l00 = w00.GetLower(), l01 = w01.GetLower(), l02 = w02.GetLower(), l10 = w10.GetLower(), l11 = w11.GetLower(),
            l12 = w12.GetLower(), l20 = w20.GetLower(), l21 = w21.GetLower(), l22 = w22.GetLower();
        nint tap2 = 2 * tapStep;
        Vector128<short> x;
        int i = 0;
        for (; i <= n - 2; i += 2)
        {
            Vector128<int> a0 = i0, a1 = i1, b0 = i0, b1 = i1;
            ref short p0 = ref Unsafe.Add(ref r0, i * pixStep);
            ref short p1 = ref Unsafe.Add(ref r1, i * pixStep);
            ref short p2 = ref Unsafe.Add(ref r2, i * pixStep);
            ref short q0 = ref Unsafe.Add(ref p0, pixStep);
            ref short q1 = ref Unsafe.Add(ref p1, pixStep);
            ref short q2 = ref Unsafe.Add(ref p2, pixStep);
            x = Vector128.LoadUnsafe(ref p0);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w00);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l00);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p0, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w01);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l01);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p0, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w02);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l02);
            x = Vector128.LoadUnsafe(ref p1);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w10);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l10);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p1, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w11);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l11);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p1, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w12);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l12);
            x = Vector128.LoadUnsafe(ref p2);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w20);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l20);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p2, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w21);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l21);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p2, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w22);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l22);
            x = Vector128.LoadUnsafe(ref q0);
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w00);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l00);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q0, tapStep));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w01);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l01);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q0, tap2));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w02);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l02);
            x = Vector128.LoadUnsafe(ref q1);
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w10);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l10);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q1, tapStep));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w11);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l11);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q1, tap2));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w12);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l12);
            x = Vector128.LoadUnsafe(ref q2);
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w20);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l20);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q2, tapStep));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w21);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l21);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref q2, tap2));
            b1 = SimdOps.MultiplyAddWideningUpper(b1, x, w22);
            b0 = SimdOps.MultiplyAddWideningLower(b0, x, l22);
            var v = rq.Pixels2(a0, a1, b0, b1);
            rq.Store(v, 0, ref Unsafe.Add(ref o, i * cout));
            rq.Store(v, 1, ref Unsafe.Add(ref o, (i + 1) * cout));
        }
        if (i < n)
        {
            Vector128<int> a0 = i0, a1 = i1;
            ref short p0 = ref Unsafe.Add(ref r0, i * pixStep);
            ref short p1 = ref Unsafe.Add(ref r1, i * pixStep);
            ref short p2 = ref Unsafe.Add(ref r2, i * pixStep);
            x = Vector128.LoadUnsafe(ref p0);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w00);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l00);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p0, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w01);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l01);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p0, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w02);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l02);
            x = Vector128.LoadUnsafe(ref p1);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w10);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l10);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p1, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w11);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l11);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p1, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w12);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l12);
            x = Vector128.LoadUnsafe(ref p2);
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w20);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l20);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p2, tapStep));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w21);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l21);
            x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p2, tap2));
            a1 = SimdOps.MultiplyAddWideningUpper(a1, x, w22);
            a0 = SimdOps.MultiplyAddWideningLower(a0, x, l22);
            rq.Store(rq.Pixels2(a0, a1, a0, a1), 0, ref Unsafe.Add(ref o, i * cout));
        }
    }

    /// <summary>4 pixels (at x, x + d1, x + d2, x + d3) x 8 channels; stores the first <paramref name="valid"/> pixels.</summary>
    private static void LanesTile4(ref short x, nint d1, nint d2, nint d3, ref int segOff, int kh, int kw, nint tapStep, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, nint outStride, int valid)
    {
        Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1;
        ref short wt = ref w;
        for (int ky = 0; ky < kh; ky++)
        {
            ref short r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
            for (int kx = 0; kx < kw; kx++)
            {
                // SMLAL2 before SMLAL: the lower halves are then the vectors' last uses (no register copies).
                var wv = Vector128.LoadUnsafe(ref wt);
                var v0 = Vector128.LoadUnsafe(ref r);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1));
                var v2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2));
                var v3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3));
                a01 = SimdOps.MultiplyAddWideningUpper(a01, v0, wv);
                a00 = SimdOps.MultiplyAddWideningLower(a00, v0, wv);
                a11 = SimdOps.MultiplyAddWideningUpper(a11, v1, wv);
                a10 = SimdOps.MultiplyAddWideningLower(a10, v1, wv);
                a21 = SimdOps.MultiplyAddWideningUpper(a21, v2, wv);
                a20 = SimdOps.MultiplyAddWideningLower(a20, v2, wv);
                a31 = SimdOps.MultiplyAddWideningUpper(a31, v3, wv);
                a30 = SimdOps.MultiplyAddWideningLower(a30, v3, wv);
                r = ref Unsafe.Add(ref r, tapStep);
                wt = ref Unsafe.Add(ref wt, coutP);
            }
        }
        var p01 = rq.Pixels2(a00, a01, a10, a11);
        var p23 = rq.Pixels2(a20, a21, a30, a31);
        rq.Store(p01, 0, ref o);
        if (valid > 1) rq.Store(p01, 1, ref Unsafe.Add(ref o, outStride));
        if (valid > 2) rq.Store(p23, 0, ref Unsafe.Add(ref o, 2 * outStride));
        if (valid > 3) rq.Store(p23, 1, ref Unsafe.Add(ref o, 3 * outStride));
    }
}
