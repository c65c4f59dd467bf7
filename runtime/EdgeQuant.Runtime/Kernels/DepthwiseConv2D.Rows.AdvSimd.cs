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
    /// int16 with channels in lanes, [Kh x Kw, CoutPadded] (<see cref="PackedFilter.RowTaps"/>), with Dp and Kw &lt;= 4 also
    /// as quadruplets of kernel-row taps per channel (<see cref="PackedFilter.Quads"/>, for <see cref="TryEvalS8RowsSdot"/>),
    /// and the folded bias (<see cref="PackedFilter.Init"/>). Null where that path does not apply (not arm64, unless
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
        // With Dp (Pi 5) also the quadruplets of each kernel row for TryEvalS8RowsSdot.
        int quadRowTaps = (Dp.IsSupported || force) && filterShape.D2 <= 4 ? filterShape.D2 : 0;
        return PackedFilter.Create(byChannel, cout, taps, bias, p.InputOffset, pad: false, rowTaps: taps, rowTapsS16: true, quadRowTaps: quadRowTaps);
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
        // 3x3 with every channel shifting right (every zoo layer): the multipliers and shifts padded to whole blocks once
        // (padding lanes: multiplier 0, shift -1; never stored), loaded per block and row as they are.
        bool right = kh == 3 && kw == 3 && BlockRequantization.OpAllRight(shifts, p.OutputOffset);
        bool clamped = BlockRequantization.ClampsNegatives(p.OutputOffset, p.ActivationMin);
        Span<int> rqs = stackalloc int[right ? 2 * coutP : 0];
        if (right)
        {
            multipliers.Slice(0, cout).CopyTo(rqs);
            rqs.Slice(cout, coutP - cout).Clear();
            shifts.Slice(0, cout).CopyTo(rqs.Slice(coutP));
            rqs.Slice(coutP + cout).Fill(-1);
        }
        ref int rqRef = ref MemoryMarshal.GetReference(rqs);
        var off16 = Vector128.Create((short)p.OutputOffset);
        var min8 = Vector128.Create((sbyte)p.ActivationMin);
        var max8 = Vector128.Create((sbyte)p.ActivationMax);
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
                if (right)
                {
                    ref short q0 = ref Unsafe.Add(ref rowRef, segOff[0]);
                    ref short q1 = ref Unsafe.Add(ref rowRef, segOff[1]);
                    ref short q2 = ref Unsafe.Add(ref rowRef, segOff[2]);
                    for (int c = 0; c < coutP; c += 8)
                    {
                        var i0 = Vector128.LoadUnsafe(ref init, (nuint)c);
                        var i1 = Vector128.LoadUnsafe(ref init, (nuint)c + 4);
                        var m0 = Vector128.LoadUnsafe(ref rqRef, (nuint)c);
                        var m1 = Vector128.LoadUnsafe(ref rqRef, (nuint)c + 4);
                        var n0 = Vector128.LoadUnsafe(ref rqRef, (nuint)(coutP + c));
                        var n1 = Vector128.LoadUnsafe(ref rqRef, (nuint)(coutP + c + 4));
                        int channels = System.Math.Min(8, cout - c);
                        // Under a fused ReLU the requantization drops its fixup (BlockRequantization.Pixels2RightClamped).
                        if (tapStep == pixStep && clamped)
                            Row3x3RightS1<Conv2D.Yes>(ref Unsafe.Add(ref q0, c), ref Unsafe.Add(ref q1, c), ref Unsafe.Add(ref q2, c), pixStep, outW, ref Unsafe.Add(ref w, c), coutP,
                                i0, i1, m0, m1, n0, n1, off16, min8, max8, ref Unsafe.Add(ref o, c), cout, channels);
                        else if (tapStep == pixStep)
                            Row3x3RightS1<Conv2D.No>(ref Unsafe.Add(ref q0, c), ref Unsafe.Add(ref q1, c), ref Unsafe.Add(ref q2, c), pixStep, outW, ref Unsafe.Add(ref w, c), coutP,
                                i0, i1, m0, m1, n0, n1, off16, min8, max8, ref Unsafe.Add(ref o, c), cout, channels);
                        else if (clamped)
                            Row3x3Right<Conv2D.Yes>(ref Unsafe.Add(ref q0, c), ref Unsafe.Add(ref q1, c), ref Unsafe.Add(ref q2, c), pixStep, tapStep, outW, ref Unsafe.Add(ref w, c), coutP,
                                i0, i1, m0, m1, n0, n1, off16, min8, max8, ref Unsafe.Add(ref o, c), cout, channels);
                        else
                            Row3x3Right<Conv2D.No>(ref Unsafe.Add(ref q0, c), ref Unsafe.Add(ref q1, c), ref Unsafe.Add(ref q2, c), pixStep, tapStep, outW, ref Unsafe.Add(ref w, c), coutP,
                                i0, i1, m0, m1, n0, n1, off16, min8, max8, ref Unsafe.Add(ref o, c), cout, channels);
                    }
                    continue;
                }
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
            TapRow3(ref p0, tapStep, tap2, w00, w01, w02, l00, l01, l02, ref a0, ref a1);
            TapRow3(ref p1, tapStep, tap2, w10, w11, w12, l10, l11, l12, ref a0, ref a1);
            TapRow3(ref p2, tapStep, tap2, w20, w21, w22, l20, l21, l22, ref a0, ref a1);
            TapRow3(ref q0, tapStep, tap2, w00, w01, w02, l00, l01, l02, ref b0, ref b1);
            TapRow3(ref q1, tapStep, tap2, w10, w11, w12, l10, l11, l12, ref b0, ref b1);
            TapRow3(ref q2, tapStep, tap2, w20, w21, w22, l20, l21, l22, ref b0, ref b1);
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
            TapRow3(ref p0, tapStep, tap2, w00, w01, w02, l00, l01, l02, ref a0, ref a1);
            TapRow3(ref p1, tapStep, tap2, w10, w11, w12, l10, l11, l12, ref a0, ref a1);
            TapRow3(ref p2, tapStep, tap2, w20, w21, w22, l20, l21, l22, ref a0, ref a1);
            rq.Store(rq.Pixels2(a0, a1, a0, a1), 0, ref Unsafe.Add(ref o, i * cout));
        }
    }

    /// <summary>
    /// One kernel row of a 3x3 tap at p, p + tapStep, p + tap2 (2 tapStep) against its three weight vectors (w: whole, for SMLAL2
    /// on the upper four channels; l: their lower halves, for SMLAL), added to the pixel's accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void TapRow3(ref short p, nint tapStep, nint tap2, Vector128<short> w0, Vector128<short> w1, Vector128<short> w2, Vector64<short> l0,
        Vector64<short> l1, Vector64<short> l2, ref Vector128<int> low, ref Vector128<int> high)
    {
        var x = Vector128.LoadUnsafe(ref p);
        high = SimdOps.MultiplyAddWideningUpper(high, x, w0);
        low = SimdOps.MultiplyAddWideningLower(low, x, l0);
        x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p, tapStep));
        high = SimdOps.MultiplyAddWideningUpper(high, x, w1);
        low = SimdOps.MultiplyAddWideningLower(low, x, l1);
        x = Vector128.LoadUnsafe(ref Unsafe.Add(ref p, tap2));
        high = SimdOps.MultiplyAddWideningUpper(high, x, w2);
        low = SimdOps.MultiplyAddWideningLower(low, x, l2);
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
                Tap4(ref r, d1, d2, d3, ref wt, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                r = ref Unsafe.Add(ref r, tapStep);
                wt = ref Unsafe.Add(ref wt, coutP);
            }
        }
        rq.Pixels4(a00, a01, a10, a11, a20, a21, a30, a31, out var p01, out var p23);
        rq.Store(p01, 0, ref o);
        if (valid > 1) rq.Store(p01, 1, ref Unsafe.Add(ref o, outStride));
        if (valid > 2) rq.Store(p23, 0, ref Unsafe.Add(ref o, 2 * outStride));
        if (valid > 3) rq.Store(p23, 1, ref Unsafe.Add(ref o, 3 * outStride));
    }

    /// <summary>
    /// One kernel row of <see cref="Row3x3RightS1"/>'s 4-pixel tile: the row's 6 staged columns (r + k pixStep, the multiples
    /// d2..d5 passed in, computed once per row; pixel k's taps are columns k..k + 2) against its 3 weight vectors (w, coutP
    /// apart), SMLAL2 into the upper and SMLAL into the lower four channels of each pixel's accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KernelRow4(ref short r, nint pixStep, nint d2, nint d3, nint d4, nint d5, ref short w, nint coutP, ref Vector128<int> l0,
        ref Vector128<int> h0, ref Vector128<int> l1, ref Vector128<int> h1, ref Vector128<int> l2, ref Vector128<int> h2, ref Vector128<int> l3,
        ref Vector128<int> h3)
    {
        var w0 = Vector128.LoadUnsafe(ref w);
        var w1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, coutP));
        var w2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref w, 2 * coutP));
        var c0 = Vector128.LoadUnsafe(ref r);
        var c1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, pixStep));
        var c2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2));
        var c3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3));
        var c4 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d4));
        var c5 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d5));
        h0 = SimdOps.MultiplyAddWideningUpper(h0, c0, w0);
        h0 = SimdOps.MultiplyAddWideningUpper(h0, c1, w1);
        h0 = SimdOps.MultiplyAddWideningUpper(h0, c2, w2);
        h1 = SimdOps.MultiplyAddWideningUpper(h1, c1, w0);
        h1 = SimdOps.MultiplyAddWideningUpper(h1, c2, w1);
        h1 = SimdOps.MultiplyAddWideningUpper(h1, c3, w2);
        h2 = SimdOps.MultiplyAddWideningUpper(h2, c2, w0);
        h2 = SimdOps.MultiplyAddWideningUpper(h2, c3, w1);
        h2 = SimdOps.MultiplyAddWideningUpper(h2, c4, w2);
        h3 = SimdOps.MultiplyAddWideningUpper(h3, c3, w0);
        h3 = SimdOps.MultiplyAddWideningUpper(h3, c4, w1);
        h3 = SimdOps.MultiplyAddWideningUpper(h3, c5, w2);
        Vector64<short> v0 = c0.GetLower(), v1 = c1.GetLower(), v2 = c2.GetLower(), v3 = c3.GetLower(), v4 = c4.GetLower(), v5 = c5.GetLower();
        Vector64<short> u0 = w0.GetLower(), u1 = w1.GetLower(), u2 = w2.GetLower();
        l0 = SimdOps.MultiplyAddWideningLower(l0, v0, u0);
        l0 = SimdOps.MultiplyAddWideningLower(l0, v1, u1);
        l0 = SimdOps.MultiplyAddWideningLower(l0, v2, u2);
        l1 = SimdOps.MultiplyAddWideningLower(l1, v1, u0);
        l1 = SimdOps.MultiplyAddWideningLower(l1, v2, u1);
        l1 = SimdOps.MultiplyAddWideningLower(l1, v3, u2);
        l2 = SimdOps.MultiplyAddWideningLower(l2, v2, u0);
        l2 = SimdOps.MultiplyAddWideningLower(l2, v3, u1);
        l2 = SimdOps.MultiplyAddWideningLower(l2, v4, u2);
        l3 = SimdOps.MultiplyAddWideningLower(l3, v3, u0);
        l3 = SimdOps.MultiplyAddWideningLower(l3, v4, u1);
        l3 = SimdOps.MultiplyAddWideningLower(l3, v5, u2);
    }

    /// <summary>
    /// One tap of a 4-pixel tile: the staged columns at r, r + d1, r + d2, r + d3 (the four pixels' inputs for the tap)
    /// against the tap's weight vector at w, SMLAL2 into the upper and SMLAL into the lower four channels of each pixel's
    /// accumulators.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap4(ref short r, nint d1, nint d2, nint d3, ref short w, ref Vector128<int> l0, ref Vector128<int> h0,
        ref Vector128<int> l1, ref Vector128<int> h1, ref Vector128<int> l2, ref Vector128<int> h2, ref Vector128<int> l3, ref Vector128<int> h3)
    {
        var wv = Vector128.LoadUnsafe(ref w);
        var c0 = Vector128.LoadUnsafe(ref r);
        var c1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1));
        var c2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2));
        var c3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3));
        h0 = SimdOps.MultiplyAddWideningUpper(h0, c0, wv);
        h1 = SimdOps.MultiplyAddWideningUpper(h1, c1, wv);
        h2 = SimdOps.MultiplyAddWideningUpper(h2, c2, wv);
        h3 = SimdOps.MultiplyAddWideningUpper(h3, c3, wv);
        var wl = wv.GetLower();
        l0 = SimdOps.MultiplyAddWideningLower(l0, c0, wl);
        l1 = SimdOps.MultiplyAddWideningLower(l1, c1, wl);
        l2 = SimdOps.MultiplyAddWideningLower(l2, c2, wl);
        l3 = SimdOps.MultiplyAddWideningLower(l3, c3, wl);
    }

    /// <summary><see cref="Tap4"/> for a 2-pixel tile (columns r and r + d1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tap2(ref short r, nint d1, ref short w, ref Vector128<int> l0, ref Vector128<int> h0, ref Vector128<int> l1, ref Vector128<int> h1)
    {
        var wv = Vector128.LoadUnsafe(ref w);
        var c0 = Vector128.LoadUnsafe(ref r);
        var c1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1));
        h0 = SimdOps.MultiplyAddWideningUpper(h0, c0, wv);
        h1 = SimdOps.MultiplyAddWideningUpper(h1, c1, wv);
        var wl = wv.GetLower();
        l0 = SimdOps.MultiplyAddWideningLower(l0, c0, wl);
        l1 = SimdOps.MultiplyAddWideningLower(l1, c1, wl);
    }

    /// <summary>
    /// One output row of a 3x3 filter at unit horizontal stride and dilation for one block of 8 channels whose every
    /// channel shifts right (<see cref="BlockRequantization.OpAllRight"/>): tiles of 4 pixels share the 6 staged
    /// columns of each kernel row (6 loads and 24 SMLAL/SMLAL2 per kernel row and tile instead of 12 loads), the
    /// requantization's vectors stay in registers (<see cref="BlockRequantization.Pixels2Right"/>), the last 1-3 pixels
    /// run as one tile of <see cref="Tile3x3Right"/> (3) or <see cref="Tile3x3Right2"/> (1-2). r0..r2: the three kernel rows' staged taps of the row's first pixel;
    /// w: the block's 9 weight vectors, coutP apart.
    /// </summary>
    private static void Row3x3RightS1<TClamped>(ref short r0, ref short r1, ref short r2, nint pixStep, int n, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels) where TClamped : struct, Conv2D.IFlag
    {
        nint d2 = 2 * pixStep, d3 = 3 * pixStep, d4 = 4 * pixStep, d5 = 5 * pixStep, x = 0;
        ref short wk0 = ref w;
        ref short wk1 = ref Unsafe.Add(ref w, 3 * coutP);
        ref short wk2 = ref Unsafe.Add(ref w, 6 * coutP);
        int i = 0;
        for (; i <= n - 4; i += 4, x += d4)
        {
            Vector128<int> l0 = i0, h0 = i1, l1 = i0, h1 = i1, l2 = i0, h2 = i1, l3 = i0, h3 = i1;
            KernelRow4(ref Unsafe.Add(ref r0, x), pixStep, d2, d3, d4, d5, ref wk0, coutP, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            KernelRow4(ref Unsafe.Add(ref r1, x), pixStep, d2, d3, d4, d5, ref wk1, coutP, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            KernelRow4(ref Unsafe.Add(ref r2, x), pixStep, d2, d3, d4, d5, ref wk2, coutP, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Store4(BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value),
                BlockRequantization.Pixels2RightOrClamped(l2, h2, l3, h3, m0, m1, n0, n1, off, min, max, TClamped.Value), ref Unsafe.Add(ref o, i * cout), cout, channels, 4);
        }
        if (n - i == 3)
            Tile3x3Right<TClamped>(ref r0, ref r1, ref r2, x, pixStep, 2 * pixStep, 2 * pixStep,
                pixStep, ref w, coutP, i0, i1, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, i * cout), cout, channels, 3);
        else if (i < n)
            Tile3x3Right2<TClamped>(ref r0, ref r1, ref r2, x, n - i == 2 ? pixStep : 0,
                pixStep, ref w, coutP, i0, i1, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, i * cout), cout, channels, n - i);
    }

    /// <summary>
    /// <see cref="Row3x3RightS1"/> for any stride and dilation: tiles of 4 pixels, each tap one weight load, four
    /// activation loads and 8 SMLAL/SMLAL2; the last 1-3 pixels as in <see cref="Row3x3RightS1"/>.
    /// </summary>
    private static void Row3x3Right<TClamped>(ref short r0, ref short r1, ref short r2, nint pixStep, nint tapStep, int n, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels) where TClamped : struct, Conv2D.IFlag
    {
        nint d2 = 2 * pixStep, d3 = 3 * pixStep, d4 = 4 * pixStep, tap2 = 2 * tapStep, x = 0;
        ref short wk0 = ref w;
        ref short wk1 = ref Unsafe.Add(ref w, 3 * coutP);
        ref short wk2 = ref Unsafe.Add(ref w, 6 * coutP);
        int i = 0;
        for (; i <= n - 4; i += 4, x += d4)
        {
            Vector128<int> l0 = i0, h0 = i1, l1 = i0, h1 = i1, l2 = i0, h2 = i1, l3 = i0, h3 = i1;
            Tap4(ref Unsafe.Add(ref r0, x), pixStep, d2, d3, ref wk0, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r0, x + tapStep), pixStep, d2, d3, ref Unsafe.Add(ref wk0, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r0, x + tap2), pixStep, d2, d3, ref Unsafe.Add(ref wk0, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r1, x), pixStep, d2, d3, ref wk1, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r1, x + tapStep), pixStep, d2, d3, ref Unsafe.Add(ref wk1, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r1, x + tap2), pixStep, d2, d3, ref Unsafe.Add(ref wk1, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r2, x), pixStep, d2, d3, ref wk2, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r2, x + tapStep), pixStep, d2, d3, ref Unsafe.Add(ref wk2, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Tap4(ref Unsafe.Add(ref r2, x + tap2), pixStep, d2, d3, ref Unsafe.Add(ref wk2, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            Store4(BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value),
                BlockRequantization.Pixels2RightOrClamped(l2, h2, l3, h3, m0, m1, n0, n1, off, min, max, TClamped.Value), ref Unsafe.Add(ref o, i * cout), cout, channels, 4);
        }
        if (n - i == 3)
            Tile3x3Right<TClamped>(ref r0, ref r1, ref r2, x, pixStep, 2 * pixStep, 2 * pixStep,
                tapStep, ref w, coutP, i0, i1, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, i * cout), cout, channels, 3);
        else if (i < n)
            Tile3x3Right2<TClamped>(ref r0, ref r1, ref r2, x, n - i == 2 ? pixStep : 0,
                tapStep, ref w, coutP, i0, i1, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, i * cout), cout, channels, n - i);
    }

    /// <summary>
    /// One tile of 4 pixels (at x, x + d1, x + d2, x + d3 of the staged rows r0..r2) of a 3x3 filter for an 8-channel
    /// block that shifts right; stores the first <paramref name="valid"/> pixels (a row's last 1-3, the last repeated).
    /// </summary>
    private static void Tile3x3Right<TClamped>(ref short r0, ref short r1, ref short r2, nint x, nint d1, nint d2, nint d3, nint tapStep, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels, int valid) where TClamped : struct, Conv2D.IFlag
    {
        nint tap2 = 2 * tapStep;
        ref short wk0 = ref w;
        ref short wk1 = ref Unsafe.Add(ref w, 3 * coutP);
        ref short wk2 = ref Unsafe.Add(ref w, 6 * coutP);
        Vector128<int> l0 = i0, h0 = i1, l1 = i0, h1 = i1, l2 = i0, h2 = i1, l3 = i0, h3 = i1;
        Tap4(ref Unsafe.Add(ref r0, x), d1, d2, d3, ref wk0, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r0, x + tapStep), d1, d2, d3, ref Unsafe.Add(ref wk0, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r0, x + tap2), d1, d2, d3, ref Unsafe.Add(ref wk0, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r1, x), d1, d2, d3, ref wk1, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r1, x + tapStep), d1, d2, d3, ref Unsafe.Add(ref wk1, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r1, x + tap2), d1, d2, d3, ref Unsafe.Add(ref wk1, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r2, x), d1, d2, d3, ref wk2, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r2, x + tapStep), d1, d2, d3, ref Unsafe.Add(ref wk2, coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Tap4(ref Unsafe.Add(ref r2, x + tap2), d1, d2, d3, ref Unsafe.Add(ref wk2, 2 * coutP), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
        Store4(BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value),
            BlockRequantization.Pixels2RightOrClamped(l2, h2, l3, h3, m0, m1, n0, n1, off, min, max, TClamped.Value), ref o, cout, channels, valid);
    }

    /// <summary><see cref="Tile3x3Right"/> for 2 pixels (at x and x + d1); stores the first <paramref name="valid"/>.</summary>
    private static void Tile3x3Right2<TClamped>(ref short r0, ref short r1, ref short r2, nint x, nint d1, nint tapStep, ref short w, nint coutP,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels, int valid) where TClamped : struct, Conv2D.IFlag
    {
        nint tap2 = 2 * tapStep;
        ref short wk0 = ref w;
        ref short wk1 = ref Unsafe.Add(ref w, 3 * coutP);
        ref short wk2 = ref Unsafe.Add(ref w, 6 * coutP);
        Vector128<int> l0 = i0, h0 = i1, l1 = i0, h1 = i1;
        Tap2(ref Unsafe.Add(ref r0, x), d1, ref wk0, ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r0, x + tapStep), d1, ref Unsafe.Add(ref wk0, coutP), ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r0, x + tap2), d1, ref Unsafe.Add(ref wk0, 2 * coutP), ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r1, x), d1, ref wk1, ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r1, x + tapStep), d1, ref Unsafe.Add(ref wk1, coutP), ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r1, x + tap2), d1, ref Unsafe.Add(ref wk1, 2 * coutP), ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r2, x), d1, ref wk2, ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r2, x + tapStep), d1, ref Unsafe.Add(ref wk2, coutP), ref l0, ref h0, ref l1, ref h1);
        Tap2(ref Unsafe.Add(ref r2, x + tap2), d1, ref Unsafe.Add(ref wk2, 2 * coutP), ref l0, ref h0, ref l1, ref h1);
        var v = BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value);
        BlockRequantization.Store(v, 0, ref o, channels);
        if (valid > 1)
            BlockRequantization.Store(v, 1, ref Unsafe.Add(ref o, cout), channels);
    }

    /// <summary>Stores 4 pixels' 8-channel outputs (bytes 0-7 and 8-15 of v01, then of v23), outStride apart: the first <paramref name="valid"/> pixels, each its first <paramref name="channels"/> bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store4(Vector128<sbyte> v01, Vector128<sbyte> v23, ref sbyte o, nint outStride, int channels, int valid)
    {
        if (channels == 8 && valid == 4)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), v01.AsInt64().GetElement(0));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, outStride)), v01.AsInt64().GetElement(1));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, 2 * outStride)), v23.AsInt64().GetElement(0));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, 3 * outStride)), v23.AsInt64().GetElement(1));
            return;
        }
        BlockRequantization.Store(v01, 0, ref o, channels);
        if (valid > 1) BlockRequantization.Store(v01, 1, ref Unsafe.Add(ref o, outStride), channels);
        if (valid > 2) BlockRequantization.Store(v23, 0, ref Unsafe.Add(ref o, 2 * outStride), channels);
        if (valid > 3) BlockRequantization.Store(v23, 1, ref Unsafe.Add(ref o, 3 * outStride), channels);
    }
}
