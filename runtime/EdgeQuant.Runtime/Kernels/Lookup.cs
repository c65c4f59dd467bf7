namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Element-wise int8 to int8 through a 256-entry table indexed by x + 128. Logistic (output
/// scale 1/256, zero point -128), Tanh (1/128, 0) and other unary functions use it; the
/// converter fills the table by quantizing f(dequantize(x)) for every int8 x.
/// </summary>
public static partial class Lookup
{
    /// <summary>output[i] = table[input[i] + 128]: through Simd.TableMap where it has a vector form (AVX-512 VBMI, arm64; Lookup.Vector128.cs), else one at a time.</summary>
    public static void EvalS8(ReadOnlySpan<sbyte> input, Span<sbyte> output, ReadOnlySpan<sbyte> table)
    {
#if !NETSTANDARD2_1
        if (TryEvalS8Table(input, output, table))
            return;
#endif
        ReadOnlySpan<sbyte> t = table.Slice(0, 256);
        for (int i = 0; i < input.Length; i++)
            output[i] = t[input[i] + 128];
    }
}
