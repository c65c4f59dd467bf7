using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Pooling
{
    /// <summary>
    /// Max pooling, portable vectors over channels: 32 per step where Vector256 is accelerated (AVX2
    /// VPMAXSB), then 16 per step (SMAX on arm64), the channel tail as one overlapping 16-channel step
    /// (C &gt;= 16), scalar only below 16 channels.
    /// </summary>
    internal static void MaxS8Vector(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        nint rowStride = (nint)inW * c;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte outRef = ref MemoryMarshal.GetReference(output);
        sbyte lo = (sbyte)System.Math.Clamp(p.ActivationMin, -128, 127), hi = (sbyte)System.Math.Clamp(p.ActivationMax, -128, 127);
        var lo256 = Vector256.Create(lo);
        var hi256 = Vector256.Create(hi);
        var lo128 = Vector128.Create(lo);
        var hi128 = Vector128.Create(hi);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
            {
                int y0 = oy * p.StrideH - p.PadTop;
                int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                ref sbyte outRow = ref Unsafe.Add(ref outRef, (b * outShape.D1 + oy) * outShape.D2 * c);
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int x0 = ox * p.StrideW - p.PadLeft;
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    // The window's first input pixel; rows rowStride apart, columns c apart.
                    int rows = System.Math.Max(0, ye - ys), cols = System.Math.Max(0, xe - xs);
                    // (A window wholly in the padding reads nothing: its reference stays at the tensor's start.)
                    ref sbyte window = ref rows * cols == 0 ? ref inRef : ref Unsafe.Add(ref inRef, ((b * inH + ys) * inW + xs) * c);
                    ref sbyte o = ref Unsafe.Add(ref outRow, ox * c);
                    int ch = 0;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        for (; ch <= c - 32; ch += 32)
                        {
                            var m = Vector256.Create((sbyte)-128);
                            ref sbyte r = ref Unsafe.Add(ref window, ch);
                            for (int y = 0; y < rows; y++, r = ref Unsafe.Add(ref r, rowStride))
                                for (int x = 0; x < cols; x++)
                                    m = Vector256.Max(m, Vector256.LoadUnsafe(ref Unsafe.Add(ref r, x * c)));
                            Vector256.Min(Vector256.Max(m, lo256), hi256).StoreUnsafe(ref Unsafe.Add(ref o, ch));
                        }
                    }
                    // 16 channels per step; a channel tail (C >= 16) is one more step ending at C, overlapping
                    // channels already done (it recomputes and rewrites the same bytes).
                    for (; ch < c && c >= 16; ch += 16)
                    {
                        int at = System.Math.Min(ch, c - 16);
                        var m = Vector128.Create((sbyte)-128);
                        ref sbyte r = ref Unsafe.Add(ref window, at);
                        for (int y = 0; y < rows; y++, r = ref Unsafe.Add(ref r, rowStride))
                            for (int x = 0; x < cols; x++)
                                m = Vector128.Max(m, Vector128.LoadUnsafe(ref Unsafe.Add(ref r, x * c)));
                        Vector128.Min(Vector128.Max(m, lo128), hi128).StoreUnsafe(ref Unsafe.Add(ref o, at));
                    }
                    for (; ch < c; ch++)
                    {
                        int m = -128;
                        for (int y = 0; y < rows; y++)
                            for (int x = 0; x < cols; x++)
                                m = System.Math.Max(m, Unsafe.Add(ref window, y * rowStride + x * c + ch));
                        Unsafe.Add(ref o, ch) = (sbyte)System.Math.Clamp(m, p.ActivationMin, p.ActivationMax);
                    }
                }
            }
    }

    /// <summary>
    /// Average pooling, Vector128 over channels, 16 per step: int16 sums (exact for windows of up to
    /// 256 valid positions; larger windows take the scalar path), then the reference's rounding
    /// division (sum ± count/2) / count truncated, done in float: with |sum| &lt;= 2^15 and count &lt;= 256
    /// the correctly rounded quotient never crosses an integer, so truncating it is exact.
    /// </summary>
    internal static void AverageS8Vector(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        ref sbyte inRef = ref MemoryMarshal.GetReference(input);
        ref sbyte outRef = ref MemoryMarshal.GetReference(output);
        var min = Vector128.Create(p.ActivationMin);
        var max = Vector128.Create(p.ActivationMax);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
                for (int ox = 0; ox < outShape.D2; ox++)
                {
                    int y0 = oy * p.StrideH - p.PadTop, x0 = ox * p.StrideW - p.PadLeft;
                    int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    int count = (ye - ys) * (xe - xs);
                    int outBase = ((b * outShape.D1 + oy) * outShape.D2 + ox) * c;
                    int ch = 0;
                    if (count is > 0 and <= 256)
                    {
                        var half = Vector128.Create(count / 2);
                        var countF = Vector128.Create((float)count);
                        // A channel tail (C >= 16) is one more step ending at C, overlapping channels already done.
                        for (; ch < c && c >= 16; ch += 16)
                        {
                            int at = System.Math.Min(ch, c - 16);
                            Vector128<short> s0 = default, s1 = default;
                            for (int y = ys; y < ye; y++)
                                for (int x = xs; x < xe; x++)
                                {
                                    var v = Vector128.LoadUnsafe(ref inRef, (nuint)(((b * inH + y) * inW + x) * c + at));
                                    s0 += Vector128.WidenLower(v);
                                    s1 += Vector128.WidenUpper(v);
                                }
                            var r = Vector128.Narrow(
                                Vector128.Narrow(Divide(Vector128.WidenLower(s0), half, countF, min, max), Divide(Vector128.WidenUpper(s0), half, countF, min, max)),
                                Vector128.Narrow(Divide(Vector128.WidenLower(s1), half, countF, min, max), Divide(Vector128.WidenUpper(s1), half, countF, min, max)));
                            r.StoreUnsafe(ref outRef, (nuint)(outBase + at));
                        }
                    }
                    for (; ch < c; ch++)
                    {
                        int sum = 0;
                        for (int y = ys; y < ye; y++)
                            for (int x = xs; x < xe; x++)
                                sum += Unsafe.Add(ref inRef, ((b * inH + y) * inW + x) * c + ch);
                        int avg = sum > 0 ? (sum + count / 2) / count : (sum - count / 2) / count;
                        Unsafe.Add(ref outRef, outBase + ch) = (sbyte)System.Math.Clamp(avg, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    private static Vector128<int> Divide(Vector128<int> sum, Vector128<int> half, Vector128<float> count, Vector128<int> min, Vector128<int> max)
    {
        var n = Vector128.ConditionalSelect(Vector128.GreaterThan(sum, Vector128<int>.Zero), sum + half, sum - half);
        var q = Vector128.ConvertToInt32(Vector128.ConvertToSingle(n) / count);
        return Vector128.Min(Vector128.Max(q, min), max);
    }
}
