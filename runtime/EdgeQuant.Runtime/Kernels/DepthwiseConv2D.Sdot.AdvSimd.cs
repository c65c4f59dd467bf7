using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8RowsSdot"/>: the quadruplet rows and one padded input row.</summary>
    private const int SdotStackLimit = 49152;

    /// <summary>
    /// The Pi 5 (Dp) depthwise path, depth multiplier 1, Kw &lt;= 4, any Cout, every channel shifting right
    /// (<see cref="BlockRequantization.OpAllRight"/>): SDOT over the taps of a kernel row packed in fours per channel.
    /// Each input row an output row reads is staged once (a ring of the (Kh - 1) x DilationH + 1 rows) as a row of
    /// quadruplets: for every output column and channel the 4 bytes of that channel at the column's Kw taps (taps past
    /// Kw repeat the first, against zero weights), built from 4 loads of 16 channels by two rounds of ZIP1/ZIP2, the
    /// padding already in it (the zero point, cancelling against the folded bias). The filter is packed once in the same
    /// layout (<see cref="PackedFilter.Quads"/>, [Kh, CoutPadded, 4]). Per block of 8 channels and tile of 4 output pixels,
    /// each kernel row is 2 weight loads, 8 activation loads and 8 SDOT (Vd.4S += Vn.16B . Vm.16B, 4 channels x 4 taps):
    /// a 3x3 filter's 9 x 8 x 4 MACs in 24 SDOT instead of 72 SMLAL/SMLAL2, exact int32 sums like the reference's. The
    /// requantization is the right-shift form with its vectors in registers; a row's last 1-2 pixels run as a 2-pixel tile, 3 as a 3-pixel
    /// tile; a channel tail's block runs in-vector against zero weights and stores only
    /// its real channels. On x64 (tests) and on a CPU without Dp the same code runs through <see cref="SimdOps.DotProduct"/>'s
    /// other bodies and a scalar staging. Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged byte that meets a non-zero weight is written before it is read
    internal static bool TryEvalS8RowsSdot(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        sbyte[]? quads = packed.Quads;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3, coutP = packed.CoutPadded;
        if (!Vector128.IsHardwareAccelerated || quads is null || p.DepthMultiplier != 1 || cout != cin || packed.Cout != cout
            || packed.K != kh * kw || packed.QuadRowTaps != kw || kw > 4 || kh > LanesMaxKh || (uint)(128 - p.InputOffset) > 255
            || !BlockRequantization.OpAllRight(shifts.Slice(0, cout), p.OutputOffset))
            return false;
        int cq = (cin + 15) & ~15; // channel stride of a quadruplet row: whole 16-channel groups for the zips
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        long quadRow = (long)outW * cq * 4;
        long rowBytes = (long)span * cin + 16; // 16 spare bytes: the last column's last group reads past its channels
        int window = (kh - 1) * p.DilationH + 1;
        if (window * quadRow + rowBytes > SdotStackLimit)
            return false;
        int qLen = (int)quadRow;
        Span<sbyte> staged = stackalloc sbyte[window * qLen];
        Span<sbyte> row = stackalloc sbyte[(int)rowBytes];
        row.Slice((int)rowBytes - 16).Clear();
        Span<int> slotRow = stackalloc int[window];
        Span<int> segOff = stackalloc int[kh];
        // Multipliers and shifts padded to whole blocks once (padding lanes: multiplier 0, shift -1; never stored).
        Span<int> rqs = stackalloc int[2 * coutP];
        multipliers.Slice(0, cout).CopyTo(rqs);
        rqs.Slice(cout, coutP - cout).Clear();
        shifts.Slice(0, cout).CopyTo(rqs.Slice(coutP));
        rqs.Slice(coutP + cout).Fill(-1);
        ref int rqRef = ref MemoryMarshal.GetReference(rqs);
        ref sbyte stagedRef = ref MemoryMarshal.GetReference(staged);
        ref int segRef = ref MemoryMarshal.GetReference(segOff);
        ref sbyte wRef = ref MemoryMarshal.GetArrayDataReference(quads);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        sbyte zeroPoint = (sbyte)(-p.InputOffset);
        var off16 = Vector128.Create((short)p.OutputOffset);
        bool clamped = BlockRequantization.ClampsNegatives(p.OutputOffset, p.ActivationMin);
        var min8 = Vector128.Create((sbyte)p.ActivationMin);
        var max8 = Vector128.Create((sbyte)p.ActivationMax);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        for (int b = 0; b < inShape.D0; b++)
        {
            slotRow.Fill(-1);
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ky = 0; ky < kh; ky++)
                {
                    int y = oy * p.StrideH + ky * p.DilationH, s = y % window;
                    if (slotRow[s] != y)
                    {
                        StageQuadRow(p, ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, zeroPoint, row, kw, outW, cq, ref Unsafe.Add(ref stagedRef, s * qLen));
                        slotRow[s] = y;
                    }
                    segOff[ky] = s * qLen;
                }
                ref sbyte o = ref Unsafe.Add(ref dst, (nint)(b * outH + oy) * outW * cout);
                // Under a fused ReLU the requantization drops its fixup (BlockRequantization.Pixels2RightClamped).
                if (kh == 3 && clamped)
                    SdotRow<Conv2D.Yes, Conv2D.Yes>(ref stagedRef, ref segRef, kh, (nint)cq * 4, outW, ref wRef, (nint)coutP * 4, ref init, ref rqRef, coutP, off16, min8, max8, ref o, cout);
                else if (kh == 3)
                    SdotRow<Conv2D.Yes, Conv2D.No>(ref stagedRef, ref segRef, kh, (nint)cq * 4, outW, ref wRef, (nint)coutP * 4, ref init, ref rqRef, coutP, off16, min8, max8, ref o, cout);
                else if (clamped)
                    SdotRow<Conv2D.No, Conv2D.Yes>(ref stagedRef, ref segRef, kh, (nint)cq * 4, outW, ref wRef, (nint)coutP * 4, ref init, ref rqRef, coutP, off16, min8, max8, ref o, cout);
                else
                    SdotRow<Conv2D.No, Conv2D.No>(ref stagedRef, ref segRef, kh, (nint)cq * 4, outW, ref wRef, (nint)coutP * 4, ref init, ref rqRef, coutP, off16, min8, max8, ref o, cout);
            }
        }
        return true;
    }

    /// <summary>
    /// One output row, block of 8 channels by block: the block's folded bias, multipliers and shifts loaded once, then tiles
    /// of 4 pixels, each kernel row ky read from the staged quadruplet row at segOff[ky] (pixels pix bytes apart) against the
    /// block's 2 weight vectors at ky x wRow; the last 1-2 pixels as a 2-pixel tile, 3 as a 3-pixel tile.
    /// <typeparamref name="TThree"/>: Kh = 3, the kernel rows unrolled.
    /// </summary>
    private static void SdotRow<TThree, TClamped>(ref sbyte x, ref int segOff, int kh, nint pix, int n, ref sbyte w, nint wRow, ref int init, ref int rq, int coutP,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, int cout) where TThree : struct, Conv2D.IFlag where TClamped : struct, Conv2D.IFlag
    {
        nint s0 = segOff, s1 = TThree.Value ? Unsafe.Add(ref segOff, 1) : 0, s2 = TThree.Value ? Unsafe.Add(ref segOff, 2) : 0;
        for (int c = 0; c < coutP; c += 8)
        {
            var i0 = Vector128.LoadUnsafe(ref init, (nuint)c);
            var i1 = Vector128.LoadUnsafe(ref init, (nuint)c + 4);
            var m0 = Vector128.LoadUnsafe(ref rq, (nuint)c);
            var m1 = Vector128.LoadUnsafe(ref rq, (nuint)c + 4);
            var n0 = Vector128.LoadUnsafe(ref rq, (nuint)(coutP + c));
            var n1 = Vector128.LoadUnsafe(ref rq, (nuint)(coutP + c + 4));
            int channels = System.Math.Min(8, cout - c);
            ref sbyte xc = ref Unsafe.Add(ref x, c * 4);
            ref sbyte wc = ref Unsafe.Add(ref w, c * 4);
            ref sbyte oc = ref Unsafe.Add(ref o, c);
            // Kh = 3: the block's 6 weight vectors stay in registers for the row.
            Vector128<sbyte> wa0 = default, wb0 = default, wa1 = default, wb1 = default, wa2 = default, wb2 = default;
            if (TThree.Value)
            {
                wa0 = Vector128.LoadUnsafe(ref wc);
                wb0 = Vector128.LoadUnsafe(ref wc, 16);
                wa1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref wc, wRow));
                wb1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref wc, wRow), 16);
                wa2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref wc, 2 * wRow));
                wb2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref wc, 2 * wRow), 16);
            }
            int i = 0;
            nint d2 = 2 * pix, d3 = 3 * pix;
            for (; i <= n - 4; i += 4)
            {
                SdotTile<TThree, Conv2D.Yes>(ref Unsafe.Add(ref xc, i * pix), s0, s1, s2, ref segOff, kh, pix, d2, d3, ref wc, wRow, wa0, wb0, wa1, wb1, wa2, wb2, i0, i1,
                    out var l0, out var h0, out var l1, out var h1, out var l2, out var h2, out var l3, out var h3);
                Store4(BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value),
                    BlockRequantization.Pixels2RightOrClamped(l2, h2, l3, h3, m0, m1, n0, n1, off, min, max, TClamped.Value), ref Unsafe.Add(ref oc, i * cout), cout, channels, 4);
            }
            if (n - i is 1 or 2)
            {
                // The row's last 1-2 pixels: a 2-pixel tile (one pixel repeated when alone, not stored).
                nint e1 = pix * (n - i - 1);
                SdotTile2(ref Unsafe.Add(ref xc, i * pix), ref segOff, kh, e1, ref wc, wRow, i0, i1, out var l0, out var h0, out var l1, out var h1);
                var v = BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value);
                BlockRequantization.Store(v, 0, ref Unsafe.Add(ref oc, i * cout), channels);
                if (n - i == 2)
                    BlockRequantization.Store(v, 1, ref Unsafe.Add(ref oc, (i + 1) * cout), channels);
            }
            else if (i < n)
            {
                // The row's last 3 pixels: a 3-pixel tile (the fourth place's accumulators stay the bias and are not stored).
                SdotTile<TThree, Conv2D.No>(ref Unsafe.Add(ref xc, i * pix), s0, s1, s2, ref segOff, kh, pix, d2, 0,
                    ref wc, wRow, wa0, wb0, wa1, wb1, wa2, wb2, i0, i1, out var l0, out var h0, out var l1, out var h1, out var l2, out var h2, out var l3, out var h3);
                Store4(BlockRequantization.Pixels2RightOrClamped(l0, h0, l1, h1, m0, m1, n0, n1, off, min, max, TClamped.Value),
                    BlockRequantization.Pixels2RightOrClamped(l2, h2, l3, h3, m0, m1, n0, n1, off, min, max, TClamped.Value), ref Unsafe.Add(ref oc, i * cout), cout, channels, 3);
            }
        }
    }

    /// <summary>
    /// The accumulators of one tile of 4 pixels (quadruplets at x, x + d1, x + d2, x + d3 of each kernel row's staged row):
    /// Kh = 3 against the weight vectors given (wa0..wb2), else against those loaded from w, wRow apart. Without
    /// <typeparamref name="TFour"/>, a tile of the first 3 pixels (a 7-wide row's last 3): l3 and h3 stay i0 and i1.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotTile<TThree, TFour>(ref sbyte x, nint s0, nint s1, nint s2, ref int segOff, int kh, nint d1, nint d2, nint d3, ref sbyte w, nint wRow,
        Vector128<sbyte> wa0, Vector128<sbyte> wb0, Vector128<sbyte> wa1, Vector128<sbyte> wb1, Vector128<sbyte> wa2, Vector128<sbyte> wb2, Vector128<int> i0, Vector128<int> i1, out Vector128<int> l0, out Vector128<int> h0, out Vector128<int> l1, out Vector128<int> h1,
        out Vector128<int> l2, out Vector128<int> h2, out Vector128<int> l3, out Vector128<int> h3) where TThree : struct, Conv2D.IFlag where TFour : struct, Conv2D.IFlag
    {
        l0 = i0; h0 = i1; l1 = i0; h1 = i1; l2 = i0; h2 = i1; l3 = i0; h3 = i1;
        if (TThree.Value)
        {
            SdotTap<TFour>(ref Unsafe.Add(ref x, s0), d1, d2, d3, wa0, wb0, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            SdotTap<TFour>(ref Unsafe.Add(ref x, s1), d1, d2, d3, wa1, wb1, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            SdotTap<TFour>(ref Unsafe.Add(ref x, s2), d1, d2, d3, wa2, wb2, ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            return;
        }
        ref sbyte wk = ref w;
        for (int ky = 0; ky < kh; ky++)
        {
            SdotTap<TFour>(ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky)), d1, d2, d3, Vector128.LoadUnsafe(ref wk), Vector128.LoadUnsafe(ref wk, 16), ref l0, ref h0, ref l1, ref h1, ref l2, ref h2, ref l3, ref h3);
            wk = ref Unsafe.Add(ref wk, wRow);
        }
    }

    /// <summary>The accumulators of a tile of 2 pixels (quadruplets at x and x + d1 of each kernel row's staged row).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotTile2(ref sbyte x, ref int segOff, int kh, nint d1, ref sbyte w, nint wRow, Vector128<int> i0, Vector128<int> i1,
        out Vector128<int> l0, out Vector128<int> h0, out Vector128<int> l1, out Vector128<int> h1)
    {
        l0 = i0; h0 = i1; l1 = i0; h1 = i1;
        ref sbyte wk = ref w;
        for (int ky = 0; ky < kh; ky++)
        {
            ref sbyte r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
            var wa = Vector128.LoadUnsafe(ref wk);
            var wb = Vector128.LoadUnsafe(ref wk, 16);
            l0 = SimdOps.DotProduct(l0, Vector128.LoadUnsafe(ref r), wa);
            h0 = SimdOps.DotProduct(h0, Vector128.LoadUnsafe(ref r, 16), wb);
            l1 = SimdOps.DotProduct(l1, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1)), wa);
            h1 = SimdOps.DotProduct(h1, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1), 16), wb);
            wk = ref Unsafe.Add(ref wk, wRow);
        }
    }

    /// <summary>
    /// One kernel row of a 4-pixel tile: the block's 2 weight vectors of the row against the pixels' quadruplets at r, r + d1,
    /// r + d2, r + d3 (without <typeparamref name="TFour"/>, the first three pixels only: l3 and h3 are left as they are).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotTap<TFour>(ref sbyte r, nint d1, nint d2, nint d3, Vector128<sbyte> wa, Vector128<sbyte> wb, ref Vector128<int> l0, ref Vector128<int> h0, ref Vector128<int> l1,
        ref Vector128<int> h1, ref Vector128<int> l2, ref Vector128<int> h2, ref Vector128<int> l3, ref Vector128<int> h3) where TFour : struct, Conv2D.IFlag
    {
        l0 = SimdOps.DotProduct(l0, Vector128.LoadUnsafe(ref r), wa);
        h0 = SimdOps.DotProduct(h0, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, 16)), wb);
        l1 = SimdOps.DotProduct(l1, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1)), wa);
        h1 = SimdOps.DotProduct(h1, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1 + 16)), wb);
        l2 = SimdOps.DotProduct(l2, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2)), wa);
        h2 = SimdOps.DotProduct(h2, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2 + 16)), wb);
        if (!TFour.Value)
            return;
        l3 = SimdOps.DotProduct(l3, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3)), wa);
        h3 = SimdOps.DotProduct(h3, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3 + 16)), wb);
    }

    /// <summary>
    /// Stages padded input row iy (outside the image: the zero point throughout) as a row of quadruplets, [outW, cq, 4]:
    /// output column ox's channel c holds the input bytes of channel c at the column's Kw taps (ox x StrideW + kx x
    /// DilationW of the padded row), taps past Kw repeating the first. Channels past Cin hold whatever the loads read
    /// (they meet zero weights or are never read).
    /// </summary>
    private static void StageQuadRow(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
        sbyte zeroPoint, Span<sbyte> row, int kw, int outW, int cq, ref sbyte q)
    {
        if ((uint)iy >= (uint)inH)
        {
            MemoryMarshal.CreateSpan(ref q, outW * cq * 4).Fill(zeroPoint);
            return;
        }
        // The padded int8 row first (zero point in the padding), then the quadruplets from it.
        row.Slice(0, lo * cin).Fill(zeroPoint);
        MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin), (hi - lo) * cin).CopyTo(row.Slice(lo * cin));
        row.Slice(hi * cin, (span - hi) * cin).Fill(zeroPoint);
        ref sbyte r = ref MemoryMarshal.GetReference(row);
        nint t1 = (nint)System.Math.Min(1, kw - 1) * p.DilationW * cin, t2 = (nint)System.Math.Min(2, kw - 1) * p.DilationW * cin;
        nint t3 = kw > 3 ? (nint)3 * p.DilationW * cin : 0, step = (nint)p.StrideW * cin;
        if (AdvSimd.Arm64.IsSupported)
        {
            for (int ox = 0; ox < outW; ox++, r = ref Unsafe.Add(ref r, step))
            {
                // The column's pointer and the quadruplets' pointer step once per 16 channels; the taps are register offsets.
                ref sbyte qg = ref Unsafe.Add(ref q, (nint)ox * cq * 4);
                ref sbyte rg = ref r;
                for (int g = 0; g < cq; g += 16, rg = ref Unsafe.Add(ref rg, 16), qg = ref Unsafe.Add(ref qg, 64))
                {
                    var a = Vector128.LoadUnsafe(ref rg);
                    var bb = Vector128.LoadUnsafe(ref Unsafe.Add(ref rg, t1));
                    var c = Vector128.LoadUnsafe(ref Unsafe.Add(ref rg, t2));
                    var d = Vector128.LoadUnsafe(ref Unsafe.Add(ref rg, t3));
                    var abLo = AdvSimd.Arm64.ZipLow(a, bb).AsInt16();
                    var abHi = AdvSimd.Arm64.ZipHigh(a, bb).AsInt16();
                    var cdLo = AdvSimd.Arm64.ZipLow(c, d).AsInt16();
                    var cdHi = AdvSimd.Arm64.ZipHigh(c, d).AsInt16();
                    AdvSimd.Arm64.ZipLow(abLo, cdLo).AsSByte().StoreUnsafe(ref qg);
                    AdvSimd.Arm64.ZipHigh(abLo, cdLo).AsSByte().StoreUnsafe(ref qg, 16);
                    AdvSimd.Arm64.ZipLow(abHi, cdHi).AsSByte().StoreUnsafe(ref qg, 32);
                    AdvSimd.Arm64.ZipHigh(abHi, cdHi).AsSByte().StoreUnsafe(ref qg, 48);
                }
            }
            return;
        }
        for (int ox = 0; ox < outW; ox++, r = ref Unsafe.Add(ref r, step))
            for (int c = 0; c < cq; c++)
            {
                ref sbyte qc = ref Unsafe.Add(ref q, ((nint)ox * cq + c) * 4);
                qc = Unsafe.Add(ref r, c);
                Unsafe.Add(ref qc, 1) = Unsafe.Add(ref r, t1 + c);
                Unsafe.Add(ref qc, 2) = Unsafe.Add(ref r, t2 + c);
                Unsafe.Add(ref qc, 3) = Unsafe.Add(ref r, t3 + c);
            }
    }
}
