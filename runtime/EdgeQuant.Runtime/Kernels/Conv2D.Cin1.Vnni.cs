using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staged image (bytes, on the stack) of <see cref="TryEvalS8Cin1Vnni"/>.</summary>
    private const int Cin1VnniStackLimit = 32768;

    /// <summary>
    /// A Conv2D with one input channel (the stems of image models) with VPDPBUSD, for AVX-512 machines with AVX-VNNI: Kw &lt;= 4,
    /// Kh &lt;= 10, no horizontal dilation (with Kw &gt; 1), any Cout, stride, padding and vertical dilation. The image is staged once, biased
    /// (x XOR 0x80; the padding holds the biased zero point, which cancels against the folded bias as in the reference), so
    /// that the Kw taps of kernel row ky of an output pixel are 4 consecutive bytes of staged row oy x StrideH + ky x DilationH
    /// from column ox x StrideW: one 32-bit broadcast straight from the image, against the weights of
    /// <see cref="PackedFilter.Quads"/> (QuadRowTaps = Kw: each kernel row one quadruplet, its bytes past Kw against zero
    /// weights). No taps are gathered. Per pixel and 16 channels: Kh broadcasts and 2 x Kh VPDPBUSD from
    /// <see cref="PackedFilter.InitBiased"/>, requantized in 16 lanes in registers (<see cref="Int8Gemm.VnniChannelsStrided"/>,
    /// the tiles of the short-K GEMM); the last 1-8 channels two pixels per vector. Without AVX-VNNI its exact emulation runs
    /// (for tests); the dispatcher takes this path only with AVX-VNNI. Returns false (having written nothing) when the case is
    /// not covered, or the requantization parameters are outside the exact 16-lane form's conditions.
    /// </summary>
    [SkipLocalsInit] // every staged byte a pixel reads is written first
    internal static bool TryEvalS8Cin1Vnni(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        sbyte[]? quads = packed.Quads;
        int inH = inShape.D1, inW = inShape.D2, kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        if (!Avx512BW.IsSupported || quads is null || inShape.D3 != 1 || filterShape.D3 != 1 || kw > 4 || kh > 10 || kh * kw < 2
            || packed.QuadRowTaps != kw || packed.K != kh * kw || packed.Cout != cout || (p.DilationW != 1 && kw > 1) || multipliers.Length != cout
            || (uint)(128 - p.InputOffset) > 255 || outH < 1 || outW < 1)
            return false;
        // Columns [-PadLeft, span - PadLeft) and rows [-PadTop, paddedH - PadTop) cover every tap; 4 spare bytes per row for
        // the last column's quadruplet.
        int span = (outW - 1) * p.StrideW + kw;
        int paddedH = (outH - 1) * p.StrideH + (kh - 1) * p.DilationH + 1;
        int rowLen = span + 4;
        if ((long)paddedH * rowLen > Cin1VnniStackLimit)
            return false;
        var table = RightRequantTable.Get(ref packed.RightRequant, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, packed.MaxAccumulator);
        if (!table.Covered)
            return false;
        var ft = table.FloatForm(packed.ChannelBounds);
        Span<byte> image = stackalloc byte[paddedH * rowLen];
        ref byte img = ref MemoryMarshal.GetReference(image);
        byte zeroPoint = (byte)((sbyte)(-p.InputOffset) ^ 0x80);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        var min = Vector128.Create((sbyte)p.ActivationMin);
        var max = Vector128.Create((sbyte)p.ActivationMax);
        var grid = new Int8Gemm.PixelGrid(outH, outW, p.StrideW, (nint)p.StrideH * rowLen, (nint)p.DilationH * rowLen, cout, (nint)outW * cout);
        for (int b = 0; b < inShape.D0; b++)
        {
            for (int y = 0; y < paddedH; y++)
            {
                ref byte row = ref Unsafe.Add(ref img, y * rowLen);
                int iy = y - p.PadTop;
                if ((uint)iy >= (uint)inH || hi == lo)
                    Fill(ref Unsafe.As<byte, sbyte>(ref row), span, (sbyte)zeroPoint);
                else
                {
                    Fill(ref Unsafe.As<byte, sbyte>(ref row), lo, (sbyte)zeroPoint);
                    Int8Gemm.StageBiased(ref Unsafe.AsRef(in input[(b * inH + iy) * inW + lo - p.PadLeft]), ref Unsafe.Add(ref row, lo), hi - lo, hi - lo);
                    Fill(ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref row, hi)), span - hi, (sbyte)zeroPoint);
                }
                Unsafe.WriteUnaligned(ref Unsafe.Add(ref row, span), 0); // against zero weights
            }
            Int8Gemm.VnniChannelsStrided(kh, ref img, grid, packed, table, ft, min, max,
                ref Unsafe.Add(ref MemoryMarshal.GetReference(output), b * outH * outW * cout));
        }
        return true;
    }
}
