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

    /// <summary>
    /// The arm64 path for Kh x Kw &gt; 1 over widened rows (no horizontal dilation, any Cout), for the Pi 4
    /// and Pi 5 alike: the input rows are widened to int16 into stack rows that already hold the padding
    /// (the zero point, cancelling against the folded bias as in the im2col path), so a kernel row's
    /// Kw x Cin taps lie contiguous for every output pixel. Output channels sit in lanes, 8 per int16
    /// weight vector (<see cref="PackedFilter.RowTaps"/>); eight taps of a pixel are loaded as one
    /// int16 vector and each is multiplied against the 8 channels' weights by SMLAL/SMLAL2 by lane
    /// (<see cref="SimdOps.MultiplyAddLaneLower"/>): exact int16 products summed in int32, so the
    /// accumulator equals the reference's. Tiles of 4 output pixels x 8 channels share every weight
    /// load; no horizontal sums, no per-tap bounds checks. The channel tail runs in-vector (zero weights)
    /// and stores only its real channels. On x64 the same kernel runs through the emulated primitives
    /// (tests only: the dispatcher takes the AVX2 paths there).
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged element is written before it is read; the 8 spare ones are cleared
    internal static bool TryEvalS8RowsLanes(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? taps = packed.RowTaps;
        int cout = outShape.D3, coutP = packed.CoutPadded;
        if (!Vector128.IsHardwareAccelerated || taps is null || p.DilationW != 1 || packed.Cout != cout || (uint)(128 - p.InputOffset) > 255)
            return false;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        int rowTaps = kw * cin;
        int span = (outW - 1) * p.StrideW + kw;
        int rowLen = span * cin;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        bool wholeImage = paddedH * rowLen + 8 <= LanesStackLimit;
        if (!wholeImage && kh * rowLen + 8 > LanesStackLimit)
            return false;
        // 8 spare elements: the last pixel's last 8-tap load may run past its taps; lanes past the taps are
        // never multiplied, the loads only have to stay inside the buffer.
        Span<short> rows = stackalloc short[(wholeImage ? paddedH : kh) * rowLen + 8];
        rows.Slice(rows.Length - 8).Clear();
        nint segStride = wholeImage ? (nint)p.DilationH * rowLen : rowLen;
        ref short rowRef = ref MemoryMarshal.GetReference(rows);
        short zeroPoint = (short)(-p.InputOffset);
        ref short w = ref MemoryMarshal.GetArrayDataReference(taps);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var rq = new LanesRequantization(multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        int pixelStep = p.StrideW * cin;
        for (int b = 0; b < inShape.D0; b++)
        {
            if (wholeImage)
                for (int y = 0; y < paddedH; y++)
                    StageRowS16(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, ref Unsafe.Add(ref rowRef, y * rowLen));
            for (int oy = 0; oy < outH; oy++)
            {
                ref short top = ref rowRef;
                if (wholeImage)
                    top = ref Unsafe.Add(ref rowRef, oy * p.StrideH * rowLen);
                else
                    for (int ky = 0; ky < kh; ky++)
                        StageRowS16(p, ref src, b, oy * p.StrideH - p.PadTop + ky * p.DilationH, inH, inW, cin, span, lo, hi, zeroPoint,
                            ref Unsafe.Add(ref rowRef, ky * rowLen));
                ref sbyte o = ref Unsafe.Add(ref dst, (b * outH + oy) * outW * cout);
                int ox = 0;
                for (; ox <= outW - 4; ox += 4)
                {
                    ref short x0 = ref Unsafe.Add(ref top, ox * pixelStep);
                    for (int j = 0; j < coutP; j += 8)
                        LanesTile4(ref x0, pixelStep, kh, segStride, rowTaps, ref Unsafe.Add(ref w, j), coutP, ref Unsafe.Add(ref init, j),
                            rq, j, cout, ref Unsafe.Add(ref o, ox * cout), cout);
                }
                for (; ox < outW; ox++)
                {
                    ref short x0 = ref Unsafe.Add(ref top, ox * pixelStep);
                    for (int j = 0; j < coutP; j += 8)
                        LanesTile1(ref x0, kh, segStride, rowTaps, ref Unsafe.Add(ref w, j), coutP, ref Unsafe.Add(ref init, j),
                            rq, j, cout, ref Unsafe.Add(ref o, ox * cout));
                }
            }
        }
        return true;
    }

    /// <summary>4 pixels (xStride apart) x 8 channels: Kh segments of rowTaps taps, 8 taps per activation load.</summary>
    private static void LanesTile4(ref short x0, nint xStride, int segments, nint segStride, int rowTaps, ref short w, int coutP,
        ref int init, in LanesRequantization rq, int j, int cout, ref sbyte o, nint outStride)
    {
        var i0 = Vector128.LoadUnsafe(ref init);
        var i1 = Vector128.LoadUnsafe(ref init, 4);
        Vector128<int> a00 = i0, a01 = i1, a10 = i0, a11 = i1, a20 = i0, a21 = i1, a30 = i0, a31 = i1;
        nint wStep = coutP;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short ws = ref Unsafe.Add(ref w, s * rowTaps * wStep);
            for (int t = 0; t < rowTaps; t += 8)
            {
                var v0 = Vector128.LoadUnsafe(ref r0, (nuint)t);
                var v1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r0, xStride), (nuint)t);
                var v2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r0, 2 * xStride), (nuint)t);
                var v3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref r0, 3 * xStride), (nuint)t);
                Vector128<short> wv;
                ref short wt = ref Unsafe.Add(ref ws, t * wStep);
                int n = rowTaps - t;
                // Written out per lane (a helper taking the accumulators by reference would keep them in memory).
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 0 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 0);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 0);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 0);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 0);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 0);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 0);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 0);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 0);
                if (n <= 1) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 1 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 1);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 1);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 1);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 1);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 1);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 1);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 1);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 1);
                if (n <= 2) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 2 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 2);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 2);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 2);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 2);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 2);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 2);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 2);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 2);
                if (n <= 3) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 3 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 3);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 3);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 3);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 3);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 3);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 3);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 3);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 3);
                if (n <= 4) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 4 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 4);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 4);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 4);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 4);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 4);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 4);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 4);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 4);
                if (n <= 5) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 5 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 5);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 5);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 5);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 5);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 5);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 5);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 5);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 5);
                if (n <= 6) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 6 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 6);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 6);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 6);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 6);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 6);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 6);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 6);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 6);
                if (n <= 7) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 7 * wStep));
                a00 = SimdOps.MultiplyAddLaneLower(a00, wv, v0, 7);
                a01 = SimdOps.MultiplyAddLaneUpper(a01, wv, v0, 7);
                a10 = SimdOps.MultiplyAddLaneLower(a10, wv, v1, 7);
                a11 = SimdOps.MultiplyAddLaneUpper(a11, wv, v1, 7);
                a20 = SimdOps.MultiplyAddLaneLower(a20, wv, v2, 7);
                a21 = SimdOps.MultiplyAddLaneUpper(a21, wv, v2, 7);
                a30 = SimdOps.MultiplyAddLaneLower(a30, wv, v3, 7);
                a31 = SimdOps.MultiplyAddLaneUpper(a31, wv, v3, 7);
            }
        }
        rq.Store(a00, a01, j, cout, ref o);
        rq.Store(a10, a11, j, cout, ref Unsafe.Add(ref o, outStride));
        rq.Store(a20, a21, j, cout, ref Unsafe.Add(ref o, 2 * outStride));
        rq.Store(a30, a31, j, cout, ref Unsafe.Add(ref o, 3 * outStride));
    }

    /// <summary>One pixel x 8 channels (the row's last pixels).</summary>
    private static void LanesTile1(ref short x0, int segments, nint segStride, int rowTaps, ref short w, int coutP,
        ref int init, in LanesRequantization rq, int j, int cout, ref sbyte o)
    {
        var a0 = Vector128.LoadUnsafe(ref init);
        var a1 = Vector128.LoadUnsafe(ref init, 4);
        nint wStep = coutP;
        for (int s = 0; s < segments; s++)
        {
            ref short r0 = ref Unsafe.Add(ref x0, s * segStride);
            ref short ws = ref Unsafe.Add(ref w, s * rowTaps * wStep);
            for (int t = 0; t < rowTaps; t += 8)
            {
                var v = Vector128.LoadUnsafe(ref r0, (nuint)t);
                ref short wt = ref Unsafe.Add(ref ws, t * wStep);
                int n = rowTaps - t;
                Vector128<short> wv;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 0 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 0);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 0);
                if (n <= 1) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 1 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 1);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 1);
                if (n <= 2) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 2 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 2);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 2);
                if (n <= 3) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 3 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 3);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 3);
                if (n <= 4) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 4 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 4);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 4);
                if (n <= 5) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 5 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 5);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 5);
                if (n <= 6) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 6 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 6);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 6);
                if (n <= 7) continue;
                wv = Vector128.LoadUnsafe(ref Unsafe.Add(ref wt, 7 * wStep));
                a0 = SimdOps.MultiplyAddLaneLower(a0, wv, v, 7);
                a1 = SimdOps.MultiplyAddLaneUpper(a1, wv, v, 7);
            }
        }
        rq.Store(a0, a1, j, cout, ref o);
    }

    /// <summary>Requantization of 8 channels' accumulators (two vectors of 4) and their store; a channel tail stores only its real channels.</summary>
    private readonly ref struct LanesRequantization(ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax)
    {
        private readonly ReadOnlySpan<int> _m = multipliers;
        private readonly ReadOnlySpan<int> _s = shifts;
        private readonly Vector128<int> _off = Vector128.Create(outputOffset);
        private readonly Vector128<int> _min = Vector128.Create(activationMin);
        private readonly Vector128<int> _max = Vector128.Create(activationMax);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Store(Vector128<int> a0, Vector128<int> a1, int j, int cout, ref sbyte o)
        {
            if (j + 8 <= cout)
            {
                ref int m = ref MemoryMarshal.GetReference(_m);
                ref int s = ref MemoryMarshal.GetReference(_s);
                var r0 = SimdOps.RequantizeClamp(a0, Vector128.LoadUnsafe(ref m, (nuint)j), Vector128.LoadUnsafe(ref s, (nuint)j), _off, _min, _max);
                var r1 = SimdOps.RequantizeClamp(a1, Vector128.LoadUnsafe(ref m, (nuint)j + 4), Vector128.LoadUnsafe(ref s, (nuint)j + 4), _off, _min, _max);
                var bytes = Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128<short>.Zero);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, j)), bytes.AsInt64().ToScalar());
                return;
            }
            StoreTail(a0, a1, j, cout, ref o);
        }

        [MethodImpl(MethodImplOptions.NoInlining)]
        private void StoreTail(Vector128<int> a0, Vector128<int> a1, int j, int cout, ref sbyte o)
        {
            Span<int> ms = stackalloc int[16];
            ms.Clear();
            for (int c = j; c < cout; c++)
            {
                ms[c - j] = _m[c];
                ms[8 + c - j] = _s[c];
            }
            var r0 = SimdOps.RequantizeClamp(a0, Vector128.Create(ms.Slice(0, 4)), Vector128.Create(ms.Slice(8, 4)), _off, _min, _max);
            var r1 = SimdOps.RequantizeClamp(a1, Vector128.Create(ms.Slice(4, 4)), Vector128.Create(ms.Slice(12, 4)), _off, _min, _max);
            long bytes = Vector128.Narrow(Vector128.Narrow(r0, r1), Vector128<short>.Zero).AsInt64().ToScalar();
            for (int c = j; c < cout; c++, bytes >>= 8)
                Unsafe.Add(ref o, c) = (sbyte)bytes;
        }
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
        for (; i <= n - 16; i += 16)
        {
            var v = Vector128.LoadUnsafe(ref from, (nuint)i);
            Vector128.WidenLower(v).StoreUnsafe(ref to, (nuint)i);
            Vector128.WidenUpper(v).StoreUnsafe(ref to, (nuint)i + 8);
        }
        for (; i < n; i++)
            Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
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
