using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime;

public sealed partial class Interpreter
{
    /// <summary>The mixed-precision ops (codes 60-72): int16 activations, float fallback layers, precision boundaries.</summary>
    private void RunMixed(in OpInfo op)
    {
        switch (op.Type)
        {
            case OpType.Conv2DS16:
            case OpType.DepthwiseConv2DS16:
            {
                var p = _model.ReadParams<Conv2DParams>(op);
                bool dw = op.Type == OpType.DepthwiseConv2DS16;
                ref readonly var f = ref _tensors[op.Input1];
                ref readonly var y = ref _tensors[op.Output0];
                int cout = y.Shape.D3;
                var mult = ConstI32(p.MultipliersOffset, cout);
                var shift = ConstI32(p.ShiftsOffset, cout);
                if (_reference)
                    Int16Ops.ConvS16Reference(p, dw, S16(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), f.Shape, I64(op.Input2), mult, shift, ArenaS16(op.Output0), y.Shape);
                else
                    Int16Ops.ConvS16(p, dw, S16(op.Input0), _tensors[op.Input0].Shape, S8(op.Input1), f.Shape, I64(op.Input2), mult, shift, ArenaS16(op.Output0), y.Shape, _patch16);
                break;
            }
            case OpType.FullyConnectedS16:
            {
                var p = _model.ReadParams<FullyConnectedParams>(op);
                ref readonly var f = ref _tensors[op.Input1];
                int cout = f.Shape.D0, cin = f.Shape.D1;
                int batches = _tensors[op.Input0].ElementCount / cin;
                var mult = ConstI32(p.MultipliersOffset, cout);
                var shift = ConstI32(p.ShiftsOffset, cout);
                if (_reference)
                    Int16Ops.FullyConnectedS16Reference(p, S16(op.Input0), batches, cin, S8(op.Input1), cout, I64(op.Input2), mult, shift, ArenaS16(op.Output0));
                else
                    Int16Ops.FullyConnectedS16(p, S16(op.Input0), batches, cin, S8(op.Input1), cout, I64(op.Input2), mult, shift, ArenaS16(op.Output0));
                break;
            }
            case OpType.AddS16:
                Int16Ops.AddS16Reference(_model.ReadParams<ElementwiseParams>(op), S16(op.Input0), _tensors[op.Input0].Shape, S16(op.Input1), _tensors[op.Input1].Shape,
                    ArenaS16(op.Output0), _tensors[op.Output0].Shape);
                break;
            case OpType.MaxPool2DS16:
                Int16Ops.MaxPoolS16(_model.ReadParams<PoolParams>(op), S16(op.Input0), _tensors[op.Input0].Shape, ArenaS16(op.Output0), _tensors[op.Output0].Shape);
                break;
            case OpType.MeanS16:
                Int16Ops.MeanS16(_model.ReadParams<MeanParams>(op), S16(op.Input0), _tensors[op.Input0].Shape, ArenaS16(op.Output0));
                break;
            case OpType.Conv2DF32:
            case OpType.DepthwiseConv2DF32:
            {
                var p = _model.ReadParams<DynamicConvParams>(op);
                bool dw = op.Type == OpType.DepthwiseConv2DF32;
                if (_reference)
                    FloatLayers.ConvF32Reference(p, dw, F32(op.Input0), _tensors[op.Input0].Shape, F32(op.Input1), _tensors[op.Input1].Shape, F32(op.Input2), ArenaF32(op.Output0), _tensors[op.Output0].Shape);
                else
                    FloatLayers.ConvF32(p, dw, F32(op.Input0), _tensors[op.Input0].Shape, F32(op.Input1), _floatFilters[_opIndex], _tensors[op.Input1].Shape, F32(op.Input2), ArenaF32(op.Output0), _tensors[op.Output0].Shape);
                break;
            }
            case OpType.FullyConnectedF32:
            {
                var p = _model.ReadParams<FloatClampParams>(op);
                ref readonly var f = ref _tensors[op.Input1];
                int cout = f.Shape.D0, cin = f.Shape.D1;
                int batches = _tensors[op.Input0].ElementCount / cin;
                if (_reference)
                    FloatLayers.FullyConnectedF32Reference(F32(op.Input0), batches, cin, F32(op.Input1), cout, F32(op.Input2), p.Min, p.Max, ArenaF32(op.Output0));
                else
                    FloatLayers.FullyConnectedF32(F32(op.Input0), batches, cin, F32(op.Input1), _floatFilters[_opIndex], cout, F32(op.Input2), p.Min, p.Max, ArenaF32(op.Output0));
                break;
            }
            case OpType.QuantizeS16:
                Int16Ops.QuantizeF32ToS16(F32(op.Input0), ArenaS16(op.Output0), _model.ReadParams<QuantizeParams>(op).Scale);
                break;
            case OpType.DequantizeS16:
                Int16Ops.DequantizeS16ToF32(S16(op.Input0), ArenaF32(op.Output0), _model.ReadParams<QuantizeParams>(op).Scale);
                break;
            case OpType.Requantize:
            {
                ref readonly var o = ref _tensors[op.Output0];
                Int16Ops.Requantize(_model.ReadParams<RequantizeParams>(op), Bytes(op.Input0), _tensors[op.Input0].Type == TensorType.Int16,
                    _arena.Span.Slice(o.Offset, o.ByteLength), o.Type == TensorType.Int16);
                break;
            }
        }
    }

    /// <summary>
    /// Per op: the transposed float filter of a Conv2DF32 or FullyConnectedF32 (output channels contiguous) for the
    /// fast paths, made once when the interpreter is created (null for every other op, and with reference kernels only).
    /// </summary>
    private static float[]?[] PrepareFloatFilters(Model model, OpInfo[] ops, bool reference)
    {
        var result = new float[]?[ops.Length];
        if (reference) return result;
        for (int i = 0; i < ops.Length; i++)
        {
            if (ops[i].Type is not (OpType.Conv2DF32 or OpType.FullyConnectedF32)) continue;
            var f = model.Tensors[ops[i].Input1];
            result[i] = FloatLayers.Transpose(MemoryMarshal.Cast<byte, float>(model.GetConstantBytes(ops[i].Input1)), f.Shape.D0);
        }
        return result;
    }

    /// <summary>The gathered receptive field of the Conv2DS16 fast path, long enough for the model's largest (made once per interpreter).</summary>
    private static short[] PrepareConvPatch(Model model, OpInfo[] ops, bool reference)
    {
        int n = 0;
        if (!reference)
            foreach (var op in ops)
                if (op.Type == OpType.Conv2DS16) n = System.Math.Max(n, Int16Ops.PatchLength(model.Tensors[op.Input1].Shape));
        return new short[n];
    }

    private ReadOnlySpan<short> S16(int tensor) => MemoryMarshal.Cast<byte, short>(Bytes(tensor));

    private ReadOnlySpan<long> I64(int tensor) => MemoryMarshal.Cast<byte, long>(Bytes(tensor));

    private Span<short> ArenaS16(int tensor)
    {
        ref readonly var t = ref _tensors[tensor];
        return MemoryMarshal.Cast<byte, short>(_arena.Span.Slice(t.Offset, t.ByteLength));
    }

    /// <summary>The int16 codes of an arena tensor (mixed-precision models), for inspection after <see cref="Invoke"/>.</summary>
    public ReadOnlySpan<short> GetTensorS16(int tensorIndex) => S16(tensorIndex);

    /// <summary>The float32 values of an arena tensor (float fallback layers), for inspection after <see cref="Invoke"/>.</summary>
    public ReadOnlySpan<float> GetTensorF32(int tensorIndex) => F32(tensorIndex);
}
