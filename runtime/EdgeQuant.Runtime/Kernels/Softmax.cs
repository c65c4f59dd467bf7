namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Softmax over the last axis, int8 in, int8 out with scale 1/256 and zero point -128.
/// With d = max(row) - x in [0, 255] and a conversion-time table E[d] = round(2^23 exp(-beta x scale x d)),
/// out = clamp(floor((E[d] x 256 + sum/2) / sum) - 128, -128, 127) where sum is the row's sum of E.
/// Integer-only at run time.
/// </summary>
public static class Softmax
{
    public static void EvalS8(ReadOnlySpan<sbyte> input, Span<sbyte> output, int rows, int depth, ReadOnlySpan<int> expTable)
    {
        for (int r = 0; r < rows; r++)
        {
            var x = input.Slice(r * depth, depth);
            var y = output.Slice(r * depth, depth);
            int max = -128;
            for (int i = 0; i < depth; i++) max = System.Math.Max(max, x[i]);
            long sum = 0;
            for (int i = 0; i < depth; i++) sum += expTable[max - x[i]];
            long half = sum / 2;
            for (int i = 0; i < depth; i++)
            {
                long q = ((long)expTable[max - x[i]] * 256 + half) / sum;
                y[i] = (sbyte)System.Math.Clamp(q - 128, -128, 127);
            }
        }
    }
}
