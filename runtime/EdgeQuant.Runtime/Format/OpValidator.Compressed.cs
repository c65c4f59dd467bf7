namespace EdgeQuant.Runtime.Format;

internal static partial class OpValidator
{
    private static bool IsCompressedOp(OpType t) => t is OpType.Conv2DCompressed or OpType.DepthwiseConv2DCompressed or OpType.FullyConnectedCompressed
        or OpType.Conv2DSparse or OpType.FullyConnectedSparse;

    /// <summary>Ops 55-57: a compressed filter and the packed per-channel record instead of a bias tensor.</summary>
    internal static bool IsPackedOp(OpType t) => t is OpType.Conv2DCompressedPacked or OpType.DepthwiseConv2DCompressedPacked or OpType.FullyConnectedCompressedPacked;

    /// <summary>Ops 50-57: the dense rules of their base op (shapes, parameters) plus the filter encoding's own.</summary>
    private static void ValidateCompressed(Model m, OpInfo op, string where)
    {
        // The codebook (input 3 of ops 50-52, input 2 of ops 55-57) is optional; the rest of the checks
        // read inputs 0-2 (0-1 for ops 55-57) and output 0.
        bool packed = IsPackedOp(op.Type);
        int fewest = packed ? 2 : 3;
        if (op.InputCount < fewest || op.InputCount > fewest + 1 || op.OutputCount != 1)
            throw Bad(where, $"expects {fewest} or {fewest + 1} inputs and 1 output, has {op.InputCount} and {op.OutputCount}");
        if (op.Type is OpType.FullyConnectedCompressed or OpType.FullyConnectedSparse or OpType.FullyConnectedCompressedPacked) ValidateFullyConnected(m, op, where);
        else ValidateConv(m, op, where);
    }

    /// <summary>
    /// The filter (input 1) of a compressed op: a constant of the op's encoding and rank; Int4 and
    /// SparseInt8 take 3 inputs (ops 55-57: 2), Index4/Index8 one more, the codebook: a constant int8
    /// [G, 16 or 256] whose G groups divide the output channels.
    /// </summary>
    private static void CompressedFilter(Model m, OpInfo op, int rank, string where)
    {
        var f = m.Tensors[op.Input1];
        bool sparse = op.Type is OpType.Conv2DSparse or OpType.FullyConnectedSparse;
        if (f.Storage != TensorStorage.Constant || f.Rank != rank)
            throw Bad(where, $"filter (tensor {op.Input1}) must be a constant rank-{rank} tensor");
        if (sparse)
        {
            if (f.Type != TensorType.SparseInt8) throw Bad(where, $"filter (tensor {op.Input1}) must be SparseInt8, is {f.Type}");
            Arity(op, 3, 1, where);
            return;
        }
        if (f.Type is not (TensorType.Int4 or TensorType.Index4 or TensorType.Index8))
            throw Bad(where, $"filter (tensor {op.Input1}) must be Int4, Index4 or Index8, is {f.Type}");
        bool packed = IsPackedOp(op.Type);
        int filterOnly = packed ? 2 : 3;
        if (f.Type == TensorType.Int4) { Arity(op, filterOnly, 1, where); return; }
        Arity(op, filterOnly + 1, 1, where);
        int cbIndex = op.Input(filterOnly);
        var cb = m.Tensors[cbIndex];
        int size = CompressedWeights.CodebookSize(f.Type);
        int cout = op.Type is OpType.DepthwiseConv2DCompressed or OpType.DepthwiseConv2DCompressedPacked ? f.Shape.D3 : f.Shape.D0;
        if (cb.Type != TensorType.Int8 || cb.Storage != TensorStorage.Constant || cb.Rank != 2 || cb.Shape.D1 != size)
            throw Bad(where, $"codebook (tensor {cbIndex}) must be a constant int8 [G, {size}] tensor, is {cb.Type} {cb.Shape}");
        if (cout % cb.Shape.D0 != 0)
            throw Bad(where, $"codebook groups {cb.Shape.D0} do not divide the {cout} output channels");
    }

    /// <summary>
    /// The packed per-channel record of ops 55-57 (docs/format.md 5.12): a bias width of 2 or 4 bytes, the
    /// record 4-byte aligned and inside the constant data, every shift in [-31, 30]. Any u16 multiplier is valid.
    /// </summary>
    private static void PackedRequantRecord(Model m, int offset, int biasBytes, int cout, string where)
    {
        if (biasBytes is not (2 or 4)) throw Bad(where, $"packed bias width {biasBytes} must be 2 or 4 bytes");
        Const(m, offset, PackedRequant.Bytes(cout, biasBytes), 4, where, "packed per-channel record");
        var shifts = m.ConstantData.Slice(offset + (biasBytes + 2) * cout, cout);
        for (int k = 0; k < cout; k++)
        {
            int s = (sbyte)shifts[k];
            if (s < -31 || s > 30) throw Bad(where, $"packed record, channel {k}: shift {s} is outside [-31, 30]");
        }
    }
}
