using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using Google.Protobuf;

namespace EdgeQuant.Converter.Tests.Onnx;

/// <summary>
/// Builds small ONNX models as real protobuf messages (through the generated classes), so tests
/// exercise the importer on serialized bytes. Dims of -1 become the symbolic dimension "N".
/// </summary>
internal sealed class TestModelBuilder
{
    private readonly ModelProto _model = new();
    private readonly GraphProto _graph = new() { Name = "test" };

    public TestModelBuilder(int opset = 13)
    {
        _model.IrVersion = 8;
        _model.ProducerName = "EdgeQuant.Tests";
        _model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        _model.Graph = _graph;
    }

    public ModelProto Model => _model;

    public GraphProto Graph => _graph;

    public TestModelBuilder Input(string name, params long[] dims)
    {
        _graph.Input.Add(ValueInfo(name, dims));
        return this;
    }

    public TestModelBuilder Output(string name, params long[] dims)
    {
        _graph.Output.Add(ValueInfo(name, dims));
        return this;
    }

    /// <summary>An output without declared shape.</summary>
    public TestModelBuilder OutputUnshaped(string name)
    {
        _graph.Output.Add(new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)OnnxDataType.Float } },
        });
        return this;
    }

    public TestModelBuilder FloatInitializer(string name, int[] shape, params float[] data)
    {
        _graph.Initializer.Add(FloatTensor(name, shape, data));
        return this;
    }

    public TestModelBuilder Int64Initializer(string name, int[] shape, params long[] data)
    {
        _graph.Initializer.Add(Int64Tensor(name, shape, data));
        return this;
    }

    public TestModelBuilder Initializer(TensorProto tensor)
    {
        _graph.Initializer.Add(tensor);
        return this;
    }

    public TestModelBuilder Node(string opType, string[] inputs, string[] outputs, string name = "", params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = name };
        node.Input.Add(inputs);
        node.Output.Add(outputs);
        node.Attribute.Add(attributes);
        _graph.Node.Add(node);
        return this;
    }

    public byte[] ToBytes() => _model.ToByteArray();

    /// <summary>Serializes and imports through <see cref="OnnxImporter.Load(ReadOnlySpan{byte})"/>.</summary>
    public OnnxGraph Import() => OnnxImporter.Load(ToBytes());

    public static ValueInfoProto ValueInfo(string name, long[] dims, OnnxDataType type = OnnxDataType.Float)
    {
        var shape = new TensorShapeProto();
        foreach (long d in dims)
        {
            shape.Dim.Add(d < 0
                ? new TensorShapeProto.Types.Dimension { DimParam = "N" }
                : new TensorShapeProto.Types.Dimension { DimValue = d });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    /// <summary>A FLOAT tensor stored in raw_data (how exporters write weights).</summary>
    public static TensorProto FloatTensor(string name, int[] shape, float[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxDataType.Float };
        foreach (int d in shape)
        {
            t.Dims.Add(d);
        }

        var raw = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++)
        {
            BitConverter.TryWriteBytes(raw.AsSpan(i * 4), data[i]);
        }

        t.RawData = ByteString.CopyFrom(raw);
        return t;
    }

    /// <summary>An INT64 tensor stored in int64_data.</summary>
    public static TensorProto Int64Tensor(string name, int[] shape, long[] data)
    {
        var t = new TensorProto { Name = name, DataType = (int)OnnxDataType.Int64 };
        foreach (int d in shape)
        {
            t.Dims.Add(d);
        }

        t.Int64Data.Add(data);
        return t;
    }

    public static AttributeProto Attr(string name, long value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Attr(string name, float value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Attr(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = ByteString.CopyFromUtf8(value) };

    public static AttributeProto Attr(string name, params long[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        a.Ints.Add(values);
        return a;
    }

    public static AttributeProto Attr(string name, float[] values)
    {
        var a = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Floats };
        a.Floats.Add(values);
        return a;
    }

    public static AttributeProto Attr(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };
}
