using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Int16Ops
{
    // Integer sums are exact in any order, so the vector paths only have to keep every partial sum from
    // overflowing: an int16 x int8 product is below 2^22 in magnitude, and an int32 lane takes at most
    // 2 x 128 of them before it is added to the 64-bit total.
    private const int BlockElements = 1024;

    /// <summary>Σ x[i] × w[i] over n elements, exact, in 64 bits.</summary>
    internal static long Dot(ref short x, ref sbyte w, int n)
    {
        long total = 0;
        int i = 0;
        while (n - i >= 8)
        {
            int end = System.Math.Min(n, i + BlockElements);
            var acc = Vector128<int>.Zero;
            for (; i <= end - 8; i += 8)
            {
                var xv = Vector128.LoadUnsafe(ref x, (nuint)i);
                var wv = Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref w, i)))).AsSByte());
                var (xl, xh) = Vector128.Widen(xv);
                var (wl, wh) = Vector128.Widen(wv);
                acc += xl * wl + xh * wh;
            }
            total += Vector128.Sum(Vector128.WidenLower(acc)) + Vector128.Sum(Vector128.WidenUpper(acc));
        }
        for (; i < n; i++) total += Unsafe.Add(ref x, i) * Unsafe.Add(ref w, i);
        return total;
    }

    /// <summary>Four dot products of x with the rows w, w + stride, w + 2 stride, w + 3 stride (n elements each), exact, in 64 bits.</summary>
    internal static void Dot4(ref short x, ref sbyte w, int stride, int n, out long s0, out long s1, out long s2, out long s3)
    {
        s0 = s1 = s2 = s3 = 0;
        ref sbyte w1 = ref Unsafe.Add(ref w, stride), w2 = ref Unsafe.Add(ref w, 2 * stride), w3 = ref Unsafe.Add(ref w, 3 * stride);
        int i = 0;
        while (n - i >= 8)
        {
            int end = System.Math.Min(n, i + BlockElements);
            Vector128<int> a0 = Vector128<int>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; i <= end - 8; i += 8)
            {
                var (xl, xh) = Vector128.Widen(Vector128.LoadUnsafe(ref x, (nuint)i));
                var (l0, h0) = Vector128.Widen(Widen8(ref w, i));
                var (l1, h1) = Vector128.Widen(Widen8(ref w1, i));
                var (l2, h2) = Vector128.Widen(Widen8(ref w2, i));
                var (l3, h3) = Vector128.Widen(Widen8(ref w3, i));
                a0 += xl * l0 + xh * h0;
                a1 += xl * l1 + xh * h1;
                a2 += xl * l2 + xh * h2;
                a3 += xl * l3 + xh * h3;
            }
            s0 += Sum64(a0); s1 += Sum64(a1); s2 += Sum64(a2); s3 += Sum64(a3);
        }
        for (; i < n; i++)
        {
            int v = Unsafe.Add(ref x, i);
            s0 += v * Unsafe.Add(ref w, i);
            s1 += v * Unsafe.Add(ref w1, i);
            s2 += v * Unsafe.Add(ref w2, i);
            s3 += v * Unsafe.Add(ref w3, i);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<short> Widen8(ref sbyte w, int i)
        => Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref w, i)))).AsSByte());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static long Sum64(Vector128<int> v) => Vector128.Sum(Vector128.WidenLower(v)) + Vector128.Sum(Vector128.WidenUpper(v));

    internal static void FullyConnectedS16Vector128(in FullyConnectedParams p, ReadOnlySpan<short> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<long> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output)
    {
        ref short x = ref MemoryMarshal.GetReference(input);
        ref sbyte f = ref MemoryMarshal.GetReference(filter);
        for (int b = 0; b < batches; b++)
        {
            ref short row = ref Unsafe.Add(ref x, b * cin);
            int oc = 0;
            for (; oc <= cout - 4; oc += 4)
            {
                Dot4(ref row, ref Unsafe.Add(ref f, oc * cin), cin, cin, out long d0, out long d1, out long d2, out long d3);
                output[b * cout + oc] = Output(bias[oc] + d0, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
                output[b * cout + oc + 1] = Output(bias[oc + 1] + d1, multipliers[oc + 1], shifts[oc + 1], p.ActivationMin, p.ActivationMax);
                output[b * cout + oc + 2] = Output(bias[oc + 2] + d2, multipliers[oc + 2], shifts[oc + 2], p.ActivationMin, p.ActivationMax);
                output[b * cout + oc + 3] = Output(bias[oc + 3] + d3, multipliers[oc + 3], shifts[oc + 3], p.ActivationMin, p.ActivationMax);
            }
            for (; oc < cout; oc++)
            {
                long acc = bias[oc] + Dot(ref row, ref Unsafe.Add(ref f, oc * cin), cin);
                output[b * cout + oc] = Output(acc, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
            }
        }
    }

    /// <summary>
    /// Conv2DS16: the receptive field of each output position is gathered into <paramref name="patch"/> (Kh x Kw x Cin
    /// codes, 0 where the window is outside the input: zero point 0 makes padding contribute nothing), then each output
    /// channel is one dot product with its contiguous filter row.
    /// </summary>
    internal static void ConvS16Vector128(in Conv2DParams p, ReadOnlySpan<short> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<long> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output, in Shape4 outShape, Span<short> patch)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int k = kh * kw * cin;
        ref short pRef = ref MemoryMarshal.GetReference(patch);
        ref sbyte f = ref MemoryMarshal.GetReference(filter);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        int iy = iy0 + ky * p.DilationH;
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int ix = ix0 + kx * p.DilationW;
                            var to = patch.Slice((ky * kw + kx) * cin, cin);
                            if ((uint)iy >= (uint)inH || (uint)ix >= (uint)inW) to.Clear();
                            else input.Slice(((b * inH + iy) * inW + ix) * cin, cin).CopyTo(to);
                        }
                    }
                    int outBase = ((b * outH + oy) * outW + ox) * cout;
                    int oc = 0;
                    for (; oc <= cout - 4; oc += 4)
                    {
                        Dot4(ref pRef, ref Unsafe.Add(ref f, oc * k), k, k, out long d0, out long d1, out long d2, out long d3);
                        output[outBase + oc] = Output(bias[oc] + d0, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
                        output[outBase + oc + 1] = Output(bias[oc + 1] + d1, multipliers[oc + 1], shifts[oc + 1], p.ActivationMin, p.ActivationMax);
                        output[outBase + oc + 2] = Output(bias[oc + 2] + d2, multipliers[oc + 2], shifts[oc + 2], p.ActivationMin, p.ActivationMax);
                        output[outBase + oc + 3] = Output(bias[oc + 3] + d3, multipliers[oc + 3], shifts[oc + 3], p.ActivationMin, p.ActivationMax);
                    }
                    for (; oc < cout; oc++)
                    {
                        long acc = bias[oc] + Dot(ref pRef, ref Unsafe.Add(ref f, oc * k), k);
                        output[outBase + oc] = Output(acc, multipliers[oc], shifts[oc], p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>DepthwiseConv2DS16 with depth multiplier 1: 8 channels at a time, int32 lanes per tap block flushed to 64 bits.</summary>
    internal static void DepthwiseS16Vector128(in Conv2DParams p, ReadOnlySpan<short> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<long> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<short> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        ref short x = ref MemoryMarshal.GetReference(input);
        ref sbyte f = ref MemoryMarshal.GetReference(filter);
        Span<long> acc = stackalloc long[8];
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * c;
                    int ch = 0;
                    for (; ch <= c - 8; ch += 8)
                    {
                        var lo = Vector128<int>.Zero;
                        var hi = Vector128<int>.Zero;
                        var totalLo = Vector128<long>.Zero;
                        var totalHi = Vector128<long>.Zero;
                        var totalLo2 = Vector128<long>.Zero;
                        var totalHi2 = Vector128<long>.Zero;
                        int taps = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                var xv = Vector128.LoadUnsafe(ref x, (nuint)(((b * inH + iy) * inW + ix) * c + ch));
                                var wv = Vector128.WidenLower(Vector128.CreateScalar(Unsafe.ReadUnaligned<long>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref f, (ky * kw + kx) * c + ch)))).AsSByte());
                                var (xl, xh) = Vector128.Widen(xv);
                                var (wl, wh) = Vector128.Widen(wv);
                                lo += xl * wl;
                                hi += xh * wh;
                                if (++taps == 256)
                                {
                                    totalLo += Vector128.WidenLower(lo); totalLo2 += Vector128.WidenUpper(lo);
                                    totalHi += Vector128.WidenLower(hi); totalHi2 += Vector128.WidenUpper(hi);
                                    lo = hi = Vector128<int>.Zero;
                                    taps = 0;
                                }
                            }
                        }
                        totalLo += Vector128.WidenLower(lo); totalLo2 += Vector128.WidenUpper(lo);
                        totalHi += Vector128.WidenLower(hi); totalHi2 += Vector128.WidenUpper(hi);
                        totalLo.CopyTo(acc); totalLo2.CopyTo(acc.Slice(2)); totalHi.CopyTo(acc.Slice(4)); totalHi2.CopyTo(acc.Slice(6));
                        for (int k = 0; k < 8; k++)
                            output[outBase + ch + k] = Output(bias[ch + k] + acc[k], multipliers[ch + k], shifts[ch + k], p.ActivationMin, p.ActivationMax);
                    }
                    for (; ch < c; ch++)
                    {
                        long a = bias[ch];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                a += input[((b * inH + iy) * inW + ix) * c + ch] * filter[(ky * kw + kx) * c + ch];
                            }
                        }
                        output[outBase + ch] = Output(a, multipliers[ch], shifts[ch], p.ActivationMin, p.ActivationMax);
                    }
                }
    }
}
