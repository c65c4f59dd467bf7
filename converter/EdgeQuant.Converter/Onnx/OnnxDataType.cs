namespace EdgeQuant.Converter.Onnx;

/// <summary>ONNX tensor element types, numbered as in the ONNX <c>TensorProto.DataType</c> enum.</summary>
public enum OnnxDataType
{
    Undefined = 0,
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    UInt16 = 4,
    Int16 = 5,
    Int32 = 6,
    Int64 = 7,
    String = 8,
    Bool = 9,
    Float16 = 10,
    Double = 11,
    UInt32 = 12,
    UInt64 = 13,
    Complex64 = 14,
    Complex128 = 15,
    BFloat16 = 16,
}

/// <summary>How an <see cref="OnnxTensor"/> stores its values in memory.</summary>
public enum OnnxElementType
{
    /// <summary>Values are in <see cref="OnnxTensor.Floats"/> (float32).</summary>
    Float,

    /// <summary>Values are in <see cref="OnnxTensor.Int64s"/> (any ONNX integer or bool type).</summary>
    Int64,
}

/// <summary>Helpers for <see cref="OnnxDataType"/>.</summary>
public static class OnnxDataTypes
{
    /// <summary>The ONNX spelling of a data type code (FLOAT, INT64, ...), or "data type N" when unknown.</summary>
    public static string Name(int code) => code switch
    {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        16 => "BFLOAT16",
        17 => "FLOAT8E4M3FN",
        18 => "FLOAT8E4M3FNUZ",
        19 => "FLOAT8E5M2",
        20 => "FLOAT8E5M2FNUZ",
        21 => "UINT4",
        22 => "INT4",
        23 => "FLOAT4E2M1",
        _ => $"data type {code}",
    };

    /// <summary>The ONNX spelling of a data type (FLOAT, INT64, ...).</summary>
    public static string Name(OnnxDataType type) => Name((int)type);

    /// <summary>
    /// Data types whose constants (initializers and attribute tensors) the importer accepts.
    /// Floating types are stored as float32, integer and bool types as int64.
    /// </summary>
    public const string SupportedConstantTypes = "FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT64, INT32, INT16, INT8, UINT32, UINT16, UINT8, BOOL";

    /// <summary>True when constants of this type can be imported.</summary>
    public static bool IsSupportedConstantType(int code) => code switch
    {
        1 or 2 or 3 or 4 or 5 or 6 or 7 or 9 or 10 or 11 or 12 or 16 => true,
        _ => false,
    };

    /// <summary>True for FLOAT, DOUBLE, FLOAT16 and BFLOAT16 (all are held as float32).</summary>
    public static bool IsFloating(OnnxDataType type) => type is OnnxDataType.Float or OnnxDataType.Double or OnnxDataType.Float16 or OnnxDataType.BFloat16;

    /// <summary>The float32 value of IEEE half-precision bits.</summary>
    public static float HalfBitsToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>The float32 value of bfloat16 bits (the upper half of a float32).</summary>
    public static float BFloat16BitsToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    /// <summary>
    /// <paramref name="value"/> rounded to what a float32 holding <paramref name="type"/> can
    /// represent: FLOAT16 rounds to nearest even (IEEE), BFLOAT16 truncates the low 16 bits (as
    /// ONNX's reference Cast does up to opset 18; NaN stays NaN); FLOAT and DOUBLE are unchanged.
    /// </summary>
    public static float RoundTo(float value, OnnxDataType type) => type switch
    {
        OnnxDataType.Float16 => (float)(Half)value,
        OnnxDataType.BFloat16 => float.IsNaN(value) ? value : BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(value) & unchecked((int)0xFFFF0000)),
        _ => value,
    };

    /// <summary>
    /// Converts an integer to the value it has after a C-style conversion to an integer type
    /// (two's complement wrap for narrow types; bool becomes 0 or 1).
    /// </summary>
    public static long WrapInteger(long value, OnnxDataType type) => type switch
    {
        OnnxDataType.Int8 => (sbyte)value,
        OnnxDataType.UInt8 => (byte)value,
        OnnxDataType.Int16 => (short)value,
        OnnxDataType.UInt16 => (ushort)value,
        OnnxDataType.Int32 => (int)value,
        OnnxDataType.UInt32 => (uint)value,
        OnnxDataType.Bool => value != 0 ? 1 : 0,
        _ => value,
    };
}
