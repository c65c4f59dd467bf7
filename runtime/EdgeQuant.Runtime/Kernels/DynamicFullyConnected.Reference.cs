namespace EdgeQuant.Runtime.Kernels;

public static partial class DynamicFullyConnected
{
    /// <summary>The definition: the plain loops.</summary>
    public static void EvalF32Reference(ReadOnlySpan<float> input, int batches, int cin, ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, float min, float max, Span<byte> codes, Span<float> output)
    {
        int n = batches * cin;
        DynamicQuantize.QuantizeU8(input.Slice(0, n), codes, out float scale, out int zp);
        for (int b = 0; b < batches; b++)
        {
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = 0;
                for (int i = 0; i < cin; i++) acc += (codes[b * cin + i] - zp) * filter[oc * cin + i];
                output[b * cout + oc] = DynamicQuantize.Output(acc, scale, scales[scales.Length == 1 ? 0 : oc], bias[oc], min, max);
            }
        }
    }
}
