using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Add, Sub and Mul of int8 NHWC tensors with numpy-style broadcasting over rank-4 shapes.
/// Add/Sub: both inputs are shifted left by LeftShift, rescaled to a common scale with
/// multipliers below one, summed, and rescaled to the output (TFLite's int8 Add).
/// Mul: the product of the offset inputs rescaled by OutputMultiplier.
/// </summary>
public static partial class Elementwise
{
    /// <summary>The dispatcher: rows of the innermost dimension through AVX2, arm64 (AdvSimd) or Vector128, then the reference.</summary>
    public static void AddS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape, bool subtract)
    {
        if (Avx2.IsSupported)
            EvalRows<Avx2AddRow>(p, a, aShape, b, bShape, output, outShape, subtract);
        else if (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported)
            EvalRows<AdvSimdAddRow>(p, a, aShape, b, bShape, output, outShape, subtract);
        else if (Vector128.IsHardwareAccelerated)
            EvalRows<Vector128AddRow>(p, a, aShape, b, bShape, output, outShape, subtract);
        else
            AddS8Reference(p, a, aShape, b, bShape, output, outShape, subtract);
    }

    public static void MulS8(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        if (Vector128.IsHardwareAccelerated)
            EvalRows<Vector128MulRow>(p, a, aShape, b, bShape, output, outShape, subtract: false);
        else
            MulS8Reference(p, a, aShape, b, bShape, output, outShape);
    }

    /// <summary>
    /// A SIMD body for one contiguous output row (an input with step 0 is broadcast) and the
    /// element the scalar tail uses. The subtract argument selects Sub for Add rows.
    /// </summary>
    internal interface IElementwiseRow
    {
        /// <summary>Processes a prefix of the row; returns where the scalar tail starts.</summary>
        static abstract int Run(in ElementwiseParams p, ref sbyte a, int aStep, ref sbyte b, int bStep, ref sbyte output, int n, bool subtract);

        /// <summary>One element, exactly as the reference computes it.</summary>
        static abstract sbyte One(in ElementwiseParams p, int x, int y, bool subtract);
    }

    /// <summary>
    /// Splits the broadcast into rows along the innermost dimension (the whole tensor when the
    /// shapes match or one input is a single value); each row is a SIMD body and a scalar tail.
    /// </summary>
    internal static void EvalRows<TRow>(in ElementwiseParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape, bool subtract) where TRow : struct, IElementwiseRow
    {
        bool aFull = aShape == outShape, bFull = bShape == outShape;
        if ((aFull || aShape.FlatSize == 1) && (bFull || bShape.FlatSize == 1))
        {
            Row<TRow>(p, a, aFull ? 1 : 0, b, bFull ? 1 : 0, output, subtract);
            return;
        }
        int n = outShape.D3, i = 0;
        int aStep = aShape.D3 == 1 ? 0 : 1, bStep = bShape.D3 == 1 ? 0 : 1;
        for (int d0 = 0; d0 < outShape.D0; d0++)
            for (int d1 = 0; d1 < outShape.D1; d1++)
                for (int d2 = 0; d2 < outShape.D2; d2++, i += n)
                {
                    int ai = Index(aShape, d0, d1, d2, 0), bi = Index(bShape, d0, d1, d2, 0);
                    Row<TRow>(p, a.Slice(ai, aStep == 0 ? 1 : n), aStep, b.Slice(bi, bStep == 0 ? 1 : n), bStep, output.Slice(i, n), subtract);
                }
    }

    private static void Row<TRow>(in ElementwiseParams p, ReadOnlySpan<sbyte> a, int aStep, ReadOnlySpan<sbyte> b, int bStep, Span<sbyte> output, bool subtract)
        where TRow : struct, IElementwiseRow
    {
        int n = output.Length;
        int j = TRow.Run(p, ref MemoryMarshal.GetReference(a), aStep, ref MemoryMarshal.GetReference(b), bStep, ref MemoryMarshal.GetReference(output), n, subtract);
        for (; j < n; j++)
            output[j] = TRow.One(p, a[j * aStep], b[j * bStep], subtract);
    }
}
