using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Converter.Tests.Pipeline;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Quantization;

/// <summary>
/// A Concatenation's output takes its inputs' quantization when they share one and its constants are exact in it (a
/// channel padding written as a Concat with zeros, as tf2onnx writes BlazeFace's): the runtime then copies instead of
/// rescaling. Otherwise the output keeps its own calibrated range.
/// </summary>
[TestFixture]
public class ConcatQuantizationTests
{
    /// <summary>input [1, 4, 6, 6] -> Conv -> Relu -> x; Concat(x, second) on channels -> out.</summary>
    private static LoadedModel Build(string name, Action<TestModelBuilder> second, int secondChannels, int seed)
    {
        var r = new Random(seed);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        var b = new TestModelBuilder().Input("input", 1, 4, 6, 6).Output("out", 1, 4 + secondChannels, 6, 6);
        b.FloatInitializer("w", [4, 4, 3, 3], Rand(4 * 4 * 9));
        b.FloatInitializer("bias", [4], Rand(4));
        b.Node("Conv", ["input", "w", "bias"], ["c"], "conv", TestModelBuilder.Attr("pads", [1L, 1L, 1L, 1L]));
        b.Node("Relu", ["c"], ["x"], "relu");
        second(b);
        b.Node("Concat", ["x", "second"], ["out"], "cat", TestModelBuilder.Attr("axis", 1L));
        string path = Path.Combine(Path.GetTempPath(), name + ".onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return ModelConverter.Load(path);
    }

    private static (ConversionResult Result, ActivationQuant X, ActivationQuant Out, OpQuant Concat) Convert(LoadedModel loaded, SampleSet samples, CalibrationMethod method)
    {
        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 2, Method = method });
        var cat = result.Quantized.Graph.Ops.Single(o => o.Type == OpType.Concatenation);
        var x = cat.Inputs.First(t => !t.IsConstant);
        return (result, result.Quantized.Activations[x], result.Quantized.Activations[cat.Output], result.Quantized.Ops[cat]);
    }

    [TestCase(CalibrationMethod.MinMax)]
    [TestCase(CalibrationMethod.Mse)]
    [TestCase(CalibrationMethod.Entropy)]
    public void ChannelPaddingWithZerosKeepsTheInputsQuantization(CalibrationMethod method)
    {
        var loaded = Build("concat_zero_pad", b => b.FloatInitializer("second", [1, 2, 6, 6], new float[2 * 36]), 2, 11);
        // A few large inputs, so MSE and entropy clip x's range; over the output's values (a third of them the padding's
        // zeros) they would clip elsewhere.
        var data = Enumerable.Range(0, 24 * 144).Select(i => i % 97 == 0 ? 12f : (float)Math.Sin(i * 0.37) * 2).ToArray();
        var samples = new SampleSet(data, [24, 4, 6, 6], "sines");
        var (result, x, output, concat) = Convert(loaded, samples, method);
        Assert.That(output, Is.EqualTo(x), "the output keeps the activation input's scale and zero point");
        Assert.That(concat.ConcatMultipliers![0], Is.Zero, "the activation input is copied (multiplier 0)");
        // And the blob still computes the model: against the float graph.
        var want = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, 24);
        var got = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        Assert.That(Metrics.SqnrDb(want, got), Is.GreaterThan(25));
    }

    [TestCase(CalibrationMethod.MinMax)]
    [TestCase(CalibrationMethod.Mse)]
    public void ConstantsNotExactInTheInputsQuantizationKeepTheCalibratedOutput(CalibrationMethod method)
    {
        // Constant channels of -1 below a Relu's range [0, max]: not representable in x's quantization, so the output
        // is calibrated over both (and its range reaches -1).
        var loaded = Build("concat_const_pad", b => b.FloatInitializer("second", [1, 2, 6, 6], Enumerable.Repeat(-1f, 72).ToArray()), 2, 12);
        var data = Enumerable.Range(0, 24 * 144).Select(i => (float)Math.Sin(i * 0.37) * 2).ToArray();
        var samples = new SampleSet(data, [24, 4, 6, 6], "sines");
        var (_, x, output, concat) = Convert(loaded, samples, method);
        Assert.That(output, Is.Not.EqualTo(x), "the output keeps its own calibrated quantization");
        Assert.That((-128 - output.ZeroPoint) * output.Scale, Is.LessThanOrEqualTo(-0.99f), "the output's range holds the constant -1");
        Assert.That(concat.ConcatMultipliers![0], Is.Not.Zero, "x is rescaled into it");
    }

    [Test]
    public void TwoActivationsOfDifferentQuantizationKeepTheCalibratedOutput()
    {
        // second = 3 x (the conv's output through Relu): a wider range, its own quantization.
        var loaded = Build("concat_two", b =>
        {
            b.FloatInitializer("three", [1], 3f);
            b.Node("Mul", ["x", "three"], ["second"], "mul");
        }, 4, 13);
        var data = Enumerable.Range(0, 24 * 144).Select(i => (float)Math.Sin(i * 0.37) * 2).ToArray();
        var samples = new SampleSet(data, [24, 4, 6, 6], "sines");
        var (_, x, output, concat) = Convert(loaded, samples, CalibrationMethod.MinMax);
        Assert.That(output, Is.Not.EqualTo(x), "the output's range holds the wider input");
        Assert.That(concat.ConcatMultipliers![0], Is.Not.Zero, "the narrower input is rescaled");
    }
}
