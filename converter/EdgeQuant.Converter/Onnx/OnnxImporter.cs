using System.Buffers.Binary;
using System.Text;
using EdgeQuant.Converter.Onnx.Proto;
using Google.Protobuf;

namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// Reads an ONNX model file into an <see cref="OnnxGraph"/>, validating everything the
/// converter depends on. Every problem is reported as a <see cref="ConversionException"/>.
/// </summary>
public static class OnnxImporter
{
    private const string DefaultDomainHint = "supported: the default ONNX domain ('' or 'ai.onnx')";

    /// <summary>Reads and imports the model at <paramref name="path"/>.</summary>
    public static OnnxGraph Load(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new ConversionException($"ONNX model '{path}' was not found", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ConversionException($"ONNX model '{path}' was not found (the directory does not exist)", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConversionException($"cannot read ONNX model '{path}': {e.Message}", e);
        }

        return Load(bytes, path);
    }

    /// <summary>Imports a model from its serialized bytes.</summary>
    public static OnnxGraph Load(ReadOnlySpan<byte> modelBytes) => Load(modelBytes, "<memory>");

    /// <summary>Imports a model from its serialized bytes; <paramref name="sourceName"/> names it in errors.</summary>
    public static OnnxGraph Load(ReadOnlySpan<byte> modelBytes, string sourceName)
    {
        ModelProto model;
        try
        {
            model = ModelProto.Parser.ParseFrom(modelBytes);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new ConversionException(
                $"'{sourceName}' is not an ONNX model: it is not a valid protobuf message ({e.Message}); the file may be truncated or corrupt",
                e);
        }

        return Import(model, sourceName);
    }

    internal static OnnxGraph Import(ModelProto model, string sourceName)
    {
        if (model.Graph is null)
        {
            throw new ConversionException(
                $"'{sourceName}' is not an ONNX model: it has no graph ({(IsEmpty(model) ? "the data is empty" : "the bytes decode as protobuf but not as an ONNX ModelProto")})");
        }

        int sourceOpset = ReadOpset(model, sourceName);
        int opset = OpsetUpgrade.EffectiveOpset(sourceOpset);
        var g = model.Graph;
        var graph = new OnnxGraph(opset)
        {
            SourceOpset = sourceOpset,
            IrVersion = model.IrVersion,
            ProducerName = model.ProducerName,
            ProducerVersion = model.ProducerVersion,
            Name = g.Name,
        };

        foreach (var init in g.Initializer)
        {
            if (init.Name.Length == 0)
            {
                throw new ConversionException($"'{sourceName}': an initializer has no name");
            }

            if (!graph.Initializers.TryAdd(init.Name, DecodeTensor(init, $"initializer '{init.Name}'")))
            {
                throw new ConversionException($"'{sourceName}': initializer '{init.Name}' is defined twice");
            }
        }

        foreach (var input in g.Input)
        {
            // Before IR version 4, initializers were also listed as graph inputs.
            if (graph.Initializers.ContainsKey(input.Name))
            {
                continue;
            }

            var info = ReadValueInfo(input, "graph input");
            if (info.ElementType != OnnxDataType.Float)
            {
                throw new ConversionException(
                    $"graph input '{info.Name}' has element type {OnnxDataTypes.Name(info.ElementType)}; supported: FLOAT");
            }

            if (!info.IsShapeKnown)
            {
                throw new ConversionException($"graph input '{info.Name}' has no shape; supported: inputs with a declared rank (dimensions may be symbolic)");
            }

            graph.Inputs.Add(info);
        }

        if (graph.Inputs.Count == 0)
        {
            throw new ConversionException($"'{sourceName}': the graph has no runtime input (every input is an initializer)");
        }

        foreach (var output in g.Output)
        {
            graph.Outputs.Add(ReadValueInfo(output, "graph output"));
        }

        if (graph.Outputs.Count == 0)
        {
            throw new ConversionException($"'{sourceName}': the graph has no output");
        }

        var upgrade = new OpsetUpgrade(graph, sourceOpset, DeclaredRanks(g));
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var n in g.Node)
        {
            if (n.Name.Length > 0)
            {
                names.Add(n.Name);
            }
        }

        for (int index = 0; index < g.Node.Count; index++)
        {
            var n = g.Node[index];
            string name = n.Name;
            if (name.Length == 0)
            {
                name = $"{n.OpType}_{index}";
                while (!names.Add(name))
                {
                    name += "_";
                }
            }

            string description = $"node '{name}' ({(n.Domain.Length > 0 ? n.Domain + ":" : "")}{n.OpType})";
            if (n.Domain.Length > 0 && n.Domain != "ai.onnx")
            {
                throw new ConversionException($"{description}: domain '{n.Domain}' is not supported; {DefaultDomainHint}");
            }

            var attributes = new List<OnnxAttribute>(n.Attribute.Count);
            foreach (var a in n.Attribute)
            {
                attributes.Add(DecodeAttribute(a, description));
            }

            var node = new OnnxNode(name, n.OpType, n.Input, n.Output, attributes);
            if (OnnxSupport.IsSupportedOp(node.OpType))
            {
                upgrade.Upgrade(node);
            }

            if (!QdqPatterns.IsQdqOp(node.OpType)) OnnxSupport.ValidateNode(node, opset);
            if (node.OpType == "Split" || (node.OpType is "LayerNormalization" or "LSTM" or "GRU" && node.Outputs.Count > 1)) graph.Nodes.AddRange(Graph.Ops.SplitOp.Expand(node));
            else graph.Nodes.Add(node);
        }

        upgrade.Finish();

        DropUnusedOptionalOutputs(graph);
        graph.SortTopologically();
        QdqPatterns.Strip(graph);

        foreach (var output in graph.Outputs)
        {
            if (!graph.Initializers.ContainsKey(output.Name) && !graph.IsGraphInput(output.Name) && graph.Producer(output.Name) is null)
            {
                throw new ConversionException($"graph output '{output.Name}' is not produced by any node");
            }
        }

        return graph;

        static bool IsEmpty(ModelProto m) => m.CalculateSize() == 0;
    }

    /// <summary>
    /// Decodes a TensorProto into an <see cref="OnnxTensor"/>: floating types become float32,
    /// integer and bool types int64. <paramref name="context"/> names the tensor in errors.
    /// </summary>
    internal static OnnxTensor DecodeTensor(TensorProto t, string context)
    {
        if (t.DataLocation == TensorProto.Types.DataLocation.External || t.ExternalData.Count > 0)
        {
            string location = "";
            foreach (var e in t.ExternalData)
            {
                if (e.Key == "location")
                {
                    location = $" (location '{e.Value}')";
                }
            }

            throw new ConversionException(
                $"{context} stores its data in an external file{location}; supported: data embedded in the model. " +
                "Re-save the model with the weights inside it (onnx.save(model, path, save_as_external_data=False))");
        }

        int code = t.DataType;
        if (!OnnxDataTypes.IsSupportedConstantType(code))
        {
            throw new ConversionException(
                $"{context} has data type {OnnxDataTypes.Name(code)}, which is not supported; supported: {OnnxDataTypes.SupportedConstantTypes}");
        }

        var type = (OnnxDataType)code;
        var shape = new int[t.Dims.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            long d = t.Dims[i];
            if (d < 0 || d > int.MaxValue)
            {
                throw new ConversionException($"{context} has invalid dimension {d} in dims [{string.Join(", ", t.Dims)}]");
            }

            shape[i] = (int)d;
            count *= d;
            if (count > int.MaxValue)
            {
                throw new ConversionException($"{context} has more than {int.MaxValue} elements (dims [{string.Join(", ", t.Dims)}])");
            }
        }

        int n = (int)count;
        if (t.HasRawData)
        {
            return DecodeRaw(t.RawData.Span, shape, n, type, context);
        }

        switch (type)
        {
            case OnnxDataType.Float:
                {
                    CheckCount(t.FloatData.Count, n, "float_data", context);
                    var data = new float[n];
                    t.FloatData.CopyTo(data, 0);
                    return OnnxTensor.FromFloats(shape, data);
                }

            case OnnxDataType.Double:
                {
                    CheckCount(t.DoubleData.Count, n, "double_data", context);
                    var data = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = (float)t.DoubleData[i];
                    }

                    return OnnxTensor.FromData(shape, data, null, OnnxDataType.Double);
                }

            case OnnxDataType.Float16:
            case OnnxDataType.BFloat16:
                {
                    // Half-width floats keep their bit patterns in int32_data.
                    CheckCount(t.Int32Data.Count, n, "int32_data", context);
                    var data = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        ushort bits = (ushort)t.Int32Data[i];
                        data[i] = type == OnnxDataType.Float16 ? OnnxDataTypes.HalfBitsToSingle(bits) : OnnxDataTypes.BFloat16BitsToSingle(bits);
                    }

                    return OnnxTensor.FromData(shape, data, null, type);
                }

            case OnnxDataType.Int64:
                {
                    CheckCount(t.Int64Data.Count, n, "int64_data", context);
                    var data = new long[n];
                    t.Int64Data.CopyTo(data, 0);
                    return OnnxTensor.FromInt64s(shape, data);
                }

            case OnnxDataType.UInt32:
                {
                    CheckCount(t.Uint64Data.Count, n, "uint64_data", context);
                    var data = new long[n];
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = (uint)t.Uint64Data[i];
                    }

                    return OnnxTensor.FromInt64s(shape, data, type);
                }

            default:
                {
                    // INT32, INT16, INT8, UINT16, UINT8 and BOOL all live in int32_data.
                    CheckCount(t.Int32Data.Count, n, "int32_data", context);
                    var data = new long[n];
                    for (int i = 0; i < n; i++)
                    {
                        data[i] = OnnxDataTypes.WrapInteger(t.Int32Data[i], type);
                    }

                    return OnnxTensor.FromInt64s(shape, data, type);
                }
        }
    }

    private static OnnxTensor DecodeRaw(ReadOnlySpan<byte> raw, int[] shape, int n, OnnxDataType type, string context)
    {
        int size = type switch
        {
            OnnxDataType.Float or OnnxDataType.Int32 or OnnxDataType.UInt32 => 4,
            OnnxDataType.Double or OnnxDataType.Int64 => 8,
            OnnxDataType.Int16 or OnnxDataType.UInt16 or OnnxDataType.Float16 or OnnxDataType.BFloat16 => 2,
            _ => 1,
        };
        if ((long)n * size != raw.Length)
        {
            throw new ConversionException(
                $"{context}: raw_data has {raw.Length} bytes but dims {OnnxTensor.FormatShape(shape)} of {OnnxDataTypes.Name(type)} need {(long)n * size}");
        }

        if (type == OnnxDataType.Float)
        {
            var data = new float[n];
            for (int i = 0; i < n; i++)
            {
                data[i] = BinaryPrimitives.ReadSingleLittleEndian(raw.Slice(i * 4));
            }

            return OnnxTensor.FromFloats(shape, data);
        }

        if (type is OnnxDataType.Float16 or OnnxDataType.BFloat16)
        {
            var data = new float[n];
            for (int i = 0; i < n; i++)
            {
                ushort bits = BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2));
                data[i] = type == OnnxDataType.Float16 ? OnnxDataTypes.HalfBitsToSingle(bits) : OnnxDataTypes.BFloat16BitsToSingle(bits);
            }

            return OnnxTensor.FromData(shape, data, null, type);
        }

        if (type == OnnxDataType.Double)
        {
            var data = new float[n];
            for (int i = 0; i < n; i++)
            {
                data[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(raw.Slice(i * 8));
            }

            return OnnxTensor.FromData(shape, data, null, OnnxDataType.Double);
        }

        var ints = new long[n];
        for (int i = 0; i < n; i++)
        {
            ints[i] = type switch
            {
                OnnxDataType.Int64 => BinaryPrimitives.ReadInt64LittleEndian(raw.Slice(i * 8)),
                OnnxDataType.Int32 => BinaryPrimitives.ReadInt32LittleEndian(raw.Slice(i * 4)),
                OnnxDataType.UInt32 => BinaryPrimitives.ReadUInt32LittleEndian(raw.Slice(i * 4)),
                OnnxDataType.Int16 => BinaryPrimitives.ReadInt16LittleEndian(raw.Slice(i * 2)),
                OnnxDataType.UInt16 => BinaryPrimitives.ReadUInt16LittleEndian(raw.Slice(i * 2)),
                OnnxDataType.Int8 => (sbyte)raw[i],
                OnnxDataType.Bool => raw[i] != 0 ? 1 : 0,
                _ => raw[i],
            };
        }

        return OnnxTensor.FromInt64s(shape, ints, type);
    }

    private static void CheckCount(int actual, int expected, string field, string context)
    {
        if (actual != expected)
        {
            throw new ConversionException($"{context}: {field} has {actual} values but the dims need {expected}");
        }
    }

    private static int ReadOpset(ModelProto model, string sourceName)
    {
        long? version = null;
        foreach (var o in model.OpsetImport)
        {
            if (o.Domain.Length == 0 || o.Domain == "ai.onnx")
            {
                version = o.Version;
            }
        }

        if (version is null)
        {
            if (model.OpsetImport.Count == 0)
            {
                throw new ConversionException(
                    $"'{sourceName}': the model imports no operator set (IR version {model.IrVersion}); supported: default-domain opset {OnnxSupport.MinOpset} to {OnnxSupport.MaxOpset}");
            }

            throw new ConversionException(
                $"'{sourceName}': the model does not import the default ONNX operator set (it imports {string.Join(", ", model.OpsetImport.Select(o => $"'{o.Domain}' v{o.Version}"))}); {DefaultDomainHint}");
        }

        if (version < OnnxSupport.MinOpset || version > OnnxSupport.MaxOpset)
        {
            throw new ConversionException(
                $"'{sourceName}': opset {version} is not supported; supported: opset {OnnxSupport.MinOpset} to {OnnxSupport.MaxOpset} (re-export with, e.g., opset_version=13)");
        }

        return (int)version.Value;
    }

    /// <summary>Ranks the model declares for values (inputs, outputs, value_info), for the opset upgrade.</summary>
    private static Dictionary<string, int> DeclaredRanks(GraphProto g)
    {
        var ranks = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var v in g.Input.Concat(g.Output).Concat(g.ValueInfo))
        {
            if (v.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType && v.Type.TensorType.Shape is { } shape)
            {
                ranks[v.Name] = shape.Dim.Count;
            }
        }

        return ranks;
    }

    private static OnnxValueInfo ReadValueInfo(ValueInfoProto v, string what)
    {
        if (v.Name.Length == 0)
        {
            throw new ConversionException($"a {what} has no name");
        }

        if (v.Type is null || v.Type.ValueCase != TypeProto.ValueOneofCase.TensorType)
        {
            throw new ConversionException($"{what} '{v.Name}' is not a tensor; supported: tensor {what}s");
        }

        var tt = v.Type.TensorType;
        var elementType = (OnnxDataType)tt.ElemType;
        if (tt.Shape is null)
        {
            return new OnnxValueInfo(v.Name, [], elementType, isShapeKnown: false);
        }

        var shape = new int[tt.Shape.Dim.Count];
        for (int i = 0; i < shape.Length; i++)
        {
            var d = tt.Shape.Dim[i];
            if (d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue)
            {
                if (d.DimValue < 0 || d.DimValue > int.MaxValue)
                {
                    throw new ConversionException($"{what} '{v.Name}' has invalid dimension {d.DimValue}");
                }

                shape[i] = (int)d.DimValue;
            }
            else
            {
                shape[i] = -1;
            }
        }

        return new OnnxValueInfo(v.Name, shape, elementType);
    }

    private static OnnxAttribute DecodeAttribute(AttributeProto a, string nodeDescription)
    {
        var type = (OnnxAttributeType)(int)a.Type;
        if (type == OnnxAttributeType.Undefined)
        {
            // Very old models leave the type unset; infer it from the field that is present.
            type = a.Floats.Count > 0 ? OnnxAttributeType.Floats
                : a.Ints.Count > 0 ? OnnxAttributeType.Ints
                : a.Strings.Count > 0 ? OnnxAttributeType.Strings
                : a.T is not null ? OnnxAttributeType.Tensor
                : a.HasF ? OnnxAttributeType.Float
                : a.HasI ? OnnxAttributeType.Int
                : a.HasS ? OnnxAttributeType.String
                : OnnxAttributeType.Undefined;
        }

        string context = $"{nodeDescription}: attribute '{a.Name}'";
        switch (type)
        {
            case OnnxAttributeType.Float:
                return OnnxAttribute.FromFloat(a.Name, a.F);
            case OnnxAttributeType.Int:
                return OnnxAttribute.FromInt(a.Name, a.I);
            case OnnxAttributeType.String:
                return OnnxAttribute.FromString(a.Name, DecodeUtf8(a.S, context));
            case OnnxAttributeType.Tensor:
                if (a.T is null)
                {
                    throw new ConversionException($"{context} has type TENSOR but no tensor");
                }

                return OnnxAttribute.FromTensor(a.Name, DecodeTensor(a.T, context));
            case OnnxAttributeType.Floats:
                return OnnxAttribute.FromFloats(a.Name, [.. a.Floats]);
            case OnnxAttributeType.Ints:
                return OnnxAttribute.FromInts(a.Name, [.. a.Ints]);
            case OnnxAttributeType.Strings:
                {
                    var strings = new string[a.Strings.Count];
                    for (int i = 0; i < strings.Length; i++)
                    {
                        strings[i] = DecodeUtf8(a.Strings[i], context);
                    }

                    return OnnxAttribute.FromStrings(a.Name, strings);
                }

            default:
                return OnnxAttribute.Opaque(a.Name, type);
        }
    }

    private static string DecodeUtf8(ByteString s, string context)
    {
        try
        {
            return new UTF8Encoding(false, true).GetString(s.Span);
        }
        catch (DecoderFallbackException e)
        {
            throw new ConversionException($"{context} is not valid UTF-8", e);
        }
    }

    /// <summary>
    /// BatchNormalization (training statistics), Dropout (mask) and MaxPool (indices) may declare
    /// extra outputs. Unused ones are dropped so every such node has one output; used ones are rejected.
    /// </summary>
    private static void DropUnusedOptionalOutputs(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes.ToList())
        {
            if (node.OpType == "Dropout")
            {
                NormalizeDropout(graph, node);
            }

            if (node.OpType is not ("BatchNormalization" or "Dropout" or "MaxPool") || node.Outputs.Count <= 1)
            {
                continue;
            }

            for (int i = 1; i < node.Outputs.Count; i++)
            {
                string output = node.Outputs[i];
                if (output.Length == 0)
                {
                    continue;
                }

                if (graph.IsGraphOutput(output) || graph.Consumers(output).Count > 0)
                {
                    string what = node.OpType switch
                    {
                        "Dropout" => "the mask output",
                        "MaxPool" => "the Indices output",
                        _ => "training-mode statistics outputs",
                    };
                    throw node.Error($"output {i} ('{output}') is used, but {what} is not supported; supported: only output 0");
                }
            }

            node.Outputs.RemoveRange(1, node.Outputs.Count - 1);
        }
    }

    /// <summary>
    /// Dropout in inference (training_mode absent or a constant false), or in training mode with
    /// a constant ratio of 0, drops nothing: it is the identity and its mask is all true. Such a
    /// node loses its ratio and training_mode inputs, and a used mask becomes
    /// ConstantOfShape(Shape(X)) of true (which folds to a constant for static shapes).
    /// </summary>
    private static void NormalizeDropout(OnnxGraph graph, OnnxNode node)
    {
        bool training = node.HasInput(2) && graph.Initializers.TryGetValue(node.Inputs[2], out var mode)
            && mode.ElementCount == 1 && mode.GetAsDouble(0) != 0;
        bool zeroRatio = node.HasInput(1) && graph.Initializers.TryGetValue(node.Inputs[1], out var ratio)
            && ratio.ElementCount == 1 && ratio.GetAsDouble(0) == 0;
        bool inference = !node.HasInput(2) || (graph.Initializers.ContainsKey(node.Inputs[2]) && !training);
        if (!inference && !(training && zeroRatio))
        {
            return;
        }

        if (node.Inputs.Count > 1)
        {
            node.Inputs.RemoveRange(1, node.Inputs.Count - 1);
        }

        if (node.Outputs.Count < 2 || node.Outputs[1].Length == 0)
        {
            return;
        }

        string mask = node.Outputs[1];
        node.Outputs.RemoveRange(1, node.Outputs.Count - 1);
        if (!graph.IsGraphOutput(mask) && graph.Consumers(mask).Count == 0)
        {
            return;
        }

        string shape = graph.MakeUniqueName(mask + "_shape");
        int at = graph.Nodes.IndexOf(node) + 1;
        graph.Nodes.Insert(at, new OnnxNode(graph.MakeUniqueName(node.Name + "_mask_shape"), "Shape", [node.Inputs[0]], [shape]));
        graph.Nodes.Insert(at + 1, new OnnxNode(
            graph.MakeUniqueName(node.Name + "_mask"), "ConstantOfShape", [shape], [mask],
            [OnnxAttribute.FromTensor("value", OnnxTensor.FromInt64s([1], [1], OnnxDataType.Bool))]));
    }
}
