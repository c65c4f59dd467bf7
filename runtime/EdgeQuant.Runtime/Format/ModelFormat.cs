namespace EdgeQuant.Runtime.Format;

/// <summary>Constants of the .eqm blob format. docs/format.md is the specification; keep them in step.</summary>
public static class ModelFormat
{
    /// <summary>"EQMB" read as a little-endian uint32.</summary>
    public const uint Magic = 0x424D5145;
    public const ushort VersionMajor = 1;
    /// <summary>The newest minor version this code knows. A writer stamps each blob with the smallest minor
    /// version whose readers know every op and element type it uses (<see cref="MinorVersionNeeded(OpType)"/>),
    /// so a blob of 1.0 ops stays 1.0 and its bytes do not move when later versions add codes.</summary>
    public const ushort VersionMinor = 3;

    /// <summary>The minor version that introduced an op code (docs/format.md, section 3.2).</summary>
    public static ushort MinorVersionNeeded(OpType op) => (int)op switch
    {
        <= 19 => 0,
        20 or 21 or (>= 40 and <= 46) or (>= 50 and <= 54) => 1,
        (>= 22 and <= 24) or (>= 55 and <= 57) or (>= 60 and <= 72) => 2,
        _ => VersionMinor,
    };

    /// <summary>The minor version that introduced an element type.</summary>
    public static ushort MinorVersionNeeded(TensorType type) => (int)type switch
    {
        <= 3 => 0,
        >= 10 and <= 13 => 1,
        4 or 18 => 2,
        _ => VersionMinor,
    };
    public const int HeaderSizeInBytes = 32;
    public const int SectionEntrySizeInBytes = 16;
    public const int Alignment = 16;
    /// <summary>The CRC covers every byte from this offset to the end of the blob.</summary>
    public const int CrcStart = 16;
    public const int MaxTensors = 4096;
    public const int MaxOps = 4096;
    public const int MaxSections = 64;
    public const int MaxRank = 4;
    public const int MaxOpInputs = 4;
    public const int MaxOpOutputs = 2;

    public static int AlignUp(int x) => (x + (Alignment - 1)) & ~(Alignment - 1);
}

/// <summary>Section kinds. Values are never reused.</summary>
public enum SectionKind : uint
{
    Tensors = 1,
    Quantization = 2,
    Ops = 3,
    OpParams = 4,
    ConstantData = 5,
    MemoryPlan = 6,
    IO = 7,
    Strings = 8,
    Metadata = 9,
}

/// <summary>Element types. Values are never reused.</summary>
public enum TensorType : byte
{
    Int8 = 1,
    Int32 = 2,
    Float32 = 3,
    /// <summary>Signed 16-bit little-endian, symmetric (zero point 0): TFLite's 16x8 activations and recurrent state.</summary>
    Int16 = 4,
    // 5-19: values 8-9 belong to dynamic quantization / QDQ work; 10-19 to compressed weights.
    /// <summary>Signed 4-bit weights, two per byte (docs/format.md, 5.10): each row of dims[0] starts at a byte; element 2i of a row in the low nibble.</summary>
    Int4 = 10,
    /// <summary>Unsigned 4-bit codebook indices, packed as <see cref="Int4"/>; the value is codebook[group][index].</summary>
    Index4 = 11,
    /// <summary>Unsigned 8-bit codebook indices, one per byte; the value is codebook[group][index].</summary>
    Index8 = 12,
    /// <summary>Sparse int8 rows (compressed sparse rows over dims[0]): row starts, u16 columns, int8 values (docs/format.md, 5.11).</summary>
    SparseInt8 = 13,
    // 14-17: compressed weights (in progress elsewhere). 18-19: mixed precision.
    /// <summary>Signed 64-bit little-endian: the bias of the 16x8 ops (Conv2DS16, DepthwiseConv2DS16, FullyConnectedS16), constant only.</summary>
    Int64 = 18,
}

/// <summary>Where a tensor's bytes live.</summary>
public enum TensorStorage : byte
{
    /// <summary>In the interpreter's arena, at the planned offset.</summary>
    Arena = 0,
    /// <summary>In the blob's constant data section (weights, biases).</summary>
    Constant = 1,
}

/// <summary>Operator codes. Values are never reused; retired ones stay as comments.</summary>
public enum OpType : ushort
{
    Conv2D = 1,
    DepthwiseConv2D = 2,
    FullyConnected = 3,
    Add = 4,
    Mul = 5,
    MaxPool2D = 6,
    AveragePool2D = 7,
    Mean = 8,
    Concatenation = 9,
    Pad = 10,
    Reshape = 11,
    Softmax = 12,
    Logistic = 13,
    Tanh = 14,
    Quantize = 15,
    Dequantize = 16,
    Transpose = 17,
    Sub = 18,
    /// <summary>Element-wise int8 to int8 through a 256-entry table (LeakyRelu and other unary functions).</summary>
    Lookup = 19,
    /// <summary>
    /// int8 data movement through one index table per dimension: output[i0, i1, i2, i3] =
    /// input[t0[i0], t1[i1], t2[i2], t3[i3]], or the fill value where any index is -1 (Slice, Split,
    /// Gather, reflect/edge Pad, nearest Resize, zero insertion, window unfolding).
    /// </summary>
    IndexSelect = 20,
    /// <summary>int8 x int8 matrix product of two activations, [.., M, K] by [.., N, K] (the second operand transposed), batch dimensions broadcast.</summary>
    BatchMatMul = 21,
    /// <summary>int8 index of the largest int8 value along one axis (ONNX ArgMax); the output holds index + zero point, scale 1 (docs/format.md 6.3).</summary>
    ArgMax = 22,
    /// <summary>One LSTM layer (ONNX gate order i, o, f, c): int8 input and weights, int16 gates and cell state, int8 output sequence (docs/format.md 6.3).</summary>
    Lstm = 23,
    /// <summary>One GRU layer (ONNX gate order z, r, h), as <see cref="Lstm"/> without a cell state.</summary>
    Gru = 24,
    /// <summary>
    /// <see cref="Lstm"/> with int4 W and R rows and a packed per-row record (Q3.12 biases added after each
    /// part's rescale, 16-bit multipliers, int8 shifts): docs/format.md 6.3.1.
    /// </summary>
    LstmPacked = 25,
    /// <summary><see cref="Gru"/> with int4 W and R rows and a packed per-row record, as <see cref="LstmPacked"/>.</summary>
    GruPacked = 26,

    // 40-49: dynamic quantization (float activations, int8 weights quantized at conversion,
    // activations quantized per inference; docs/format.md section 6.1, docs/compression.md).
    /// <summary>Float input quantized per inference (uint8, per tensor), int8 per-channel filter, float bias and output.</summary>
    DynamicConv2D = 40,
    DynamicDepthwiseConv2D = 41,
    DynamicFullyConnected = 42,
    /// <summary>Float32 helpers for the ops between dynamically quantized layers.</summary>
    MaxPool2DF32 = 43,
    MeanF32 = 44,
    AddF32 = 45,
    TransposeF32 = 46,
    /// <summary>Conv2D whose filter is <see cref="TensorType.Int4"/>, <see cref="TensorType.Index4"/> or <see cref="TensorType.Index8"/> (4th input: the int8 codebook).</summary>
    Conv2DCompressed = 50,
    /// <summary>DepthwiseConv2D with a compressed filter, as <see cref="Conv2DCompressed"/>.</summary>
    DepthwiseConv2DCompressed = 51,
    /// <summary>FullyConnected with a compressed filter, as <see cref="Conv2DCompressed"/>.</summary>
    FullyConnectedCompressed = 52,
    /// <summary>Conv2D whose filter is <see cref="TensorType.SparseInt8"/>: zero weights are not stored and not multiplied.</summary>
    Conv2DSparse = 53,
    /// <summary>FullyConnected whose filter is <see cref="TensorType.SparseInt8"/>.</summary>
    FullyConnectedSparse = 54,

    // 60-79: mixed precision (docs/format.md section 6.4, docs/compression.md#mixed-precision).
    /// <summary>Conv2D in TFLite's 16x8 scheme: int16 activations (zero point 0), int8 filter, int64 bias and accumulator.</summary>
    Conv2DS16 = 60,
    /// <summary>DepthwiseConv2D in the 16x8 scheme.</summary>
    DepthwiseConv2DS16 = 61,
    /// <summary>FullyConnected in the 16x8 scheme.</summary>
    FullyConnectedS16 = 62,
    /// <summary>Add of two int16 activations (zero point 0).</summary>
    AddS16 = 63,
    /// <summary>MaxPool2D of int16 activations.</summary>
    MaxPool2DS16 = 64,
    /// <summary>Mean over H and W of int16 activations (int64 sum).</summary>
    MeanS16 = 65,
    /// <summary>Float32 fallback Conv2D: float input, filter, bias and output.</summary>
    Conv2DF32 = 66,
    /// <summary>Float32 fallback DepthwiseConv2D.</summary>
    DepthwiseConv2DF32 = 67,
    /// <summary>Float32 fallback FullyConnected.</summary>
    FullyConnectedF32 = 68,
    /// <summary>Float32 to int16 (zero point 0) at a precision boundary.</summary>
    QuantizeS16 = 70,
    /// <summary>Int16 to float32 at a precision boundary.</summary>
    DequantizeS16 = 71,
    /// <summary>Int8 or int16 to int8 or int16 with a fixed-point rescale, at a precision boundary.</summary>
    Requantize = 72,
    /// <summary>
    /// Conv2D with a compressed filter (<see cref="TensorType.Int4"/>, <see cref="TensorType.Index4"/> or
    /// <see cref="TensorType.Index8"/>; the codebook is the 3rd input) and a packed per-channel record
    /// (int16 or int32 bias, 16-bit multiplier, int8 shift) in place of the bias tensor and the int32
    /// multipliers and shifts (docs/format.md 5.12).
    /// </summary>
    Conv2DCompressedPacked = 55,
    /// <summary>DepthwiseConv2D with a compressed filter and a packed per-channel record, as <see cref="Conv2DCompressedPacked"/>.</summary>
    DepthwiseConv2DCompressedPacked = 56,
    /// <summary>FullyConnected with a compressed filter and a packed per-channel record, as <see cref="Conv2DCompressedPacked"/>.</summary>
    FullyConnectedCompressedPacked = 57,
}

/// <summary>How the source model laid out an input or output; the runtime always uses NHWC.</summary>
public enum SourceLayout : byte
{
    /// <summary>Same as the runtime tensor (NHWC, or a 2-D [N, C] tensor).</summary>
    AsIs = 0,
    /// <summary>The source model used NCHW; callers holding NCHW data transpose it to NHWC.</summary>
    Nchw = 1,
}

/// <summary>Sizes of the fixed records, pinned by tests.</summary>
public static class RecordSizes
{
    public const int Tensor = 32;
    public const int Quantization = 16;
    public const int Op = 48;
    public const int Io = 16;
    public const int Metadata = 16;
    public const int MemoryPlan = 16;
    public const int Conv2DParams = 64;
    public const int FullyConnectedParams = 32;
    public const int ElementwiseParams = 48;
    public const int PoolParams = 48;
    public const int MeanParams = 16;
    public const int ConcatParams = 64;
    public const int PadParams = 48;
    public const int TransposeParams = 16;
    public const int SoftmaxParams = 16;
    public const int LookupParams = 16;
    public const int QuantizeParams = 16;
    public const int IndexSelectParams = 32;
    public const int BatchMatMulParams = 32;
    public const int ArgMaxParams = 16;
    public const int RecurrentParams = 64;
    public const int RecurrentPackedParams = 16;
    public const int DynamicConvParams = 48;
    public const int FloatClampParams = 16;
    public const int RequantizeParams = 16;
    public const int Conv2DPackedParams = 32;
    public const int FullyConnectedPackedParams = 16;
}
