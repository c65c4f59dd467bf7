using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DepthwiseConv2D
{
    /// <summary>
    /// Portable Vector128 (NEON on arm64): 16 channels per step, widened to int16
    /// (SXTL), multiplied exactly in int16 (MUL), widened into four int32 accumulators (SADDW);
    /// requantized through <see cref="SimdOps"/>. Remaining channels take the scalar tail. Depth
    /// multipliers 2..16 gather their input lanes with a shuffle (<see cref="PixelVector128Gather"/>).
    /// </summary>
    internal static bool TryEvalS8Vector128(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        ReadOnlySpan<sbyte> filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int mult = p.DepthMultiplier;
        if ((uint)(mult - 1) >= MaxVectorMultiplier || (uint)(128 - p.InputOffset) > 255)
            return false;
        int batches = inShape.D0, outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        // Depth multiplier m > 1: output channel oc reads input channel oc / m, so a block of 16 output
        // channels starting at oc0 gathers input lanes (oc0 % m + j) / m from oc0 / m: one table row per oc0 % m.
        Span<byte> gather = stackalloc byte[mult > 1 ? mult * 16 : 0];
        for (int r = 0; r < gather.Length / 16; r++)
            for (int j = 0; j < 16; j++)
                gather[r * 16 + j] = (byte)((r + j) / mult);
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    var outPixel = output.Slice(((b * outH + oy) * outW + ox) * cout, cout);
                    int c = mult == 1
                        ? PixelVector128(p, input, inShape, filter, kh, kw, bias, multipliers, shifts, outPixel, b, iy0, ix0)
                        : PixelVector128Gather(p, input, inShape, filter, kh, kw, bias, multipliers, shifts, outPixel, b, iy0, ix0, gather);
                    if (c < cout)
                        ScalarChannels(p, input, inShape, filter, kh, kw, bias, multipliers, shifts, outPixel, b, iy0, ix0, c);
                }
        return true;
    }

    /// <summary>Depth multipliers up to this take the vector path (the gather table lives on the stack).</summary>
    private const int MaxVectorMultiplier = 16;

    /// <summary>
    /// <see cref="PixelVector128"/> for depth multiplier m &gt; 1: each tap's 16 input bytes from oc0 / m are
    /// spread over the block's output channels by a byte shuffle (TBL on arm64, PSHUFB on x64). A block
    /// is vectorized only while its 16-byte loads stay inside the input; the rest take the scalar tail.
    /// </summary>
    internal static int PixelVector128Gather(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, ReadOnlySpan<sbyte> filter, int kh, int kw,
        ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> outPixel, int b, int iy0, int ix0, ReadOnlySpan<byte> gather)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3, cout = outPixel.Length, mult = p.DepthMultiplier;
        // The largest input pixel any valid tap reads bounds the loads.
        int lastY = -1, lastX = -1;
        for (int ky = 0; ky < kh; ky++) { int iy = iy0 + ky * p.DilationH; if ((uint)iy < (uint)inH) lastY = iy; }
        for (int kx = 0; kx < kw; kx++) { int ix = ix0 + kx * p.DilationW; if ((uint)ix < (uint)inW) lastX = ix; }
        int lastBase = lastY < 0 || lastX < 0 ? 0 : ((b * inH + lastY) * inW + lastX) * cin;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte fRef = ref MemoryMarshal.GetReference(filter);
        ref int bRef = ref MemoryMarshal.GetReference(bias);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        ref byte gRef = ref MemoryMarshal.GetReference(gather);
        var inOff = Vector128.Create((short)p.InputOffset);
        var outOff = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        int c = 0;
        for (; c <= cout - 16 && lastBase + c / mult + 16 <= input.Length; c += 16)
        {
            int ic0 = c / mult;
            var lanes = Vector128.LoadUnsafe(ref gRef, (nuint)(c % mult * 16)).AsSByte();
            var a0 = Vector128.LoadUnsafe(ref bRef, (nuint)c);
            var a1 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 4);
            var a2 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 8);
            var a3 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 12);
            for (int ky = 0; ky < kh; ky++)
            {
                int iy = iy0 + ky * p.DilationH;
                if ((uint)iy >= (uint)inH) continue;
                for (int kx = 0; kx < kw; kx++)
                {
                    int ix = ix0 + kx * p.DilationW;
                    if ((uint)ix >= (uint)inW) continue;
                    var x = Vector128.Shuffle(Vector128.LoadUnsafe(ref inRef, (nuint)(((b * inH + iy) * inW + ix) * cin + ic0)), lanes);
                    var w = Vector128.LoadUnsafe(ref fRef, (nuint)((ky * kw + kx) * cout + c));
                    var lo = (Vector128.WidenLower(x) + inOff) * Vector128.WidenLower(w);
                    var hi = (Vector128.WidenUpper(x) + inOff) * Vector128.WidenUpper(w);
                    a0 += Vector128.WidenLower(lo);
                    a1 += Vector128.WidenUpper(lo);
                    a2 += Vector128.WidenLower(hi);
                    a3 += Vector128.WidenUpper(hi);
                }
            }
            a0 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a0, Vector128.LoadUnsafe(ref mRef, (nuint)c), Vector128.LoadUnsafe(ref sRef, (nuint)c)) + outOff, min, max);
            a1 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a1, Vector128.LoadUnsafe(ref mRef, (nuint)c + 4), Vector128.LoadUnsafe(ref sRef, (nuint)c + 4)) + outOff, min, max);
            a2 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a2, Vector128.LoadUnsafe(ref mRef, (nuint)c + 8), Vector128.LoadUnsafe(ref sRef, (nuint)c + 8)) + outOff, min, max);
            a3 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a3, Vector128.LoadUnsafe(ref mRef, (nuint)c + 12), Vector128.LoadUnsafe(ref sRef, (nuint)c + 12)) + outOff, min, max);
            SimdOps.Narrow16(a0, a1, a2, a3).StoreUnsafe(ref MemoryMarshal.GetReference(outPixel), (nuint)c);
        }
        return c;
    }

    /// <summary>The channel loop of one output pixel; returns the first channel left for the scalar tail.</summary>
    internal static int PixelVector128(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, ReadOnlySpan<sbyte> filter, int kh, int kw,
        ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> outPixel, int b, int iy0, int ix0)
    {
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3, cout = outPixel.Length;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte fRef = ref MemoryMarshal.GetReference(filter);
        ref int bRef = ref MemoryMarshal.GetReference(bias);
        ref int mRef = ref MemoryMarshal.GetReference(multipliers);
        ref int sRef = ref MemoryMarshal.GetReference(shifts);
        var inOff = Vector128.Create((short)p.InputOffset);
        var outOff = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        int c = 0;
        for (; c <= cout - 16; c += 16)
        {
            var a0 = Vector128.LoadUnsafe(ref bRef, (nuint)c);
            var a1 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 4);
            var a2 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 8);
            var a3 = Vector128.LoadUnsafe(ref bRef, (nuint)c + 12);
            for (int ky = 0; ky < kh; ky++)
            {
                int iy = iy0 + ky * p.DilationH;
                if ((uint)iy >= (uint)inH) continue;
                for (int kx = 0; kx < kw; kx++)
                {
                    int ix = ix0 + kx * p.DilationW;
                    if ((uint)ix >= (uint)inW) continue;
                    var x = Vector128.LoadUnsafe(ref inRef, (nuint)(((b * inH + iy) * inW + ix) * cin + c));
                    var w = Vector128.LoadUnsafe(ref fRef, (nuint)((ky * kw + kx) * cout + c));
                    var lo = (Vector128.WidenLower(x) + inOff) * Vector128.WidenLower(w);
                    var hi = (Vector128.WidenUpper(x) + inOff) * Vector128.WidenUpper(w);
                    a0 += Vector128.WidenLower(lo);
                    a1 += Vector128.WidenUpper(lo);
                    a2 += Vector128.WidenLower(hi);
                    a3 += Vector128.WidenUpper(hi);
                }
            }
            a0 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a0, Vector128.LoadUnsafe(ref mRef, (nuint)c), Vector128.LoadUnsafe(ref sRef, (nuint)c)) + outOff, min, max);
            a1 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a1, Vector128.LoadUnsafe(ref mRef, (nuint)c + 4), Vector128.LoadUnsafe(ref sRef, (nuint)c + 4)) + outOff, min, max);
            a2 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a2, Vector128.LoadUnsafe(ref mRef, (nuint)c + 8), Vector128.LoadUnsafe(ref sRef, (nuint)c + 8)) + outOff, min, max);
            a3 = Clamp(SimdOps.MultiplyByQuantizedMultiplier(a3, Vector128.LoadUnsafe(ref mRef, (nuint)c + 12), Vector128.LoadUnsafe(ref sRef, (nuint)c + 12)) + outOff, min, max);
            SimdOps.Narrow16(a0, a1, a2, a3).StoreUnsafe(ref MemoryMarshal.GetReference(outPixel), (nuint)c);
        }
        return c;
    }

    private static Vector128<int> Clamp(Vector128<int> v, Vector128<int> min, Vector128<int> max) => Vector128.Min(Vector128.Max(v, min), max);
}
