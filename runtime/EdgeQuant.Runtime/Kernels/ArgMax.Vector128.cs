using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

public static partial class ArgMax
{
    /// <summary>
    /// Vector128. Along a contiguous axis (inner = 1): the row's maximum 16 lanes at a time, then the
    /// first (or last) position holding it. Along a strided axis: 16 neighbouring outputs at once, each
    /// lane keeping its running maximum and the index (a byte: n ≤ 256) where a compare last won.
    /// Scalar tails continue from the same index; the winner is the reference's in every case.
    /// </summary>
    internal static void EvalS8Vector128(in ArgMaxParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output)
    {
        Split(inShape, p.Axis, out int outer, out int n, out int inner);
        bool last = p.SelectLastIndex != 0;
        ref sbyte x = ref MemoryMarshal.GetReference(input);
        ref sbyte y = ref MemoryMarshal.GetReference(output);
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
                Unsafe.Add(ref y, o) = (sbyte)(RowArgMax(ref Unsafe.Add(ref x, o * n), n, last) + p.OutputOffset);
            return;
        }

        var offset = Vector128.Create((byte)p.OutputOffset);
        for (int o = 0; o < outer; o++)
        {
            ref sbyte block = ref Unsafe.Add(ref x, o * n * inner);
            ref sbyte outRow = ref Unsafe.Add(ref y, o * inner);
            int i = 0;
            for (; i <= inner - 16; i += 16)
            {
                var best = Vector128.LoadUnsafe(ref Unsafe.Add(ref block, i));
                var index = Vector128<byte>.Zero;
                for (int k = 1; k < n; k++)
                {
                    var v = Vector128.LoadUnsafe(ref Unsafe.Add(ref block, (k * inner) + i));
                    var win = last ? Vector128.GreaterThanOrEqual(v, best) : Vector128.GreaterThan(v, best);
                    best = Vector128.Max(best, v);
                    index = Vector128.ConditionalSelect(win.AsByte(), Vector128.Create((byte)k), index);
                }

                (index + offset).AsSByte().StoreUnsafe(ref Unsafe.Add(ref outRow, i));
            }

            for (; i < inner; i++)
            {
                int best = 0;
                int bestValue = Unsafe.Add(ref block, i);
                for (int k = 1; k < n; k++)
                {
                    int v = Unsafe.Add(ref block, (k * inner) + i);
                    if (v > bestValue || (last && v == bestValue))
                    {
                        best = k;
                        bestValue = v;
                    }
                }

                Unsafe.Add(ref outRow, i) = (sbyte)(best + p.OutputOffset);
            }
        }
    }

    /// <summary>Index of the first (or last) maximum of a contiguous row of <paramref name="n"/> values.</summary>
    private static int RowArgMax(ref sbyte row, int n, bool last)
    {
        int max = row;
        int k = 0;
        if (n >= 16)
        {
            var m = Vector128.LoadUnsafe(ref row);
            for (k = 16; k <= n - 16; k += 16) m = Vector128.Max(m, Vector128.LoadUnsafe(ref Unsafe.Add(ref row, k)));
            for (int lane = 0; lane < 16; lane++) max = System.Math.Max(max, m.GetElement(lane));
        }

        for (; k < n; k++) max = System.Math.Max(max, Unsafe.Add(ref row, k));
        if (!last)
        {
            int j = 0;
            var target = Vector128.Create((sbyte)max);
            for (; j <= n - 16; j += 16)
            {
                uint bits = Vector128.Equals(Vector128.LoadUnsafe(ref Unsafe.Add(ref row, j)), target).ExtractMostSignificantBits();
                if (bits != 0) return j + System.Numerics.BitOperations.TrailingZeroCount(bits);
            }

            for (; j < n; j++) if (Unsafe.Add(ref row, j) == max) return j;
        }
        else
        {
            for (int j = n - 1; j >= 0; j--) if (Unsafe.Add(ref row, j) == max) return j;
        }

        return 0;
    }
}
