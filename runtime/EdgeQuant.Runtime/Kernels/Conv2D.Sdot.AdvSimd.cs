using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8RowsSdot"/>.</summary>
    private const int SdotStackLimit = 32768;

    /// <summary>Most tap runs (kernel rows, or taps when dilated horizontally) of <see cref="TryEvalS8RowsSdot"/> (their table lives on the stack).</summary>
    private const int SdotMaxSegments = 64;

    /// <summary>
    /// The Pi 5 (Dp) path for every Conv2D whose kernel-row taps are contiguous (DilationW 1, or Kw 1), or with horizontal
    /// dilation whose taps hold whole quadruplets (Cin a multiple of 4; the runs are then the Kh x Kw taps): a
    /// register-blocked SDOT micro-kernel with output channels in lanes. The filter is packed once
    /// (<see cref="PackedFilter.Quads"/>) as quadruplets of consecutive kernel-row taps for 4 channels per
    /// 16-byte vector; SDOT by element multiplies one such vector with one quadruplet of a pixel's taps, so a
    /// tile of 4 output pixels x 8 channels keeps 8 int32 accumulators in registers and loads each weight
    /// vector once for the 4 pixels: per 16 taps, 4 activation loads, 8 weight loads and 32 SDOTs (512 MACs).
    /// No horizontal sums. The activations are int8 rows: a 1x1 convolution with unit strides and no padding
    /// reads the NHWC pixels in place (the last pixels, whose 16-byte loads would pass the end of the input,
    /// from a small stack copy); everything else reads rows staged on the stack that already hold the padding
    /// (the zero point, cancelling against the folded bias), the whole padded image when it fits, else a ring
    /// of the rows an output row reads, each input row copied once. The taps of a kernel row past its last
    /// quadruplet, and the channels past Cout (the last 8-channel block of a channel tail), meet zero weights;
    /// only real channels are stored. A row's last 1-3 pixels run as a tile with the last pixel repeated.
    /// Exact int8 products summed in int32 from the folded bias: the reference's accumulator.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged byte that is read is written first (spare bytes cleared)
    internal static bool TryEvalS8RowsSdot(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        sbyte[]? quads = packed.Quads;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        // A one-channel image (a stem): quadruplet rows, 4 pixels per load (Conv2D.Cin1.Sdot.AdvSimd.cs).
        if (cin == 1 && TryEvalS8Cin1Sdot(p, input, inShape, filterShape, packed, multipliers, shifts, output, outShape))
            return true;
        // Horizontal dilation: every kernel tap's Cin values are one run of whole quadruplets (Cin a multiple of 4), DilationW
        // pixels from the previous column's, so the runs are the Kh x Kw taps instead of the Kh kernel rows.
        bool tapRuns = kw > 1 && p.DilationW != 1;
        int segments = tapRuns ? kh * kw : kh;
        if (!Vector128.IsHardwareAccelerated || quads is null || packed.Cout != cout || packed.QuadRowTaps != kw * cin
            || packed.K != kh * kw * cin || (tapRuns && cin % 4 != 0) || segments > SdotMaxSegments || (uint)(128 - p.InputOffset) > 255)
            return false;
        int q = tapRuns ? cin / 4 : (kw * cin + 3) / 4;
        Span<int> segOff = stackalloc int[segments];
        ref int segRef = ref MemoryMarshal.GetReference(segOff);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var rows = new SdotRows(packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, q, segments);

        if (kh == 1 && kw == 1 && p.StrideH == 1 && p.StrideW == 1 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0)
        {
            RunSdotPointwise(input, inShape.D0 * inH * inW, cin, packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, output, cout);
            return true;
        }

        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        long rowLen = (long)span * cin;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        int window = (kh - 1) * p.DilationH + 1;
        int slots = paddedH * rowLen + 16 <= SdotStackLimit ? paddedH : window;
        if (slots * rowLen + 16 > SdotStackLimit)
            return false;
        int len = (int)rowLen;
        Span<sbyte> staged = stackalloc sbyte[slots * len + 16];
        staged.Slice(slots * len).Clear();
        Span<int> slotRow = stackalloc int[slots];
        ref sbyte rowRef = ref MemoryMarshal.GetReference(staged);
        sbyte zeroPoint = (sbyte)(-p.InputOffset);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
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
                        StageRowS8(ref src, b, y - p.PadTop, inH, inW, cin, span, lo, hi, p.PadLeft, zeroPoint, ref Unsafe.Add(ref rowRef, s * len));
                        slotRow[s] = y;
                    }
                    if (tapRuns)
                        for (int kx = 0; kx < kw; kx++)
                            segOff[ky * kw + kx] = s * len + kx * p.DilationW * cin;
                    else
                        segOff[ky] = s * len;
                }
                rows.Run(ref rowRef, (nint)p.StrideW * cin, outW, ref segRef, ref Unsafe.Add(ref dst, (nint)(b * outH + oy) * outW * cout), cout);
            }
        }
        return true;
    }

    /// <summary>
    /// The SDOT tiles over n rows of Cin int8 values at a stride of Cin (NHWC pixels of a 1x1 convolution with unit
    /// strides and no padding, or FullyConnected batches), read in place; the last rows, whose 16-byte loads would
    /// pass the end of <paramref name="input"/>, from a small stack copy. <paramref name="packed"/> has
    /// <see cref="PackedFilter.Quads"/> with <see cref="PackedFilter.QuadRowTaps"/> = K = Cin.
    /// </summary>
    [SkipLocalsInit] // the copy's bytes past the rows are cleared
    internal static void RunSdotPointwise(ReadOnlySpan<sbyte> input, int n, int cin, PackedFilter packed, ReadOnlySpan<int> multipliers,
        ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax, Span<sbyte> output, int cout)
    {
        System.Diagnostics.Debug.Assert(packed.Quads is not null && packed.QuadRowTaps == cin && packed.K == cin);
        int q = (cin + 3) / 4;
        int readLen = (q + 3) / 4 * 16;
        int segOff = 0;
        var rows = new SdotRows(packed, multipliers, shifts, outputOffset, activationMin, activationMax, q, 1);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        int safe = input.Length < readLen ? 0 : System.Math.Min(n, (input.Length - readLen) / cin + 1);
        safe &= ~3;
        rows.Run(ref MemoryMarshal.GetReference(input), cin, safe, ref segOff, ref dst, cout);
        if (safe < n)
        {
            int rest = n - safe;
            Span<sbyte> copy = stackalloc sbyte[rest * cin + readLen];
            input.Slice(safe * cin, rest * cin).CopyTo(copy);
            copy.Slice(rest * cin).Clear();
            rows.Run(ref MemoryMarshal.GetReference(copy), cin, rest, ref segOff, ref Unsafe.Add(ref dst, (nint)safe * cout), cout);
        }
    }

    /// <summary>Input row iy (or the zero point, outside the image) over the padded columns [0, span).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRowS8(ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi, int padLeft,
        sbyte zeroPoint, ref sbyte row)
    {
        if ((uint)iy >= (uint)inH)
        {
            Fill(ref row, span * cin, zeroPoint);
            return;
        }
        Fill(ref row, lo * cin, zeroPoint);
        Copy(ref Unsafe.Add(ref src, ((nint)(b * inH + iy) * inW + lo - padLeft) * cin), ref Unsafe.Add(ref row, lo * cin), (hi - lo) * cin);
        Fill(ref Unsafe.Add(ref row, hi * cin), (span - hi) * cin, zeroPoint);
    }

    /// <summary>One op's SDOT tiles over rows of pixels: the packed filter, the folded bias and the requantization parameters.</summary>
    private readonly ref struct SdotRows(PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts,
        int outputOffset, int activationMin, int activationMax, int q, int kh)
    {
        private readonly sbyte[] _w = packed.Quads!;
        private readonly int[] _init = packed.Init;
        private readonly int _coutP = packed.CoutPadded;
        private readonly ReadOnlySpan<int> _m = multipliers;
        private readonly ReadOnlySpan<int> _s = shifts;
        private readonly int _off = outputOffset, _min = activationMin, _max = activationMax;
        private readonly int _q = q, _kh = kh;
        private readonly bool _allRight = BlockRequantization.OpAllRight(shifts, outputOffset);

        /// <summary>
        /// n output pixels whose taps start at x + i x pixStep + segOff[ky] (ky &lt; Kh), written at o + i x cout.
        /// </summary>
        public void Run(ref sbyte x, nint pixStep, int n, ref int segOff, ref sbyte o, int cout)
        {
            if (n <= 0)
                return;
            nint qStride = (nint)_coutP * 4;
            ref sbyte w = ref MemoryMarshal.GetArrayDataReference(_w);
            ref int init = ref MemoryMarshal.GetArrayDataReference(_init);
            if (_allRight)
            {
                // The usual case: every channel shifts right. One call per block, the requantization in registers.
                var off = Vector128.Create((short)_off);
                var min = Vector128.Create((sbyte)_min);
                var max = Vector128.Create((sbyte)_max);
                bool clamped = BlockRequantization.ClampsNegatives(_off, _min);
                for (int c = 0; c < _coutP; c += 8)
                {
                    BlockRequantization.LoadRight(_m, _s, c, out var m0, out var m1, out var n0, out var n1);
                    // A last 1-4 channels run 4 wide: half the SDOT of a block of 8 (28 channels: 7 vectors per pixel, not 8).
                    if (cout - c <= 4 && clamped)
                        SdotBlockRight<SdotFour, Yes>(ref x, pixStep, n, ref segOff, _kh, _q, ref Unsafe.Add(ref w, c * 4), qStride,
                            Vector128.LoadUnsafe(ref init, (nuint)c), default, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, c), cout, cout - c);
                    else if (cout - c <= 4)
                        SdotBlockRight<SdotFour, No>(ref x, pixStep, n, ref segOff, _kh, _q, ref Unsafe.Add(ref w, c * 4), qStride,
                            Vector128.LoadUnsafe(ref init, (nuint)c), default, m0, m1, n0, n1, off, min, max, ref Unsafe.Add(ref o, c), cout, cout - c);
                    else if (clamped)
                        SdotBlockRight<SdotEight, Yes>(ref x, pixStep, n, ref segOff, _kh, _q, ref Unsafe.Add(ref w, c * 4), qStride,
                            Vector128.LoadUnsafe(ref init, (nuint)c), Vector128.LoadUnsafe(ref init, (nuint)c + 4), m0, m1, n0, n1, off, min, max,
                            ref Unsafe.Add(ref o, c), cout, System.Math.Min(8, cout - c));
                    else
                        SdotBlockRight<SdotEight, No>(ref x, pixStep, n, ref segOff, _kh, _q, ref Unsafe.Add(ref w, c * 4), qStride,
                            Vector128.LoadUnsafe(ref init, (nuint)c), Vector128.LoadUnsafe(ref init, (nuint)c + 4), m0, m1, n0, n1, off, min, max,
                            ref Unsafe.Add(ref o, c), cout, System.Math.Min(8, cout - c));
                }
                return;
            }
            for (int c = 0; c < _coutP; c += 8)
            {
                var rq = new BlockRequantization(_m, _s, c, _off, _min, _max);
                var i0 = Vector128.LoadUnsafe(ref init, (nuint)c);
                var i1 = Vector128.LoadUnsafe(ref init, (nuint)c + 4);
                ref sbyte wc = ref Unsafe.Add(ref w, c * 4);
                ref sbyte oc = ref Unsafe.Add(ref o, c);
                int i = 0;
                for (; i <= n - 4; i += 4)
                    SdotTile4(ref Unsafe.Add(ref x, i * pixStep), pixStep, 2 * pixStep, 3 * pixStep, ref segOff, _kh, _q, ref wc, qStride,
                        i0, i1, rq, ref Unsafe.Add(ref oc, (nint)i * cout), cout, 4);
                if (i < n)
                {
                    int r = n - i;
                    SdotTile4(ref Unsafe.Add(ref x, i * pixStep), pixStep * System.Math.Min(1, r - 1), pixStep * System.Math.Min(2, r - 1), pixStep * (r - 1),
                        ref segOff, _kh, _q, ref wc, qStride, i0, i1, rq, ref Unsafe.Add(ref oc, (nint)i * cout), cout, r);
                }
            }
        }
    }

    /// <summary>The channel width of <see cref="SdotBlockRight{TWidth, TClamped}"/>'s block, known to the JIT: 8, or 4 (a last 1-4 channels).</summary>
    private interface ISdotWidth
    {
        static abstract bool Wide { get; }
    }

    private struct SdotEight : ISdotWidth { public static bool Wide => true; }
    private struct SdotFour : ISdotWidth { public static bool Wide => false; }

    /// <summary>The first <paramref name="channels"/> (1-4) bytes of <paramref name="bytes"/> at o.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFour(int bytes, ref sbyte o, int channels) => SimdOps.StoreBytes((uint)bytes, ref o, channels);

    /// <summary>
    /// <see cref="SdotRows.Run"/> for one block of 8 channels whose every channel shifts right: the 4-pixel tiles of
    /// <see cref="SdotTileRight{TWidth, TClamped, TPixels}"/> (as <see cref="SdotTile4"/>, with the requantization
    /// <see cref="BlockRequantization.Pixels2Right"/> in registers) in one loop, the last 1-3 pixels in
    /// <see cref="SdotRestRight{TWidth, TClamped, TPixels}"/> (the same tile for fewer pixels). TWidth 4 (a last 1-4
    /// channels): one accumulator per pixel and no second weight vector, the four pixels requantized as one 8-lane block.
    /// </summary>
    private static void SdotBlockRight<TWidth, TClamped>(ref sbyte x, nint pixStep, int n, ref int segOff, int kh, int q, ref sbyte w, nint qStride,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels)
        where TWidth : struct, ISdotWidth where TClamped : struct, IFlag
    {
        nint q2 = 2 * qStride, q3 = 3 * qStride, q4 = 4 * qStride;
        // The second weight vector's offsets, computed once rather than per load.
        nint q1b = qStride + 16, q2b = q2 + 16, q3b = q3 + 16;
        nint d1 = pixStep, d2 = 2 * pixStep, d3 = 3 * pixStep;
        ref sbyte oi = ref o;
        int whole = n & ~3;
        for (int i = 0; i < whole; i += 4, oi = ref Unsafe.Add(ref oi, 4 * cout))
            SdotTileRight<TWidth, TClamped, Pixels4>(ref Unsafe.Add(ref x, i * pixStep), d1, d2, d3, ref segOff, kh, q, ref w, qStride,
                q2, q3, q4, q1b, q2b, q3b, i0, i1, m0, m1, n0, n1, off, min, max, ref oi, cout, channels);
        switch (n - whole)
        {
            case 1:
                SdotRestRight<TWidth, TClamped, Pixels1>(ref Unsafe.Add(ref x, whole * pixStep), pixStep, ref segOff, kh, q, ref w, qStride,
                    i0, i1, m0, m1, n0, n1, off, min, max, ref oi, cout, channels);
                break;
            case 2:
                SdotRestRight<TWidth, TClamped, Pixels2>(ref Unsafe.Add(ref x, whole * pixStep), pixStep, ref segOff, kh, q, ref w, qStride,
                    i0, i1, m0, m1, n0, n1, off, min, max, ref oi, cout, channels);
                break;
            case 3:
                SdotRestRight<TWidth, TClamped, Pixels3>(ref Unsafe.Add(ref x, whole * pixStep), pixStep, ref segOff, kh, q, ref w, qStride,
                    i0, i1, m0, m1, n0, n1, off, min, max, ref oi, cout, channels);
                break;
        }
    }

    /// <summary>A count of pixels (1-4) known to the JIT: <see cref="SdotTileRight{TWidth, TClamped, TPixels}"/>.</summary>
    private interface ISdotPixels
    {
        static abstract int Count { get; }
    }

    private struct Pixels1 : ISdotPixels { public static int Count => 1; }
    private struct Pixels2 : ISdotPixels { public static int Count => 2; }
    private struct Pixels3 : ISdotPixels { public static int Count => 3; }
    private struct Pixels4 : ISdotPixels { public static int Count => 4; }

    /// <summary>
    /// The last 1-3 pixels (TPixels) of <see cref="SdotBlockRight{TWidth, TClamped}"/>'s block: only their products, where a
    /// 4-pixel tile with the last pixel repeated computed four (a 7x7 map's 49th pixel, the 7-wide rows' last 3). Not
    /// inlined, so the block's loop keeps its registers.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void SdotRestRight<TWidth, TClamped, TPixels>(ref sbyte x, nint pixStep, ref int segOff, int kh, int q, ref sbyte w, nint qStride,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels)
        where TWidth : struct, ISdotWidth where TClamped : struct, IFlag where TPixels : struct, ISdotPixels
    {
        nint q2 = 2 * qStride, q3 = 3 * qStride, q4 = 4 * qStride;
        SdotTileRight<TWidth, TClamped, TPixels>(ref x, pixStep, 2 * pixStep, 3 * pixStep, ref segOff, kh, q, ref w, qStride,
            q2, q3, q4, qStride + 16, q2 + 16, q3 + 16, i0, i1, m0, m1, n0, n1, off, min, max, ref o, cout, channels);
    }

    /// <summary>
    /// One tile of <see cref="SdotBlockRight{TWidth, TClamped}"/>: TPixels pixels (taps at x, x + d1, x + d2, x + d3 plus
    /// each segment's offset; 4 in the block's loop, 1-3 for its rest) x 8 channels (TWidth 4: one accumulator per pixel, no
    /// second weight vector) over Kh segments of q quadruplets, requantized in registers
    /// (<see cref="BlockRequantization.Pixels2RightOrClamped"/>) and stored; whole tiles of a full block without checks. The
    /// weight offsets (q2..q4, and q1b..q3b for the second weight vector) come from the caller, computed once per block.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotTileRight<TWidth, TClamped, TPixels>(ref sbyte x, nint d1, nint d2, nint d3, ref int segOff, int kh, int q,
        ref sbyte w, nint qStride, nint q2, nint q3, nint q4, nint q1b, nint q2b, nint q3b,
        Vector128<int> i0, Vector128<int> i1, Vector128<int> m0, Vector128<int> m1, Vector128<int> n0, Vector128<int> n1,
        Vector128<short> off, Vector128<sbyte> min, Vector128<sbyte> max, ref sbyte o, nint cout, int channels)
        where TWidth : struct, ISdotWidth where TClamped : struct, IFlag where TPixels : struct, ISdotPixels
    {
        SdotProducts<TWidth, TPixels>(ref x, d1, d2, d3, ref segOff, kh, q, ref w, qStride, q2, q3, q4, q1b, q2b, q3b, i0, i1,
            out var a00, out var a01, out var a10, out var a11, out var a20, out var a21, out var a30, out var a31);
        if (!TWidth.Wide)
        {
            // The pixels' 1-4 channels requantized as one block of 8 (pixels 0-1, then 2-3): one vector per 4 pixels.
            var p = BlockRequantization.Pixels2RightOrClamped(a00, a10, a20, a30, m0, m0, n0, n0, off, min, max, TClamped.Value);
            StoreFour(p.AsInt32().GetElement(0), ref o, channels);
            if (TPixels.Count > 1) StoreFour(p.AsInt32().GetElement(1), ref Unsafe.Add(ref o, cout), channels);
            if (TPixels.Count > 2) StoreFour(p.AsInt32().GetElement(2), ref Unsafe.Add(ref o, 2 * cout), channels);
            if (TPixels.Count > 3) StoreFour(p.AsInt32().GetElement(3), ref Unsafe.Add(ref o, 3 * cout), channels);
            return;
        }
        var p01 = BlockRequantization.Pixels2RightOrClamped(a00, a01, a10, a11, m0, m1, n0, n1, off, min, max, TClamped.Value);
        var p23 = TPixels.Count > 2 ? BlockRequantization.Pixels2RightOrClamped(a20, a21, a30, a31, m0, m1, n0, n1, off, min, max, TClamped.Value) : default;
        if (TPixels.Count == 4 && channels == 8)
        {
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref o), p01.AsInt64().ToScalar());
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, cout)), p01.AsInt64().GetElement(1));
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, 2 * cout)), p23.AsInt64().ToScalar());
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, 3 * cout)), p23.AsInt64().GetElement(1));
        }
        else
            Cin1Store(p01, p23, ref o, cout, TPixels.Count, channels);
    }

    /// <summary>
    /// The accumulators of a tile of TPixels pixels (taps at x, x + d1, x + d2, x + d3 plus each segment's offset) x 8
    /// channels (TWidth 4: the first vector only) over Kh segments of q quadruplets, SDOT by element, from i0 and i1 (a
    /// place past TPixels keeps them): the products of <see cref="SdotTileRight{TWidth, TClamped, TPixels}"/> and
    /// <see cref="SdotTile4"/>. The weight offsets (q2..q4, q1b..q3b for the second vector) come from the caller.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotProducts<TWidth, TPixels>(ref sbyte x, nint d1, nint d2, nint d3, ref int segOff, int kh, int q,
        ref sbyte w, nint qStride, nint q2, nint q3, nint q4, nint q1b, nint q2b, nint q3b, Vector128<int> i0, Vector128<int> i1,
        out Vector128<int> a00, out Vector128<int> a01, out Vector128<int> a10, out Vector128<int> a11,
        out Vector128<int> a20, out Vector128<int> a21, out Vector128<int> a30, out Vector128<int> a31)
        where TWidth : struct, ISdotWidth where TPixels : struct, ISdotPixels
    {
        a00 = i0; a01 = i1; a10 = i0; a11 = i1; a20 = i0; a21 = i1; a30 = i0; a31 = i1;
        ref sbyte ws = ref w;
        for (int ky = 0; ky < kh; ky++)
        {
            ref sbyte r = ref Unsafe.Add(ref x, Unsafe.Add(ref segOff, ky));
            int t = 0;
            for (; t <= q - 4; t += 4)
            {
                var v0 = Vector128.LoadUnsafe(ref r);
                var v1 = TPixels.Count > 1 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1)) : default;
                var v2 = TPixels.Count > 2 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2)) : default;
                var v3 = TPixels.Count > 3 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3)) : default;
                var wA = Vector128.LoadUnsafe(ref ws);
                var wB = TWidth.Wide ? Vector128.LoadUnsafe(ref ws, 16) : default;
                SdotLaneRight<TWidth, TPixels>(wA, wB, v0, v1, v2, v3, 0, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                SdotLaneRight<TWidth, TPixels>(Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, qStride)),
                    TWidth.Wide ? Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q1b)) : default, v0, v1, v2, v3, 1, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                SdotLaneRight<TWidth, TPixels>(Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q2)),
                    TWidth.Wide ? Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q2b)) : default, v0, v1, v2, v3, 2, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                SdotLaneRight<TWidth, TPixels>(Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q3)),
                    TWidth.Wide ? Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q3b)) : default, v0, v1, v2, v3, 3, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                r = ref Unsafe.Add(ref r, 16);
                ws = ref Unsafe.Add(ref ws, q4);
            }
            int rem = q - t;
            if (rem > 0)
            {
                var v0 = Vector128.LoadUnsafe(ref r);
                var v1 = TPixels.Count > 1 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d1)) : default;
                var v2 = TPixels.Count > 2 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d2)) : default;
                var v3 = TPixels.Count > 3 ? Vector128.LoadUnsafe(ref Unsafe.Add(ref r, d3)) : default;
                var wA = Vector128.LoadUnsafe(ref ws);
                var wB = TWidth.Wide ? Vector128.LoadUnsafe(ref ws, 16) : default;
                SdotLaneRight<TWidth, TPixels>(wA, wB, v0, v1, v2, v3, 0, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                if (rem > 1)
                    SdotLaneRight<TWidth, TPixels>(Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, qStride)),
                        TWidth.Wide ? Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q1b)) : default, v0, v1, v2, v3, 1, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                if (rem > 2)
                    SdotLaneRight<TWidth, TPixels>(Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q2)),
                        TWidth.Wide ? Vector128.LoadUnsafe(ref Unsafe.Add(ref ws, q2b)) : default, v0, v1, v2, v3, 2, ref a00, ref a01, ref a10, ref a11, ref a20, ref a21, ref a30, ref a31);
                ws = ref Unsafe.Add(ref ws, rem * qStride);
            }
        }
    }

    /// <summary>
    /// One quadruplet lane of <see cref="SdotProducts{TWidth, TPixels}"/>: the TPixels pixels' activations
    /// (v0..v3) by element <paramref name="lane"/> against the lane's weight vectors (wB only for TWidth 8).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SdotLaneRight<TWidth, TPixels>(Vector128<sbyte> wA, Vector128<sbyte> wB, Vector128<sbyte> v0, Vector128<sbyte> v1,
        Vector128<sbyte> v2, Vector128<sbyte> v3, [ConstantExpected(Max = 3)] byte lane, ref Vector128<int> a00, ref Vector128<int> a01,
        ref Vector128<int> a10, ref Vector128<int> a11, ref Vector128<int> a20, ref Vector128<int> a21, ref Vector128<int> a30, ref Vector128<int> a31)
        where TWidth : struct, ISdotWidth where TPixels : struct, ISdotPixels
    {
        a00 = SimdOps.DotProductLane(a00, wA, v0, lane);
        if (TWidth.Wide) a01 = SimdOps.DotProductLane(a01, wB, v0, lane);
        if (TPixels.Count > 1) a10 = SimdOps.DotProductLane(a10, wA, v1, lane);
        if (TWidth.Wide && TPixels.Count > 1) a11 = SimdOps.DotProductLane(a11, wB, v1, lane);
        if (TPixels.Count > 2) a20 = SimdOps.DotProductLane(a20, wA, v2, lane);
        if (TWidth.Wide && TPixels.Count > 2) a21 = SimdOps.DotProductLane(a21, wB, v2, lane);
        if (TPixels.Count > 3) a30 = SimdOps.DotProductLane(a30, wA, v3, lane);
        if (TWidth.Wide && TPixels.Count > 3) a31 = SimdOps.DotProductLane(a31, wB, v3, lane);
    }

    /// <summary>
    /// 4 pixels (taps at x, x + d1, x + d2, x + d3, plus each segment's offset) x 8 channels over Kh segments of
    /// q quadruplets; stores the first <paramref name="valid"/> pixels.
    /// </summary>
    private static void SdotTile4(ref sbyte x, nint d1, nint d2, nint d3, ref int segOff, int kh, int q, ref sbyte w, nint qStride,
        Vector128<int> i0, Vector128<int> i1, in BlockRequantization rq, ref sbyte o, nint outStride, int valid)
    {
        nint q2 = 2 * qStride, q3 = 3 * qStride;
        SdotProducts<SdotEight, Pixels4>(ref x, d1, d2, d3, ref segOff, kh, q, ref w, qStride, q2, q3, 4 * qStride, qStride + 16, q2 + 16, q3 + 16,
            i0, i1, out var a00, out var a01, out var a10, out var a11, out var a20, out var a21, out var a30, out var a31);
        rq.Pixels4(a00, a01, a10, a11, a20, a21, a30, a31, out var p01, out var p23);
        rq.Store(p01, 0, ref o);
        if (valid > 1) rq.Store(p01, 1, ref Unsafe.Add(ref o, outStride));
        if (valid > 2) rq.Store(p23, 0, ref Unsafe.Add(ref o, 2 * outStride));
        if (valid > 3) rq.Store(p23, 1, ref Unsafe.Add(ref o, 3 * outStride));
    }
}
