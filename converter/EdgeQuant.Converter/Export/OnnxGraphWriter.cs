using System.Buffers.Binary;
using EdgeQuant.Converter.Onnx.Proto;
using Google.Protobuf;

namespace EdgeQuant.Converter.Export;

/// <summary>ONNX TensorProto.DataType codes the exporter writes.</summary>
internal enum OnnxElementType
{
    Float = 1,
    UInt8 = 2,
    Int8 = 3,
    Int32 = 6,
    Int64 = 7,
}

/// <summary>
/// Appends nodes and initializers to an ONNX <see cref="GraphProto"/> through the generated
/// protobuf classes. Every value name it hands out is unique in the graph; names given by the
/// caller for graph inputs and outputs are reserved first so generated names never collide
/// with them. Initializers are stored little-endian in raw_data.
/// </summary>
internal sealed class OnnxGraphWriter
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, int> _opCounts = new(StringComparer.Ordinal);
    private int _nodeCount;

    public GraphProto Graph { get; } = new();

    /// <summary>How many nodes of each op type were written.</summary>
    public IReadOnlyDictionary<string, int> OpCounts => _opCounts;

    /// <summary>Claims <paramref name="name"/> exactly (graph inputs and outputs keep their names).</summary>
    public void Reserve(string name)
    {
        if (!_names.Add(name)) throw new ConversionException($"the model has two inputs/outputs named '{name}'; ONNX value names must be unique");
    }

    /// <summary>A fresh name starting with <paramref name="hint"/>.</summary>
    public string Unique(string hint)
    {
        if (_names.Add(hint)) return hint;
        for (int k = 2; ; k++)
        {
            string n = $"{hint}_{k}";
            if (_names.Add(n)) return n;
        }
    }

    /// <summary>Adds a node with one output and returns the output's name (<paramref name="output"/> if given, else a fresh name).</summary>
    public string Node(string opType, string[] inputs, string hint, AttributeProto[]? attributes = null, string? output = null)
    {
        output ??= Unique(hint);
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_nodeCount++}" };
        node.Input.Add(inputs);
        node.Output.Add(output);
        if (attributes is not null) node.Attribute.Add(attributes);
        Graph.Node.Add(node);
        _opCounts[opType] = _opCounts.TryGetValue(opType, out int c) ? c + 1 : 1;
        return output;
    }

    public string Initializer(string hint, OnnxElementType type, long[] dims, byte[] raw)
    {
        string name = Unique(hint);
        var t = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(raw) };
        t.Dims.Add(dims);
        Graph.Initializer.Add(t);
        return name;
    }

    public string Floats(string hint, long[] dims, ReadOnlySpan<float> values)
    {
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(4 * i), values[i]);
        return Initializer(hint, OnnxElementType.Float, dims, raw);
    }

    public string Int32s(string hint, long[] dims, ReadOnlySpan<int> values)
    {
        var raw = new byte[values.Length * 4];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt32LittleEndian(raw.AsSpan(4 * i), values[i]);
        return Initializer(hint, OnnxElementType.Int32, dims, raw);
    }

    public string Int64s(string hint, long[] dims, ReadOnlySpan<long> values)
    {
        var raw = new byte[values.Length * 8];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(raw.AsSpan(8 * i), values[i]);
        return Initializer(hint, OnnxElementType.Int64, dims, raw);
    }

    public string Int8s(string hint, long[] dims, ReadOnlySpan<sbyte> values)
    {
        var raw = new byte[values.Length];
        for (int i = 0; i < values.Length; i++) raw[i] = unchecked((byte)values[i]);
        return Initializer(hint, OnnxElementType.Int8, dims, raw);
    }

    public string UInt8s(string hint, long[] dims, ReadOnlySpan<byte> values) => Initializer(hint, OnnxElementType.UInt8, dims, values.ToArray());

    public string FloatScalar(string hint, float value) => Floats(hint, [], [value]);

    public string Int8Scalar(string hint, int value) => Int8s(hint, [], [(sbyte)value]);

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    /// <summary>A graph input or output: a tensor of <paramref name="type"/> whose dimension 0 is symbolic ("N") when <paramref name="batchParam"/> is set.</summary>
    public static ValueInfoProto ValueInfo(string name, OnnxElementType type, int[] dims, string? batchParam)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
            shape.Dim.Add(i == 0 && batchParam is not null
                ? new TensorShapeProto.Types.Dimension { DimParam = batchParam }
                : new TensorShapeProto.Types.Dimension { DimValue = dims[i] });
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
