using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class Transpose
{
    /// <summary>The definition: one element at a time, the output walked in order.</summary>
    public static void EvalS8Reference(in TransposeParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
    {
        Span<int> inStride = stackalloc int[4];
        inStride[3] = 1;
        for (int d = 2; d >= 0; d--) inStride[d] = inStride[d + 1] * inShape[d + 1];
        int s0 = inStride[p.Perm0], s1 = inStride[p.Perm1], s2 = inStride[p.Perm2], s3 = inStride[p.Perm3];
        int i = 0;
        for (int a = 0; a < outShape.D0; a++)
            for (int b = 0; b < outShape.D1; b++)
                for (int c = 0; c < outShape.D2; c++)
                {
                    int baseIdx = a * s0 + b * s1 + c * s2;
                    for (int d = 0; d < outShape.D3; d++, i++)
                        output[i] = input[baseIdx + d * s3];
                }
    }
}
