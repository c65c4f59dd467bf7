using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;
using static EdgeQuant.Runtime.Tests.ModelTests;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>
/// Per-op validation at load (OpValidator): one-op models, each with one thing wrong. Every
/// message names the op record and its type.
/// </summary>
public class OpValidatorTests
{
    private const string Op0 = "section Ops, record 0 (byte ";

    private static void RejectsOp(OneOpCase c, params string[] fragments) =>
        Rejects(c.Blob, [Op0, $"({c.Op})", .. fragments]);

    [Test]
    public void ValidOneOpModelsLoad()
    {
        foreach (var c in OneOpModels.All())
            Assert.DoesNotThrow(() => Model.Load(c.Blob), c.Op.ToString());
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ConvGeometry(bool depthwise)
    {
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { StrideH = 0 }), "strides (0, 2)", "must be in [1, 64]");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { StrideW = 65 }), "strides (2, 65)");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { DilationH = -1 }), "dilations (-1, 1)");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { PadLeft = -1 }), "padding (1, -1, 1, 0) must be in [0, 1024]");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { PadBottom = 1025 }), "padding");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { PadRight = 2 }), "output shape", "does not match", $"expected [1, 3, 4, {(depthwise ? 6 : 4)}]");
        RejectsOp(OneOpModels.Conv(depthwise, outDims: [1, 3, 3, 5]), "output shape [1, 3, 3, 5]");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void ConvQuantizationParameters(bool depthwise)
    {
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { InputOffset = 256 }), "zero-point offset 256 is outside [-255, 255]");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { OutputOffset = -256 }), "zero-point offset -256");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { ActivationMin = 10, ActivationMax = 9 }), "activation range [10, 9]");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { ActivationMax = 128 }), "activation range [-128, 128]");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { MultipliersOffset = -4 }), "multipliers at constant offset -4");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { ShiftsOffset = p.ShiftsOffset + 2 }), "shifts at constant offset", "misaligned");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { ShiftsOffset = 100_000 }), "shifts at constant offset 100000");
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { FoldedBiasOffset = 100_000 }), "folded bias");
        // Point the shifts at the filter scales (floats around 0.01, as int32 ~ 1e9): out of range.
        RejectsOp(OneOpModels.Conv(depthwise, p => p with { ShiftsOffset = 16 }), "shift", "is outside [-31, 30]");
    }

    [Test]
    public void ConvMultipliersMustBeNonNegative()
    {
        RejectsOp(OneOpModels.Conv(false, tweakFilter: null, tweak: p => p with { MultipliersOffset = p.ShiftsOffset }), "multiplier -", "is negative");
    }

    [Test]
    public void ConvOperands()
    {
        // Filter must be a constant int8 tensor of rank 4; bias a constant int32 of Cout elements.
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[1] = w.AddActivation(TensorType.Int8, [4, 3, 3, 3], 0)), "filter must be a constant rank-4 int8 tensor");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[1] = w.AddConstant<int>(TensorType.Int32, [4, 3, 3, 3], new int[108], -1)), "filter must be");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[2] = w.AddConstant<int>(TensorType.Int32, [3], new int[3], -1)), "bias must be a constant int32 tensor of 4 elements");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[2] = w.AddConstant<sbyte>(TensorType.Int8, [4], new sbyte[4], 0)), "bias must be");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[1] = w.AddConstant<sbyte>(TensorType.Int8, [4, 3, 3, 2], new sbyte[72], 0)), "filter [4, 3, 3, 2] input channels do not match input [1, 5, 6, 3]");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[0] = w.AddActivation(TensorType.Int8, [1, 5, 6, 3], w.AddQuantization([0.1f, 0.2f, 0.3f], 0, 3))),
            "input (tensor", "must be quantized per tensor");
        RejectsOp(OneOpModels.Conv(false, tweakFilter: (w, ins) => ins[0] = w.AddActivation(TensorType.Float32, [1, 5, 6, 3], -1)), "input (tensor", "must be int8, is Float32");
    }

    [Test]
    public void DepthwiseMultiplier()
    {
        RejectsOp(OneOpModels.Conv(true, p => p with { DepthMultiplier = 3 }), "depthwise output channels 6 != input channels 3 x multiplier 3");
        RejectsOp(OneOpModels.Conv(true, p => p with { DepthMultiplier = 0 }), "multiplier 0");
        RejectsOp(OneOpModels.Conv(true, tweakFilter: (w, ins) => ins[1] = w.AddConstant<sbyte>(TensorType.Int8, [2, 3, 3, 3], new sbyte[54], 0)), "depthwise filter [2, 3, 3, 3] must be [1, Kh, Kw, Cout]");
    }

    [Test]
    public void FullyConnected()
    {
        RejectsOp(OneOpModels.FullyConnected(inDims: [2, 9]), "input of 18 elements is not a whole number of rows of 10");
        RejectsOp(OneOpModels.FullyConnected(outDims: [3, 3]), "output [3, 3, 1, 1] is not [2, 3]");
        RejectsOp(OneOpModels.FullyConnected(outDims: [3, 2]), "is not [2, 3]");
        RejectsOp(OneOpModels.FullyConnected(filterDims: [3, 10, 1]), "filter must be a constant [Cout, Cin] int8 tensor");
        RejectsOp(OneOpModels.FullyConnected(p => p with { ActivationMin = -129 }), "activation range [-129, 127]");
        RejectsOp(OneOpModels.FullyConnected(p => p with { MultipliersOffset = 1_000_000 }), "multipliers at constant offset 1000000");
        RejectsOp(OneOpModels.FullyConnected(p => p with { FoldedBiasOffset = -2 }), "folded bias at constant offset -2");
        Assert.DoesNotThrow(() => Model.Load(OneOpModels.FullyConnected(inDims: [2, 5, 2]).Blob), "any input rank holding whole rows");
    }

    [TestCase(OpType.Add)]
    [TestCase(OpType.Sub)]
    [TestCase(OpType.Mul)]
    public void Elementwise(OpType op)
    {
        RejectsOp(OneOpModels.Elementwise(op, bDims: [1, 2, 4, 1]), "inputs [1, 3, 4, 2] and [1, 2, 4, 1] do not broadcast to output [1, 3, 4, 2]");
        RejectsOp(OneOpModels.Elementwise(op, p => p with { LeftShift = 21 }), "left shift 21 is outside [0, 20]");
        RejectsOp(OneOpModels.Elementwise(op, p => p with { Input2Offset = 300 }), "zero-point offset 300");
        RejectsOp(OneOpModels.Elementwise(op, p => p with { OutputMultiplier = -1 }), "multiplier -1 is negative");
        RejectsOp(OneOpModels.Elementwise(op, p => p with { OutputShift = 31 }), "shift 31 is outside [-31, 30]");
        RejectsOp(OneOpModels.Elementwise(op, p => p with { ActivationMin = 100, ActivationMax = 99 }), "activation range");
        Assert.DoesNotThrow(() => Model.Load(OneOpModels.Elementwise(op, constantB: true).Blob), "a constant operand");
        var shiftUp = OneOpModels.Elementwise(op, p => p with { Input1Shift = 1 });
        if (op == OpType.Mul)
            Assert.DoesNotThrow(() => Model.Load(shiftUp.Blob), "Mul does not use the input multipliers");
        else
            RejectsOp(shiftUp, "input multipliers must be below one (shift <= 0)");
    }

    [TestCase(OpType.MaxPool2D)]
    [TestCase(OpType.AveragePool2D)]
    public void Pool(OpType op)
    {
        RejectsOp(OneOpModels.Pool(op, p => p with { FilterH = 0 }), "strides and filter sizes must be in [1, 256]");
        RejectsOp(OneOpModels.Pool(op, p => p with { StrideW = 257 }), "[1, 256]");
        RejectsOp(OneOpModels.Pool(op, p => p with { FilterW = 1, PadLeft = 1, PadRight = 0, StrideW = 1 }), "padding must be smaller than the filter");
        RejectsOp(OneOpModels.Pool(op, p => p with { PadTop = -1 }), "padding (-1, 1, 1, 1)");
        RejectsOp(OneOpModels.Pool(op, outDims: [1, 3, 3, 2]), "output shape [1, 3, 3, 2] does not match input [1, 5, 5, 3]");
        RejectsOp(OneOpModels.Pool(op, p => p with { StrideH = 1 }), "expected [1, 5, 3, 3]");
        RejectsOp(OneOpModels.Pool(op, outScale: 0.08f), "pooling input and output must share scale and zero point");
        RejectsOp(OneOpModels.Pool(op, p => p with { ActivationMin = 1, ActivationMax = 0 }), "activation range [1, 0]");
    }

    [Test]
    public void Mean()
    {
        RejectsOp(OneOpModels.Mean(outDims: [1, 1, 2, 3]), "output shape [1, 1, 2, 3] must be [N, 1, 1, C] of input [1, 4, 5, 3]");
        RejectsOp(OneOpModels.Mean(p => p with { Shift = -32 }), "shift -32");
        RejectsOp(OneOpModels.Mean(p => p with { Multiplier = int.MinValue }), "multiplier -2147483648 is negative");
        RejectsOp(OneOpModels.Mean(p => p with { InputOffset = 1000 }), "zero-point offset 1000");
    }

    [Test]
    public void Concatenation()
    {
        RejectsOp(OneOpModels.Concatenation(p => p with { Axis = 4 }), "axis 4 is outside [0, 3]");
        RejectsOp(OneOpModels.Concatenation(p => p with { InputCount = 2 }), "parameters name 2 inputs, the op has 3");
        RejectsOp(OneOpModels.Concatenation(p => p with { Axis = 2 }), "input 0 shape [1, 2, 3, 2] differs from output [1, 2, 3, 4] off the axis");
        RejectsOp(OneOpModels.Concatenation(outDims: [1, 2, 3, 5]), "inputs add up to 4 along axis 3, output has 5");
        RejectsOp(OneOpModels.Concatenation(p => p with { In1Shift = 40 }), "shift 40");
        RejectsOp(OneOpModels.Concatenation(p => p with { In2Offset = -300 }), "zero-point offset -300");
    }

    [Test]
    public void Pad()
    {
        RejectsOp(OneOpModels.Pad(p => p with { Before0 = -1, After0 = 1 }), "negative padding on dimension 0");
        RejectsOp(OneOpModels.Pad(p => p with { After2 = 3 }), "output dimension 2 is 5, expected 3 + 0 + 3");
        RejectsOp(OneOpModels.Pad(p => p with { Before1 = int.MaxValue }), "output dimension 1");
        RejectsOp(OneOpModels.Pad(p => p with { PadValue = 128 }), "pad value 128 is outside the int8 range");
    }

    [Test]
    public void Transpose()
    {
        RejectsOp(OneOpModels.Transpose(p => p with { Perm3 = 3 }), "permutation [0, 3, 1, 3] is not a permutation of 0..3");
        RejectsOp(OneOpModels.Transpose(p => p with { Perm1 = 4 }), "is not a permutation");
        RejectsOp(OneOpModels.Transpose(p => p with { Perm1 = -1 }), "is not a permutation");
        RejectsOp(OneOpModels.Transpose(outDims: [1, 4, 3, 2]), "output shape [1, 4, 3, 2] is not the input [1, 2, 3, 4] permuted");
    }

    [Test]
    public void Reshape()
    {
        RejectsOp(OneOpModels.Reshape(outDims: [5, 4]), "input and output differ in type or size (24 vs 20 bytes)");
        RejectsOp(OneOpModels.Reshape(outDims: [6], outType: TensorType.Float32), "differ in type or size");
    }

    [Test]
    public void Softmax()
    {
        var table = ConverterMath.SoftmaxTable(1.0, 0.08f);
        RejectsOp(OneOpModels.Softmax(p => p with { ExpTableOffset = 48 }), "exp table at constant offset 48 (1024 bytes)", "outside the 1056-byte constant data");
        RejectsOp(OneOpModels.Softmax(p => p with { ExpTableOffset = 2 }), "misaligned");
        RejectsOp(OneOpModels.Softmax(table: [.. table[..5], (1 << 23) + 1, .. table[6..]]), "exp table entry 5 is 8388609, outside [0, 2^23]");
        RejectsOp(OneOpModels.Softmax(table: [.. table[..7], -1, .. table[8..]]), "exp table entry 7 is -1");
        RejectsOp(OneOpModels.Softmax(table: [0, .. table[1..]]), "exp table entry 0 must be positive");
        RejectsOp(OneOpModels.Softmax(outDims: [7, 2]), "input and output shapes differ");
    }

    [TestCase(OpType.Logistic)]
    [TestCase(OpType.Tanh)]
    [TestCase(OpType.Lookup)]
    public void Lookup(OpType op)
    {
        RejectsOp(OneOpModels.Lookup(op, p => p with { TableOffset = 1_000 }), "lookup table at constant offset 1000 (256 bytes)");
        RejectsOp(OneOpModels.Lookup(op, p => p with { TableOffset = -1 }), "lookup table at constant offset -1");
        RejectsOp(OneOpModels.Lookup(op, outDims: [1, 3, 2, 3]), "input and output shapes differ");
    }

    [Test]
    public void QuantizeAndDequantize()
    {
        RejectsOp(OneOpModels.Quantize(p => p with { Scale = 0 }), "scale 0 must be positive and finite");
        RejectsOp(OneOpModels.Quantize(p => p with { Scale = float.NaN }), "scale NaN");
        RejectsOp(OneOpModels.Quantize(p => p with { Scale = float.PositiveInfinity }), "must be positive and finite");
        RejectsOp(OneOpModels.Quantize(p => p with { ZeroPoint = 256 }), "zero-point offset 256");
        RejectsOp(OneOpModels.Quantize(inType: TensorType.Int8), "expects Float32 input and Int8 output, got Int8 and Int8");
        RejectsOp(OneOpModels.Dequantize(p => p with { Scale = -1 }), "scale -1 must be positive");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Recurrent(bool lstm)
    {
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { HiddenSize = 257 }), "hidden size 257 is outside [1, 256]");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { Direction = 3 }), "direction 3 must be 0 (forward), 1 (reverse) or 2 (bidirectional)");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { HiddenSize = 2 }), "W must be a constant int8 tensor");
        RejectsOp(OneOpModels.Recurrent(lstm, outDims: [3, lstm ? 2 : 1, 2, 5]), "must be [3, ");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { CellShift = lstm ? 16 : 1 }), lstm ? "cell shift 16 is outside [8, 15]" : "cell shift 1 must be 0");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { LinearBeforeReset = 2 }), "linear_before_reset 2 must be");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { RecurrentShiftsOffset = 100_000 }), "shifts at constant offset 100000");
        RejectsOp(OneOpModels.Recurrent(lstm, p => p with { OutputShift = 31 }), "shift 31 is outside [-31, 30]");
        RejectsOp(OneOpModels.Recurrent(lstm, scratch: 8), "scratch is 8 bytes; the state and gates need");
    }

    [TestCase(true)]
    [TestCase(false)]
    public void RecurrentPacked(bool lstm)
    {
        int rows = lstm ? 32 : 9;
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { HiddenSize = 257 }), "hidden size 257 is outside [1, 256]");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { Direction = 3 }), "direction 3 must be 0 (forward), 1 (reverse) or 2 (bidirectional)");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { HiddenSize = 2 }), "W must be a constant int4 tensor");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, weightType: TensorType.Index4), "W must be a constant int4 tensor");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, rDims0: rows - 1), "R must be a constant int4 tensor");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, outDims: [3, lstm ? 2 : 1, 2, 5]), "must be [3, ");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { CellShift = (sbyte)(lstm ? 16 : 1) }), lstm ? "cell shift 16 is outside [8, 15]" : "cell shift 1 must be 0");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { LinearBeforeReset = 2 }), "linear_before_reset 2 must be");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { OutputShift = 31 }), "shift 31 is outside [-31, 30]");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { InputOffset = 300 }), "zero-point offset 300");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { RequantOffset = p.RequantOffset + 2 }), "packed per-row record at constant offset", "misaligned or outside");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, p => p with { RequantOffset = 100_000 }), "packed per-row record at constant offset 100000");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, recordByte: ((8 * rows) + 1, 31)), "packed record, input row 1: shift 31 is outside [-31, 30]");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, recordByte: ((9 * rows) + 2, unchecked((byte)-32))), "packed record, recurrent row 2: shift -32 is outside [-31, 30]");
        RejectsOp(OneOpModels.RecurrentPacked(lstm, scratch: 8), "scratch is 8 bytes; the state and gates need");
    }

    [Test]
    public void ArgMax()
    {
        RejectsOp(OneOpModels.ArgMax(p => p with { Axis = 4 }), "axis 4 is outside 0..3");
        RejectsOp(OneOpModels.ArgMax(p => p with { SelectLastIndex = 2 }), "select_last_index 2 must be 0 or 1");
        RejectsOp(OneOpModels.ArgMax(outDims: [2, 5, 1, 1]), "output shape [2, 5, 1, 1] must be the input [2, 5, 3, 1] with dimension 1 set to 1");
        RejectsOp(OneOpModels.ArgMax(p => p with { OutputOffset = 124 }), "indices 0..4 plus the output offset 124 do not fit int8");
        RejectsOp(OneOpModels.ArgMax(outScale: 0.5f), "the op requires scale 1 and zero point -128");
    }

    [Test]
    public void IndexSelect()
    {
        RejectsOp(OneOpModels.IndexSelect(table2: [-1, 0, 0, 1, 4, -1]), "index table 2 entry 4 is 4, outside [-1, 4)");
        RejectsOp(OneOpModels.IndexSelect(table2: [-2, 0, 0, 1, 3, -1]), "index table 2 entry 0 is -2");
        RejectsOp(OneOpModels.IndexSelect(p => p with { Table1Offset = 100_000 }), "index table 1 at constant offset 100000");
        RejectsOp(OneOpModels.IndexSelect(p => p with { Table3Offset = 2 }), "index table 3 at constant offset 2");
        RejectsOp(OneOpModels.IndexSelect(p => p with { FillValue = 128 }), "fill value 128 is outside the int8 range");
    }

    [Test]
    public void BatchMatMul()
    {
        RejectsOp(OneOpModels.BatchMatMul(bDims: [1, 1, 4, 19]), "differ in the reduced (last) dimension");
        RejectsOp(OneOpModels.BatchMatMul(outDims: [1, 2, 3, 5]), "output [1, 2, 3, 5] must be [.., M, N]");
        RejectsOp(OneOpModels.BatchMatMul(bDims: [1, 3, 4, 20]), "batch dimension 1 of inputs");
        RejectsOp(OneOpModels.BatchMatMul(p => p with { OutputShift = 31 }), "shift 31 is outside [-31, 30]");
        RejectsOp(OneOpModels.BatchMatMul(p => p with { Input2Offset = 300 }), "zero-point offset 300");
        RejectsOp(OneOpModels.BatchMatMul(p => p with { ActivationMin = 10, ActivationMax = 5 }), "activation range [10, 5]");
    }
}
