using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Mean
{
    /// <summary>
    /// Vector128 over channels, 16 per step: int32 sums of the widened inputs over H x W, plus
    /// H x W x InputOffset (the same value modulo 2^32 as the reference's running sum), pre-shifted by
    /// <see cref="HeadroomShift"/> and requantized with <see cref="SimdOps.MultiplyByQuantizedMultiplier"/>;
    /// then the scalar tail. Only channels [<paramref name="c0"/>, <paramref name="c1"/>) are computed (c1 &lt; 0: all), so
    /// threads can share the op by channel ranges.
    /// </summary>
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
        for (int b = 0; b < inShape.D0; b++)
        {
            int ch = c0;
            for (; ch <= c1 - 16; ch += 16)
            {
                Vector128<int> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int i = 0; i < hw; i++)
                {
                    var v = Vector128.LoadUnsafe(ref inRef, (nuint)((b * hw + i) * c + ch));
                    var lo = Vector128.WidenLower(v);
                    var hi = Vector128.WidenUpper(v);
                    a0 += Vector128.WidenLower(lo);
                    a1 += Vector128.WidenUpper(lo);
                    a2 += Vector128.WidenLower(hi);
                    a3 += Vector128.WidenUpper(hi);
                }
                SimdOps.Narrow16(
                    Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a0 + offset, l), m, s) + oo, min, max),
                    Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a1 + offset, l), m, s) + oo, min, max),
                    Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a2 + offset, l), m, s) + oo, min, max),
                    Clamp(SimdOps.MultiplyByQuantizedMultiplier(Vector128.ShiftLeft(a3 + offset, l), m, s) + oo, min, max)).StoreUnsafe(ref outRef, (nuint)(b * c + ch));
            }
            for (; ch < c1; ch++)
            {
                int acc = 0;
                for (int i = 0; i < hw; i++)
                    acc += Unsafe.Add(ref inRef, (b * hw + i) * c + ch) + p.InputOffset;
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc << l, p.Multiplier, p.Shift - l) + p.OutputOffset;
                Unsafe.Add(ref outRef, b * c + ch) = (sbyte)System.Math.Clamp(v, -128, 127);
            }
        }
    }

    private static Vector128<int> Clamp(Vector128<int> v, Vector128<int> min, Vector128<int> max) => Vector128.Min(Vector128.Max(v, min), max);
}
