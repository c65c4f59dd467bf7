using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Elementwise
{
    /// <summary>
    /// <see cref="AddS8Affine"/>'s whole 16-element steps on arm64; returns where the tail starts. Per 4 elements: SXTL
    /// twice and SCVTF per input (exact), Beta y + Gamma and then Alpha x + that by FMLA (each one rounding, as x64's two
    /// FMAs), FCVTNS (round to nearest, ties to even, as VCVTPS2DQ), then SQXTN twice and the byte clamp: the same bytes as
    /// the x64 steps for the same form, and checked on all 65,536 pairs where the form is prepared.
    /// </summary>
    private static int AffineStepsAdvSimd(AddAffine q, ref sbyte ra, ref sbyte rb, ref sbyte ro, int n)
    {
        var alpha = Vector128.Create(q.Alpha);
        var beta = Vector128.Create(q.Beta);
        var gamma = Vector128.Create(q.Gamma);
        var min = Vector128.Create(q.Min);
        var max = Vector128.Create(q.Max);
        int i = 0;
        if (q.PatchX is not null)
        {
            // The patched form: after the step, lanes whose inputs equal a patch's pair take its byte (CMEQ, AND, BSL).
            var x0 = Vector128.Create(q.PatchX[0]);
            var y0 = Vector128.Create(q.PatchY![0]);
            var c0 = Vector128.Create(q.PatchOut![0]);
            var x1 = Vector128.Create(q.PatchX[1]);
            var y1 = Vector128.Create(q.PatchY[1]);
            var c1 = Vector128.Create(q.PatchOut[1]);
            for (; i <= n - 16; i += 16)
            {
                var a = Vector128.LoadUnsafe(ref ra, (nuint)i);
                var b = Vector128.LoadUnsafe(ref rb, (nuint)i);
                var bytes = Step(a, b, alpha, beta, gamma, min, max);
                bytes = AdvSimd.BitwiseSelect(AdvSimd.CompareEqual(a, x0) & AdvSimd.CompareEqual(b, y0), c0, bytes);
                bytes = AdvSimd.BitwiseSelect(AdvSimd.CompareEqual(a, x1) & AdvSimd.CompareEqual(b, y1), c1, bytes);
                bytes.StoreUnsafe(ref ro, (nuint)i);
            }
            return i;
        }
        for (; i <= n - 16; i += 16)
            Step(Vector128.LoadUnsafe(ref ra, (nuint)i), Vector128.LoadUnsafe(ref rb, (nuint)i), alpha, beta, gamma, min, max).StoreUnsafe(ref ro, (nuint)i);
        return i;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<sbyte> Step(Vector128<sbyte> a, Vector128<sbyte> b, Vector128<float> alpha, Vector128<float> beta, Vector128<float> gamma,
            Vector128<sbyte> min, Vector128<sbyte> max)
        {
            var a0 = AdvSimd.SignExtendWideningLower(a.GetLower());
            var a1 = AdvSimd.SignExtendWideningUpper(a);
            var b0 = AdvSimd.SignExtendWideningLower(b.GetLower());
            var b1 = AdvSimd.SignExtendWideningUpper(b);
            var w0 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(Quarter(a0.GetLower(), b0.GetLower(), alpha, beta, gamma)),
                Quarter(a0.GetUpper(), b0.GetUpper(), alpha, beta, gamma));
            var w1 = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(Quarter(a1.GetLower(), b1.GetLower(), alpha, beta, gamma)),
                Quarter(a1.GetUpper(), b1.GetUpper(), alpha, beta, gamma));
            var bytes = AdvSimd.ExtractNarrowingSaturateUpper(AdvSimd.ExtractNarrowingSaturateLower(w0), w1);
            return AdvSimd.Min(AdvSimd.Max(bytes, min), max);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector128<int> Quarter(Vector64<short> x, Vector64<short> y, Vector128<float> alpha, Vector128<float> beta, Vector128<float> gamma)
        {
            var fx = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningLower(x));
            var fy = AdvSimd.ConvertToSingle(AdvSimd.SignExtendWideningLower(y));
            return AdvSimd.ConvertToInt32RoundToEven(AdvSimd.FusedMultiplyAdd(AdvSimd.FusedMultiplyAdd(gamma, beta, fy), alpha, fx));
        }
    }
}
