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
    /// MaxPool over staged rows, for any channel count. For each output row of a block (up to 8 KB of rows) the window's
    /// input rows are reduced into one staged row with whole-row vector maxima (NHWC rows are contiguous, so every loop
    /// runs the length of a row, not the 2 or 3 steps of a window), the row's padding columns holding -128 (the
    /// reference's start value: it never wins, and a window that is all padding gives -128 as there). Then, per row of
    /// the block, with unit horizontal stride,
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
        // A block of staged rows, one per output row, each the maximum of its window's input rows: all of the block's rows
        // are reduced before any is read across (reading a row's pixels right after its 64-byte stores, at offsets of a
        // pixel, stalled on store forwarding: 7x7x60 3x3 took 0.40 us). 16 spare bytes: a pixel's 16-byte load may run
        // past the last row (those lanes are not stored).
        int block = System.Math.Clamp(MaxRowBytes / spanBytes, 1, outShape.D1);
        Span<sbyte> staged = stackalloc sbyte[block * spanBytes + 16];
        staged.Slice(block * spanBytes).Clear();
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        // The real columns [lo, hi) of a staged row, from input column lo - PadLeft.
        int realBytes = (hi - lo) * c, skip = (lo - p.PadLeft) * c;
        var min = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMin, -128, 127));
        var max = Vector128.Create((sbyte)System.Math.Clamp(p.ActivationMax, -128, 127));
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        // The padding columns never change.
        for (int r = 0; r < block; r++)
        {
            staged.Slice(r * spanBytes, lo * c).Fill(sbyte.MinValue);
            staged.Slice(r * spanBytes + hi * c, spanBytes - hi * c).Fill(sbyte.MinValue);
        }
        nint pixelStep = (nint)p.StrideW * c;
        int outBytes = outW * c;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy0 = 0; oy0 < outShape.D1; oy0 += block)
            {
                int rows = System.Math.Min(block, outShape.D1 - oy0);
                for (int r = 0; r < rows; r++)
                {
                    ref sbyte real = ref Unsafe.Add(ref MemoryMarshal.GetReference(staged), r * spanBytes + lo * c);
                    int y0 = (oy0 + r) * p.StrideH - p.PadTop;
                    int ys = System.Math.Max(0, y0), ye = System.Math.Min(inH, y0 + p.FilterH);
                    if (ys >= ye)
                        MemoryMarshal.CreateSpan(ref real, realBytes).Fill(sbyte.MinValue);
                    else
                        VerticalMax(ref Unsafe.Add(ref src, (b * inH + ys) * rowBytes + skip), rowBytes, ye - ys, realBytes, ref real);
                }
                for (int r = 0; r < rows; r++)
                    HorizontalPass(p, ref Unsafe.Add(ref MemoryMarshal.GetReference(staged), r * spanBytes), c, outW, pixelStep, outBytes, min, max,
                        (b * outShape.D1 + oy0 + r) * outBytes, output);
            }
        return true;
    }

    /// <summary>
    /// One output row (starting at byte <paramref name="outBase"/> of <paramref name="output"/>) from its staged row: with unit
    /// stride the maximum of FilterW shifted copies, else each pixel's window columns (16 channels per vector, or below 16
    /// all of a pixel's channels in one vector whose spare lanes spill into later pixels, written afterwards).
    /// </summary>
    private static void HorizontalPass(in PoolParams p, ref sbyte stage, int c, int outW, nint pixelStep, int outBytes,
        Vector128<sbyte> min, Vector128<sbyte> max, int outBase, Span<sbyte> output)
    {
        int fw = p.FilterW;
        ref sbyte outRow = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), outBase);
        if (p.StrideW == 1 && outBytes >= 16)
        {
            // The output row is the maximum of the staged row shifted by 0 .. FilterW - 1 pixels.
            ShiftedMax(ref stage, c, fw, outBytes, min.ToScalar(), max.ToScalar(), ref outRow);
            return;
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
            return;
        }
        // Below 16 channels: a pixel's channels in one vector whose spare lanes spill into the next pixels' bytes
        // (written afterwards); the pixels whose 16-byte store would pass the tensor's end take the scalar loop.
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

    /// <summary>
    /// to[i] = max over y in [0, rows) of from[y x stride + i] for i in [0, n): 64, 32 or 16 bytes per step, the widest the
    /// machine runs that n holds, the last step overlapping the one before (the same bytes again); bytewise below 16.
    /// </summary>
    private static void VerticalMax(ref sbyte from, nint stride, int rows, int n, ref sbyte to)
    {
        if (Vector512.IsHardwareAccelerated && n >= 64)
        {
            for (int i = 0; ; i += 64)
            {
                i = System.Math.Min(i, n - 64);
                ref sbyte at = ref Unsafe.Add(ref from, i);
                var m = Vector512.LoadUnsafe(ref at);
                for (int y = 1; y < rows; y++)
                    m = Vector512.Max(m, Vector512.LoadUnsafe(ref at, (nuint)(y * stride)));
                m.StoreUnsafe(ref to, (nuint)i);
                if (i == n - 64)
                    return;
            }
        }
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            for (int i = 0; ; i += 32)
            {
                i = System.Math.Min(i, n - 32);
                ref sbyte at = ref Unsafe.Add(ref from, i);
                var m = Vector256.LoadUnsafe(ref at);
                for (int y = 1; y < rows; y++)
                    m = Vector256.Max(m, Vector256.LoadUnsafe(ref at, (nuint)(y * stride)));
                m.StoreUnsafe(ref to, (nuint)i);
                if (i == n - 32)
                    return;
            }
        }
        if (n >= 16)
        {
            for (int i = 0; ; i += 16)
            {
                i = System.Math.Min(i, n - 16);
                ref sbyte at = ref Unsafe.Add(ref from, i);
                var m = Vector128.LoadUnsafe(ref at);
                for (int y = 1; y < rows; y++)
                    m = Vector128.Max(m, Vector128.LoadUnsafe(ref at, (nuint)(y * stride)));
                m.StoreUnsafe(ref to, (nuint)i);
                if (i == n - 16)
                    return;
            }
        }
        for (int i = 0; i < n; i++)
        {
            sbyte m = Unsafe.Add(ref from, i);
            for (int y = 1; y < rows; y++)
                m = System.Math.Max(m, Unsafe.Add(ref from, y * stride + i));
            Unsafe.Add(ref to, i) = m;
        }
    }

    /// <summary>
    /// o[j] = clamp(max over x in [0, fw) of a[j + x c], min, max) for j in [0, n), n &gt;= 16: 64, 32 or 16 bytes per step as
    /// <see cref="VerticalMax"/>, the last step overlapping the one before (the same bytes again).
    /// </summary>
    private static void ShiftedMax(ref sbyte a, int c, int fw, int n, sbyte min, sbyte max, ref sbyte o)
    {
        if (Vector512.IsHardwareAccelerated && n >= 64)
        {
            Vector512<sbyte> lo = Vector512.Create(min), hi = Vector512.Create(max);
            for (int j = 0; ; j += 64)
            {
                j = System.Math.Min(j, n - 64);
                ref sbyte at = ref Unsafe.Add(ref a, j);
                var m = Vector512.LoadUnsafe(ref at);
                for (int x = 1; x < fw; x++)
                    m = Vector512.Max(m, Vector512.LoadUnsafe(ref at, (nuint)(x * c)));
                Vector512.Min(Vector512.Max(m, lo), hi).StoreUnsafe(ref o, (nuint)j);
                if (j == n - 64)
                    return;
            }
        }
        if (Vector256.IsHardwareAccelerated && n >= 32)
        {
            Vector256<sbyte> lo = Vector256.Create(min), hi = Vector256.Create(max);
            for (int j = 0; ; j += 32)
            {
                j = System.Math.Min(j, n - 32);
                ref sbyte at = ref Unsafe.Add(ref a, j);
                var m = Vector256.LoadUnsafe(ref at);
                for (int x = 1; x < fw; x++)
                    m = Vector256.Max(m, Vector256.LoadUnsafe(ref at, (nuint)(x * c)));
                Vector256.Min(Vector256.Max(m, lo), hi).StoreUnsafe(ref o, (nuint)j);
                if (j == n - 32)
                    return;
            }
        }
        Vector128<sbyte> lo16 = Vector128.Create(min), hi16 = Vector128.Create(max);
        for (int j = 0; ; j += 16)
        {
            j = System.Math.Min(j, n - 16);
            ref sbyte at = ref Unsafe.Add(ref a, j);
            var m = Vector128.LoadUnsafe(ref at);
            for (int x = 1; x < fw; x++)
                m = Vector128.Max(m, Vector128.LoadUnsafe(ref at, (nuint)(x * c)));
            Vector128.Min(Vector128.Max(m, lo16), hi16).StoreUnsafe(ref o, (nuint)j);
            if (j == n - 16)
                return;
        }
    }
}
