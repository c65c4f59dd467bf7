namespace EdgeQuant.Converter.Onnx;

/// <summary>ONNX attribute kinds, numbered as in the ONNX <c>AttributeProto.AttributeType</c> enum.</summary>
public enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
    SparseTensor = 11,
    SparseTensors = 12,
    TypeProto = 13,
    TypeProtos = 14,
}

/// <summary>One node attribute. Only the member matching <see cref="Type"/> is meaningful.</summary>
public sealed class OnnxAttribute
{
    private OnnxAttribute(string name, OnnxAttributeType type)
    {
        Name = name;
        Type = type;
    }

    /// <summary>Attribute name, for example "kernel_shape".</summary>
    public string Name { get; }

    /// <summary>Which value member is set.</summary>
    public OnnxAttributeType Type { get; }

    /// <summary>Value of a FLOAT attribute.</summary>
    public float Float { get; private init; }

    /// <summary>Value of an INT attribute.</summary>
    public long Int { get; private init; }

    /// <summary>Value of a STRING attribute (decoded as UTF-8).</summary>
    public string String { get; private init; } = "";

    /// <summary>Value of a TENSOR attribute.</summary>
    public OnnxTensor? Tensor { get; private init; }

    /// <summary>Value of a FLOATS attribute.</summary>
    public float[] Floats { get; private init; } = [];

    /// <summary>Value of an INTS attribute.</summary>
    public long[] Ints { get; private init; } = [];

    /// <summary>Value of a STRINGS attribute.</summary>
    public string[] Strings { get; private init; } = [];

    /// <summary>Creates a FLOAT attribute.</summary>
    public static OnnxAttribute FromFloat(string name, float value) => new(name, OnnxAttributeType.Float) { Float = value };

    /// <summary>Creates an INT attribute.</summary>
    public static OnnxAttribute FromInt(string name, long value) => new(name, OnnxAttributeType.Int) { Int = value };

    /// <summary>Creates a STRING attribute.</summary>
    public static OnnxAttribute FromString(string name, string value) => new(name, OnnxAttributeType.String) { String = value };

    /// <summary>Creates a TENSOR attribute.</summary>
    public static OnnxAttribute FromTensor(string name, OnnxTensor value) => new(name, OnnxAttributeType.Tensor) { Tensor = value };

    /// <summary>Creates a FLOATS attribute.</summary>
    public static OnnxAttribute FromFloats(string name, float[] value) => new(name, OnnxAttributeType.Floats) { Floats = value };

    /// <summary>Creates an INTS attribute.</summary>
    public static OnnxAttribute FromInts(string name, long[] value) => new(name, OnnxAttributeType.Ints) { Ints = value };

    /// <summary>Creates a STRINGS attribute.</summary>
    public static OnnxAttribute FromStrings(string name, string[] value) => new(name, OnnxAttributeType.Strings) { Strings = value };

    /// <summary>An attribute of a kind the converter does not read (graphs, sparse tensors, type protos).</summary>
    internal static OnnxAttribute Opaque(string name, OnnxAttributeType type) => new(name, type);

    /// <summary>The ONNX spelling of an attribute type (FLOAT, INTS, ...).</summary>
    public static string TypeName(OnnxAttributeType type) => type switch
    {
        OnnxAttributeType.Float => "FLOAT",
        OnnxAttributeType.Int => "INT",
        OnnxAttributeType.String => "STRING",
        OnnxAttributeType.Tensor => "TENSOR",
        OnnxAttributeType.Graph => "GRAPH",
        OnnxAttributeType.Floats => "FLOATS",
        OnnxAttributeType.Ints => "INTS",
        OnnxAttributeType.Strings => "STRINGS",
        OnnxAttributeType.Tensors => "TENSORS",
        OnnxAttributeType.Graphs => "GRAPHS",
        OnnxAttributeType.SparseTensor => "SPARSE_TENSOR",
        OnnxAttributeType.SparseTensors => "SPARSE_TENSORS",
        OnnxAttributeType.TypeProto => "TYPE_PROTO",
        OnnxAttributeType.TypeProtos => "TYPE_PROTOS",
        _ => "UNDEFINED",
    };

    /// <inheritdoc />
    public override string ToString() => Type switch
    {
        OnnxAttributeType.Float => $"{Name}={Float}",
        OnnxAttributeType.Int => $"{Name}={Int}",
        OnnxAttributeType.String => $"{Name}='{String}'",
        OnnxAttributeType.Floats => $"{Name}=[{string.Join(", ", Floats)}]",
        OnnxAttributeType.Ints => $"{Name}=[{string.Join(", ", Ints)}]",
        OnnxAttributeType.Strings => $"{Name}=[{string.Join(", ", Strings)}]",
        OnnxAttributeType.Tensor => $"{Name}={Tensor}",
        _ => $"{Name}:{TypeName(Type)}",
    };
}
