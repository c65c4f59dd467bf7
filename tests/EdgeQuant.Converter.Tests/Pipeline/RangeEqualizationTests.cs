using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Range equalization of a depthwise convolution feeding a convolution: the float function is
/// unchanged, and a depthwise output channel far wider than the others no longer costs the
/// others their resolution.
/// </summary>
[TestFixture]
public class RangeEqualizationTests
{
    /// <summary>Depthwise 3x3 (4 channels; channel 2's weights x40 and bias -150) then a 1x1 conv 4 -> 6, then Relu.</summary>
    private static LoadedModel WideChannelModel(string tag)
    {
        var r = new Random(11);
        float[] Rand(int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
        var dw = Rand(4 * 9);
        for (int i = 2 * 9; i < 3 * 9; i++) dw[i] *= 40f;
        var dwBias = Rand(4);
        dwBias[2] = -150f;
        var pw = Rand(6 * 4);
        for (int o = 0; o < 6; o++) pw[o * 4 + 2] *= 0.02f;
        var bytes = new TestModelBuilder()
            .Input("input", -1, 4, 10, 10).Output("out", -1, 6, 10, 10)
            .FloatInitializer("dw", [4, 1, 3, 3], dw).FloatInitializer("dwb", [4], dwBias)
            .FloatInitializer("pw", [6, 4, 1, 1], pw).FloatInitializer("pwb", [6], Rand(6))
            .Node("Conv", ["input", "dw", "dwb"], ["d"], "depthwise", Attr("group", 4L), Attr("pads", 1L, 1L, 1L, 1L))
            .Node("Conv", ["d", "pw", "pwb"], ["p"], "pointwise")
            .Node("Relu", ["p"], ["out"], "relu")
            .ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"eq_equalize_{tag}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, bytes);
        try
        {
            return ModelConverter.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void EqualizedGraphComputesTheSameFunctionAndQuantizesBetter()
    {
        int n = 48;
        var r = new Random(3);
        var data = Enumerable.Range(0, n * 4 * 100).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var samples = new SampleSet(data, [n, 4, 10, 10], "random");

        var plain = WideChannelModel("plain");
        var equalized = WideChannelModel("equalized");
        Assert.That(RangeEqualization.Pairs(equalized.Ir), Has.Count.EqualTo(1), "the depthwise -> pointwise pair");
        var want = new OnnxFloatExecutor(plain.Onnx).RunBatched(data, n);

        var intPlain = Evaluation.ModelRunner.FromModel(Model.Load(ModelConverter.Convert(plain, samples, new ConvertOptions { Equalize = false, ReportSamples = 2 }).Blob)).Run(samples);
        var intEqualized = Evaluation.ModelRunner.FromModel(Model.Load(ModelConverter.Convert(equalized, samples, new ConvertOptions { ReportSamples = 2 }).Blob)).Run(samples);
        Assert.That(equalized.Ir.Equalized, Is.True);
        Assert.That(plain.Ir.Equalized, Is.False);

        // The rescaled float graph still computes the ONNX function.
        var exec = new IrExecutor(equalized.Ir);
        var outShape = equalized.Ir.SourceShapes[equalized.Output];
        int per = want.Length / n;
        float scale = Math.Max(1f, want.Max(MathF.Abs));
        for (int s = 0; s < n; s++)
        {
            var got = Layouts.ToSource(exec.Run(Layouts.ToPhysical(samples.Sample(s), equalized.InputSourceShape, equalized.InputLayout))[equalized.Output], outShape, equalized.Ir.Layouts[equalized.Output]);
            for (int i = 0; i < per; i++) Assert.That(got[i], Is.EqualTo(want[s * per + i]).Within(1e-4 * scale), $"sample {s} element {i}");
        }

        double before = Metrics.SqnrDb(want, intPlain), after = Metrics.SqnrDb(want, intEqualized);
        TestContext.Out.WriteLine($"int8 SQNR without equalization {before:F1} dB, with {after:F1} dB");
        Assert.That(after, Is.GreaterThan(before + 6), "equalization gains at least 6 dB here");

        // It applies once per loaded model: a second conversion leaves the weights alone.
        var weights = equalized.Ir.Ops.First(o => o.Type == Runtime.Format.OpType.DepthwiseConv2D).Weights!.ToArray();
        ModelConverter.Convert(equalized, samples, new ConvertOptions { ReportSamples = 2 });
        Assert.That(equalized.Ir.Ops.First(o => o.Type == Runtime.Format.OpType.DepthwiseConv2D).Weights, Is.EqualTo(weights));
    }

    [Test]
    public void DepthwiseWithAnActivationIsNotAPair()
    {
        var bytes = new TestModelBuilder()
            .Input("input", -1, 2, 5, 5).Output("out", -1, 3, 5, 5)
            .FloatInitializer("dw", [2, 1, 3, 3], Enumerable.Repeat(0.1f, 18).ToArray())
            .FloatInitializer("pw", [3, 2, 1, 1], 1, 2, 3, 4, 5, 6)
            .Node("Conv", ["input", "dw"], ["d"], "depthwise", Attr("group", 2L), Attr("pads", 1L, 1L, 1L, 1L))
            .Node("Relu", ["d"], ["a"], "relu")
            .Node("Conv", ["a", "pw"], ["out"], "pointwise")
            .ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"eq_equalize_act_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, bytes);
        try
        {
            Assert.That(RangeEqualization.Pairs(ModelConverter.Load(path).Ir), Is.Empty, "a clamp between the convolutions is not linear");
        }
        finally
        {
            File.Delete(path);
        }
    }
}
