using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>
    /// The fast path over one inner-product strategy. 1x1 without padding: the NHWC pixels are the
    /// rows (any stride, no copy). Otherwise im2col: each output pixel's taps are gathered into a
    /// scratch row (padded taps hold the input zero point, the row is zero-padded to a multiple of 16
    /// to match <see cref="PackedFilter.Padded"/>), a chunk of pixels at a time. The accumulators
    /// start from the folded bias, which accounts for the input offset of every tap.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    internal static bool TryEvalS8Fast<TDot>(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, PackedFilter packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape, Span<sbyte> scratch)
        where TDot : struct, IInt8Dot
    {
        // The zero point -InputOffset must be an int8 for the padded taps.
        if (!TDot.IsSupported || (uint)(128 - p.InputOffset) > 255)
            return false;
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int k = kh * kw * cin;
        ref sbyte outRef = ref MemoryMarshal.GetReference(output);

        if (kh == 1 && kw == 1 && p.PadTop == 0 && p.PadLeft == 0 && p.PadBottom == 0 && p.PadRight == 0)
        {
            ref sbyte inRef = ref MemoryMarshal.GetReference(input);
            ref sbyte w = ref MemoryMarshal.GetReference(filter);
            if (p.StrideH == 1 && p.StrideW == 1)
            {
                // Unit strides: the output pixels are the input pixels in order, one run of rows (fewer partial tiles).
                Int8Gemm.Run<TDot>(ref inRef, cin, batches * outH * outW, ref w, k, k, packed, multipliers, shifts,
                    p.OutputOffset, p.ActivationMin, p.ActivationMax, ref outRef, cout);
                return true;
            }
            for (int b = 0; b < batches; b++)
                for (int oy = 0; oy < outH; oy++)
                    Int8Gemm.Run<TDot>(ref Unsafe.Add(ref inRef, (nint)(b * inH + oy * p.StrideH) * inW * cin), (nint)p.StrideW * cin, outW,
                        ref w, k, k, packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax,
                        ref Unsafe.Add(ref outRef, (nint)(b * outH + oy) * outW * cout), cout);
            return true;
        }

        int kp = packed.KPadded;
        int chunk = System.Math.Min(outW, scratch.Length / kp);
        if (chunk == 0)
            return false;
        ref sbyte wRef = ref packed.Padded != null ? ref MemoryMarshal.GetArrayDataReference(packed.Padded) : ref MemoryMarshal.GetReference(filter);
        int kDot = packed.Padded != null ? kp : k;
        sbyte zeroPoint = (sbyte)(-p.InputOffset);
        ref sbyte col = ref MemoryMarshal.GetReference(scratch);
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox0 = 0; ox0 < outW; ox0 += chunk)
                {
                    int n = System.Math.Min(chunk, outW - ox0);
                    for (int j = 0; j < n; j++)
                        Im2ColPixel(p, input, inShape, kh, kw, b, oy, ox0 + j, scratch.Slice(j * kp, kp), k, zeroPoint);
                    Int8Gemm.Run<TDot>(ref col, kp, n, ref wRef, kDot, kDot, packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax,
                        ref Unsafe.Add(ref outRef, ((nint)(b * outH + oy) * outW + ox0) * cout), cout);
                }
        return true;
    }

    /// <summary>Gathers the [Kh, Kw, Cin] taps of one output pixel; out-of-image taps get the zero point, [k, kp) gets 0.</summary>
    private static void Im2ColPixel(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, int kh, int kw,
        int b, int oy, int ox, Span<sbyte> dst, int k, sbyte zeroPoint)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
        int rowLen = kw * cin;
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte d = ref MemoryMarshal.GetReference(dst);
        for (int ky = 0; ky < kh; ky++)
        {
            ref sbyte row = ref Unsafe.Add(ref d, ky * rowLen);
            int iy = iy0 + ky * p.DilationH;
            if ((uint)iy >= (uint)inH)
            {
                Fill(ref row, rowLen, zeroPoint);
                continue;
            }
            int rowBase = (b * inH + iy) * inW;
            if (p.DilationW == 1)
            {
                // The valid taps of a kernel row are contiguous in NHWC: one copy.
                int kxs = System.Math.Clamp(-ix0, 0, kw), kxe = System.Math.Clamp(inW - ix0, kxs, kw);
                Fill(ref row, kxs * cin, zeroPoint);
                Copy(ref Unsafe.Add(ref src, (rowBase + ix0 + kxs) * cin), ref Unsafe.Add(ref row, kxs * cin), (kxe - kxs) * cin);
                Fill(ref Unsafe.Add(ref row, kxe * cin), (kw - kxe) * cin, zeroPoint);
            }
            else
            {
                for (int kx = 0; kx < kw; kx++)
                {
                    int ix = ix0 + kx * p.DilationW;
                    if ((uint)ix >= (uint)inW) Fill(ref Unsafe.Add(ref row, kx * cin), cin, zeroPoint);
                    else Copy(ref Unsafe.Add(ref src, (rowBase + ix) * cin), ref Unsafe.Add(ref row, kx * cin), cin);
                }
            }
        }
        Fill(ref Unsafe.Add(ref d, k), dst.Length - k, 0);
    }

    // Runs are often a few bytes (Cin = 1 or 3 stems, 8-channel rows, a pixel's channels of a Concatenation input):
    // two overlapping moves of the largest width that fits beat both a byte loop and the memmove/memset call.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Copy(ref sbyte from, ref sbyte to, int n)
    {
        ref byte f = ref Unsafe.As<sbyte, byte>(ref from);
        ref byte t = ref Unsafe.As<sbyte, byte>(ref to);
        if (n > 64 || (n > 32 && !Vector256.IsHardwareAccelerated))
            Unsafe.CopyBlockUnaligned(ref t, ref f, (uint)n);
        else if (n > 32)
        {
            Vector256.LoadUnsafe(ref f).StoreUnsafe(ref t);
            Vector256.LoadUnsafe(ref f, (nuint)(n - 32)).StoreUnsafe(ref t, (nuint)(n - 32));
        }
        else if (n >= 16)
        {
            Vector128.LoadUnsafe(ref f).StoreUnsafe(ref t);
            Vector128.LoadUnsafe(ref f, (nuint)(n - 16)).StoreUnsafe(ref t, (nuint)(n - 16));
        }
        else if (n >= 8)
        {
            Unsafe.WriteUnaligned(ref t, Unsafe.ReadUnaligned<long>(ref f));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref t, n - 8), Unsafe.ReadUnaligned<long>(ref Unsafe.Add(ref f, n - 8)));
        }
        else if (n >= 4)
        {
            Unsafe.WriteUnaligned(ref t, Unsafe.ReadUnaligned<int>(ref f));
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref t, n - 4), Unsafe.ReadUnaligned<int>(ref Unsafe.Add(ref f, n - 4)));
        }
        else
            for (int i = 0; i < n; i++) Unsafe.Add(ref t, i) = Unsafe.Add(ref f, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Fill(ref sbyte to, int n, sbyte value)
    {
        ref byte t = ref Unsafe.As<sbyte, byte>(ref to);
        if (n > 32)
            Unsafe.InitBlockUnaligned(ref t, (byte)value, (uint)n);
        else if (n >= 16)
        {
            var v = Vector128.Create((byte)value);
            v.StoreUnsafe(ref t);
            v.StoreUnsafe(ref t, (nuint)(n - 16));
        }
        else if (n >= 8)
        {
            long v = (long)(0x0101010101010101UL * (byte)value);
            Unsafe.WriteUnaligned(ref t, v);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref t, n - 8), v);
        }
        else
            for (int i = 0; i < n; i++) Unsafe.Add(ref t, i) = (byte)value;
    }
}
