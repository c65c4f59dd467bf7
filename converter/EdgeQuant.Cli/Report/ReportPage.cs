using System.Globalization;
using System.Net;
using System.Text;
using Plotly.NET;
using Plotly.NET.CSharp;
using CS = Plotly.NET.CSharp;

namespace EdgeQuant.Cli.Report;

/// <summary>
/// Writes an <see cref="EvaluationReport"/> as one self-contained HTML page: the configuration table, the
/// accuracy-vs-size Pareto chart, and the chosen configuration's per-layer SQNR and weight histograms. Charts are
/// Plotly.NET figures; plotly.js itself (the copy Plotly.NET ships) is embedded in the page, so it opens offline.
/// Every chart sits in a <c>div.chart</c> with a stable id (<c>chart-pareto</c>, <c>chart-sqnr</c>,
/// <c>chart-hist-N</c> for layer N) that the browser test looks for.
/// </summary>
public static class ReportPage
{
    public static string Html(EvaluationReport r)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<title>").Append(E($"EdgeQuant report: {r.Model}")).Append("</title>\n<style>").Append(Css).Append("</style>\n");
        sb.Append("<script>").Append(PlotlyJs()).Append("</script>\n</head><body>\n");

        sb.Append("<h1>").Append(E(r.Model)).Append(": compression sweep</h1>\n<p class=\"meta\">");
        sb.Append(E($"float top-1 {Pct(r.FloatAccuracy)} on {r.EvaluationSamples:N0} samples; calibration on {r.CalibrationSamples:N0} samples; "
            + $"SQNR on the first {r.SqnrSamples:N0} of them; latency: median of {r.LatencyIterations:N0} single-thread invocations (fast kernels) on this machine; edgequant {ModelConverterVersion}."));
        sb.Append("</p>\n");
        foreach (var note in r.Notes) sb.Append("<p class=\"note\">").Append(E(note)).Append("</p>\n");

        sb.Append("<h2>Configurations</h2>\n");
        Table(sb, r);

        sb.Append("<h2>Accuracy against blob size</h2>\n<p>Every configuration; the line joins the Pareto front (no other configuration is both at least as small and at least as accurate).</p>\n");
        Chart(sb, "chart-pareto", ParetoChart(r.Rows, r.FloatAccuracy));
        // Configurations that lose far more than the rest squeeze the interesting part into a line at the top.
        var near = r.Rows.Where(x => x.DropPoints <= NearPoints).ToList();
        if (near.Count > 0 && near.Count < r.Rows.Count)
        {
            sb.Append("<p>").Append(E($"The same, only the configurations within {NearPoints} points of float top-1 ({near.Count} of {r.Rows.Count}).")).Append("</p>\n");
            Chart(sb, "chart-pareto-near", ParetoChart(near, r.FloatAccuracy));
        }

        var c = r.Chosen;
        sb.Append("<h2>Chosen configuration: ").Append(E(c.Config.Id)).Append("</h2>\n<p>");
        sb.Append(E($"{c.Config.Description}{(c.Detail is null ? "" : " (" + c.Detail + ")")}; {r.ChosenBecause}. Top-1 {Pct(c.Accuracy)} ({-c.DropPoints:+0.00;-0.00;0.00} points against float), "
            + $"blob {c.BlobBytes:N0} bytes, arena {c.ArenaBytes:N0} bytes, {c.MedianUs.ToString("0.0", CultureInfo.InvariantCulture)} µs."));
        sb.Append("</p>\n<h3>Per-layer SQNR</h3>\n");
        var layers = r.ChosenReport?.Layers ?? [];
        var exact = layers.Where(l => double.IsPositiveInfinity(l.SqnrDb)).Select(l => $"{l.Index}: {l.Op}").ToList();
        if (r.ChosenReport is null) sb.Append("<p>Not measured: this configuration's method gives no per-layer report.</p>\n");
        else if (layers.Any(l => double.IsFinite(l.SqnrDb)))
        {
            sb.Append("<p>Each op's output against the float model, on the SQNR samples (higher is better).");
            if (exact.Count > 0) sb.Append(E($" Exact (no error, not drawn): {string.Join(", ", exact)}."));
            sb.Append("</p>\n");
            Chart(sb, "chart-sqnr", SqnrChart(layers));
        }
        else sb.Append("<p>No per-layer SQNR: no calibration sample was used for it.</p>\n");

        sb.Append("<h3>Weight histograms</h3>\n");
        if (r.ChosenHistograms is null) sb.Append("<p>Not available: this configuration's method gives no weight histograms.</p>\n");
        else
        {
            sb.Append("<p>The int8 codes q of each weighted layer (the real weight is q × its output channel's scale). "
                + "int4 and codebook4 leave at most 16 distinct codes; pruning shows as the spike at 0.</p>\n<div class=\"grid\">\n");
            foreach (var h in r.ChosenHistograms) Chart(sb, $"chart-hist-{h.LayerIndex}", HistogramChart(h), small: true, caption: $"{h.LayerIndex}: {h.Layer} ({h.Op}), {h.Total:N0} weights, {h.DistinctValues} distinct codes, {h.ZeroFraction * 100:F1}% zero");
            sb.Append("</div>\n");
        }
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private const string Css = """
        body { font-family: system-ui, sans-serif; margin: 1.5em 2em; color: #1d2733; }
        table { border-collapse: collapse; font-size: 0.9em; }
        th, td { border-bottom: 1px solid #d5dbe3; padding: 0.3em 0.7em; text-align: right; }
        th { background: #eef2f7; } td.l, th.l { text-align: left; }
        tr.pareto td:first-child { font-weight: 600; } tr.chosen { background: #fff6d6; }
        .meta { color: #4a5868; } .note { color: #8a4b00; }
        .grid { display: flex; flex-wrap: wrap; gap: 1em; } .chart figcaption { font-size: 0.85em; color: #4a5868; max-width: 440px; }
        """;

    private static string ModelConverterVersion => Converter.ModelConverter.Version;

    private static void Table(StringBuilder sb, EvaluationReport r)
    {
        int? baseline = r.BaselineBlobBytes;
        sb.Append("<table id=\"configs\"><thead><tr><th class=\"l\">configuration</th><th class=\"l\">group</th><th>top-1</th><th>vs float (points)</th>"
            + "<th>blob bytes</th>" + (baseline is null ? "" : "<th>× default blob</th>")
            + "<th>arena bytes</th><th>weight bytes</th><th>latency µs</th><th>output SQNR dB</th><th>Pareto</th><th class=\"l\">what it is</th></tr></thead>\n<tbody>\n");
        foreach (var row in r.Rows)
        {
            string cls = (row.OnParetoFront ? "pareto" : "") + (ReferenceEquals(row, r.Chosen) ? " chosen" : "");
            sb.Append("<tr class=\"").Append(cls.Trim()).Append("\"><td class=\"l\">").Append(E(row.Config.Id)).Append(ReferenceEquals(row, r.Chosen) ? " ★" : "")
              .Append("</td><td class=\"l\">").Append(SweepConfiguration.KindName(row.Config.Kind))
              .Append("</td><td>").Append(Pct(row.Accuracy))
              .Append("</td><td>").Append((-row.DropPoints).ToString("+0.00;-0.00;0.00", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(row.BlobBytes.ToString("N0", CultureInfo.InvariantCulture));
            if (baseline is { } b) sb.Append("</td><td>").Append(((double)row.BlobBytes / b).ToString("0.000", CultureInfo.InvariantCulture));
            sb.Append("</td><td>").Append(row.ArenaBytes.ToString("N0", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(row.WeightBytes.ToString("N0", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(row.MedianUs.ToString("0.0", CultureInfo.InvariantCulture))
              .Append("</td><td>").Append(Db(row.OutputSqnrDb))
              .Append("</td><td>").Append(row.OnParetoFront ? "yes" : "")
              .Append("</td><td class=\"l\">").Append(E(row.Config.Description)).Append(row.Detail is null ? "" : "<br><small>" + E(row.Detail) + "</small>").Append("</td></tr>\n");
        }
        sb.Append("</tbody></table>\n");
    }

    /// <summary>The accuracy loss (points) within which a configuration appears on the close-up Pareto chart.</summary>
    public const double NearPoints = 5.0;

    private static GenericChart ParetoChart(IReadOnlyList<SweepRow> rows, double floatAccuracy)
    {
        // Every configuration as a point (its id on hover); the front's points carry their ids as labels.
        var all = CS.Chart.Scatter<int, double, string>(
            x: rows.Select(x => x.BlobBytes), y: rows.Select(x => x.Accuracy * 100), mode: StyleParam.Mode.Markers,
            Name: "configurations", MultiText: rows.Select(x => x.Config.Id).ToArray());
        var frontRows = rows.Where(x => x.OnParetoFront).OrderBy(x => x.BlobBytes).ToList();
        var front = CS.Chart.Scatter<int, double, string>(
            x: frontRows.Select(x => x.BlobBytes), y: frontRows.Select(x => x.Accuracy * 100), mode: StyleParam.Mode.Lines_Markers_Text,
            Name: "Pareto front", MultiText: frontRows.Select(x => x.Config.Id).ToArray(), TextPosition: StyleParam.TextPosition.TopLeft);
        int lo = rows.Min(x => x.BlobBytes), hi = rows.Max(x => x.BlobBytes);
        var reference = CS.Chart.Line<int, double, string>(
            x: new[] { lo, hi }, y: new[] { floatAccuracy * 100, floatAccuracy * 100 }, Name: "float", LineDash: StyleParam.DrawingStyle.Dash);
        return CS.Chart.Combine(new[] { all, front, reference })
            .WithXAxisStyle<double, double, string>(TitleText: "blob bytes")
            .WithYAxisStyle<double, double, string>(TitleText: "top-1 accuracy (%)")
            .WithSize(Width: 900, Height: 520);
    }

    private static GenericChart SqnrChart(IReadOnlyList<Converter.LayerReport> all)
    {
        var layers = all.Where(l => double.IsFinite(l.SqnrDb)).ToList();
        return CS.Chart.Column<double, string, string>(
                values: layers.Select(l => l.SqnrDb), Keys: layers.Select(l => $"{l.Index}: {l.Op}").ToArray(), Name: "SQNR")
            .WithXAxisStyle<double, double, string>(TitleText: "layer (op index: type)")
            .WithYAxisStyle<double, double, string>(TitleText: "SQNR (dB)")
            .WithSize(Width: Math.Clamp(120 + 38 * layers.Count, 500, 1400), Height: 460);
    }

    private static GenericChart HistogramChart(WeightHistogram h)
    {
        int first = Array.FindIndex(h.Counts, c => c > 0), last = Array.FindLastIndex(h.Counts, c => c > 0);
        if (first < 0) { first = 128; last = 128; }
        var codes = Enumerable.Range(first, last - first + 1).ToList();
        return CS.Chart.Column<int, int, string>(
                values: codes.Select(i => h.Counts[i]), Keys: codes.Select(i => i - 128).ToArray(), Name: h.Layer)
            .WithXAxisStyle<double, double, string>(TitleText: "int8 code q")
            .WithYAxisStyle<double, double, string>(TitleText: "weights")
            .WithSize(Width: 440, Height: 300);
    }

    private static void Chart(StringBuilder sb, string id, GenericChart chart, bool small = false, string? caption = null)
    {
        sb.Append("<figure class=\"chart").Append(small ? " small" : "").Append("\" id=\"").Append(id).Append("\">");
        sb.Append(GenericChart.toChartHTML(chart));
        if (caption is not null) sb.Append("<figcaption>").Append(E(caption)).Append("</figcaption>");
        sb.Append("</figure>\n");
    }

    /// <summary>plotly.js as Plotly.NET ships it (an embedded resource), safe to inline in a script element.</summary>
    private static string PlotlyJs()
    {
        var asm = typeof(GenericChart).Assembly;
        string name = asm.GetManifestResourceNames().FirstOrDefault(n => n.StartsWith("Plotly.NET.plotly-", StringComparison.Ordinal) && n.EndsWith(".min.js", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("Plotly.NET carries no plotly.js resource: the report cannot be self-contained");
        using var s = asm.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(s);
        return reader.ReadToEnd().Replace("</script", "<\\/script", StringComparison.OrdinalIgnoreCase);
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);
    private static string Pct(double a) => (a * 100).ToString("0.00", CultureInfo.InvariantCulture) + "%";
    private static string Db(double v) => double.IsNaN(v) ? "-" : double.IsPositiveInfinity(v) ? "exact" : v.ToString("0.0", CultureInfo.InvariantCulture);
}
