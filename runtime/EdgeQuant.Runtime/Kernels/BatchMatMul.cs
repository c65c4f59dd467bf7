#if NET
using System.Runtime.Intrinsics;
#endif
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class BatchMatMul
{
    /// <summary>The dispatcher: the Vector128 path where SIMD is accelerated, else the reference. Same bytes.</summary>
    public static void EvalS8(in BatchMatMulParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
#if NET
        if (Vector128.IsHardwareAccelerated)
        {
            EvalS8Vector128(p, a, aShape, b, bShape, output, outShape);
            return;
        }
#endif
        EvalS8Reference(p, a, aShape, b, bShape, output, outShape);
    }
}
