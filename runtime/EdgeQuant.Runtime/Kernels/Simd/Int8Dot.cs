using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace EdgeQuant.Runtime.Kernels.Simd;

/// <summary>
/// The inner product strategy of the Conv2D / FullyConnected fast paths: dot products of one or
/// two int8 activation rows with four consecutive filter rows ([Cout, K] layout, so each
/// output channel's weights are contiguous, as are an NHWC pixel's channels or an im2col row).
/// Implementations are structs so the JIT specialises the kernels per strategy and folds the
/// IsSupported checks to constants. Each method is a SIMD body followed by a scalar tail over the
/// remaining k.
/// </summary>
internal interface IInt8Dot
{
    /// <summary>Whether the strategy can run on this machine (possibly through emulated primitives).</summary>
    static abstract bool IsSupported { get; }

    /// <summary>
    /// True when the sums are of (x + 128) * w (unsigned x signed instructions such as VPDPBUSD):
    /// the caller starts from <see cref="PackedFilter.InitBiased"/> (which subtracts 128 * sum(w)).
    /// </summary>
    static abstract bool BiasedActivations { get; }

    /// <summary>[dot(a, w0), dot(a, w1), dot(a, w2), dot(a, w3)] with wi = w + i * wStride, over k.</summary>
    static abstract Vector128<int> Dot1x4(ref sbyte a, ref sbyte w, nint wStride, int k);

    /// <summary><see cref="Dot1x4"/> for two activation rows sharing the weight loads.</summary>
    static abstract void Dot2x4(ref sbyte a0, ref sbyte a1, ref sbyte w, nint wStride, int k, out Vector128<int> r0, out Vector128<int> r1);
}

/// <summary>Scalar pieces the strategies share.</summary>
internal static class Int8DotTail
{
    /// <summary>sum over [i, k) of (a[j] + bias) * w[j]: the scalar tail of a strategy (bias 0 or 128).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Dot(ref sbyte a, ref sbyte w, int i, int k, int bias)
    {
        int s = 0;
        for (; i < k; i++)
            s += (Unsafe.Add(ref a, i) + bias) * Unsafe.Add(ref w, i);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> Dot4(ref sbyte a, ref sbyte w, nint wStride, int i, int k, int bias)
    {
        if (i >= k) return Vector128<int>.Zero;
        return Vector128.Create(
            Dot(ref a, ref w, i, k, bias),
            Dot(ref a, ref Unsafe.Add(ref w, wStride), i, k, bias),
            Dot(ref a, ref Unsafe.Add(ref w, 2 * wStride), i, k, bias),
            Dot(ref a, ref Unsafe.Add(ref w, 3 * wStride), i, k, bias));
    }
}
