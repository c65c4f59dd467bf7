using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest Kh x Kw x Cin handled by the small-K path (stems: Cin = 1 or 3).</summary>
    internal const int SmallKLimit = 64;

    /// <summary>
    /// Convolutions with a short inner product (Kh x Kw x Cin &lt;= <see cref="SmallKLimit"/>, e.g. a
    /// 3x3 stem on a 1- or 3-channel image). A dot product of 9 or 27 bytes wastes most of a vector,
    /// so this path vectorises over output channels instead: per output pixel the taps are gathered
    /// as int32 (padded taps hold the zero point), and acc[oc] = folded bias + sum_t x[t] x w[t][oc]
    /// is built by broadcasting each tap against a tap-major copy of the filter. Same accumulator as
    /// the reference (the folded bias absorbs inputOffset x sum(w)), same requantization.
    /// </summary>
    internal static bool TryEvalS8SmallK(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int cout = outShape.D3;
        int[]? byTap = packed.ByTap;
        if (byTap is null || (uint)(128 - p.InputOffset) > 255)
            return false;
        bool wide = Avx2.IsSupported && cout % 8 == 0;
        if (!wide && (!Vector128.IsHardwareAccelerated || cout % 4 != 0))
            return false;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2, k = kh * kw * cin;
        int zeroPoint = -p.InputOffset;
        Span<int> taps = stackalloc int[SmallKLimit];
        ref int w = ref MemoryMarshal.GetArrayDataReference(byTap);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mult = ref MemoryMarshal.GetReference(multipliers);
        ref int shift = ref MemoryMarshal.GetReference(shifts);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        ref int tap = ref MemoryMarshal.GetReference(taps);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    ref sbyte o = ref Unsafe.Add(ref dst, ((b * outShape.D1 + oy) * outShape.D2 + ox) * cout);
                    if (wide && iy0 >= 0 && ix0 >= 0 && iy0 + (kh - 1) * p.DilationH < inH && ix0 + (kw - 1) * p.DilationW < inW)
                    {
                        // Interior pixel: every tap is in the image; read the taps in place.
                        SmallKInterior256(p, ref Unsafe.Add(ref src, ((b * inH + iy0) * inW + ix0) * cin), inW * cin * p.DilationH, cin * p.DilationW,
                            kh, kw, cin, ref w, ref init, ref mult, ref shift, cout, ref o);
                        continue;
                    }
                    int t = 0;
                    for (int ky = 0; ky < kh; ky++)
                    {
                        int iy = iy0 + ky * p.DilationH;
                        for (int kx = 0; kx < kw; kx++)
                        {
                            int ix = ix0 + kx * p.DilationW;
                            if ((uint)iy >= (uint)inH || (uint)ix >= (uint)inW)
                            {
                                for (int c = 0; c < cin; c++) Unsafe.Add(ref tap, t++) = zeroPoint;
                                continue;
                            }
                            ref sbyte px = ref Unsafe.Add(ref src, ((b * inH + iy) * inW + ix) * cin);
                            for (int c = 0; c < cin; c++) Unsafe.Add(ref tap, t++) = Unsafe.Add(ref px, c);
                        }
                    }
                    if (wide) SmallKPixel256(p, ref tap, k, ref w, ref init, ref mult, ref shift, cout, ref o);
                    else SmallKPixel128(p, ref tap, k, ref w, ref init, ref mult, ref shift, cout, ref o);
                }
        return true;
    }

    private static void SmallKInterior256(in Conv2DParams p, ref sbyte px, int rowStride, int colStride, int kh, int kw, int cin,
        ref int w, ref int init, ref int mult, ref int shift, int cout, ref sbyte o)
    {
        var offset = Vector256.Create(p.OutputOffset);
        var min = Vector256.Create(p.ActivationMin);
        var max = Vector256.Create(p.ActivationMax);
        for (int j = 0; j < cout; j += 8)
        {
            var acc = Vector256.LoadUnsafe(ref init, (nuint)j);
            ref int wt = ref Unsafe.Add(ref w, j);
            for (int ky = 0; ky < kh; ky++)
            {
                ref sbyte row = ref Unsafe.Add(ref px, ky * rowStride);
                for (int kx = 0; kx < kw; kx++)
                {
                    ref sbyte tapPx = ref Unsafe.Add(ref row, kx * colStride);
                    for (int c = 0; c < cin; c++)
                    {
                        acc += Vector256.Create((int)Unsafe.Add(ref tapPx, c)) * Vector256.LoadUnsafe(ref wt);
                        wt = ref Unsafe.Add(ref wt, cout);
                    }
                }
            }
            var v = SimdOps256.RequantizeClamp(acc, Vector256.LoadUnsafe(ref mult, (nuint)j), Vector256.LoadUnsafe(ref shift, (nuint)j), offset, min, max);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, j)), SimdOps256.Pack8(v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallKPixel256(in Conv2DParams p, ref int tap, int k, ref int w, ref int init,
        ref int mult, ref int shift, int cout, ref sbyte o)
    {
        var offset = Vector256.Create(p.OutputOffset);
        var min = Vector256.Create(p.ActivationMin);
        var max = Vector256.Create(p.ActivationMax);
        for (int j = 0; j < cout; j += 8)
        {
            var acc = Vector256.LoadUnsafe(ref init, (nuint)j);
            for (int t = 0; t < k; t++)
                acc += Vector256.Create(Unsafe.Add(ref tap, t)) * Vector256.LoadUnsafe(ref w, (nuint)(t * cout + j));
            var v = SimdOps256.RequantizeClamp(acc, Vector256.LoadUnsafe(ref mult, (nuint)j), Vector256.LoadUnsafe(ref shift, (nuint)j), offset, min, max);
            Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, j)), SimdOps256.Pack8(v));
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void SmallKPixel128(in Conv2DParams p, ref int tap, int k, ref int w, ref int init,
        ref int mult, ref int shift, int cout, ref sbyte o)
    {
        var offset = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        for (int j = 0; j < cout; j += 4)
        {
            var acc = Vector128.LoadUnsafe(ref init, (nuint)j);
            for (int t = 0; t < k; t++)
                acc += Vector128.Create(Unsafe.Add(ref tap, t)) * Vector128.LoadUnsafe(ref w, (nuint)(t * cout + j));
            SimdOps.RequantizeStore4(acc, Vector128.LoadUnsafe(ref mult, (nuint)j), Vector128.LoadUnsafe(ref shift, (nuint)j), offset, min, max, ref Unsafe.Add(ref o, j));
        }
    }
}
