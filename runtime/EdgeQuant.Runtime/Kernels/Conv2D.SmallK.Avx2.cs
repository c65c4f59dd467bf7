using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Conv2D
{
    /// <summary>Largest staging area (int16 elements, on the stack) of <see cref="TryEvalS8SmallKRowsAvx2"/>.</summary>
    private const int SmallKRowsStackLimit = 8192;

    /// <summary>
    /// AVX2 small-K path over widened rows (no horizontal dilation, Cout a multiple of 8). Per output
    /// row, the Kh input rows it reads are widened to int16 into stack rows that already hold the
    /// padding (the zero point, so padded taps cancel against the folded bias as in the im2col path).
    /// A kernel row's Kw x Cin taps are then contiguous, and each pair of them is one 32-bit broadcast
    /// multiplied against 8 output channels' interleaved weight pairs (<see cref="PackedFilter.RowPairs"/>)
    /// by VPMADDWD: exact int16 x int16 products summed in int32, so the accumulator equals the
    /// reference's. A row with an odd tap count reads one element past its taps against a zero weight.
    /// Returns false (having written nothing) when the case is not covered.
    /// </summary>
    internal static bool TryEvalS8SmallKRowsAvx2(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, in Shape4 filterShape,
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
        if (kh * rowLen > SmallKRowsStackLimit)
            return false;
        Span<short> rows = stackalloc short[kh * rowLen];
        ref short rowRef = ref MemoryMarshal.GetReference(rows);
        short zeroPoint = (short)(-p.InputOffset);
        ref short w = ref MemoryMarshal.GetArrayDataReference(rowPairs);
        ref int init = ref MemoryMarshal.GetArrayDataReference(packed.Init);
        ref int mult = ref MemoryMarshal.GetReference(multipliers);
        ref int shift = ref MemoryMarshal.GetReference(shifts);
        ref sbyte src = ref MemoryMarshal.GetReference(input);
        ref sbyte dst = ref MemoryMarshal.GetReference(output);
        var offset = Vector256.Create(p.OutputOffset);
        var min = Vector256.Create(p.ActivationMin);
        var max = Vector256.Create(p.ActivationMax);
        int lo = System.Math.Clamp(p.PadLeft, 0, span), hi = System.Math.Clamp(p.PadLeft + inW, lo, span);
        nint pairStride = (nint)cout * 2;
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
                for (int ox = 0; ox < outW; ox++)
                {
                    ref short px = ref Unsafe.Add(ref rowRef, ox * p.StrideW * cin);
                    int j = 0;
                    for (; j <= cout - 16; j += 16)
                    {
                        var acc0 = Vector256.LoadUnsafe(ref init, (nuint)j);
                        var acc1 = Vector256.LoadUnsafe(ref init, (nuint)j + 8);
                        ref short wq = ref Unsafe.Add(ref w, j * 2);
                        for (int ky = 0; ky < kh; ky++)
                        {
                            ref short r = ref Unsafe.Add(ref px, ky * rowLen);
                            for (int q = 0; q < pairs; q++)
                            {
                                var x = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref r, 2 * q)))).AsInt16();
                                acc0 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref wq));
                                acc1 += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref wq, 16));
                                wq = ref Unsafe.Add(ref wq, pairStride);
                            }
                        }
                        acc0 = SimdOps256.RequantizeClamp(acc0, Vector256.LoadUnsafe(ref mult, (nuint)j), Vector256.LoadUnsafe(ref shift, (nuint)j), offset, min, max);
                        acc1 = SimdOps256.RequantizeClamp(acc1, Vector256.LoadUnsafe(ref mult, (nuint)j + 8), Vector256.LoadUnsafe(ref shift, (nuint)j + 8), offset, min, max);
                        SimdOps256.Pack16(acc0, acc1).StoreUnsafe(ref o, (nuint)j);
                    }
                    if (j < cout)
                    {
                        var acc = Vector256.LoadUnsafe(ref init, (nuint)j);
                        ref short wq = ref Unsafe.Add(ref w, j * 2);
                        for (int ky = 0; ky < kh; ky++)
                        {
                            ref short r = ref Unsafe.Add(ref px, ky * rowLen);
                            for (int q = 0; q < pairs; q++)
                            {
                                var x = Vector256.Create(Unsafe.ReadUnaligned<int>(ref Unsafe.As<short, byte>(ref Unsafe.Add(ref r, 2 * q)))).AsInt16();
                                acc += Avx2.MultiplyAddAdjacent(x, Vector256.LoadUnsafe(ref wq));
                                wq = ref Unsafe.Add(ref wq, pairStride);
                            }
                        }
                        acc = SimdOps256.RequantizeClamp(acc, Vector256.LoadUnsafe(ref mult, (nuint)j), Vector256.LoadUnsafe(ref shift, (nuint)j), offset, min, max);
                        Unsafe.WriteUnaligned(ref Unsafe.As<sbyte, byte>(ref Unsafe.Add(ref o, j)), SimdOps256.Pack8(acc));
                    }
                    o = ref Unsafe.Add(ref o, cout);
                }
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
