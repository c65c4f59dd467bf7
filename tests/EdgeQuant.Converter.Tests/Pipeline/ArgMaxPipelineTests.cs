using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// ArgMax end to end against onnxruntime: the float executor equals onnxruntime's int64 indices;
/// the int8 blob (runtime ArgMax, output scale 1) equals the float argmax of the input as int8 sees it
/// (quantization is monotone; ties it creates go to the first index), fast kernels equal the reference,
/// and the QDQ export run by onnxruntime gives the interpreter's indices.
/// </summary>
public class ArgMaxPipelineTests
{
    private static byte[] Model(long[] inDims, long[] outDims, params AttributeProto[] attributes)
    {
        var b = new TestModelBuilder().Input("x", inDims);
        b.Graph.Output.Add(ValueInfo("y", outDims, OnnxDataType.Int64));
        return b.Node("ArgMax", ["x"], ["y"], "argmax", attributes).ToBytes();
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("last_axis_no_keepdims", Model([-1, 12], [-1], Attr("axis", -1L), Attr("keepdims", 0L)), new[] { 12 });
        yield return new TestCaseData("channels_keepdims", Model([-1, 6, 3, 5], [-1, 1, 3, 5], Attr("axis", 1L)), new[] { 6, 3, 5 });
        yield return new TestCaseData("rows_select_last", Model([-1, 7, 20], [-1, 20], Attr("axis", 1L), Attr("keepdims", 0L), Attr("select_last_index", 1L)), new[] { 7, 20 });
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesOnnxRuntimeAtEveryStage(string name, byte[] onnx, int[] dims)
    {
        const int samples = 16;
        int per = dims.Aggregate(1, (p, d) => p * d);
        var r = new Random(name.Length * 7919);
        var data = new float[samples * per];
        for (int i = 0; i < data.Length; i++) data[i] = (float)Math.Round((r.NextDouble() * 4) - 2, 2);
        string path = Path.Combine(Path.GetTempPath(), $"eq_argmax_{name}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            var loaded = ModelConverter.Load(path);
            var exec = new OnnxFloatExecutor(loaded.Onnx);
            var result = ModelConverter.Convert(loaded, new SampleSet(data, [samples, .. dims], "random"), new ConvertOptions { ReportSamples = 1 });
            var model = EdgeQuant.Runtime.Model.Load(result.Blob);
            Assert.That(model.Ops.Select(o => o.Type), Does.Contain(OpType.ArgMax));
            var fast = new Interpreter(model);
            var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
            var (inScale, inZero) = fast.GetInputQuantization();
            var export = OnnxExporter.Export(model, new OnnxExportOptions { DynamicBatch = false });
            using var session = Export.Ort.ExactSession(onnx);
            using var exported = Export.Ort.ExactSession(export.Bytes);
            var source = loaded.Ir.SourceShapes[loaded.Output];
            for (int s = 0; s < samples; s++)
            {
                var sample = data.AsSpan(s * per, per).ToArray();
                using var x = OrtValue.CreateTensorValueFromMemory(sample, [1, .. dims.Select(d => (long)d)]);
                using var ro = new RunOptions();
                using var ort = session.Run(ro, ["x"], [x], ["y"]);
                var want = ort[0].GetTensorDataAsSpan<long>().ToArray().Select(v => (float)v).ToArray();
                Assert.That(exec.Run(sample, [1, .. dims]), Is.EqualTo(want), $"{name}: float executor vs onnxruntime, sample {s}");

                var physical = Layouts.ToPhysical(sample, loaded.InputSourceShape, loaded.InputLayout);
                fast.SetInput(physical);
                fast.Invoke();
                reference.SetInput(physical);
                reference.Invoke();
                Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()), $"{name}: fast vs reference kernels, sample {s}");
                var got = new float[fast.GetOutput().Length];
                fast.GetOutput(got);
                var indices = Layouts.ToSource(got, source, model.Outputs[0].Layout);
                var rounded = sample.Select(v => inScale * (Math.Clamp(MathF.Round(v / inScale) + inZero, -128, 127) - inZero)).ToArray();
                Assert.That(indices, Is.EqualTo(exec.Run(rounded, [1, .. dims])), $"{name}: int8 vs the float argmax of the int8 input, sample {s}");

                var exportInput = export.Inputs[0].Layout == "NHWC" ? physical : sample;
                using var ex = OrtValue.CreateTensorValueFromMemory(exportInput, export.Inputs[0].Shape.Select(d => (long)d).ToArray());
                using var exportResults = exported.Run(ro, [exported.InputNames[0]], [ex], [exported.OutputNames[0]]);
                var y = exportResults[0].GetTensorDataAsSpan<float>().ToArray();
                var expectedExport = export.Outputs[0].Layout == "NCHW" ? indices : got;
                Assert.That(y, Is.EqualTo(expectedExport), $"{name}: QDQ export in onnxruntime vs interpreter, sample {s}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void AnAxisLongerThan256IsRefusedForInt8()
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq_argmax_long_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, Model([-1, 300], [-1, 1], Attr("axis", 1L)));
        try
        {
            var e = Assert.Throws<ConversionException>(() => ModelConverter.Load(path));
            Assert.That(e!.Message, Does.Contain("axis 1 has 300 values; the int8 ArgMax returns indices 0 to 255"));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
