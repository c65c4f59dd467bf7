using System.Runtime.InteropServices;

namespace EdgeQuant.Runtime.Format;

/// <summary>Validation of the mixed-precision ops (codes 60-72, docs/format.md section 6.4).</summary>
internal static partial class OpValidator
{
    /// <summary>Largest |bias| of a 16x8 op: with at most 2^24 products below 2^22 each, the accumulator stays below 2^47.</summary>
    internal const long MaxBias16x8 = 1L << 40;
    /// <summary>Most products one 16x8 output may sum (each below 2^22 in magnitude): 2^24 x 2^22 = 2^46.</summary>
    internal const long MaxTerms16x8 = 1L << 24;

    private static void ValidateMixed(Model m, OpInfo op, string where)
    {
        switch (op.Type)
        {
            case OpType.Conv2DS16:
            case OpType.DepthwiseConv2DS16:
            {
                Arity(op, 3, 1, where);
                var input = Act16(m, op.Input0, 4, where, "input");
                var output = Act16(m, op.Output0, 4, where, "output");
                var filter = m.Tensors[op.Input1];
                if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 4) throw Bad(where, "filter must be a constant rank-4 int8 tensor");
                Params<Conv2DParams>(op, RecordSizes.Conv2DParams, where);
                var p = m.ReadParams<Conv2DParams>(op);
                bool dw = op.Type == OpType.DepthwiseConv2DS16;
                int cout = ConvChannels(input.Shape, filter.Shape, dw, p.DepthMultiplier, where);
                int cin = input.Shape.D3;
                ConvWindow(input.Shape, filter.Shape, output.Shape, cout, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, where);
                Terms16x8((long)filter.Shape.D1 * filter.Shape.D2 * (dw ? 1 : cin), where);
                Common16x8(m, op.Input2, cout, p.InputOffset, p.OutputOffset, p.ActivationMin, p.ActivationMax, p.MultipliersOffset, p.ShiftsOffset, where);
                if (p.FoldedBiasOffset != -1) throw Bad(where, $"folded_bias_offset is {p.FoldedBiasOffset}; 16x8 ops have no folded bias (write -1)");
                break;
            }
            case OpType.FullyConnectedS16:
            {
                Arity(op, 3, 1, where);
                var input = Act16Any(m, op.Input0, where, "input");
                var output = Act16Any(m, op.Output0, where, "output");
                var filter = m.Tensors[op.Input1];
                if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 2) throw Bad(where, "filter must be a constant [Cout, Cin] int8 tensor");
                int cout = filter.Shape.D0, cin = filter.Shape.D1;
                if (input.ElementCount % cin != 0) throw Bad(where, $"input of {input.ElementCount} elements is not a whole number of rows of {cin}");
                int batch = input.ElementCount / cin;
                if (output.ElementCount != (long)batch * cout || output.Shape[output.Rank - 1] != cout) throw Bad(where, $"output {output.Shape} is not [{batch}, {cout}]");
                Params<FullyConnectedParams>(op, RecordSizes.FullyConnectedParams, where);
                var p = m.ReadParams<FullyConnectedParams>(op);
                Terms16x8(cin, where);
                Common16x8(m, op.Input2, cout, p.InputOffset, p.OutputOffset, p.ActivationMin, p.ActivationMax, p.MultipliersOffset, p.ShiftsOffset, where);
                if (p.FoldedBiasOffset != -1) throw Bad(where, $"folded_bias_offset is {p.FoldedBiasOffset}; 16x8 ops have no folded bias (write -1)");
                break;
            }
            case OpType.AddS16:
            {
                Arity(op, 2, 1, where);
                int rank = m.Tensors[op.Output0].Rank;
                var a = Act16(m, op.Input0, rank, where, "input 1", allowConstant: true);
                var b = Act16(m, op.Input1, rank, where, "input 2", allowConstant: true);
                var o = Act16(m, op.Output0, rank, where, "output");
                Broadcasts(a.Shape, b.Shape, o.Shape, where);
                Params<ElementwiseParams>(op, RecordSizes.ElementwiseParams, where);
                var p = m.ReadParams<ElementwiseParams>(op);
                if (p.Input1Offset != 0 || p.Input2Offset != 0 || p.OutputOffset != 0) throw Bad(where, $"zero-point offsets ({p.Input1Offset}, {p.Input2Offset}, {p.OutputOffset}) must be 0 (int16 activations are symmetric)");
                if (p.LeftShift != 15) throw Bad(where, $"left shift {p.LeftShift} must be 15 (int16 x 2^15 fits 32 bits)");
                Multiplier(p.Input1Multiplier, where); Shift(p.Input1Shift, where); Multiplier(p.Input2Multiplier, where); Shift(p.Input2Shift, where);
                if (p.Input1Shift > 0 || p.Input2Shift > 0) throw Bad(where, "input multipliers must be below one (shift <= 0)");
                Multiplier(p.OutputMultiplier, where); Shift(p.OutputShift, where);
                Activation16(p.ActivationMin, p.ActivationMax, where);
                break;
            }
            case OpType.MaxPool2DS16:
            {
                Arity(op, 1, 1, where);
                var input = Act16(m, op.Input0, 4, where, "input");
                var output = Act16(m, op.Output0, 4, where, "output");
                var p = PoolGeometry(m, op, input.Shape, output.Shape, where);
                if (m.GetScale(input.QuantIndex) != m.GetScale(output.QuantIndex)) throw Bad(where, "pooling input and output must share their scale");
                Activation16(p.ActivationMin, p.ActivationMax, where);
                break;
            }
            case OpType.MeanS16:
            {
                Arity(op, 1, 1, where);
                var i = Act16(m, op.Input0, 4, where, "input");
                var o = Act16(m, op.Output0, 4, where, "output");
                Params<MeanParams>(op, RecordSizes.MeanParams, where);
                if (o.Shape != new Shape4(i.Shape.D0, 1, 1, i.Shape.D3)) throw Bad(where, $"output shape {o.Shape} must be [N, 1, 1, C] of input {i.Shape}");
                var p = m.ReadParams<MeanParams>(op);
                if (p.InputOffset != 0 || p.OutputOffset != 0) throw Bad(where, $"zero-point offsets ({p.InputOffset}, {p.OutputOffset}) must be 0 (int16 activations are symmetric)");
                Multiplier(p.Multiplier, where); Shift16x8(p.Shift, where);
                break;
            }
            case OpType.Conv2DF32:
            case OpType.DepthwiseConv2DF32:
            {
                Arity(op, 3, 1, where);
                var input = FloatAct(m, op.Input0, 4, where, "input");
                var output = FloatAct(m, op.Output0, 4, where, "output");
                var filter = m.Tensors[op.Input1];
                if (filter.Type != TensorType.Float32 || filter.Storage != TensorStorage.Constant || filter.Rank != 4) throw Bad(where, "filter must be a constant rank-4 float32 tensor");
                Params<DynamicConvParams>(op, RecordSizes.DynamicConvParams, where);
                var p = m.ReadParams<DynamicConvParams>(op);
                bool dw = op.Type == OpType.DepthwiseConv2DF32;
                int cout = ConvChannels(input.Shape, filter.Shape, dw, p.DepthMultiplier, where);
                FloatBias(m, op.Input2, cout, where);
                ConvWindow(input.Shape, filter.Shape, output.Shape, cout, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, where);
                FloatClamp(p.ActivationMin, p.ActivationMax, where);
                break;
            }
            case OpType.FullyConnectedF32:
            {
                Arity(op, 3, 1, where);
                var input = FloatActAny(m, op.Input0, where, "input");
                var output = FloatActAny(m, op.Output0, where, "output");
                var filter = m.Tensors[op.Input1];
                if (filter.Type != TensorType.Float32 || filter.Storage != TensorStorage.Constant || filter.Rank != 2) throw Bad(where, "filter must be a constant [Cout, Cin] float32 tensor");
                int cout = filter.Shape.D0, cin = filter.Shape.D1;
                if (input.ElementCount % cin != 0) throw Bad(where, $"input of {input.ElementCount} elements is not a whole number of rows of {cin}");
                int batch = input.ElementCount / cin;
                if (output.ElementCount != (long)batch * cout || output.Shape[output.Rank - 1] != cout) throw Bad(where, $"output {output.Shape} is not [{batch}, {cout}]");
                FloatBias(m, op.Input2, cout, where);
                Params<FloatClampParams>(op, RecordSizes.FloatClampParams, where);
                var p = m.ReadParams<FloatClampParams>(op);
                FloatClamp(p.Min, p.Max, where);
                break;
            }
            case OpType.QuantizeS16:
            case OpType.DequantizeS16:
            {
                Arity(op, 1, 1, where);
                var i = m.Tensors[op.Input0];
                var o = m.Tensors[op.Output0];
                var (fin, fout) = op.Type == OpType.QuantizeS16 ? (TensorType.Float32, TensorType.Int16) : (TensorType.Int16, TensorType.Float32);
                if (i.Type != fin || o.Type != fout) throw Bad(where, $"expects {fin} input and {fout} output, got {i.Type} and {o.Type}");
                if (i.Storage != TensorStorage.Arena || o.Storage != TensorStorage.Arena) throw Bad(where, "input and output must be in the arena");
                if (i.Shape != o.Shape) throw Bad(where, "input and output shapes differ");
                Params<QuantizeParams>(op, RecordSizes.QuantizeParams, where);
                var p = m.ReadParams<QuantizeParams>(op);
                if (!(p.Scale > 0) || !float.IsFinite(p.Scale)) throw Bad(where, $"scale {p.Scale} must be positive and finite");
                if (p.ZeroPoint != 0) throw Bad(where, $"zero point {p.ZeroPoint} must be 0 (int16 activations are symmetric)");
                FixedQuantization(m, op.Type == OpType.QuantizeS16 ? op.Output0 : op.Input0, p.Scale, 0, where);
                break;
            }
            case OpType.Requantize:
            {
                Arity(op, 1, 1, where);
                var i = m.Tensors[op.Input0];
                var o = m.Tensors[op.Output0];
                if (i.Type is not (TensorType.Int8 or TensorType.Int16) || o.Type is not (TensorType.Int8 or TensorType.Int16))
                    throw Bad(where, $"input and output must be int8 or int16, are {i.Type} and {o.Type}");
                if (i.Storage != TensorStorage.Arena || o.Storage != TensorStorage.Arena) throw Bad(where, "input and output must be in the arena");
                if (i.Shape != o.Shape) throw Bad(where, "input and output shapes differ");
                if (m.Quantization[i.QuantIndex].ChannelCount != 1 || m.Quantization[o.QuantIndex].ChannelCount != 1) throw Bad(where, "input and output must be quantized per tensor");
                Params<RequantizeParams>(op, RecordSizes.RequantizeParams, where);
                var p = m.ReadParams<RequantizeParams>(op);
                int zi = m.Quantization[i.QuantIndex].ZeroPoint, zo = m.Quantization[o.QuantIndex].ZeroPoint;
                if (p.InputOffset != -zi || p.OutputOffset != zo)
                    throw Bad(where, $"offsets ({p.InputOffset}, {p.OutputOffset}) must be (-input zero point, output zero point) = ({-zi}, {zo})");
                Multiplier(p.Multiplier, where);
                if (p.Shift < -31 || p.Shift > 15) throw Bad(where, $"shift {p.Shift} is outside [-31, 15] (a larger left shift could overflow 32 bits)");
                break;
            }
            default:
                throw Bad(where, $"unknown op type {(int)op.Type}");
        }
    }

    /// <summary>An int16 activation: per tensor, zero point 0 (checked at load), of the given rank.</summary>
    private static TensorInfo Act16(Model m, int t, int rank, string where, string what, bool allowConstant = false)
        => Act(m, t, rank, where, what, allowConstant, TensorType.Int16);

    private static TensorInfo Act16Any(Model m, int t, string where, string what) => ActAny(m, t, where, what, TensorType.Int16);

    private static void Terms16x8(long terms, string where)
    {
        if (terms > MaxTerms16x8) throw Bad(where, $"each output sums {terms} products; at most 2^24 keep the 64-bit accumulator exact");
    }

    /// <summary>Bias (int64, bounded), zero offsets, int16 clamp, per-channel multipliers and 16x8 shifts.</summary>
    private static void Common16x8(Model m, int biasTensor, int cout, int inputOffset, int outputOffset, int min, int max, int multOffset, int shiftOffset, string where)
    {
        var bias = m.Tensors[biasTensor];
        if (bias.Type != TensorType.Int64 || bias.Storage != TensorStorage.Constant || bias.ElementCount != cout)
            throw Bad(where, $"bias must be a constant int64 tensor of {cout} elements");
        var b = MemoryMarshal.Cast<byte, long>(m.GetConstantBytes(biasTensor));
        for (int k = 0; k < b.Length; k++)
            if (b[k] > MaxBias16x8 || b[k] < -MaxBias16x8) throw Bad(where, $"bias entry {k} is {b[k]}, outside [-2^40, 2^40]");
        if (inputOffset != 0 || outputOffset != 0) throw Bad(where, $"zero-point offsets ({inputOffset}, {outputOffset}) must be 0 (int16 activations are symmetric)");
        Activation16(min, max, where);
        Const(m, multOffset, 4L * cout, 4, where, "multipliers");
        Const(m, shiftOffset, 4L * cout, 4, where, "shifts");
        var mult = MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(multOffset, 4 * cout));
        var shift = MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(shiftOffset, 4 * cout));
        for (int k = 0; k < cout; k++)
        {
            Multiplier(mult[k], where);
            Shift16x8(shift[k], where);
        }
    }

    private static void Shift16x8(int v, string where)
    {
        if (v < -31 || v > 14) throw Bad(where, $"shift {v} is outside [-31, 14] (the 16x8 requantization shifts right by 15 - shift)");
    }

    private static void Activation16(int min, int max, string where)
    {
        if (min < short.MinValue || max > short.MaxValue || min > max) throw Bad(where, $"activation range [{min}, {max}] is not inside [-32768, 32767]");
    }
}
