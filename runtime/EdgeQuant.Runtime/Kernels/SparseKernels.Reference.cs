using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// A <see cref="TensorType.SparseInt8"/> filter (docs/format.md 5.11) read in place: row r's stored
/// values are entries [RowStart(r), RowStart(r + 1)) of <see cref="Columns"/> and <see cref="Values"/>.
/// </summary>
public readonly ref struct SparseFilter
{
    public readonly ReadOnlySpan<int> RowStarts;
    public readonly ReadOnlySpan<ushort> Columns;
    public readonly ReadOnlySpan<sbyte> Values;

    public SparseFilter(ReadOnlySpan<byte> data, int rows)
    {
        RowStarts = MemoryMarshal.Cast<byte, int>(data.Slice(0, 4 * (rows + 1)));
        int nnz = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(4 * rows));
        Columns = MemoryMarshal.Cast<byte, ushort>(data.Slice(CompressedWeights.SparseColumnsOffset(rows), 2 * nnz));
        Values = MemoryMarshal.Cast<byte, sbyte>(data.Slice(CompressedWeights.SparseValuesOffset(rows, nnz), nnz));
    }
}

/// <summary>
/// The sparse ops (53, 54). The reference visits only the stored (non-zero) weights of each output
/// channel; since a zero weight adds nothing to the int32 sum, it is bit-exact with the dense
/// reference on the expanded filter.
/// </summary>
public static partial class SparseKernels
{
    /// <summary>Conv2D with a sparse filter [Cout, Kh, Kw, Cin]; column c is (ky, kx, ic) with c = (ky·Kw + kx)·Cin + ic.</summary>
    public static void Conv2DReference(in Conv2DParams p, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        SparseFilter filter, in Shape4 filterShape, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output, in Shape4 outShape)
    {
        int batches = inShape.D0, inH = inShape.D1, inW = inShape.D2, cin = inShape.D3;
        int kw = filterShape.D2;
        int outH = outShape.D1, outW = outShape.D2, cout = outShape.D3;
        for (int b = 0; b < batches; b++)
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    int iy0 = oy * p.StrideH - p.PadTop, ix0 = ox * p.StrideW - p.PadLeft;
                    for (int oc = 0; oc < cout; oc++)
                    {
                        int acc = bias[oc];
                        for (int i = filter.RowStarts[oc]; i < filter.RowStarts[oc + 1]; i++)
                        {
                            int c = filter.Columns[i];
                            int tap = c / cin, ic = c - tap * cin;
                            int ky = tap / kw, kx = tap - ky * kw;
                            int iy = iy0 + ky * p.DilationH, ix = ix0 + kx * p.DilationW;
                            if ((uint)iy >= (uint)inH || (uint)ix >= (uint)inW) continue;
                            acc += (input[((b * inH + iy) * inW + ix) * cin + ic] + p.InputOffset) * filter.Values[i];
                        }
                        int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                        output[((b * outH + oy) * outW + ox) * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
                    }
                }
    }

    /// <summary>FullyConnected with a sparse filter [Cout, Cin].</summary>
    public static void FullyConnectedReference(in FullyConnectedParams p, ReadOnlySpan<sbyte> input, int batches, int cin,
        SparseFilter filter, int cout, ReadOnlySpan<int> bias,
        ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, Span<sbyte> output)
    {
        for (int b = 0; b < batches; b++)
            for (int oc = 0; oc < cout; oc++)
            {
                int acc = bias[oc];
                for (int i = filter.RowStarts[oc]; i < filter.RowStarts[oc + 1]; i++)
                    acc += (input[b * cin + filter.Columns[i]] + p.InputOffset) * filter.Values[i];
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc, multipliers[oc], shifts[oc]) + p.OutputOffset;
                output[b * cout + oc] = (sbyte)System.Math.Clamp(v, p.ActivationMin, p.ActivationMax);
            }
    }
}
