using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8RowsAvx2"/>.</summary>
    private const int RowsStackLimit = 32768;

    /// <summary>
    /// Precomputes <see cref="TryEvalS8RowsAvx2"/>'s data (once per op, outside Eval): the filter per
    /// channel ([Cout, Kh x Kw]) packed as tap pairs (<see cref="PackedFilter.Pairs"/>) with the folded
    /// bias (<see cref="PackedFilter.Init"/>), channels padded to <see cref="PackedFilter.CoutPadded"/>.
    /// Null where that path does not apply (no AVX2, depth multiplier other than 1).
    /// </summary>
    internal static PackedFilter? Prepare(in Conv2DParams p, ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias)
    {
        int cout = filterShape.D3, taps = filterShape.D1 * filterShape.D2;
        if (!Avx2.IsSupported)
            return PrepareLanes(p, filter, filterShape, bias);
        if (p.DepthMultiplier != 1)
            return null;
        var byChannel = new sbyte[cout * taps];
        for (int t = 0; t < taps; t++)
            for (int oc = 0; oc < cout; oc++)
                byChannel[oc * taps + t] = filter[t * cout + oc];
        return PackedFilter.Create(byChannel, cout, taps, bias, p.InputOffset, pad: false);
    }

    /// <summary>
    /// AVX2, depth multiplier 1, any Cout: the channels run 16 then 8 at a time over
    /// <see cref="PackedFilter.CoutPadded"/> lanes; the last group's padding lanes read bytes past the
    /// pixel's channels (the staging area has 16 spare bytes) against zero weights and are never
    /// stored. The input rows are copied into stack rows that
    /// already hold the padding (the zero point, which cancels against the folded bias:
    /// (zp + inputOffset) x w = 0, as the reference skips padded taps), so every pixel runs the same
    /// loop: the whole padded image when it fits, else per output row the Kh rows it reads. Two taps' bytes are interleaved per channel (PUNPCKLBW/HBW),
    /// sign-extended, and VPMADDWD multiplies them with the channel's two weights and adds the pair
    /// in int32: exact, so acc = folded bias + sum(x x w) equals the reference accumulator.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    internal static bool TryEvalS8RowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? pairs = packed.Pairs;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, taps = kh * kw;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int coutP = packed.CoutPadded;
        if (!Avx2.IsSupported || pairs is null || p.DepthMultiplier != 1 || cout != cin
            || packed.Cout != cout || packed.K != taps || (uint)(128 - p.InputOffset) > 255)
            return false;
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps.
        int span = (outW - 1) * p.StrideW + (kw - 1) * p.DilationW + 1;
        int rowLen = span * cin;
        if (kh * rowLen > RowsStackLimit || taps > 64)
            return false;
        if (coutP > Int8Gemm.MaxPairsChannels)
            return false;
        // The whole padded image when it fits (each input row copied once), else the Kh rows of one output row.
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        bool wholeImage = paddedH * rowLen <= RowsStackLimit;
        int rowStep = wholeImage ? p.DilationH * rowLen : rowLen;
        Span<sbyte> rows = stackalloc sbyte[(wholeImage ? paddedH : kh) * rowLen + 16];
        // A whole output row's accumulators when they fit (one requantization pass per row), else four pixels'.
        int group = outW * coutP <= Conv2D.RowAccumulatorLimit ? outW : 4;
        Span<int> accumulators = stackalloc int[group * coutP];
        ref int accRef = ref MemoryMarshal.GetReference(accumulators);
        Span<int> tapOffsets = stackalloc int[taps + 1];
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++)
                tapOffsets[ky * kw + kx] = ky * rowStep + kx * p.DilationW * cin;
        tapOffsets[taps] = 0;
        ref sbyte rowRef = ref MemoryMarshal.GetReference(rows);
        ref int offRef = ref MemoryMarshal.GetReference(tapOffsets);
        ref short w = ref MemoryMarshal.GetArrayDataReference(pairs);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var q = new Int8Gemm.PairsRequantization(packed.Init, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax);
        sbyte zeroPoint = (sbyte)(-p.InputOffset);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        int pixelStep = p.StrideW * cin, pairCount = taps / 2, columnStep = p.DilationW * cin;
        nint pairStride = 2 * coutP;
        for (int b = 0; b < inShape.D0; b++)
        {
            if (wholeImage)
                for (int y = 0; y < paddedH; y++)
                    StageRow(p, input, b, y - p.PadTop, inH, inW, cin, lo, hi, zeroPoint, rows.Slice(y * rowLen, rowLen));
            for (int oy = 0; oy < outH; oy++)
            {
                ref sbyte top = ref rowRef;
                if (wholeImage)
                    top = ref Unsafe.Add(ref rowRef, oy * p.StrideH * rowLen);
                else
                    for (int ky = 0; ky < kh; ky++)
                        StageRow(p, input, b, oy * p.StrideH - p.PadTop + ky * p.DilationH, inH, inW, cin, lo, hi, zeroPoint,
                            rows.Slice(ky * rowLen, rowLen));
                ref sbyte o = ref Unsafe.Add(ref dst, (b * outH + oy) * outW * cout);
                for (int ox = 0; ox < outW; ox++)
                {
                    int slot = ox % group;
                    ref int a = ref Unsafe.Add(ref accRef, slot * coutP);
                    ref sbyte px = ref Unsafe.Add(ref top, ox * pixelStep);
                    int c = 0;
                    if (kh == 3 && kw == 3)
                    {
                        // The common 3x3 unrolled: the tap addresses are three row references and two column steps.
                        for (; c <= coutP - 16; c += 16)
                        {
                            ref sbyte r0 = ref Unsafe.Add(ref px, c);
                            ref sbyte r1 = ref Unsafe.Add(ref r0, rowStep);
                            ref sbyte r2 = ref Unsafe.Add(ref r1, rowStep);
                            ref short wq = ref Unsafe.Add(ref w, 2 * c);
                            var x0 = Vector128.LoadUnsafe(ref r0);
                            var x1 = Vector128.LoadUnsafe(ref r0, (nuint)columnStep);
                            var acc0 = q.Init(c) + PairLow(x0, x1, ref wq);
                            var acc1 = q.Init(c + 8) + PairHigh(x0, x1, ref wq);
                            wq = ref Unsafe.Add(ref wq, pairStride);
                            x0 = Vector128.LoadUnsafe(ref r0, (nuint)(2 * columnStep));
                            x1 = Vector128.LoadUnsafe(ref r1);
                            acc0 += PairLow(x0, x1, ref wq);
                            acc1 += PairHigh(x0, x1, ref wq);
                            wq = ref Unsafe.Add(ref wq, pairStride);
                            x0 = Vector128.LoadUnsafe(ref r1, (nuint)columnStep);
                            x1 = Vector128.LoadUnsafe(ref r1, (nuint)(2 * columnStep));
                            acc0 += PairLow(x0, x1, ref wq);
                            acc1 += PairHigh(x0, x1, ref wq);
                            wq = ref Unsafe.Add(ref wq, pairStride);
                            x0 = Vector128.LoadUnsafe(ref r2);
                            x1 = Vector128.LoadUnsafe(ref r2, (nuint)columnStep);
                            acc0 += PairLow(x0, x1, ref wq);
                            acc1 += PairHigh(x0, x1, ref wq);
                            wq = ref Unsafe.Add(ref wq, pairStride);
                            x0 = Vector128.LoadUnsafe(ref r2, (nuint)(2 * columnStep));
                            acc0 += PairLow(x0, Vector128<sbyte>.Zero, ref wq);
                            acc1 += PairHigh(x0, Vector128<sbyte>.Zero, ref wq);
                            acc0.StoreUnsafe(ref a, (nuint)c);
                            acc1.StoreUnsafe(ref a, (nuint)c + 8);
                        }
                    }
                    for (; c <= coutP - 16; c += 16)
                    {
                        var acc0 = q.Init(c);
                        var acc1 = q.Init(c + 8);
                        ref short wq = ref Unsafe.Add(ref w, 2 * c);
                        ref sbyte pc = ref Unsafe.Add(ref px, c);
                        for (int t = 0; t < pairCount; t++)
                        {
                            var x0 = Vector128.LoadUnsafe(ref pc, (nuint)Unsafe.Add(ref offRef, 2 * t));
                            var x1 = Vector128.LoadUnsafe(ref pc, (nuint)Unsafe.Add(ref offRef, 2 * t + 1));
                            acc0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackLow(x0, x1)), Vector256.LoadUnsafe(ref wq));
                            acc1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(x0, x1)), Vector256.LoadUnsafe(ref wq, 16));
                            wq = ref Unsafe.Add(ref wq, pairStride);
                        }
                        if ((taps & 1) != 0)
                        {
                            // The last pair's second weight is zero: pair the last tap with zeros.
                            var x0 = Vector128.LoadUnsafe(ref pc, (nuint)Unsafe.Add(ref offRef, taps - 1));
                            acc0 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackLow(x0, Vector128<sbyte>.Zero)), Vector256.LoadUnsafe(ref wq));
                            acc1 += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(x0, Vector128<sbyte>.Zero)), Vector256.LoadUnsafe(ref wq, 16));
                        }
                        acc0.StoreUnsafe(ref a, (nuint)c);
                        acc1.StoreUnsafe(ref a, (nuint)c + 8);
                    }
                    if (c < coutP)
                    {
                        var acc = q.Init(c);
                        ref short wq = ref Unsafe.Add(ref w, 2 * c);
                        ref sbyte pc = ref Unsafe.Add(ref px, c);
                        for (int t = 0; t < pairCount; t++)
                        {
                            var x0 = Load8(ref Unsafe.Add(ref pc, Unsafe.Add(ref offRef, 2 * t)));
                            var x1 = Load8(ref Unsafe.Add(ref pc, Unsafe.Add(ref offRef, 2 * t + 1)));
                            acc += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackLow(x0, x1)), Vector256.LoadUnsafe(ref wq));
                            wq = ref Unsafe.Add(ref wq, pairStride);
                        }
                        if ((taps & 1) != 0)
                        {
                            var x0 = Load8(ref Unsafe.Add(ref pc, Unsafe.Add(ref offRef, taps - 1)));
                            acc += Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackLow(x0, Vector128<sbyte>.Zero)), Vector256.LoadUnsafe(ref wq));
                        }
                        acc.StoreUnsafe(ref a, (nuint)c);
                    }
                    if (slot == group - 1 || ox == outW - 1)
                        q.Store(slot + 1, ref accRef, coutP, cout, ref Unsafe.Add(ref o, (ox - slot) * cout), cout);
                }
            }
        }
        return true;
    }

    /// <summary>Input row iy (or the zero point, outside the image) copied over the padded columns.</summary>
    private static void StageRow(in Conv2DParams p, ReadOnlySpan<sbyte> input, int b, int iy, int inH, int inW, int cin, int lo, int hi,
        sbyte zeroPoint, Span<sbyte> row)
    {
        if ((uint)iy >= (uint)inH)
        {
            row.Fill(zeroPoint);
            return;
        }
        row.Slice(0, lo * cin).Fill(zeroPoint);
        input.Slice(((b * inH + iy) * inW + lo - p.PadLeft) * cin, (hi - lo) * cin).CopyTo(row.Slice(lo * cin));
        row.Slice(hi * cin).Fill(zeroPoint);
    }

    /// <summary>Channels 0..7 of two taps, interleaved per channel and widened, times the channels' weight pairs.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairLow(Vector128<sbyte> x0, Vector128<sbyte> x1, ref short w)
        => Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackLow(x0, x1)), Vector256.LoadUnsafe(ref w));

    /// <summary>Channels 8..15 of two taps, as <see cref="PairLow"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> PairHigh(Vector128<sbyte> x0, Vector128<sbyte> x1, ref short w)
        => Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(Sse2.UnpackHigh(x0, x1)), Vector256.LoadUnsafe(ref w, 16));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Load8(ref sbyte from) => Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref from))).AsSByte();
}
