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
    {
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
            Vector256.Min(Vector256.Max(bytes, min), max).StoreUnsafe(ref ro, (nuint)i);
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
