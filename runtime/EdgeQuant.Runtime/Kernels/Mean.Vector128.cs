using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Mean
{
    /// <summary>Most pixels summed in int16 before the sums are widened: 255 x 128 = 32,640 fits an int16.</summary>
    internal const int Int16Pixels = 255;

    /// <summary>Most channels whose int32 sums the 512-bit form keeps on the stack (4 KB).</summary>
    private const int MaxSumChannels = 1024;

    /// <summary>
    /// With 512-bit vectors and 64 channels or more, the sums are taken 64 channels per step (the last overlapping) into
    /// int32 on the stack and then requantized 16 at a time; else
    /// Vector128 over channels, 16 per step (a channel range that is not a multiple of 16 ends with a step
    /// overlapping the one before, which recomputes and stores identical bytes; below 16 channels, the scalar
    /// code): the inputs are summed in int16 over up to <see cref="Int16Pixels"/> pixels at a time (exact:
    /// |x| &lt;= 128), those sums widened into int32, plus H x W x InputOffset (the same value modulo 2^32 as the
    /// reference's running sum), pre-shifted by <see cref="HeadroomShift"/> and requantized with
    /// <see cref="SimdOps.MultiplyByQuantizedMultiplier"/>. Only channels [<paramref name="c0"/>,
    /// <paramref name="c1"/>) are computed (c1 &lt; 0: all), so threads can share the op by channel ranges.
    /// </summary>
    [SkipLocalsInit] // the 512-bit form writes every sum it reads
    internal static void EvalS8Vector128(in MeanParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, int c0 = 0, int c1 = -1)
    {
        int hw = inShape.D1 * inShape.D2, c = inShape.D3;
        if (c1 < 0) c1 = c;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte outRef = ref MemoryMarshal.GetReference(output);
        var offset = Vector128.Create(unchecked(hw * p.InputOffset));
        var m = Vector128.Create(p.Multiplier);
        int l = HeadroomShift(hw, p.Shift);
        var s = Vector128.Create(p.Shift - l);
        var oo = Vector128.Create(p.OutputOffset);
        var min = Vector128.Create(-128);
        var max = Vector128.Create(127);
        // The 512-bit form's int32 sums of one image.
        Span<int> sums = stackalloc int[Vector512.IsHardwareAccelerated && c1 - c0 >= 64 && c1 - c0 <= MaxSumChannels ? c1 - c0 : 0];
        ref int sr = ref MemoryMarshal.GetReference(sums);
        for (int b = 0; b < inShape.D0; b++)
        {
            ref sbyte image = ref Unsafe.Add(ref inRef, b * hw * c);
            if (c1 - c0 < 16)
            {
                for (int ch = c0; ch < c1; ch++)
                {
                    int acc = 0;
                    for (int i = 0; i < hw; i++)
                        acc += Unsafe.Add(ref image, i * c + ch) + p.InputOffset;
                    int v = QuantMath.MultiplyByQuantizedMultiplier(acc << l, p.Multiplier, p.Shift - l) + p.OutputOffset;
                    Unsafe.Add(ref outRef, b * c + ch) = (sbyte)System.Math.Clamp(v, -128, 127);
                }
                continue;
            }
            if (Vector512.IsHardwareAccelerated && c1 - c0 >= 64 && c1 - c0 <= MaxSumChannels)
            {
                // 64 channels per step (the sums summed as below, 512 bits wide), the int32 sums kept on the stack, then the
                // requantization 16 channels at a time: 7x7x88 took 0.20 us in 16-channel steps, and 16-channel steps of
                // the summing with their requantization interleaved.
                for (int ch0 = c0; ch0 < c1; ch0 += 64)
                {
                    int ch = System.Math.Min(ch0, c1 - 64);
                    Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default;
                    ref sbyte x = ref Unsafe.Add(ref image, ch);
                    for (int i0 = 0; i0 < hw; i0 += Int16Pixels)
                    {
                        int i1 = System.Math.Min(hw, i0 + Int16Pixels);
                        Vector512<short> lo = default, hi = default;
                        for (int i = i0; i < i1; i++)
                        {
                            var v = Vector512.LoadUnsafe(ref x, (nuint)(i * c));
                            lo += Vector512.WidenLower(v);
                            hi += Vector512.WidenUpper(v);
                        }
                        s0 += Vector512.WidenLower(lo);
                        s1 += Vector512.WidenUpper(lo);
                        s2 += Vector512.WidenLower(hi);
                        s3 += Vector512.WidenUpper(hi);
                    }
                    // WidenLower / WidenUpper of 512 bits take the lower and upper 256 bits: s0..s3 hold channels in order.
                    ref int at = ref Unsafe.Add(ref sr, ch - c0);
                    s0.StoreUnsafe(ref at);
                    s1.StoreUnsafe(ref at, 16);
                    s2.StoreUnsafe(ref at, 32);
                    s3.StoreUnsafe(ref at, 48);
                }
                for (int ch0 = c0; ch0 < c1; ch0 += 16)
                {
                    int ch = System.Math.Min(ch0, c1 - 16);
                    ref int at = ref Unsafe.Add(ref sr, ch - c0);
                    Requantize16(Vector128.LoadUnsafe(ref at), Vector128.LoadUnsafe(ref at, 4), Vector128.LoadUnsafe(ref at, 8), Vector128.LoadUnsafe(ref at, 12),
                        offset, l, m, s, oo, min, max).StoreUnsafe(ref outRef, (nuint)(b * c + ch));
                }
                continue;
            }
            for (int ch0 = c0; ch0 < c1; ch0 += 16)
            {
                int ch = System.Math.Min(ch0, c1 - 16);
                Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
                ref sbyte x = ref Unsafe.Add(ref image, ch);
                for (int i0 = 0; i0 < hw; i0 += Int16Pixels)
                {
                    int i1 = System.Math.Min(hw, i0 + Int16Pixels);
                    Vector128<short> lo = default, hi = default;
                    for (int i = i0; i < i1; i++)
                    {
                        var v = Vector128.LoadUnsafe(ref x, (nuint)(i * c));
                        lo += Vector128.WidenLower(v);
                        hi += Vector128.WidenUpper(v);
                    }
                    a0 += Vector128.WidenLower(lo);
                    a1 += Vector128.WidenUpper(lo);
                    a2 += Vector128.WidenLower(hi);
                    a3 += Vector128.WidenUpper(hi);
                }
                Requantize16(a0, a1, a2, a3, offset, l, m, s, oo, min, max).StoreUnsafe(ref outRef, (nuint)(b * c + ch));
            }
        }
    }

    /// <summary>16 channels' sums (4 per vector, in order) plus H x W x InputOffset, pre-shifted, requantized, offset, clamped and narrowed.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> Requantize16(Vector128<int> a0, Vector128<int> a1, Vector128<int> a2, Vector128<int> a3, Vector128<int> offset, int l,
        Vector128<int> m, Vector128<int> s, Vector128<int> oo, Vector128<int> min, Vector128<int> max)
        => SimdOps.Narrow16(
            Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a0 + offset, l), m, s) + oo, min, max),
            Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a1 + offset, l), m, s) + oo, min, max),
            Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a2 + offset, l), m, s) + oo, min, max),
            Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a3 + offset, l), m, s) + oo, min, max));

    private static Vector128<int> Clamp(Vector128<int> v, Vector128<int> min, Vector128<int> max) => Vector128.Min(Vector128.Max(v, min), max);
}
