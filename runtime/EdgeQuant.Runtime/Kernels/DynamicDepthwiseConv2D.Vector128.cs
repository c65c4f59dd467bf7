using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DynamicConv2D
{
    /// <summary>
    /// DynamicDepthwiseConv2D with depth multiplier 1: channels in lanes, 8 per step (int16 products
    /// widened into two int32 accumulators), then a scalar tail from the same channel; exact integer
    /// sums, so the reference's bytes. Other multipliers take the reference.
    /// </summary>
    public static void EvalDepthwiseF32Vector128(in DynamicConvParams p, ReadOnlySpan<float> input, Shape4 inShape, ReadOnlySpan<sbyte> filter, Shape4 filterShape,
        ReadOnlySpan<float> scales, ReadOnlySpan<float> bias, Span<byte> codes, Span<float> output, Shape4 outShape)
    {
        DynamicQuantize.QuantizeU8(input.Slice(0, inShape.FlatSize), codes, out float scale, out int zp);
        int h = inShape.D1, w = inShape.D2, c = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int oh = outShape.D1, ow = outShape.D2;
        ref byte q = ref MemoryMarshal.GetReference(codes);
        ref sbyte f = ref MemoryMarshal.GetReference(filter);
        var z = Vector128.Create((short)zp);
        for (int b = 0; b < outShape.D0; b++)
            for (int oy = 0; oy < oh; oy++)
                for (int ox = 0; ox < ow; ox++)
                {
                    int o = ((b * oh + oy) * ow + ox) * c;
                    int ch = 0;
                    for (; ch <= c - 8; ch += 8)
                    {
                        var lo = Vector128<int>.Zero;
                        var hi = Vector128<int>.Zero;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * p.StrideH - p.PadTop + ky * p.DilationH;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * p.StrideW - p.PadLeft + kx * p.DilationW;
                                if (ix < 0 || ix >= w) continue;
                                var qv = Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.Add(ref q, ((b * h + iy) * w + ix) * c + ch))).AsByte()).AsInt16();
                                var wv = Vector128.WidenLower(Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref f, (ky * kw + kx) * c + ch)))).AsSByte());
                                var prod = (qv - z) * wv;
                                lo += Vector128.WidenLower(prod);
                                hi += Vector128.WidenUpper(prod);
                            }
                        }
                        for (int k = 0; k < 4; k++)
                        {
                            output[o + ch + k] = DynamicQuantize.Output(lo.GetElement(k), scale, scales[scales.Length == 1 ? 0 : ch + k], bias[ch + k], p.ActivationMin, p.ActivationMax);
                            output[o + ch + 4 + k] = DynamicQuantize.Output(hi.GetElement(k), scale, scales[scales.Length == 1 ? 0 : ch + 4 + k], bias[ch + 4 + k], p.ActivationMin, p.ActivationMax);
                        }
                    }
                    for (; ch < c; ch++)
                    {
                        int acc = 0;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * p.StrideH - p.PadTop + ky * p.DilationH;
                            if (iy < 0 || iy >= h) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * p.StrideW - p.PadLeft + kx * p.DilationW;
                                if (ix < 0 || ix >= w) continue;
                                acc += (codes[((b * h + iy) * w + ix) * c + ch] - zp) * filter[(ky * kw + kx) * c + ch];
                            }
                        }
                        output[o + ch] = DynamicQuantize.Output(acc, scale, scales[scales.Length == 1 ? 0 : ch], bias[ch], p.ActivationMin, p.ActivationMax);
                    }
                }
    }
}
