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
        string? eqmPath = null, samplesPath = null;
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
                case "--eqm": eqmPath = args[++i]; break;
                case "--samples": samplesPath = args[++i]; break;
                case "-h":
                case "--help":
                    Console.WriteLine("edgequant-bench [--models a,b] [--rounds 21] [--round-ms 200] [--warmup-ms 3000] [--json]");
                    Console.WriteLine("edgequant-bench --eqm MODEL.eqm --samples INPUTS.npy [...]   any blob, on samples in the source model's layout");
                    Console.WriteLine($"models (default: all): {string.Join(", ", DefaultModels)}, {BlazeFace} (converted from tests/zoo/blazeface in the run, MSE calibration)");
                    return 0;
                default:
                    Console.Error.WriteLine($"edgequant-bench: unknown argument '{args[i]}'");
                    return 1;
            }
        }
        if ((eqmPath is null) != (samplesPath is null))
        {
            Console.Error.WriteLine("edgequant-bench: --eqm and --samples go together");
            return 1;
        }
        if (eqmPath is not null && models.Count > 0)
        {
            Console.Error.WriteLine("edgequant-bench: --eqm compares one blob; leave out --models");
            return 1;
        }
        if (models.Count == 0 && eqmPath is null) models.AddRange([.. DefaultModels, BlazeFace]);
        foreach (var m in models)
            if (m != BlazeFace && !File.Exists(Path.Combine(root, "tests", "zoo", "eqm", m + ".eqm")))
            {
                Console.Error.WriteLine($"edgequant-bench: no zoo model '{m}' (tests/zoo/eqm/{m}.eqm not found)");
                return 1;
            }

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
        var cases = new List<(string Name, Func<Case> Load)>();
        foreach (var name in models)
            cases.Add((name, () => name == BlazeFace ? LoadBlazeFace(root) : LoadZoo(root, name)));
        if (eqmPath is not null)
            cases.Add((Path.GetFileNameWithoutExtension(eqmPath), () => LoadFiles(eqmPath, samplesPath!)));
        foreach (var (name, load) in cases)
        {
            Result r;
            try { r = Compare(name, load(), rounds, roundMs, warmupMs); }
            catch (Exception e) when (e is IOException or InvalidDataException or InvalidModelException or ConversionException or OnnxRuntimeException)
            {
                Console.Error.WriteLine($"edgequant-bench: {name}: {e.Message}");
                return 1;
            }
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

    private static readonly string[] DefaultModels =
        ["digits_mlp", "mnist_cnn", "fashion_mobilenet", "imu_gesture", "fashion_resnet", "fashion_mobilenetv2"];

    /// <summary>The zoo's real pretrained detector: not a committed blob, converted from its ONNX file in the run.</summary>
    private const string BlazeFace = "blazeface";

    /// <summary>A blob and test samples in the source model's layout ([count, ...sample shape], float).</summary>
    private sealed record Case(Model Model, float[] Samples, int[] SampleShape, int Count);

    private static Case LoadZoo(string root, string name)
    {
        string zoo = Path.Combine(root, "tests", "zoo");
        return WithSamples(Model.LoadFile(Path.Combine(zoo, "eqm", name + ".eqm")), Npy.Read(Path.Combine(zoo, name + ".test.npy")), name + ".test.npy");
    }

    private static Case LoadFiles(string eqm, string samples) => WithSamples(Model.LoadFile(eqm), Npy.Read(samples), samples);

    private static Case WithSamples(Model model, NpyArray npy, string origin)
    {
        float[] all = npy.Floats ?? throw new InvalidDataException($"{origin} is not float32 data");
        if (npy.Shape.Length < 2 || npy.Shape[0] < 1)
            throw new InvalidDataException($"{origin}: shape [{string.Join(", ", npy.Shape)}] is not [samples, ...one sample]");
        return new Case(model, all, npy.Shape[1..], npy.Shape[0]);
    }

    /// <summary>
    /// BlazeFace as README's camera pipeline converts it (MSE calibration on its 12 calibration frames), timed on its 9
    /// test frames normalized as the model expects (x = pixel / 127.5 - 1).
    /// </summary>
    private static Case LoadBlazeFace(string root)
    {
        string dir = Path.Combine(root, "tests", "zoo", "blazeface");
        var loaded = ModelConverter.Load(Path.Combine(dir, "face_detection_front_128x128_barracuda.onnx"));
        var calib = Npy.Read(Path.Combine(dir, "blazeface.calib.npy"));
        var set = new SampleSet(calib.Floats ?? throw new InvalidDataException("blazeface.calib.npy is not float32 data"), calib.Shape, "blazeface.calib.npy");
        var blob = ModelConverter.Convert(loaded, set, new ConvertOptions { Method = Converter.Calibration.CalibrationMethod.Mse, ReportSamples = 1 }).Blob;
        var frames = Npy.Read(Path.Combine(dir, "blazeface.frames.npy"));
        long[] pixels = frames.Int64s ?? throw new InvalidDataException("blazeface.frames.npy is not integer data");
        var x = new float[pixels.Length];
        for (int i = 0; i < x.Length; i++) x[i] = pixels[i] / 127.5f - 1f;
        return new Case(Model.Load(blob), x, frames.Shape[1..], frames.Shape[0]);
    }

    private static Result Compare(string name, Case c, int rounds, double roundMs, int warmupMs)
    {
        var model = c.Model;
        var interp = new Interpreter(model);

        // Test samples in the source layout (what ORT takes) and in the blob's NHWC layout (what SetInput takes).
        float[] all = c.Samples;
        int sampleLen = c.SampleShape.Aggregate(1, (a, b) => a * b);
        int n = Math.Min(64, c.Count);
        int[] sourceShape = [1, .. c.SampleShape];
        if (model.Inputs.Count != 1)
            throw new InvalidDataException($"the blob has {model.Inputs.Count} inputs; the bench feeds one");
        if (model.Tensors[model.Inputs[0].TensorIndex].ElementCount != sampleLen)
            throw new InvalidDataException($"a sample has {sampleLen} values; the blob's input takes {model.Tensors[model.Inputs[0].TensorIndex].ElementCount}");

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
        long[] inShape = inIo.Shape.Select(d => (long)Math.Max(d, 1)).ToArray();
        float[] ortIn = new float[sampleLen];
        if (inShape.Aggregate(1L, (a, b) => a * b) != sampleLen)
            throw new InvalidDataException($"{name}: exported input {string.Join('x', inShape)} does not match a test sample of {sampleLen} values");
        using var inValue = OrtValue.CreateTensorValueFromMemory(ortIn, inShape);
        using var binding = session.CreateIoBinding();
        using var runOptions = new RunOptions();
        binding.BindInput(inIo.Name, inValue);
        // Every output bound (a detector has several); the exporter keeps the blob's output order.
        var ortOut = new float[export.Outputs.Count][];
        var outValues = new List<OrtValue>();
        for (int o = 0; o < export.Outputs.Count; o++)
        {
            long[] outShape = export.Outputs[o].Shape.Select(d => (long)Math.Max(d, 1)).ToArray();
            ortOut[o] = new float[outShape.Aggregate(1L, (a, b) => a * b)];
            var v = OrtValue.CreateTensorValueFromMemory(ortOut[o], outShape);
            outValues.Add(v);
            binding.BindOutput(export.Outputs[o].Name, v);
        }

        // Per-sample inputs, prepared once: ORT reads the source layout, EdgeQuant the NHWC layout of the blob.
        var source = new float[n][];
        var physical = new float[n][];
        for (int s = 0; s < n; s++)
        {
            source[s] = all.AsSpan(s * sampleLen, sampleLen).ToArray();
            physical[s] = Layouts.ToPhysical(source[s], sourceShape, model.Inputs[0].Layout);
        }
        var eqOut = new float[model.Outputs.Count][];
        for (int o = 0; o < eqOut.Length; o++)
            eqOut[o] = new float[model.Tensors[model.Outputs[o].TensorIndex].ElementCount];
        if (eqOut.Length != ortOut.Length)
            throw new InvalidDataException($"{name}: the export has {ortOut.Length} outputs, the blob {eqOut.Length}");

        // Agreement on every prepared sample, in output quantization steps, over every output (ORT's in the source model's layout).
        int maxSteps = 0;
        for (int s = 0; s < n; s++)
        {
            RunOrt(session, binding, runOptions, ortIn, source[s]);
            RunEq(interp, physical[s], eqOut);
            for (int o = 0; o < eqOut.Length; o++)
            {
                float outScale = interp.GetOutputQuantization(o).Scale;
                var mine = ToSource(model, o, eqOut[o]);
                if (mine.Length != ortOut[o].Length)
                    throw new InvalidDataException($"{name}: output {o} has {mine.Length} values here and {ortOut[o].Length} in ORT");
                for (int i = 0; i < mine.Length; i++)
                    maxSteps = Math.Max(maxSteps, (int)MathF.Round(MathF.Abs(mine[i] - ortOut[o][i]) / outScale));
            }
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
        foreach (var v in outValues) v.Dispose();
        return new Result(name, eq, ort, eq / ort, eqS, ortS, eqS / ortS, maxSteps, n);
    }

    private static void RunEq(Interpreter interp, float[] input, float[][] outputs)
    {
        interp.SetInput(input);
        interp.Invoke();
        for (int o = 0; o < outputs.Length; o++)
            interp.GetOutput(outputs[o], o);
    }

    /// <summary>Output <paramref name="o"/> (the blob's physical layout) in its source model's layout, as ORT gives it.</summary>
    private static float[] ToSource(Model model, int o, float[] physical)
    {
        var io = model.Outputs[o];
        var t = model.Tensors[io.TensorIndex];
        return Layouts.ToSource(physical, Layouts.SourceShape(t.Dims(), io.Layout), io.Layout);
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
