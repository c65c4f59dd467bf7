using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Export;
using EdgeQuant.Converter.IO;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using Microsoft.ML.OnnxRuntime;

namespace EdgeQuant.Bench;

/// <summary>
/// EdgeQuant against ONNX Runtime on the same quantization, in one process.
/// <para>
/// For each zoo model the committed blob (tests/zoo/eqm) is exported as QDQ ONNX
/// (<see cref="OnnxExporter"/>: same scales, zero points, weights and biases) and loaded into an ORT
/// <see cref="InferenceSession"/> with one intra-op and one inter-op thread, sequential execution and
/// all graph optimizations; its input and output are pre-bound (<see cref="OrtIoBinding"/> over
/// pinned float buffers) so a run is <c>RunWithBinding</c> alone. EdgeQuant's side of a run is
/// <c>SetInput</c> (quantize) + <c>Invoke</c> + <c>GetOutput</c> (dequantize).
/// </para>
/// <para>
/// Both engines are warmed up until tiered compilation has settled, then timed in alternating
/// rounds (the order flips every round); each round times a block of runs per engine over the same
/// cycle of test samples. Reported: the median per-inference time of each engine over the rounds
/// and their ratio.
/// </para>
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string? root = FindRoot();
        if (root is null)
        {
            Console.Error.WriteLine("edgequant-bench: run from inside the EdgeQuant repository (tests/zoo/eqm not found)");
            return 1;
        }

        var models = new List<string>();
        int rounds = 21, warmupMs = 3000;
        double roundMs = 200;
        bool json = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--models": models.AddRange(args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries)); break;
                case "--rounds": rounds = int.Parse(args[++i]); break;
                case "--round-ms": roundMs = double.Parse(args[++i]); break;
                case "--warmup-ms": warmupMs = int.Parse(args[++i]); break;
                case "--json": json = true; break;
                case "-h":
                case "--help":
                    Console.WriteLine("edgequant-bench [--models a,b] [--rounds 21] [--round-ms 200] [--warmup-ms 3000] [--json]");
                    return 0;
                default:
                    Console.Error.WriteLine($"edgequant-bench: unknown argument '{args[i]}'");
                    return 1;
            }
        }
        if (models.Count == 0) models.AddRange(["digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture", "fashion_resnet", "fashion_mobilenetv2"]);

        string isa = Avx512BW.IsSupported ? "AVX-512BW" : Avx2.IsSupported ? "AVX2" : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "AdvSimd" : "scalar";
        string cpu = CpuName();
        if (!json)
        {
            Console.WriteLine($"EdgeQuant vs ONNX Runtime {OrtEnv.Instance().GetVersionString()} in-process, 1 thread each; {cpu}; {isa}; .NET {Environment.Version}");
            Console.WriteLine($"{rounds} alternating rounds of ~{roundMs} ms per engine after {warmupMs} ms warm-up each; medians of per-inference time");
            Console.WriteLine("block: median over rounds of a round's mean time per inference; single: median of individually timed inferences");
            Console.WriteLine("(immune to preemption on a loaded machine, which inflates a round's mean when the machine is shared)");
            Console.WriteLine();
            Console.WriteLine("| model | EdgeQuant median us | ORT median us | EdgeQuant / ORT | single: EdgeQuant us | single: ORT us | single: EdgeQuant / ORT | max output diff (steps) |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        }

        var results = new List<object>();
        foreach (var name in models)
        {
            var r = Compare(root, name, rounds, roundMs, warmupMs);
            results.Add(r);
            if (!json)
                Console.WriteLine($"| {name} | {r.EdgeQuantUs:F1} | {r.OrtUs:F1} | **{r.Ratio:F2}** | {r.EdgeQuantSingleUs:F1} | {r.OrtSingleUs:F1} | **{r.SingleRatio:F2}** | {r.MaxDiffSteps} |");
        }
        if (json)
            Console.WriteLine(JsonSerializer.Serialize(new { cpu, isa, dotnet = Environment.Version.ToString(), ort = OrtEnv.Instance().GetVersionString(), rounds, models = results }));
        return 0;
    }

    private sealed record Result(string Model, double EdgeQuantUs, double OrtUs, double Ratio,
        double EdgeQuantSingleUs, double OrtSingleUs, double SingleRatio, int MaxDiffSteps, int Samples);

    private static Result Compare(string root, string name, int rounds, double roundMs, int warmupMs)
    {
        string zoo = Path.Combine(root, "tests", "zoo");
        var model = Model.LoadFile(Path.Combine(zoo, "eqm", name + ".eqm"));
        var interp = new Interpreter(model);

        // Test samples in the source layout (what ORT takes) and in the blob's NHWC layout (what SetInput takes).
        var npy = Npy.Read(Path.Combine(zoo, name + ".test.npy"));
        float[] all = npy.Floats ?? throw new InvalidDataException($"{name}.test.npy is not float data");
        int sampleLen = all.Length / npy.Shape[0];
        int n = Math.Min(64, npy.Shape[0]);
        int[] sourceShape = [1, .. npy.Shape[1..]];

        bool x86 = Avx2.IsSupported || Sse2.IsSupported;
        var export = OnnxExporter.Export(model, new OnnxExportOptions { DynamicBatch = false, Activations = x86 ? OnnxActivationType.UInt8 : OnnxActivationType.Int8 });
        using var so = new SessionOptions
        {
            IntraOpNumThreads = 1,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
        };
        so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        using var session = new InferenceSession(export.Bytes, so);
        var inIo = export.Inputs[0];
        var outIo = export.Outputs[0];
        long[] inShape = inIo.Shape.Select(d => (long)Math.Max(d, 1)).ToArray();
        long[] outShape = outIo.Shape.Select(d => (long)Math.Max(d, 1)).ToArray();
        float[] ortIn = new float[sampleLen];
        float[] ortOut = new float[outShape.Aggregate(1L, (a, b) => a * b)];
        if (inShape.Aggregate(1L, (a, b) => a * b) != sampleLen)
            throw new InvalidDataException($"{name}: exported input {string.Join('x', inShape)} does not match a test sample of {sampleLen} values");
        using var inValue = OrtValue.CreateTensorValueFromMemory(ortIn, inShape);
        using var outValue = OrtValue.CreateTensorValueFromMemory(ortOut, outShape);
        using var binding = session.CreateIoBinding();
        using var runOptions = new RunOptions();
        binding.BindInput(inIo.Name, inValue);
        binding.BindOutput(outIo.Name, outValue);

        // Per-sample inputs, prepared once: ORT reads the source layout, EdgeQuant the NHWC layout of the blob.
        var source = new float[n][];
        var physical = new float[n][];
        for (int s = 0; s < n; s++)
        {
            source[s] = all.AsSpan(s * sampleLen, sampleLen).ToArray();
            physical[s] = Layouts.ToPhysical(source[s], sourceShape, model.Inputs[0].Layout);
        }
        float[] eqOut = new float[model.Tensors[model.Outputs[0].TensorIndex].ElementCount];

        // Agreement on every prepared sample, in output quantization steps.
        float outScale = interp.GetOutputQuantization().Scale;
        int maxSteps = 0;
        for (int s = 0; s < n; s++)
        {
            RunOrt(session, binding, runOptions, ortIn, source[s]);
            RunEq(interp, physical[s], eqOut);
            for (int i = 0; i < eqOut.Length; i++)
                maxSteps = Math.Max(maxSteps, (int)MathF.Round(MathF.Abs(eqOut[i] - ortOut[i]) / outScale));
        }

        int sample = 0;
        void Eq() { RunEq(interp, physical[sample], eqOut); sample = sample + 1 == n ? 0 : sample + 1; }
        void Ort() { RunOrt(session, binding, runOptions, ortIn, source[sample]); sample = sample + 1 == n ? 0 : sample + 1; }

        // Warm-up, alternating, long enough for tiered compilation (tier 0 -> OSR -> tier 1 with PGO).
        var warm = Stopwatch.StartNew();
        while (warm.ElapsedMilliseconds < 2L * warmupMs)
        {
            for (int i = 0; i < 100; i++) Eq();
            for (int i = 0; i < 100; i++) Ort();
        }

        // Calibrate block sizes so a block takes about roundMs per engine.
        int eqBlock = BlockSize(Eq, roundMs), ortBlock = BlockSize(Ort, roundMs);
        var eqTimes = new double[rounds];
        var ortTimes = new double[rounds];
        var eqSingle = new List<double>();
        var ortSingle = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                eqTimes[r] = Time(Eq, eqBlock);
                ortTimes[r] = Time(Ort, ortBlock);
                TimeEach(Eq, SingleRuns, eqSingle);
                TimeEach(Ort, SingleRuns, ortSingle);
            }
            else
            {
                ortTimes[r] = Time(Ort, ortBlock);
                eqTimes[r] = Time(Eq, eqBlock);
                TimeEach(Ort, SingleRuns, ortSingle);
                TimeEach(Eq, SingleRuns, eqSingle);
            }
        }
        double eq = Median(eqTimes), ort = Median(ortTimes);
        double eqS = Median([.. eqSingle]), ortS = Median([.. ortSingle]);
        return new Result(name, eq, ort, eq / ort, eqS, ortS, eqS / ortS, maxSteps, n);
    }

    private static void RunEq(Interpreter interp, float[] input, float[] output)
    {
        interp.SetInput(input);
        interp.Invoke();
        interp.GetOutput(output);
    }

    private static void RunOrt(InferenceSession session, OrtIoBinding binding, RunOptions options, float[] boundInput, float[] input)
    {
        // The input buffer is pinned and bound: writing it is how a caller feeds a bound input.
        input.CopyTo(boundInput, 0);
        session.RunWithBinding(options, binding);
    }

    private static int BlockSize(Action run, double targetMs)
    {
        int k = 16;
        while (true)
        {
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < k; i++) run();
            double ms = sw.Elapsed.TotalMilliseconds;
            if (ms >= targetMs / 4 || k > 1 << 24) return Math.Max(16, (int)(k * targetMs / Math.Max(ms, 1e-3)));
            k *= 4;
        }
    }

    /// <summary>Inferences timed one by one per round and engine (after the round's block).</summary>
    private const int SingleRuns = 200;

    /// <summary>Appends the time of each of <paramref name="k"/> runs, in microseconds, to <paramref name="times"/>.</summary>
    private static void TimeEach(Action run, int k, List<double> times)
    {
        for (int i = 0; i < k; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
    }

    /// <summary>Microseconds per run over a block of <paramref name="k"/> runs.</summary>
    private static double Time(Action run, int k)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < k; i++) run();
        return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / k;
    }

    private static double Median(double[] v)
    {
        var s = (double[])v.Clone();
        Array.Sort(s);
        return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
    }

    private static string CpuName()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal)) return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        return "unknown CPU";
    }

    private static string? FindRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "tests", "zoo", "eqm"))) return d.FullName;
        for (var d = new DirectoryInfo(Directory.GetCurrentDirectory()); d is not null; d = d.Parent)
            if (Directory.Exists(Path.Combine(d.FullName, "tests", "zoo", "eqm"))) return d.FullName;
        return null;
    }
}
