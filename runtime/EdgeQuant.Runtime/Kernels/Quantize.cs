using EdgeQuant.Runtime.Math;
#if NET
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
#endif

namespace EdgeQuant.Runtime.Kernels;

/// <summary>The float boundary: Quantize (float32 to int8) and Dequantize (int8 to float32), per tensor.</summary>
public static class Quantize
{
    /// <summary>
    /// q = clamp(round_half_away(x / scale) + zeroPoint, -128, 127); NaN maps to the zero point. Eight values per step
    /// where 128-bit vectors are accelerated (QuantizeFour, net10.0 only: the same bytes as
    /// <see cref="QuantMath.QuantizeS8"/>), the rest one by one.
    /// </summary>
    public static void EvalF32ToS8(ReadOnlySpan<float> input, Span<sbyte> output, float scale, int zeroPoint)
    {
        int i = 0;
#if NET
        if (Vector128.IsHardwareAccelerated && output.Length >= input.Length)
        {
            var s = Vector128.Create(scale);
            var zp = Vector128.Create(zeroPoint);
            ref float src = ref MemoryMarshal.GetReference(input);
            ref sbyte dst = ref MemoryMarshal.GetReference(output);
            if (System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                // 16 lanes per step: the same exact steps (QuantizeSixteen), the results within [-128, 127] narrowed by VPMOVDB.
                var s16 = Vector512.Create(scale);
                var zp16 = Vector512.Create(zeroPoint);
                for (; i <= input.Length - 16; i += 16)
                    System.Runtime.Intrinsics.X86.Avx512F.ConvertToVector128SByte(QuantizeSixteen(Vector512.LoadUnsafe(ref src, (nuint)i), s16, zp16))
                        .StoreUnsafe(ref dst, (nuint)i);
            }
            else if (Vector256.IsHardwareAccelerated)
            {
                // AVX2: 16 lanes per step in two 8-lane halves (the 128-bit steps took 44 us for BlazeFace's 49,152 inputs on
                // Zen 3, half of them in 4-lane divisions), narrowed in order (the values are within [-128, 127]).
                var s8 = Vector256.Create(scale);
                var zp8 = Vector256.Create(zeroPoint);
                for (; i <= input.Length - 16; i += 16)
                {
                    var a = QuantizeEight(Vector256.LoadUnsafe(ref src, (nuint)i), s8, zp8);
                    var b = QuantizeEight(Vector256.LoadUnsafe(ref src, (nuint)i + 8), s8, zp8);
                    var w = Vector256.Narrow(a, b);
                    Vector256.Narrow(w, w).GetLower().StoreUnsafe(ref dst, (nuint)i);
                }
            }
            for (; i <= input.Length - 8; i += 8)
            {
                var a = QuantizeFour(Vector128.LoadUnsafe(ref src, (nuint)i), s, zp);
                var b = QuantizeFour(Vector128.LoadUnsafe(ref src, (nuint)i + 4), s, zp);
                // Both are within [-128, 127]: narrowing (which truncates) keeps every value.
                var w = Vector128.Narrow(a, b);
                Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref dst, i)), Vector128.Narrow(w, w).AsInt64().ToScalar());
            }
        }
#endif
        for (; i < input.Length; i++)
            output[i] = QuantMath.QuantizeS8(input[i], scale, zeroPoint);
    }

#if NET
    /// <summary>
    /// <see cref="QuantMath.QuantizeS8"/> on four lanes, exactly: v = x / scale is the same IEEE division; t = trunc(v)
    /// and f = v - t (exact: t keeps v's leading bits, so the difference is representable), and the half-away rounding
    /// adds sign(v) where |f| &gt;= 0.5 (|v| &gt;= 2^23 is already an integer, f = 0). Infinities give f = NaN, no step,
    /// then the clamp to +-1000 as the scalar code; NaN lanes are cleared to 0 by the ordered mask. The integral
    /// result in [-1000, 1000] converts exactly, then the zero point and the int8 clamp.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> QuantizeFour(Vector128<float> x, Vector128<float> scale, Vector128<int> zeroPoint)
    {
        var v = x / scale;
        var t = Vector128.Truncate(v);
        var step = Vector128.GreaterThanOrEqual(Vector128.Abs(v - t), Vector128.Create(0.5f));
        var signedOne = Vector128.Create(1f) | (v & Vector128.Create(-0f));
        var r = t + (signedOne & step);
        r = Vector128.Min(Vector128.Max(r, Vector128.Create(-1000f)), Vector128.Create(1000f)) & Vector128.Equals(v, v);
        var q = Vector128.ConvertToInt32(r) + zeroPoint;
        return Vector128.Min(Vector128.Max(q, Vector128.Create(-128)), Vector128.Create(127));
    }

    /// <summary><see cref="QuantizeFour"/> on 8 lanes (the same operations, lane by lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> QuantizeEight(Vector256<float> x, Vector256<float> scale, Vector256<int> zeroPoint)
    {
        var v = x / scale;
        var t = Vector256.Truncate(v);
        var step = Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f));
        var signedOne = Vector256.Create(1f) | (v & Vector256.Create(-0f));
        var r = t + (signedOne & step);
        r = Vector256.Min(Vector256.Max(r, Vector256.Create(-1000f)), Vector256.Create(1000f)) & Vector256.Equals(v, v);
        var q = Vector256.ConvertToInt32(r) + zeroPoint;
        return Vector256.Min(Vector256.Max(q, Vector256.Create(-128)), Vector256.Create(127));
    }

    /// <summary><see cref="QuantizeFour"/> on 16 lanes (the same operations, lane by lane).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<int> QuantizeSixteen(Vector512<float> x, Vector512<float> scale, Vector512<int> zeroPoint)
    {
        var v = x / scale;
        var t = Vector512.Truncate(v);
        var step = Vector512.GreaterThanOrEqual(Vector512.Abs(v - t), Vector512.Create(0.5f));
        var signedOne = Vector512.Create(1f) | (v & Vector512.Create(-0f));
        var r = t + (signedOne & step);
        r = Vector512.Min(Vector512.Max(r, Vector512.Create(-1000f)), Vector512.Create(1000f)) & Vector512.Equals(v, v);
        var q = Vector512.ConvertToInt32(r) + zeroPoint;
        return Vector512.Min(Vector512.Max(q, Vector512.Create(-128)), Vector512.Create(127));
    }
#endif

    /// <summary>
    /// x = (q - zeroPoint) x scale: the difference is an exact int32 and converts exactly, then one float multiply, so the
    /// vector steps (8 or 4 lanes: widened, converted, multiplied) give the scalar loop's floats bit for bit.
    /// </summary>
    public static void EvalS8ToF32(ReadOnlySpan<sbyte> input, Span<float> output, float scale, int zeroPoint)
    {
        int i = 0;
#if NET
        if (output.Length < input.Length)
            throw new ArgumentException($"dequantize output of {output.Length} values is shorter than its input of {input.Length}");
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref float dst = ref MemoryMarshal.GetReference(output);
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            // 8 lanes per step: VPMOVSXBD and VCVTDQ2PS (Simd.SimdOps256.EightToSingle), the zero point subtracted in float
            // (exact: both are small integers), one multiply.
            var s8 = Vector256.Create(scale);
            var zp8 = Vector256.Create((float)zeroPoint);
            for (; i <= input.Length - 8; i += 8)
                ((Simd.SimdOps256.EightToSingle(ref Unsafe.Add(ref src, i)) - zp8) * s8).StoreUnsafe(ref dst, (nuint)i);
        }
        else if (Vector128.IsHardwareAccelerated)
        {
            var s4 = Vector128.Create(scale);
            var zp4 = Vector128.Create(zeroPoint);
            for (; i <= input.Length - 16; i += 16)
            {
                var (lo, hi) = Vector128.Widen(Vector128.LoadUnsafe(ref src, (nuint)i));
                var (a, b) = Vector128.Widen(lo);
                var (c, d) = Vector128.Widen(hi);
                (Vector128.ConvertToSingle(a - zp4) * s4).StoreUnsafe(ref dst, (nuint)i);
                (Vector128.ConvertToSingle(b - zp4) * s4).StoreUnsafe(ref dst, (nuint)i + 4);
                (Vector128.ConvertToSingle(c - zp4) * s4).StoreUnsafe(ref dst, (nuint)i + 8);
                (Vector128.ConvertToSingle(d - zp4) * s4).StoreUnsafe(ref dst, (nuint)i + 12);
            }
        }
#endif
        for (; i < input.Length; i++)
            output[i] = (input[i] - zeroPoint) * scale;
    }
}
