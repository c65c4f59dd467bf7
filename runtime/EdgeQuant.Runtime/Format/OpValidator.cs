using System.Buffers.Binary;
using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Format;

/// <summary>
/// Per-op validation at load: arity, element types, shapes consistent with the parameters,
/// and every constant-data reference in bounds. After this, kernels trust their inputs.
/// </summary>
internal static partial class OpValidator
{
    public static void Validate(Model m, int index, string where)
    {
        var op = m.Ops[index];
        where = $"{where} ({op.Type})";
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
                ValidateConv(m, op, where);
                break;
            case OpType.FullyConnected:
                ValidateFullyConnected(m, op, where);
                break;
            case OpType.Add:
            case OpType.Sub:
            case OpType.Mul:
                ValidateElementwise(m, op, where);
                break;
            case OpType.MaxPool2D:
            case OpType.AveragePool2D:
                ValidatePool(m, op, where);
                break;
            case OpType.Mean:
            {
                Arity(op, 1, 1, where);
                var i = Act(m, op.Input0, 4, where, "input");
                var o = Act(m, op.Output0, 4, where, "output");
                Params<MeanParams>(op, RecordSizes.MeanParams, where);
                if (o.Shape != new Shape4(i.Shape.D0, 1, 1, i.Shape.D3)) throw Bad(where, $"output shape {o.Shape} must be [N, 1, 1, C] of input {i.Shape}");
                if ((long)i.Shape.D1 * i.Shape.D2 * 383 > int.MaxValue) throw Bad(where, $"a mean over {(long)i.Shape.D1 * i.Shape.D2} positions could overflow the 32-bit accumulator");
                var p = m.ReadParams<MeanParams>(op);
                Offset(p.InputOffset, where); Offset(p.OutputOffset, where); Shift(p.Shift, where); Multiplier(p.Multiplier, where);
                break;
            }
            case OpType.Concatenation:
                ValidateConcat(m, op, where);
                break;
            case OpType.Pad:
            {
                Arity(op, 1, 1, where);
                var i = Act(m, op.Input0, 4, where, "input");
                var o = Act(m, op.Output0, 4, where, "output");
                Params<PadParams>(op, RecordSizes.PadParams, where);
                var p = m.ReadParams<PadParams>(op);
                int[] before = [p.Before0, p.Before1, p.Before2, p.Before3];
                int[] after = [p.After0, p.After1, p.After2, p.After3];
                for (int d = 0; d < 4; d++)
                {
                    if (before[d] < 0 || after[d] < 0) throw Bad(where, $"negative padding on dimension {d}");
                    if ((long)i.Shape[d] + before[d] + after[d] != o.Shape[d]) throw Bad(where, $"output dimension {d} is {o.Shape[d]}, expected {i.Shape[d]} + {before[d]} + {after[d]}");
                }
                if (p.PadValue < -128 || p.PadValue > 127) throw Bad(where, $"pad value {p.PadValue} is outside the int8 range");
                SameQuantization(m, op.Input0, op.Output0, where, "Pad copies bytes");
                break;
            }
            case OpType.Reshape:
            {
                Arity(op, 1, 1, where);
                var i = m.Tensors[op.Input0];
                var o = m.Tensors[op.Output0];
                if (i.Type != o.Type || i.ByteLength != o.ByteLength) throw Bad(where, $"input and output differ in type or size ({i.ByteLength} vs {o.ByteLength} bytes)");
                if (o.Storage != TensorStorage.Arena) throw Bad(where, "output is not in the arena");
                if (i.Type == TensorType.Int8) SameQuantization(m, op.Input0, op.Output0, where, "Reshape copies bytes");
                break;
            }
            case OpType.Transpose:
            {
                Arity(op, 1, 1, where);
                var i = Act(m, op.Input0, 4, where, "input");
                var o = Act(m, op.Output0, 4, where, "output");
                TransposePermutation(m, op, i.Shape, o.Shape, where);
                SameQuantization(m, op.Input0, op.Output0, where, "Transpose copies bytes");
                break;
            }
            case OpType.Softmax:
            {
                Arity(op, 1, 1, where);
                var i = ActAny(m, op.Input0, where, "input");
                var o = ActAny(m, op.Output0, where, "output");
                if (i.Shape != o.Shape) throw Bad(where, "input and output shapes differ");
                Params<SoftmaxParams>(op, RecordSizes.SoftmaxParams, where);
                var p = m.ReadParams<SoftmaxParams>(op);
                Const(m, p.ExpTableOffset, 256 * 4, 4, where, "exp table");
                Offset(p.OutputOffset, where);
                var table = MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(p.ExpTableOffset, 1024));
                for (int k = 0; k < 256; k++)
                    if (table[k] < 0 || table[k] > (1 << 23)) throw Bad(where, $"exp table entry {k} is {table[k]}, outside [0, 2^23]");
                if (table[0] < 1) throw Bad(where, "exp table entry 0 must be positive");
                FixedQuantization(m, op.Output0, 1f / 256, -128, where);
                break;
            }
            case OpType.Logistic:
            case OpType.Tanh:
            case OpType.Lookup:
            {
                Arity(op, 1, 1, where);
                var i = ActAny(m, op.Input0, where, "input");
                var o = ActAny(m, op.Output0, where, "output");
                if (i.Shape != o.Shape) throw Bad(where, "input and output shapes differ");
                Params<LookupParams>(op, RecordSizes.LookupParams, where);
                Const(m, m.ReadParams<LookupParams>(op).TableOffset, 256, 1, where, "lookup table");
                if (op.Type == OpType.Logistic) FixedQuantization(m, op.Output0, 1f / 256, -128, where);
                if (op.Type == OpType.Tanh) FixedQuantization(m, op.Output0, 1f / 128, 0, where);
                break;
            }
            case OpType.Quantize:
            case OpType.Dequantize:
            {
                Arity(op, 1, 1, where);
                var i = m.Tensors[op.Input0];
                var o = m.Tensors[op.Output0];
                var (fin, fout) = op.Type == OpType.Quantize ? (TensorType.Float32, TensorType.Int8) : (TensorType.Int8, TensorType.Float32);
                if (i.Type != fin || o.Type != fout) throw Bad(where, $"expects {fin} input and {fout} output, got {i.Type} and {o.Type}");
                if (i.Storage != TensorStorage.Arena || o.Storage != TensorStorage.Arena) throw Bad(where, "input and output must be in the arena");
                if (i.Shape != o.Shape) throw Bad(where, "input and output shapes differ");
                Params<QuantizeParams>(op, RecordSizes.QuantizeParams, where);
                var p = m.ReadParams<QuantizeParams>(op);
                if (!(p.Scale > 0) || !float.IsFinite(p.Scale)) throw Bad(where, $"scale {p.Scale} must be positive and finite");
                Offset(p.ZeroPoint, where);
                FixedQuantization(m, op.Type == OpType.Quantize ? op.Output0 : op.Input0, p.Scale, p.ZeroPoint, where);
                break;
            }
            case OpType.IndexSelect:
                ValidateIndexSelect(m, op, where);
                break;
            case OpType.BatchMatMul:
                ValidateBatchMatMul(m, op, where);
                break;
            case OpType.ArgMax:
                ValidateArgMax(m, op, where);
                break;
            case OpType.Lstm:
            case OpType.Gru:
                ValidateRecurrent(m, op, where);
                break;
            case OpType.LstmPacked:
            case OpType.GruPacked:
                ValidateRecurrentPacked(m, op, where);
                break;
            case OpType.DynamicConv2D:
            case OpType.DynamicDepthwiseConv2D:
            case OpType.DynamicFullyConnected:
            case OpType.MaxPool2DF32:
            case OpType.MeanF32:
            case OpType.AddF32:
            case OpType.TransposeF32:
                ValidateDynamic(m, op, where);
                break;
            case OpType.Conv2DCompressed:
            case OpType.DepthwiseConv2DCompressed:
            case OpType.FullyConnectedCompressed:
            case OpType.Conv2DSparse:
            case OpType.FullyConnectedSparse:
            case OpType.Conv2DCompressedPacked:
            case OpType.DepthwiseConv2DCompressedPacked:
            case OpType.FullyConnectedCompressedPacked:
                ValidateCompressed(m, op, where);
                break;
            case OpType.Conv2DS16:
            case OpType.DepthwiseConv2DS16:
            case OpType.FullyConnectedS16:
            case OpType.AddS16:
            case OpType.MaxPool2DS16:
            case OpType.MeanS16:
            case OpType.Conv2DF32:
            case OpType.DepthwiseConv2DF32:
            case OpType.FullyConnectedF32:
            case OpType.QuantizeS16:
            case OpType.DequantizeS16:
            case OpType.Requantize:
                ValidateMixed(m, op, where);
                break;
            default:
                throw Bad(where, $"unknown op type {(int)op.Type}");
        }
    }

    /// <summary>
    /// The output channels of a convolution filter ([Cout, Kh, Kw, Cin], or [1, Kh, Kw, Cout] depthwise with
    /// Cout = Cin x depth multiplier), checked against the input's channels: the rule of every Conv2D-family op.
    /// </summary>
    private static int ConvChannels(Shape4 input, Shape4 filter, bool dw, int depthMultiplier, string where)
    {
        int cout = dw ? filter.D3 : filter.D0;
        int cin = input.D3;
        if (dw)
        {
            if (filter.D0 != 1) throw Bad(where, $"depthwise filter {filter} must be [1, Kh, Kw, Cout]");
            if (depthMultiplier < 1 || (long)cin * depthMultiplier != cout) throw Bad(where, $"depthwise output channels {cout} != input channels {cin} x multiplier {depthMultiplier}");
        }
        else if (filter.D3 != cin) throw Bad(where, $"filter {filter} input channels do not match input {input}");
        return cout;
    }

    /// <summary>Strides and dilations in [1, 64], valid pads, and the output [N, Ho, Wo, Cout] the window rule gives.</summary>
    private static void ConvWindow(Shape4 input, Shape4 filter, Shape4 output, int cout, int strideH, int strideW, int dilationH, int dilationW,
        int padTop, int padLeft, int padBottom, int padRight, string where)
    {
        if (strideH < 1 || strideW < 1 || dilationH < 1 || dilationW < 1 || strideH > 64 || strideW > 64 || dilationH > 64 || dilationW > 64)
            throw Bad(where, $"strides ({strideH}, {strideW}) and dilations ({dilationH}, {dilationW}) must be in [1, 64]");
        Pads(padTop, padLeft, padBottom, padRight, where);
        long oh = OutSize(input.D1, filter.D1, strideH, dilationH, padTop, padBottom);
        long ow = OutSize(input.D2, filter.D2, strideW, dilationW, padLeft, padRight);
        if (output != new Shape4(input.D0, (int)oh, (int)ow, cout))
            throw Bad(where, $"output shape {output} does not match input {input}, filter {filter} and parameters (expected [{input.D0}, {oh}, {ow}, {cout}])");
    }

    private static void ValidateConv(Model m, OpInfo op, string where)
    {
        bool packed = IsPackedOp(op.Type);
        if (!IsCompressedOp(op.Type) && !packed) Arity(op, 3, 1, where);
        var input = Act(m, op.Input0, 4, where, "input");
        var filter = m.Tensors[op.Input1];
        var output = Act(m, op.Output0, 4, where, "output");
        if (IsCompressedOp(op.Type) || packed) CompressedFilter(m, op, 4, where);
        else if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 4) throw Bad(where, "filter must be a constant rank-4 int8 tensor");
        Conv2DParams p;
        Conv2DPackedParams pp = default;
        if (packed)
        {
            Params<Conv2DPackedParams>(op, RecordSizes.Conv2DPackedParams, where);
            pp = m.ReadParams<Conv2DPackedParams>(op);
            p = pp.AsConv2DParams();
        }
        else
        {
            Params<Conv2DParams>(op, RecordSizes.Conv2DParams, where);
            p = m.ReadParams<Conv2DParams>(op);
        }
        bool dw = op.Type is OpType.DepthwiseConv2D or OpType.DepthwiseConv2DCompressed or OpType.DepthwiseConv2DCompressedPacked;
        int cout = ConvChannels(input.Shape, filter.Shape, dw, p.DepthMultiplier, where);
        if (!packed) Bias(m, m.Tensors[op.Input2], cout, where);
        ConvWindow(input.Shape, filter.Shape, output.Shape, cout, p.StrideH, p.StrideW, p.DilationH, p.DilationW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, where);
        Offset(p.InputOffset, where); Offset(p.OutputOffset, where); Activation(p.ActivationMin, p.ActivationMax, where);
        if (packed)
        {
            PackedRequantRecord(m, pp.RequantOffset, pp.BiasBytes, cout, where);
            return;
        }
        PerChannel(m, p.MultipliersOffset, p.ShiftsOffset, cout, where);
        if (p.FoldedBiasOffset != -1) FoldedBias(m, op, p.FoldedBiasOffset, p.InputOffset, cout, where);
    }

    private static void ValidateFullyConnected(Model m, OpInfo op, string where)
    {
        bool packed = IsPackedOp(op.Type);
        if (!IsCompressedOp(op.Type) && !packed) Arity(op, 3, 1, where);
        var input = ActAny(m, op.Input0, where, "input");
        var filter = m.Tensors[op.Input1];
        var output = ActAny(m, op.Output0, where, "output");
        if (IsCompressedOp(op.Type) || packed) CompressedFilter(m, op, 2, where);
        else if (filter.Type != TensorType.Int8 || filter.Storage != TensorStorage.Constant || filter.Rank != 2) throw Bad(where, "filter must be a constant [Cout, Cin] int8 tensor");
        int cout = filter.Shape.D0, cin = filter.Shape.D1;
        if (input.ElementCount % cin != 0) throw Bad(where, $"input of {input.ElementCount} elements is not a whole number of rows of {cin}");
        int batch = input.ElementCount / cin;
        if (output.ElementCount != (long)batch * cout || output.Shape[output.Rank - 1] != cout) throw Bad(where, $"output {output.Shape} is not [{batch}, {cout}]");
        if (packed)
        {
            Params<FullyConnectedPackedParams>(op, RecordSizes.FullyConnectedPackedParams, where);
            var pp = m.ReadParams<FullyConnectedPackedParams>(op);
            Offset(pp.InputOffset, where); Offset(pp.OutputOffset, where); Activation(pp.ActivationMin, pp.ActivationMax, where);
            PackedRequantRecord(m, pp.RequantOffset, pp.BiasBytes, cout, where);
            return;
        }
        Bias(m, m.Tensors[op.Input2], cout, where);
        Params<FullyConnectedParams>(op, RecordSizes.FullyConnectedParams, where);
        var p = m.ReadParams<FullyConnectedParams>(op);
        Offset(p.InputOffset, where); Offset(p.OutputOffset, where); Activation(p.ActivationMin, p.ActivationMax, where);
        PerChannel(m, p.MultipliersOffset, p.ShiftsOffset, cout, where);
        if (p.FoldedBiasOffset != -1) FoldedBias(m, op, p.FoldedBiasOffset, p.InputOffset, cout, where);
    }

    /// <summary>
    /// A folded bias, when present, must be in bounds and hold exactly <c>bias[oc] + inputOffset × Σ filter[oc]</c>
    /// in wrapping int32 arithmetic (the reference accumulator's), per output channel: the C DSP/MVE kernels
    /// add it in place of the input offset, so any other value would change their bytes. Ops 50-54 are checked
    /// against their decoded filter with the fold their own fast paths compute (<see cref="CompressedPrepared"/>).
    /// </summary>
    private static void FoldedBias(Model m, OpInfo op, int offset, int inputOffset, int cout, string where)
    {
        Const(m, offset, 4L * cout, 4, where, "folded bias");
        var stored = MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(offset, 4 * cout));
        var bias = MemoryMarshal.Cast<byte, int>(m.GetConstantBytes(op.Input2));
        var fT = m.Tensors[op.Input1];
        int[] expected;
        switch (op.Type)
        {
            case OpType.Conv2DCompressed:
            case OpType.DepthwiseConv2DCompressed:
            case OpType.FullyConnectedCompressed:
            {
                bool dw = op.Type == OpType.DepthwiseConv2DCompressed;
                expected = CompressedPrepared.ForCompressed(m.CompressedFilterOf(op), dw, cout, fT.ElementCount / fT.Shape.D0, bias, inputOffset).FoldedBias;
                break;
            }
            case OpType.Conv2DSparse:
            case OpType.FullyConnectedSparse:
                expected = CompressedPrepared.ForSparse(new SparseFilter(m.GetConstantBytes(op.Input1), cout), cout, bias, inputOffset, false, 1, 1, 1, 1, 1).FoldedBias;
                break;
            default:
            {
                // Conv2D [Cout, Kh, Kw, Cin] and FullyConnected [Cout, Cin]: channel oc is row oc;
                // depthwise [1, Kh, Kw, Cout]: channel oc is every Cout-th tap from oc.
                var filter = MemoryMarshal.Cast<byte, sbyte>(m.GetConstantBytes(op.Input1));
                bool dw = op.Type == OpType.DepthwiseConv2D;
                int per = filter.Length / cout;
                expected = new int[cout];
                for (int oc = 0; oc < cout; oc++)
                {
                    int sum = 0;
                    if (dw)
                        for (int k = oc; k < filter.Length; k += cout) sum += filter[k];
                    else
                        foreach (sbyte v in filter.Slice(oc * per, per)) sum += v;
                    expected[oc] = unchecked(bias[oc] + inputOffset * sum);
                }
                break;
            }
        }
        for (int oc = 0; oc < cout; oc++)
            if (stored[oc] != expected[oc])
                throw Bad(where, $"folded bias entry {oc} (constant offset {offset + 4 * oc}) is {stored[oc]}, but bias + input_offset x sum(filter) of channel {oc} is {expected[oc]}");
    }

    /// <summary>Each dimension of the rank-4 views of <paramref name="a"/> and <paramref name="b"/> is the output's or 1.</summary>
    private static void Broadcasts(Shape4 a, Shape4 b, Shape4 o, string where)
    {
        for (int d = 0; d < 4; d++)
        {
            if ((a[d] != o[d] && a[d] != 1) || (b[d] != o[d] && b[d] != 1))
                throw Bad(where, $"inputs {a} and {b} do not broadcast to output {o}");
        }
    }

    private static void ValidateElementwise(Model m, OpInfo op, string where)
    {
        Arity(op, 2, 1, where);
        // Any rank up to 4, the same for all three (broadcasting is per dimension over the rank-4 view).
        int rank = m.Tensors[op.Output0].Rank;
        var a = Act(m, op.Input0, rank, where, "input 1", allowConstant: true);
        var b = Act(m, op.Input1, rank, where, "input 2", allowConstant: true);
        var o = Act(m, op.Output0, rank, where, "output");
        Broadcasts(a.Shape, b.Shape, o.Shape, where);
        Params<ElementwiseParams>(op, RecordSizes.ElementwiseParams, where);
        var p = m.ReadParams<ElementwiseParams>(op);
        Offset(p.Input1Offset, where); Offset(p.Input2Offset, where); Offset(p.OutputOffset, where);
        Activation(p.ActivationMin, p.ActivationMax, where);
        if (p.LeftShift < 0 || p.LeftShift > 20) throw Bad(where, $"left shift {p.LeftShift} is outside [0, 20]");
        Multiplier(p.OutputMultiplier, where); Shift(p.OutputShift, where);
        if (op.Type != OpType.Mul)
        {
            Multiplier(p.Input1Multiplier, where); Shift(p.Input1Shift, where); Multiplier(p.Input2Multiplier, where); Shift(p.Input2Shift, where);
            if (p.Input1Shift > 0 || p.Input2Shift > 0) throw Bad(where, "input multipliers must be below one (shift <= 0)");
        }
    }

    private static void ValidatePool(Model m, OpInfo op, string where)
    {
        Arity(op, 1, 1, where);
        var input = Act(m, op.Input0, 4, where, "input");
        var output = Act(m, op.Output0, 4, where, "output");
        var p = PoolGeometry(m, op, input.Shape, output.Shape, where);
        var qi = m.QuantOf(op.Input0); var qo = m.QuantOf(op.Output0);
        if (qi.ZeroPoint != qo.ZeroPoint || m.GetScale(m.Tensors[op.Input0].QuantIndex) != m.GetScale(m.Tensors[op.Output0].QuantIndex))
            throw Bad(where, "pooling input and output must share scale and zero point");
        Activation(p.ActivationMin, p.ActivationMax, where);
    }

    /// <summary>MaxPool2D, AveragePool2D and MaxPool2DF32: window, strides and padding, and the output shape they give.</summary>
    private static PoolParams PoolGeometry(Model m, OpInfo op, Shape4 input, Shape4 output, string where)
    {
        Params<PoolParams>(op, RecordSizes.PoolParams, where);
        var p = m.ReadParams<PoolParams>(op);
        if (p.StrideH < 1 || p.StrideW < 1 || p.FilterH < 1 || p.FilterW < 1 || p.StrideH > 256 || p.StrideW > 256 || p.FilterH > 256 || p.FilterW > 256)
            throw Bad(where, "strides and filter sizes must be in [1, 256]");
        Pads(p.PadTop, p.PadLeft, p.PadBottom, p.PadRight, where);
        if (p.PadTop >= p.FilterH || p.PadBottom >= p.FilterH || p.PadLeft >= p.FilterW || p.PadRight >= p.FilterW)
            throw Bad(where, "padding must be smaller than the filter (a window would see only padding)");
        long oh = OutSize(input.D1, p.FilterH, p.StrideH, 1, p.PadTop, p.PadBottom);
        long ow = OutSize(input.D2, p.FilterW, p.StrideW, 1, p.PadLeft, p.PadRight);
        if (output != new Shape4(input.D0, (int)oh, (int)ow, input.D3))
            throw Bad(where, $"output shape {output} does not match input {input} and parameters (expected [{input.D0}, {oh}, {ow}, {input.D3}])");
        return p;
    }

    private static void ValidateConcat(Model m, OpInfo op, string where)
    {
        if (op.InputCount < 1 || op.OutputCount != 1) throw Bad(where, $"expects 1 to 4 inputs and 1 output, has {op.InputCount} and {op.OutputCount}");
        var o = Act(m, op.Output0, 4, where, "output");
        Params<ConcatParams>(op, RecordSizes.ConcatParams, where);
        var p = m.ReadParams<ConcatParams>(op);
        if (p.Axis < 0 || p.Axis > 3) throw Bad(where, $"axis {p.Axis} is outside [0, 3]");
        if (p.InputCount != op.InputCount) throw Bad(where, $"parameters name {p.InputCount} inputs, the op has {op.InputCount}");
        long sum = 0;
        for (int k = 0; k < op.InputCount; k++)
        {
            var t = Act(m, op.Input(k), 4, where, $"input {k}", allowConstant: true);
            for (int d = 0; d < 4; d++)
                if (d != p.Axis && t.Shape[d] != o.Shape[d]) throw Bad(where, $"input {k} shape {t.Shape} differs from output {o.Shape} off the axis");
            sum += t.Shape[p.Axis];
        }
        if (sum != o.Shape[p.Axis]) throw Bad(where, $"inputs add up to {sum} along axis {p.Axis}, output has {o.Shape[p.Axis]}");
        Offset(p.OutputOffset, where);
        ReadOnlySpan<int> per = [p.In0Offset, p.In0Multiplier, p.In0Shift, p.In1Offset, p.In1Multiplier, p.In1Shift, p.In2Offset, p.In2Multiplier, p.In2Shift, p.In3Offset, p.In3Multiplier, p.In3Shift];
        for (int k = 0; k < op.InputCount; k++)
        {
            Offset(per[3 * k], where); Multiplier(per[3 * k + 1], where); Shift(per[3 * k + 2], where);
            if (per[3 * k + 1] == 0) SameQuantization(m, op.Input(k), op.Output0, where, $"input {k} is copied (multiplier 0)");
        }
    }

    /// <summary>Ops that move bytes unchanged need input and output to mean the same thing.</summary>
    private static void ValidateIndexSelect(Model m, OpInfo op, string where)
    {
        Arity(op, 1, 1, where);
        var i = Act(m, op.Input0, 4, where, "input", allowConstant: true);
        var o = Act(m, op.Output0, 4, where, "output");
        Params<IndexSelectParams>(op, RecordSizes.IndexSelectParams, where);
        var p = m.ReadParams<IndexSelectParams>(op);
        int[] tables = [p.Table0Offset, p.Table1Offset, p.Table2Offset, p.Table3Offset];
        for (int d = 0; d < 4; d++)
        {
            Const(m, tables[d], 4L * o.Shape[d], 4, where, $"index table {d}");
            var t = MemoryMarshal.Cast<byte, int>(m.ConstantData.Slice(tables[d], 4 * o.Shape[d]));
            for (int k = 0; k < t.Length; k++)
                if (t[k] < -1 || t[k] >= i.Shape[d]) throw Bad(where, $"index table {d} entry {k} is {t[k]}, outside [-1, {i.Shape[d]}) (input {i.Shape})");
        }
        if (p.FillValue < -128 || p.FillValue > 127) throw Bad(where, $"fill value {p.FillValue} is outside the int8 range");
        SameQuantization(m, op.Input0, op.Output0, where, "IndexSelect copies bytes");
    }

    private static void ValidateArgMax(Model m, OpInfo op, string where)
    {
        Arity(op, 1, 1, where);
        var i = ActAny(m, op.Input0, where, "input");
        var o = ActAny(m, op.Output0, where, "output");
        Params<ArgMaxParams>(op, RecordSizes.ArgMaxParams, where);
        var p = m.ReadParams<ArgMaxParams>(op);
        if (p.Axis < 0 || p.Axis > 3) throw Bad(where, $"axis {p.Axis} is outside 0..3");
        if (p.SelectLastIndex is not (0 or 1)) throw Bad(where, $"select_last_index {p.SelectLastIndex} must be 0 or 1");
        for (int d = 0; d < 4; d++)
            if (o.Shape[d] != (d == p.Axis ? 1 : i.Shape[d])) throw Bad(where, $"output shape {o.Shape} must be the input {i.Shape} with dimension {p.Axis} set to 1");
        int n = i.Shape[p.Axis];
        if (p.OutputOffset < -128 || (long)p.OutputOffset + n - 1 > 127) throw Bad(where, $"indices 0..{n - 1} plus the output offset {p.OutputOffset} do not fit int8");
        FixedQuantization(m, op.Output0, 1f, p.OutputOffset, where);
    }

    /// <summary>Largest hidden size of Lstm / Gru: keeps Σ h × R (|h| ≤ 2^15, |R| ≤ 128) inside int32.</summary>
    internal const int MaxRecurrentHidden = 256;

    /// <summary>Largest input size of Lstm / Gru: keeps Σ (x + offset) × W inside int32.</summary>
    internal const int MaxRecurrentInput = 16384;

    private static void ValidateRecurrent(Model m, OpInfo op, string where)
    {
        Arity(op, 4, 1, where);
        bool lstm = op.Type == OpType.Lstm;
        int gates = lstm ? 4 : 3;
        var x = Act(m, op.Input0, 3, where, "input");
        var w = m.Tensors[op.Input1];
        var r = m.Tensors[op.Input2];
        var bias = m.Tensors[op.Input3];
        var y = Act(m, op.Output0, 4, where, "output");
        Params<RecurrentParams>(op, RecordSizes.RecurrentParams, where);
        var p = m.ReadParams<RecurrentParams>(op);
        int hidden = p.HiddenSize;
        if (hidden < 1 || hidden > MaxRecurrentHidden) throw Bad(where, $"hidden size {hidden} is outside [1, {MaxRecurrentHidden}]");
        if (p.Direction < 0 || p.Direction > 2) throw Bad(where, $"direction {p.Direction} must be 0 (forward), 1 (reverse) or 2 (bidirectional)");
        int dirs = p.Direction == 2 ? 2 : 1;
        int steps = x.Shape.D0, batch = x.Shape.D1, inputs = x.Shape.D2;
        if (inputs > MaxRecurrentInput) throw Bad(where, $"input size {inputs} exceeds {MaxRecurrentInput}");
        int rows = gates * hidden;
        if (w.Type != TensorType.Int8 || w.Storage != TensorStorage.Constant || w.Rank != 3 || w.Shape != new Shape4(dirs, rows, inputs, 1))
            throw Bad(where, $"W must be a constant int8 tensor [{dirs}, {rows}, {inputs}] (directions, {gates} x hidden, input)");
        if (r.Type != TensorType.Int8 || r.Storage != TensorStorage.Constant || r.Rank != 3 || r.Shape != new Shape4(dirs, rows, hidden, 1))
            throw Bad(where, $"R must be a constant int8 tensor [{dirs}, {rows}, {hidden}]");
        if (bias.Type != TensorType.Int32 || bias.Storage != TensorStorage.Constant || bias.Rank != 3 || bias.Shape != new Shape4(dirs, 2, rows, 1))
            throw Bad(where, $"bias must be a constant int32 tensor [{dirs}, 2, {rows}]");
        if (y.Shape != new Shape4(steps, dirs, batch, hidden))
            throw Bad(where, $"output shape {y.Shape} must be [{steps}, {dirs}, {batch}, {hidden}] (steps, directions, batch, hidden)");
        Offset(p.InputOffset, where);
        Offset(p.OutputOffset, where);
        Multiplier(p.OutputMultiplier, where);
        Shift(p.OutputShift, where);
        if (lstm ? p.CellShift < 8 || p.CellShift > 15 : p.CellShift != 0)
            throw Bad(where, lstm ? $"cell shift {p.CellShift} is outside [8, 15]" : $"cell shift {p.CellShift} must be 0 (a GRU has no cell state)");
        if (lstm ? p.LinearBeforeReset != 0 : p.LinearBeforeReset is not (0 or 1))
            throw Bad(where, $"linear_before_reset {p.LinearBeforeReset} must be {(lstm ? "0 for an LSTM" : "0 or 1")}");
        PerChannel(m, p.InputMultipliersOffset, p.InputShiftsOffset, dirs * rows, where);
        PerChannel(m, p.RecurrentMultipliersOffset, p.RecurrentShiftsOffset, dirs * rows, where);
        int scratch = Kernels.Recurrent.ScratchBytes(gates, hidden);
        if (op.ScratchBytes < scratch) throw Bad(where, $"scratch is {op.ScratchBytes} bytes; the state and gates need {scratch}");
    }

    /// <summary>
    /// Ops 25-26 (docs/format.md 6.3.1): x, int4 W [D·G·H, I] and int4 R [D·G·H, H] (rank 2, one gate row per
    /// tensor row), the fields of RecurrentParams, and the packed per-row record (inside the constant data,
    /// 4-byte aligned, every shift in [-31, 30]; any u16 multiplier and int16 bias is valid).
    /// </summary>
    private static void ValidateRecurrentPacked(Model m, OpInfo op, string where)
    {
        Arity(op, 3, 1, where);
        bool lstm = op.Type == OpType.LstmPacked;
        int gates = lstm ? 4 : 3;
        var x = Act(m, op.Input0, 3, where, "input");
        var w = m.Tensors[op.Input1];
        var r = m.Tensors[op.Input2];
        var y = Act(m, op.Output0, 4, where, "output");
        Params<RecurrentPackedParams>(op, RecordSizes.RecurrentPackedParams, where);
        var p = m.ReadParams<RecurrentPackedParams>(op);
        int hidden = p.HiddenSize;
        if (hidden < 1 || hidden > MaxRecurrentHidden) throw Bad(where, $"hidden size {hidden} is outside [1, {MaxRecurrentHidden}]");
        if (p.Direction < 0 || p.Direction > 2) throw Bad(where, $"direction {p.Direction} must be 0 (forward), 1 (reverse) or 2 (bidirectional)");
        int dirs = p.Direction == 2 ? 2 : 1;
        int steps = x.Shape.D0, batch = x.Shape.D1, inputs = x.Shape.D2;
        if (inputs > MaxRecurrentInput) throw Bad(where, $"input size {inputs} exceeds {MaxRecurrentInput}");
        int rows = dirs * gates * hidden;
        if (w.Type != TensorType.Int4 || w.Storage != TensorStorage.Constant || w.Rank != 2 || w.Shape != new Shape4(rows, inputs, 1, 1))
            throw Bad(where, $"W must be a constant int4 tensor [{rows}, {inputs}] (directions x {gates} x hidden, input)");
        if (r.Type != TensorType.Int4 || r.Storage != TensorStorage.Constant || r.Rank != 2 || r.Shape != new Shape4(rows, hidden, 1, 1))
            throw Bad(where, $"R must be a constant int4 tensor [{rows}, {hidden}] (directions x {gates} x hidden, hidden)");
        if (y.Shape != new Shape4(steps, dirs, batch, hidden))
            throw Bad(where, $"output shape {y.Shape} must be [{steps}, {dirs}, {batch}, {hidden}] (steps, directions, batch, hidden)");
        Offset(p.InputOffset, where);
        Offset(p.OutputOffset, where);
        Shift(p.OutputShift, where);
        if (lstm ? p.CellShift < 8 || p.CellShift > 15 : p.CellShift != 0)
            throw Bad(where, lstm ? $"cell shift {p.CellShift} is outside [8, 15]" : $"cell shift {p.CellShift} must be 0 (a GRU has no cell state)");
        if (lstm ? p.LinearBeforeReset != 0 : p.LinearBeforeReset is not (0 or 1))
            throw Bad(where, $"linear_before_reset {p.LinearBeforeReset} must be {(lstm ? "0 for an LSTM" : "0 or 1")}");
        Const(m, p.RequantOffset, PackedRecurrent.Bytes(rows), 4, where, "packed per-row record");
        var shifts = m.ConstantData.Slice(p.RequantOffset + (8 * rows), 2 * rows);
        for (int k = 0; k < shifts.Length; k++)
        {
            int s = (sbyte)shifts[k];
            if (s < -31 || s > 30) throw Bad(where, $"packed record, {(k < rows ? "input" : "recurrent")} row {k % rows}: shift {s} is outside [-31, 30]");
        }
        int scratch = Kernels.Recurrent.ScratchBytes(gates, hidden);
        if (op.ScratchBytes < scratch) throw Bad(where, $"scratch is {op.ScratchBytes} bytes; the state and gates need {scratch}");
    }

    private static void ValidateBatchMatMul(Model m, OpInfo op, string where)
    {
        Arity(op, 2, 1, where);
        var a = Act(m, op.Input0, 4, where, "input 0", allowConstant: true);
        var b = Act(m, op.Input1, 4, where, "input 1", allowConstant: true);
        var o = Act(m, op.Output0, 4, where, "output");
        Params<BatchMatMulParams>(op, RecordSizes.BatchMatMulParams, where);
        if (a.Shape.D3 != b.Shape.D3) throw Bad(where, $"inputs {a.Shape} and {b.Shape} differ in the reduced (last) dimension");
        if (o.Shape.D2 != a.Shape.D2 || o.Shape.D3 != b.Shape.D2) throw Bad(where, $"output {o.Shape} must be [.., M, N] of inputs {a.Shape} ([.., M, K]) and {b.Shape} ([.., N, K])");
        for (int d = 0; d < 2; d++)
        {
            if ((a.Shape[d] != o.Shape[d] && a.Shape[d] != 1) || (b.Shape[d] != o.Shape[d] && b.Shape[d] != 1))
                throw Bad(where, $"batch dimension {d} of inputs {a.Shape} and {b.Shape} does not broadcast to output {o.Shape}");
        }
        if ((long)a.Shape.D3 * 383 * 383 > int.MaxValue) throw Bad(where, $"a reduction over {a.Shape.D3} terms could overflow the 32-bit accumulator (at most {int.MaxValue / (383 * 383)})");
        var p = m.ReadParams<BatchMatMulParams>(op);
        Offset(p.Input1Offset, where); Offset(p.Input2Offset, where); Offset(p.OutputOffset, where);
        Multiplier(p.OutputMultiplier, where); Shift(p.OutputShift, where); Activation(p.ActivationMin, p.ActivationMax, where);
    }

    private static void SameQuantization(Model m, int a, int b, string where, string why)
    {
        var qa = m.QuantOf(a); var qb = m.QuantOf(b);
        float sa = m.GetScale(m.Tensors[a].QuantIndex), sb = m.GetScale(m.Tensors[b].QuantIndex);
        if (qa.ZeroPoint != qb.ZeroPoint || sa != sb)
            throw Bad(where, $"{why}, so tensors {a} and {b} must share scale and zero point (have {sa:G6}/{qa.ZeroPoint} and {sb:G6}/{qb.ZeroPoint})");
    }

    /// <summary>Ops whose output quantization is fixed by their definition (or by their parameters).</summary>
    private static void FixedQuantization(Model m, int t, float scale, int zeroPoint, string where)
    {
        var q = m.QuantOf(t);
        float s = m.GetScale(m.Tensors[t].QuantIndex);
        if (s != scale || q.ZeroPoint != zeroPoint)
            throw Bad(where, $"tensor {t} has scale {s:G6} and zero point {q.ZeroPoint}; the op requires scale {scale:G6} and zero point {zeroPoint}");
    }

    private static long OutSize(int inSize, int k, int stride, int dilation, int padA, int padB)
    {
        long eff = (long)(k - 1) * dilation + 1;
        long span = (long)inSize + padA + padB - eff;
        return span < 0 ? 0 : span / stride + 1;
    }

    /// <summary>Transpose (int8 or float): the record's permutation of 0..3 maps the input shape onto the output's.</summary>
    private static void TransposePermutation(Model m, OpInfo op, Shape4 input, Shape4 output, string where)
    {
        Params<TransposeParams>(op, RecordSizes.TransposeParams, where);
        var p = m.ReadParams<TransposeParams>(op);
        int[] perm = [p.Perm0, p.Perm1, p.Perm2, p.Perm3];
        int seen = 0;
        for (int d = 0; d < 4; d++)
        {
            if (perm[d] < 0 || perm[d] > 3 || (seen & (1 << perm[d])) != 0) throw Bad(where, $"permutation [{string.Join(", ", perm)}] is not a permutation of 0..3");
            seen |= 1 << perm[d];
            if (output[d] != input[perm[d]]) throw Bad(where, $"output shape {output} is not the input {input} permuted");
        }
    }

    private static void Arity(OpInfo op, int nIn, int nOut, string where)
    {
        if (op.InputCount != nIn || op.OutputCount != nOut)
            throw Bad(where, $"expects {nIn} inputs and {nOut} outputs, has {op.InputCount} and {op.OutputCount}");
    }

    private static string TypeName(TensorType type) => type == TensorType.Int16 ? "int16" : "int8";

    /// <summary>A quantized activation of <paramref name="type"/> (int8, or int16 for the 16x8 ops): per tensor, of the given rank.</summary>
    private static TensorInfo Act(Model m, int t, int rank, string where, string what, bool allowConstant = false, TensorType type = TensorType.Int8)
    {
        var ti = m.Tensors[t];
        if (ti.Type != type) throw Bad(where, $"{what} (tensor {t}) must be {TypeName(type)}, is {ti.Type}");
        if (!allowConstant && ti.Storage != TensorStorage.Arena) throw Bad(where, $"{what} (tensor {t}) must be in the arena");
        if (ti.Rank != rank) throw Bad(where, $"{what} (tensor {t}) must have rank {rank}, has {ti.Rank}");
        if (m.Quantization[ti.QuantIndex].ChannelCount != 1) throw Bad(where, $"{what} (tensor {t}) must be quantized per tensor");
        return ti;
    }

    private static TensorInfo ActAny(Model m, int t, string where, string what, TensorType type = TensorType.Int8)
    {
        var ti = m.Tensors[t];
        if (ti.Type != type || ti.Storage != TensorStorage.Arena) throw Bad(where, $"{what} (tensor {t}) must be an {TypeName(type)} arena tensor");
        if (m.Quantization[ti.QuantIndex].ChannelCount != 1) throw Bad(where, $"{what} (tensor {t}) must be quantized per tensor");
        return ti;
    }

    private static void Bias(Model m, TensorInfo bias, int cout, string where)
    {
        if (bias.Type != TensorType.Int32 || bias.Storage != TensorStorage.Constant || bias.ElementCount != cout)
            throw Bad(where, $"bias must be a constant int32 tensor of {cout} elements");
    }

    private static void Params<T>(OpInfo op, int size, string where) where T : unmanaged
    {
        if (op.ParamsBytes != size || System.Runtime.CompilerServices.Unsafe.SizeOf<T>() != size)
            throw Bad(where, $"parameters are {op.ParamsBytes} bytes, expected {size}");
    }

    private static void Const(Model m, int offset, long bytes, int align, string where, string what)
    {
        if (offset < 0 || offset % align != 0 || offset + bytes > m.ConstantData.Length)
            throw Bad(where, $"{what} at constant offset {offset} ({bytes} bytes) is misaligned or outside the {m.ConstantData.Length}-byte constant data");
    }

    private static void PerChannel(Model m, int multOffset, int shiftOffset, int count, string where)
    {
        Const(m, multOffset, 4L * count, 4, where, "multipliers");
        Const(m, shiftOffset, 4L * count, 4, where, "shifts");
        var c = m.ConstantData;
        for (int k = 0; k < count; k++)
        {
            Multiplier(BinaryPrimitives.ReadInt32LittleEndian(c.Slice(multOffset + 4 * k)), where);
            Shift(BinaryPrimitives.ReadInt32LittleEndian(c.Slice(shiftOffset + 4 * k)), where);
        }
    }

    private static void Pads(int t, int l, int b, int r, string where)
    {
        if (t < 0 || l < 0 || b < 0 || r < 0 || t > 1024 || l > 1024 || b > 1024 || r > 1024)
            throw Bad(where, $"padding ({t}, {l}, {b}, {r}) must be in [0, 1024]");
    }

    private static void Offset(int v, string where)
    {
        if (v < -255 || v > 255) throw Bad(where, $"zero-point offset {v} is outside [-255, 255]");
    }

    private static void Activation(int min, int max, string where)
    {
        if (min < -128 || max > 127 || min > max) throw Bad(where, $"activation range [{min}, {max}] is not inside [-128, 127]");
    }

    private static void Multiplier(int v, string where)
    {
        if (v < 0) throw Bad(where, $"multiplier {v} is negative");
    }

    private static void Shift(int v, string where)
    {
        if (v < -31 || v > 30) throw Bad(where, $"shift {v} is outside [-31, 30]");
    }

    internal static InvalidModelException Bad(string where, string what) => Model.Bad($"{where}: {what}");
}
