using System.Globalization;
using System.Text.Json.Nodes;
using EdgeQuant.Cli.Report;
using EdgeQuant.Converter;

namespace EdgeQuant.Cli;

public static partial class Commands
{
    /// <summary>
    /// <c>report</c>: the evaluation sweep (<see cref="EvaluationSweep"/>) written as one self-contained HTML page
    /// (<see cref="ReportPage"/>), or with <c>--json</c> the same data as JSON on stdout.
    /// </summary>
    public static void Report(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--calib", "--data", "--labels", "-o", "--output", "--json", "--configs", "--samples", "--calib-samples",
            "--iterations", "--sqnr-samples", "--choose", "--budget");
        string path = a.Positional(0, "MODEL.onnx");
        var configurations = SweepConfiguration.Select(a.Get("--configs"));
        var calib = First(ReadSamples(a.Require("--calib", "X.npy (calibration data)")), a.Get("--calib-samples"), "--calib-samples");
        var allData = ReadSamples(a.Require("--data", "X.npy (evaluation data)"));
        var allLabels = ReadLabels(a.Require("--labels", "Y.npy"), allData.Count);
        var data = First(allData, a.Get("--samples"), "--samples");
        var labels = allLabels[..data.Count];
        string? output = a.Get("-o", "--output");
        if (output is null && !c.Json) throw new UsageException("missing -o REPORT.html (or --json for the data on stdout)");
        // Checked before the sweep, which may run for minutes.
        if (output is not null && Path.GetDirectoryName(Path.GetFullPath(output)) is { } dir && !Directory.Exists(dir))
            throw new DirectoryNotFoundException($"-o {output}: the folder {dir} does not exist");
        double budget = 1.0;
        if (a.Get("--budget") is { } bs && (!double.TryParse(bs, NumberStyles.Float, CultureInfo.InvariantCulture, out budget) || budget < 0 || !double.IsFinite(budget)))
            throw new UsageException($"--budget must be a non-negative number of percentage points, got '{bs}'");

        var options = new SweepOptions
        {
            Configurations = configurations,
            LatencyIterations = a.Get("--iterations") is { } it ? ParseInt(it, "--iterations", 1, 1_000_000) : 200,
            SqnrSamples = a.Get("--sqnr-samples") is { } ss ? ParseInt(ss, "--sqnr-samples", 0, 100_000) : 32,
            Choose = a.Get("--choose"),
            BudgetPoints = budget,
            Progress = SweepProgress(c),
            RowDone = c.Json ? null : row => c.Out.WriteLine(
                $"{row.Config.Id,-20} top-1 {row.Accuracy * 100,6:F2}% ({-row.DropPoints,6:+0.00;-0.00;0.00}) blob {row.BlobBytes,9:N0} B  arena {row.ArenaBytes,9:N0} B  {row.MedianUs,9:F1} us  SQNR {(double.IsFinite(row.OutputSqnrDb) ? row.OutputSqnrDb.ToString("F1", CultureInfo.InvariantCulture) : "-"),6} dB"),
            Failed = c.Json ? null : c.Out.WriteLine,
        };
        if (!c.Json)
            c.Out.WriteLine($"{Path.GetFileName(path)}: {options.Configurations.Count} configurations, {data.Count} evaluation samples, {calib.Count} calibration samples");
        var report = EvaluationSweep.Run(path, calib, data, labels, options);
        if (output is not null) File.WriteAllText(output, ReportPage.Html(report));
        if (c.Json) c.Out.WriteLine(ReportJson(report, output).ToJsonString(Indented));
        else
        {
            c.Out.WriteLine($"float top-1 {report.FloatAccuracy * 100:F2}%; Pareto front: {string.Join(", ", report.Rows.Where(r => r.OnParetoFront).OrderBy(r => r.BlobBytes).Select(r => r.Config.Id))}");
            c.Out.WriteLine($"chosen: {report.Chosen.Config.Id} ({report.ChosenBecause})");
            c.Out.WriteLine($"wrote {output}");
        }
    }

    /// <summary>The first <paramref name="count"/> samples (all when null).</summary>
    private static SampleSet First(SampleSet s, string? count, string option)
    {
        if (count is null) return s;
        int n = ParseInt(count, option, 1, int.MaxValue);
        if (n >= s.Count) return s;
        var shape = (int[])s.Shape.Clone();
        shape[0] = n;
        return new SampleSet(s.Data[..(n * s.SampleSize)], shape, s.Origin);
    }

    /// <summary>A status line per configuration on stderr when it is a terminal (the sweep can take minutes).</summary>
    private static Action<int, int, SweepConfiguration?>? SweepProgress(CommandContext c)
    {
        if (Console.IsErrorRedirected || !ReferenceEquals(c.Err, Console.Error)) return null;
        return (i, n, cfg) => c.Err.Write(cfg is null ? $"\r{new string(' ', 60)}\r" : $"\r{new string(' ', 60)}\r[{i + 1}/{n}] {cfg.Id} ...");
    }

    /// <summary>The report's data as JSON: what the HTML page shows, in numbers.</summary>
    internal static JsonObject ReportJson(EvaluationReport r, string? html)
    {
        var rows = new JsonArray();
        foreach (var row in r.Rows)
            rows.Add(new JsonObject
            {
                ["config"] = row.Config.Id,
                ["group"] = SweepConfiguration.KindName(row.Config.Kind),
                ["description"] = row.Config.Description,
                ["detail"] = row.Detail,
                ["accuracy"] = Math.Round(row.Accuracy, 6),
                ["drop_points"] = Math.Round(row.DropPoints, 4),
                ["blob_bytes"] = row.BlobBytes,
                ["arena_bytes"] = row.ArenaBytes,
                ["weight_bytes"] = row.WeightBytes,
                ["macs"] = row.Macs,
                ["median_us"] = Math.Round(row.MedianUs, 3),
                ["output_sqnr_db"] = Db(row.OutputSqnrDb),
                ["pareto"] = row.OnParetoFront,
            });
        JsonArray? layers = r.ChosenReport is null ? null : [];
        foreach (var l in r.ChosenReport?.Layers ?? [])
            layers!.Add(new JsonObject
            {
                ["index"] = l.Index, ["name"] = l.Name, ["op"] = l.Op, ["macs"] = l.Macs, ["weight_bytes"] = l.WeightBytes,
                ["sqnr_db"] = Db(l.SqnrDb), ["exact"] = double.IsPositiveInfinity(l.SqnrDb),
            });
        JsonArray? hists = r.ChosenHistograms is null ? null : [];
        foreach (var h in r.ChosenHistograms ?? [])
            hists!.Add(new JsonObject
            {
                ["index"] = h.LayerIndex, ["name"] = h.Layer, ["op"] = h.Op, ["weights"] = h.Total, ["distinct_codes"] = h.DistinctValues,
                ["zero_fraction"] = Math.Round(h.ZeroFraction, 6), ["first_code"] = -128, ["counts"] = new JsonArray(h.Counts.Select(x => (JsonNode)x).ToArray()),
            });
        return new JsonObject
        {
            ["model"] = r.Model,
            ["html"] = html,
            ["float_accuracy"] = Math.Round(r.FloatAccuracy, 6),
            ["evaluation_samples"] = r.EvaluationSamples,
            ["calibration_samples"] = r.CalibrationSamples,
            ["sqnr_samples"] = r.SqnrSamples,
            ["latency_iterations"] = r.LatencyIterations,
            ["rows"] = rows,
            ["pareto_front"] = new JsonArray(r.Rows.Where(x => x.OnParetoFront).OrderBy(x => x.BlobBytes).Select(x => (JsonNode)x.Config.Id).ToArray()),
            ["chosen"] = new JsonObject { ["config"] = r.Chosen.Config.Id, ["because"] = r.ChosenBecause, ["layers"] = layers, ["weight_histograms"] = hists },
            ["notes"] = new JsonArray(r.Notes.Select(x => (JsonNode)x).ToArray()),
        };
    }

    private static JsonNode? Db(double v) => double.IsFinite(v) ? Math.Round(v, 3) : null;
}
