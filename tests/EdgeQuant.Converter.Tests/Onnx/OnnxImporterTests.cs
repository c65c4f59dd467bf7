using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using Google.Protobuf;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Onnx;

public class OnnxImporterTests
{
    /// <summary>x [N, 4] -> Gemm(w, b) -> Relu -> y [N, 2].</summary>
    private static TestModelBuilder SmallMlp(int opset = 13) => new TestModelBuilder(opset)
        .Input("x", -1, 4).Output("y", -1, 2)
        .FloatInitializer("w", [2, 4], 1, 0, 0, 0, 0, 1, 0, 0)
        .FloatInitializer("b", [2], 0.5f, -0.5f)
        .Node("Gemm", ["x", "w", "b"], ["h"], "fc", Attr("transB", 1L))
        .Node("Relu", ["h"], ["y"]);

    [Test]
    public void ValidModel_ReadsGraphAndMetadata()
    {
        var g = SmallMlp().Import();
        Assert.That(g.Opset, Is.EqualTo(13));
        Assert.That(g.ProducerName, Is.EqualTo("EdgeQuant.Tests"));
        Assert.That(g.IrVersion, Is.EqualTo(8));
        Assert.That(g.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "x" }));
        Assert.That(g.Inputs[0].Shape, Is.EqualTo(new[] { -1, 4 }));
        Assert.That(g.Outputs[0].Shape, Is.EqualTo(new[] { -1, 2 }));
        Assert.That(g.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "fc", "Relu_1" }), "empty names become <OpType>_<index>");
        Assert.That(g.Initializers["w"].Floats, Is.EqualTo(new float[] { 1, 0, 0, 0, 0, 1, 0, 0 }));
        Assert.That(g.Nodes[0].GetInt("transB", 0), Is.EqualTo(1));
        Assert.That(g.Producer("h"), Is.SameAs(g.Nodes[0]));
        Assert.That(g.Consumers("h"), Is.EqualTo(new[] { g.Nodes[1] }));
        Assert.That(g.IsConstant("w") && !g.IsConstant("x"), Is.True);
    }

    [Test]
    public void InitializersListedAsInputs_AreNotRuntimeInputs()
    {
        var b = SmallMlp();
        b.Graph.Input.Add(ValueInfo("w", [2, 4]));
        b.Graph.Input.Add(ValueInfo("b", [2]));
        var g = b.Import();
        Assert.That(g.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "x" }));
    }

    [Test]
    public void NodesOutOfOrder_AreSortedTopologically()
    {
        var b = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2)
            .Node("Relu", ["h"], ["y"], "second")
            .Node("Sigmoid", ["x"], ["h"], "first");
        Assert.That(b.Import().Nodes.Select(n => n.Name), Is.EqualTo(new[] { "first", "second" }));
    }

    [Test]
    public void UnsupportedOp_NamesNodeOpAndSupportedList()
    {
        var b = new TestModelBuilder().Input("x", 1, 3, 4).Output("y", 1, 3, 8)
            .Node("RNN", ["x", "w", "r"], ["y"], "encoder_rnn");
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.StartWith("node 'encoder_rnn' (RNN): op type 'RNN' is not supported; supported ops: "));
        Assert.That(e.Message, Does.Contain("Conv").And.Contain("Gemm").And.Contain("MaxPool").And.Contain("Softmax"));
    }

    [Test]
    public void MadeUpOp_WithoutName_GetsSynthesizedName()
    {
        var b = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2)
            .Node("Relu", ["x"], ["h"])
            .Node("FrobnicateTensor", ["h"], ["y"]);
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.StartWith("node 'FrobnicateTensor_1' (FrobnicateTensor): op type 'FrobnicateTensor' is not supported"));
    }

    [Test]
    public void NonDefaultDomain_IsRejected()
    {
        var b = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2).Node("FusedGemm", ["x"], ["y"], "f");
        b.Graph.Node[0].Domain = "com.microsoft";
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.StartWith("node 'f' (com.microsoft:FusedGemm): domain 'com.microsoft' is not supported; supported: the default ONNX domain"));
    }

    [TestCase(0)]
    [TestCase(22)]
    public void OpsetOutOfRange_IsRejected(int opset)
    {
        var e = Assert.Throws<ConversionException>(() => SmallMlp(opset).Import());
        Assert.That(e!.Message, Does.Contain($"opset {opset} is not supported; supported: opset 1 to 21"));
    }

    [Test]
    public void MissingDefaultOpset_IsRejected()
    {
        var b = SmallMlp();
        b.Model.OpsetImport.Clear();
        b.Model.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx.ml", Version = 3 });
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.Contain("does not import the default ONNX operator set").And.Contain("'ai.onnx.ml' v3"));
    }

    [Test]
    public void ExternalData_IsRejectedWithHowToFix()
    {
        var b = SmallMlp();
        var w = b.Graph.Initializer[0];
        w.ClearRawData();
        w.DataLocation = TensorProto.Types.DataLocation.External;
        w.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.StartWith("initializer 'w' stores its data in an external file (location 'weights.bin')"));
        Assert.That(e.Message, Does.Contain("save_as_external_data=False"));
    }

    [TestCase(OnnxDataType.UInt64, "UINT64")]
    [TestCase(OnnxDataType.String, "STRING")]
    [TestCase((OnnxDataType)17, "FLOAT8E4M3FN")]
    public void UnsupportedInitializerType_IsRejected(OnnxDataType type, string name)
    {
        var b = SmallMlp();
        b.Initializer(new TensorProto { Name = "odd", DataType = (int)type, Dims = { 1 }, RawData = ByteString.CopyFrom(0, 0) });
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo($"initializer 'odd' has data type {name}, which is not supported; supported: {OnnxDataTypes.SupportedConstantTypes}"));
    }

    [Test]
    public void RawDataOfWrongSize_IsRejected()
    {
        var b = SmallMlp();
        b.Initializer(new TensorProto { Name = "short", DataType = 1, Dims = { 3 }, RawData = ByteString.CopyFrom(new byte[8]) });
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("initializer 'short': raw_data has 8 bytes but dims [3] of FLOAT need 12"));
    }

    [Test]
    public void TypedFieldCountMismatch_IsRejected()
    {
        var b = SmallMlp();
        b.Initializer(new TensorProto { Name = "t", DataType = 7, Dims = { 2, 2 }, Int64Data = { 1, 2, 3 } });
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("initializer 't': int64_data has 3 values but the dims need 4"));
    }

    [Test]
    public void InitializerEncodings_AreDecoded()
    {
        var b = SmallMlp();
        b.Initializer(new TensorProto { Name = "i32", DataType = (int)OnnxDataType.Int32, Dims = { 3 }, Int32Data = { -1, 0, 7 } });
        b.Initializer(new TensorProto { Name = "u8", DataType = (int)OnnxDataType.UInt8, Dims = { 2 }, RawData = ByteString.CopyFrom(200, 3) });
        b.Initializer(new TensorProto { Name = "i8", DataType = (int)OnnxDataType.Int8, Dims = { 2 }, RawData = ByteString.CopyFrom(200, 3) });
        b.Initializer(new TensorProto { Name = "f64", DataType = (int)OnnxDataType.Double, Dims = { 2 }, DoubleData = { 0.5, -2 } });
        b.Initializer(new TensorProto { Name = "bool", DataType = (int)OnnxDataType.Bool, Dims = { 2 }, Int32Data = { 0, 1 } });
        b.Initializer(new TensorProto { Name = "f32", DataType = (int)OnnxDataType.Float, FloatData = { 3.5f } });
        b.Initializer(new TensorProto { Name = "i64raw", DataType = (int)OnnxDataType.Int64, Dims = { 1 }, RawData = ByteString.CopyFrom(BitConverter.GetBytes(-5L)) });
        var g = b.Import();
        Assert.That(g.Initializers["i32"].Int64s, Is.EqualTo(new long[] { -1, 0, 7 }));
        Assert.That(g.Initializers["i32"].DataType, Is.EqualTo(OnnxDataType.Int32));
        Assert.That(g.Initializers["u8"].Int64s, Is.EqualTo(new long[] { 200, 3 }));
        Assert.That(g.Initializers["i8"].Int64s, Is.EqualTo(new long[] { -56, 3 }));
        Assert.That(g.Initializers["f64"].Floats, Is.EqualTo(new[] { 0.5f, -2f }));
        Assert.That(g.Initializers["bool"].Int64s, Is.EqualTo(new long[] { 0, 1 }));
        Assert.That(g.Initializers["f32"].Shape, Is.Empty);
        Assert.That(g.Initializers["f32"].Floats, Is.EqualTo(new[] { 3.5f }));
        Assert.That(g.Initializers["i64raw"].Int64s, Is.EqualTo(new long[] { -5 }));
    }

    [Test]
    public void NonFloatGraphInput_IsRejected()
    {
        var b = new TestModelBuilder().Output("y", 1, 2).Node("Relu", ["x"], ["y"]);
        b.Graph.Input.Add(ValueInfo("x", [1, 2], OnnxDataType.UInt8));
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("graph input 'x' has element type UINT8; supported: FLOAT"));
    }

    [Test]
    public void UndefinedNodeInput_IsRejected()
    {
        var b = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2).Node("Add", ["x", "zz"], ["y"], "add");
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("node 'add' (Add): input 'zz' is not a graph input, an initializer or the output of any node"));
    }

    [Test]
    public void AttributeOfWrongType_NamesNodeOpAndAttribute()
    {
        var b = new TestModelBuilder().Input("x", 1, 1, 4, 4).OutputUnshaped("y")
            .FloatInitializer("w", [1, 1, 3, 3], new float[9])
            .Node("Conv", ["x", "w"], ["y"], "conv0", Attr("kernel_shape", 3L));
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("node 'conv0' (Conv): attribute 'kernel_shape' has type INT; expected INTS"));
    }

    [Test]
    public void UnsupportedAutoPad_ListsSupportedValues()
    {
        var b = new TestModelBuilder().Input("x", 1, 1, 4, 4).OutputUnshaped("y")
            .FloatInitializer("w", [1, 1, 3, 3], new float[9])
            .Node("Conv", ["x", "w"], ["y"], "Conv_3", Attr("auto_pad", "SAME_MIDDLE"));
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Is.EqualTo("node 'Conv_3' (Conv): attribute auto_pad='SAME_MIDDLE' is not supported; supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER"));
    }

    [Test]
    public void ThreeDimensionalConv_RunsInFloat_IsRefusedForInt8()
    {
        var b = new TestModelBuilder().Input("x", 1, 1, 4, 4, 4).OutputUnshaped("y")
            .FloatInitializer("w", [1, 1, 2, 2, 2], 1, 1, 1, 1, 1, 1, 1, 1)
            .Node("Conv", ["x", "w"], ["y"], "c3", Attr("kernel_shape", 2, 2, 2));
        var g = b.Import();
        var x = Enumerable.Range(0, 64).Select(i => (float)i).ToArray();
        var y = new EdgeQuant.Converter.Graph.OnnxFloatExecutor(g).Run(x, [1, 1, 4, 4, 4], out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 3, 3 }));
        // A 2x2x2 box sum at (d, h, w) = 0: x[d*16 + h*4 + w] over the cube.
        Assert.That(y[0], Is.EqualTo(0 + 1 + 4 + 5 + 16 + 17 + 20 + 21));
        var e = Assert.Throws<ConversionException>(() => EdgeQuant.Converter.Ir.Lowering.Lower(OnnxFrontend.Prepare(b.ToBytes(), "c3.onnx")));
        Assert.That(e!.Message, Does.Contain("rank 5"));
    }

    [Test]
    public void DropoutMask_InInferenceIsAllTrue_InTrainingIsRejected_UnusedIsDropped()
    {
        var used = new TestModelBuilder(11).Input("x", 1, 2).Output("y", 1, 2).Output("m", 1, 2).Node("Dropout", ["x"], ["y", "m"], "drop");
        var g = used.Import();
        var values = new EdgeQuant.Converter.Graph.OnnxFloatExecutor(g).RunAll(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.FromFloats([1, 2], [3, 4]) });
        Assert.That(values["m"].DataType, Is.EqualTo(OnnxDataType.Bool));
        Assert.That(values["m"].Int64s, Is.EqualTo(new long[] { 1, 1 }));
        Assert.That(values["y"].Floats, Is.EqualTo(new float[] { 3, 4 }));

        var training = new TestModelBuilder(13).Input("x", 1, 2).Output("y", 1, 2).Output("m", 1, 2)
            .FloatInitializer("ratio", [], 0.5f)
            .Initializer(new TensorProto { Name = "train", DataType = (int)OnnxDataType.Bool, Int32Data = { 1 } })
            .Node("Dropout", ["x", "ratio", "train"], ["y", "m"], "drop");
        var e = Assert.Throws<ConversionException>(() => training.Import());
        Assert.That(e!.Message, Does.StartWith("node 'drop' (Dropout): output 1 ('m') is used, but the mask output is not supported"));

        var unused = new TestModelBuilder(11).Input("x", 1, 2).Output("y", 1, 2).Node("Dropout", ["x"], ["y", "m"], "drop");
        Assert.That(unused.Import().Nodes[0].Outputs, Is.EqualTo(new[] { "y" }));
    }

    [Test]
    public void Float16AndBFloat16Constants_AreImportedAsFloat()
    {
        var b = SmallMlp();
        b.Initializer(new TensorProto { Name = "half", DataType = (int)OnnxDataType.Float16, Dims = { 2 }, RawData = ByteString.CopyFrom(0x00, 0x3C, 0x00, 0xC0) });
        b.Initializer(new TensorProto { Name = "bf", DataType = (int)OnnxDataType.BFloat16, Dims = { 2 }, Int32Data = { 0x3F80, 0x4049 } });
        var g = b.Import();
        Assert.That(g.Initializers["half"].Floats, Is.EqualTo(new float[] { 1f, -2f }));
        Assert.That(g.Initializers["half"].DataType, Is.EqualTo(OnnxDataType.Float16));
        Assert.That(g.Initializers["bf"].Floats, Is.EqualTo(new float[] { 1f, 3.140625f }));
    }

    [Test]
    public void UntypedAttributes_AreInferredFromTheirField()
    {
        var b = new TestModelBuilder(10).Input("x", 1, 2).OutputUnshaped("y")
            .Node("Clip", ["x"], ["y"], "clip",
                new AttributeProto { Name = "min", F = -1f },
                new AttributeProto { Name = "max", F = 1f });
        var g = b.Import();
        Assert.That(g.Nodes[0].GetFloat("min", 0f), Is.EqualTo(-1f));
        Assert.That(g.Nodes[0].Attributes["max"].Type, Is.EqualTo(OnnxAttributeType.Float));
    }

    [Test]
    public void TypedGetters_ThrowNamingNodeOpAndAttribute()
    {
        var node = new OnnxNode("n1", "Gemm", ["a", "b"], ["y"], [OnnxAttribute.FromInt("alpha", 2)]);
        var e = Assert.Throws<ConversionException>(() => node.GetFloat("alpha", 1f));
        Assert.That(e!.Message, Is.EqualTo("node 'n1' (Gemm): attribute 'alpha' has type INT; expected FLOAT"));
        var missing = Assert.Throws<ConversionException>(() => node.GetInts("perm"));
        Assert.That(missing!.Message, Is.EqualTo("node 'n1' (Gemm): required attribute 'perm' is missing"));
        Assert.That(node.GetInt("transA", 0), Is.EqualTo(0));
        Assert.That(node.HasAttribute("alpha"), Is.True);
        Assert.That(node.GetString("mode", "constant"), Is.EqualTo("constant"));
        Assert.That(node.GetTensorOrNull("value"), Is.Null);
    }

    [Test]
    public void RandomBytes_AreAClearError()
    {
        var rng = new Random(1234);
        for (int i = 0; i < 200; i++)
        {
            var bytes = new byte[rng.Next(1, 600)];
            rng.NextBytes(bytes);
            var e = Assert.Throws<ConversionException>(() => OnnxImporter.Load(bytes, "random.onnx"), $"iteration {i}");
            Assert.That(e!.Message, Does.Contain("random.onnx").Or.Contain("node '").Or.Contain("graph").Or.Contain("initializer"), $"iteration {i}: {e.Message}");
        }
    }

    [Test]
    public void TruncatedModel_IsAClearErrorAtEveryLength()
    {
        var bytes = SmallMlp().ToBytes();
        for (int length = 0; length < bytes.Length; length++)
        {
            Assert.Throws<ConversionException>(() => OnnxImporter.Load(bytes.AsSpan(0, length), "cut.onnx"), $"length {length}");
        }

        var half = Assert.Throws<ConversionException>(() => OnnxImporter.Load(bytes.AsSpan(0, bytes.Length / 2), "cut.onnx"));
        Assert.That(half!.Message, Does.StartWith("'cut.onnx' is not an ONNX model: it is not a valid protobuf message").And.Contain("truncated or corrupt"));
    }

    [Test]
    public void TruncatedZooModelFile_IsAClearError()
    {
        string source = Path.Combine(RepoPaths.Zoo, "mnist_cnn.onnx");
        Assert.That(File.Exists(source), Is.True, $"zoo model missing: {source}");
        string path = Path.Combine(Path.GetTempPath(), $"eq-truncated-{Guid.NewGuid():N}.onnx");
        try
        {
            var bytes = File.ReadAllBytes(source);
            File.WriteAllBytes(path, bytes[..(bytes.Length * 2 / 3)]);
            var e = Assert.Throws<ConversionException>(() => OnnxImporter.Load(path));
            Assert.That(e!.Message, Does.Contain(path).And.Contain("not a valid protobuf message"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void EmptyData_HasNoGraph()
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Load([], "empty.onnx"));
        Assert.That(e!.Message, Is.EqualTo("'empty.onnx' is not an ONNX model: it has no graph (the data is empty)"));
    }

    [Test]
    public void ProtobufThatIsNotAModel_HasNoGraph()
    {
        // A valid TensorProto is valid protobuf but not a ModelProto.
        var bytes = FloatTensor("t", [2], [1, 2]).ToByteArray();
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Load(bytes, "tensor.pb"));
        Assert.That(e!.Message, Does.StartWith("'tensor.pb' is not an ONNX model"));
    }

    [Test]
    public void MissingFile_IsAClearError()
    {
        var e = Assert.Throws<ConversionException>(() => OnnxImporter.Load("/nonexistent/dir/model.onnx"));
        Assert.That(e!.Message, Does.Contain("'/nonexistent/dir/model.onnx' was not found"));
    }

    [Test]
    public void ZooModels_Import()
    {
        var g = OnnxImporter.Load(Path.Combine(RepoPaths.Zoo, "fashion_mobilenet.onnx"));
        Assert.That(g.Opset, Is.EqualTo(13));
        Assert.That(g.ProducerName, Is.EqualTo("pytorch"));
        Assert.That(g.Inputs[0].Shape, Is.EqualTo(new[] { -1, 1, 28, 28 }));
        Assert.That(g.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(9));
    }
}
