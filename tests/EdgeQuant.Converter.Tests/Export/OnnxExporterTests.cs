using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// The exporter on a synthetic model covering the ops the zoo does not use (run in onnxruntime
/// against the interpreter), the structure onnxruntime's QDQ fusion needs, and its errors.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class OnnxExporterTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "edgequant-export-unit-" + Environment.ProcessId);
        Directory.CreateDirectory(_dir);
    }

    [OneTimeTearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    [TestCase(SourceLayout.Nchw, OnnxActivationType.Int8, true)]
    [TestCase(SourceLayout.AsIs, OnnxActivationType.Int8, true)]
    [TestCase(SourceLayout.Nchw, OnnxActivationType.UInt8, true)]
    [TestCase(SourceLayout.AsIs, OnnxActivationType.UInt8, false)]
    public void CoverageModelAgreesWithInterpreterInOnnxRuntime(SourceLayout layout, OnnxActivationType activations, bool dynamicBatch)
    {
        var model = Model.Load(CoverageModel.Build(layout));
        var export = OnnxExporter.Export(model, new OnnxExportOptions { Activations = activations, DynamicBatch = dynamicBatch });
        Assert.That(export.DynamicBatch, Is.EqualTo(dynamicBatch));
        Assert.That(export.Inputs[0].Layout, Is.EqualTo(layout == SourceLayout.Nchw ? "NCHW" : "NHWC"));
        Assert.That(export.Inputs[0].Shape, Is.EqualTo(layout == SourceLayout.Nchw ? new[] { dynamicBatch ? -1 : 1, 3, 6, 6 } : new[] { dynamicBatch ? -1 : 1, 6, 6, 3 }));
        string name = $"coverage.{layout}.{activations}";
        string onnx = Path.Combine(_dir, name + ".onnx");
        File.WriteAllBytes(onnx, export.Bytes);

        // Inputs that are exact multiples of the input scale, so both sides quantize them alike.
        const int n = 64;
        var rng = new Random(11);
        var (s, z) = CoverageModel.InputQuant;
        int[] logical = layout == SourceLayout.Nchw ? [1, 3, 6, 6] : [1, 6, 6, 3];
        var physical = new float[n][];
        var file = new float[n * 108];
        for (int i = 0; i < n; i++)
        {
            physical[i] = new float[108];
            for (int k = 0; k < 108; k++) physical[i][k] = (rng.Next(-128, 128) - z) * s;
            Layouts.ToSource(physical[i], logical, layout).CopyTo(file, i * 108);
        }
        string input = Path.Combine(_dir, name + ".input.npy");
        Npy.WriteFloat32(input, file, [n, .. logical[1..]]);
        // The ONNX semantics of the graph (see OnnxExporterZooTests for why fused kernels are only reported).
        var ort = Ort.Run(onnx, input, n, out _, batch: dynamicBatch ? null : 1, opt: "disabled");
        var fused = Ort.Run(onnx, input, n, out _, batch: dynamicBatch ? null : 1, opt: "all");

        var interp = new Interpreter(model);
        var (os, oz) = interp.GetOutputQuantization();
        var agreement = new Agreement();
        var fusedAgreement = new Agreement();
        for (int i = 0; i < n; i++)
        {
            interp.SetInput(physical[i]);
            interp.Invoke();
            agreement.Add(interp.GetOutput(), ort.AsSpan(i * 12, 12), os, oz);
            fusedAgreement.Add(interp.GetOutput(), fused.AsSpan(i * 12, 12), os, oz);
        }
        TestContext.Out.WriteLine($"{name}: {agreement}; fused kernels: {fusedAgreement}; ops {string.Join(", ", export.OpCounts.Select(kv => $"{kv.Key} {kv.Value}"))}");
        Assert.That(agreement.MaxLsb, Is.LessThanOrEqualTo(1), agreement.ToString());
    }

    [TestCase(OnnxActivationType.Int8)]
    [TestCase(OnnxActivationType.UInt8)]
    public void GraphIsStandardQdqForm(OnnxActivationType activations)
    {
        var export = OnnxExporter.Export(Model.Load(CoverageModel.Build(SourceLayout.Nchw)), new OnnxExportOptions { Activations = activations });
        var m = ModelProto.Parser.ParseFrom(export.Bytes);
        Assert.That(m.OpsetImport.Select(o => (o.Domain, o.Version)), Is.EqualTo(new[] { ("", 13L) }));
        Assert.That(m.Graph.Node.Select(nd => nd.Domain).Distinct(), Is.EqualTo(new[] { "" }), "default domain only");

        var consumers = new Dictionary<string, List<NodeProto>>();
        foreach (var nd in m.Graph.Node)
            foreach (var i in nd.Input)
                (consumers.TryGetValue(i, out var l) ? l : consumers[i] = []).Add(nd);
        var outputs = m.Graph.Output.Select(o => o.Name).ToHashSet();
        foreach (var nd in m.Graph.Node.Where(nd => nd.OpType == "QuantizeLinear"))
        {
            // onnxruntime fuses a group only when every QuantizeLinear feeds DequantizeLinear nodes (the Lookup Gather reads codes directly).
            var readers = consumers.TryGetValue(nd.Output[0], out var l) ? l : [];
            Assert.That(readers, Is.Not.Empty, $"{nd.Name} output is unused");
            Assert.That(readers.All(r => r.OpType is "DequantizeLinear" or "Cast"), Is.True, $"{nd.Name} output {nd.Output[0]} is read by {string.Join(", ", readers.Select(r => r.OpType))}");
            Assert.That(outputs.Contains(nd.Output[0]), Is.False);
        }
        var zeroPointType = activations == OnnxActivationType.UInt8 ? 2 : 3;
        var inits = m.Graph.Initializer.ToDictionary(t => t.Name);
        foreach (var nd in m.Graph.Node.Where(nd => nd.OpType == "QuantizeLinear"))
            Assert.That(inits[nd.Input[2]].DataType, Is.EqualTo(zeroPointType), $"{nd.Name} zero point type");

        // Conv weights: int8 with one scale per output channel (axis 0), bias int32.
        foreach (var conv in m.Graph.Node.Where(nd => nd.OpType is "Conv" or "Gemm"))
        {
            var wdq = m.Graph.Node.Single(nd => nd.Output[0] == conv.Input[1]);
            var bdq = m.Graph.Node.Single(nd => nd.Output[0] == conv.Input[2]);
            Assert.That(inits[wdq.Input[0]].DataType, Is.EqualTo(3), "weights int8");
            Assert.That(inits[bdq.Input[0]].DataType, Is.EqualTo(6), "bias int32");
            Assert.That(wdq.Attribute.Single(a => a.Name == "axis").I, Is.EqualTo(0));
            Assert.That(inits[wdq.Input[1]].Dims.Single(), Is.EqualTo(inits[wdq.Input[0]].Dims[0]));
        }
        var group = m.Graph.Node.Where(nd => nd.OpType == "Conv").Select(nd => nd.Attribute.Single(a => a.Name == "group").I).ToArray();
        Assert.That(group, Is.EqualTo(new long[] { 1, 4 }), "the depthwise conv has one group per input channel");
    }

    [Test]
    public void NchwSourceModelNeedsNoInputTranspose()
    {
        var (_, blob) = OnnxExporterZooTests.Convert("mnist_cnn");
        var export = OnnxExporter.Export(Model.Load(blob));
        var m = ModelProto.Parser.ParseFrom(export.Bytes);
        Assert.That(export.Inputs[0].Shape, Is.EqualTo(new[] { -1, 1, 28, 28 }));
        Assert.That(export.Inputs[0].Layout, Is.EqualTo("NCHW"));
        Assert.That(m.Graph.Node.Any(nd => nd.OpType == "Transpose"), Is.False, "the flatten into the FC layer permutes the weights instead");
        Assert.That(export.OpCounts["Conv"], Is.EqualTo(2));
        Assert.That(export.OpCounts["MaxPool"], Is.EqualTo(2));
        Assert.That(export.OpCounts["Gemm"], Is.EqualTo(1));
    }

    [Test]
    public void InconsistentRequantizationIsAConversionErrorNamingTheOp()
    {
        var w = new ModelWriter();
        int qx = w.AddQuantization([0.1f], 0);
        int qy = w.AddQuantization([0.2f], 0);
        int x = w.AddActivation(TensorType.Int8, [1, 4], qx);
        int y = w.AddActivation(TensorType.Int8, [1, 2], qy);
        int f = w.AddConstant<sbyte>(TensorType.Int8, [2, 4], [1, 2, 3, 4, 5, 6, 7, 8], w.AddQuantization([0.01f, 0.02f], 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [2], [0, 0], -1);
        // 0.1 x 0.01 / 0.2 = 0.005 would be right for channel 0; store 0.5 instead.
        int mo = w.AddConstantData<int>([1 << 30, 1 << 30]);
        int so = w.AddConstantData<int>([0, -7]);
        w.AddOp(OpType.FullyConnected, [x, f, b], [y], new FullyConnectedParams { MultipliersOffset = mo, ShiftsOffset = so, ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1 });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        var e = Assert.Throws<ConversionException>(() => OnnxExporter.Export(Model.Load(w.Build())));
        Assert.That(e!.Message, Does.Contain("op 0 (FullyConnected)").And.Contain("channel 0"));
    }
}
