namespace EdgeQuant.Runtime.Format;

/// <summary>Validation of the dynamic-quantization ops (codes 40-46, docs/format.md section 6.1).</summary>
internal static partial class OpValidator
{
    private static void ValidateDynamic(Model m, OpInfo op, string where)
    {
        switch (op.Type)
        {
            case OpType.DynamicConv2D:
            case OpType.DynamicDepthwiseConv2D:
            {
                Arity(op, 3, 1, where);
                var input = FloatAct(m, op.Input0, 4, where, "input");
                var output = FloatAct(m, op.Output0, 4, where, "output");
                var filter = m.Tensors[op.Input1];
                Params<DynamicConvParams>(op, RecordSizes.DynamicConvParams, where);
                var p = m.ReadParams<DynamicConvParams>(op);
                bool dw = op.Type == OpType.DynamicDepthwiseConv2D;
                if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 4) throw Bad(where, "filter must be a constant rank-4 int8 tensor");
                int cout = ConvChannels(input.Shape, filter.Shape, dw, p.DepthMultiplier, where);
                SymmetricFilter(m, op.Input1, cout, dw ? 3 : 0, where);
                FloatBias(m, op.Input2, cout, where);
                ConvWindow(input.Shape, filter.Shape, output.Shape, cout, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, where);
                FloatClamp(p.ActivationMin, p.ActivationMax, where);
                QuantizedInputScratch(op, input.ElementCount, where);
                break;
            }
            case OpType.DynamicFullyConnected:
            {
                Arity(op, 3, 1, where);
                var input = FloatActAny(m, op.Input0, where, "input");
                var output = FloatActAny(m, op.Output0, where, "output");
                var filter = m.Tensors[op.Input1];
                if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 2) throw Bad(where, "filter must be a constant [Cout, Cin] int8 tensor");
                int cout = filter.Shape.D0, cin = filter.Shape.D1;
                if (input.ElementCount % cin != 0) throw Bad(where, $"input of {input.ElementCount} elements is not a whole number of rows of {cin}");
                int batch = input.ElementCount / cin;
                if (output.ElementCount != (long)batch * cout || output.Shape[output.Rank - 1] != cout) throw Bad(where, $"output {output.Shape} is not [{batch}, {cout}]");
                SymmetricFilter(m, op.Input1, cout, 0, where);
                FloatBias(m, op.Input2, cout, where);
                Params<FloatClampParams>(op, RecordSizes.FloatClampParams, where);
                var p = m.ReadParams<FloatClampParams>(op);
                FloatClamp(p.Min, p.Max, where);
                QuantizedInputScratch(op, input.ElementCount, where);
                break;
            }
            case OpType.MaxPool2DF32:
            {
                Arity(op, 1, 1, where);
                var input = FloatAct(m, op.Input0, 4, where, "input");
                var output = FloatAct(m, op.Output0, 4, where, "output");
                PoolGeometry(m, op, input.Shape, output.Shape, where);
                break;
            }
            case OpType.MeanF32:
            {
                Arity(op, 1, 1, where);
                var i = FloatAct(m, op.Input0, 4, where, "input");
                var o = FloatAct(m, op.Output0, 4, where, "output");
                if (o.Shape != new Shape4(i.Shape.D0, 1, 1, i.Shape.D3)) throw Bad(where, $"output shape {o.Shape} must be [N, 1, 1, C] of input {i.Shape}");
                if (op.ParamsBytes != 0) throw Bad(where, $"parameters are {op.ParamsBytes} bytes, expected 0");
                break;
            }
            case OpType.AddF32:
            {
                Arity(op, 2, 1, where);
                int rank = m.Tensors[op.Output0].Rank;
                var a = FloatAct(m, op.Input0, rank, where, "input 1", allowConstant: true);
                var b = FloatAct(m, op.Input1, rank, where, "input 2", allowConstant: true);
                var o = FloatAct(m, op.Output0, rank, where, "output");
                Broadcasts(a.Shape, b.Shape, o.Shape, where);
                Params<FloatClampParams>(op, RecordSizes.FloatClampParams, where);
                var p = m.ReadParams<FloatClampParams>(op);
                FloatClamp(p.Min, p.Max, where);
                break;
            }
            case OpType.TransposeF32:
            {
                Arity(op, 1, 1, where);
                var i = FloatAct(m, op.Input0, 4, where, "input");
                var o = FloatAct(m, op.Output0, 4, where, "output");
                TransposePermutation(m, op, i.Shape, o.Shape, where);
                break;
            }
        }
    }

    private static TensorInfo FloatAct(Model m, int t, int rank, string where, string what, bool allowConstant = false)
    {
        var ti = m.Tensors[t];
        if (ti.Type != TensorType.Float32) throw Bad(where, $"{what} (tensor {t}) must be float32, is {ti.Type}");
        if (!allowConstant && ti.Storage != TensorStorage.Arena) throw Bad(where, $"{what} (tensor {t}) must be in the arena");
        if (ti.Rank != rank) throw Bad(where, $"{what} (tensor {t}) must have rank {rank}, has {ti.Rank}");
        return ti;
    }

    private static TensorInfo FloatActAny(Model m, int t, string where, string what)
    {
        var ti = m.Tensors[t];
        if (ti.Type != TensorType.Float32 || ti.Storage != TensorStorage.Arena) throw Bad(where, $"{what} (tensor {t}) must be a float32 arena tensor");
        return ti;
    }

    /// <summary>The filter is quantized symmetrically: zero point 0, one scale per output channel (or one per tensor).</summary>
    private static void SymmetricFilter(Model m, int t, int cout, int channelDim, string where)
    {
        var ti = m.Tensors[t];
        if (ti.QuantIndex < 0) throw Bad(where, $"filter (tensor {t}) has no quantization");
        var q = m.Quantization[ti.QuantIndex];
        if (q.ZeroPoint != 0) throw Bad(where, $"filter (tensor {t}) has zero point {q.ZeroPoint}; dynamic ops need symmetric weights (zero point 0)");
        if (q.ChannelCount != 1 && (q.ChannelCount != cout || q.QuantizedDimension != channelDim))
            throw Bad(where, $"filter (tensor {t}) has {q.ChannelCount} scales on dimension {q.QuantizedDimension}; expected 1, or {cout} on dimension {channelDim}");
    }

    private static void FloatBias(Model m, int t, int cout, string where)
    {
        var bias = m.Tensors[t];
        if (bias.Type != TensorType.Float32 || bias.Storage != TensorStorage.Constant || bias.ElementCount != cout)
            throw Bad(where, $"bias must be a constant float32 tensor of {cout} elements");
    }

    private static void FloatClamp(float min, float max, string where)
    {
        if (float.IsNaN(min) || float.IsNaN(max) || min > max) throw Bad(where, $"activation range [{min}, {max}] is not an ordered pair of numbers");
    }

    /// <summary>The op's scratch holds the quantized copy of its input (one byte per element).</summary>
    private static void QuantizedInputScratch(OpInfo op, int elements, string where)
    {
        if (op.ScratchBytes < elements) throw Bad(where, $"scratch is {op.ScratchBytes} bytes; the quantized input needs {elements}");
    }
}
