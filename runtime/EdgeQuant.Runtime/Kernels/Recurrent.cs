#if NET
using System.Runtime.Intrinsics;
#endif
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Recurrent
{
    /// <summary>The dispatcher: Vector128 dot products where SIMD is accelerated, else the reference. Same bytes.</summary>
    public static void EvalS8(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<sbyte> w, ReadOnlySpan<sbyte> r, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
    {
#if NET
        if (Vector128.IsHardwareAccelerated)
        {
            EvalS8Vector128(lstm, p, x, xShape, w, r, bias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);
            return;
        }
#endif
        EvalS8Reference(lstm, p, x, xShape, w, r, bias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);
    }

    /// <summary>The dispatcher of ops 25-26 (int4 rows, see <see cref="EvalS8Int4Reference"/>): Vector128 decode and dot products where SIMD is accelerated, else the reference. Same bytes.</summary>
    public static void EvalS8Int4(bool lstm, in RecurrentParams p, ReadOnlySpan<sbyte> x, in Shape4 xShape,
        ReadOnlySpan<byte> w, ReadOnlySpan<byte> r, ReadOnlySpan<int> bias, ReadOnlySpan<int> postBias,
        ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts, ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts,
        Span<sbyte> y, Span<byte> scratch)
    {
#if NET
        if (Vector128.IsHardwareAccelerated)
        {
            EvalS8Int4Vector128(lstm, p, x, xShape, w, r, bias, postBias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);
            return;
        }
#endif
        EvalS8Int4Reference(lstm, p, x, xShape, w, r, bias, postBias, inputMultipliers, inputShifts, recurrentMultipliers, recurrentShifts, y, scratch);
    }
}
