using System.Runtime.InteropServices;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Pins tests/zoo/eqm: every zoo model converted with default settings, the raw bytes of its input
/// tensor for every committed test sample, and the raw bytes of its output tensor after Invoke.
/// These files are the contract the other runtimes are held to (the C firmware on host and on the
/// emulated Cortex-M boards, the C# runtime on arm64): they must reproduce the output bytes exactly.
/// Run with EQ_UPDATE_ZOO_GOLDEN=1 to rewrite them (after a deliberate converter or runtime change).
/// </summary>
[TestFixture]
public class ZooGoldenTests
{
    private const string UpdateVariable = "EQ_UPDATE_ZOO_GOLDEN";

    private static string GoldenDir => Path.Combine(RepoPaths.Zoo, "eqm");

    /// <summary>Golden name, ONNX path, calibration file, test data file (paths relative to tests/zoo).</summary>
    public static IEnumerable<TestCaseData> Models()
    {
        foreach (var m in ZooConversionTests.Models)
            yield return new TestCaseData(m, m + ".onnx", m + ".calib.npy", m + ".test.npy").SetName("Golden_" + m);
        // The quantization-aware-trained QDQ model: its own scales; the calibration file only feeds the report.
        yield return new TestCaseData("mnist_qat", "mnist_qat.onnx", "mnist_qat.calib.npy", "mnist_qat.test.npy").SetName("Golden_mnist_qat");
        var quirks = Directory.GetFiles(RepoPaths.Quirks, "*.onnx").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        if (quirks.Count < 10) throw new InvalidOperationException($"expected the zoo's exporter-quirk models in {RepoPaths.Quirks}");
        foreach (var q in quirks)
        {
            string input = Path.Combine("quirks", q + ".input.npy");
            // The quirk models have no calibration file of their own: their 8 samples calibrate them.
            yield return new TestCaseData("quirk_" + q, Path.Combine("quirks", q + ".onnx"), input, input).SetName("Golden_quirk_" + q);
        }
    }

    private static (byte[] Blob, byte[] Inputs, byte[] Outputs, int Samples) Produce(string onnx, string calib, string test, bool referenceKernels)
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, onnx));
        var result = ModelConverter.Convert(loaded, ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, calib)), new ConvertOptions { ReportSamples = 4 });
        var samples = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, test)).ToPhysical(loaded);
        var model = Model.Load(result.Blob);
        var interp = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = referenceKernels });
        var inputs = new MemoryStream();
        var outputs = new MemoryStream();
        foreach (var x in samples)
        {
            interp.SetInput(x);
            inputs.Write(MemoryMarshal.AsBytes(interp.GetInput()));
            interp.Invoke();
            outputs.Write(MemoryMarshal.AsBytes(interp.GetOutput()));
        }
        return (result.Blob, inputs.ToArray(), outputs.ToArray(), samples.Count);
    }

    [TestCaseSource(nameof(Models))]
    public void ConversionAndRuntimeReproduceTheCommittedGoldenFiles(string name, string onnx, string calib, string test)
    {
        var (blob, inputs, outputs, n) = Produce(onnx, calib, test, referenceKernels: false);
        string stem = Path.Combine(GoldenDir, name);
        if (Environment.GetEnvironmentVariable(UpdateVariable) == "1")
        {
            Directory.CreateDirectory(GoldenDir);
            File.WriteAllBytes(stem + ".eqm", blob);
            File.WriteAllBytes(stem + ".input.bin", inputs);
            File.WriteAllBytes(stem + ".output.bin", outputs);
            Assert.Pass($"rewrote {name}: {n} samples, {inputs.Length / n} input bytes and {outputs.Length / n} output bytes per sample");
        }

        Assert.That(File.Exists(stem + ".eqm"), $"missing {stem}.eqm: run the converter tests with {UpdateVariable}=1");
        Assert.Multiple(() =>
        {
            Assert.That(blob, Is.EqualTo(File.ReadAllBytes(stem + ".eqm")),
                $"the converter no longer writes the committed {name}.eqm; if the change is deliberate, regenerate with {UpdateVariable}=1");
            Assert.That(inputs, Is.EqualTo(File.ReadAllBytes(stem + ".input.bin")), "quantized input tensors");
            Assert.That(outputs, Is.EqualTo(File.ReadAllBytes(stem + ".output.bin")), "output tensors");
        });
    }

    [TestCaseSource(nameof(Models))]
    public void CommittedBlobRunByTheReferenceKernelsGivesTheCommittedOutputs(string name, string onnx, string calib, string test)
    {
        string stem = Path.Combine(GoldenDir, name);
        Assert.That(File.Exists(stem + ".eqm"), $"missing {stem}.eqm: run the converter tests with {UpdateVariable}=1");
        var model = Model.Load(File.ReadAllBytes(stem + ".eqm"));
        var interp = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        byte[] inputs = File.ReadAllBytes(stem + ".input.bin");
        byte[] expected = File.ReadAllBytes(stem + ".output.bin");
        int inBytes = MemoryMarshal.AsBytes(interp.GetInput()).Length;
        int outBytes = MemoryMarshal.AsBytes(interp.GetOutput()).Length;
        Assert.That(inputs.Length % inBytes, Is.Zero, "input.bin holds whole samples");
        int n = inputs.Length / inBytes;
        Assert.That(expected.Length, Is.EqualTo(n * outBytes), "output.bin holds one output per input sample");
        int mismatched = 0;
        for (int s = 0; s < n; s++)
        {
            inputs.AsSpan(s * inBytes, inBytes).CopyTo(MemoryMarshal.AsBytes(interp.GetInput()));
            interp.Invoke();
            if (!MemoryMarshal.AsBytes(interp.GetOutput()).SequenceEqual(expected.AsSpan(s * outBytes, outBytes))) mismatched++;
        }
        Assert.That(mismatched, Is.Zero, $"samples of {name} whose reference-kernel output differs from the golden output (of {n})");
    }
}
