using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Softmax over any axis: one axis from opset 13, the 2-D coercion (flatten from the axis on)
/// before it. Checked against the definition written out here, lowered vs float, int8 vs float.
/// </summary>
[TestFixture]
public class SoftmaxAxisTests
{
    [TestCase(13, new[] { 3, 4, 5 }, 1)]
    [TestCase(13, new[] { 3, 4, 5 }, 2)]
    [TestCase(13, new[] { 3, 4, 5 }, 3)]
    [TestCase(13, new[] { 3, 4, 5 }, -3)]
    [TestCase(13, new[] { 6, 7 }, 1)]
    [TestCase(13, new[] { 6, 7 }, -1)]
    [TestCase(11, new[] { 3, 4, 5 }, 1)]
    [TestCase(11, new[] { 3, 4, 5 }, 2)]
    [TestCase(11, new[] { 3, 4, 5 }, 3)]
    [TestCase(11, new[] { 6, 7 }, 1)]
    public void SoftmaxOverAnyAxisMatchesDefinitionLowersAndQuantizes(int opset, int[] dims, int axis)
    {
        int rank = dims.Length + 1;
        int a = axis < 0 ? axis + rank : axis;
        long[] shape = [-1, .. dims.Select(d => (long)d)];
        var bytes = new TestModelBuilder(opset)
            .Input("input", shape).Output("out", shape)
            .FloatInitializer("k", [1], 3f)
            .Node("Mul", ["input", "k"], ["x"], "scale")
            .Node("Softmax", ["x"], ["out"], "softmax", Attr("axis", (long)axis))
            .ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"eq_softmax_{opset}_{rank}_{axis}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, bytes);
        LoadedModel loaded;
        try
        {
            loaded = ModelConverter.Load(path);
        }
        finally
        {
            File.Delete(path);
        }

        int n = 16, per = dims.Aggregate(1, (p, d) => p * d);
        var r = new Random(opset * 100 + rank * 10 + a);
        var data = Enumerable.Range(0, n * per).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var want = new float[data.Length];
        int[] full = [1, .. dims];
        // Softmax over [axis] (opset 13) or over all dims from axis on (before 13), per sample.
        int inner = 1, span = 1;
        for (int d = a + 1; d < rank; d++) inner *= full[d];
        span = opset >= 13 ? full[a] : full.Skip(a).Aggregate(1, (p, d) => p * d);
        if (opset < 13) inner = 1;
        int outer = per / (span * inner);
        for (int s = 0; s < n; s++)
        {
            for (int o = 0; o < outer; o++)
            {
                for (int i = 0; i < inner; i++)
                {
                    int Index(int j) => s * per + (o * span + j) * inner + i;
                    double max = double.NegativeInfinity, sum = 0;
                    for (int j = 0; j < span; j++) max = Math.Max(max, 3.0 * data[Index(j)]);
                    for (int j = 0; j < span; j++) sum += Math.Exp(3.0 * data[Index(j)] - max);
                    for (int j = 0; j < span; j++) want[Index(j)] = (float)(Math.Exp(3.0 * data[Index(j)] - max) / sum);
                }
            }
        }

        var samples = new SampleSet(data, [n, .. dims], "random");
        var onnx = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, n);
        for (int i = 0; i < want.Length; i++) Assert.That(onnx[i], Is.EqualTo(want[i]).Within(1e-5), $"float executor, element {i}");

        Assert.That(loaded.Ir.Ops.Count(o => o.Type == OpType.Softmax), Is.EqualTo(1));
        var exec = new IrExecutor(loaded.Ir);
        var outShape = loaded.Ir.SourceShapes[loaded.Output];
        for (int s = 0; s < n; s++)
        {
            var got = Layouts.ToSource(exec.Run(Layouts.ToPhysical(samples.Sample(s), loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], outShape, loaded.Ir.Layouts[loaded.Output]);
            for (int i = 0; i < per; i++) Assert.That(got[i], Is.EqualTo(want[s * per + i]).Within(1e-5), $"lowered graph, sample {s} element {i}");
        }

        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 2 });
        var int8 = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        double worst = 0;
        for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(int8[i] - want[i]));
        Assert.That(worst, Is.LessThan(4.0 / 256), "int8 probabilities (output step 1/256) within a few steps of float");
    }
}
