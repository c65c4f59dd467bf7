using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>
    /// AVX2, depth multiplier 1: 16 channels per step. Per valid tap, x + inputOffset (in [-255, 255]
    /// for a zero point in int8)
    /// times w fits int16 exactly (|product| &lt;= 32640), so VPMULLW, then sign extension into two
    /// int32 accumulators. Remaining channels take the scalar tail.
    /// </summary>
    internal static bool TryEvalS8Avx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        if (!Avx2.IsSupported || p.DepthMultiplier != 1 || (uint)(128 - p.InputOffset) > 255)
            return false;
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte fRef = ref MemoryMarshal.GetReference(filter);
        ref int bRef = ref MemoryMarshal.GetReference(bias);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        var inOff = Vector256.Create((short)p.InputOffset);
        var outOff = Vector256.Create(p.OutputOffset);
        var min = Vector256.Create(p.ActivationMin);
        var max = Vector256.Create(p.ActivationMax);
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    int outBase = ((b * outH + oy) * outW + ox) * cout;
                    int c = 0;
                    for (; c <= cout - 16; c += 16)
                    {
                        var acc0 = Vector256.LoadUnsafe(ref bRef, (nuint)c);
                        var acc1 = Vector256.LoadUnsafe(ref bRef, (nuint)c + 8);
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = iy0 + ky * p.DilationH;
                            if ((uint)iy >= (uint)inH) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ix0 + kx * p.DilationW;
                                if ((uint)ix >= (uint)inW) continue;
                                var x = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref inRef, (nuint)(((b * inH + iy) * inW + ix) * cin + c))) + inOff;
                                var w = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref fRef, (nuint)((ky * kw + kx) * cout + c)));
                                var prod = x * w;
                                acc0 += Avx2.ConvertToVector256Int32(prod.GetLower());
                                acc1 += Avx2.ConvertToVector256Int32(prod.GetUpper());
                            }
                        }
                        acc0 = SimdOps256.RequantizeClamp(acc0, Vector256.LoadUnsafe(ref mRef, (nuint)c), Vector256.LoadUnsafe(ref sRef, (nuint)c), outOff, min, max);
                        acc1 = SimdOps256.RequantizeClamp(acc1, Vector256.LoadUnsafe(ref mRef, (nuint)c + 8), Vector256.LoadUnsafe(ref sRef, (nuint)c + 8), outOff, min, max);
                        SimdOps256.Pack16(acc0, acc1).StoreUnsafe(ref MemoryMarshal.GetReference(output), (nuint)(outBase + c));
                    }
                    if (c < cout)
                        ScalarChannels(p, input, inShape, filter, kh, kw, bias, multipliers, shifts, output.Slice(outBase, cout), b, iy0, ix0, c);
                }
        return true;
    }
}
