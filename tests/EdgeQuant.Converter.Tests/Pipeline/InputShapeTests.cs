using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Input shapes as the model declares them: a dynamic (or 1) first dimension is the batch, any
/// other static shape is one sample; and models with several inputs, fed one data set per input.
/// Each conversion is checked end to end: the int8 blob run by the interpreter against the float
/// executor on the same data.
/// </summary>
[TestFixture]
public class InputShapeTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("eq-shapes-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private string Save(TestModelBuilder b, string name)
    {
        string path = Path.Combine(_dir, name + ".onnx");
        File.WriteAllBytes(path, b.ToBytes());
        return path;
    }

    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 4 - 2);
        return v;
    }

    /// <summary>Largest |int8 - float| over the outputs, in steps of the int8 output scale.</summary>
    private static double WorstSteps(float[] int8, float[] reference, float scale)
    {
        Assert.That(int8, Has.Length.EqualTo(reference.Length));
        double worst = 0;
        for (int i = 0; i < int8.Length; i++) worst = Math.Max(worst, Math.Abs(int8[i] - reference[i]) / scale);
        return worst;
    }

    [Test]
    public void ForInput_BatchedAndStaticShapes()
    {
        var batched = new SampleSet(new float[5 * 4], [5, 4], "x");
        Assert.That(batched.ForInput([1, 4], "in").Count, Is.EqualTo(5), "first dimension 1 (or dynamic) is the batch");

        var exact = new SampleSet(new float[3 * 4 * 5], [3, 4, 5], "x").ForInput([3, 4, 5], "in");
        Assert.That(exact.Count, Is.EqualTo(1), "data of exactly a static shape is one invocation");
        Assert.That(exact.SampleSize, Is.EqualTo(60));
        Assert.That(exact.IsSingleStaticSample);

        var several = new SampleSet(new float[2 * 60], [2, 3, 4, 5], "x").ForInput([3, 4, 5], "in");
        Assert.That(several.Count, Is.EqualTo(2), "[K, static shape...] is K invocations");
        Assert.That(several.IsSingleStaticSample, Is.False);

        var e = Assert.Throws<ConversionException>(() => new SampleSet(new float[20], [4, 5], "x.npy").ForInput([3, 4, 5], "in"));
        Assert.That(e!.Message, Does.Contain("x.npy").And.Contain("[4, 5]").And.Contain("'in'").And.Contain("[3, 4, 5]").And.Contain("not a batch"));
    }

    /// <summary>An input [3, 4, 5] (no batch): elementwise ops, softmax over the last axis and a reduce over axis 1.</summary>
    [Test]
    public void StaticRank3Input_IsOneSample_ConvertsAndMatchesFloat()
    {
        var b = new TestModelBuilder()
            .Input("x", 3, 4, 5).Output("y", 3, 1, 5)
            .FloatInitializer("k", [5], 0.5f, -1f, 1.5f, 2f, -0.25f)
            .Node("Mul", ["x", "k"], ["m"])
            .Node("Relu", ["m"], ["r"])
            .Node("ReduceMean", ["r"], ["y"], "", Attr("axes", new long[] { 1 }), Attr("keepdims", 1L));
        string path = Save(b, "static3");
        var loaded = ModelConverter.Load(path);
        Assert.That(loaded.InputSourceShape, Is.EqualTo(new[] { 3, 4, 5 }));

        var data = new SampleSet(Random(60, 1), [3, 4, 5], "x");
        var result = ModelConverter.Convert(loaded, data, new ConvertOptions { ReportSamples = 1 });
        var floatRunner = ModelRunner.FromLoaded(loaded);
        var int8Runner = ModelRunner.FromModel(Model.Load(result.Blob));
        var fitted = floatRunner.Fit(data);
        Assert.That(floatRunner.OutputShape(fitted), Is.EqualTo(new[] { 3, 1, 5 }), "the output keeps the model's own shape");
        var f = floatRunner.Run(data);
        var q = int8Runner.Run(data);
        Assert.That(f, Has.Length.EqualTo(15));

        // Float against a hand computation of the same graph.
        var x = data.Data;
        float[] k = [0.5f, -1f, 1.5f, 2f, -0.25f];
        for (int i = 0; i < 3; i++)
            for (int c = 0; c < 5; c++)
            {
                double sum = 0;
                for (int j = 0; j < 4; j++) sum += Math.Max(0, x[(i * 4 + j) * 5 + c] * k[c]);
                Assert.That(f[i * 5 + c], Is.EqualTo(sum / 4).Within(1e-5));
            }

        var (scale, _) = new Interpreter(Model.Load(result.Blob)).GetOutputQuantization();
        Assert.That(WorstSteps(q, f, scale), Is.LessThanOrEqualTo(2.0));
    }

    /// <summary>An input [2, 3, 6, 6] (first dimension 2, not a batch): a convolution and a pool over both images.</summary>
    [Test]
    public void StaticFirstDimensionTwo_ConvAndPool_CoverBothImages()
    {
        var w = Random(4 * 3 * 3 * 3, 2);
        var b = new TestModelBuilder()
            .Input("x", 2, 3, 6, 6).Output("y", 2, 4, 2, 2)
            .FloatInitializer("w", [4, 3, 3, 3], w)
            .FloatInitializer("bias", [4], 0.1f, -0.2f, 0.3f, 0f)
            .Node("Conv", ["x", "w", "bias"], ["c"], "", Attr("pads", 1L, 1L, 1L, 1L))
            .Node("Relu", ["c"], ["r"])
            .Node("MaxPool", ["r"], ["y"], "", Attr("kernel_shape", 3L, 3L), Attr("strides", 3L, 3L));
        var loaded = ModelConverter.Load(Save(b, "static4"));
        var data = new SampleSet(Random(2 * 3 * 36, 3), [2, 3, 6, 6], "x");
        var result = ModelConverter.Convert(loaded, data, new ConvertOptions { ReportSamples = 1 });
        var f = ModelRunner.FromLoaded(loaded).Run(data);
        var q = ModelRunner.FromModel(Model.Load(result.Blob)).Run(data);
        var (scale, _) = new Interpreter(Model.Load(result.Blob)).GetOutputQuantization();
        Assert.That(f, Has.Length.EqualTo(2 * 4 * 2 * 2));
        Assert.That(WorstSteps(q, f, scale), Is.LessThanOrEqualTo(2.0), "the second image is calibrated and computed too");
        Assert.That(f.Skip(16).Any(v => v != 0), "the second image has non-zero outputs");
    }

    private static TestModelBuilder TwoInputModel() => new TestModelBuilder()
        .Input("a", -1, 4).Input("b", -1, 4).Output("y", -1, 3)
        .FloatInitializer("w", [4, 3], TwoInputWeights)
        .Node("Add", ["a", "b"], ["s"])
        .Node("Relu", ["s"], ["r"])
        .Node("MatMul", ["r", "w"], ["y"]);

    [Test]
    public void TwoInputs_ConvertAndRun_WithOneDataSetPerInput()
    {
        var loaded = ModelConverter.Load(Save(TwoInputModel(), "two"));
        var a = new SampleSet(Random(16 * 4, 4), [16, 4], "a.npy");
        var bData = new SampleSet(Random(16 * 4, 5), [16, 4], "b.npy");

        // Given in the other order: matched by name.
        var inputs = new ModelInputs([("b", bData), ("a", a)]);
        var result = ModelConverter.Convert(loaded, inputs, new ConvertOptions { ReportSamples = 4 });
        var model = Model.Load(result.Blob);
        Assert.That(model.Inputs.Select(i => i.Name), Is.EqualTo(new[] { "a", "b" }));

        var f = ModelRunner.FromLoaded(loaded).Run(inputs);
        var q = ModelRunner.FromModel(model).Run(inputs);
        Assert.That(f, Has.Length.EqualTo(16 * 3));
        for (int s = 0; s < 16; s++)
            for (int o = 0; o < 3; o++)
            {
                double expected = 0;
                for (int k = 0; k < 4; k++)
                    expected += Math.Max(0, a.Data[s * 4 + k] + bData.Data[s * 4 + k]) * TwoInputWeights[k * 3 + o];
                Assert.That(f[s * 3 + o], Is.EqualTo(expected).Within(1e-5));
            }

        var (scale, _) = new Interpreter(model).GetOutputQuantization();
        Assert.That(WorstSteps(q, f, scale), Is.LessThanOrEqualTo(3.0));
    }

    private static readonly float[] TwoInputWeights = [0.5f, -0.3f, 0.2f, 0.1f, 0.9f, -0.6f, -0.4f, 0.3f, 0.7f, 0.8f, -0.2f, 0.05f];

    [Test]
    public void TwoInputs_MismatchedData_NamesTheModelInputs()
    {
        var loaded = ModelConverter.Load(Save(TwoInputModel(), "two_errors"));
        var a = new SampleSet(new float[8], [2, 4], "a.npy");
        var b = new SampleSet(new float[8], [2, 4], "b.npy");

        var unnamed = Assert.Throws<ConversionException>(() => ModelConverter.Convert(loaded, a));
        Assert.That(unnamed!.Message, Does.Contain("2 inputs").And.Contain("'a' [1, 4]").And.Contain("'b' [1, 4]").And.Contain("NAME=FILE.npy"));

        var missing = Assert.Throws<ConversionException>(() => ModelConverter.Convert(loaded, new ModelInputs([("a", a)]), null));
        Assert.That(missing!.Message, Does.Contain("no data for model input 'b'").And.Contain("'a' [1, 4]"));

        var unknown = Assert.Throws<ConversionException>(() => ModelConverter.Convert(loaded, new ModelInputs([("a", a), ("c", b)]), null));
        Assert.That(unknown!.Message, Does.Contain("has no input 'c'").And.Contain("'a' [1, 4], 'b' [1, 4]"));

        var counts = Assert.Throws<ConversionException>(() => ModelConverter.Convert(loaded, new ModelInputs([("a", a), ("b", new SampleSet(new float[12], [3, 4], "b3.npy"))]), null));
        Assert.That(counts!.Message, Does.Contain("2 samples").And.Contain("has 3").And.Contain("same number of samples"));

        var twice = Assert.Throws<ConversionException>(() => new ModelInputs([("a", a), ("a", b)]));
        Assert.That(twice!.Message, Does.Contain("'a' is given twice"));
    }
}
