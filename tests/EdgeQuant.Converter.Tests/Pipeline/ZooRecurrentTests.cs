using System.Text.Json;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// The zoo's recurrent model (digits_gru: sklearn digits as 8 steps of 8 values, a GRU and a Gemm)
/// converted with default settings: it runs on the runtime Gru op, its int8 top-1 accuracy is within
/// 1.0 point of float (issue 12's bar for the recurrent model), the fast kernels give the reference
/// kernels' bytes on every test sample, and Invoke allocates nothing. (Float against onnxruntime:
/// OrtParityTests. It is not in the tests/zoo/eqm golden set, which the C firmware must reproduce,
/// and the C runtime has no Gru.)
/// </summary>
[TestFixture]
public class ZooRecurrentTests
{
    private const string Name = "digits_gru";

    private static ConversionResult Convert() => ZooConversionTests.Converted(Name);

    [Test]
    public void Int8AccuracyIsWithinOnePointOfFloat()
    {
        var r = Convert();
        var model = Model.Load(r.Blob);
        Assert.That(model.Ops.Select(o => o.Type), Does.Contain(OpType.Gru));
        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, Name + ".test.npy"));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, Name + ".test_labels.npy")).Int64s!;
        double floatAcc = Accuracy(ModelRunner.FromLoaded(r.Source).Run(test), labels) * 100;
        double intAcc = Accuracy(ModelRunner.FromModel(model).Run(test), labels) * 100;
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Zoo, Name + ".json")));
        double torchFloat = json.RootElement.GetProperty("float_accuracy_torch").GetDouble();
        TestContext.Out.WriteLine($"{Name}: float {floatAcc:F2}% (torch {torchFloat}), int8 {intAcc:F2}%; blob {r.Blob.Length} bytes, ops {string.Join(", ", model.Ops.Select(o => o.Type))}");
        Assert.Multiple(() =>
        {
            Assert.That(floatAcc, Is.EqualTo(torchFloat).Within(0.051), "our float executor's accuracy equals torch's");
            Assert.That(floatAcc - intAcc, Is.LessThanOrEqualTo(1.0), "int8 top-1 within 1.0 point of float");
        });
    }

    [Test]
    public void FastKernelsGiveTheReferenceBytesOnEveryTestSample()
    {
        var r = Convert();
        var model = Model.Load(r.Blob);
        var fast = new Interpreter(model);
        var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        foreach (var x in ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, Name + ".test.npy")).ToPhysical(r.Source))
        {
            fast.SetInput(x);
            fast.Invoke();
            reference.SetInput(x);
            reference.Invoke();
            Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()));
        }
    }

    [Test]
    public void InvokeAllocatesNothing()
    {
        var interp = new Interpreter(Model.Load(Convert().Blob));
        for (int i = 0; i < 20; i++) interp.Invoke();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) interp.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    /// <summary>
    /// Issue 10's bar for 4-bit weights on the recurrent model: `--weights int4 --rounding adaptive` puts the GRU
    /// on GruPacked (int4 rows, packed record) and the Gemm on op 57, within 1.0 point of float with a blob at most
    /// 0.55x the default int8 blob; the fast kernels give the reference bytes on every test sample; Invoke
    /// allocates nothing. Nearest int4 rounding alone misses the accuracy bar (measured: -1.11 points).
    /// </summary>
    [Test]
    public void Int4WithAdaptiveRoundingIsWithinOnePointOfFloatAtMost055TimesInt8()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, Name + ".onnx"));
        var r = ModelConverter.Convert(loaded, ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, Name + ".calib.npy")),
            new ConvertOptions { Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive, ReportSamples = 8 });
        var model = Model.Load(r.Blob);
        Assert.That(model.Ops.Select(o => o.Type), Is.SupersetOf(new[] { OpType.GruPacked, OpType.FullyConnectedCompressedPacked }));
        Assert.That(model.Ops.Select(o => o.Type), Has.None.EqualTo(OpType.Gru));
        var test = ZooConversionTests.Samples(Path.Combine(RepoPaths.Zoo, Name + ".test.npy"));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, Name + ".test_labels.npy")).Int64s!;
        double floatAcc = Accuracy(ModelRunner.FromLoaded(loaded).Run(test), labels) * 100;
        double acc = Accuracy(ModelRunner.FromModel(model).Run(test), labels) * 100;
        int int8Bytes = Convert().Blob.Length;
        TestContext.Out.WriteLine($"{Name}: float {floatAcc:F2}%, int4 adaptive {acc:F2}%, {r.Blob.Length} bytes ({(double)r.Blob.Length / int8Bytes:F4}x the {int8Bytes}-byte int8 blob)");
        Assert.Multiple(() =>
        {
            Assert.That(floatAcc - acc, Is.LessThanOrEqualTo(1.0), "int4 top-1 within 1.0 point of float");
            Assert.That(r.Blob.Length, Is.LessThanOrEqualTo(0.55 * int8Bytes), "blob at most 0.55x int8");
        });

        var fast = new Interpreter(model);
        var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        foreach (var x in test.ToPhysical(loaded))
        {
            fast.SetInput(x);
            fast.Invoke();
            reference.SetInput(x);
            reference.Invoke();
            Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()));
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) fast.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    private static double Accuracy(float[] logits, long[] labels)
    {
        int classes = logits.Length / labels.Length, correct = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            int best = 0;
            for (int c = 1; c < classes; c++) if (logits[(i * classes) + c] > logits[(i * classes) + best]) best = c;
            if (best == labels[i]) correct++;
        }

        return (double)correct / labels.Length;
    }
}
