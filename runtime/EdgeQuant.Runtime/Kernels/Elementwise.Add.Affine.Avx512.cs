using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// <see cref="AddS8Affine"/>'s whole 32-element steps with AVX-512; returns where the rest starts (the 256-bit steps
    /// take it). Per 16 elements: VPMOVSXBD from memory and VCVTDQ2PS per input (exact), Beta y + Gamma and then Alpha x +
    /// that by two VFMADD (each one rounding, as the 256-bit FMAs), VCVTPS2DQ (round to nearest, the MXCSR default), then
    /// VPMOVSDB (narrowing with saturation, as the 256-bit packs) and the byte clamp on 32 bytes: the same arithmetic lane
    /// by lane as the 256-bit steps, so the same bytes, and what the prepare-time check on all 65,536 pairs runs on these
    /// machines.
    /// </summary>
    private static int AffineSteps512(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n)
        => q.PatchX is null ? Steps512<No>(q, ref ra, ref rb, ref ro, n) : Steps512<Yes>(q, ref ra, ref rb, ref ro, n);

    private interface IFlag { static abstract bool Value { get; } }
    private struct Yes : IFlag { public static bool Value => true; }
    private struct No : IFlag { public static bool Value => false; }

    /// <summary>
    /// <see cref="AffineSteps512"/>'s loop; TPatched: the patched form (<see cref="AddAffine.PatchX"/>), whose one or two
    /// (x, y) pairs take the reference's byte per 32-byte step as in the 256-bit <see cref="PatchedSteps"/>: two byte
    /// compares, an AND and a blend per patch (on BlazeFace's Adds on Zen 5 the exact AVX-512 arithmetic took about 3.5
    /// times as long per element, 7 December).
    /// </summary>
    private static int Steps512<TPatched>(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n) where TPatched : struct, IFlag
    {
        Vector256<sbyte> x0 = default, y0 = default, c0 = default, x1 = default, y1 = default, c1 = default;
        if (TPatched.Value)
        {
            x0 = Vector256.Create(q.PatchX![0]);
            y0 = Vector256.Create(q.PatchY![0]);
            c0 = Vector256.Create(q.PatchOut![0]);
            x1 = Vector256.Create(q.PatchX[1]);
            y1 = Vector256.Create(q.PatchY[1]);
            c1 = Vector256.Create(q.PatchOut[1]);
        }
        var alpha = Vector512.Create(q.Alpha);
        var beta = Vector512.Create(q.Beta);
        var gamma = Vector512.Create(q.Gamma);
        var min = Vector256.Create(q.Min);
        var max = Vector256.Create(q.Max);
        int i = 0;
        for (; i <= n - 32; i += 32)
        {
            var lo = Sixteen(ref Unsafe.Add(ref ra, i), ref Unsafe.Add(ref rb, i), alpha, beta, gamma);
            var hi = Sixteen(ref Unsafe.Add(ref ra, i + 16), ref Unsafe.Add(ref rb, i + 16), alpha, beta, gamma);
            var bytes = Vector256.Create(Avx512F.ConvertToVector128SByteWithSaturation(lo), Avx512F.ConvertToVector128SByteWithSaturation(hi));
            bytes = Vector256.Min(Vector256.Max(bytes, min), max);
            if (TPatched.Value)
            {
                var va = Vector256.LoadUnsafe(ref ra, (nuint)i);
                var vb = Vector256.LoadUnsafe(ref rb, (nuint)i);
                bytes = Vector256.ConditionalSelect(Vector256.Equals(va, x0) & Vector256.Equals(vb, y0), c0, bytes);
                bytes = Vector256.ConditionalSelect(Vector256.Equals(va, x1) & Vector256.Equals(vb, y1), c1, bytes);
            }
            bytes.StoreUnsafe(ref ro, (nuint)i);
        }
        return i;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<int> Sixteen(ref sbyte a, ref sbyte b, Vector512<float> alpha, Vector512<float> beta, Vector512<float> gamma)
        {
            var x = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref a)));
            var y = Avx512F.ConvertToVector512Single(Avx512F.ConvertToVector512Int32(Vector128.LoadUnsafe(ref b)));
            return Avx512F.ConvertToVector512Int32(Avx512F.FusedMultiplyAdd(alpha, x, Avx512F.FusedMultiplyAdd(beta, y, gamma)));
        }
    }
}
