using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class CompressedKernels
{
    /// <summary>Table look-up of 16 byte indices (0..15) in a register: SSSE3 PSHUFB or arm64 TBL.</summary>
    private static bool CanLookUp => Ssse3.IsSupported || AdvSimd.Arm64.IsSupported;

    /// <summary>The Int4 "codebook": nibble n stands for the two's complement value of n.</summary>
    private static Vector128<sbyte> Int4Table => Vector128.Create(0, 1, 2, 3, 4, 5, 6, 7, -8, -7, -6, -5, -4, -3, -2, -1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> LookUp(Vector128<sbyte> table, Vector128<byte> indices)
        => Ssse3.IsSupported ? Ssse3.Shuffle(table, indices.AsSByte()) : AdvSimd.Arm64.VectorTableLookup(table.AsByte(), indices).AsSByte();

    /// <summary>The 32 4-bit entries of 16 packed bytes, in element order (low nibble first), through <paramref name="table"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Decode32(Vector128<byte> packed, Vector128<sbyte> table, out Vector128<sbyte> w0, out Vector128<sbyte> w1)
    {
        var mask = Vector128.Create((byte)15);
        var lo = packed & mask;
        var hi = Vector128.ShiftRightLogical(packed, 4) & mask;
        Vector128<byte> i0, i1;
        if (Sse2.IsSupported) { i0 = Sse2.UnpackLow(lo, hi); i1 = Sse2.UnpackHigh(lo, hi); }
        else { i0 = AdvSimd.Arm64.ZipLow(lo, hi); i1 = AdvSimd.Arm64.ZipHigh(lo, hi); }
        w0 = LookUp(table, i0);
        w1 = LookUp(table, i1);
    }

    /// <summary>The 16 4-bit entries of 8 packed bytes, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Decode16(ulong packed, Vector128<sbyte> table)
    {
        var v = Vector128.CreateScalar(packed).AsByte();
        var mask = Vector128.Create((byte)15);
        var lo = v & mask;
        var hi = Vector128.ShiftRightLogical(v, 4) & mask;
        var idx = Sse2.IsSupported ? Sse2.UnpackLow(lo, hi) : AdvSimd.Arm64.ZipLow(lo, hi);
        return LookUp(table, idx);
    }

    /// <summary>acc + the products a[i]·b[i] (exact: |a|, |b| ≤ 128 keeps each product within int16).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot16(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<int> acc)
    {
        var (a0, a1) = Vector128.Widen(a);
        var (b0, b1) = Vector128.Widen(b);
        if (Sse2.IsSupported) return acc + Sse2.MultiplyAddAdjacent(a0, b0) + Sse2.MultiplyAddAdjacent(a1, b1);
        var (q0, q1) = Vector128.Widen(a0 * b0);
        var (q2, q3) = Vector128.Widen(a1 * b1);
        return acc + (q0 + q1) + (q2 + q3);
    }

    /// <summary>acc + the products x[i]·w[i], with x already widened to int16 (<paramref name="x0"/> lanes 0-7, <paramref name="x1"/> 8-15).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Dot16Widened(Vector128<short> x0, Vector128<short> x1, Vector128<sbyte> w, Vector128<int> acc)
    {
        var (w0, w1) = Vector128.Widen(w);
        if (Sse2.IsSupported) return acc + Sse2.MultiplyAddAdjacent(x0, w0) + Sse2.MultiplyAddAdjacent(x1, w1);
        var (q0, q1) = Vector128.Widen(x0 * w0);
        var (q2, q3) = Vector128.Widen(x1 * w1);
        return acc + (q0 + q1) + (q2 + q3);
    }

    /// <summary>The lane sums of four accumulators, in order (SSSE3 PHADDD / arm64 ADDP; wrapping int32 like every sum here).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Sum4(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3)
    {
        if (Ssse3.IsSupported) return Ssse3.HorizontalAdd(Ssse3.HorizontalAdd(a0, a1), Ssse3.HorizontalAdd(a2, a3));
        return AdvSimd.Arm64.AddPairwise(AdvSimd.Arm64.AddPairwise(a0, a1), AdvSimd.Arm64.AddPairwise(a2, a3));
    }

    /// <summary>
    /// <see cref="RowDots"/> for four consecutive output channels (rows <paramref name="oc"/> .. +3): each segment of the
    /// four rows is decoded once into <paramref name="decoded"/> (4 × <see cref="Segment"/>), every x_p is loaded and
    /// widened once for the four, and the four sums of x_p are added to <paramref name="sums"/>[4p .. 4p + 3].
    /// </summary>
    private static void RowDots4(CompressedFilter f, int oc, ReadOnlySpan<sbyte> x, int stride, int count, int k, bool padded,
        Span<sbyte> decoded, Span<int> sums)
    {
        for (int from = 0; from < k; from += Segment)
        {
            int n = System.Math.Min(Segment, k - from);
            for (int j = 0; j < 4; j++) DecodeSegment(f, oc + j, oc + j, from, n, decoded.Slice(j * Segment, Segment));
            ReadOnlySpan<sbyte> d0 = decoded.Slice(0, Segment), d1 = decoded.Slice(Segment, Segment),
                d2 = decoded.Slice(2 * Segment, Segment), d3 = decoded.Slice(3 * Segment, Segment);
            int vectorEnd = padded ? (n + 15) & ~15 : n & ~15;
            for (int p = 0; p < count; p++)
            {
                var xp = x.Slice(p * stride + from);
                Vector128<int> a0 = Vector128<int>.Zero, a1 = a0, a2 = a0, a3 = a0;
                int c = 0;
                for (; c < vectorEnd; c += 16)
                {
                    var (x0, x1) = Vector128.Widen(Vector128.Create(xp.Slice(c, 16)));
                    a0 = Dot16Widened(x0, x1, Vector128.Create(d0.Slice(c, 16)), a0);
                    a1 = Dot16Widened(x0, x1, Vector128.Create(d1.Slice(c, 16)), a1);
                    a2 = Dot16Widened(x0, x1, Vector128.Create(d2.Slice(c, 16)), a2);
                    a3 = Dot16Widened(x0, x1, Vector128.Create(d3.Slice(c, 16)), a3);
                }
                int t0 = 0, t1 = 0, t2 = 0, t3 = 0;
                for (; c < n; c++)
                {
                    int xv = xp[c];
                    t0 = unchecked(t0 + xv * d0[c]); t1 = unchecked(t1 + xv * d1[c]);
                    t2 = unchecked(t2 + xv * d2[c]); t3 = unchecked(t3 + xv * d3[c]);
                }
                var acc = Vector128.Create(sums.Slice(4 * p, 4)) + Sum4(a0, a1, a2, a3) + Vector128.Create(t0, t1, t2, t3);
                acc.CopyTo(sums.Slice(4 * p, 4));
            }
        }
    }

    /// <summary>The register table of output channel <paramref name="channel"/>'s codebook group (Int4 and Index4).</summary>
    private static Vector128<sbyte> TableOf(CompressedFilter f, int channel)
        => f.Type == TensorType.Int4 ? Int4Table : Vector128.Create(f.Codebook.Slice((channel / f.ChannelsPerGroup) * 16, 16));

    /// <summary>Elements of a row decoded at a time (a stack buffer; a layer's weights are never expanded as a whole).</summary>
    private const int Segment = 1024;

    /// <summary>
    /// Decodes elements [from, from + n) of a row into <paramref name="dst"/>: 32 at a time from 16 packed bytes in
    /// registers (4-bit types; the last partial group too, from its bytes gathered into a register), index8 through
    /// its table one by one; entries [n, round up to 16) are set to 0.
    /// </summary>
    private static void DecodeSegment(CompressedFilter f, int row, int channel, int from, int n, Span<sbyte> dst)
    {
        int c = 0;
        int rowStart = row * f.RowBytes;
        if (f.Type == TensorType.Index8)
        {
            var table = f.Codebook.Slice((channel / f.ChannelsPerGroup) * 256, 256);
            var idx = f.Data.Slice(rowStart + from, n);
            for (; c < n; c++) dst[c] = table[idx[c]];
        }
        else
        {
            var table = TableOf(f, channel);
            for (; c + 32 <= n; c += 32)
            {
                Decode32(Vector128.Create(f.Data.Slice(rowStart + ((from + c) >> 1), 16)), table, out var w0, out var w1);
                w0.CopyTo(dst.Slice(c));
                w1.CopyTo(dst.Slice(c + 16));
            }
            if (c < n)
            {
                // The last < 32 entries: their bytes (never past the row's end) gathered into a register and decoded
                // the same way. dst holds whole groups of 32 (its length is a multiple of 32), so all 32 are stored;
                // the ones from n on are cleared below or never read.
                int start = rowStart + ((from + c) >> 1), bytes = (n - c + 1) >> 1;
                ulong lo = 0, hi = 0;
                for (int i = 0; i < bytes; i++)
                {
                    ulong v = f.Data[start + i];
                    if (i < 8) lo |= v << (8 * i);
                    else hi |= v << (8 * (i - 8));
                }
                Decode32(Vector128.Create(lo, hi).AsByte(), table, out var w0, out var w1);
                w0.CopyTo(dst.Slice(c));
                w1.CopyTo(dst.Slice(c + 16));
            }
        }
        dst.Slice(n, ((n + 15) & ~15) - n).Clear();
    }

    /// <summary>
    /// Σ x_p[c] · w(row, c) for c in [0, k) and each of the <paramref name="count"/> vectors x_p at
    /// <paramref name="x"/> + p·<paramref name="stride"/>, added to <paramref name="sums"/> (wrapping int32).
    /// The row is decoded once per segment and used for every x_p. With <paramref name="padded"/>, each x_p
    /// may be read up to the next multiple of 16 (the decoded weights there are 0).
    /// </summary>
    private static void RowDots(CompressedFilter f, int row, int channel, ReadOnlySpan<sbyte> x, int stride, int count, int k, bool padded,
        Span<sbyte> decoded, Span<int> sums)
    {
        for (int from = 0; from < k; from += Segment)
        {
            int n = System.Math.Min(Segment, k - from);
            DecodeSegment(f, row, channel, from, n, decoded);
            int vectorEnd = padded ? (n + 15) & ~15 : n & ~15;
            for (int p = 0; p < count; p++)
            {
                var xp = x.Slice(p * stride + from);
                var acc = Vector128<int>.Zero;
                int c = 0;
                for (; c < vectorEnd; c += 16)
                    acc = Dot16(Vector128.Create(xp.Slice(c, 16)), Vector128.Create((ReadOnlySpan<sbyte>)decoded.Slice(c, 16)), acc);
                int s = unchecked(sums[p] + Vector128.Sum(acc));
                for (; c < n; c++) s = unchecked(s + xp[c] * decoded[c]);
                sums[p] = s;
            }
        }
    }

    [SkipLocalsInit] // the decode buffer and the sums are written before they are read
    internal static bool TryFullyConnectedVector128(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        CompressedFilter filter, int cout, CompressedPrepared prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        if (!CanLookUp) return false;
        Span<int> sum = stackalloc int[4];
        Span<sbyte> decoded = stackalloc sbyte[4 * Segment];
        var outOffset = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        for (int b = 0; b < batches; b++)
        {
            var x = input.Slice(b * cin, cin);
            int oc = 0;
            // Four output channels at a time: one decode of each row, one load of x, one vector requantization.
            for (; oc + 4 <= cout; oc += 4)
            {
                prepared.FoldedBias.AsSpan(oc, 4).CopyTo(sum);
                RowDots4(filter, oc, x, 0, 1, cin, false, decoded, sum);
                SimdOps.RequantizeStore4(Vector128.Create((ReadOnlySpan<int>)sum), Vector128.Create(multipliers.Slice(oc, 4)), Vector128.Create(shifts.Slice(oc, 4)),
                    outOffset, min, max, ref output[b * cout + oc]);
            }
            for (; oc < cout; oc++)
            {
                sum[0] = prepared.FoldedBias[oc];
                RowDots(filter, oc, oc, x, 0, 1, cin, false, decoded, sum);
                int v = QuantMath.MultiplyByQuantizedMultiplier(sum[0], multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
        }
        return true;
    }

    /// <summary>
    /// Conv2D: up to 8 output pixels at a time, their windows gathered into <paramref name="scratch"/> (im2col,
    /// padding holding the input zero point so it adds nothing to the folded sum) or, for an unpadded 1x1
    /// filter, read in place; then each output channel's row is decoded chunk by chunk and dotted with every window.
    /// </summary>
    [SkipLocalsInit] // the decode buffer and the sums are written before they are read
    internal static bool TryConv2DVector128(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, CompressedPrepared prepared,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
    {
        if (!CanLookUp) return false;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, k = kh * kw * cin;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        bool inPlace = kh == 1 && kw == 1 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0;
        int kp = (k + 15) & ~15;
        int chunk = inPlace ? 8 : System.Math.Min(8, scratch.Length / kp);
        if (chunk < 1) return false;
        Span<sbyte> decoded = stackalloc sbyte[4 * Segment];
        sbyte zero = (sbyte)(-p.InputOffset);
        Span<int> sums = stackalloc int[8];
        Span<int> sums4 = stackalloc int[4 * 8];
        var outOffset = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        int pixels = inShape.D0 * outH * outW;
        for (int first = 0; first < pixels;)
        {
            int count = System.Math.Min(chunk, pixels - first);
            ReadOnlySpan<sbyte> windows;
            int stride;
            if (inPlace)
            {
                // Pixels of one output row: input pixels StrideW apart, read in place.
                count = System.Math.Min(count, outW - first % outW);
                int b = first / (outH * outW), oy = first / outW % outH, ox = first % outW;
                windows = input.Slice(((b * inH + oy * p.StrideH) * inW + ox * p.StrideW) * cin);
                stride = p.StrideW * cin;
            }
            else
            {
                for (int q = 0; q < count; q++)
                {
                    int pix = first + q;
                    int b = pix / (outH * outW), oy = pix / outW % outH, ox = pix % outW;
                    var dst = scratch.Slice(q * kp, k);
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        int iy = iy0 + ky * p.DilationH;
                        // A window row wholly inside the input (undilated) is one contiguous run of kw·cin bytes.
                        if ((uint)iy < (uint)inH && p.DilationW == 1 && ix0 >= 0 && ix0 + kw <= inW)
                        {
                            input.Slice(((b * inH + iy) * inW + ix0) * cin, kw * cin).CopyTo(dst.Slice(ky * kw * cin, kw * cin));
                            continue;
                        }
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int ix = ix0 + kx * p.DilationW;
                            var d = dst.Slice((ky * kw + kx) * cin, cin);
                            if ((uint)iy >= (uint)inH || (uint)ix >= (uint)inW) d.Fill(zero);
                            else input.Slice(((b * inH + iy) * inW + ix) * cin, cin).CopyTo(d);
                        }
                    }
                }
                windows = scratch;
                stride = kp;
            }
            int oc = 0;
            // Four output channels at a time: each row decoded once per chunk, each window loaded once for the
            // four, and the four outputs of a pixel (contiguous in NHWC) requantized and stored as one vector.
            for (; oc + 4 <= cout; oc += 4)
            {
                var bias4 = Vector128.Create(prepared.FoldedBias.AsSpan(oc, 4));
                for (int q = 0; q < count; q++) bias4.CopyTo(sums4.Slice(4 * q, 4));
                RowDots4(filter, oc, windows, stride, count, k, !inPlace, decoded, sums4);
                var m4 = Vector128.Create(multipliers.Slice(oc, 4));
                var s4 = Vector128.Create(shifts.Slice(oc, 4));
                for (int q = 0; q < count; q++)
                    SimdOps.RequantizeStore4(Vector128.Create((ReadOnlySpan<int>)sums4.Slice(4 * q, 4)), m4, s4, outOffset, min, max, ref output[(first + q) * cout + oc]);
            }
            for (; oc < cout; oc++)
            {
                sums.Slice(0, count).Fill(prepared.FoldedBias[oc]);
                RowDots(filter, oc, oc, windows, stride, count, k, !inPlace, decoded, sums);
                for (int q = 0; q < count; q++)
                {
                    int v = QuantMath.MultiplyByQuantizedMultiplier(sums[q], multipliers[oc], shifts[oc]) + p.OutputOffset;
                    output[(first + q) * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                }
            }
            first += count;
        }
        return true;
    }

    /// <summary>
    /// DepthwiseConv2D, depth multiplier 1, even Cout, 4-bit filters with one codebook group or groups spanning
    /// whole 16-channel blocks: 16 channels per step, each tap's 16 weights decoded from 8 bytes in registers;
    /// the last Cout mod 16 channels one at a time.
    /// </summary>
    internal static bool TryDepthwiseConv2DVector128(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        CompressedFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int cout = outShape.D3;
        // Blocks of 16 channels start on a byte (cout even) and lie in one codebook group; the channels after the
        // last whole block are computed one by one below, in the reference's arithmetic.
        if (!CanLookUp || p.DepthMultiplier != 1 || cout % 2 != 0 || filter.Type == TensorType.Index8
            || (filter.Type == TensorType.Index4 && filter.ChannelsPerGroup != cout && filter.ChannelsPerGroup % 16 != 0)) return false;
        int blocksEnd = cout & ~15;
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        var offset = Vector128.Create(p.InputOffset);
        var outOffset = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * cout;
                    for (int c = blocksEnd; c < cout; c++)
                    {
                        int acc = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int x = input[((b * inH + iy) * inW + ix) * cin + c];
                                acc = unchecked(acc + (x + p.InputOffset) * filter.At(0, (ky * kw + kx) * cout + c, c));
                            }
                        }
                        int v = QuantMath.MultiplyByQuantizedMultiplier(unchecked(bias[c] + acc), multipliers[c], shifts[c]) + p.OutputOffset;
                        output[outBase + c] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                    for (int oc = 0; oc < blocksEnd; oc += 16)
                    {
                        var table = TableOf(filter, oc);
                        Vector128<int> a0 = Vector128<int>.Zero, a1 = a0, a2 = a0, a3 = a0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int col = (ky * kw + kx) * cout + oc;
                                var w = Decode16(System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(filter.Data.Slice(col >> 1, 8)), table);
                                var x = Vector128.Create(input.Slice(((b * inH + iy) * inW + ix) * cin + oc, 16));
                                var (x0, x1) = Vector128.Widen(x);
                                var (w0, w1) = Vector128.Widen(w);
                                var (x00, x01) = Vector128.Widen(x0);
                                var (x10, x11) = Vector128.Widen(x1);
                                var (w00, w01) = Vector128.Widen(w0);
                                var (w10, w11) = Vector128.Widen(w1);
                                a0 += (x00 + offset) * w00;
                                a1 += (x01 + offset) * w01;
                                a2 += (x10 + offset) * w10;
                                a3 += (x11 + offset) * w11;
                            }
                        }
                        // bias + sum, requantized and clamped 4 lanes at a time, narrowed and stored as 16 int8.
                        var r0 = SimdOps.RequantizeClamp(Vector128.Create(bias.Slice(oc, 4)) + a0, Vector128.Create(multipliers.Slice(oc, 4)), Vector128.Create(shifts.Slice(oc, 4)), outOffset, min, max);
                        var r1 = SimdOps.RequantizeClamp(Vector128.Create(bias.Slice(oc + 4, 4)) + a1, Vector128.Create(multipliers.Slice(oc + 4, 4)), Vector128.Create(shifts.Slice(oc + 4, 4)), outOffset, min, max);
                        var r2 = SimdOps.RequantizeClamp(Vector128.Create(bias.Slice(oc + 8, 4)) + a2, Vector128.Create(multipliers.Slice(oc + 8, 4)), Vector128.Create(shifts.Slice(oc + 8, 4)), outOffset, min, max);
                        var r3 = SimdOps.RequantizeClamp(Vector128.Create(bias.Slice(oc + 12, 4)) + a3, Vector128.Create(multipliers.Slice(oc + 12, 4)), Vector128.Create(shifts.Slice(oc + 12, 4)), outOffset, min, max);
                        SimdOps.Narrow16(r0, r1, r2, r3).CopyTo(output.Slice(outBase + oc, 16));
                    }
                }
        return true;
    }
}
