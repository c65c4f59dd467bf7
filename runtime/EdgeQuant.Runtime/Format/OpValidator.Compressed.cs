namespace EdgeQuant.Runtime.Format;

internal static partial class OpValidator
{
    private static bool IsCompressedOp(OpType t) => t is OpType.Conv2DCompressed or OpType.DepthwiseConv2DCompressed or OpType.FullyConnectedCompressed
        or OpType.Conv2DSparse or OpType.FullyConnectedSparse;

    /// <summary>Ops 50-54: the dense rules of their base op (shapes, parameters) plus the filter encoding's own.</summary>
    private static void ValidateCompressed(Model m, OpInfo op, string where)
    {
        // Input 3 (the codebook) is optional; the rest of the checks read inputs 0-2 and output 0.
        if (op.InputCount is not (3 or 4) || op.OutputCount != 1)
            throw Bad(where, $"expects 3 or 4 inputs and 1 output, has {op.InputCount} and {op.OutputCount}");
        if (op.Type is OpType.FullyConnectedCompressed or OpType.FullyConnectedSparse) ValidateFullyConnected(m, op, where);
        else ValidateConv(m, op, where);
    }

    /// <summary>
    /// The filter (input 1) of a compressed op: a constant of the op's encoding and rank; Int4 and
    /// SparseInt8 take 3 inputs, Index4/Index8 a 4th, the codebook: a constant int8 [G, 16 or 256]
    /// whose G groups divide the output channels.
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
        if (f.Type == TensorType.Int4) { Arity(op, 3, 1, where); return; }
        Arity(op, 4, 1, where);
        var cb = m.Tensors[op.Input3];
        int size = CompressedWeights.CodebookSize(f.Type);
        int cout = op.Type == OpType.DepthwiseConv2DCompressed ? f.Shape.D3 : f.Shape.D0;
        if (cb.Type != TensorType.Int8 || cb.Storage != TensorStorage.Constant || cb.Rank != 2 || cb.Shape.D1 != size)
            throw Bad(where, $"codebook (tensor {op.Input3}) must be a constant int8 [G, {size}] tensor, is {cb.Type} {cb.Shape}");
        if (cout % cb.Shape.D0 != 0)
            throw Bad(where, $"codebook groups {cb.Shape.D0} do not divide the {cout} output channels");
    }
}
