using System.Text.Json;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// The CLI contract: commands, JSON fields and exit codes, run in process through Program.Run.
/// Error cases assert the exit code (1), a one-line message naming the problem, and no stack trace.
/// </summary>
[TestFixture]
public class CliTests
{
    private string _dir = "";
    private static string Zoo => Path.Combine(RepoRoot(), "tests", "zoo");

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("edgequant-cli-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("EdgeQuant.sln not found above the test directory");
    }

    private static void AssertUserError((int Code, string Out, string Err) r, params string[] mentions)
    {
        Assert.Multiple(() =>
        {
            Assert.That(r.Code, Is.EqualTo(1), "exit code of a user error; stderr: " + r.Err);
            Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line on stderr: " + r.Err);
            Assert.That(r.Err, Does.StartWith("edgequant: error: "));
            Assert.That(r.Err, Does.Not.Contain("   at "), "no stack trace without --verbose");
            foreach (var m in mentions) Assert.That(r.Err, Does.Contain(m));
        });
    }

    [Test]
    public void ConvertEvalRunInspectBenchOnMnist()
    {
        string eqm = Path.Combine(_dir, "mnist.eqm"), report = Path.Combine(_dir, "report.json"), y = Path.Combine(_dir, "y.npy");
        var c = Run("convert", Path.Combine(Zoo, "mnist_cnn.onnx"), "--calib", Path.Combine(Zoo, "mnist_cnn.calib.npy"), "-o", eqm, "--report", report);
        Assert.That(c.Code, Is.EqualTo(0), c.Err);
        Assert.That(c.Out, Does.Contain("Conv2D+Relu").And.Contain("arena"));
        using (var rep = JsonDocument.Parse(File.ReadAllText(report)))
        {
            Assert.That(rep.RootElement.GetProperty("blob_bytes").GetInt32(), Is.EqualTo((int)new FileInfo(eqm).Length));
            Assert.That(rep.RootElement.GetProperty("layers").GetArrayLength(), Is.EqualTo(6));
            Assert.That(rep.RootElement.GetProperty("layers")[0].GetProperty("sqnr_db").GetDouble(), Is.GreaterThan(20));
        }

        var e = Run("eval", eqm, "--data", Path.Combine(Zoo, "mnist_cnn.test.npy"), "--labels", Path.Combine(Zoo, "mnist_cnn.test_labels.npy"), "--reference", Path.Combine(Zoo, "mnist_cnn.onnx"), "--json");
        Assert.That(e.Code, Is.EqualTo(0), e.Err);
        using (var j = JsonDocument.Parse(e.Out))
        {
            Assert.That(j.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(1000));
            Assert.That(j.RootElement.GetProperty("accuracy").GetDouble(), Is.GreaterThan(0.975));
            Assert.That(j.RootElement.GetProperty("float_accuracy").GetDouble(), Is.EqualTo(0.982).Within(1e-9));
            Assert.That(j.RootElement.GetProperty("top1_agreement").GetDouble(), Is.GreaterThan(0.99));
        }

        var r = Run("run", eqm, "--input", Path.Combine(Zoo, "quirks", "fixed_batch1.input.npy"), "--output", y);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var outputs = Npy.Read(y);
        Assert.That(outputs.Shape, Is.EqualTo(new[] { 8, 10 }));

        var i = Run("inspect", eqm, "--json");
        Assert.That(i.Code, Is.EqualTo(0), i.Err);
        using (var j = JsonDocument.Parse(i.Out))
        {
            Assert.That(j.RootElement.GetProperty("blob_bytes").GetInt32(), Is.EqualTo((int)new FileInfo(eqm).Length));
            Assert.That(j.RootElement.GetProperty("arena_bytes").GetInt32(), Is.GreaterThan(0));
            Assert.That(j.RootElement.GetProperty("ops").GetArrayLength(), Is.EqualTo(6));
        }

        var b = Run("bench", eqm, "--iterations", "50", "--json");
        Assert.That(b.Code, Is.EqualTo(0), b.Err);
        using (var j = JsonDocument.Parse(b.Out))
        {
            Assert.That(j.RootElement.GetProperty("median_us").GetDouble(), Is.GreaterThan(0));
            Assert.That(j.RootElement.GetProperty("p99_us").GetDouble(), Is.GreaterThanOrEqualTo(j.RootElement.GetProperty("median_us").GetDouble()));
            Assert.That(j.RootElement.GetProperty("allocated_bytes_per_invoke").GetInt64(), Is.Zero);
        }
    }

    [Test]
    public void BenchPerOpReportsEveryOpWithMacsAndShares()
    {
        string eqm = Path.Combine(Zoo, "eqm", "mnist_cnn.eqm");
        var model = EdgeQuant.Runtime.Model.LoadFile(eqm);
        var r = Run("bench", eqm, "--per-op", "--iterations", "20", "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var ops = j.RootElement.GetProperty("ops");
        Assert.That(ops.GetArrayLength(), Is.EqualTo(model.Ops.Count));
        long macs = 0;
        double share = 0;
        foreach (var op in ops.EnumerateArray())
        {
            macs += op.GetProperty("macs").GetInt64();
            share += op.GetProperty("share").GetDouble();
            Assert.That(op.GetProperty("median_us").GetDouble(), Is.GreaterThanOrEqualTo(0));
        }
        Assert.Multiple(() =>
        {
            // The zoo README's count for mnist_cnn: Conv 1->8 (56,448) + Conv 8->16 (225,792) + Gemm 784->10 (7,840).
            Assert.That(macs, Is.EqualTo(290_080));
            Assert.That(j.RootElement.GetProperty("macs").GetInt64(), Is.EqualTo(290_080));
            Assert.That(share, Is.EqualTo(1.0).Within(0.01));
            Assert.That(ops[0].GetProperty("op").GetString(), Is.EqualTo("Conv2D"));
        });
        // The yardstick: the measured peak of the kernels' int8 product (x64 with AVX2), and each MAC-carrying op's share of it.
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
        {
            double peak = j.RootElement.GetProperty("peak_gmacs_per_s").GetDouble();
            Assert.That(peak, Is.GreaterThan(1), "a measured peak in GMAC/s");
            // With AVX-VNNI the better of VPDPBUSD and VPMADDWD; without it, VPMADDWD.
            Assert.That(j.RootElement.GetProperty("peak_instruction").GetString(), System.Runtime.Intrinsics.X86.AvxVnni.IsSupported
                ? Does.StartWith("VPMADDWD").Or.StartWith("VPDPBUSD") : Does.StartWith("VPMADDWD"));
            foreach (var op in ops.EnumerateArray())
            {
                if (op.GetProperty("macs").GetInt64() == 0 || op.GetProperty("gmacs_per_s").ValueKind == JsonValueKind.Null) continue;
                double pct = op.GetProperty("percent_of_peak").GetDouble();
                // Within the printed precision: pct to 0.1, GMAC/s and the peak to 0.01 (a Winograd layer's "percent" passes 100).
                double tolerance = 0.05 + (0.5 + 0.005 * pct) / peak + 1e-9;
                Assert.That(pct, Is.EqualTo(100 * op.GetProperty("gmacs_per_s").GetDouble() / peak).Within(tolerance), "percent_of_peak = GMAC/s over the peak");
            }
        }
        var text = Run("bench", eqm, "--per-op", "--iterations", "20");
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(text.Out, Does.Contain("FullyConnected").And.Contain("GMAC/s").And.Contain("sum of op medians"));
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            Assert.That(text.Out, (System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? Does.Contain("peak: VPMADDWD").Or.Contain("peak: VPDPBUSD") : Does.Contain("peak: VPMADDWD")).And.Contain("% peak"));
    }

    [Test]
    public void BenchWithThreadsReportsTheMemoryTheThreadsAdd()
    {
        string eqm = Path.Combine(Zoo, "eqm", "fashion_mobilenetv2.eqm");
        var model = EdgeQuant.Runtime.Model.LoadFile(eqm);
        using var probe = new EdgeQuant.Runtime.Interpreter(model, new EdgeQuant.Runtime.InterpreterOptions { Threads = 2 });
        var r = Run("bench", eqm, "--threads", "2", "--iterations", "50", "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        Assert.Multiple(() =>
        {
            Assert.That(j.RootElement.GetProperty("threads").GetInt32(), Is.EqualTo(2));
            Assert.That(j.RootElement.GetProperty("arena_bytes").GetInt32(), Is.EqualTo(model.ArenaBytes));
            Assert.That(j.RootElement.GetProperty("thread_bytes").GetInt32(), Is.EqualTo(probe.ThreadBytes).And.GreaterThan(0));
            Assert.That(j.RootElement.GetProperty("allocated_bytes_per_invoke").GetInt64(), Is.Zero, "the workers' allocations counted too");
            // The machine's own figures beside the speed-up: a ratio of two threads' rate to one's, and a latency.
            Assert.That(j.RootElement.GetProperty("machine_thread_ceiling").GetDouble(), Is.GreaterThan(0.2).And.LessThan(2.5));
            Assert.That(j.RootElement.GetProperty("cross_core_round_trip_ns").GetDouble(), Is.GreaterThan(0));
        });
        var text = Run("bench", eqm, "--threads", "2", "--iterations", "50");
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(text.Out, Does.Contain($"arena {model.ArenaBytes:N0} B, and {probe.ThreadBytes:N0} B more for 2 threads"));
        Assert.That(text.Out, Does.Contain("2-thread ceiling").And.Contain("round trip"));
        var one = Run("bench", eqm, "--iterations", "50", "--json");
        using var j1 = JsonDocument.Parse(one.Out);
        Assert.That(j1.RootElement.GetProperty("thread_bytes").GetInt32(), Is.Zero, "one thread adds nothing to the arena");
        Assert.That(j1.RootElement.TryGetProperty("machine_thread_ceiling", out _), Is.False, "no thread figures for one thread");
        var oneText = Run("bench", eqm, "--iterations", "50");
        Assert.That(oneText.Code, Is.EqualTo(0), oneText.Err);
        Assert.That(oneText.Out, Does.Not.Contain("ceiling").And.Not.Contain("round trip").And.Not.Contain("memory:"), "one thread prints no thread lines");
    }

    [Test]
    public void BenchPerOpWithThreadsReportsBothMediansAndTheSplit()
    {
        string eqm = Path.Combine(Zoo, "eqm", "mnist_cnn.eqm");
        var model = EdgeQuant.Runtime.Model.LoadFile(eqm);
        using var probe = new EdgeQuant.Runtime.Interpreter(model, new EdgeQuant.Runtime.InterpreterOptions { Threads = 2 });
        var r = Run("bench", eqm, "--per-op", "--threads", "2", "--iterations", "20", "--rounds", "2", "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var root = j.RootElement;
        var ops = root.GetProperty("ops");
        Assert.That(ops.GetArrayLength(), Is.EqualTo(model.Ops.Count));
        double one = 0, two = 0;
        int split = 0;
        foreach (var op in ops.EnumerateArray())
        {
            int i = op.GetProperty("index").GetInt32();
            Assert.That(op.GetProperty("parts").GetInt32(), Is.EqualTo(probe.OpParts(i)), $"op {i}: parts as the 2-thread interpreter splits it");
            Assert.That(op.GetProperty("chain_start").GetInt32(), Is.EqualTo(probe.ChainStart(i)).And.LessThanOrEqualTo(i), $"op {i}: its chain");
            if (probe.OpParts(i) > 1) split++;
            one += op.GetProperty("one_thread_median_us").GetDouble();
            two += op.GetProperty("threads_median_us").GetDouble();
            Assert.That(op.GetProperty("one_thread_median_us").GetDouble(), Is.GreaterThan(0));
            Assert.That(op.GetProperty("threads_median_us").GetDouble(), Is.GreaterThan(0));
        }
        Assert.Multiple(() =>
        {
            Assert.That(split, Is.GreaterThan(0), "mnist_cnn's convolutions are split");
            Assert.That(root.GetProperty("threads").GetInt32(), Is.EqualTo(2));
            Assert.That(root.GetProperty("one_thread_sum_of_op_medians_us").GetDouble(), Is.EqualTo(one).Within(0.01 * ops.GetArrayLength()));
            Assert.That(root.GetProperty("threads_sum_of_op_medians_us").GetDouble(), Is.EqualTo(two).Within(0.01 * ops.GetArrayLength()));
            Assert.That(root.GetProperty("allocated_bytes_per_invoke").GetInt64(), Is.Zero);
            Assert.That(root.GetProperty("machine_thread_ceiling_before").GetDouble(), Is.GreaterThan(0.2).And.LessThan(2.5));
            Assert.That(root.GetProperty("machine_thread_ceiling_after").GetDouble(), Is.GreaterThan(0.2).And.LessThan(2.5));
            Assert.That(root.GetProperty("cross_core_round_trip_ns_before").GetDouble(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("cross_core_round_trip_ns_after").GetDouble(), Is.GreaterThan(0));
            Assert.That(root.GetProperty("speedup").GetDouble(),
                Is.EqualTo(root.GetProperty("one_thread_invoke_median_us").GetDouble() / root.GetProperty("threads_invoke_median_us").GetDouble()).Within(0.01));
            // The paired figure: the median of the rounds' own ratios, within their range.
            double low = root.GetProperty("speedup_round_ratio_min").GetDouble(), high = root.GetProperty("speedup_round_ratio_max").GetDouble();
            Assert.That(low, Is.GreaterThan(0).And.LessThanOrEqualTo(high));
            Assert.That(root.GetProperty("speedup_round_ratio_median").GetDouble(), Is.InRange(low, high));
        });
        var text = Run("bench", eqm, "--per-op", "--threads", "2", "--iterations", "20", "--rounds", "1");
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(text.Out, Does.Contain("2 threads").And.Contain("parts").And.Contain("Invoke: median")
            .And.Contain("Invoke speed-up round by round").And.Contain("2-thread ceiling").And.Contain("round trip"));
        AssertUserError(Run("bench", eqm, "--rounds", "3"), "--rounds");
    }

    [Test]
    public void RunOnOnnxWritesFloatOutputsInSourceLayout()
    {
        string y = Path.Combine(_dir, "ort.npy");
        var r = Run("run", Path.Combine(Zoo, "quirks", "nhwc_input.onnx"), "--input", Path.Combine(Zoo, "quirks", "nhwc_input.input.npy"), "--output", y);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var got = Npy.Read(y).Floats!;
        var want = Npy.Read(Path.Combine(Zoo, "quirks", "nhwc_input.ort_outputs.npy")).Floats!;
        Assert.That(got, Is.EqualTo(want).Within(1e-4));
    }

    [Test]
    public void EvalJsonOnOnnxHasAccuracyAndSamples()
    {
        var e = Run("eval", Path.Combine(Zoo, "digits_mlp.onnx"), "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "digits_mlp.test_labels.npy"), "--json");
        Assert.That(e.Code, Is.EqualTo(0), e.Err);
        using var j = JsonDocument.Parse(e.Out);
        Assert.That(j.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(540));
        Assert.That(j.RootElement.GetProperty("accuracy").GetDouble(), Is.EqualTo(0.9722).Within(0.0001));
    }

    [Test]
    public void UnsupportedOpIsAUserErrorNamingNodeAndOp()
    {
        string model = Path.Combine(_dir, "lstm.onnx");
        File.WriteAllBytes(model, new TestModelBuilder()
            .Input("input", -1, 4).Output("out", -1, 4)
            .Node("Relu", ["input"], ["r"], "relu_1")
            .Node("Hardmax", ["r"], ["out"], "weird_node")
            .ToBytes());
        AssertUserError(Run("convert", model, "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy")), "weird_node", "Hardmax", "supported");
    }

    [Test]
    public void DataThatDoesNotFitTheModelIsAUserError()
    {
        AssertUserError(Run("convert", Path.Combine(Zoo, "mnist_cnn.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", Path.Combine(_dir, "x.eqm")),
            "does not fit model input", "[300, 64]", "1, 28, 28");
        AssertUserError(Run("eval", Path.Combine(Zoo, "digits_mlp.onnx"), "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "mnist_cnn.test_labels.npy")),
            "1000 labels for 540 samples");
    }

    [Test]
    public void CorruptModelsAreUserErrors()
    {
        string onnx = Path.Combine(_dir, "garbage.onnx");
        File.WriteAllBytes(onnx, Enumerable.Range(0, 300).Select(i => (byte)(i * 7919 % 251)).ToArray());
        AssertUserError(Run("convert", onnx, "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy")), "garbage.onnx");

        string eqm = Path.Combine(_dir, "ok.eqm");
        Assert.That(Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", eqm).Code, Is.EqualTo(0));
        var bytes = File.ReadAllBytes(eqm);
        bytes[bytes.Length / 2] ^= 0x5A;
        string bad = Path.Combine(_dir, "bad.eqm");
        File.WriteAllBytes(bad, bytes);
        AssertUserError(Run("inspect", bad), "CRC32 mismatch");
        File.WriteAllBytes(bad, bytes.AsSpan(0, 100).ToArray());
        AssertUserError(Run("bench", bad), "blob size field");
        AssertUserError(Run("eval", Path.Combine(_dir, "missing.eqm"), "--data", "x.npy", "--labels", "y.npy"), "x.npy");
    }

    [Test]
    public void NanInCalibrationDataIsAUserError()
    {
        var data = Npy.Read(Path.Combine(Zoo, "digits_mlp.calib.npy"));
        var f = (float[])data.Floats!.Clone();
        f[5 * 64 + 3] = float.NaN;
        string path = Path.Combine(_dir, "nan.npy");
        Npy.WriteFloat32(path, f, data.Shape);
        AssertUserError(Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", path, "-o", Path.Combine(_dir, "nan.eqm")), "sample 5", "NaN");
    }

    [Test]
    public void UsageErrorsAreUserErrors()
    {
        AssertUserError(Run("frobnicate"), "unknown command");
        AssertUserError(Run("convert", Path.Combine(Zoo, "digits_mlp.onnx")), "--calib");
        AssertUserError(Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "--method", "magic"), "minmax, percentile, entropy, mse");
        AssertUserError(Run("bench", "x.eqm", "--iterations", "zero"), "--iterations");
        Assert.That(Run("--help").Code, Is.EqualTo(0));
    }

    [Test]
    public void VerboseShowsTheStackTrace()
    {
        var r = Run("inspect", Path.Combine(_dir, "nope.eqm"), "--verbose");
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain("   at "));
    }

    [Test]
    public void DemoJsonReportsAccuracySizeArenaAndLatency()
    {
        var r = Run("demo", "--model", "digits_mlp", "--zoo", Zoo, "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var root = j.RootElement;
        Assert.That(root.GetProperty("float_accuracy").GetDouble(), Is.EqualTo(0.9722).Within(0.0001));
        Assert.That(root.GetProperty("int8_accuracy").GetDouble(), Is.GreaterThan(0.96));
        Assert.That(root.GetProperty("blob_bytes").GetInt32(), Is.LessThan(root.GetProperty("onnx_bytes").GetInt32()));
        Assert.That(root.GetProperty("arena_bytes").GetInt32(), Is.GreaterThan(0));
        Assert.That(root.GetProperty("median_us").GetDouble(), Is.GreaterThan(0));
    }
}
