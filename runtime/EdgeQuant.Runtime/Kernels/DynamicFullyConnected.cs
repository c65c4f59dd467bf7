namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// DynamicFullyConnected: float input [batch, Cin] quantized per inference (<see cref="DynamicQuantize"/>),
/// int8 filter [Cout, Cin] with per-channel (or one) scales and zero point 0, float bias, float output.
/// <c>acc[b, oc] = Σ (q[b, i] − zp) × w[oc, i]</c> (int32, exact), then <see cref="DynamicQuantize.Output"/>.
/// </summary>
public static partial class DynamicFullyConnected
{
    /// <summary>Dispatch: the fast path where the CPU has one, else the reference. <paramref name="codes"/> is scratch of the input's length.</summary>
    public static void EvalF32(ReadOnlySpan<float> input, int batches, int cin, ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, float min, float max, Span<byte> codes, Span<float> output)
    {
#if NET
        if (System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
        {
            EvalF32Vector128(input, batches, cin, filter, cout, scales, bias, min, max, codes, output);
            return;
        }
#endif
        EvalF32Reference(input, batches, cin, filter, cout, scales, bias, min, max, codes, output);
    }
}
