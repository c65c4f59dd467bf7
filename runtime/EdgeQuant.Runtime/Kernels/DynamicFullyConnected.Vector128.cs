using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeQuant.Runtime.Kernels;

public static partial class DynamicFullyConnected
{
    /// <summary>The reference's arithmetic with the inner products 16 wide (exact integer sums, so the same bytes).</summary>
    public static void EvalF32Vector128(ReadOnlySpan<float> input, int batches, int cin, ReadOnlySpan<sbyte> filter, int cout, ReadOnlySpan<float> scales,
        ReadOnlySpan<float> bias, float min, float max, Span<byte> codes, Span<float> output)
    {
        int n = batches * cin;
        DynamicQuantize.QuantizeU8(input.Slice(0, n), codes, out float scale, out int zp);
        for (int b = 0; b < batches; b++)
        {
            var row = codes.Slice(b * cin, cin);
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = Dot(row, zp, filter.Slice(oc * cin, cin));
                output[b * cout + oc] = DynamicQuantize.Output(acc, scale, scales[scales.Length == 1 ? 0 : oc], bias[oc], min, max);
            }
        }
    }

    /// <summary>Σ (q[i] − zp) × w[i] over equal-length spans: 16 per step as int16 products (|product| ≤ 255 × 128 fits), widened to int32 sums; scalar tail.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Dot(ReadOnlySpan<byte> q, int zp, ReadOnlySpan<sbyte> w)
    {
        int n = q.Length;
        int i = 0;
        int acc = 0;
        if (n >= 16)
        {
            ref byte qr = ref MemoryMarshal.GetReference(q);
            ref sbyte wr = ref MemoryMarshal.GetReference(w);
            var z = Vector128.Create((short)zp);
            var sum = Vector128<int>.Zero;
            for (; i <= n - 16; i += 16)
            {
                var qv = Vector128.LoadUnsafe(ref qr, (nuint)i);
                var wv = Vector128.LoadUnsafe(ref wr, (nuint)i);
                var (q0, q1) = Vector128.Widen(qv);
                var (w0, w1) = Vector128.Widen(wv);
                var p0 = (q0.AsInt16() - z) * w0;
                var p1 = (q1.AsInt16() - z) * w1;
                var (a0, a1) = Vector128.Widen(p0);
                var (b0, b1) = Vector128.Widen(p1);
                sum += a0 + a1 + b0 + b1;
            }
            acc = Vector128.Sum(sum);
        }
        for (; i < n; i++) acc += (q[i] - zp) * w[i];
        return acc;
    }
}
