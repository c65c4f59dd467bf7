using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Pooling
{
    /// <summary>Widest padded input row (columns x C bytes) the row path stages on the stack.</summary>
    private const int MaxRowBytes = 8192;

    /// <summary>
    /// MaxPool over staged rows, for any channel count. For each output row the window's input rows are reduced into one
    /// staged row with whole-row vector maxima (NHWC rows are contiguous; one row after another, so every loop runs the
    /// length of a row, not the 2 or 3 steps of a window), the row's padding columns holding -128 (the reference's start
    /// value: it never wins, and a window that is all padding gives -128 as there). Then, with unit horizontal stride,
    /// the output row is the maximum of FilterW shifted copies of the staged row, again whole-row vector steps; with a
    /// larger stride each output pixel takes its window's columns: below 16 channels all channels of a pixel in one vector
    /// (its spare lanes spill into later pixels, written afterwards), else 16 channels per vector (the last step
    /// overlapping). Same bytes as the reference: max is exact.
    /// </summary>
    [SkipLocalsInit] // every staged byte that is read is written first (the 16 spare bytes are cleared)
    internal static bool TryMaxS8Rows(in PoolParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        int inH = inShape.D1, inW = inShape.D2, c = inShape.D3, outW = outShape.D2, fw = p.FilterW;
        // Columns [-PadLeft, span - PadLeft) cover every window.
        int span = (outW - 1) * p.StrideW + fw;
        int rowBytes = inW * c, spanBytes = span * c;
        // The vector clamp works on int8 lanes: bounds outside int8 clamp as the int8 range does.
        bool clampInInt8 = p.ActivationMin <= p.ActivationMax && p.ActivationMin <= 127 && p.ActivationMax >= -128;
        if (spanBytes > MaxRowBytes || !clampInInt8 || c == 0 || outW <= 0 || fw <= 0 || p.StrideW <= 0 || !Vector128.IsHardwareAccelerated)
            return false;
        // 16 spare bytes: a pixel's 16-byte load may run past the row (those lanes are not stored).
        Span<sbyte> staged = stackalloc sbyte[spanBytes + 16];
        staged.Slice(spanBytes).Clear();
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        // The real columns [lo, hi) of the staged row, from input column lo - PadLeft.
        int realBytes = (hi - lo) * c, skip = (lo - p.PadLeft) * c;
        var min = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMin, -128, 127));
        var max = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMax, -128, 127));
        ref sbyte stage = ref MemoryMarshal.GetReference(staged);
        ref sbyte real = ref Unsafe.Add(ref stage, lo * c);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        // The padding columns never change.
        staged.Slice(0, lo * c).Fill(sbyte.MinValue);
        staged.Slice(hi * c, spanBytes - hi * c).Fill(sbyte.MinValue);
        nint pixelStep = (nint)p.StrideW * c;
        int outBytes = outW * c;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outShape.D1; oy++)
            {
                int y0 = oy * p.StrideH - p.PadTop;
                int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                if (ys >= ye)
                    MemoryMarshal.CreateSpan(ref real, realBytes).Fill(sbyte.MinValue);
                else
                {
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref src, (b * inH + ys) * rowBytes + skip), realBytes)
                        .CopyTo(MemoryMarshal.CreateSpan(ref real, realBytes));
                    for (int y = ys + 1; y < ye; y++)
                        MaxInto(ref real, ref Unsafe.Add(ref src, (b * inH + y) * rowBytes + skip), realBytes);
                }
                ref sbyte outRow = ref Unsafe.Add(ref dst, (b * outShape.D1 + oy) * outBytes);
                if (p.StrideW == 1 && outBytes >= 16)
                {
                    // The output row is the maximum of the staged row shifted by 0 .. FilterW - 1 pixels.
                    for (int j = 0; ; j += 16)
                    {
                        j = System.Math.Min(j, outBytes - 16); // the last step overlaps the one before (same bytes again)
                        ref sbyte at = ref Unsafe.Add(ref stage, j);
                        var m = Vector128.LoadUnsafe(ref at);
                        for (int x = 1; x < fw; x++)
                            m = Vector128.Max(m, Vector128.LoadUnsafe(ref at, (nuint)(x * c)));
                        Vector128.Min(Vector128.Max(m, min), max).StoreUnsafe(ref outRow, (nuint)j);
                        if (j == outBytes - 16)
                            break;
                    }
                    continue;
                }
                if (c >= 16)
                {
                    for (int px = 0; px < outW; px++)
                    {
                        ref sbyte at = ref Unsafe.Add(ref stage, px * pixelStep);
                        ref sbyte o = ref Unsafe.Add(ref outRow, px * c);
                        for (int ch = 0; ch < c; ch += 16)
                        {
                            int from = System.Math.Min(ch, c - 16);
                            var m = Vector128.LoadUnsafe(ref at, (nuint)from);
                            for (int x = 1; x < fw; x++)
                                m = Vector128.Max(m, Vector128.LoadUnsafe(ref at, (nuint)(x * c + from)));
                            Vector128.Min(Vector128.Max(m, min), max).StoreUnsafe(ref o, (nuint)from);
                        }
                    }
                    continue;
                }
                // Below 16 channels: a pixel's channels in one vector whose spare lanes spill into the next pixels' bytes
                // (written afterwards); the pixels whose 16-byte store would pass the tensor's end take the scalar loop.
                int outBase = (b * outShape.D1 + oy) * outBytes;
                int vectorPixels = System.Math.Clamp((output.Length - 16 - outBase) / c + 1, 0, outW);
                int px2 = 0;
                if (fw == 2)
                {
                    for (; px2 < vectorPixels; px2++)
                    {
                        ref sbyte at = ref Unsafe.Add(ref stage, px2 * pixelStep);
                        var m = Vector128.Max(Vector128.LoadUnsafe(ref at), Vector128.LoadUnsafe(ref at, (nuint)c));
                        Vector128.Min(Vector128.Max(m, min), max).StoreUnsafe(ref outRow, (nuint)(px2 * c));
                    }
                }
                for (; px2 < vectorPixels; px2++)
                {
                    ref sbyte at = ref Unsafe.Add(ref stage, px2 * pixelStep);
                    var m = Vector128.LoadUnsafe(ref at);
                    for (int x = 1; x < fw; x++)
                        m = Vector128.Max(m, Vector128.LoadUnsafe(ref at, (nuint)(x * c)));
                    Vector128.Min(Vector128.Max(m, min), max).StoreUnsafe(ref outRow, (nuint)(px2 * c));
                }
                for (; px2 < outW; px2++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int m = sbyte.MinValue;
                        for (int x = 0; x < fw; x++)
                            m = System.Math.Max(m, Unsafe.Add(ref stage, px2 * pixelStep + x * c + ch));
                        Unsafe.Add(ref outRow, px2 * c + ch) = (sbyte)System.Math.Clamp(m, p.ActivationMin, p.ActivationMax);
                    }
            }
        return true;
    }

    /// <summary>row[i] = max(row[i], from[i]) for i in [0, n): 16 bytes per step, the last step overlapping (max is idempotent).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void MaxInto(ref sbyte row, ref sbyte from, int n)
    {
        if (n >= 16)
        {
            for (int i = 0; ; i += 16)
            {
                i = System.Math.Min(i, n - 16);
                Vector128.Max(Vector128.LoadUnsafe(ref row, (nuint)i), Vector128.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref row, (nuint)i);
                if (i == n - 16)
                    return;
            }
        }
        for (int i = 0; i < n; i++)
            Unsafe.Add(ref row, i) = System.Math.Max(Unsafe.Add(ref row, i), Unsafe.Add(ref from, i));
    }
}
