using System.Runtime.InteropServices;
using System.Text.Json;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Converter.Tests.Pipeline;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Quantization;

/// <summary>
/// Dynamic quantization (<see cref="DynamicQuantization"/>, runtime ops 40-46): the arithmetic
/// against ONNX Runtime running the same layer as DynamicQuantizeLinear → MatMulInteger / ConvInteger
/// → Cast → Mul → Add (how onnxruntime's quantize_dynamic writes it), and the zoo converted with
/// <c>--dynamic</c>.
/// </summary>
[TestFixture]
public sealed class DynamicQuantizationTests
{
    private static TensorProto Tensor<T>(string name, OnnxDataType type, int[] shape, T[] values) where T : unmanaged
    {
        var t = new TensorProto { Name = name, DataType = (int)type };
        foreach (int d in shape) t.Dims.Add(d);
        t.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        return t;
    }

    private static OrtValue[] RunOrt(byte[] model, float[] x, long[] shape, string[] outputs)
    {
        using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL };
        Export.Ort.ExactIntegerMatMul(options);
        using var session = new InferenceSession(model, options);
        using var input = OrtValue.CreateTensorValueFromMemory(x, shape);
        using var run = new RunOptions();
        using var results = session.Run(run, ["x"], [input], outputs);
        var copy = new OrtValue[results.Count];
        for (int i = 0; i < copy.Length; i++)
        {
            var info = results[i].GetTensorTypeAndShape();
            copy[i] = info.ElementDataType switch
            {
                TensorElementType.Float => OrtValue.CreateTensorValueFromMemory(results[i].GetTensorDataAsSpan<float>().ToArray(), info.Shape),
                TensorElementType.UInt8 => OrtValue.CreateTensorValueFromMemory(results[i].GetTensorDataAsSpan<byte>().ToArray(), info.Shape),
                _ => throw new AssertionException($"unexpected output type {info.ElementDataType}"),
            };
        }
        return copy;
    }

    /// <summary>Inputs that exercise the range rules: mixed signs, all positive (zero point 0), all negative (255), a constant, exact ties.</summary>
    private static IEnumerable<float[]> Inputs(int n, int seed)
    {
        var r = new Random(seed);
        float[] Make(Func<int, float> f) { var x = new float[n]; for (int i = 0; i < n; i++) x[i] = f(i); return x; }
        yield return Make(_ => (float)(r.NextDouble() * 6 - 2));
        yield return Make(_ => (float)(r.NextDouble() * 3));
        yield return Make(_ => (float)(-r.NextDouble() * 5));
        yield return Make(i => i % 3 == 0 ? 2.55f : i % 3 == 1 ? 0.015f : 0.025f);
        yield return Make(i => (i % 7 - 3) * 0.5f);
        yield return Make(_ => (float)(r.NextDouble() * 1e-3 - 5e-4));
    }

    /// <summary>Whether this is an x64 CPU without VNNI (neither AVX512_VNNI nor AVX-VNNI in CPUID leaf 7), where ORT's U8S8 products saturate.</summary>
    private static bool OrtU8S8Saturates()
    {
        if (!System.Runtime.Intrinsics.X86.X86Base.IsSupported)
            return false;
        var (_, _, ecx, _) = System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 0);
        var (eax1, _, _, _) = System.Runtime.Intrinsics.X86.X86Base.CpuId(7, 1);
        return (ecx & (1 << 11)) == 0 && (eax1 & (1 << 4)) == 0;
    }

    [Test]
    public void FullyConnectedMatchesOnnxRuntimeDynamicQuantizeLinearAndMatMulInteger()
    {
        const int batch = 2, cin = 37, cout = 5;
        var r = new Random(3);
        var w = new sbyte[cout * cin];
        // ORT's MatMulInteger multiplies u8 x s8 by VPMADDUBSW on x64 CPUs without VNNI, whose 16-bit pair sums saturate
        // from 2 x 255 x 65 on (session.x64quantprecision does not reach this kernel): there the weights stay within
        // [-64, 64], so that ORT is exact and stays the reference (the kernels' extremes are tested against the reference).
        int most = OrtU8S8Saturates() ? 64 : 127;
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)r.Next(-most, most + 1);
        var wt = new sbyte[cin * cout];
        for (int o = 0; o < cout; o++) for (int i = 0; i < cin; i++) wt[i * cout + o] = w[o * cin + i];
        float[] scales = [0.01f, 0.002f, 0.03f, 0.0071f, 0.015f];
        float[] bias = [0.5f, -1.25f, 0, 3.1f, -0.01f];
        var b = new TestModelBuilder().Input("x", batch, cin).Output("y", batch, cout);
        b.Graph.Output.Add(ValueInfo("xq", [batch, cin], OnnxDataType.UInt8));
        b.Graph.Output.Add(ValueInfo("xs", [], OnnxDataType.Float));
        b.Graph.Output.Add(ValueInfo("xz", [], OnnxDataType.UInt8));
        b.Initializer(Tensor("w", OnnxDataType.Int8, [cin, cout], wt))
            .FloatInitializer("ws", [cout], scales).FloatInitializer("bias", [cout], bias)
            .Node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "dql")
            .Node("MatMulInteger", ["xq", "w", "xz"], ["acc"], "mmi")
            .Node("Cast", ["acc"], ["accf"], "cast", Attr("to", (long)OnnxDataType.Float))
            .Node("Mul", ["xs", "ws"], ["s"], "scale")
            .Node("Mul", ["accf", "s"], ["m"], "rescale")
            .Node("Add", ["m", "bias"], ["y"], "bias_add");
        var model = b.ToBytes();

        int cases = 0;
        foreach (var x in Inputs(batch * cin, 11))
        {
            var ort = RunOrt(model, x, [batch, cin], ["y", "xq", "xs", "xz"]);
            var codes = new byte[x.Length];
            DynamicQuantize.QuantizeU8(x, codes, out float scale, out int zp);
            Assert.That(codes, Is.EqualTo(ort[1].GetTensorDataAsSpan<byte>().ToArray()), $"case {cases}: codes");
            Assert.That(scale, Is.EqualTo(ort[2].GetTensorDataAsSpan<float>()[0]), $"case {cases}: scale");
            Assert.That(zp, Is.EqualTo(ort[3].GetTensorDataAsSpan<byte>()[0]), $"case {cases}: zero point");
            foreach (bool fast in new[] { false, true })
            {
                var y = new float[batch * cout];
                if (fast) DynamicFullyConnected.EvalF32(x, batch, cin, w, cout, scales, bias, float.NegativeInfinity, float.PositiveInfinity, new byte[x.Length], y);
                else DynamicFullyConnected.EvalF32Reference(x, batch, cin, w, cout, scales, bias, float.NegativeInfinity, float.PositiveInfinity, new byte[x.Length], y);
                Assert.That(y, Is.EqualTo(ort[0].GetTensorDataAsSpan<float>().ToArray()), $"case {cases}: outputs (fast path {fast}) equal ONNX Runtime's bit for bit");
            }
            foreach (var v in ort) v.Dispose();
            cases++;
        }
        Assert.That(cases, Is.EqualTo(6));
    }

    [Test]
    public void ConvolutionMatchesOnnxRuntimeDynamicQuantizeLinearAndConvInteger()
    {
        const int cin = 5, h = 6, w = 7, cout = 4, k = 3;
        var r = new Random(4);
        var filter = new sbyte[cout * k * k * cin];   // ours: [Cout, Kh, Kw, Cin]
        for (int i = 0; i < filter.Length; i++) filter[i] = (sbyte)r.Next(-127, 128);
        var oihw = new sbyte[filter.Length];
        for (int o = 0; o < cout; o++) for (int c = 0; c < cin; c++) for (int a = 0; a < k; a++) for (int bb = 0; bb < k; bb++)
            oihw[((o * cin + c) * k + a) * k + bb] = filter[((o * k + a) * k + bb) * cin + c];
        float[] scales = [0.01f, 0.004f, 0.02f, 0.007f];
        float[] bias = [0.1f, -0.2f, 0.3f, 0f];
        var b = new TestModelBuilder().Input("x", 1, cin, h, w).Output("y", 1, cout, 3, 3);
        b.Initializer(Tensor("w", OnnxDataType.Int8, [cout, cin, k, k], oihw))
            .FloatInitializer("ws", [1, cout, 1, 1], scales).FloatInitializer("bias", [1, cout, 1, 1], bias)
            .Node("DynamicQuantizeLinear", ["x"], ["xq", "xs", "xz"], "dql")
            .Node("ConvInteger", ["xq", "w", "xz"], ["acc"], "convi", Attr("pads", 1L, 0L, 1L, 1L), Attr("strides", 2L, 2L))
            .Node("Cast", ["acc"], ["accf"], "cast", Attr("to", (long)OnnxDataType.Float))
            .Node("Mul", ["xs", "ws"], ["s"], "scale")
            .Node("Mul", ["accf", "s"], ["m"], "rescale")
            .Node("Add", ["m", "bias"], ["y"], "bias_add");
        var model = b.ToBytes();
        var p = new DynamicConvParams
        {
            StrideH = 2, StrideW = 2, DilationH = 1, DilationW = 1, PadTop = 1, PadLeft = 0, PadBottom = 1, PadRight = 1,
            DepthMultiplier = 1, ActivationMin = float.NegativeInfinity, ActivationMax = float.PositiveInfinity,
        };
        int cases = 0;
        foreach (var nchw in Inputs(cin * h * w, 12))
        {
            var ort = RunOrt(model, nchw, [1, cin, h, w], ["y"]);
            var nhwc = new float[nchw.Length];
            for (int c = 0; c < cin; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) nhwc[(y * w + x) * cin + c] = nchw[(c * h + y) * w + x];
            var expected = ort[0].GetTensorDataAsSpan<float>().ToArray();
            foreach (bool fast in new[] { false, true })
            {
                var o = new float[3 * 3 * cout];
                if (fast) DynamicConv2D.EvalF32(p, false, nhwc, new(1, h, w, cin), filter, new(cout, k, k, cin), scales, bias, new byte[nhwc.Length], o, new(1, 3, 3, cout));
                else DynamicConv2D.EvalF32Reference(p, false, nhwc, new(1, h, w, cin), filter, new(cout, k, k, cin), scales, bias, new byte[nhwc.Length], o, new(1, 3, 3, cout));
                var oNchw = new float[o.Length];
                for (int c = 0; c < cout; c++) for (int y = 0; y < 3; y++) for (int x = 0; x < 3; x++) oNchw[(c * 3 + y) * 3 + x] = o[(y * 3 + x) * cout + c];
                Assert.That(oNchw, Is.EqualTo(expected), $"case {cases} (fast path {fast}) equals ONNX Runtime bit for bit");
            }
            ort[0].Dispose();
            cases++;
        }
        Assert.That(cases, Is.EqualTo(6));
    }

    public static readonly string[] Zoo = ["digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture"];

    [TestCaseSource(nameof(Zoo))]
    public void ZooModelConvertsWithoutCalibrationWithinHalfAPointOfFloat(string name)
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, name + ".onnx"));
        var r = DynamicQuantization.Convert(loaded);
        var model = Model.Load(r.Blob);
        Assert.That(model.Metadata["calibration"], Does.StartWith("none: dynamic"));
        Assert.That(model.Ops.Any(o => o.Type is OpType.DynamicConv2D or OpType.DynamicFullyConnected), "uses the dynamic ops");
        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, name + ".test.npy"));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, name + ".test_labels.npy")).Int64s!;
        double acc = 100 * ZooConversionTests.Accuracy(ModelRunner.FromModel(model).Run(test), labels);
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Zoo, name + ".json")));
        double floatAcc = json.RootElement.GetProperty("float_accuracy_torch").GetDouble();
        TestContext.Out.WriteLine($"{name}: dynamic {acc:F2}% (float {floatAcc:F2}%), blob {r.Blob.Length:N0} B, arena {model.ArenaBytes:N0} B");
        Assert.That(floatAcc - acc, Is.LessThanOrEqualTo(0.5), "top-1 within half a point of float");

        // Fast kernels and the reference give the same bytes on real data; Invoke allocates nothing.
        var samples = test.ToPhysical(loaded);
        var fast = new Interpreter(model);
        var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        int n = model.Tensors[model.Outputs[0].TensorIndex].ElementCount;
        var a = new float[n];
        var b = new float[n];
        for (int s = 0; s < Math.Min(50, samples.Count); s++)
        {
            fast.SetInput(samples[s]);
            reference.SetInput(samples[s]);
            long before = GC.GetAllocatedBytesForCurrentThread();
            fast.Invoke();
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "allocation per Invoke");
            reference.Invoke();
            fast.GetOutput(a);
            reference.GetOutput(b);
            Assert.That(MemoryMarshal.AsBytes(a.AsSpan()).ToArray(), Is.EqualTo(MemoryMarshal.AsBytes(b.AsSpan()).ToArray()), $"sample {s}");
        }
    }

    [Test]
    public void UnsupportedOpIsNamed()
    {
        var b = new TestModelBuilder().Input("x", 1, 4).Output("y", 1, 4)
            .FloatInitializer("w", [4, 4], new float[16]).Node("Gemm", ["x", "w"], ["g"], "fc", Attr("transB", 1L))
            .Node("Sigmoid", ["g"], ["y"], "squash");
        string path = Path.Combine(Path.GetTempPath(), $"edgequant-dyn-{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, b.ToBytes());
        try
        {
            var e = Assert.Throws<ConversionException>(() => DynamicQuantization.Convert(ModelConverter.Load(path)))!;
            Assert.That(e.Message, Does.Contain("squash").And.Contain("--dynamic"));
        }
        finally { File.Delete(path); }
    }
}
