using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Packing;

/// <summary>Writes compressed and sparse filters (docs/format.md 5.10, 5.11) and picks the op that reads them.</summary>
public static class CompressedPacking
{
    /// <summary>True when an int8 layer keeps its plain int8 filter (and its own op code) rather than sparse rows.</summary>
    public static bool UsesPlainInt8(IrOp op, OpQuant r, SparseStorage storage)
    {
        if (r.Encoding != WeightEncoding.Int8) return false;
        if (!r.Sparse || !SparseRowFits(op) || storage == SparseStorage.Never) return true;
        return storage == SparseStorage.Auto && !SparseCostModel.SparseIsFaster(op, r.Weights);
    }

    public static double SparsityOf(sbyte[] w)
    {
        int zeros = 0;
        foreach (var v in w) if (v == 0) zeros++;
        return w.Length == 0 ? 0 : (double)zeros / w.Length;
    }

    private static bool SparseRowFits(IrOp op) => op.Type != OpType.DepthwiseConv2D && op.Weights!.Length / op.WeightShape[0] <= CompressedWeights.MaxSparseRow;

    /// <summary>Scratch of a sparse Conv2D: the pixel-tiled kernel's staged input planes (Runtime.Kernels.SparseTiling).</summary>
    public static int SparseScratchBytes(IrOp op)
    {
        static Runtime.Format.Shape4 S(int[] d) => new(d[0], d[1], d[2], d[3]);
        return Runtime.Kernels.SparseTiling.ScratchBytesFor(S(op.Inputs[0].Shape), S(op.WeightShape), S(op.Output.Shape), op.StrideH, op.StrideW, op.DilationH, op.DilationW);
    }

    /// <summary>A pruned int8 layer's filter as sparse rows; returns the op code (53 or 54), the filter tensor and -1 (no codebook).</summary>
    public static (OpType Type, int Filter, int Codebook) AddFilter(ModelWriter w, IrOp op, OpQuant r, int quantIndex)
    {
        var type = op.Type == OpType.FullyConnected ? OpType.FullyConnectedSparse : OpType.Conv2DSparse;
        return (type, w.AddConstantEncoded(TensorType.SparseInt8, op.WeightShape, EncodeSparse(r.Weights!, op.WeightShape[0]), quantIndex), -1);
    }

    /// <summary>
    /// An int4 or codebook layer as op 55, 56 or 57: the filter (no quantization record: the kernels take the
    /// grid from the packed multipliers), the codebook (sharing <paramref name="codebookQuant"/>) and the packed
    /// per-channel record (int16 biases when all fit, else int32; the multipliers were rounded to 16 bits by
    /// the quantizer). Returns the op index.
    /// </summary>
    public static int AddPackedOp(ModelWriter w, IrOp op, OpQuant r, int x, int y, ActivationQuant inQ, ActivationQuant outQ, int codebookQuant)
    {
        var q = r.Weights!;
        int rows = op.WeightShape[0];
        int filter;
        int codebook = -1;
        if (r.Encoding == WeightEncoding.Int4)
        {
            var values = new int[q.Length];
            for (int i = 0; i < q.Length; i++) values[i] = q[i];
            filter = w.AddConstantEncoded(TensorType.Int4, op.WeightShape, Int4Grid.Pack(values, rows), -1);
        }
        else
        {
            var table = r.Codebook!;
            codebook = w.AddConstant<sbyte>(TensorType.Int8, [1, table.Length], table, codebookQuant);
            var idx = r.CodebookIndices!;
            if (r.Encoding == WeightEncoding.Codebook8)
                filter = w.AddConstantEncoded(TensorType.Index8, op.WeightShape, idx, -1);
            else
            {
                var ints = new int[idx.Length];
                for (int i = 0; i < idx.Length; i++) ints[i] = idx[i];
                filter = w.AddConstantEncoded(TensorType.Index4, op.WeightShape, Int4Grid.Pack(ints, rows), -1);
            }
        }
        int biasBytes = PackedRequant.BiasBytesFor(r.Bias);
        int requant = w.AddSmallConstantData(PackedRequant.Encode(r.Bias!, r.Multipliers!, r.Shifts!, biasBytes));
        int[] inputs = codebook >= 0 ? [x, filter, codebook] : [x, filter];
        if (op.Type == OpType.FullyConnected)
            return w.AddOp(OpType.FullyConnectedCompressedPacked, inputs, [y], new FullyConnectedPackedParams
            {
                InputOffset = (short)-inQ.ZeroPoint, OutputOffset = (short)outQ.ZeroPoint, ActivationMin = (sbyte)r.ActivationMin, ActivationMax = (sbyte)r.ActivationMax,
                RequantOffset = requant, BiasBytes = (byte)biasBytes,
            });
        bool dw = op.Type == OpType.DepthwiseConv2D;
        var p = new Conv2DPackedParams
        {
            StrideH = checked((short)op.StrideH), StrideW = checked((short)op.StrideW), DilationH = checked((short)op.DilationH), DilationW = checked((short)op.DilationW),
            PadTop = checked((short)op.PadTop), PadLeft = checked((short)op.PadLeft), PadBottom = checked((short)op.PadBottom), PadRight = checked((short)op.PadRight),
            InputOffset = (short)-inQ.ZeroPoint, OutputOffset = (short)outQ.ZeroPoint, ActivationMin = (sbyte)r.ActivationMin, ActivationMax = (sbyte)r.ActivationMax,
            RequantOffset = requant, BiasBytes = (byte)biasBytes, DepthMultiplier = op.DepthMultiplier,
        };
        int scratch = dw ? 0 : Runtime.Kernels.KernelScratch.Conv2DBytes(op.KernelH, op.KernelW, op.Inputs[0].Shape[^1], op.Output.Shape[2]);
        return w.AddOp(dw ? OpType.DepthwiseConv2DCompressedPacked : OpType.Conv2DCompressedPacked, inputs, [y], p, scratch);
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
