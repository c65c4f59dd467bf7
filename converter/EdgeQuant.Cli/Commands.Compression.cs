using System.Text.Json.Nodes;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli;

public static partial class Commands
{
    /// <summary>
    /// <c>compress-sweep</c>: converts one model with every weight compression (int8, int4, codebooks, adaptive
    /// rounding, unstructured pruning 0-90% stored dense and sparse, structured pruning) and measures top-1
    /// accuracy, blob bytes and single-thread latency of each; prints the sparsity from which the zero-skipping
    /// kernels beat the dense ones on this model.
    /// </summary>
    public static void CompressSweep(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--calib", "--data", "--labels", "--iterations", "--json");
        string path = a.Positional(0, "MODEL.onnx");
        var calib = ReadSamples(a.Require("--calib", "X.npy (calibration data)"));
        var data = ReadSamples(a.Require("--data", "X.npy"));
        var labels = ReadLabels(a.Require("--labels", "Y.npy"), data.Count);
        int iterations = int.TryParse(a.Get("--iterations") ?? "200", out int it) && it > 0 ? it : throw new UsageException("--iterations needs a positive integer");

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
        if (!c.Json) c.Out.WriteLine($"{Path.GetFileName(path)}: float top-1 {floatAcc * 100:F2}% on {data.Count} samples; latency: median of {iterations} single-thread invokes");
        Measure("int8", new ConvertOptions());
        Measure("int8 adaptive", new ConvertOptions { Rounding = RoundingMode.Adaptive });
        Measure("int4", new ConvertOptions { Weights = WeightEncoding.Int4 });
        Measure("int4 adaptive", new ConvertOptions { Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive });
        Measure("codebook4", new ConvertOptions { Weights = WeightEncoding.Codebook4 });
        Measure("codebook4 adaptive", new ConvertOptions { Weights = WeightEncoding.Codebook4, Rounding = RoundingMode.Adaptive });
        Measure("codebook8", new ConvertOptions { Weights = WeightEncoding.Codebook8 });
        double breakEven = double.NaN;
        for (int s = 1; s <= 9; s++)
        {
            double f = s / 10.0;
            var dense = Measure($"prune {s * 10}% dense", new ConvertOptions { Prune = f, SparseFromSparsity = 2 });
            var sparse = Measure($"prune {s * 10}% sparse", new ConvertOptions { Prune = f, SparseFromSparsity = 0 });
            if (sparse.Us < dense.Us) { if (double.IsNaN(breakEven)) breakEven = f; }
            else breakEven = double.NaN;
        }
        foreach (double f in new[] { 0.1, 0.2, 0.3 })
            Measure($"structured {f * 100:F0}%", new ConvertOptions { PruneChannels = f }, ModelConverter.Load(path));
        string verdict = double.IsNaN(breakEven)
            ? "the sparse kernels do not beat the dense ones at any sparsity up to 90% on this model"
            : $"the sparse kernels beat the dense ones from {breakEven * 100:F0}% sparsity on (and at every sparsity above, up to 90%)";
        if (c.Json)
            c.Out.WriteLine(new JsonObject { ["model"] = path, ["float_accuracy"] = Math.Round(floatAcc, 6), ["rows"] = rows, ["sparse_break_even"] = double.IsNaN(breakEven) ? null : breakEven }.ToJsonString(Indented));
        else c.Out.WriteLine(verdict);
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
