using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// FullyConnected, int8. Input [N, Cin], filter [Cout, Cin] (per-channel symmetric), bias [Cout]
/// int32, output [N, Cout]. Arithmetic as <see cref="Conv2D"/>.
/// </summary>
public static partial class FullyConnected
{
    public static void EvalS8(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        EvalS8Reference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
    }
}
