using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Quantization;

namespace EdgeQuant.Cli;

public static partial class Commands
{
    /// <summary>
    /// <c>convert --precision LAYER=P,...</c> (by hand) or <c>convert --mixed-precision --data X --labels Y
    /// [--accuracy-budget POINTS]</c> (searched): a mixed-precision blob (docs/compression.md#mixed-precision).
    /// </summary>
    private static void ConvertMixed(CommandContext c, LoadedModel loaded, ModelInputs calib, string output, ConvertOptions options, Stopwatch sw)
    {
        var a = c.Args;
        var ctx = MixedPrecision.Prepare(loaded, calib, options);
        var g = loaded.Ir;
        var json = new JsonObject { ["output"] = output };
        MixedPrecisionBuild build;
        if (a.Has("--mixed-precision"))
        {
            if (a.Get("--precision") is not null) throw new UsageException("--precision sets the precisions by hand; --mixed-precision searches for them: give one of the two");
            var data = ReadInputs(a.GetAll("--data") is { Count: > 0 } d ? d : throw new UsageException("--mixed-precision needs --data X.npy (evaluation data) and --labels Y.npy"));
            var labelPath = a.Get("--labels") ?? throw new UsageException("--mixed-precision needs --labels Y.npy (the labels of --data)");
            var fitted = Converter.Evaluation.ModelRunner.FromLoaded(loaded).Fit(data)[0];
            var labels = ReadLabels(labelPath, fitted.Count);
            double budget = a.Get("--accuracy-budget") is { } bs
                ? double.TryParse(bs, NumberStyles.Float, CultureInfo.InvariantCulture, out double b) && b >= 0 ? b : throw new UsageException("--accuracy-budget needs a non-negative number of points (e.g. 0.2)")
                : 0.2;
            int sensSamples = a.Get("--sensitivity-samples") is { } ss
                ? int.TryParse(ss, out int sv) && sv >= 0 ? sv : throw new UsageException("--sensitivity-samples needs a non-negative integer (0: all)")
                : 500;
            // Size: lower layers to int4 weights while the floor holds. Latency: int8 is the fastest precision of this
            // runtime (the int4 and codebook kernels decode as they go), so nothing is lowered.
            var objective = (a.Get("--objective") ?? "size") switch
            {
                "size" => "size",
                "latency" => "latency",
                var other => throw new UsageException($"--objective {other}: use size or latency"),
            };
            var r = MixedPrecisionSearch.Run(ctx, data, labels, new MixedPrecisionSearchOptions
            {
                AccuracyBudgetPoints = budget, SensitivitySamples = sensSamples,
                Lower = objective == "size" ? [LayerPrecision.Int4] : [],
                Log = c.Json ? null : line => c.Err.WriteLine("  " + line),
            });
            build = r.Build;
            json["float_accuracy"] = Math.Round(r.FloatAccuracy, 6);
            json["int8_accuracy"] = Math.Round(r.Int8Accuracy, 6);
            json["accuracy"] = Math.Round(r.Accuracy, 6);
            json["floor"] = Math.Round(r.Floor, 6);
            json["note"] = r.Note;
            json["search_accuracy"] = Math.Round(r.SearchAccuracy, 6);
            json["validation_accuracy"] = Math.Round(r.ValidationAccuracy, 6);
            json["int8_search_accuracy"] = Math.Round(r.Int8SearchAccuracy, 6);
            json["int8_validation_accuracy"] = Math.Round(r.Int8ValidationAccuracy, 6);
            json["within_budget"] = r.WithinBudget;
            json["budget_points"] = budget;
            json["objective"] = objective;
            json["samples"] = r.Samples;
            json["int8_blob_bytes"] = r.Int8Cost.BlobBytes;
            json["int8_arena_bytes"] = r.Int8Cost.ArenaBytes;
            json["int8_median_us"] = Math.Round(r.Int8MedianUs, 2);
            json["median_us"] = Math.Round(r.MedianUs, 2);
            json["precision_argument"] = r.PrecisionArgument;
            var sens = new JsonArray();
            foreach (var s in r.Sensitivities)
                sens.Add(new JsonObject { ["layer"] = s.Layer, ["op"] = s.Op, ["macs"] = s.Macs, ["precision"] = MixedPrecision.Text(s.Precision), ["accuracy"] = Math.Round(s.Accuracy, 6), ["drop_points"] = s.DropPoints, ["output_sqnr_db"] = double.IsFinite(s.OutputSqnrDb) ? s.OutputSqnrDb : null });
            json["sensitivities"] = sens;
            var steps = new JsonArray();
            foreach (var s in r.Steps) steps.Add(new JsonObject { ["change"] = s.Change, ["accuracy"] = Math.Round(s.Accuracy, 6), ["blob_bytes"] = s.BlobBytes, ["changed_predictions_percent"] = Math.Round(s.ChangedPredictionsPercent, 3), ["search_accuracy"] = Math.Round(s.SearchAccuracy, 6), ["validation_accuracy"] = Math.Round(s.ValidationAccuracy, 6), ["kept"] = s.Kept });
            json["steps"] = steps;
            if (!c.Json)
            {
                c.Out.WriteLine($"{"layer",-28} {"op",-16} {"MACs",10}  drop (points) / output SQNR (dB) with only this layer lowered from float");
                foreach (var layer in ctx.Layers)
                {
                    string name = MixedPrecision.LayerName(g, layer);
                    var cells = r.Sensitivities.Where(s => s.Layer == name).Select(s => $"{MixedPrecision.Text(s.Precision)} {s.DropPoints,5:F2}/{(double.IsFinite(s.OutputSqnrDb) ? s.OutputSqnrDb.ToString("F1", CultureInfo.InvariantCulture) : "exact"),5}");
                    c.Out.WriteLine($"{Trim(name, 28),-28} {layer.Type,-16} {layer.Macs,10:N0}  {string.Join("  ", cells)}");
                }
                c.Out.WriteLine($"accuracy on {r.Samples} samples: float {r.FloatAccuracy * 100:F2}%, int8 {r.Int8Accuracy * 100:F2}%, mixed {r.Accuracy * 100:F2}% (floor {r.Floor * 100:F2}%: float - {budget} points{(r.Floor > r.FloatAccuracy - budget / 100 + 1e-9 ? ", raised to int8's" : "")}){(r.WithinBudget ? "" : " - NOT reached")}");
                if (r.Note is not null) c.Out.WriteLine(r.Note);
                c.Out.WriteLine($"search part (even samples): int8 {r.Int8SearchAccuracy * 100:F2}%, mixed {r.SearchAccuracy * 100:F2}%; validation part (odd samples): int8 {r.Int8ValidationAccuracy * 100:F2}%, mixed {r.ValidationAccuracy * 100:F2}% (every change had to hold on both)");
                c.Out.WriteLine($"int8:  blob {r.Int8Cost.BlobBytes:N0} B, arena {r.Int8Cost.ArenaBytes:N0} B, median {r.Int8MedianUs:F1} us");
                c.Out.WriteLine($"mixed: blob {build.Cost.BlobBytes:N0} B, arena {build.Cost.ArenaBytes:N0} B, median {r.MedianUs:F1} us, MACs {build.Cost.MacsText()}, {build.Cost.BoundaryOps} conversion ops");
                c.Out.WriteLine($"assignment: {(r.PrecisionArgument.Length == 0 ? "every layer int8" : "--precision " + r.PrecisionArgument)}");
            }
        }
        else
        {
            var assignment = MixedPrecision.ParseAssignment(g, a.Get("--precision")!);
            build = ctx.Build(assignment);
            if (!c.Json)
            {
                foreach (var layer in ctx.Layers)
                    c.Out.WriteLine($"{Trim(MixedPrecision.LayerName(g, layer), 28),-28} {layer.Type,-16} {layer.Macs,10:N0}  {MixedPrecision.Text(build.Assignment[layer])}");
                c.Out.WriteLine($"blob {build.Cost.BlobBytes:N0} B, arena {build.Cost.ArenaBytes:N0} B, MACs {build.Cost.MacsText()}, {build.Cost.BoundaryOps} conversion ops");
            }
        }
        File.WriteAllBytes(output, build.Blob);
        sw.Stop();
        var assigned = new JsonObject();
        foreach (var (op, p) in build.Assignment) assigned[MixedPrecision.LayerName(g, op)] = MixedPrecision.Text(p);
        json["assignment"] = assigned;
        json["blob_bytes"] = build.Cost.BlobBytes;
        json["arena_bytes"] = build.Cost.ArenaBytes;
        json["constant_bytes"] = build.Cost.ConstantBytes;
        var macs = new JsonObject();
        foreach (var (k, v) in build.Cost.MacsByPrecision) macs[k] = v;
        json["macs_by_precision"] = macs;
        json["conversion_ops"] = build.Cost.BoundaryOps;
        json["seconds"] = Math.Round(sw.Elapsed.TotalSeconds, 2);
        if (c.Json) c.Out.WriteLine(json.ToJsonString(Indented));
        else c.Out.WriteLine($"wrote {output} ({build.Blob.Length:N0} bytes) in {sw.Elapsed.TotalSeconds:F1} s");
    }

    private static string Trim(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "~";
}
