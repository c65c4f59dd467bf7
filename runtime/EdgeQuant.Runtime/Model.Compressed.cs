using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime;

public sealed partial class Model
{
    private CompressedPrepared?[]? _compressed;

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
                or OpType.Conv2DSparse or OpType.FullyConnectedSparse)) continue;
            var fT = _tensors[op.Input1];
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
                    prepared[i] = CompressedPrepared.ForSparse(new SparseFilter(GetConstantBytes(op.Input1), fT.Shape.D0), fT.Shape.D0, bias, p.InputOffset,
                        true, fT.Shape.D2, fT.Shape.D3, inT.Shape.D2, p.DilationH, p.DilationW);
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

    /// <summary>The compressed filter (input 1, with the codebook of input 3 when present) of op <paramref name="op"/>.</summary>
    internal CompressedFilter CompressedFilterOf(in OpInfo op)
    {
        var fT = _tensors[op.Input1];
        int cout = op.Type == OpType.DepthwiseConv2DCompressed ? fT.Shape.D3 : fT.Shape.D0;
        var codebook = op.InputCount > 3 ? MemoryMarshal.Cast<byte, sbyte>(GetConstantBytes(op.Input3)) : default;
        return new CompressedFilter(fT.Type, GetConstantBytes(op.Input1), fT.ElementCount / fT.Shape.D0, codebook, cout);
    }
}
