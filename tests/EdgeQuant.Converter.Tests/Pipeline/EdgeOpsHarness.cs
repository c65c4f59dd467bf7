using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// One ONNX model through every stage, each against onnxruntime (the ONNX semantics) run one
/// sample at a time: the float executor and the lowered float graph within 1e-4 of the largest
/// |output|, the int8 blob by SQNR against onnxruntime, the interpreter's fast kernels byte-equal
/// to its reference kernels, and the QDQ export in onnxruntime within one step of the interpreter
/// (onnxruntime rounds half to even in float; after a chain of ops such one-step differences can
/// grow, so a case may allow more, and fewer than 5% of the elements may differ at all).
/// </summary>
internal static class EdgeOpsHarness
{
    public sealed record Report(double SqnrDb, int ExportMaxLsb, IReadOnlyList<OpType> Ops);

    public static Report Check(string name, byte[] onnxModel, int[] sampleDims, double minSqnrDb, int exportLsb = 1, int samples = 24, float range = 2f)
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq_edgeops_{name}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, onnxModel);
        try
        {
            return CheckFile(name, path, onnxModel, sampleDims, minSqnrDb, exportLsb, samples, range);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static Report CheckFile(string name, string path, byte[] onnxModel, int[] sampleDims, double minSqnrDb, int exportLsb, int samples, float range)
    {
        int per = sampleDims.Aggregate(1, (p, d) => p * d);
        var rng = new Random(name.Aggregate(17, (h, ch) => (h * 31) + ch));
        var data = new float[samples * per];
        for (int i = 0; i < data.Length; i++) data[i] = (float)(((rng.NextDouble() * 2) - 1) * range);

        // onnxruntime, one sample at a time.
        var ort = new List<float>();
        using (var session = Export.Ort.ExactSession(onnxModel))
        {
            string inName = session.InputNames[0];
            for (int s = 0; s < samples; s++)
            {
                using var x = OrtValue.CreateTensorValueFromMemory(data.AsSpan(s * per, per).ToArray(), [1, .. sampleDims.Select(d => (long)d)]);
                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, [inName], [x], [session.OutputNames[0]]);
                ort.AddRange(results[0].GetTensorDataAsSpan<float>().ToArray());
            }
        }
        var want = ort.ToArray();
        int outPer = want.Length / samples;
        double tol = 1e-4 * Math.Max(1, want.Max(Math.Abs));

        var loaded = ModelConverter.Load(path);
        var exec = new OnnxFloatExecutor(loaded.Onnx);
        var ir = new IrExecutor(loaded.Ir);
        var source = loaded.Ir.SourceShapes[loaded.Output];
        for (int s = 0; s < samples; s++)
        {
            var sample = data.AsSpan(s * per, per);
            var f = exec.Run(sample, [1, .. sampleDims]);
            Assert.That(f.Length, Is.EqualTo(outPer), $"{name}: float executor output size");
            var l = Layouts.ToSource(ir.Run(Layouts.ToPhysical(sample, loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], source, loaded.Ir.Layouts[loaded.Output]);
            for (int i = 0; i < outPer; i++)
            {
                Assert.That(f[i], Is.EqualTo(want[s * outPer + i]).Within(tol), $"{name}: float executor vs onnxruntime, sample {s} element {i}");
                Assert.That(l[i], Is.EqualTo(want[s * outPer + i]).Within(tol), $"{name}: lowered graph vs onnxruntime, sample {s} element {i}");
            }
        }

        var set = new SampleSet(data, [samples, .. sampleDims], "random");
        var result = ModelConverter.Convert(loaded, set, new ConvertOptions { ReportSamples = 2 });
        var model = Model.Load(result.Blob);
        var int8 = Evaluation.ModelRunner.FromModel(model).Run(set);
        double sqnr = Metrics.SqnrDb(want, int8);
        Assert.That(sqnr, Is.GreaterThan(minSqnrDb), $"{name}: int8 against onnxruntime, dB");

        // Fast kernels against the reference kernels, byte for byte; and the QDQ export in onnxruntime against the interpreter.
        var fast = new Interpreter(model);
        var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        var export = OnnxExporter.Export(model, new OnnxExportOptions { DynamicBatch = false });
        var (os, oz) = fast.GetOutputQuantization();
        var agreement = new Export.Agreement();
        using (var session = Export.Ort.ExactSession(export.Bytes))
        {
            var inDims = export.Inputs[0].Shape;
            for (int s = 0; s < samples; s++)
            {
                var physical = Layouts.ToPhysical(data.AsSpan(s * per, per), loaded.InputSourceShape, loaded.InputLayout);
                fast.SetInput(physical);
                fast.Invoke();
                reference.SetInput(physical);
                reference.Invoke();
                Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()), $"{name}: fast kernels vs reference kernels, sample {s}");
                var exportInput = export.Inputs[0].Layout == "NHWC" ? physical : data.AsSpan(s * per, per).ToArray();
                using var x = OrtValue.CreateTensorValueFromMemory(exportInput, inDims.Select(d => (long)d).ToArray());
                using var runOptions = new RunOptions();
                using var results = session.Run(runOptions, [session.InputNames[0]], [x], [session.OutputNames[0]]);
                var y = results[0].GetTensorDataAsSpan<float>().ToArray();
                var codes = fast.GetOutput().ToArray();
                Assert.That(y.Length, Is.EqualTo(codes.Length), $"{name}: export output size");
                var physicalCodes = codes;
                if (export.Outputs[0].Layout == "NCHW")
                {
                    var f = new float[codes.Length];
                    for (int i = 0; i < f.Length; i++) f[i] = codes[i];
                    var t = Layouts.ToSource(f, source, SourceLayout.Nchw);
                    physicalCodes = t.Select(v => (sbyte)v).ToArray();
                }
                agreement.Add(physicalCodes, y, os, oz);
            }
        }
        TestContext.Out.WriteLine($"{name}: SQNR {sqnr:F1} dB; ops {string.Join(", ", model.Ops.Select(o => o.Type))}; QDQ export in onnxruntime: {agreement}");
        Assert.That(agreement.MaxLsb, Is.LessThanOrEqualTo(exportLsb), $"{name}: QDQ export vs interpreter: {agreement}");
        Assert.That(agreement.DifferingFraction, Is.LessThan(0.05), $"{name}: QDQ export vs interpreter: {agreement}");
        return new Report(sqnr, agreement.MaxLsb, model.Ops.Select(o => o.Type).ToList());
    }
}
