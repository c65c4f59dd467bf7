using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// AVX2 without VNNI: 16 bytes per step, sign-extended to int16 (VPMOVSXBW) and multiplied in
/// pairs into int32 (VPMADDWD), exact for every int8 value. (VPMADDUBSW is not used: its int16
/// pair sums saturate for the unsigned x signed ranges needed here.)
/// </summary>
internal readonly struct Avx2Dot : IInt8Dot
{
    public static bool IsSupported => Avx2.IsSupported;
    public static bool BiasedActivations => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot1x4(ref sbyte a, ref sbyte w, nint wStride, int k)
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var x = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref a, (nuint)i));
            c0 += SimdOps256.MultiplyAddPairs(x, Vector128.LoadUnsafe(ref w, (nuint)i));
            c1 += SimdOps256.MultiplyAddPairs(x, Vector128.LoadUnsafe(ref w1, (nuint)i));
            c2 += SimdOps256.MultiplyAddPairs(x, Vector128.LoadUnsafe(ref w2, (nuint)i));
            c3 += SimdOps256.MultiplyAddPairs(x, Vector128.LoadUnsafe(ref w3, (nuint)i));
        }
        return SimdOps256.ReduceAdd4(c0, c1, c2, c3) + Int8DotTail.Dot4(ref a, ref w, wStride, i, k, 0);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot2x4(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1)
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<int> c10 = default, c11 = default, c12 = default, c13 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var x0 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref a0, (nuint)i));
            var x1 = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref a1, (nuint)i));
            var v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w, (nuint)i));
            c00 += Avx2.MultiplyAddAdjacent(x0, v);
            c10 += Avx2.MultiplyAddAdjacent(x1, v);
            v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w1, (nuint)i));
            c01 += Avx2.MultiplyAddAdjacent(x0, v);
            c11 += Avx2.MultiplyAddAdjacent(x1, v);
            v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w2, (nuint)i));
            c02 += Avx2.MultiplyAddAdjacent(x0, v);
            c12 += Avx2.MultiplyAddAdjacent(x1, v);
            v = Avx2.ConvertToVector256Int16(Vector128.LoadUnsafe(ref w3, (nuint)i));
            c03 += Avx2.MultiplyAddAdjacent(x0, v);
            c13 += Avx2.MultiplyAddAdjacent(x1, v);
        }
        r0 = SimdOps256.ReduceAdd4(c00, c01, c02, c03) + Int8DotTail.Dot4(ref a0, ref w, wStride, i, k, 0);
        r1 = SimdOps256.ReduceAdd4(c10, c11, c12, c13) + Int8DotTail.Dot4(ref a1, ref w, wStride, i, k, 0);
    }
}

/// <summary>
/// AVX-VNNI: VPDPBUSD multiplies unsigned by signed bytes, so activations enter as x + 128
/// (x XOR 0x80) and the caller's start value subtracts 128 * sum(w). 32 bytes per step, then a
/// 16-byte step (zero-extended to 256 bits), then the scalar tail, all in the biased domain.
/// On AVX2 machines without VNNI the primitive is an exact AVX2 emulation (for testing).
/// </summary>
internal readonly struct AvxVnniDot : IInt8Dot
{
    public static bool IsSupported => Avx2.IsSupported;
    public static bool BiasedActivations => true;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<byte> Biased(Vector256<sbyte> x) => (x ^ Vector256.Create(unchecked((sbyte)0x80))).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot1x4(ref sbyte a, ref sbyte w, nint wStride, int k)
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector256<int> c0 = default, c1 = default, c2 = default, c3 = default;
        int i = 0;
        for (; i <= k - 32; i += 32)
        {
            var x = Biased(Vector256.LoadUnsafe(ref a, (nuint)i));
            c0 = SimdOps256.DotBusd(c0, x, Vector256.LoadUnsafe(ref w, (nuint)i));
            c1 = SimdOps256.DotBusd(c1, x, Vector256.LoadUnsafe(ref w1, (nuint)i));
            c2 = SimdOps256.DotBusd(c2, x, Vector256.LoadUnsafe(ref w2, (nuint)i));
            c3 = SimdOps256.DotBusd(c3, x, Vector256.LoadUnsafe(ref w3, (nuint)i));
        }
        if (i <= k - 16)
        {
            // The weights' upper halves are zero, so the biased upper activations add nothing.
            var x = Biased(Vector128.LoadUnsafe(ref a, (nuint)i).ToVector256());
            c0 = SimdOps256.DotBusd(c0, x, Vector128.LoadUnsafe(ref w, (nuint)i).ToVector256());
            c1 = SimdOps256.DotBusd(c1, x, Vector128.LoadUnsafe(ref w1, (nuint)i).ToVector256());
            c2 = SimdOps256.DotBusd(c2, x, Vector128.LoadUnsafe(ref w2, (nuint)i).ToVector256());
            c3 = SimdOps256.DotBusd(c3, x, Vector128.LoadUnsafe(ref w3, (nuint)i).ToVector256());
            i += 16;
        }
        return SimdOps256.ReduceAdd4(c0, c1, c2, c3) + Int8DotTail.Dot4(ref a, ref w, wStride, i, k, 128);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot2x4(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1)
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector256<int> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector256<int> c10 = default, c11 = default, c12 = default, c13 = default;
        int i = 0;
        for (; i <= k - 32; i += 32)
        {
            var x0 = Biased(Vector256.LoadUnsafe(ref a0, (nuint)i));
            var x1 = Biased(Vector256.LoadUnsafe(ref a1, (nuint)i));
            var v = Vector256.LoadUnsafe(ref w, (nuint)i);
            c00 = SimdOps256.DotBusd(c00, x0, v);
            c10 = SimdOps256.DotBusd(c10, x1, v);
            v = Vector256.LoadUnsafe(ref w1, (nuint)i);
            c01 = SimdOps256.DotBusd(c01, x0, v);
            c11 = SimdOps256.DotBusd(c11, x1, v);
            v = Vector256.LoadUnsafe(ref w2, (nuint)i);
            c02 = SimdOps256.DotBusd(c02, x0, v);
            c12 = SimdOps256.DotBusd(c12, x1, v);
            v = Vector256.LoadUnsafe(ref w3, (nuint)i);
            c03 = SimdOps256.DotBusd(c03, x0, v);
            c13 = SimdOps256.DotBusd(c13, x1, v);
        }
        if (i <= k - 16)
        {
            var x0 = Biased(Vector128.LoadUnsafe(ref a0, (nuint)i).ToVector256());
            var x1 = Biased(Vector128.LoadUnsafe(ref a1, (nuint)i).ToVector256());
            var v = Vector128.LoadUnsafe(ref w, (nuint)i).ToVector256();
            c00 = SimdOps256.DotBusd(c00, x0, v);
            c10 = SimdOps256.DotBusd(c10, x1, v);
            v = Vector128.LoadUnsafe(ref w1, (nuint)i).ToVector256();
            c01 = SimdOps256.DotBusd(c01, x0, v);
            c11 = SimdOps256.DotBusd(c11, x1, v);
            v = Vector128.LoadUnsafe(ref w2, (nuint)i).ToVector256();
            c02 = SimdOps256.DotBusd(c02, x0, v);
            c12 = SimdOps256.DotBusd(c12, x1, v);
            v = Vector128.LoadUnsafe(ref w3, (nuint)i).ToVector256();
            c03 = SimdOps256.DotBusd(c03, x0, v);
            c13 = SimdOps256.DotBusd(c13, x1, v);
            i += 16;
        }
        r0 = SimdOps256.ReduceAdd4(c00, c01, c02, c03) + Int8DotTail.Dot4(ref a0, ref w, wStride, i, k, 128);
        r1 = SimdOps256.ReduceAdd4(c10, c11, c12, c13) + Int8DotTail.Dot4(ref a1, ref w, wStride, i, k, 128);
    }
}
