using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;

namespace EdgeQuant.Runtime.Kernels.Simd;

internal static partial class SimdOps
{
    /// <summary>
    /// SMLAL by lane: acc[i] + w[i] * x[lane] for i in 0..3 (int16 x int16 products, exact in int32,
    /// wrapping sum). One instruction on arm64 (SMLAL Vd.4S, Vn.4H, Vm.H[lane]); <paramref name="lane"/>
    /// must be a constant there. Elsewhere the same lanes through widening and a broadcast.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddLaneLower(Vector128<int> acc, Vector128<short> w, Vector128<short> x, [ConstantExpected(Max = 7)] byte lane)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyBySelectedScalarWideningLowerAndAdd(acc, w.GetLower(), x, lane);
        return acc + Vector128.WidenLower(w) * Vector128.Create((int)x.GetElement(lane));
    }

    /// <summary>SMLAL2 by lane: acc[i] + w[4 + i] * x[lane] for i in 0..3, as <see cref="MultiplyAddLaneLower"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<int> MultiplyAddLaneUpper(Vector128<int> acc, Vector128<short> w, Vector128<short> x, [ConstantExpected(Max = 7)] byte lane)
    {
        if (AdvSimd.IsSupported)
            return AdvSimd.MultiplyBySelectedScalarWideningUpperAndAdd(acc, w, x, lane);
        return acc + Vector128.WidenUpper(w) * Vector128.Create((int)x.GetElement(lane));
    }
}
