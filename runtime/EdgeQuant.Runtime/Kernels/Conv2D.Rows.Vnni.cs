using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (bytes, on the stack) of <see cref="TryEvalS8RowsVnni"/>.</summary>
    private const int RowsVnniStackLimit = 32768;

    /// <summary>
    /// The AVX-VNNI form of <see cref="TryEvalS8RowsAvx2"/> (Kh x Kw &gt; 1, horizontal dilation with one kernel row, any Cout): the input rows
    /// are staged as biased bytes (x XOR 0x80; the padding holds the biased zero point, so padded taps cancel against the
    /// folded bias as in the reference), the whole padded image when it fits, else per output row the Kh rows it reads. A
    /// kernel row's Kw x Cin taps are contiguous; each quadruplet of them is one 32-bit broadcast multiplied against 8
    /// output channels' weight quadruplets (<see cref="PackedFilter.Quads"/> with QuadRowTaps = Kw x Cin) by VPDPBUSD into
    /// accumulators started at <see cref="PackedFilter.InitBiased"/> (<see cref="Int8Gemm.QuadsRows"/>): exact, so the
    /// accumulator equals the reference's. A kernel row whose tap count is not a multiple of 4 reads up to three bytes
    /// past its taps against zero weights. Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    [MethodImpl(MethodImplOptions.NoInlining)] // inlined, its requantization struct made the dispatcher zero a larger frame on every call
    internal static bool TryEvalS8RowsVnni(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape,
        int pixelFrom = 0, int pixelTo = -1)
    {
        sbyte[]? quads = packed.Quads;
        int cout = outShape.D3, coutP = packed.CoutPadded;
        // Horizontal dilation: one kernel row whose taps split into whole quadruplets per kernel column (Cin a multiple of 4).
        bool dilated = p.DilationW != 1 && filterShape.D2 > 1;
        if (!Avx2.IsSupported || quads is null || packed.QuadRowTaps != filterShape.D2 * inShape.D3 || packed.K != filterShape.D1 * packed.QuadRowTaps
            || (dilated && (filterShape.D1 != 1 || inShape.D3 % 4 != 0)) || packed.Cout != cout || (uint)(128 - p.InputOffset) > 255)
            return false;
        var q = new Int8Gemm.PairsRequantization(packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, biased: true);
        // Quadruplets of taps per kernel row (per kernel column when dilated); three spare bytes per row for a last partial
        // quadruplet. The zero point, biased.
        return RunRows<QuadRows, byte>(p, input, inShape, filterShape, packed, q, ref Unsafe.As<sbyte, byte>(ref MemoryMarshal.GetArrayDataReference(quads)),
            dilated ? inShape.D3 / 4 : (filterShape.D2 * inShape.D3 + 3) / 4, spare: 3, RowsVnniStackLimit, (byte)((sbyte)(-p.InputOffset) ^ 0x80), output, outShape,
            pixelFrom, pixelTo);
    }

    /// <summary>Biased byte rows, VPDPBUSD over quadruplets of taps.</summary>
    private readonly struct QuadRows : IRowKernel<byte>
    {
        public static int SinglesUpTo => Int8Gemm.QuadSinglesUpTo;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Stage(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
            byte zeroPoint, ref byte row) => StageRowBiased(p, ref src, b, iy, inH, inW, cin, span, lo, hi, zeroPoint, ref row);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Rows(int n, ref byte x, RowOffsets xStride, int segments, nint segStride, int steps, ref byte w, int cout,
            in Int8Gemm.PairsRequantization q, ref int acc)
            => Int8Gemm.QuadsRows(n, ref x, xStride, segments, segStride, steps, ref Unsafe.As<byte, sbyte>(ref w), cout, q, ref acc);
    }

    /// <summary>Input row iy biased (or the biased zero point, outside the image) over the padded columns, plus three zero bytes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StageRowBiased(in Conv2DParams p, ref sbyte src, int b, int iy, int inH, int inW, int cin, int span, int lo, int hi,
        byte zeroPoint, ref byte row)
    {
        if ((uint)iy >= (uint)inH)
        {
            Fill(ref Unsafe.As<byte, sbyte>(ref row), span * cin, (sbyte)zeroPoint);
        }
        else
        {
            Fill(ref Unsafe.As<byte, sbyte>(ref row), lo * cin, (sbyte)zeroPoint);
            int n = (hi - lo) * cin;
            Int8Gemm.StageBiased(ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin), ref Unsafe.Add(ref row, lo * cin), n, n);
            Fill(ref Unsafe.As<byte, sbyte>(ref Unsafe.Add(ref row, hi * cin)), (span - hi) * cin, (sbyte)zeroPoint);
        }
        Unsafe.Add(ref row, span * cin) = 0;
        Unsafe.Add(ref row, span * cin + 1) = 0;
        Unsafe.Add(ref row, span * cin + 2) = 0;
    }
}
