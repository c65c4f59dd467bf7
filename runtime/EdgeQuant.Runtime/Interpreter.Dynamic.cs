using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime;

public sealed partial class Interpreter
{
    /// <summary>The dynamic-quantization ops (codes 40-46): float activations, the quantized input in the op's scratch.</summary>
    private void RunDynamic(in OpInfo op)
    {
        switch (op.Type)
        {
            case OpType.DynamicConv2D:
            case OpType.DynamicDepthwiseConv2D:
            {
                var p = _model.ReadParams<DynamicConvParams>(op);
                bool dw = op.Type == OpType.DynamicDepthwiseConv2D;
                ref readonly var x = ref _tensors[op.Input0];
                ref readonly var f = ref _tensors[op.Input1];
                ref readonly var y = ref _tensors[op.Output0];
                if (_reference)
                    DynamicConv2D.EvalF32Reference(p, dw, F32(op.Input0), x.Shape, S8(op.Input1), f.Shape, Scales(op.Input1), F32(op.Input2), Scratch(op), ArenaF32(op.Output0), y.Shape);
                else
                    DynamicConv2D.EvalF32(p, dw, F32(op.Input0), x.Shape, S8(op.Input1), f.Shape, Scales(op.Input1), F32(op.Input2), Scratch(op), ArenaF32(op.Output0), y.Shape);
                break;
            }
            case OpType.DynamicFullyConnected:
            {
                var p = _model.ReadParams<FloatClampParams>(op);
                ref readonly var f = ref _tensors[op.Input1];
                int cout = f.Shape.D0, cin = f.Shape.D1;
                int batches = _tensors[op.Input0].ElementCount / cin;
                if (_reference)
                    DynamicFullyConnected.EvalF32Reference(F32(op.Input0), batches, cin, S8(op.Input1), cout, Scales(op.Input1), F32(op.Input2), p.Min, p.Max, Scratch(op), ArenaF32(op.Output0));
                else
                    DynamicFullyConnected.EvalF32(F32(op.Input0), batches, cin, S8(op.Input1), cout, Scales(op.Input1), F32(op.Input2), p.Min, p.Max, Scratch(op), ArenaF32(op.Output0));
                break;
            }
            case OpType.MaxPool2DF32:
                FloatOps.MaxPoolF32(_model.ReadParams<PoolParams>(op), F32(op.Input0), _tensors[op.Input0].Shape, ArenaF32(op.Output0), _tensors[op.Output0].Shape);
                break;
            case OpType.MeanF32:
                FloatOps.MeanF32(F32(op.Input0), _tensors[op.Input0].Shape, ArenaF32(op.Output0));
                break;
            case OpType.AddF32:
            {
                var p = _model.ReadParams<FloatClampParams>(op);
                FloatOps.AddF32(F32(op.Input0), _tensors[op.Input0].Shape, F32(op.Input1), _tensors[op.Input1].Shape, ArenaF32(op.Output0), _tensors[op.Output0].Shape, p.Min, p.Max);
                break;
            }
            case OpType.TransposeF32:
                FloatOps.TransposeF32(_model.ReadParams<TransposeParams>(op), F32(op.Input0), _tensors[op.Input0].Shape, ArenaF32(op.Output0), _tensors[op.Output0].Shape);
                break;
        }
    }

    private ReadOnlySpan<float> F32(int tensor) => MemoryMarshal.Cast<byte, float>(Bytes(tensor));

    private Span<float> ArenaF32(int tensor)
    {
        ref readonly var t = ref _tensors[tensor];
        return MemoryMarshal.Cast<byte, float>(_arena.Span.Slice(t.Offset, t.ByteLength));
    }

    private Span<byte> Scratch(in OpInfo op) => _arena.Span.Slice(op.ScratchOffset, op.ScratchBytes);

    /// <summary>The filter's scales: one, or one per output channel (validated at load).</summary>
    private ReadOnlySpan<float> Scales(int tensor)
    {
        var q = _model.Quantization[_tensors[tensor].QuantIndex];
        return MemoryMarshal.Cast<byte, float>(_model.ConstantData.Slice(q.ScalesOffset, 4 * q.ChannelCount));
    }
}
