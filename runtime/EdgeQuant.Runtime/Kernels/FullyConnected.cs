using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// FullyConnected, int8. Input [N, Cin], filter [Cout, Cin] (per-channel symmetric), bias [Cout]
/// int32, output [N, Cout]. Arithmetic as <see cref="Conv2D"/>.
/// </summary>
public static partial class FullyConnected
{
    /// <summary>
    /// Runs the fastest path this machine supports. Convenience form for one-off calls: it packs the
    /// filter on every call; the <see cref="Interpreter"/> prepares it once.
    /// </summary>
    public static void EvalS8(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        var packed = Vector128.IsHardwareAccelerated ? Prepare(p, filter, cin, cout, bias) : null;
        EvalS8(p, input, batches, cin, filter, cout, bias, packed, multipliers, shifts, output);
    }

    /// <summary>Precomputes the fast paths' per-op data (once per op, outside Eval).</summary>
    internal static PackedFilter Prepare(in FullyConnectedParams p, ReadOnlySpan<sbyte> filter, int cin, int cout, ReadOnlySpan<int> bias)
        => PackedFilter.Create(filter, cout, cin, bias, p.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: Dp.IsSupported || AvxVnni.IsSupported ? cin : 0);

    /// <summary>
    /// The dispatcher: AVX-VNNI, AVX2, arm64 SDOT tiles (4 or more batch rows), arm64 SDOT dot products, arm64
    /// SMULL/SADALP (or SSE4.1), then the reference.
    /// </summary>
    internal static void EvalS8(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<int> bias, PackedFilter? packed,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        if (packed is not null)
        {
            if (Avx2.IsSupported)
            {
                if (AvxVnni.IsSupported) EvalS8Fast<AvxVnniDot>(p, input, batches, cin, filter, packed, multipliers, shifts, output);
                else EvalS8Fast<Avx2Dot>(p, input, batches, cin, filter, packed, multipliers, shifts, output);
                return;
            }
            // Four or more rows: the register-blocked SDOT tiles (4 rows x 8 channels); fewer, the dot products.
            if (Dp.IsSupported && packed.Quads is not null && batches >= 4)
            {
                Conv2D.RunSdotPointwise(input, batches, cin, packed, multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, output, packed.Cout);
                return;
            }
            if (Vector128.IsHardwareAccelerated)
            {
                if (Dp.IsSupported) EvalS8Fast<SdotDot>(p, input, batches, cin, filter, packed, multipliers, shifts, output);
                else EvalS8Fast<SmullDot>(p, input, batches, cin, filter, packed, multipliers, shifts, output);
                return;
            }
        }
        EvalS8Reference(p, input, batches, cin, filter, cout, bias, multipliers, shifts, output);
    }

    /// <summary>Each batch row dotted with several output channels' rows at a time (<see cref="Int8Gemm"/>).</summary>
    internal static void EvalS8Fast<TDot>(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        ReadOnlySpan<sbyte> filter, PackedFilter packed, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
        where TDot : struct, IInt8Dot
    {
        Int8Gemm.Run<TDot>(ref MemoryMarshal.GetReference(input), cin, batches, ref MemoryMarshal.GetReference(filter), cin, cin, packed,
            multipliers, shifts, p.OutputOffset, p.ActivationMin, p.ActivationMax, ref MemoryMarshal.GetReference(output), packed.Cout);
    }
}
