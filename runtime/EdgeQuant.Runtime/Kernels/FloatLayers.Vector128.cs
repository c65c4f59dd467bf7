using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class FloatLayers
{
    // Four output channels per vector: each lane adds its products in the reference's order (bias, then ky, kx,
    // ic), with a separate multiply and add, so every lane rounds exactly as the scalar loop does.

    internal static void ConvF32Vector128(in DynamicConvParams p, ReadOnlySpan<float> input, in Shape4 inShape,
        float[] transposed, in Shape4 filterShape, ReadOnlySpan<float> bias, Span<float> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float f = ref MemoryMarshal.GetArrayDataReference(transposed);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * cout;
                    int oc = 0;
                    for (; oc <= cout - 4; oc += 4)
                    {
                        var acc = Vector128.LoadUnsafe(ref bRef, (nuint)oc);
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int inBase = ((b * inH + iy) * inW + ix) * cin;
                                int fBase = (ky * kw + kx) * cin * cout + oc;
                                for (int ic = 0; ic < cin; ic++)
                                {
                                    var prod = Vector128.Create(Unsafe.Add(ref x, inBase + ic)) * Vector128.LoadUnsafe(ref f, (nuint)(fBase + ic * cout));
                                    acc += prod;
                                }
                            }
                        }
                        StoreClamped(acc, output.Slice(outBase + oc, 4), p.ActivationMin, p.ActivationMax);
                    }
                    for (; oc < cout; oc++)
                    {
                        float acc = bias[oc];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                int inBase = ((b * inH + iy) * inW + ix) * cin;
                                int fBase = (ky * kw + kx) * cin * cout + oc;
                                for (int ic = 0; ic < cin; ic++)
                                {
                                    float prod = Unsafe.Add(ref x, inBase + ic) * Unsafe.Add(ref f, fBase + ic * cout);
                                    acc += prod;
                                }
                            }
                        }
                        output[outBase + oc] = Clamp(acc, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    internal static void DepthwiseF32Vector128(in DynamicConvParams p, ReadOnlySpan<float> input, in Shape4 inShape,
        ReadOnlySpan<float> filter, in Shape4 filterShape, ReadOnlySpan<float> bias, Span<float> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float f = ref MemoryMarshal.GetReference(filter);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * c;
                    int ch = 0;
                    for (; ch <= c - 4; ch += 4)
                    {
                        var acc = Vector128.LoadUnsafe(ref bRef, (nuint)ch);
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                var prod = Vector128.LoadUnsafe(ref x, (nuint)(((b * inH + iy) * inW + ix) * c + ch)) * Vector128.LoadUnsafe(ref f, (nuint)((ky * kw + kx) * c + ch));
                                acc += prod;
                            }
                        }
                        StoreClamped(acc, output.Slice(outBase + ch, 4), p.ActivationMin, p.ActivationMax);
                    }
                    for (; ch < c; ch++)
                    {
                        float acc = bias[ch];
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                float prod = input[((b * inH + iy) * inW + ix) * c + ch] * filter[(ky * kw + kx) * c + ch];
                                acc += prod;
                            }
                        }
                        output[outBase + ch] = Clamp(acc, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    internal static void FullyConnectedF32Vector128(ReadOnlySpan<float> input, int batches, int cin, float[] transposed, int cout,
        ReadOnlySpan<float> bias, float min, float max, Span<float> output)
    {
        ref float x = ref MemoryMarshal.GetReference(input);
        ref float f = ref MemoryMarshal.GetArrayDataReference(transposed);
        ref float bRef = ref MemoryMarshal.GetReference(bias);
        for (int b = 0; b < batches; b++)
        {
            int oc = 0;
            for (; oc <= cout - 4; oc += 4)
            {
                var acc = Vector128.LoadUnsafe(ref bRef, (nuint)oc);
                for (int ic = 0; ic < cin; ic++)
                {
                    var prod = Vector128.Create(Unsafe.Add(ref x, b * cin + ic)) * Vector128.LoadUnsafe(ref f, (nuint)(ic * cout + oc));
                    acc += prod;
                }
                StoreClamped(acc, output.Slice(b * cout + oc, 4), min, max);
            }
            for (; oc < cout; oc++)
            {
                float acc = bias[oc];
                for (int ic = 0; ic < cin; ic++)
                {
                    float prod = Unsafe.Add(ref x, b * cin + ic) * Unsafe.Add(ref f, ic * cout + oc);
                    acc += prod;
                }
                output[b * cout + oc] = Clamp(acc, min, max);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreClamped(Vector128<float> v, Span<float> to, float min, float max)
    {
        to[0] = Clamp(v.GetElement(0), min, max);
        to[1] = Clamp(v.GetElement(1), min, max);
        to[2] = Clamp(v.GetElement(2), min, max);
        to[3] = Clamp(v.GetElement(3), min, max);
    }
}
