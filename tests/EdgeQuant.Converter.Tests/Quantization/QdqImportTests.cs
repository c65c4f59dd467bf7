using System.Text.Json;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Converter.Tests.Pipeline;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Google.Protobuf;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Quantization;

/// <summary>
/// QDQ import (<see cref="QdqPatterns"/>, <see cref="EdgeQuant.Converter.Quantization.QdqQuantization"/>):
/// the export-onnx round trip on the zoo, the QAT zoo model against torch's own int8 accuracy,
/// the exact uint8 to int8 mapping, and a clear error for every pattern that cannot be honoured.
/// </summary>
[TestFixture]
public sealed class QdqImportTests
{
    private const int RoundTripSamples = 300;
    private string _dir = "";

    [OneTimeSetUp]
    public void CreateFolder()
    {
        _dir = Path.Combine(Path.GetTempPath(), "edgequant-qdq-tests-" + Environment.ProcessId);
        Directory.CreateDirectory(_dir);
    }

    [OneTimeTearDown]
    public void RemoveFolder()
    {
        if (Directory.Exists(_dir)) Directory.Delete(_dir, recursive: true);
    }

    // ---- round trip ---------------------------------------------------------------------

    [TestCase("digits_mlp", OnnxActivationType.Int8)]
    [TestCase("digits_mlp", OnnxActivationType.UInt8)]
    [TestCase("mnist_cnn", OnnxActivationType.Int8)]
    [TestCase("mnist_cnn", OnnxActivationType.UInt8)]
    [TestCase("fashion_mobilenet", OnnxActivationType.Int8)]
    [TestCase("fashion_mobilenet", OnnxActivationType.UInt8)]
    [TestCase("imu_gesture", OnnxActivationType.Int8)]
    [TestCase("imu_gesture", OnnxActivationType.UInt8)]
    [TestCase("mnist_qat", OnnxActivationType.UInt8)]
    public void ExportThenConvertGivesByteIdenticalInt8Outputs(string name, OnnxActivationType activations)
    {
        var originalBlob = File.ReadAllBytes(Path.Combine(RepoPaths.Zoo, "eqm", name + ".eqm"));
        var original = Model.Load(originalBlob);
        string onnx = Path.Combine(_dir, $"{name}.{activations}.qdq.onnx");
        File.WriteAllBytes(onnx, OnnxExporter.Export(original, new OnnxExportOptions { Activations = activations }).Bytes);

        var loaded = ModelConverter.Load(onnx);
        var result = ModelConverter.Convert(loaded, (SampleSet?)null);
        var again = Model.Load(result.Blob);
        Assert.That(again.Metadata["calibration"], Is.EqualTo("qdq: scales and zero points from the model"));

        // Same ops, same constants (weights, biases, multipliers, tables), same quantization.
        Assert.That(again.Ops.Count, Is.EqualTo(original.Ops.Count));
        for (int i = 0; i < original.Ops.Count; i++)
        {
            var a = original.Ops[i];
            var b = again.Ops[i];
            Assert.That(b.Type, Is.EqualTo(a.Type), $"op {i}");
            for (int k = 0; k < a.InputCount; k++)
            {
                if (original.Tensors[a.Input(k)].Storage != TensorStorage.Constant) continue;
                Assert.That(again.GetConstantBytes(b.Input(k)).ToArray(), Is.EqualTo(original.GetConstantBytes(a.Input(k)).ToArray()), $"op {i} ({a.Type}) constant input {k}");
            }
            Assert.That(result.Blob.AsSpan(b.ParamsOffset, b.ParamsBytes).ToArray(), Is.EqualTo(originalBlob.AsSpan(a.ParamsOffset, a.ParamsBytes).ToArray()),
                $"op {i} ({a.Type}) parameters (multipliers, shifts, offsets, clamps)");
        }

        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, name + ".test.npy")).ToPhysical(loaded);
        var x = new Interpreter(original);
        var y = new Interpreter(again);
        Assert.That(y.GetInputQuantization(), Is.EqualTo(x.GetInputQuantization()));
        Assert.That(y.GetOutputQuantization(), Is.EqualTo(x.GetOutputQuantization()));
        int n = Math.Min(RoundTripSamples, test.Count);
        for (int s = 0; s < n; s++)
        {
            x.SetInput(test[s]);
            y.SetInput(test[s]);
            x.Invoke();
            y.Invoke();
            Assert.That(y.GetOutput().ToArray(), Is.EqualTo(x.GetOutput().ToArray()), $"{name}: int8 outputs of sample {s}");
        }
    }

    // ---- the QAT zoo model ---------------------------------------------------------------

    [Test]
    public void QatModelConvertsWithoutCalibrationAndMatchesTorchsInt8Accuracy()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "mnist_qat.onnx"));
        var result = ModelConverter.Convert(loaded, (SampleSet?)null);
        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, "mnist_qat.test.npy"));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, "mnist_qat.test_labels.npy")).Int64s!;
        double ours = 100 * ZooConversionTests.Accuracy(ModelRunner.FromModel(Model.Load(result.Blob)).Run(test), labels);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Zoo, "mnist_qat.json")));
        double torchInt8 = json.RootElement.GetProperty("torch_qat_int8_accuracy").GetDouble();
        double torchFakeQuant = json.RootElement.GetProperty("float_accuracy_torch").GetDouble();
        TestContext.Out.WriteLine($"mnist_qat: EdgeQuant int8 {ours:F2}%, torch int8 {torchInt8:F2}%, torch fake-quant {torchFakeQuant:F2}%, {result.Blob.Length:N0} B");
        Assert.That(ours, Is.EqualTo(torchInt8).Within(0.2 + 1e-9), "top-1 equals torch's own int8 evaluation within 0.2 point");

        // The model's own quantization, not a calibrated one: the input scale is the QuantStub's.
        var input = new Interpreter(Model.Load(result.Blob)).GetInputQuantization();
        var stripped = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "mnist_qat.onnx"));
        var a = QdqPatterns.Of(stripped.Onnx)!;
        Assert.That(a.Activations["input"].Scale, Is.EqualTo(input.Scale));
        Assert.That(a.Activations["input"].ZeroPoint, Is.EqualTo(input.ZeroPoint));
    }

    [Test]
    public void QatModelAgreesWithOnnxRuntimeRunningTheQdqGraph()
    {
        // tests/zoo/mnist_qat.ort_outputs.npy: onnxruntime (float QDQ semantics, one rounding per
        // requantization) on the first 100 test images; the runtime requantizes in fixed point.
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "mnist_qat.onnx"));
        var model = Model.Load(ModelConverter.Convert(loaded, (SampleSet?)null).Blob);
        var ort = Npy.Read(Path.Combine(RepoPaths.Zoo, "mnist_qat.ort_outputs.npy"));
        var expected = ort.ToFloatArray();
        int n = ort.Shape[0];
        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, "mnist_qat.test.npy")).ToPhysical(loaded);
        var interp = new Interpreter(model);
        var (scale, _) = interp.GetOutputQuantization();
        var y = new float[10];
        int agree = 0;
        double maxSteps = 0;
        for (int s = 0; s < n; s++)
        {
            interp.SetInput(test[s]);
            interp.Invoke();
            interp.GetOutput(y);
            int a = 0, b = 0;
            for (int k = 0; k < 10; k++)
            {
                maxSteps = Math.Max(maxSteps, Math.Abs(y[k] - expected[s * 10 + k]) / scale);
                if (y[k] > y[a]) a = k;
                if (expected[s * 10 + k] > expected[s * 10 + b]) b = k;
            }
            if (a == b) agree++;
        }
        TestContext.Out.WriteLine($"mnist_qat vs ONNX Runtime on {n} samples: top-1 agreement {agree}/{n}, max difference {maxSteps:F2} output steps");
        Assert.That(agree, Is.EqualTo(n), "same top-1 as onnxruntime on every sample");
        Assert.That(maxSteps, Is.LessThanOrEqualTo(2.0 + 1e-6), "outputs within two quantization steps of onnxruntime's");
    }

    [Test]
    public void CalibrationDataDoesNotChangeAFullyQuantizedQdqModel()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "mnist_qat.onnx"));
        var without = ModelConverter.Convert(loaded, (SampleSet?)null);
        var with = ModelConverter.Convert(loaded, ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, "mnist_qat.calib.npy")), new ConvertOptions { ReportSamples = 8 });
        Assert.That(with.Blob, Is.EqualTo(without.Blob));
        Assert.That(with.Report.SqnrSamples, Is.EqualTo(8));
        Assert.That(without.Report.SqnrSamples, Is.Zero);
        Assert.That(double.IsNaN(without.Report.Layers[0].SqnrDb), "no samples, no SQNR");
    }

    // ---- small models --------------------------------------------------------------------

    private static TensorProto Ints(string name, OnnxDataType type, int[] shape, params long[] values)
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        foreach (int d in shape) t.Dims.Add(d);
        var raw = new byte[values.Length * (type == OnnxDataType.Int32 ? 4 : 1)];
        for (int i = 0; i < values.Length; i++)
        {
            if (type == OnnxDataType.Int32) BitConverter.TryWriteBytes(raw.AsSpan(i * 4), (int)values[i]);
            else raw[i] = unchecked((byte)values[i]);
        }
        t.RawData = ByteString.CopyFrom(raw);
        return t;
    }

    private static readonly long[] WeightCodes = [12, -128, 127, 0, -5, 64, 33, -77];

    /// <summary>
    /// input [1,4] -> Q/DQ (uint8, zero point <paramref name="inputZp"/>) -> Gemm with int8 weights
    /// [2,4] per channel and an int32 bias -> Relu -> Q/DQ -> output.
    /// </summary>
    private static TestModelBuilder Fc(long inputZp = 130, long weightZp = 0, float dqScale = 0.05f, bool outputQdq = true)
    {
        var b = new TestModelBuilder()
            .Input("x", 1, 4).Output("y", 1, 2)
            .FloatInitializer("x_s", [], 0.05f).Initializer(Ints("x_z", OnnxDataType.UInt8, [], inputZp))
            .Initializer(Ints("w", OnnxDataType.Int8, [2, 4], WeightCodes))
            .FloatInitializer("w_s", [2], 0.01f, 0.02f).Initializer(Ints("w_z", OnnxDataType.Int8, [2], weightZp, weightZp))
            .Initializer(Ints("b", OnnxDataType.Int32, [2], 1000, -2000))
            .FloatInitializer("b_s", [2], 0.05f * 0.01f, 0.05f * 0.02f).Initializer(Ints("b_z", OnnxDataType.Int32, [2], 0, 0))
            .FloatInitializer("y_s", [], 0.1f).Initializer(Ints("y_z", OnnxDataType.UInt8, [], 0))
            .Node("QuantizeLinear", ["x", "x_s", "x_z"], ["xq"], "quant_x")
            .Node("DequantizeLinear", ["xq", "x_s", "x_z"], ["xd"], "dequant_x")
            .Node("DequantizeLinear", ["w", "w_s", "w_z"], ["wd"], "dequant_w", Attr("axis", 0L))
            .Node("DequantizeLinear", ["b", "b_s", "b_z"], ["bd"], "dequant_b", Attr("axis", 0L))
            .Node("Gemm", ["xd", "wd", "bd"], ["g"], "fc", Attr("transB", 1L))
            .Node("Relu", ["g"], [outputQdq ? "r" : "y"], "relu");
        if (outputQdq)
        {
            b.FloatInitializer("y_s2", [], dqScale)
                .Node("QuantizeLinear", ["r", "y_s", "y_z"], ["rq"], "quant_r")
                .Node("DequantizeLinear", ["rq", "y_s2", "y_z"], ["y"], "dequant_r");
        }
        return b;
    }

    private LoadedModel Load(TestModelBuilder b, string name)
    {
        string path = Path.Combine(_dir, name + ".onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return ModelConverter.Load(path);
    }

    private static ConversionException ConvertFails(Func<LoadedModel> load, SampleSet? calibration = null) =>
        Assert.Throws<ConversionException>(() => ModelConverter.Convert(load(), calibration))!;

    [Test]
    public void Uint8ActivationsMapExactlyToInt8AndWeightsAndBiasAreKept()
    {
        var r = ModelConverter.Convert(Load(Fc(dqScale: 0.1f), "fc_ok"), (SampleSet?)null);
        var m = Model.Load(r.Blob);
        var interp = new Interpreter(m);
        Assert.That(interp.GetInputQuantization(), Is.EqualTo((0.05f, 2)), "uint8 zero point 130 is int8 2");
        Assert.That(interp.GetOutputQuantization(), Is.EqualTo((0.1f, -128)), "uint8 zero point 0 is int8 -128");
        var fc = m.Ops[0];
        Assert.That(fc.Type, Is.EqualTo(OpType.FullyConnected));
        var codes = m.GetConstantBytes(fc.Input1).ToArray().Select(v => (long)(sbyte)v).ToArray();
        Assert.That(codes, Is.EqualTo(WeightCodes), "int8 weights exactly as stored, -128 included");
        var filter = m.Tensors[fc.Input1];
        Assert.That(m.GetScale(filter.QuantIndex, 0), Is.EqualTo(0.01f));
        Assert.That(m.GetScale(filter.QuantIndex, 1), Is.EqualTo(0.02f));
        var bias = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(m.GetConstantBytes(fc.Input2)).ToArray();
        Assert.That(bias, Is.EqualTo(new[] { 1000, -2000 }));

        // The runtime computes what the QDQ graph means: dequantize, Gemm, Relu, quantize (within one step).
        var xs = new float[] { 0.3f, -1.2f, 2.0f, 0.05f };
        interp.SetInput(xs);
        interp.Invoke();
        var xq = xs.Select(v => (Math.Clamp(Math.Round(v / 0.05, MidpointRounding.ToEven) + 130, 0, 255) - 130) * 0.05).ToArray();
        for (int o = 0; o < 2; o++)
        {
            double acc = (o == 0 ? 1000 : -2000) * 0.05 * (o == 0 ? 0.01 : 0.02);
            for (int i = 0; i < 4; i++) acc += xq[i] * WeightCodes[o * 4 + i] * (o == 0 ? 0.01 : 0.02);
            int want = (int)Math.Clamp(Math.Round(Math.Max(acc, 0) / 0.1) - 128, -128, 127);
            Assert.That((int)interp.GetOutput()[o], Is.EqualTo(want).Within(1), $"output {o}");
        }
    }

    [Test]
    public void MismatchedPairIsRefusedNamingTheNode()
    {
        var e = ConvertFails(() => Load(Fc(dqScale: 0.2f), "fc_mismatch"));
        Assert.That(e.Message, Does.Contain("dequant_r").And.Contain("same parameters"));
    }

    [Test]
    public void AsymmetricWeightsAreRefusedNamingTheNode()
    {
        var e = ConvertFails(() => Load(Fc(weightZp: 3, dqScale: 0.1f), "fc_asym"));
        Assert.That(e.Message, Does.Contain("'fc'").And.Contain("zero point 3").And.Contain("symmetric"));
    }

    [Test]
    public void UnquantizedActivationNeedsCalibrationDataAndIsCalibratedWithIt()
    {
        var e = ConvertFails(() => Load(Fc(outputQdq: false), "fc_noout"));
        Assert.That(e.Message, Does.Contain("'y'").And.Contain("--calib"));

        var data = new float[16 * 4];
        var rng = new Random(5);
        for (int i = 0; i < data.Length; i++) data[i] = (float)(rng.NextDouble() * 4 - 2);
        var r = ModelConverter.Convert(Load(Fc(outputQdq: false), "fc_noout2"), new SampleSet(data, [16, 4], "random"));
        var m = Model.Load(r.Blob);
        Assert.That(new Interpreter(m).GetInputQuantization(), Is.EqualTo((0.05f, 2)), "the model's own input quantization is kept");
        Assert.That(m.Metadata["calibration"], Does.Contain("1 activation(s)"));
    }

    [Test]
    public void DequantizeOfAComputedValueWithoutQuantizeIsRefused()
    {
        var b = new TestModelBuilder().Input("x", 1, 4).Output("y", 1, 4)
            .FloatInitializer("s", [], 0.1f).Initializer(Ints("z", OnnxDataType.Int8, [], 0))
            .Node("Relu", ["x"], ["r"], "relu")
            .Node("DequantizeLinear", ["r", "s", "z"], ["y"], "lonely_dq");
        var e = Assert.Throws<ConversionException>(() => b.Import())!;
        Assert.That(e.Message, Does.Contain("lonely_dq").And.Contain("without a QuantizeLinear"));
    }

    [Test]
    public void QuantizedValueReadByAnotherOpIsRefused()
    {
        var b = new TestModelBuilder().Input("x", 1, 4).Output("y", 1, 4)
            .FloatInitializer("s", [], 0.1f).Initializer(Ints("z", OnnxDataType.Int8, [], 0))
            .Node("QuantizeLinear", ["x", "s", "z"], ["q"], "quant_x")
            .Node("Relu", ["q"], ["y"], "relu_on_codes");
        var e = Assert.Throws<ConversionException>(() => b.Import())!;
        Assert.That(e.Message, Does.Contain("quant_x").And.Contain("relu_on_codes"));
    }

    [Test]
    public void PerAxisActivationScalesAreRefused()
    {
        var b = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2)
            .FloatInitializer("s", [2], 0.1f, 0.2f).Initializer(Ints("z", OnnxDataType.Int8, [2], 0, 0))
            .Node("QuantizeLinear", ["x", "s", "z"], ["q"], "quant_axis", Attr("axis", 1L))
            .Node("DequantizeLinear", ["q", "s", "z"], ["y"], "dequant_axis", Attr("axis", 1L));
        var e = Assert.Throws<ConversionException>(() => b.Import())!;
        Assert.That(e.Message, Does.Contain("quant_axis").And.Contain("per axis"));
    }

    [Test]
    public void DataMovementOpWithAnotherOutputQuantizationIsRefusedNamingTheNode()
    {
        var b = new TestModelBuilder().Input("x", 1, 1, 4, 4).Output("y", 1, 1, 2, 2)
            .FloatInitializer("s1", [], 0.1f).FloatInitializer("s2", [], 0.2f).Initializer(Ints("z", OnnxDataType.Int8, [], 0))
            .Node("QuantizeLinear", ["x", "s1", "z"], ["xq"], "qx")
            .Node("DequantizeLinear", ["xq", "s1", "z"], ["xd"], "dqx")
            .Node("MaxPool", ["xd"], ["p"], "pool", Attr("kernel_shape", 2L, 2L), Attr("strides", 2L, 2L))
            .Node("QuantizeLinear", ["p", "s2", "z"], ["pq"], "qp")
            .Node("DequantizeLinear", ["pq", "s2", "z"], ["y"], "dqp");
        var e = ConvertFails(() => Load(b, "pool_requant"));
        Assert.That(e.Message, Does.Contain("'pool'").And.Contain("cannot requantize"));
    }

    [Test]
    public void WeightFakeQuantOfAFloatInitializerRoundsHalfToEvenAndSaturates()
    {
        // torch's export: QuantizeLinear(float weights) -> DequantizeLinear. 0.25 / 0.1 = 2.5 rounds to 2,
        // 0.35 / 0.1 = 3.5 to 4, 100 saturates to 127.
        var b = new TestModelBuilder().Input("x", 1, 3).Output("y", 1, 1)
            .FloatInitializer("s", [], 0.5f).Initializer(Ints("z", OnnxDataType.UInt8, [], 128))
            .FloatInitializer("w", [1, 3], 0.25f, 0.35f, 100f).FloatInitializer("ws", [1], 0.1f).Initializer(Ints("wz", OnnxDataType.Int8, [1], 0))
            .Node("QuantizeLinear", ["x", "s", "z"], ["xq"], "qx")
            .Node("DequantizeLinear", ["xq", "s", "z"], ["xd"], "dqx")
            .Node("QuantizeLinear", ["w", "ws", "wz"], ["wq"], "qw", Attr("axis", 0L))
            .Node("DequantizeLinear", ["wq", "ws", "wz"], ["wd"], "dqw", Attr("axis", 0L))
            .Node("Gemm", ["xd", "wd"], ["g"], "fc", Attr("transB", 1L))
            .Node("QuantizeLinear", ["g", "s", "z"], ["gq"], "qg")
            .Node("DequantizeLinear", ["gq", "s", "z"], ["y"], "dqg");
        var loaded = Load(b, "fakequant");
        var a = QdqPatterns.Of(loaded.Onnx)!;
        Assert.That(a.Constants["wd"].Codes, Is.EqualTo(new long[] { 2, 4, 127 }));
        var m = Model.Load(ModelConverter.Convert(loaded, (SampleSet?)null).Blob);
        Assert.That(m.GetConstantBytes(m.Ops[0].Input1).ToArray().Select(v => (sbyte)v), Is.EqualTo(new sbyte[] { 2, 4, 127 }));
    }
}
