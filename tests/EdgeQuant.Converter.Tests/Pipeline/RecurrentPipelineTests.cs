using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Microsoft.ML.OnnxRuntime;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// LSTM and GRU layers as exporters write them (batch-first input transposed to [T, N, I], the layer,
/// Y or Y_h transposed back), each against onnxruntime: the float executor and the lowered float graph
/// within 1e-4 of the largest |output|, the int8 blob (runtime Lstm / Gru) by SQNR, the interpreter's
/// fast kernels byte-equal to its reference kernels; and the refusals of what the int8 form does not take.
/// </summary>
public class RecurrentPipelineTests
{
    private const int Steps = 7, Inputs = 5, Hidden = 6;

    private static float[] Rand(int seed, int n, float scale)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(((r.NextDouble() * 2) - 1) * scale)).ToArray();
    }

    /// <summary>x [N, T, I] -> Transpose -> op -> (Y [T, D, N, H] -> Transpose [N, T, D, H]) or (Y_h [D, N, H] -> Transpose [N, D, H]).</summary>
    private static byte[] Model(string op, string direction, bool finalState, int linearBeforeReset = 0, bool bias = true, Action<TestModelBuilder, List<string>>? extra = null, long batch = -1, params AttributeProto[] more)
    {
        int gates = op == "LSTM" ? 4 : 3, dirs = direction == "bidirectional" ? 2 : 1;
        var b = new TestModelBuilder().Input("x", batch, Steps, Inputs);
        b.Output("y", finalState ? [batch, dirs, Hidden] : [batch, Steps, dirs, Hidden]);
        b.FloatInitializer("W", [dirs, gates * Hidden, Inputs], Rand(1, dirs * gates * Hidden * Inputs, 0.6f));
        b.FloatInitializer("R", [dirs, gates * Hidden, Hidden], Rand(2, dirs * gates * Hidden * Hidden, 0.5f));
        var inputs = new List<string> { "xt", "W", "R" };
        if (bias)
        {
            b.FloatInitializer("B", [dirs, 2 * gates * Hidden], Rand(3, dirs * 2 * gates * Hidden, 0.3f));
            inputs.Add("B");
        }

        extra?.Invoke(b, inputs);
        var attributes = new List<AttributeProto> { Attr("hidden_size", (long)Hidden), Attr("direction", direction) };
        if (op == "GRU") attributes.Add(Attr("linear_before_reset", (long)linearBeforeReset));
        attributes.AddRange(more);
        b.Node("Transpose", ["x"], ["xt"], "to_time_major", Attr("perm", 1L, 0L, 2L));
        b.Node(op, [.. inputs], finalState ? ["", "yh"] : ["ys"], "layer", [.. attributes]);
        if (finalState) b.Node("Transpose", ["yh"], ["y"], "to_batch_major", Attr("perm", 1L, 0L, 2L));
        else b.Node("Transpose", ["ys"], ["y"], "to_batch_major", Attr("perm", 2L, 0L, 1L, 3L));
        return b.ToBytes();
    }

    public static IEnumerable<TestCaseData> Cases()
    {
        yield return new TestCaseData("lstm_forward_y", Model("LSTM", "forward", finalState: false), OpType.Lstm);
        yield return new TestCaseData("lstm_bidirectional_yh", Model("LSTM", "bidirectional", finalState: true), OpType.Lstm);
        yield return new TestCaseData("lstm_reverse_nobias_yh", Model("LSTM", "reverse", finalState: true, bias: false), OpType.Lstm);
        yield return new TestCaseData("gru_linear_before_reset_y", Model("GRU", "forward", finalState: false, linearBeforeReset: 1), OpType.Gru);
        yield return new TestCaseData("gru_reset_first_bidirectional_y", Model("GRU", "bidirectional", finalState: false), OpType.Gru);
        yield return new TestCaseData("gru_reverse_yh", Model("GRU", "reverse", finalState: true, linearBeforeReset: 1), OpType.Gru);
        yield return new TestCaseData("lstm_expanded_zero_states_y", Model("LSTM", "bidirectional", finalState: false, extra: ExpandedZeroStates), OpType.Lstm);
    }

    /// <summary>
    /// Initial states as torch exports them at a fixed batch size: a zero Constant [D, 1, H] expanded to [D, N, H], N read
    /// from the input's shape (Shape, Gather, Unsqueeze, Concat, Expand); the converter drops them as the zero default.
    /// </summary>
    private static void ExpandedZeroStates(TestModelBuilder b, List<string> inputs)
    {
        b.Int64Initializer("batch_axis", [], 1L).Int64Initializer("unsqueeze_axes", [1], 0L)
            .Int64Initializer("dirs", [1], 2L).Int64Initializer("hidden", [1], Hidden)
            .Node("Constant", [], ["zeros"], "zeros", Attr("value", FloatTensor("", [2, 1, Hidden], new float[2 * Hidden])))
            .Node("Shape", ["xt"], ["xt_shape"])
            .Node("Gather", ["xt_shape", "batch_axis"], ["n"], "", Attr("axis", 0L))
            .Node("Unsqueeze", ["n", "unsqueeze_axes"], ["n1"])
            .Node("Concat", ["dirs", "n1", "hidden"], ["state_shape"], "", Attr("axis", 0L))
            .Node("Expand", ["zeros", "state_shape"], ["h0"])
            .Node("Expand", ["zeros", "state_shape"], ["c0"]);
        inputs.AddRange(["", "h0", "c0"]);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesOnnxRuntime(string name, byte[] onnx, OpType expected)
    {
        const int samples = 12;
        const int per = Steps * Inputs;
        var data = Rand(name.Length * 31, samples * per, 1.5f);
        var want = new List<float>();
        using (var session = Export.Ort.ExactSession(onnx))
        {
            for (int s = 0; s < samples; s++)
            {
                using var x = OrtValue.CreateTensorValueFromMemory(data.AsSpan(s * per, per).ToArray(), [1, Steps, Inputs]);
                using var ro = new RunOptions();
                using var results = session.Run(ro, ["x"], [x], ["y"]);
                want.AddRange(results[0].GetTensorDataAsSpan<float>().ToArray());
            }
        }

        string path = Path.Combine(Path.GetTempPath(), $"eq_rnn_{name}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            var loaded = ModelConverter.Load(path);
            var exec = new OnnxFloatExecutor(loaded.Onnx);
            var ir = new IrExecutor(loaded.Ir);
            var source = loaded.Ir.SourceShapes[loaded.Output];
            int outPer = want.Count / samples;
            double tol = 1e-4 * Math.Max(1, want.Max(Math.Abs));
            for (int s = 0; s < samples; s++)
            {
                var sample = data.AsSpan(s * per, per);
                var f = exec.Run(sample, [1, Steps, Inputs]);
                var l = Layouts.ToSource(ir.Run(Layouts.ToPhysical(sample, loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], source, loaded.Ir.Layouts[loaded.Output]);
                for (int i = 0; i < outPer; i++)
                {
                    Assert.That(f[i], Is.EqualTo(want[(s * outPer) + i]).Within(tol), $"{name}: float executor vs onnxruntime, sample {s} element {i}");
                    Assert.That(l[i], Is.EqualTo(want[(s * outPer) + i]).Within(tol), $"{name}: lowered graph vs onnxruntime, sample {s} element {i}");
                }
            }

            var set = new SampleSet(data, [samples, Steps, Inputs], "random");
            var result = ModelConverter.Convert(loaded, set, new ConvertOptions { ReportSamples = 1 });
            var model = EdgeQuant.Runtime.Model.Load(result.Blob);
            Assert.That(model.Ops.Select(o => o.Type), Does.Contain(expected));
            var int8 = Evaluation.ModelRunner.FromModel(model).Run(set);
            double sqnr = Metrics.SqnrDb(want.ToArray(), int8);
            double worst = 0;
            for (int i = 0; i < int8.Length; i++) worst = Math.Max(worst, Math.Abs(int8[i] - want[i]));
            TestContext.Out.WriteLine($"{name}: int8 SQNR {sqnr:F1} dB against onnxruntime, largest difference {worst:F4}; ops {string.Join(", ", model.Ops.Select(o => o.Type))}");
            Assert.That(sqnr, Is.GreaterThan(30), $"{name}: int8 against onnxruntime, dB");

            var fast = new Interpreter(model);
            var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
            for (int s = 0; s < samples; s++)
            {
                var physical = Layouts.ToPhysical(data.AsSpan(s * per, per), loaded.InputSourceShape, loaded.InputLayout);
                fast.SetInput(physical);
                fast.Invoke();
                reference.SetInput(physical);
                reference.Invoke();
                Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()), $"{name}: fast vs reference kernels, sample {s}");
            }

            var e = Assert.Throws<ConversionException>(() => OnnxExporter.Export(model, new OnnxExportOptions { DynamicBatch = false }));
            Assert.That(e!.Message, Does.Contain("cannot be exported to QDQ ONNX"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The same layers with `--weights int4 --rounding adaptive`: LstmPacked / GruPacked (ops 25-26), every direction
    /// and both GRU forms, against onnxruntime (int4's coarser grid: a lower bar than int8's 30 dB), and the fast
    /// kernels' bytes equal to the reference's.
    /// </summary>
    [TestCaseSource(nameof(Cases))]
    public void Int4WeightsTrackOnnxRuntime(string name, byte[] onnx, OpType expected)
    {
        const int samples = 12;
        const int per = Steps * Inputs;
        var data = Rand(name.Length * 31, samples * per, 1.5f);
        var want = new List<float>();
        using (var session = Export.Ort.ExactSession(onnx))
        {
            for (int s = 0; s < samples; s++)
            {
                using var x = OrtValue.CreateTensorValueFromMemory(data.AsSpan(s * per, per).ToArray(), [1, Steps, Inputs]);
                using var ro = new RunOptions();
                using var results = session.Run(ro, ["x"], [x], ["y"]);
                want.AddRange(results[0].GetTensorDataAsSpan<float>().ToArray());
            }
        }

        string path = Path.Combine(Path.GetTempPath(), $"eq_rnn4_{name}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            var loaded = ModelConverter.Load(path);
            var set = new SampleSet(data, [samples, Steps, Inputs], "random");
            var result = ModelConverter.Convert(loaded, set, new ConvertOptions { ReportSamples = 1, Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive });
            var model = EdgeQuant.Runtime.Model.Load(result.Blob);
            var packed = expected == OpType.Lstm ? OpType.LstmPacked : OpType.GruPacked;
            Assert.That(model.Ops.Select(o => o.Type), Does.Contain(packed).And.Not.Contain(expected));
            var y = Evaluation.ModelRunner.FromModel(model).Run(set);
            double sqnr = Metrics.SqnrDb(want.ToArray(), y);
            TestContext.Out.WriteLine($"{name}: int4 SQNR {sqnr:F1} dB against onnxruntime; ops {string.Join(", ", model.Ops.Select(o => o.Type))}");
            Assert.That(sqnr, Is.GreaterThan(MinInt4SqnrDb), $"{name}: int4 against onnxruntime, dB");
            var fast = new Interpreter(model);
            var reference = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
            for (int s = 0; s < samples; s++)
            {
                var physical = Layouts.ToPhysical(data.AsSpan(s * per, per), loaded.InputSourceShape, loaded.InputLayout);
                fast.SetInput(physical);
                fast.Invoke();
                reference.SetInput(physical);
                reference.Invoke();
                Assert.That(fast.GetOutput().ToArray(), Is.EqualTo(reference.GetOutput().ToArray()), $"{name}: fast vs reference kernels, sample {s}");
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>int4 weights against onnxruntime on these random layers: measured 23.4-25.8 dB (int8: 40-43).</summary>
    private const double MinInt4SqnrDb = 20;

    public static IEnumerable<TestCaseData> Refusals()
    {
        yield return new TestCaseData(Model("LSTM", "forward", false, more: Attr("clip", 3f)), "attribute clip=3 is not supported in int8");
        yield return new TestCaseData(Model("LSTM", "forward", false, extra: (b, ins) =>
        {
            b.FloatInitializer("P", [1, 3 * Hidden], Rand(9, 3 * Hidden, 0.2f));
            ins.AddRange(["", "", "", "P"]);
        }), "peepholes (input P) are not supported in int8");
        yield return new TestCaseData(Model("GRU", "forward", false, extra: (b, ins) =>
        {
            b.FloatInitializer("h0", [1, 1, Hidden], Rand(10, Hidden, 0.2f));
            ins.AddRange(["", "h0"]);
        }, batch: 1), "a non-zero initial_h is not supported in int8");
        yield return new TestCaseData(Model("GRU", "forward", false, extra: (b, ins) =>
        {
            b.Initializer(Int32Lengths("lens", 3));
            ins.AddRange(["lens"]);
        }, batch: 1), "sequence_lens [3] shorter than the sequence (7) are not supported in int8");
    }

    private static TensorProto Int32Lengths(string name, int value)
    {
        var t = new TensorProto { Name = name, DataType = 6 };
        t.Dims.Add(1);
        t.Int32Data.Add(value);
        return t;
    }

    [TestCaseSource(nameof(Refusals))]
    public void WhatTheInt8FormDoesNotTakeIsRefusedByName(byte[] onnx, string message)
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq_rnn_refusal_{message.Length}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, onnx);
        try
        {
            var e = Assert.Throws<ConversionException>(() => ModelConverter.Load(path));
            Assert.That(e!.Message, Does.Contain("node 'layer'").And.Contain(message));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
