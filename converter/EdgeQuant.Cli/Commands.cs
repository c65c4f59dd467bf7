using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Cli;

/// <summary>The commands of the CLI. Each validates its arguments and throws UsageException / ConversionException on user errors.</summary>
public static partial class Commands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Convert(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("-o", "--output", "--calib", "--method", "--per-tensor", "--report", "--labels", "--pixels", "--json", "--dynamic", "--sparse",
            "--weights", "--rounding", "--prune", "--structured", "--precision", "--mixed-precision", "--data", "--accuracy-budget", "--sensitivity-samples", "--objective");
        string model = a.Positional(0, "MODEL.onnx");
        var calib = a.GetAll("--calib");
        string output = a.Get("-o", "--output") ?? Path.ChangeExtension(model, ".eqm");
        var method = ParseMethod(a.Get("--method") ?? "minmax");
        bool mixed = a.Has("--mixed-precision") || a.Get("--precision") is not null;
        // With --mixed-precision, --labels is the .npy labels of --data; otherwise class names.
        var labels = a.Get("--labels") is { } lp && !a.Has("--mixed-precision") ? File.ReadAllLines(lp).Where(l => l.Length > 0).ToArray() : null;
        PixelNormalization? pixels = null;
        if (a.Get("--pixels") is { } px)
        {
            try { pixels = PixelNormalization.ParseArgument(px); }
            catch (FormatException e) { throw new UsageException(e.Message); }
        }

        var compression = CompressionArguments.Parse(a);
        var sw = Stopwatch.StartNew();
        var loaded = ModelConverter.Load(model);
        if (a.Has("--dynamic"))
        {
            if (compression.IsActive) throw new UsageException("--weights, --rounding and --prune apply to calibrated (static) conversions, not to --dynamic");
            ConvertDynamic(c, loaded, output, labels, sw);
            return;
        }
        bool qdq = QdqQuantization.AnnotationsOf(loaded) is not null;
        if (qdq && compression.IsActive)
            throw new UsageException("--weights, --rounding and --prune apply to float models; this model's QuantizeLinear/DequantizeLinear nodes fix its quantization");
        // A QDQ model carries its own quantization; a float model needs calibration data.
        if (calib.Count == 0 && !qdq) throw new UsageException("missing --calib X.npy (calibration data; NAME=X.npy once per input for a model with several inputs)");
        var inputs = calib.Count == 0 ? null : ReadInputs(calib);
        if (mixed)
        {
            if (compression.IsActive) throw new UsageException("--weights, --rounding and --prune do not combine with mixed precision (it chooses the weight encodings per layer)");
            if (qdq) throw new UsageException("mixed precision applies to float models; this model's QuantizeLinear/DequantizeLinear nodes fix its quantization");
            ConvertMixed(c, loaded, inputs!, output, new ConvertOptions { Method = method, PerChannel = !a.Has("--per-tensor"), Labels = labels, Pixels = pixels, Progress = c.Progress("calibrating") }, sw);
            return;
        }
        foreach (var only in new[] { "--data", "--accuracy-budget", "--sensitivity-samples", "--objective" })
            if (a.Get(only) is not null) throw new UsageException($"{only} applies to --mixed-precision only");
        var data = inputs?.Fit(loaded.Ir.Inputs.Select(t => loaded.Ir.IoNames[t]).ToList(), loaded.Ir.Inputs.Select(t => loaded.Ir.SourceShapes[t]).ToList())[0];
        var result = ModelConverter.Convert(loaded, inputs, new ConvertOptions
        {
            Method = method,
            PerChannel = !a.Has("--per-tensor"),
            Labels = labels,
            Pixels = pixels,
            Progress = c.Progress("calibrating"),
            Weights = compression.Weights,
            Rounding = compression.Rounding,
            Prune = compression.Prune,
            PruneChannels = compression.PruneChannels,
            Sparse = compression.Sparse,
        });
        File.WriteAllBytes(output, result.Blob);
        sw.Stop();
        if (a.Get("--report") is { } reportPath) File.WriteAllText(reportPath, result.Report.ToJson());
        if (c.Json)
        {
            var j = JsonNode.Parse(result.Report.ToJson())!.AsObject();
            j["output"] = output;
            j["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2);
            c.Out.WriteLine(j.ToJsonString(Indented));
        }
        else
        {
            c.Out.Write(result.Report.ToTable());
            if (result.StructuredPruning is { } sp) c.Out.WriteLine(sp.ToString());
            c.Out.WriteLine($"wrote {output} ({result.Blob.Length:N0} bytes) in {sw.Elapsed.TotalSeconds:F1} s, {(data is null ? "quantization from the model's QuantizeLinear/DequantizeLinear nodes" : qdq ? $"QDQ model, {data.Count} samples given" : $"calibrated on {data.Count} samples with {method.ToString().ToLowerInvariant()}")}");
        }
    }

    /// <summary>convert --dynamic: no calibration; int8 weights, activations quantized per inference.</summary>
    private static void ConvertDynamic(CommandContext c, LoadedModel loaded, string output, string[]? labels, Stopwatch sw)
    {
        var a = c.Args;
        foreach (var unused in new[] { "--calib", "--method", "--report", "--pixels" })
            if (a.Get(unused) is not null) throw new UsageException($"{unused} does not apply to --dynamic (no calibration, no int8 activations)");
        var r = DynamicQuantization.Convert(loaded, new ConvertOptions { PerChannel = !a.Has("--per-tensor"), Labels = labels });
        File.WriteAllBytes(output, r.Blob);
        sw.Stop();
        var m = Model.Load(r.Blob);
        if (c.Json)
        {
            var j = new JsonObject
            {
                ["output"] = output, ["dynamic"] = true, ["blob_bytes"] = r.Blob.Length, ["onnx_bytes"] = loaded.Bytes.Length,
                ["arena_bytes"] = m.ArenaBytes, ["weight_bytes"] = r.WeightBytes, ["dynamic_ops"] = r.DynamicOps, ["float_ops"] = r.FloatOps,
                ["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2),
            };
            c.Out.WriteLine(j.ToJsonString(Indented));
        }
        else
        {
            c.Out.WriteLine($"dynamic quantization: {r.DynamicOps} dynamically quantized ops (int8 weights, uint8 activations per inference), {r.FloatOps} float ops");
            c.Out.WriteLine($"blob {r.Blob.Length:N0} B (ONNX {loaded.Bytes.Length:N0} B), arena {m.ArenaBytes:N0} B");
            c.Out.WriteLine($"wrote {output} ({r.Blob.Length:N0} bytes) in {sw.Elapsed.TotalSeconds:F1} s, no calibration data");
        }
    }

    public static void Eval(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--data", "--labels", "--reference", "--json");
        string model = a.Positional(0, "MODEL.onnx or MODEL.eqm");
        a.Require("--data", "X.npy (NAME=X.npy once per input for a model with several inputs)");
        var inputs = ReadInputs(a.GetAll("--data"));
        var runner = ModelRunner.Open(model);
        var data = runner.Fit(inputs)[0];
        var labels = ReadLabels(a.Require("--labels", "Y.npy"), data.Count);
        var predicted = Argmax(runner.Run(inputs, c.Progress("evaluating")), data.Count);
        double acc = Accuracy(predicted, labels);
        var j = new JsonObject { ["model"] = model, ["samples"] = data.Count, ["accuracy"] = Math.Round(acc, 6) };
        string line = $"{Path.GetFileName(model)}: top-1 accuracy {acc * 100:F2}% on {data.Count} samples";
        if (a.Get("--reference") is { } reference)
        {
            if (!runner.IsQuantized) throw new UsageException("--reference compares an .eqm model with its float ONNX source; the model given is already float");
            var floatRunner = ModelRunner.Open(reference);
            var fp = Argmax(floatRunner.Run(inputs, c.Progress("float ref")), data.Count);
            double facc = Accuracy(fp, labels);
            int agree = 0;
            for (int i = 0; i < fp.Length; i++) if (fp[i] == predicted[i]) agree++;
            j["float_accuracy"] = Math.Round(facc, 6);
            j["int8_accuracy"] = Math.Round(acc, 6);
            j["accuracy_drop_points"] = Math.Round((facc - acc) * 100, 3);
            j["top1_agreement"] = Math.Round((double)agree / data.Count, 6);
            line += $"; float {facc * 100:F2}% ({(acc - facc) * 100:+0.00;-0.00} points), top-1 agreement {100.0 * agree / data.Count:F2}%";
        }
        c.Out.WriteLine(c.Json ? j.ToJsonString(Indented) : line);
    }

    public static void RunModel(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--input", "--output", "--json");
        string model = a.Positional(0, "MODEL.onnx or MODEL.eqm");
        a.Require("--input", "X.npy (NAME=X.npy once per input for a model with several inputs)");
        var inputs = ReadInputs(a.GetAll("--input"));
        a.Require("--output", "Y.npy (NAME=Y.npy for each output wanted of a model with several)");
        var outputArgs = a.GetAll("--output");
        var runner = ModelRunner.Open(model);
        var wanted = OutputFiles(outputArgs, runner.OutputNames, out bool named);
        var data = runner.Fit(inputs)[0];
        var ys = runner.RunOutputs(inputs, wanted.Select(w => w.Index).ToList(), c.Progress("running"));
        var written = new JsonArray();
        for (int j = 0; j < wanted.Count; j++)
        {
            var shape = runner.OutputShape(data, wanted[j].Index);
            Npy.WriteFloat32(wanted[j].Path, ys[j], shape);
            string name = runner.OutputNames[wanted[j].Index];
            written.Add(new JsonObject { ["name"] = name, ["output"] = wanted[j].Path, ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()) });
            if (!c.Json) c.Out.WriteLine($"wrote {wanted[j].Path}: float32 [{string.Join(", ", shape)}]{(runner.OutputNames.Count > 1 ? $" (output '{name}')" : "")}");
        }
        if (!named && runner.OutputNames.Count > 1 && !c.Json)
            c.Out.WriteLine($"  the model has {runner.OutputNames.Count} outputs ({string.Join(", ", runner.OutputNames)}); this is the first: --output NAME=Y.npy writes any of them");
        if (c.Json)
        {
            var j = new JsonObject { ["samples"] = data.Count, ["outputs"] = written };
            // The single-output form's fields, as before.
            if (!named) { j["output"] = wanted[0].Path; j["shape"] = written[0]!["shape"]!.DeepClone(); }
            c.Out.WriteLine(j.ToJsonString());
        }
    }

    /// <summary>
    /// The files of the --output options of <c>run</c> and <c>firmware run</c>: "Y.npy" alone is the first output;
    /// "NAME=Y.npy" (repeatable) the outputs named (<paramref name="named"/>), in the order given. Unknown, repeated and
    /// unnamed extra outputs are user errors that list the model's outputs.
    /// </summary>
    internal static List<(int Index, string Path)> OutputFiles(IReadOnlyList<string> outputArgs, IReadOnlyList<string> names, out bool named)
    {
        var wanted = new List<(int Index, string Path)>();
        named = outputArgs.Any(o => o.Contains('=') && !File.Exists(o));
        foreach (var o in outputArgs)
        {
            if (!named)
            {
                if (outputArgs.Count > 1)
                    throw new UsageException("several --output files: name the output of each (--output NAME=Y.npy)");
                wanted.Add((0, o));
                continue;
            }
            int eq = o.IndexOf('=');
            if (eq <= 0 || eq == o.Length - 1)
                throw new UsageException($"--output {o}: expected NAME=Y.npy (outputs: {string.Join(", ", names)})");
            string name = o[..eq];
            int index = Enumerable.Range(0, names.Count).FirstOrDefault(k => names[k] == name, -1);
            if (index < 0)
                throw new UsageException($"--output {o}: the model has no output '{name}' (outputs: {string.Join(", ", names)})");
            if (wanted.Any(w => w.Index == index))
                throw new UsageException($"--output {o}: output '{name}' is named twice");
            wanted.Add((index, o[(eq + 1)..]));
        }
        return wanted;
    }

    public static void Inspect(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--json");
        string path = a.Positional(0, "MODEL.eqm");
        var m = Model.LoadFile(path);
        var tensors = new JsonArray();
        for (int i = 0; i < m.Tensors.Count; i++)
        {
            var t = m.Tensors[i];
            var tj = new JsonObject
            {
                ["index"] = i, ["type"] = t.Type.ToString().ToLowerInvariant(), ["shape"] = Arr(t.Dims()),
                ["storage"] = t.Storage.ToString().ToLowerInvariant(), ["offset"] = t.Offset, ["bytes"] = t.ByteLength,
            };
            if (t.QuantIndex >= 0)
            {
                var q = m.Quantization[t.QuantIndex];
                tj["zero_point"] = q.ZeroPoint;
                if (q.ChannelCount == 1) tj["scale"] = m.GetScale(t.QuantIndex);
                else { tj["channels"] = q.ChannelCount; tj["axis"] = q.QuantizedDimension; tj["scale_min"] = Enumerable.Range(0, q.ChannelCount).Min(k => m.GetScale(t.QuantIndex, k)); tj["scale_max"] = Enumerable.Range(0, q.ChannelCount).Max(k => m.GetScale(t.QuantIndex, k)); }
            }
            tensors.Add(tj);
        }
        var ops = new JsonArray();
        for (int i = 0; i < m.Ops.Count; i++)
        {
            var o = m.Ops[i];
            ops.Add(new JsonObject
            {
                ["index"] = i, ["type"] = o.Type.ToString(),
                ["inputs"] = Arr(Enumerable.Range(0, o.InputCount).Select(o.Input).ToArray()),
                ["outputs"] = Arr(Enumerable.Range(0, o.OutputCount).Select(o.Output).ToArray()),
                ["scratch_bytes"] = o.ScratchBytes,
            });
        }
        var meta = new JsonObject();
        foreach (var (k, v) in m.Metadata) meta[k] = v;
        var j = new JsonObject
        {
            ["model"] = path,
            ["format_version"] = $"{m.VersionMajor}.{m.VersionMinor}",
            ["blob_bytes"] = m.BlobBytes,
            ["arena_bytes"] = m.ArenaBytes,
            ["arena_lower_bound_bytes"] = m.ArenaLowerBoundBytes,
            ["inputs"] = new JsonArray(m.Inputs.Select(io => (JsonNode)new JsonObject { ["name"] = io.Name, ["tensor"] = io.TensorIndex, ["source_layout"] = io.Layout.ToString() }).ToArray()),
            ["outputs"] = new JsonArray(m.Outputs.Select(io => (JsonNode)new JsonObject { ["name"] = io.Name, ["tensor"] = io.TensorIndex, ["source_layout"] = io.Layout.ToString() }).ToArray()),
            ["ops"] = ops,
            ["tensors"] = tensors,
            ["metadata"] = meta,
        };
        if (c.Json) { c.Out.WriteLine(j.ToJsonString(Indented)); return; }
        c.Out.WriteLine($"{path}: format {m.VersionMajor}.{m.VersionMinor}, {m.BlobBytes:N0} bytes, arena {m.ArenaBytes:N0} bytes (lower bound {m.ArenaLowerBoundBytes:N0})");
        foreach (var (k, v) in m.Metadata) c.Out.WriteLine($"  {k}: {v.Replace("\n", ", ")}");
        for (int i = 0; i < m.Ops.Count; i++)
        {
            var o = m.Ops[i];
            var outT = m.Tensors[o.Output0];
            // Float outputs (Dequantize, the dynamic-quantization ops) have no quantization record.
            string quant = outT.QuantIndex < 0 ? outT.Type.ToString().ToLowerInvariant() : $"scale {m.GetScale(outT.QuantIndex):G4} zp {m.Quantization[outT.QuantIndex].ZeroPoint}";
            c.Out.WriteLine($"  {i,3} {o.Type,-16} -> t{o.Output0} [{string.Join(",", outT.Dims())}] {quant}");
        }
    }

    public static void Bench(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--iterations", "--json", "--per-op", "--threads", "--rounds");
        string path = a.Positional(0, "MODEL.eqm");
        int iterations = ParseInt(a.Get("--iterations") ?? "1000", "--iterations", 1, 10_000_000);
        int threads = ParseInt(a.Get("--threads") ?? "1", "--threads", 1, 64);
        int? rounds = a.Get("--rounds") is { } rs ? ParseInt(rs, "--rounds", 1, 1000) : null;
        if (rounds is not null && !(a.Has("--per-op") && threads > 1))
            throw new UsageException("--rounds applies to --per-op with --threads 2 or more");
        var m = Model.LoadFile(path);
        if (a.Has("--per-op"))
        {
            if (threads > 1) BenchPerOpThreads(c, path, m, iterations, threads, rounds ?? 5);
            else BenchPerOp(c, path, m, iterations);
            return;
        }
        var fast = Benchmark.Measure(m, iterations, reference: false, threads);
        double? ceiling = threads > 1 ? PeakMeter.ThreadCeiling(threads) : null;
        double? trip = threads > 1 ? PeakMeter.CrossCoreRoundTripNs() : null;
        var reference = Benchmark.Measure(m, Math.Max(10, iterations / 10), reference: true);
        var j = new JsonObject
        {
            ["model"] = path,
            ["iterations"] = iterations,
            ["threads"] = threads,
            ["median_us"] = Math.Round(fast.MedianUs, 2),
            ["p99_us"] = Math.Round(fast.P99Us, 2),
            ["min_us"] = Math.Round(fast.MinUs, 2),
            ["allocated_bytes_per_invoke"] = fast.AllocatedBytesPerInvoke,
            ["reference_median_us"] = Math.Round(reference.MedianUs, 2),
            ["speedup_vs_reference"] = Math.Round(reference.MedianUs / fast.MedianUs, 2),
            ["arena_bytes"] = m.ArenaBytes,
            ["thread_bytes"] = fast.ThreadBytes,
            ["blob_bytes"] = m.BlobBytes,
            ["hardware"] = Benchmark.Hardware(),
        };
        if (ceiling is { } ce) j["machine_thread_ceiling"] = Math.Round(ce, 3);
        if (trip is { } tr) j["cross_core_round_trip_ns"] = Math.Round(tr, 1);
        if (c.Json) c.Out.WriteLine(j.ToJsonString(Indented));
        else
        {
            c.Out.WriteLine($"{Path.GetFileName(path)}: {threads} thread(s), median {fast.MedianUs:F1} us, p99 {fast.P99Us:F1} us, {fast.AllocatedBytesPerInvoke} bytes allocated per invoke; reference kernels {reference.MedianUs:F1} us ({reference.MedianUs / fast.MedianUs:F2}x slower) [{Benchmark.Hardware()}]");
            if (threads > 1)
            {
                c.Out.WriteLine($"  memory: arena {m.ArenaBytes:N0} B, and {fast.ThreadBytes:N0} B more for {threads} threads (tensors moved for chains, each part's scratch)");
                c.Out.WriteLine($"  this machine's {threads}-thread ceiling just after (independent multiply-add loops on {threads} threads against one, no memory shared): {ceiling:F2}x; a cache line's round trip between two threads: {trip:F0} ns");
            }
        }
    }

    /// <summary>
    /// <c>bench --per-op --threads N</c>: each op's median with one and with N threads (two interpreters alternating
    /// in rounds in this process), how many parts it is split into, and the whole Invoke's speed-up.
    /// </summary>
    private static void BenchPerOpThreads(CommandContext c, string path, Model m, int iterations, int threads, int rounds)
    {
        double ceilingBefore = PeakMeter.ThreadCeiling(threads), tripBefore = PeakMeter.CrossCoreRoundTripNs();
        var p = Benchmark.MeasurePerOpThreads(m, iterations, threads, rounds);
        double ceilingAfter = PeakMeter.ThreadCeiling(threads), tripAfter = PeakMeter.CrossCoreRoundTripNs();
        double oneSum = 0, manySum = 0;
        foreach (var o in p.Ops) { oneSum += o.OneUs; manySum += o.ManyUs; }
        if (c.Json)
        {
            var list = new JsonArray();
            foreach (var o in p.Ops)
            {
                list.Add(new JsonObject
                {
                    ["index"] = o.Index, ["op"] = o.Type.ToString(), ["output_shape"] = string.Join(',', m.Tensors[m.Ops[o.Index].Output0].Dims()),
                    ["parts"] = o.Parts, ["chain_start"] = o.ChainStart, ["macs"] = o.Macs,
                    ["one_thread_median_us"] = Math.Round(o.OneUs, 3), ["threads_median_us"] = Math.Round(o.ManyUs, 3),
                    ["speedup"] = o.ManyUs > 0 ? Math.Round(o.OneUs / o.ManyUs, 3) : null,
                });
            }
            var j = new JsonObject
            {
                ["model"] = path, ["iterations"] = iterations, ["rounds"] = rounds, ["threads"] = threads, ["ops"] = list,
                ["one_thread_sum_of_op_medians_us"] = Math.Round(oneSum, 2), ["threads_sum_of_op_medians_us"] = Math.Round(manySum, 2),
                ["one_thread_invoke_median_us"] = Math.Round(p.OneInvokeUs, 2), ["threads_invoke_median_us"] = Math.Round(p.ManyInvokeUs, 2),
                ["one_thread_invoke_min_us"] = Math.Round(p.OneMinUs, 2), ["threads_invoke_min_us"] = Math.Round(p.ManyMinUs, 2),
                ["speedup"] = Math.Round(p.OneInvokeUs / p.ManyInvokeUs, 3),
                ["speedup_round_ratio_median"] = Math.Round(p.RoundRatioMedian, 3),
                ["speedup_round_ratio_min"] = Math.Round(p.RoundRatioLow, 3), ["speedup_round_ratio_max"] = Math.Round(p.RoundRatioHigh, 3),
                ["allocated_bytes_per_invoke"] = p.AllocatedBytesPerInvoke, ["hardware"] = Benchmark.Hardware(),
                ["machine_thread_ceiling_before"] = Math.Round(ceilingBefore, 3), ["machine_thread_ceiling_after"] = Math.Round(ceilingAfter, 3),
                ["cross_core_round_trip_ns_before"] = Math.Round(tripBefore, 1), ["cross_core_round_trip_ns_after"] = Math.Round(tripAfter, 1),
            };
            c.Out.WriteLine(j.ToJsonString(Indented));
            return;
        }
        c.Out.WriteLine($"{Path.GetFileName(path)}: 1 and {threads} threads alternating, {rounds} rounds of {iterations} invokes, medians of the round medians [{Benchmark.Hardware()}]");
        c.Out.WriteLine($"  {"#",3}  {"op",-16} {"output",-14} {"parts",5} {"chain",5} {"1 thread",9} {threads + " threads",9} {"saved",7} {"speed-up",8}");
        foreach (var o in p.Ops)
        {
            string shape = string.Join('x', m.Tensors[m.Ops[o.Index].Output0].Dims());
            string chain = o.ChainStart != o.Index || (o.Index + 1 < p.Ops.Length && p.Ops[o.Index + 1].ChainStart == o.Index) ? $"@{o.ChainStart}" : "";
            c.Out.WriteLine($"  {o.Index,3}  {o.Type,-16} {shape,-14} {o.Parts,5} {chain,5} {o.OneUs,9:F2} {o.ManyUs,9:F2} {o.OneUs - o.ManyUs,7:F2} {o.OneUs / o.ManyUs,7:F2}x");
        }
        c.Out.WriteLine("  (op by op, each split op is its own job; ops marked @k run in Invoke as one job with the chain starting at op k)");
        c.Out.WriteLine($"  sum of op medians: {oneSum:F1} us / {manySum:F1} us ({oneSum / manySum:F2}x)");
        c.Out.WriteLine($"  Invoke: median {p.OneInvokeUs:F1} us / {p.ManyInvokeUs:F1} us ({p.OneInvokeUs / p.ManyInvokeUs:F2}x), fastest {p.OneMinUs:F1} / {p.ManyMinUs:F1} us; {p.AllocatedBytesPerInvoke} bytes allocated per {threads}-thread invoke");
        c.Out.WriteLine($"  Invoke speed-up round by round (both interpreters in interleaved blocks of each round): median {p.RoundRatioMedian:F2}x, lowest {p.RoundRatioLow:F2}x, highest {p.RoundRatioHigh:F2}x");
        c.Out.WriteLine($"  this machine's {threads}-thread ceiling (independent multiply-add loops on {threads} threads against one, no memory shared): {ceilingBefore:F2}x before, {ceilingAfter:F2}x after");
        c.Out.WriteLine($"  a cache line's round trip between two threads (what a split op pays where it reads rows the other thread wrote): {tripBefore:F0} ns before, {tripAfter:F0} ns after");
    }

    private static void BenchPerOp(CommandContext c, string path, Model m, int iterations)
    {
        var peak = PeakMeter.Measure();
        var ops = Benchmark.MeasurePerOp(m, iterations);
        double total = 0;
        long macs = 0;
        foreach (var o in ops) { total += o.MedianUs; macs += o.Macs; }
        var whole = Benchmark.Measure(m, iterations, reference: false);
        var list = new JsonArray();
        foreach (var o in ops)
        {
            var t = m.Tensors[m.Ops[o.Index].Output0];
            list.Add(new JsonObject
            {
                ["index"] = o.Index, ["op"] = o.Type.ToString(), ["output_shape"] = string.Join(',', t.Dims()),
                ["median_us"] = Math.Round(o.MedianUs, 3), ["macs"] = o.Macs,
                ["gmacs_per_s"] = o.Macs > 0 && o.MedianUs > 0 ? Math.Round(o.Macs / o.MedianUs / 1000, 2) : null,
                ["percent_of_peak"] = o.Macs > 0 && o.MedianUs > 0 && peak is { } pk ? Math.Round(100 * o.Macs / o.MedianUs / 1000 / pk.GmacsPerSecond, 1) : null,
                ["share"] = total > 0 ? Math.Round(o.MedianUs / total, 4) : 0,
                ["kernel"] = o.Winograd ? "winograd_f2x2_3x3" : "direct",
            });
        }
        if (c.Json)
        {
            var j = new JsonObject
            {
                ["model"] = path, ["iterations"] = iterations, ["ops"] = list,
                ["sum_of_op_medians_us"] = Math.Round(total, 2), ["invoke_median_us"] = Math.Round(whole.MedianUs, 2),
                ["macs"] = macs, ["hardware"] = Benchmark.Hardware(),
                ["peak_instruction"] = peak?.Instruction, ["peak_gmacs_per_s"] = peak is { } pj ? Math.Round(pj.GmacsPerSecond, 2) : null,
            };
            c.Out.WriteLine(j.ToJsonString(Indented));
            return;
        }
        c.Out.WriteLine($"{Path.GetFileName(path)}: per-op medians over {iterations} invokes [{Benchmark.Hardware()}]");
        c.Out.WriteLine(peak is { } p
            ? $"  peak: {p.Instruction}, {p.GmacsPerSecond:F1} GMAC/s measured on this core (the kernels' int8 product; see tools/peak)"
            : "  peak: not measured on this machine (no AVX2); no % of peak");
        c.Out.WriteLine($"  {"#",3}  {"op",-16} {"output",-14} {"median us",10} {"MACs",10} {"GMAC/s",7} {"% peak",6} {"share",6}");
        foreach (var o in ops)
        {
            string shape = string.Join('x', m.Tensors[m.Ops[o.Index].Output0].Dims());
            double gmacs = o.Macs > 0 && o.MedianUs > 0 ? o.Macs / o.MedianUs / 1000 : 0;
            string g = gmacs > 0 ? gmacs.ToString("F1") : "";
            string pct = gmacs > 0 && peak is { } pp ? (100 * gmacs / pp.GmacsPerSecond).ToString("F0") + "%" : "";
            c.Out.WriteLine($"  {o.Index,3}  {o.Type,-16} {shape,-14} {o.MedianUs,10:F2} {o.Macs,10:N0} {g,7} {pct,6} {100 * o.MedianUs / total,5:F1}%{(o.Winograd ? "  W" : "")}");
        }
        if (ops.Any(o => o.Winograd))
            c.Out.WriteLine("  W: Winograd F(2x2, 3x3), 16 products per 2x2 pixels where the direct convolution has 36; its GMAC/s and % peak count the direct MACs");
        c.Out.WriteLine($"  sum of op medians {total:F1} us (a plain Invoke: median {whole.MedianUs:F1} us), {macs:N0} MACs");
    }

    public static void Demo(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--model", "--zoo", "--json");
        string name = a.Get("--model") ?? "mnist_cnn";
        string zoo = a.Get("--zoo") ?? Zoo.Find() ?? throw new UsageException("cannot find the model zoo (tests/zoo); pass --zoo DIR");
        string onnx = Path.Combine(zoo, name + ".onnx");
        if (!File.Exists(onnx)) throw new UsageException($"no zoo model '{name}' in {zoo}");
        var sw = Stopwatch.StartNew();
        var loaded = ModelConverter.Load(onnx);
        var calib = ReadSamples(Path.Combine(zoo, name + ".calib.npy"));
        var classNames = ZooLabels(Path.Combine(zoo, name + ".json"));
        var result = ModelConverter.Convert(loaded, calib, new ConvertOptions { Progress = c.Progress("calibrating"), Labels = classNames });
        double convertSeconds = sw.Elapsed.TotalSeconds;
        var test = ReadSamples(Path.Combine(zoo, name + ".test.npy"));
        var labels = ReadLabels(Path.Combine(zoo, name + ".test_labels.npy"), test.Count);
        var floatPred = Argmax(ModelRunner.FromLoaded(loaded).Run(test, c.Progress("float eval")), test.Count);
        var model = Model.Load(result.Blob);
        var intPred = Argmax(ModelRunner.FromModel(model).Run(test, c.Progress("int8 eval")), test.Count);
        double fa = Accuracy(floatPred, labels), ia = Accuracy(intPred, labels);
        int agree = 0;
        for (int i = 0; i < test.Count; i++) if (floatPred[i] == intPred[i]) agree++;
        var bench = Benchmark.Measure(model, 2000, reference: false);
        var j = new JsonObject
        {
            ["model"] = name, ["test_samples"] = test.Count, ["calibration_samples"] = calib.Count,
            ["float_accuracy"] = Math.Round(fa, 6), ["int8_accuracy"] = Math.Round(ia, 6), ["top1_agreement"] = Math.Round((double)agree / test.Count, 6),
            ["onnx_bytes"] = result.Report.OnnxBytes, ["blob_bytes"] = result.Blob.Length, ["compression_ratio"] = Math.Round(result.Report.CompressionRatio, 2),
            ["arena_bytes"] = model.ArenaBytes, ["arena_lower_bound_bytes"] = model.ArenaLowerBoundBytes, ["macs"] = result.Report.Macs,
            ["output_sqnr_db"] = result.Report.OutputSqnrDb, ["convert_seconds"] = Math.Round(convertSeconds, 2),
            ["median_us"] = Math.Round(bench.MedianUs, 2), ["p99_us"] = Math.Round(bench.P99Us, 2), ["allocated_bytes_per_invoke"] = bench.AllocatedBytesPerInvoke,
        };
        if (c.Json) { c.Out.WriteLine(j.ToJsonString(Indented)); return; }
        c.Out.WriteLine($"EdgeQuant demo: {name} ({onnx})");
        c.Out.Write(result.Report.ToTable());
        c.Out.WriteLine();
        c.Out.WriteLine($"  converted in      {convertSeconds:F1} s ({calib.Count} calibration samples, min-max, per-channel weights)");
        c.Out.WriteLine($"  accuracy          float {fa * 100:F2}%   int8 {ia * 100:F2}%   ({(ia - fa) * 100:+0.00;-0.00} points, top-1 agreement {100.0 * agree / test.Count:F2}%, {test.Count} test samples)");
        c.Out.WriteLine($"  size              ONNX {result.Report.OnnxBytes:N0} B -> .eqm {result.Blob.Length:N0} B ({result.Report.CompressionRatio:F2}x smaller)");
        c.Out.WriteLine($"  arena             {model.ArenaBytes:N0} B (lower bound {model.ArenaLowerBoundBytes:N0} B)");
        c.Out.WriteLine($"  latency           median {bench.MedianUs:F1} us, p99 {bench.P99Us:F1} us per inference, {bench.AllocatedBytesPerInvoke} B allocated per invoke [{Benchmark.Hardware()}]");
    }

    // ---- helpers --------------------------------------------------------------------------

    /// <summary>Class names from a zoo model's JSON ("classes"), stored in the blob's metadata; null if absent.</summary>
    private static string[]? ZooLabels(string jsonPath)
    {
        if (!File.Exists(jsonPath)) return null;
        using var doc = JsonDocument.Parse(File.ReadAllText(jsonPath));
        if (!doc.RootElement.TryGetProperty("classes", out var classes) || classes.ValueKind != JsonValueKind.Array) return null;
        return classes.EnumerateArray().Select(e => e.GetString() ?? "").ToArray();
    }

    /// <summary>
    /// The data files of a data option: "FILE.npy" (a model with one input) or "NAME=FILE.npy",
    /// once per model input. A value naming an existing file is a file even if it contains '='.
    /// </summary>
    internal static ModelInputs ReadInputs(IReadOnlyList<string> values)
    {
        var sets = new List<(string?, SampleSet)>();
        foreach (var v in values)
        {
            int eq = v.IndexOf('=');
            if (eq > 0 && !File.Exists(v))
            {
                string name = v[..eq], path = v[(eq + 1)..];
                if (path.Length == 0) throw new UsageException($"'{v}': no file after '{name}='; expected NAME=FILE.npy");
                sets.Add((name, ReadSamples(path)));
            }
            else sets.Add((null, ReadSamples(v)));
        }
        try { return new ModelInputs(sets); }
        catch (ConversionException e) { throw new UsageException(e.Message); }
    }

    internal static SampleSet ReadSamples(string path)
    {
        var n = Npy.Read(path);
        if (n.Floats is null) throw new ConversionException($"{path}: data must be float32 (or float64), found an integer array");
        return new SampleSet(n.Floats, n.Shape, path);
    }

    internal static long[] ReadLabels(string path, int count)
    {
        var n = Npy.Read(path);
        long[] labels = n.Int64s ?? throw new ConversionException($"{path}: labels must be an integer array (int64), found float");
        if (labels.Length != count) throw new ConversionException($"{path}: {labels.Length} labels for {count} samples");
        return labels;
    }

    internal static int[] Argmax(float[] outputs, int samples)
    {
        int k = outputs.Length / samples;
        var r = new int[samples];
        for (int s = 0; s < samples; s++)
        {
            int best = 0;
            for (int i = 1; i < k; i++) if (outputs[s * k + i] > outputs[s * k + best]) best = i;
            r[s] = best;
        }
        return r;
    }

    internal static double Accuracy(int[] predicted, long[] labels)
    {
        int ok = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) ok++;
        return predicted.Length == 0 ? 0 : (double)ok / predicted.Length;
    }

    private static CalibrationMethod ParseMethod(string s) => s.ToLowerInvariant() switch
    {
        "minmax" => CalibrationMethod.MinMax,
        "percentile" => CalibrationMethod.Percentile,
        "entropy" => CalibrationMethod.Entropy,
        "mse" => CalibrationMethod.Mse,
        _ => throw new UsageException($"--method '{s}' is not supported; supported: minmax, percentile, entropy, mse"),
    };

    private static int ParseInt(string s, string name, int min, int max)
    {
        if (!int.TryParse(s, out int v) || v < min || v > max) throw new UsageException($"{name} must be an integer in [{min}, {max}], got '{s}'");
        return v;
    }

    private static JsonArray Arr(int[] v) => new(v.Select(x => (JsonNode)x).ToArray());
}
