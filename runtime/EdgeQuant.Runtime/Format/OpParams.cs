using System.Runtime.InteropServices;

namespace EdgeQuant.Runtime.Format;

// Parameter records as stored in the OpParams section: little-endian int32 fields in the
// declared order. "Offset" fields that name constant data are byte offsets relative to the
// start of the ConstantData section. Quantization offsets follow TFLite's convention:
// inputOffset = -input zero point, outputOffset = +output zero point.

/// <summary>Conv2D and DepthwiseConv2D. Filter layout: Conv2D [Cout, Kh, Kw, Cin]; depthwise [1, Kh, Kw, Cout].</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct Conv2DParams
{
    public int StrideH, StrideW, DilationH, DilationW;
    public int PadTop, PadLeft, PadBottom, PadRight;
    public int InputOffset, OutputOffset, ActivationMin, ActivationMax;
    /// <summary>Constant-data offsets of int32[Cout] multipliers and int32[Cout] shifts.</summary>
    public int MultipliersOffset, ShiftsOffset;
    /// <summary>Depthwise only: output channels per input channel (1 for Conv2D).</summary>
    public int DepthMultiplier;
    /// <summary>Constant-data offset of int32[Cout] bias + inputOffset * sum(filter[oc]) used by fast kernels; -1 if absent.</summary>
    public int FoldedBiasOffset;
}

/// <summary>FullyConnected. Filter [Cout, Cin], bias int32 [Cout], input [N, Cin].</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct FullyConnectedParams
{
    public int InputOffset, OutputOffset, ActivationMin, ActivationMax;
    public int MultipliersOffset, ShiftsOffset;
    /// <summary>Constant-data offset of int32[Cout] bias + inputOffset * sum(filter[oc]); -1 if absent.</summary>
    public int FoldedBiasOffset;
    public int Reserved;
}

/// <summary>Add, Sub and Mul (TFLite's int8 arithmetic with a common left shift for Add/Sub).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct ElementwiseParams
{
    public int Input1Offset, Input2Offset, OutputOffset, LeftShift;
    public int Input1Multiplier, Input1Shift, Input2Multiplier, Input2Shift;
    public int OutputMultiplier, OutputShift, ActivationMin, ActivationMax;
}

/// <summary>MaxPool2D and AveragePool2D; input and output share scale and zero point.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct PoolParams
{
    public int StrideH, StrideW, FilterH, FilterW;
    public int PadTop, PadLeft, PadBottom, PadRight;
    public int ActivationMin, ActivationMax, Reserved0, Reserved1;
}

/// <summary>Mean over H and W of an NHWC tensor (global average pool).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct MeanParams
{
    public int InputOffset, OutputOffset, Multiplier, Shift;
}

/// <summary>Concatenation of up to four inputs; each is rescaled to the output's quantization.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct ConcatParams
{
    public int Axis, InputCount, OutputOffset, Reserved;
    public int In0Offset, In0Multiplier, In0Shift;
    public int In1Offset, In1Multiplier, In1Shift;
    public int In2Offset, In2Multiplier, In2Shift;
    public int In3Offset, In3Multiplier, In3Shift;
}

/// <summary>Constant padding of a rank-4 tensor; the pad value is an int8 in the output's quantization.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct PadParams
{
    public int Before0, Before1, Before2, Before3;
    public int After0, After1, After2, After3;
    public int PadValue, Reserved0, Reserved1, Reserved2;
}

/// <summary>Permutation of a rank-4 tensor: output dim i is input dim Perm_i.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct TransposeParams
{
    public int Perm0, Perm1, Perm2, Perm3;
}

/// <summary>Softmax over the last axis via a table of exp(-beta * scale * d) in Q23 for d = max - x in [0, 255].</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct SoftmaxParams
{
    public int ExpTableOffset, OutputOffset, Reserved0, Reserved1;
}

/// <summary>Logistic, Tanh and Lookup: a 256-entry int8 table indexed by input + 128.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct LookupParams
{
    public int TableOffset, Reserved0, Reserved1, Reserved2;
}

/// <summary>Quantize (float32 to int8) and Dequantize (int8 to float32).</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct QuantizeParams
{
    public float Scale;
    public int ZeroPoint, Reserved0, Reserved1;
}

/// <summary>
/// IndexSelect: constant-data offsets of one int32 index table per output dimension (table d has
/// output dim d entries, each -1 or in [0, input dim d)); positions where any index is -1 take
/// <see cref="FillValue"/>, an int8 in the (shared) quantization of input and output.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct IndexSelectParams
{
    public int Table0Offset, Table1Offset, Table2Offset, Table3Offset;
    public int FillValue, Reserved0, Reserved1, Reserved2;
}

/// <summary>
/// BatchMatMul: out = clamp(MultiplyByQuantizedMultiplier(sum_k (a + Input1Offset) x (b + Input2Offset),
/// OutputMultiplier, OutputShift) + OutputOffset, ActivationMin, ActivationMax).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct BatchMatMulParams
{
    public int Input1Offset, Input2Offset, OutputOffset, OutputMultiplier;
    public int OutputShift, ActivationMin, ActivationMax, Reserved0;
}

/// <summary>
/// ArgMax along <see cref="Axis"/> (0-3, of the rank-4 view of the input): output = index + OutputOffset
/// (the output's zero point; its scale is 1, so the real value is the index). Of equal largest values the
/// first index wins, or the last when <see cref="SelectLastIndex"/> is 1.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct ArgMaxParams
{
    public int Axis, SelectLastIndex, OutputOffset, Reserved;
}

/// <summary>
/// Lstm and Gru (docs/format.md 6.3, arithmetic in quantization.md): inputs x int8 [T, B, I], W int8
/// [D, G×H, I], R int8 [D, G×H, H], bias int32 [D, 2, G×H] (input part, recurrent part); output Y int8
/// [T, D, B, H]. Gate pre-activations are Q3.12 int16, gates and the hidden state Q0.15 int16, the
/// LSTM cell state int16 with <see cref="CellShift"/> fractional bits.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct RecurrentParams
{
    /// <summary>H, the hidden size.</summary>
    public int HiddenSize;
    /// <summary>0 forward, 1 reverse, 2 bidirectional (D = 2: direction 0 forward, 1 reverse).</summary>
    public int Direction;
    /// <summary>-x zero point; +Y zero point.</summary>
    public int InputOffset, OutputOffset;
    /// <summary>Q0.15 hidden state to Y: 2^-15 / Y scale.</summary>
    public int OutputMultiplier, OutputShift;
    /// <summary>Lstm: fractional bits of the int16 cell state (8 to 15); Gru: 0.</summary>
    public int CellShift;
    /// <summary>Gru: 1 applies the reset gate after the recurrent product (ONNX linear_before_reset); Lstm: 0.</summary>
    public int LinearBeforeReset;
    /// <summary>Constant-data offsets of int32[D × G × H] multipliers and shifts: input part (x scale × W row scale / 2^-12) and recurrent part (2^-15 × R row scale / 2^-12).</summary>
    public int InputMultipliersOffset, InputShiftsOffset, RecurrentMultipliersOffset, RecurrentShiftsOffset;
    public int Reserved0, Reserved1, Reserved2, Reserved3;
}

/// <summary>
/// LstmPacked and GruPacked (ops 25, 26; docs/format.md 6.3.1): the fields of <see cref="RecurrentParams"/> in
/// 16 bytes (the output multiplier in the 16-bit packed form, Q31 = m16 &lt;&lt; 15), the per-row multipliers, shifts
/// and biases in one packed record (<see cref="PackedRecurrent"/>) at <see cref="RequantOffset"/>.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct RecurrentPackedParams
{
    public short HiddenSize;
    public byte Direction, LinearBeforeReset;
    public short InputOffset, OutputOffset;
    /// <summary>Q0.15 state to Y: the Q31 multiplier is <c>OutputMultiplier16 &lt;&lt; 15</c>.</summary>
    public ushort OutputMultiplier16;
    public sbyte OutputShift, CellShift;
    /// <summary>Constant-data offset of the packed per-row record; multiple of 4.</summary>
    public int RequantOffset;

    /// <summary>As the kernels' <see cref="RecurrentParams"/> (the per-row arrays come from the expanded record).</summary>
    public readonly RecurrentParams AsRecurrentParams() => new()
    {
        HiddenSize = HiddenSize, Direction = Direction, InputOffset = InputOffset, OutputOffset = OutputOffset,
        OutputMultiplier = PackedRequant.Multiplier(OutputMultiplier16), OutputShift = OutputShift, CellShift = CellShift, LinearBeforeReset = LinearBeforeReset,
        InputMultipliersOffset = -1, InputShiftsOffset = -1, RecurrentMultipliersOffset = -1, RecurrentShiftsOffset = -1,
    };
}

/// <summary>
/// DynamicConv2D and DynamicDepthwiseConv2D: the geometry of <see cref="Conv2DParams"/> and a float
/// output clamp (fused ReLU / ReLU6; ±infinity for none). No zero points or multipliers: the
/// input's quantization is computed per inference.
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct DynamicConvParams
{
    public int StrideH, StrideW, DilationH, DilationW;
    public int PadTop, PadLeft, PadBottom, PadRight;
    /// <summary>Depthwise only: output channels per input channel (1 for DynamicConv2D).</summary>
    public int DepthMultiplier;
    public float ActivationMin, ActivationMax;
    public int Reserved;
}

/// <summary>A float output clamp: DynamicFullyConnected and AddF32.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct FloatClampParams
{
    public float Min, Max;
    public int Reserved0, Reserved1;
}

/// <summary>
/// Requantize (int8 or int16 to int8 or int16): out = clamp(MultiplyByQuantizedMultiplier(q + InputOffset,
/// Multiplier, Shift) + OutputOffset) to the output type's range. Offsets follow the TFLite convention
/// (InputOffset = -input zero point, OutputOffset = +output zero point; int16 zero points are 0).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct RequantizeParams
{
    public int InputOffset, OutputOffset, Multiplier, Shift;
}

/// <summary>
/// Ops 55 and 56 (Conv2D / DepthwiseConv2D with a compressed filter and packed per-channel data): the
/// geometry and offsets of <see cref="Conv2DParams"/> in the narrowest fields that hold their valid ranges,
/// and the packed record in place of the multiplier, shift and folded-bias offsets (docs/format.md 5.12).
/// </summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct Conv2DPackedParams
{
    public short StrideH, StrideW, DilationH, DilationW;
    public short PadTop, PadLeft, PadBottom, PadRight;
    public short InputOffset, OutputOffset;
    public sbyte ActivationMin, ActivationMax;
    /// <summary>Bytes per bias in the packed record: 2 (int16) or 4 (int32).</summary>
    public byte BiasBytes;
    public byte Reserved;
    /// <summary>Constant-data offset of the packed per-channel record (<see cref="PackedRequant"/>); multiple of 4.</summary>
    public int RequantOffset;
    /// <summary>Depthwise only: output channels per input channel (1 for Conv2D).</summary>
    public int DepthMultiplier;

    /// <summary>The geometry and offsets as the kernels' <see cref="Conv2DParams"/> (no constant-data offsets: the kernels get the decoded per-channel arrays).</summary>
    public readonly Conv2DParams AsConv2DParams() => new()
    {
        StrideH = StrideH, StrideW = StrideW, DilationH = DilationH, DilationW = DilationW,
        PadTop = PadTop, PadLeft = PadLeft, PadBottom = PadBottom, PadRight = PadRight,
        InputOffset = InputOffset, OutputOffset = OutputOffset, ActivationMin = ActivationMin, ActivationMax = ActivationMax,
        MultipliersOffset = -1, ShiftsOffset = -1, DepthMultiplier = DepthMultiplier, FoldedBiasOffset = -1,
    };
}

/// <summary>Op 57 (FullyConnected with a compressed filter and packed per-channel data), as <see cref="Conv2DPackedParams"/>.</summary>
[StructLayout(LayoutKind.Sequential, Pack = 4)]
public struct FullyConnectedPackedParams
{
    public short InputOffset, OutputOffset;
    public sbyte ActivationMin, ActivationMax;
    /// <summary>Bytes per bias in the packed record: 2 (int16) or 4 (int32).</summary>
    public byte BiasBytes;
    public byte Reserved0;
    /// <summary>Constant-data offset of the packed per-channel record (<see cref="PackedRequant"/>); multiple of 4.</summary>
    public int RequantOffset;
    public int Reserved1;

    /// <summary>As the kernels' <see cref="FullyConnectedParams"/>.</summary>
    public readonly FullyConnectedParams AsFullyConnectedParams() => new()
    {
        InputOffset = InputOffset, OutputOffset = OutputOffset, ActivationMin = ActivationMin, ActivationMax = ActivationMax,
        MultipliersOffset = -1, ShiftsOffset = -1, FoldedBiasOffset = -1,
    };
}
