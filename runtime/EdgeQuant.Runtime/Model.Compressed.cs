using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime;

public sealed partial class Model
{
    private CompressedPrepared?[]? _compressed;
    private RequantArrays?[]? _packedRequant;

    /// <summary>
    /// Ops 55-57: their packed per-channel records expanded to int32 bias, multiplier and shift arrays (null
    /// for other ops), built on first use and shared read-only; the reference and the fast kernels both read these.
    /// </summary>
    internal RequantArrays?[] PreparedPackedRequant()
    {
        var prepared = Volatile.Read(ref _packedRequant);
        if (prepared is not null) return prepared;
        prepared = new RequantArrays?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            int offset, biasBytes, cout;
            switch (op.Type)
            {
                case OpType.Conv2DCompressedPacked:
                case OpType.DepthwiseConv2DCompressedPacked:
                {
                    var p = ReadParams<Conv2DPackedParams>(op);
                    (offset, biasBytes, cout) = (p.RequantOffset, p.BiasBytes, _tensors[op.Output0].Shape.D3);
                    break;
                }
                case OpType.FullyConnectedCompressedPacked:
                {
                    var p = ReadParams<FullyConnectedPackedParams>(op);
                    (offset, biasBytes, cout) = (p.RequantOffset, p.BiasBytes, _tensors[op.Input1].Shape.D0);
                    break;
                }
                default:
                    continue;
            }
            var r = new RequantArrays(cout);
            PackedRequant.Decode(ConstantData.Slice(offset, (int)PackedRequant.Bytes(cout, biasBytes)), biasBytes, r.Bias, r.Multipliers, r.Shifts);
            prepared[i] = r;
        }
        return Interlocked.CompareExchange(ref _packedRequant, prepared, null) ?? prepared;
    }

    /// <summary>The compressed and sparse ops' per-op data (null for other ops), built on first use and shared read-only.</summary>
    internal CompressedPrepared?[] PreparedCompressed()
    {
        var prepared = Volatile.Read(ref _compressed);
        if (prepared is not null) return prepared;
        prepared = new CompressedPrepared?[_ops.Length];
        for (int i = 0; i < _ops.Length; i++)
        {
            var op = _ops[i];
            if (op.Type is not (OpType.Conv2DCompressed or OpType.DepthwiseConv2DCompressed or OpType.FullyConnectedCompressed
                or OpType.Conv2DSparse or OpType.FullyConnectedSparse
                or OpType.Conv2DCompressedPacked or OpType.DepthwiseConv2DCompressedPacked or OpType.FullyConnectedCompressedPacked)) continue;
            var fT = _tensors[op.Input1];
            if (PreparedPackedRequant()[i] is { } requant)
            {
                bool dw = op.Type == OpType.DepthwiseConv2DCompressedPacked;
                int inputOffset = op.Type == OpType.FullyConnectedCompressedPacked
                    ? ReadParams<FullyConnectedPackedParams>(op).InputOffset : ReadParams<Conv2DPackedParams>(op).InputOffset;
                prepared[i] = CompressedPrepared.ForCompressed(CompressedFilterOf(op), dw, requant.Bias.Length, fT.ElementCount / fT.Shape.D0, requant.Bias, inputOffset);
                continue;
            }
            var bias = MemoryMarshal.Cast<byte, int>(GetConstantBytes(op.Input2));
            switch (op.Type)
            {
                case OpType.Conv2DCompressed:
                case OpType.DepthwiseConv2DCompressed:
                {
                    var p = ReadParams<Conv2DParams>(op);
                    bool dw = op.Type == OpType.DepthwiseConv2DCompressed;
                    int cout = dw ? fT.Shape.D3 : fT.Shape.D0;
                    int row = fT.ElementCount / fT.Shape.D0;
                    prepared[i] = CompressedPrepared.ForCompressed(CompressedFilterOf(op), dw, cout, row, bias, p.InputOffset);
                    break;
                }
                case OpType.FullyConnectedCompressed:
                {
                    var p = ReadParams<FullyConnectedParams>(op);
                    prepared[i] = CompressedPrepared.ForCompressed(CompressedFilterOf(op), false, fT.Shape.D0, fT.Shape.D1, bias, p.InputOffset);
                    break;
                }
                case OpType.Conv2DSparse:
                {
                    var p = ReadParams<Conv2DParams>(op);
                    var inT = _tensors[op.Input0];
                    var sf = new SparseFilter(GetConstantBytes(op.Input1), fT.Shape.D0);
                    var basic = CompressedPrepared.ForSparse(sf, fT.Shape.D0, bias, p.InputOffset, true, fT.Shape.D2, fT.Shape.D3, inT.Shape.D2, p.DilationH, p.DilationW);
                    // The tiled path only when the op declares the scratch its staged planes need.
                    var outShape = _tensors[op.Output0].Shape;
                    var tiles = op.ScratchBytes > 0 && op.ScratchBytes >= SparseTiling.ScratchBytesFor(inT.Shape, fT.Shape, outShape, p.StrideH, p.StrideW, p.DilationH, p.DilationW)
                        ? SparseTiling.Create(sf, inT.Shape, fT.Shape, outShape, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft)
                        : null;
                    prepared[i] = new CompressedPrepared { FoldedBias = basic.FoldedBias, SparseInputOffsets = basic.SparseInputOffsets, SparseTiles = tiles };
                    break;
                }
                case OpType.FullyConnectedSparse:
                {
                    var p = ReadParams<FullyConnectedParams>(op);
                    prepared[i] = CompressedPrepared.ForSparse(new SparseFilter(GetConstantBytes(op.Input1), fT.Shape.D0), fT.Shape.D0, bias, p.InputOffset,
                        false, 1, 1, 1, 1, 1);
                    break;
                }
            }
        }
        return Interlocked.CompareExchange(ref _compressed, prepared, null) ?? prepared;
    }

    /// <summary>The compressed filter (input 1, with the codebook of input 3, or 2 for ops 55-57, when present) of op <paramref name="op"/>.</summary>
    internal CompressedFilter CompressedFilterOf(in OpInfo op)
    {
        var fT = _tensors[op.Input1];
        int cout = op.Type is OpType.DepthwiseConv2DCompressed or OpType.DepthwiseConv2DCompressedPacked ? fT.Shape.D3 : fT.Shape.D0;
        int filterOnly = Format.OpValidator.IsPackedOp(op.Type) ? 2 : 3;
        var codebook = op.InputCount > filterOnly ? MemoryMarshal.Cast<byte, sbyte>(GetConstantBytes(op.Input(filterOnly))) : default;
        return new CompressedFilter(fT.Type, GetConstantBytes(op.Input1), fT.ElementCount / fT.Shape.D0, codebook, cout);
    }
}
