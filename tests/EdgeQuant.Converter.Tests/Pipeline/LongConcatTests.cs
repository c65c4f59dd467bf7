using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>Concatenations of more than the runtime op's four inputs are chained.</summary>
[TestFixture]
public class LongConcatTests
{
    [Test]
    public void SixWayChannelConcatMatchesOnnx()
    {
        var r = new Random(6);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var b = new TestModelBuilder().Input("input", -1, 2, 5, 5).Output("out", -1, 12, 5, 5);
        var names = new List<string>();
        for (int i = 0; i < 6; i++)
        {
            b.FloatInitializer($"w{i}", [2, 2, 1, 1], Rand(4));
            b.Node("Conv", ["input", $"w{i}"], [$"c{i}"], $"conv{i}");
            names.Add($"c{i}");
        }
        b.Node("Concat", names.ToArray(), ["out"], "cat", TestModelBuilder.Attr("axis", 1L));
        string path = Path.Combine(Path.GetTempPath(), "concat6.onnx");
        File.WriteAllBytes(path, b.ToBytes());
        var loaded = ModelConverter.Load(path);
        Assert.That(loaded.Ir.Ops.Count(o => o.Type == OpType.Concatenation), Is.EqualTo(2));
        var data = Rand(16 * 50);
        var samples = new SampleSet(data, [16, 2, 5, 5], "random");
        var want = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, 16);
        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 2 });
        var got = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        var floatGot = Evaluation.ModelRunner.FromLoaded(loaded).Run(samples);
        Assert.That(floatGot, Is.EqualTo(want).Within(1e-5));
        Assert.That(Metrics.SqnrDb(want, got), Is.GreaterThan(30));
    }
}
