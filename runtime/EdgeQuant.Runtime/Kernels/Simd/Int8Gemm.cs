using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The GEMM-like core of Conv2D and FullyConnected: rows of int8 activations (NHWC pixels, im2col
/// rows or FullyConnected batches, at a uniform stride) times a [Cout, K] filter, requantized per
/// output channel. Tiles of two rows by four channels, then one row; channels beyond the last
/// multiple of four take the scalar tail. The AVX2 strategy with Cout a multiple of 8 runs the
/// channels-in-lanes kernel instead (Int8Gemm.Avx2.cs, <see cref="PackedFilter.Pairs"/>), and with AVX-512 and
/// K &lt;= 40 the register-blocked small-K kernel before it (Int8Gemm.SmallK.Avx512.cs).
/// </summary>
internal static partial class Int8Gemm
{
    /// <summary>
    /// output[r x outStride + oc] = clamp(MultiplyByQuantizedMultiplier(Init[oc] + dot(a_r, w_oc), m[oc], s[oc]) + outputOffset)
    /// for r in [0, rows), oc in [0, Cout); a_r = a + r x aStride, w_oc = w + oc x wStride, dot over k.
    /// </summary>
    public static void Run<TDot>(ref sbyte a, nint aStride, int rows, ref sbyte w, nint wStride, int k, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax,
        ref sbyte output, nint outStride) where TDot : struct, IInt8Dot
    {
        // Short K first (its weights held in registers measured faster than the VNNI tiles up to K = 40 on Zen 5): with AVX-VNNI
        // its VPDPBUSD form where that measured faster (SmallKPrefersVnni), else its VPMADDWD form; then with AVX-VNNI the
        // VPDPBUSD tiles, then the VPMADDWD tiles.
        if ((typeof(TDot) == typeof(Avx2Dot) || typeof(TDot) == typeof(AvxVnniDot))
            && ((typeof(TDot) == typeof(AvxVnniDot) && SmallKPrefersVnni(pf.K, pf.Cout)
                    && TryRunSmallKVnni(ref a, aStride, rows, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref output, outStride))
                || TryRunSmallKAvx512(ref a, aStride, rows, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref output, outStride)
                || (typeof(TDot) == typeof(AvxVnniDot)
                    && TryRunQuadsVnni(ref a, aStride, rows, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref output, outStride))
                || TryRunPairsAvx2(ref a, aStride, rows, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref output, outStride)))
            return;
        int cout = pf.Cout, cout4 = cout & ~3;
        ref int init = ref MemoryMarshal.GetArrayDataReference(TDot.BiasedActivations ? pf.InitBiased : pf.Init);
        ref int m = ref MemoryMarshal.GetReference(multipliers);
        ref int s = ref MemoryMarshal.GetReference(shifts);
        var off = Vector128.Create(outputOffset);
        var min = Vector128.Create(activationMin);
        var max = Vector128.Create(activationMax);
        int r = 0;
        for (; r <= rows - 2; r += 2)
        {
            ref sbyte a0 = ref Unsafe.Add(ref a, r * aStride);
            ref sbyte a1 = ref Unsafe.Add(ref a0, aStride);
            ref sbyte o0 = ref Unsafe.Add(ref output, r * outStride);
            ref sbyte o1 = ref Unsafe.Add(ref o0, outStride);
            for (int oc = 0; oc < cout4; oc += 4)
            {
                TDot.Dot2x4(ref a0, ref a1, ref Unsafe.Add(ref w, oc * wStride), wStride, k, out var d0, out var d1);
                var iv = Vector128.LoadUnsafe(ref init, (nuint)oc);
                var mv = Vector128.LoadUnsafe(ref m, (nuint)oc);
                var sv = Vector128.LoadUnsafe(ref s, (nuint)oc);
                SimdOps.RequantizeStore4(d0 + iv, mv, sv, off, min, max, ref Unsafe.Add(ref o0, oc));
                SimdOps.RequantizeStore4(d1 + iv, mv, sv, off, min, max, ref Unsafe.Add(ref o1, oc));
            }
            if (cout4 < cout)
            {
                ScalarChannels(ref a0, ref w, wStride, k, cout4, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref o0);
                ScalarChannels(ref a1, ref w, wStride, k, cout4, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref o1);
            }
        }
        if (r < rows)
        {
            ref sbyte a0 = ref Unsafe.Add(ref a, r * aStride);
            ref sbyte o0 = ref Unsafe.Add(ref output, r * outStride);
            for (int oc = 0; oc < cout4; oc += 4)
            {
                var d0 = TDot.Dot1x4(ref a0, ref Unsafe.Add(ref w, oc * wStride), wStride, k);
                SimdOps.RequantizeStore4(d0 + Vector128.LoadUnsafe(ref init, (nuint)oc), Vector128.LoadUnsafe(ref m, (nuint)oc),
                    Vector128.LoadUnsafe(ref s, (nuint)oc), off, min, max, ref Unsafe.Add(ref o0, oc));
            }
            if (cout4 < cout)
                ScalarChannels(ref a0, ref w, wStride, k, cout4, pf, multipliers, shifts, outputOffset, activationMin, activationMax, ref o0);
        }
    }

    /// <summary>
    /// The tail over output channels [from, Cout), one channel at a time: signed products from
    /// <see cref="PackedFilter.Init"/>, 16 bytes per step through <see cref="SimdOps.MultiplyAddPairs"/>
    /// (exact int32 sums of int8 products) where vectors are accelerated, then scalar.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ScalarChannels(ref sbyte a, ref sbyte w, nint wStride, int k, int from, PackedFilter pf,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int outputOffset, int activationMin, int activationMax, ref sbyte output)
    {
        ref int init = ref MemoryMarshal.GetArrayDataReference(pf.Init);
        ref int m = ref MemoryMarshal.GetReference(multipliers);
        ref int s = ref MemoryMarshal.GetReference(shifts);
        for (int oc = from; oc < pf.Cout; oc++)
        {
            ref sbyte wr = ref Unsafe.Add(ref w, oc * wStride);
            var sums = Vector128<int>.Zero;
            int i = 0;
            if (Vector128.IsHardwareAccelerated)
                for (; i <= k - 16; i += 16)
                    sums = SimdOps.MultiplyAddPairs(sums, Vector128.LoadUnsafe(ref a, (nuint)i), Vector128.LoadUnsafe(ref wr, (nuint)i));
            int acc = Unsafe.Add(ref init, oc) + Vector128.Sum(sums) + Int8DotTail.Dot(ref a, ref wr, i, k, 0);
            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, Unsafe.Add(ref m, oc), Unsafe.Add(ref s, oc)) + outputOffset;
            Unsafe.Add(ref output, oc) = (sbyte)System.Math.Clamp(v, activationMin, activationMax);
        }
    }
}

/// <summary>
/// Where rows 1, 2 and 3 of a 4-row tile start, in elements from row 0: a uniform stride (GEMM rows, the pixels of one
/// output row) or any three offsets (a tile of output pixels that runs on into the next output row, whose taps lie a
/// staged row further on).
/// </summary>
internal readonly struct RowOffsets(nint d1, nint d2, nint d3)
{
    public readonly nint D1 = d1, D2 = d2, D3 = d3;

    /// <summary>Rows <paramref name="stride"/> elements apart.</summary>
    public static RowOffsets Strided(nint stride) => new(stride, 2 * stride, 3 * stride);
}
