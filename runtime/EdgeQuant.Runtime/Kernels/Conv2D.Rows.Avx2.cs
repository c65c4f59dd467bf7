using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryEvalS8RowsAvx2"/>.</summary>
    private const int RowsStackLimit = 16384;

    /// <summary>Largest output row (Wo x Cout int32 accumulators, on the stack) requantized in one pass.</summary>
    internal const int RowAccumulatorLimit = 4096;

    /// <summary>
    /// AVX2 path for Kh x Kw &gt; 1 over widened rows (no horizontal dilation, Cout a multiple of 8), used
    /// for stems and small 3x3 layers alike: no im2col copy, the taps are read where they lie. Per output
    /// row, the Kh input rows it reads are widened to int16 into stack rows that already hold the
    /// padding (the zero point, so padded taps cancel against the folded bias as in the im2col path).
    /// A kernel row's Kw x Cin taps are then contiguous, and each pair of them is one 32-bit broadcast
    /// multiplied against 8 output channels' interleaved weight pairs (<see cref="PackedFilter.RowPairs"/>)
    /// by VPMADDWD: exact int16 x int16 products summed in int32, so the accumulator equals the
    /// reference's. Tiles of 4 output pixels x 16 channels (<see cref="Int8Gemm.PairsRows"/>). A row with
    /// an odd tap count reads one element past its taps against a zero weight.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    [SkipLocalsInit] // every staged and accumulator element is written before it is read
    internal static bool TryEvalS8RowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
        PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        short[]? rowPairs = packed.RowPairs;
        int cout = outShape.D3;
        if (!Avx2.IsSupported || rowPairs is null || p.DilationW != 1 || cout % 8 != 0 || (uint)(128 - p.InputOffset) > 255)
            return false;
        int inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kh = filterShape.D1, kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2;
        int rowTaps = kw * cin, pairs = (rowTaps + 1) / 2;
        // Columns [-PadLeft, span - PadLeft) of the input cover every output pixel's taps; one spare element per row for an odd last pair.
        int span = (outW - 1) * p.StrideW + kw;
        int rowLen = span * cin + 1;
        if (kh * rowLen > RowsStackLimit || cout > Int8Gemm.MaxPairsChannels)
            return false;
        Span<short> rows = stackalloc short[kh * rowLen];
        // A whole output row's accumulators when they fit (one requantization pass per row), else a tile's.
        bool wholeRow = outW * cout <= RowAccumulatorLimit;
        Span<int> accumulators = stackalloc int[(wholeRow ? System.Math.Max(outW, 4) : 4) * cout];
        ref int acc = ref MemoryMarshal.GetReference(accumulators);
        ref short rowRef = ref MemoryMarshal.GetReference(rows);
        short zeroPoint = (short)(-p.InputOffset);
        ref short w = ref MemoryMarshal.GetArrayDataReference(rowPairs);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var q = new Int8Gemm.PairsRequantization(packed.Init, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        int pixelStep = p.StrideW * cin;
        for (int b = 0; b < inShape.D0; b++)
            for (int oy = 0; oy < outH; oy++)
            {
                for (int ky = 0; ky < kh; ky++)
                {
                    int iy = oy * p.StrideH - p.PadTop + ky * p.DilationH;
                    ref short row = ref Unsafe.Add(ref rowRef, ky * rowLen);
                    if ((uint)iy >= (uint)inH)
                    {
                        FillS16(ref row, span * cin, zeroPoint);
                    }
                    else
                    {
                        FillS16(ref row, lo * cin, zeroPoint);
                        WidenS8(ref Unsafe.Add(ref src, ((b * inH + iy) * inW + lo - p.PadLeft) * cin), ref Unsafe.Add(ref row, lo * cin), (hi - lo) * cin);
                        FillS16(ref Unsafe.Add(ref row, hi * cin), (span - hi) * cin, zeroPoint);
                    }
                    Unsafe.Add(ref row, span * cin) = 0;
                }
                ref sbyte o = ref Unsafe.Add(ref dst, (b * outH + oy) * outW * cout);
                int ox = 0;
                for (; ox <= outW - 4; ox += 4)
                {
                    Int8Gemm.PairsRows(4, ref Unsafe.Add(ref rowRef, ox * pixelStep), pixelStep, kh, rowLen, pairs, ref w, cout, q,
                        ref Unsafe.Add(ref acc, wholeRow ? ox * cout : 0));
                    if (!wholeRow)
                        q.Store(4, ref acc, cout, ref Unsafe.Add(ref o, ox * cout), cout);
                }
                for (; ox < outW; ox++)
                {
                    Int8Gemm.PairsRows(1, ref Unsafe.Add(ref rowRef, ox * pixelStep), pixelStep, kh, rowLen, pairs, ref w, cout, q,
                        ref Unsafe.Add(ref acc, wholeRow ? ox * cout : 0));
                    if (!wholeRow)
                        q.Store(1, ref acc, cout, ref Unsafe.Add(ref o, ox * cout), cout);
                }
                if (wholeRow)
                    q.Store(outW, ref acc, cout, ref o, cout);
            }
        return true;
    }

    /// <summary>Sign-extends n int8 to int16: VPMOVSXBW 16 at a time, then a scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void WidenS8(ref sbyte from, ref short to, int n)
    {
        int i = 0;
        for (; i <= n - 16; i += 16)
            Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref from, (nuint)i)).StoreUnsafe(ref to, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref to, i) = Unsafe.Add(ref from, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void FillS16(ref short to, int n, short value)
    {
        int i = 0;
        var v = Vector256.Create(value);
        for (; i <= n - 16; i += 16)
            v.StoreUnsafe(ref to, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref to, i) = value;
    }
}
