using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Packing;

/// <summary>Writes compressed and sparse filters (docs/format.md 5.10, 5.11) and picks the op that reads them.</summary>
public static class CompressedPacking
{
    /// <summary>
    /// Pruned layers are stored as sparse rows from this fraction of zero weights on: below it the
    /// dense SIMD kernels are faster than the zero-skipping ones (measured: docs/compression.md).
    /// </summary>
    public const double SparseFromSparsity = 0.7;

    /// <summary>True when the op keeps its plain int8 filter (and its own op code).</summary>
    public static bool UsesPlainInt8(IrOp op, OpQuant r, double sparseFrom)
        => r.Encoding == WeightEncoding.Int8 && !(r.Sparse && SparsityOf(r.Weights!) >= sparseFrom && SparseRowFits(op));

    public static double SparsityOf(sbyte[] w)
    {
        int zeros = 0;
        foreach (var v in w) if (v == 0) zeros++;
        return w.Length == 0 ? 0 : (double)zeros / w.Length;
    }

    private static bool SparseRowFits(IrOp op) => op.Type != OpType.DepthwiseConv2D && op.Weights!.Length / op.WeightShape[0] <= CompressedWeights.MaxSparseRow;

    /// <summary>Adds the filter (and codebook) tensors; returns the op code, the filter tensor and the codebook tensor (-1: none).</summary>
    public static (OpType Type, int Filter, int Codebook) AddFilter(ModelWriter w, IrOp op, OpQuant r, int quantIndex)
    {
        var q = r.Weights!;
        int rows = op.WeightShape[0];
        if (r.Encoding == WeightEncoding.Int8)
        {
            var type = op.Type == OpType.FullyConnected ? OpType.FullyConnectedSparse : OpType.Conv2DSparse;
            return (type, w.AddConstantEncoded(TensorType.SparseInt8, op.WeightShape, EncodeSparse(q, rows), quantIndex), -1);
        }
        var compressed = op.Type switch
        {
            OpType.Conv2D => OpType.Conv2DCompressed,
            OpType.DepthwiseConv2D => OpType.DepthwiseConv2DCompressed,
            _ => OpType.FullyConnectedCompressed,
        };
        if (r.Encoding == WeightEncoding.Int4)
        {
            var values = new int[q.Length];
            for (int i = 0; i < q.Length; i++) values[i] = q[i];
            return (compressed, w.AddConstantEncoded(TensorType.Int4, op.WeightShape, Int4Grid.Pack(values, rows), quantIndex), -1);
        }
        var table = r.Codebook!;
        int cbq = w.AddQuantization([1f], 0);
        int cb = w.AddConstant<sbyte>(TensorType.Int8, [1, table.Length], table, cbq);
        var idx = r.CodebookIndices!;
        if (r.Encoding == WeightEncoding.Codebook8)
            return (compressed, w.AddConstantEncoded(TensorType.Index8, op.WeightShape, idx, quantIndex), cb);
        var ints = new int[idx.Length];
        for (int i = 0; i < idx.Length; i++) ints[i] = idx[i];
        return (compressed, w.AddConstantEncoded(TensorType.Index4, op.WeightShape, Int4Grid.Pack(ints, rows), quantIndex), cb);
    }

    /// <summary>Sparse rows over dims[0]: int32 row starts, u16 columns (padded to 4 bytes), int8 values.</summary>
    public static byte[] EncodeSparse(ReadOnlySpan<sbyte> q, int rows)
    {
        int per = q.Length / rows;
        int nnz = 0;
        foreach (var v in q) if (v != 0) nnz++;
        var bytes = new byte[CompressedWeights.SparseBytes(rows, nnz)];
        int colOff = CompressedWeights.SparseColumnsOffset(rows), valOff = CompressedWeights.SparseValuesOffset(rows, nnz);
        int n = 0;
        for (int r = 0; r < rows; r++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(4 * r), n);
            for (int c = 0; c < per; c++)
            {
                sbyte v = q[r * per + c];
                if (v == 0) continue;
                BitConverter.TryWriteBytes(bytes.AsSpan(colOff + 2 * n), (ushort)c);
                bytes[valOff + n] = (byte)v;
                n++;
            }
        }
        BitConverter.TryWriteBytes(bytes.AsSpan(4 * rows), n);
        return bytes;
    }
}
