using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

public static partial class SparseKernels
{
    /// <summary>
    /// Sparse FullyConnected without bounds checks: Σ x[column_i] · value_i from the folded bias, two output
    /// channels interleaved (independent dependency chains) and each row unrolled by two. A batch row has no
    /// second dimension to vectorize over; at batch 1 the work is one gather-multiply-add per stored weight.
    /// </summary>
    private static void FullyConnectedFast(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        SparseFilter filter, int cout, CompressedPrepared prepared, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        ref int starts = ref MemoryMarshal.GetReference(filter.RowStarts);
        ref ushort cols = ref MemoryMarshal.GetReference(filter.Columns);
        ref sbyte values = ref MemoryMarshal.GetReference(filter.Values);
        ref int folded = ref MemoryMarshal.GetArrayDataReference(prepared.FoldedBias);
        for (int b = 0; b < batches; b++)
        {
            ref sbyte x = ref Unsafe.Add(ref MemoryMarshal.GetReference(input), b * cin);
            for (int oc = 0; oc < cout; oc++)
            {
                int acc0 = Unsafe.Add(ref folded, oc), acc1 = 0;
                int i = Unsafe.Add(ref starts, oc), e = Unsafe.Add(ref starts, oc + 1);
                for (; i + 2 <= e; i += 2)
                {
                    acc0 += Unsafe.Add(ref x, Unsafe.Add(ref cols, i)) * Unsafe.Add(ref values, i);
                    acc1 += Unsafe.Add(ref x, Unsafe.Add(ref cols, i + 1)) * Unsafe.Add(ref values, i + 1);
                }
                if (i < e) acc0 += Unsafe.Add(ref x, Unsafe.Add(ref cols, i)) * Unsafe.Add(ref values, i);
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc0 + acc1, multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
        }
    }
}
