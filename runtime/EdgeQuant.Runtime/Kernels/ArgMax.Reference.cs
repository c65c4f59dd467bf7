using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// ArgMax of int8 values along one axis of a rank-4 view [outer.., n, inner..]: the output holds
/// the winning index plus <see cref="ArgMaxParams.OutputOffset"/>. Quantization is monotone, so this
/// is the float argmax of the dequantized values (ties that rounding creates go to the first index,
/// or the last with <see cref="ArgMaxParams.SelectLastIndex"/>).
/// </summary>
public static partial class ArgMax
{
    /// <summary>The definition: one output at a time, comparing along the axis.</summary>
    public static void EvalS8Reference(in ArgMaxParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
    {
        Split(inShape, p.Axis, out int outer, out int n, out int inner);
        bool last = p.SelectLastIndex != 0;
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int baseIndex = (o * n * inner) + i;
                int best = 0;
                int bestValue = input[baseIndex];
                for (int k = 1; k < n; k++)
                {
                    int v = input[baseIndex + (k * inner)];
                    if (v > bestValue || (last && v == bestValue))
                    {
                        best = k;
                        bestValue = v;
                    }
                }

                output[(o * inner) + i] = (sbyte)(best + p.OutputOffset);
            }
        }
    }

    /// <summary>The rank-4 shape as [outer, n, inner] around <paramref name="axis"/>.</summary>
    internal static void Split(in Shape4 s, int axis, out int outer, out int n, out int inner)
    {
        outer = 1;
        inner = 1;
        for (int d = 0; d < axis; d++) outer *= s[d];
        for (int d = axis + 1; d < 4; d++) inner *= s[d];
        n = s[axis];
    }
}
