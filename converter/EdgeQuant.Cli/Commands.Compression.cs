using System.Text.Json.Nodes;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Packing;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli;

public static partial class Commands
{
    /// <summary>
    /// <c>compress-sweep</c>: converts one model with every weight compression (int8, int4, codebooks, adaptive
    /// rounding, unstructured pruning 10-95% stored dense, sparse and as the cost model chooses, structured pruning)
    /// and measures top-1 accuracy, blob bytes and single-thread latency of each; prints the sparsity from which the
    /// sparse kernels beat the dense ones on this model and per layer kind.
    /// </summary>
    public static void CompressSweep(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--calib", "--data", "--labels", "--iterations", "--rounds", "--pruning-only", "--json");
        string path = a.Positional(0, "MODEL.onnx");
        var calib = ReadSamples(a.Require("--calib", "X.npy (calibration data)"));
        var data = ReadSamples(a.Require("--data", "X.npy"));
        var labels = ReadLabels(a.Require("--labels", "Y.npy"), data.Count);
        int iterations = int.TryParse(a.Get("--iterations") ?? "200", out int it) && it > 0 ? it : throw new UsageException("--iterations needs a positive integer");
        int rounds = int.TryParse(a.Get("--rounds") ?? "3", out int rd) && rd > 0 ? rd : throw new UsageException("--rounds needs a positive integer");
        bool pruningOnly = a.Has("--pruning-only");

        var loaded = ModelConverter.Load(path);
        var floatPred = Argmax(ModelRunner.FromLoaded(loaded).Run(data), data.Count);
        double floatAcc = Score(floatPred, labels);
        var rows = new JsonArray();
        int int8Bytes = 0;
        (double Acc, int Bytes, double Us) Measure(string name, ConvertOptions o, LoadedModel? model = null)
        {
            var r = ModelConverter.Convert(model ?? loaded, calib, o);
            var m = Model.Load(r.Blob);
            double acc = Score(Argmax(ModelRunner.FromModel(m).Run(data), data.Count), labels);
            double us = Benchmark.Measure(m, iterations, reference: false).MedianUs;
            if (name == "int8") int8Bytes = r.Blob.Length;
            var row = new JsonObject
            {
                ["config"] = name, ["accuracy"] = Math.Round(acc, 6), ["drop_points"] = Math.Round((floatAcc - acc) * 100, 2),
                ["blob_bytes"] = r.Blob.Length, ["vs_int8"] = int8Bytes > 0 ? Math.Round((double)r.Blob.Length / int8Bytes, 3) : 1.0,
                ["weight_bytes"] = WeightBytes(m), ["median_us"] = Math.Round(us, 2),
            };
            if (r.StructuredPruning is { } sp) { row["macs"] = sp.MacsAfter; row["macs_before"] = sp.MacsBefore; }
            rows.Add(row);
            if (!c.Json)
                c.Out.WriteLine($"{name,-28} top-1 {acc * 100,6:F2}% ({(acc - floatAcc) * 100,5:+0.00;-0.00}) {r.Blob.Length,8:N0} B ({row["vs_int8"]}x int8, weights {row["weight_bytes"]} B) {us,9:F1} us"
                    + (r.StructuredPruning is { } s2 ? $"  MACs {s2.MacsBefore:N0} -> {s2.MacsAfter:N0}" : ""));
            return (acc, r.Blob.Length, us);
        }
        if (!c.Json) c.Out.WriteLine($"{Path.GetFileName(path)}: float top-1 {floatAcc * 100:F2}% on {data.Count} samples; latency: median of {iterations} single-thread invokes; "
            + $"load average {LoadAverage()} (2 cores shared)");
        if (!pruningOnly)
        {
            Measure("int8", new ConvertOptions());
            Measure("int8 adaptive", new ConvertOptions { Rounding = RoundingMode.Adaptive });
            Measure("int4", new ConvertOptions { Weights = WeightEncoding.Int4 });
            Measure("int4 adaptive", new ConvertOptions { Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive });
            Measure("codebook4", new ConvertOptions { Weights = WeightEncoding.Codebook4 });
            Measure("codebook4 adaptive", new ConvertOptions { Weights = WeightEncoding.Codebook4, Rounding = RoundingMode.Adaptive });
            Measure("codebook8", new ConvertOptions { Weights = WeightEncoding.Codebook8 });
        }
        var pruning = PruningSweep(c, loaded, calib, data, labels, floatAcc, iterations, rounds);
        if (!pruningOnly)
            foreach (double f in new[] { 0.1, 0.2, 0.3 })
                Measure($"structured {f * 100:F0}%", new ConvertOptions { PruneChannels = f }, ModelConverter.Load(path));
        if (c.Json)
            c.Out.WriteLine(new JsonObject
            {
                ["model"] = path, ["float_accuracy"] = Math.Round(floatAcc, 6), ["rows"] = rows, ["pruning"] = pruning,
                ["sparse_break_even"] = pruning["break_even"]!["model"]?.DeepClone(), ["load_average"] = LoadAverage(),
            }.ToJsonString(Indented));
    }

    /// <summary>Layer kinds the break-even is reported for.</summary>
    private static readonly string[] SparseKinds = ["conv 1x1", "conv KxK", "fully connected"];

    private static string? KindOf(Model m, in Runtime.Format.OpInfo op)
    {
        var t = op.Type;
        if (t is Runtime.Format.OpType.FullyConnected or Runtime.Format.OpType.FullyConnectedSparse) return SparseKinds[2];
        if (t is not (Runtime.Format.OpType.Conv2D or Runtime.Format.OpType.Conv2DSparse)) return null;
        var f = m.Tensors[op.Input1].Shape;
        return f.D1 * f.D2 == 1 ? SparseKinds[0] : SparseKinds[1];
    }

    /// <summary>
    /// Unstructured pruning at 10-90% and 95%, each stored three ways: dense (--sparse never), sparse (always) and
    /// as <c>convert</c> writes it (auto: the cost model's choice per layer). The same weights, so one accuracy.
    /// Latency: the three blobs' interpreters are warmed up once, then timed per op in <paramref name="rounds"/>
    /// alternating rounds; medians over rounds. Break-even: the lowest sparsity from which sparse storage is faster
    /// than dense at that and every higher sparsity measured, for the model and per layer kind.
    /// </summary>
    private static JsonObject PruningSweep(CommandContext c, LoadedModel loaded, SampleSet calib, SampleSet data, long[] labels,
        double floatAcc, int iterations, int rounds)
    {
        double[] levels = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95];
        var rows = new JsonArray();
        var denseKind = new double[levels.Length, SparseKinds.Length];
        var sparseKind = new double[levels.Length, SparseKinds.Length];
        var denseTotal = new double[levels.Length];
        var sparseTotal = new double[levels.Length];
        for (int li = 0; li < levels.Length; li++)
        {
            double f = levels[li];
            var blobs = new[] { SparseStorage.Never, SparseStorage.Always, SparseStorage.Auto }
                .Select(s => ModelConverter.Convert(loaded, calib, new ConvertOptions { Prune = f, Sparse = s }).Blob).ToArray();
            var models = blobs.Select(b => Model.Load(b)).ToArray();
            double acc = Score(Argmax(ModelRunner.FromModel(models[0]).Run(data), data.Count), labels);
            var perOp = Benchmark.MeasurePerOpAlternating(models, iterations, rounds);
            var totals = new double[3];
            for (int k = 0; k < 3; k++)
                for (int o = 0; o < perOp[k].Length; o++)
                {
                    totals[k] += perOp[k][o];
                    if (k < 2 && KindOf(models[k], models[k].Ops[o]) is { } kind)
                        (k == 0 ? denseKind : sparseKind)[li, Array.IndexOf(SparseKinds, kind)] += perOp[k][o];
                }
            denseTotal[li] = totals[0];
            sparseTotal[li] = totals[1];
            int sparseLayers = 0, layers = 0;
            foreach (var op in models[2].Ops)
            {
                if (KindOf(models[2], op) is null) continue;
                layers++;
                if (op.Type is Runtime.Format.OpType.Conv2DSparse or Runtime.Format.OpType.FullyConnectedSparse) sparseLayers++;
            }
            var row = new JsonObject
            {
                ["sparsity"] = f, ["accuracy"] = Math.Round(acc, 6), ["drop_points"] = Math.Round((floatAcc - acc) * 100, 2),
                ["dense_bytes"] = blobs[0].Length, ["sparse_bytes"] = blobs[1].Length, ["auto_bytes"] = blobs[2].Length,
                ["dense_us"] = Math.Round(totals[0], 2), ["sparse_us"] = Math.Round(totals[1], 2), ["auto_us"] = Math.Round(totals[2], 2),
                ["auto_sparse_layers"] = sparseLayers, ["layers"] = layers,
            };
            var kinds = new JsonObject();
            for (int k = 0; k < SparseKinds.Length; k++)
                if (denseKind[li, k] > 0) kinds[SparseKinds[k]] = new JsonObject { ["dense_us"] = Math.Round(denseKind[li, k], 2), ["sparse_us"] = Math.Round(sparseKind[li, k], 2) };
            row["kinds"] = kinds;
            rows.Add(row);
            if (!c.Json)
            {
                var kindText = string.Join(", ", SparseKinds.Where((_, k) => denseKind[li, k] > 0).Select(k => $"{k} {denseKind[li, Array.IndexOf(SparseKinds, k)]:F1}/{sparseKind[li, Array.IndexOf(SparseKinds, k)]:F1}"));
                c.Out.WriteLine($"prune {f * 100,2:F0}%  top-1 {acc * 100,6:F2}% ({(acc - floatAcc) * 100,6:+0.00;-0.00})  dense {blobs[0].Length,7:N0} B {totals[0],7:F1} us | sparse {blobs[1].Length,7:N0} B {totals[1],7:F1} us"
                    + $" | auto {blobs[2].Length,7:N0} B {totals[2],7:F1} us ({sparseLayers}/{layers} layers sparse)  [dense/sparse us: {kindText}]");
            }
        }
        static double? BreakEven(double[] levels, Func<int, (double Dense, double Sparse)> at)
        {
            double? from = null;
            for (int li = 0; li < levels.Length; li++)
            {
                var (d, s) = at(li);
                if (d <= 0) return null;
                if (s < d) from ??= levels[li];
                else from = null;
            }
            return from;
        }
        var breakEven = new JsonObject { ["model"] = BreakEven(levels, li => (denseTotal[li], sparseTotal[li])) };
        for (int k = 0; k < SparseKinds.Length; k++)
        {
            int kk = k;
            breakEven[SparseKinds[k]] = BreakEven(levels, li => (denseKind[li, kk], sparseKind[li, kk]));
        }
        if (!c.Json)
        {
            static string Text(JsonNode? n) => n is null ? "never (up to 95%)" : $"{n.GetValue<double>() * 100:F0}%";
            c.Out.WriteLine($"sparse break-even (sparse storage faster than dense from this sparsity on, medians of {rounds} alternating rounds; load average {LoadAverage()}):");
            c.Out.WriteLine($"  whole model: {Text(breakEven["model"])}");
            for (int k = 0; k < SparseKinds.Length; k++)
                if (denseKind[0, k] > 0) c.Out.WriteLine($"  {SparseKinds[k]}: {Text(breakEven[SparseKinds[k]])}");
        }
        return new JsonObject { ["rows"] = rows, ["break_even"] = breakEven, ["rounds"] = rounds };
    }

    /// <summary>The 1-, 5- and 15-minute load averages (/proc/loadavg), or "unknown".</summary>
    private static string LoadAverage()
    {
        try { return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)); }
        catch (IOException) { return "unknown"; }
        catch (UnauthorizedAccessException) { return "unknown"; }
    }

    private static double Score(int[] predicted, long[] labels)
    {
        int right = 0;
        for (int i = 0; i < predicted.Length; i++) if (predicted[i] == labels[i]) right++;
        return (double)right / predicted.Length;
    }

    /// <summary>Bytes of the conv / depthwise / fully-connected filter tensors (plus codebooks) and of the recurrent W and R tensors.</summary>
    internal static long WeightBytes(Model m)
    {
        long total = 0;
        foreach (var op in m.Ops)
        {
            if (op.Type is Runtime.Format.OpType.Lstm or Runtime.Format.OpType.Gru or Runtime.Format.OpType.LstmPacked or Runtime.Format.OpType.GruPacked)
            {
                total += m.Tensors[op.Input1].ByteLength + m.Tensors[op.Input2].ByteLength;
                continue;
            }
            if (op.Type is not (Runtime.Format.OpType.Conv2D or Runtime.Format.OpType.DepthwiseConv2D or Runtime.Format.OpType.FullyConnected
                or >= Runtime.Format.OpType.Conv2DCompressed and <= Runtime.Format.OpType.FullyConnectedCompressedPacked)) continue;
            total += m.Tensors[op.Input1].ByteLength;
            // The codebook: input 3 of ops 50-52, input 2 of the packed ops 55-57 (which have no bias tensor).
            bool packed = op.Type >= Runtime.Format.OpType.Conv2DCompressedPacked;
            if (op.InputCount > (packed ? 2 : 3)) total += m.Tensors[op.Input(packed ? 2 : 3)].ByteLength;
        }
        return total;
    }
}
