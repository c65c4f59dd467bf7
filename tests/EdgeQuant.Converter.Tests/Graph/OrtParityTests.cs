using System.Text.Json;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Graph;

/// <summary>
/// The float executor against onnxruntime on every model of the zoo (tests/zoo and
/// tests/zoo/quirks): import, simplify, run, and compare with the stored ORT outputs.
/// Tolerance: max |ours - ort| &lt;= 1e-4 * max(1, max |ort|) over the whole output.
/// A missing zoo, or a missing file of a known model, fails.
/// </summary>
public class OrtParityTests
{
    private const double Tolerance = 1e-4;

    private static readonly string[] ZooModels = ["digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture", "digits_gru"];

    private static readonly string[] QuirkModels = ["nhwc_input", "fixed_batch1", "shape_subgraph", "odd_padding", "pad_subgraph", "misc_ops", "mlp_softmax"];

    public static IEnumerable<TestCaseData> Cases()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var m in ZooModels)
        {
            names.Add(m);
        }

        foreach (var m in QuirkModels)
        {
            names.Add("quirks/" + m);
        }

        // Any model added to the zoo later is picked up too.
        if (Directory.Exists(RepoPaths.Zoo))
        {
            foreach (var f in Directory.GetFiles(RepoPaths.Zoo, "*.onnx"))
            {
                // A QDQ model's ORT outputs include its fake quantization, which the float executor
                // (running the graph QdqPatterns leaves) does not apply: QdqImportTests compares the
                // converted int8 model with them instead.
                if (QdqPatterns.Of(OnnxImporter.Load(f)) is { IsQdq: true })
                {
                    continue;
                }

                names.Add(Path.GetFileNameWithoutExtension(f));
            }
        }

        if (Directory.Exists(RepoPaths.Quirks))
        {
            foreach (var f in Directory.GetFiles(RepoPaths.Quirks, "*.onnx"))
            {
                names.Add("quirks/" + Path.GetFileNameWithoutExtension(f));
            }
        }

        foreach (var name in names)
        {
            yield return new TestCaseData(name).SetName($"OrtParity({name})");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void FloatExecutorMatchesOnnxRuntime(string name)
    {
        var (model, input, reference) = Files(name);
        var graph = OnnxImporter.Load(model);
        var raw = graph.Clone();
        GraphPasses.Simplify(graph);

        var inputs = Npy.Read(input);
        var expected = Npy.Read(reference);
        int count = expected.Shape[0];
        int perSample = inputs.ElementCount / inputs.Shape[0];
        Assert.That(inputs.Shape[0], Is.GreaterThanOrEqualTo(count), "fewer inputs than reference outputs");
        var data = inputs.ToFloatArray().AsSpan(0, count * perSample);

        var actual = new OnnxFloatExecutor(graph).RunBatched(data, count, out var shape);
        Assert.That(shape, Is.EqualTo(expected.Shape), "output shape");
        AssertClose(actual, expected.ToFloatArray(), $"{name}: simplified graph vs onnxruntime");

        // The executor also runs the graph as imported (shape sub-graphs, BN, Identity...).
        var unsimplified = new OnnxFloatExecutor(raw).RunBatched(data, count);
        AssertClose(unsimplified, expected.ToFloatArray(), $"{name}: imported graph vs onnxruntime");
    }

    [TestCase("mnist_cnn")]
    [TestCase("fashion_mobilenet")]
    [TestCase("digits_mlp")]
    [TestCase("imu_gesture")]
    [TestCase("digits_gru")]
    public void FullTestSetAccuracyMatchesOnnxRuntime(string name)
    {
        var (model, input, _) = Files(name);
        string labelsPath = Path.Combine(RepoPaths.Zoo, name + ".test_labels.npy");
        string jsonPath = Path.Combine(RepoPaths.Zoo, name + ".json");
        Assert.That(File.Exists(labelsPath) && File.Exists(jsonPath), Is.True, $"missing {labelsPath} or {jsonPath}");

        var graph = OnnxImporter.Load(model);
        GraphPasses.Simplify(graph);
        var inputs = Npy.Read(input);
        var labels = Npy.Read(labelsPath).Int64s!;
        var started = System.Diagnostics.Stopwatch.StartNew();
        var logits = new OnnxFloatExecutor(graph).RunBatched(inputs.ToFloatArray(), inputs.Shape[0], out var shape);
        TestContext.Out.WriteLine($"{name}: {inputs.Shape[0]} samples in {started.ElapsedMilliseconds} ms");

        int classes = shape[1], correct = 0;
        for (int i = 0; i < shape[0]; i++)
        {
            var row = logits.AsSpan(i * classes, classes);
            int best = 0;
            for (int c = 1; c < classes; c++)
            {
                if (row[c] > row[best])
                {
                    best = c;
                }
            }

            correct += best == labels[i] ? 1 : 0;
        }

        using var json = JsonDocument.Parse(File.ReadAllText(jsonPath));
        double ortAccuracy = json.RootElement.GetProperty("float_accuracy_ort").GetDouble();
        double accuracy = 100.0 * correct / shape[0];
        double oneSample = 100.0 / shape[0];
        Assert.That(accuracy, Is.EqualTo(ortAccuracy).Within(oneSample + 1e-9), $"{name}: float accuracy {accuracy:F2}% vs ORT {ortAccuracy:F2}%");
    }

    private static (string Model, string Input, string Reference) Files(string name)
    {
        Assert.That(RepoPaths.RepoRoot, Is.Not.Null, "repository root (EdgeQuant.sln or tests/zoo) not found above " + TestContext.CurrentContext.TestDirectory);
        bool quirk = name.StartsWith("quirks/", StringComparison.Ordinal);
        string dir = quirk ? RepoPaths.Quirks : RepoPaths.Zoo;
        string baseName = quirk ? name["quirks/".Length..] : name;
        string model = Path.Combine(dir, baseName + ".onnx");
        string input = Path.Combine(dir, baseName + (quirk ? ".input.npy" : ".test.npy"));
        string reference = Path.Combine(dir, baseName + ".ort_outputs.npy");
        foreach (var f in new[] { model, input, reference })
        {
            Assert.That(File.Exists(f), Is.True, $"zoo file missing: {f}");
        }

        return (model, input, reference);
    }

    private static void AssertClose(float[] actual, float[] expected, string what)
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), what + ": length");
        double maxDiff = 0, maxRef = 0;
        int worst = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            double d = Math.Abs((double)actual[i] - expected[i]);
            if (!(d <= maxDiff))
            {
                maxDiff = d;
                worst = i;
            }

            maxRef = Math.Max(maxRef, Math.Abs(expected[i]));
        }

        double bound = Tolerance * Math.Max(1.0, maxRef);
        TestContext.Out.WriteLine($"{what}: max |diff| = {maxDiff:E3} (bound {bound:E3}) at {worst}");
        Assert.That(maxDiff, Is.LessThanOrEqualTo(bound), $"{what}: element {worst} is {actual[worst]} vs {expected[worst]}");
    }
}
