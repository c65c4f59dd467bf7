using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Pooling
{
    /// <summary>Widest input row (W x C bytes) the row path stages on the stack.</summary>
    private const int MaxRowBytes = 8192;

    /// <summary>
    /// MaxPool for few channels (C &lt; 16, where a per-pixel channel vector is mostly empty): for each
    /// output row, the window's input rows are reduced with whole-row vector maxima into one staged
    /// row (NHWC rows are contiguous), then each output pixel takes the maximum over its window's
    /// columns, all channels of a pixel in one vector. Same result as the reference: max is exact,
    /// padding never wins.
    /// </summary>
    [SkipLocalsInit]
    internal static bool TryMaxS8Rows(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3;
        int rowBytes = inW * c;
        if (c >= 16 || rowBytes > MaxRowBytes || !Vector128.IsHardwareAccelerated)
            return false;
        // 16 spare bytes: a pixel's 16-byte window load may run past the row (those lanes are not stored).
        Span<sbyte> staged = stackalloc sbyte[rowBytes + 16];
        // The vector clamp works on int8 lanes: bounds outside int8 clamp as the int8 range does.
        bool clampInInt8 = p.ActivationMin <= p.ActivationMax && p.ActivationMin <= 127 && p.ActivationMax >= -128;
        var lo = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMin, -128, 127));
        var hi = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMax, -128, 127));
        ref sbyte stage = ref MemoryMarshal.GetReference(staged);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
            {
                int y0 = oy * p.StrideH - p.PadTop;
                int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                ref sbyte first = ref Unsafe.Add(ref src, (b * inH + ys) * rowBytes);
                int i = 0;
                for (; i + 16 <= rowBytes; i += 16)
                {
                    var m = Vector128.LoadUnsafe(ref first, (nuint)i);
                    for (int y = ys + 1; y < ye; y++)
                        m = Vector128.Max(m, Vector128.LoadUnsafe(ref Unsafe.Add(ref src, (b * inH + y) * rowBytes), (nuint)i));
                    m.StoreUnsafe(ref stage, (nuint)i);
                }
                for (; i < rowBytes; i++)
                {
                    sbyte m = Unsafe.Add(ref first, i);
                    for (int y = ys + 1; y < ye; y++)
                        m = System.Math.Max(m, Unsafe.Add(ref src, (b * inH + y) * rowBytes + i));
                    Unsafe.Add(ref stage, i) = m;
                }
                int outBase = (b * outShape.D1 + oy) * outShape.D2 * c;
                ref sbyte outRow = ref Unsafe.Add(ref dst, outBase);
                // Whole pixels as vectors: lanes [0, c) are the channels, the rest spill into later pixels'
                // bytes, which are written afterwards (the tensor's last 16 bytes take the scalar loop).
                int vectorPixels = clampInInt8 ? System.Math.Clamp((output.Length - 16 - outBase) / c + 1, 0, outShape.D2) : 0;
                int ox = 0;
                for (; ox < vectorPixels; ox++)
                {
                    int x0 = ox * p.StrideW - p.PadLeft;
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    var m = Vector128.LoadUnsafe(ref stage, (nuint)(xs * c));
                    for (int x = xs + 1; x < xe; x++)
                        m = Vector128.Max(m, Vector128.LoadUnsafe(ref stage, (nuint)(x * c)));
                    Vector128.Min(Vector128.Max(m, lo), hi).StoreUnsafe(ref outRow, (nuint)(ox * c));
                }
                for (; ox < outShape.D2; ox++)
                {
                    int x0 = ox * p.StrideW - p.PadLeft;
                    int xs = System.Math.Max(0, x0), xe = System.Math.Min(inW, x0 + p.FilterW);
                    for (int ch = 0; ch < c; ch++)
                    {
                        int m = Unsafe.Add(ref stage, xs * c + ch);
                        for (int x = xs + 1; x < xe; x++)
                            m = System.Math.Max(m, Unsafe.Add(ref stage, x * c + ch));
                        Unsafe.Add(ref outRow, ox * c + ch) = (sbyte)System.Math.Clamp(m, p.ActivationMin, p.ActivationMax);
                    }
                }
            }
        return true;
    }
}
