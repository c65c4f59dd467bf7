#if NET
using System.Runtime.Intrinsics;
#endif
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class ArgMax
{
    /// <summary>The dispatcher: the Vector128 path where SIMD is accelerated, else the reference. Same bytes.</summary>
    public static void EvalS8(in ArgMaxParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
    {
#if NET
        if (Vector128.IsHardwareAccelerated)
        {
            EvalS8Vector128(p, input, inShape, output);
            return;
        }
#endif
        EvalS8Reference(p, input, inShape, output);
    }
}
