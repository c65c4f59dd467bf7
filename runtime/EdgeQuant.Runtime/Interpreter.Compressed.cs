using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime;

public sealed partial class Interpreter
{
    // The compressed and sparse ops' per-op data, shared with the model (all null with ReferenceKernelsOnly).
    private readonly CompressedPrepared?[] _compressedPrepared;
    // Ops 55-57: their packed per-channel records expanded (shared with the model; needed by every kernel).
    private readonly RequantArrays?[] _packedRequant;
    // Ops 25-26: their packed per-row records expanded (shared with the model).
    private readonly RecurrentPackedArrays?[] _recurrentPacked;
    // The op Run is executing (set by RunOp).
    private int _opIndex;

    /// <summary>Ops 50-57: compressed and sparse filters (the reference kernels when there is no per-op data).</summary>
    private void RunCompressed(in OpInfo op)
    {
        var prepared = _compressedPrepared[_opIndex];
        ref readonly var fT = ref _tensors[op.Input1];
        ref readonly var inT = ref _tensors[op.Input0];
        ref readonly var oT = ref _tensors[op.Output0];
        var scratch = MemoryMarshal.Cast<byte, sbyte>(_arena.Span.Slice(op.ScratchOffset, op.ScratchBytes));
        switch (op.Type)
        {
            case OpType.Conv2DCompressed:
            case OpType.DepthwiseConv2DCompressed:
            {
                var p = _model.ReadParams<Conv2DParams>(op);
                int cout = oT.Shape.D3;
                var mult = ConstI32(p.MultipliersOffset, cout);
                var shift = ConstI32(p.ShiftsOffset, cout);
                var f = _model.CompressedFilterOf(op);
                if (op.Type == OpType.Conv2DCompressed)
                    CompressedKernels.Conv2D(p, S8(op.Input0), inT.Shape, f, fT.Shape, I32(op.Input2), prepared, mult, shift, ArenaS8(op.Output0), oT.Shape, scratch);
                else
                    CompressedKernels.DepthwiseConv2D(p, S8(op.Input0), inT.Shape, f, fT.Shape, I32(op.Input2), prepared, mult, shift, ArenaS8(op.Output0), oT.Shape);
                break;
            }
            case OpType.FullyConnectedCompressed:
            {
                var p = _model.ReadParams<FullyConnectedParams>(op);
                int cout = fT.Shape.D0, cin = fT.Shape.D1;
                CompressedKernels.FullyConnected(p, S8(op.Input0), inT.ElementCount / cin, cin, _model.CompressedFilterOf(op), cout, I32(op.Input2), prepared,
                    ConstI32(p.MultipliersOffset, cout), ConstI32(p.ShiftsOffset, cout), ArenaS8(op.Output0));
                break;
            }
            case OpType.Conv2DSparse:
            {
                var p = _model.ReadParams<Conv2DParams>(op);
                int cout = oT.Shape.D3;
                var f = new SparseFilter(Bytes(op.Input1), cout);
                SparseKernels.Conv2D(p, S8(op.Input0), inT.Shape, f, fT.Shape, I32(op.Input2), prepared, ConstI32(p.MultipliersOffset, cout), ConstI32(p.ShiftsOffset, cout), ArenaS8(op.Output0), oT.Shape, scratch);
                break;
            }
            case OpType.Conv2DCompressedPacked:
            case OpType.DepthwiseConv2DCompressedPacked:
            {
                var p = _model.ReadParams<Conv2DPackedParams>(op).AsConv2DParams();
                var r = _packedRequant[_opIndex]!;
                var f = _model.CompressedFilterOf(op);
                if (op.Type == OpType.Conv2DCompressedPacked)
                    CompressedKernels.Conv2D(p, S8(op.Input0), inT.Shape, f, fT.Shape, r.Bias, prepared, r.Multipliers, r.Shifts, ArenaS8(op.Output0), oT.Shape, scratch);
                else
                    CompressedKernels.DepthwiseConv2D(p, S8(op.Input0), inT.Shape, f, fT.Shape, r.Bias, prepared, r.Multipliers, r.Shifts, ArenaS8(op.Output0), oT.Shape);
                break;
            }
            case OpType.FullyConnectedCompressedPacked:
            {
                var p = _model.ReadParams<FullyConnectedPackedParams>(op).AsFullyConnectedParams();
                var r = _packedRequant[_opIndex]!;
                int cout = fT.Shape.D0, cin = fT.Shape.D1;
                CompressedKernels.FullyConnected(p, S8(op.Input0), inT.ElementCount / cin, cin, _model.CompressedFilterOf(op), cout, r.Bias, prepared,
                    r.Multipliers, r.Shifts, ArenaS8(op.Output0));
                break;
            }
            case OpType.FullyConnectedSparse:
            {
                var p = _model.ReadParams<FullyConnectedParams>(op);
                int cout = fT.Shape.D0, cin = fT.Shape.D1;
                var f = new SparseFilter(Bytes(op.Input1), cout);
                SparseKernels.FullyConnected(p, S8(op.Input0), inT.ElementCount / cin, cin, f, cout, I32(op.Input2), prepared,
                    ConstI32(p.MultipliersOffset, cout), ConstI32(p.ShiftsOffset, cout), ArenaS8(op.Output0));
                break;
            }
        }
    }
}
