using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// arm64 with the dot product extension (Raspberry Pi 5, Cortex-A76): SDOT, 16 bytes per step,
/// ADDP reductions. On other machines the primitives are exact emulations.
/// </summary>
internal readonly struct SdotDot : IInt8Dot
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated;
    public static bool BiasedActivations => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot1x4(ref sbyte a, ref sbyte w, nint wStride, int k)
        => Vector128Dot.Dot1x4<SdotStep>(ref a, ref w, wStride, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot2x4(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1)
        => Vector128Dot.Dot2x4<SdotStep>(ref a0, ref a1, ref w, wStride, k, out r0, out r1);
}

/// <summary>
/// arm64 without the dot product extension (Raspberry Pi 4, Cortex-A72): SMULL/SMULL2 into int16
/// and SADALP into int32, 16 bytes per step.
/// </summary>
internal readonly struct SmullDot : IInt8Dot
{
    public static bool IsSupported => Vector128.IsHardwareAccelerated;
    public static bool BiasedActivations => false;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot1x4(ref sbyte a, ref sbyte w, nint wStride, int k)
        => Vector128Dot.Dot1x4<SmullStep>(ref a, ref w, wStride, k);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot2x4(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1)
        => Vector128Dot.Dot2x4<SmullStep>(ref a0, ref a1, ref w, wStride, k, out r0, out r1);
}

/// <summary>One 16-byte multiply-accumulate step of a Vector128 strategy.</summary>
internal interface IStep128
{
    static abstract Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b);
}

internal readonly struct SdotStep : IStep128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b) => SimdOps.DotProduct(acc, a, b);
}

internal readonly struct SmullStep : IStep128
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Step(Vector128<int> acc, Vector128<sbyte> a, Vector128<sbyte> b) => SimdOps.MultiplyAddPairs(acc, a, b);
}

/// <summary>
/// The Vector128 inner products, written once over the 16-byte step. An inner length that is not a
/// multiple of 16 (K >= 16) ends with one more step over the row's last 16 bytes, the activation lanes
/// already summed masked to zero (exact: those products become 0); below 16 the scalar tail remains.
/// </summary>
internal static class Vector128Dot
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot1x4<TStep>(ref sbyte a, ref sbyte w, nint wStride, int k) where TStep : struct, IStep128
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector128<int> c0 = default, c1 = default, c2 = default, c3 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var x = Vector128.LoadUnsafe(ref a, (nuint)i);
            c0 = TStep.Step(c0, x, Vector128.LoadUnsafe(ref w, (nuint)i));
            c1 = TStep.Step(c1, x, Vector128.LoadUnsafe(ref w1, (nuint)i));
            c2 = TStep.Step(c2, x, Vector128.LoadUnsafe(ref w2, (nuint)i));
            c3 = TStep.Step(c3, x, Vector128.LoadUnsafe(ref w3, (nuint)i));
        }
        if (i < k && k >= 16)
        {
            // The inner tail in-vector: the last 16 bytes of the row, the lanes already summed masked off.
            int at = k - 16;
            var x = Vector128.LoadUnsafe(ref a, (nuint)at) & TailMask(k - i);
            c0 = TStep.Step(c0, x, Vector128.LoadUnsafe(ref w, (nuint)at));
            c1 = TStep.Step(c1, x, Vector128.LoadUnsafe(ref w1, (nuint)at));
            c2 = TStep.Step(c2, x, Vector128.LoadUnsafe(ref w2, (nuint)at));
            c3 = TStep.Step(c3, x, Vector128.LoadUnsafe(ref w3, (nuint)at));
            i = k;
        }
        return SimdOps.ReduceAdd4(c0, c1, c2, c3) + Int8DotTail.Dot4(ref a, ref w, wStride, i, k, 0);
    }

    /// <summary>Lanes [16 - r, 16) all ones, the others zero (r in 1..15): keeps the last r bytes of a 16-byte load.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<sbyte> TailMask(int r)
        => Vector128.LoadUnsafe(ref Unsafe.Add(ref System.Runtime.InteropServices.MemoryMarshal.GetReference(TailMaskBytes), r)).AsSByte();

    private static ReadOnlySpan<byte> TailMaskBytes =>
    [
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    ];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Dot2x4<TStep>(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1)
        where TStep : struct, IStep128
    {
        ref sbyte w1 = ref Unsafe.Add(ref w, wStride), w2 = ref Unsafe.Add(ref w, 2 * wStride), w3 = ref Unsafe.Add(ref w, 3 * wStride);
        Vector128<int> c00 = default, c01 = default, c02 = default, c03 = default;
        Vector128<int> c10 = default, c11 = default, c12 = default, c13 = default;
        int i = 0;
        for (; i <= k - 16; i += 16)
        {
            var x0 = Vector128.LoadUnsafe(ref a0, (nuint)i);
            var x1 = Vector128.LoadUnsafe(ref a1, (nuint)i);
            var v = Vector128.LoadUnsafe(ref w, (nuint)i);
            c00 = TStep.Step(c00, x0, v);
            c10 = TStep.Step(c10, x1, v);
            v = Vector128.LoadUnsafe(ref w1, (nuint)i);
            c01 = TStep.Step(c01, x0, v);
            c11 = TStep.Step(c11, x1, v);
            v = Vector128.LoadUnsafe(ref w2, (nuint)i);
            c02 = TStep.Step(c02, x0, v);
            c12 = TStep.Step(c12, x1, v);
            v = Vector128.LoadUnsafe(ref w3, (nuint)i);
            c03 = TStep.Step(c03, x0, v);
            c13 = TStep.Step(c13, x1, v);
        }
        if (i < k && k >= 16)
        {
            // The inner tail in-vector, as in Dot1x4.
            nuint at = (nuint)(k - 16);
            var mask = TailMask(k - i);
            var x0 = Vector128.LoadUnsafe(ref a0, at) & mask;
            var x1 = Vector128.LoadUnsafe(ref a1, at) & mask;
            var v = Vector128.LoadUnsafe(ref w, at);
            c00 = TStep.Step(c00, x0, v);
            c10 = TStep.Step(c10, x1, v);
            v = Vector128.LoadUnsafe(ref w1, at);
            c01 = TStep.Step(c01, x0, v);
            c11 = TStep.Step(c11, x1, v);
            v = Vector128.LoadUnsafe(ref w2, at);
            c02 = TStep.Step(c02, x0, v);
            c12 = TStep.Step(c12, x1, v);
            v = Vector128.LoadUnsafe(ref w3, at);
            c03 = TStep.Step(c03, x0, v);
            c13 = TStep.Step(c13, x1, v);
            i = k;
        }
        r0 = SimdOps.ReduceAdd4(c00, c01, c02, c03) + Int8DotTail.Dot4(ref a0, ref w, wStride, i, k, 0);
        r1 = SimdOps.ReduceAdd4(c10, c11, c12, c13) + Int8DotTail.Dot4(ref a1, ref w, wStride, i, k, 0);
    }
}
