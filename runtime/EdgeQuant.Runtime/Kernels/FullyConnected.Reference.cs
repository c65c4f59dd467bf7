using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class FullyConnected
{
    /// <summary>The plain loop nest that defines FullyConnected.</summary>
    public static void EvalS8Reference(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        for (int b = 0; b < batches; b++)
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = bias[oc];
                for (int ic = 0; ic < cin; ic++)
                    acc += (input[b * cin + ic] + p.InputOffset) * filter[oc * cin + ic];
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
    }
}
