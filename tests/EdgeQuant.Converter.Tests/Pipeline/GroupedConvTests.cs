using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>Grouped convolutions (1 &lt; group &lt; channels) lower to one Conv2D with block-diagonal weights.</summary>
[TestFixture]
public class GroupedConvTests
{
    [TestCase(2, 4, 6)]
    [TestCase(4, 8, 8)]
    [TestCase(3, 6, 3)]
    public void GroupedConvolutionMatchesOnnxAndQuantizesWell(int group, int cin, int cout)
    {
        var r = new Random(group * 100 + cin);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        int cg = cin / group;
        var bytes = new TestModelBuilder()
            .Input("input", -1, cin, 9, 7).Output("out", -1, cout, 5, 3)
            .FloatInitializer("w", [cout, cg, 3, 3], Rand(cout * cg * 9))
            .FloatInitializer("b", [cout], Rand(cout))
            .Node("Conv", ["input", "w", "b"], ["out"], "grouped", TestModelBuilder.Attr("group", (long)group),
                TestModelBuilder.Attr("strides", 2L, 2L), TestModelBuilder.Attr("pads", 1L, 1L, 1L, 0L))
            .ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"grouped_{group}_{cin}_{cout}.onnx");
        File.WriteAllBytes(path, bytes);
        var loaded = ModelConverter.Load(path);
        Assert.That(loaded.Ir.Ops.Single().Type, Is.EqualTo(OpType.Conv2D));

        int n = 32;
        var data = Rand(n * cin * 9 * 7);
        var samples = new SampleSet(data, [n, cin, 9, 7], "random");
        var onnx = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, n);
        var exec = new IrExecutor(loaded.Ir);
        var outShape = loaded.Ir.SourceShapes[loaded.Output];
        int per = onnx.Length / n;
        for (int s = 0; s < n; s++)
        {
            var got = Layouts.ToSource(exec.Run(Layouts.ToPhysical(samples.Sample(s), loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], outShape, loaded.Ir.Layouts[loaded.Output]);
            for (int i = 0; i < per; i++) Assert.That(got[i], Is.EqualTo(onnx[s * per + i]).Within(1e-4), $"sample {s} element {i}");
        }

        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 4 });
        var int8 = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        Assert.That(Metrics.SqnrDb(onnx, int8), Is.GreaterThan(30), "int8 output SQNR, dB");
    }
}

