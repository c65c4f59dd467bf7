using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Matrix product of two int8 activations (attention-style MatMul). Operands are rank 4:
/// a [A0, A1, M, K] and b [B0, B1, N, K] (the second operand stored transposed, so both reduce
/// over their contiguous last dimension); output [O0, O1, M, N] where each batch dimension of an
/// input equals the output's or is 1 (broadcast). For each output element:
/// acc = sum over k of (a + Input1Offset) x (b + Input2Offset) (int32; |x + offset| ≤ 383 and the
/// reader's K × 383² &lt; 2^31 keep it exact),
/// out = clamp(MultiplyByQuantizedMultiplier(acc, OutputMultiplier, OutputShift) + OutputOffset,
/// ActivationMin, ActivationMax).
/// </summary>
public static partial class BatchMatMul
{
    public static void EvalS8Reference(in BatchMatMulParams p, ReadOnlySpan<sbyte> a, in Shape4 aShape, ReadOnlySpan<sbyte> b, in Shape4 bShape,
        Span<sbyte> output, in Shape4 outShape)
    {
        int m = outShape.D2, n = outShape.D3, k = aShape.D3;
        for (int o0 = 0; o0 < outShape.D0; o0++)
            for (int o1 = 0; o1 < outShape.D1; o1++)
            {
                int aBase = (((aShape.D0 == 1 ? 0 : o0) * aShape.D1) + (aShape.D1 == 1 ? 0 : o1)) * m * k;
                int bBase = (((bShape.D0 == 1 ? 0 : o0) * bShape.D1) + (bShape.D1 == 1 ? 0 : o1)) * n * k;
                int oBase = ((o0 * outShape.D1) + o1) * m * n;
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        int acc = 0;
                        for (int kk = 0; kk < k; kk++)
                            acc += (a[aBase + i * k + kk] + p.Input1Offset) * (b[bBase + j * k + kk] + p.Input2Offset);
                        output[oBase + i * n + j] = Requantize(p, acc);
                    }
            }
    }

    internal static sbyte Requantize(in BatchMatMulParams p, int acc)
    {
        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, p.OutputMultiplier, p.OutputShift) + p.OutputOffset;
        return (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
    }
}
