using EdgeQuant.Converter;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli.Report;

/// <summary>What one configuration measured.</summary>
/// <param name="Accuracy">Top-1 on the evaluation data, 0..1.</param>
/// <param name="DropPoints">Float top-1 minus this one, in percentage points (negative: better than float).</param>
/// <param name="MedianUs">Median single-thread latency of one invocation (fast kernels), microseconds.</param>
/// <param name="OutputSqnrDb">SQNR of the model output against float on the SQNR samples, dB (NaN: not measured, +inf: exact).</param>
/// <param name="Macs">Multiply-accumulates of one invocation (null: the method does not report them).</param>
/// <param name="Detail">What the conversion decided (a searched assignment), or null.</param>
/// <param name="WeightBytes">Bytes of the conv / depthwise / fully-connected filters (and codebooks) and recurrent W and R in the blob.</param>
public sealed record SweepRow(
    SweepConfiguration Config, double Accuracy, double DropPoints, int BlobBytes, int ArenaBytes, long WeightBytes,
    double MedianUs, double OutputSqnrDb, long? Macs, string? Detail = null)
{
    /// <summary>No other row is at least as small and at least as accurate, and strictly better in one of the two.</summary>
    public bool OnParetoFront { get; set; }
}

/// <summary>One weighted layer's int8 weight codes (q, the real weight being q × its channel's scale) counted per value.</summary>
/// <param name="Counts">256 counts, index q + 128.</param>
public sealed record WeightHistogram(int LayerIndex, string Layer, string Op, int[] Counts)
{
    public long Total => Counts.Sum(c => (long)c);
    /// <summary>How many of the 256 codes occur (16 at most for int4 and codebook4).</summary>
    public int DistinctValues => Counts.Count(c => c > 0);
    public double ZeroFraction => Total == 0 ? 0 : (double)Counts[128] / Total;

    /// <summary>The histograms of every op of <paramref name="q"/> that has weights, in graph order.</summary>
    public static List<WeightHistogram> Of(Converter.Quantization.QuantizedGraph q)
    {
        var list = new List<WeightHistogram>();
        var ops = q.Graph.Ops;
        for (int i = 0; i < ops.Count; i++)
        {
            if (!q.Ops.TryGetValue(ops[i], out var oq) || oq.Weights is not { } w) continue;
            var counts = new int[256];
            foreach (sbyte v in w) counts[v + 128]++;
            list.Add(new WeightHistogram(i, ops[i].Name, ops[i].Type.ToString(), counts));
        }
        return list;
    }
}

/// <summary>The sweep's result: every row, the chosen configuration and its per-layer detail.</summary>
public sealed class EvaluationReport
{
    public required string Model { get; init; }
    public required double FloatAccuracy { get; init; }
    public required int EvaluationSamples { get; init; }
    public required int CalibrationSamples { get; init; }
    public required int SqnrSamples { get; init; }
    public required int LatencyIterations { get; init; }
    public required List<SweepRow> Rows { get; init; }
    public required SweepRow Chosen { get; init; }
    /// <summary>Why <see cref="Chosen"/> was chosen.</summary>
    public required string ChosenBecause { get; init; }
    /// <summary>The chosen configuration's per-layer report (SQNR, MACs, shapes); null when its method gives none.</summary>
    public required ConversionReport? ChosenReport { get; init; }
    /// <summary>The chosen configuration's weight histograms; null when its method gives none.</summary>
    public required IReadOnlyList<WeightHistogram>? ChosenHistograms { get; init; }
    /// <summary>What the sweep leaves out or could not do, in plain words.</summary>
    public required List<string> Notes { get; init; }
    /// <summary>The default conversion's blob bytes when it was part of the sweep.</summary>
    public int? BaselineBlobBytes => Rows.FirstOrDefault(r => r.Config.Id == SweepConfiguration.BaselineId)?.BlobBytes;
}

/// <summary>Options of <see cref="EvaluationSweep.Run"/>.</summary>
public sealed class SweepOptions
{
    public IReadOnlyList<SweepConfiguration> Configurations { get; init; } = SweepConfiguration.All;
    /// <summary>Median of this many single-thread invocations per configuration.</summary>
    public int LatencyIterations { get; init; } = 200;
    /// <summary>Calibration samples the per-layer SQNR is measured on (the first N).</summary>
    public int SqnrSamples { get; init; } = 32;
    /// <summary>The configuration to detail (id); null: the smallest blob within <see cref="BudgetPoints"/> of float.</summary>
    public string? Choose { get; init; }
    /// <summary>Accuracy loss (percentage points against float) the automatic choice accepts.</summary>
    public double BudgetPoints { get; init; } = 1.0;
    /// <summary>Called before each configuration: (index, count, configuration); and once more with (count, count, null) at the end.</summary>
    public Action<int, int, SweepConfiguration?>? Progress { get; init; }
    /// <summary>Called after each configuration with its row.</summary>
    public Action<SweepRow>? RowDone { get; init; }
    /// <summary>Called when a configuration cannot be converted (the sweep goes on; the message is also one of the report's notes).</summary>
    public Action<string>? Failed { get; init; }
}

/// <summary>
/// <c>edgequant report</c>'s engine: converts one model with every configuration, measures top-1 accuracy, blob,
/// arena and weight bytes, latency and output SQNR of each, marks the accuracy-vs-size Pareto front, chooses one
/// configuration and collects its per-layer SQNR and weight histograms.
/// </summary>
public static class EvaluationSweep
{
    public static EvaluationReport Run(string modelPath, SampleSet calibration, SampleSet data, long[] labels, SweepOptions options)
    {
        if (options.Configurations.Count == 0) throw new UsageException("the sweep has no configuration");
        if (options.Choose is { } pick && !options.Configurations.Any(c => c.Id == pick))
            throw new UsageException($"--choose '{pick}' is not among the configurations swept ({string.Join(", ", options.Configurations.Select(c => c.Id))})");
        var loaded = ModelConverter.Load(modelPath);
        if (Converter.Quantization.QdqQuantization.AnnotationsOf(loaded) is not null)
            throw new UsageException($"{Path.GetFileName(modelPath)} is a QDQ model: it carries its own quantization, which the sweep's configurations would not change; run the report on the float model");
        double floatAcc = Commands.Accuracy(Commands.Argmax(ModelRunner.FromLoaded(loaded).Run(data), data.Count), labels);
        var rows = new List<SweepRow>();
        var results = new Dictionary<string, SweepConversion>(StringComparer.Ordinal);
        var failed = new List<string>();
        var inputs = new SweepInputs { ModelPath = modelPath, Shared = loaded, Calibration = calibration, Data = data, Labels = labels, SqnrSamples = options.SqnrSamples };
        int n = options.Configurations.Count;
        for (int i = 0; i < n; i++)
        {
            var cfg = options.Configurations[i];
            options.Progress?.Invoke(i, n, cfg);
            SweepConversion r;
            try { r = cfg.Convert(inputs); }
            catch (ConversionException e)
            {
                // One configuration the model does not support does not end a sweep that may have run for minutes:
                // it is reported, and the others go on.
                failed.Add($"Configuration '{cfg.Id}' could not be converted: {e.Message}");
                options.Failed?.Invoke(failed[^1]);
                continue;
            }
            var m = Model.Load(r.Blob);
            double acc = Commands.Accuracy(Commands.Argmax(ModelRunner.FromModel(m).Run(data), data.Count), labels);
            double us = Benchmark.Measure(m, options.LatencyIterations, reference: false).MedianUs;
            var row = new SweepRow(cfg, acc, (floatAcc - acc) * 100, r.Blob.Length, m.ArenaBytes, r.WeightBytes ?? Commands.WeightBytes(m), us,
                r.Report?.OutputSqnrDb ?? double.NaN, r.Report?.Macs, r.Detail);
            rows.Add(row);
            // With --choose only that configuration's conversion is kept; otherwise every one is, until the choice.
            if (options.Choose is null || options.Choose == cfg.Id) results[cfg.Id] = r;
            options.RowDone?.Invoke(row);
        }
        options.Progress?.Invoke(n, n, null);
        if (rows.Count == 0) throw new ConversionException(string.Join("; ", failed));
        if (options.Choose is { } c && !results.ContainsKey(c)) throw new ConversionException(failed.First(f => f.Contains($"'{c}'", StringComparison.Ordinal)));
        MarkParetoFront(rows);
        var (chosen, because) = Choose(rows, options);
        var chosenResult = results[chosen.Config.Id];
        var notes = new List<string>(failed);
        return new EvaluationReport
        {
            Model = Path.GetFileName(modelPath),
            FloatAccuracy = floatAcc,
            EvaluationSamples = data.Count,
            CalibrationSamples = calibration.Count,
            SqnrSamples = Math.Min(options.SqnrSamples, calibration.Count),
            LatencyIterations = options.LatencyIterations,
            Rows = rows,
            Chosen = chosen,
            ChosenBecause = because,
            ChosenReport = chosenResult.Report,
            ChosenHistograms = chosenResult.Histograms,
            Notes = notes,
        };
    }

    /// <summary>Marks the rows no other row dominates in (blob bytes, accuracy).</summary>
    public static void MarkParetoFront(IReadOnlyList<SweepRow> rows)
    {
        foreach (var r in rows)
        {
            bool dominated = false;
            foreach (var o in rows)
            {
                if (ReferenceEquals(o, r)) continue;
                if (o.BlobBytes <= r.BlobBytes && o.Accuracy >= r.Accuracy && (o.BlobBytes < r.BlobBytes || o.Accuracy > r.Accuracy)) { dominated = true; break; }
            }
            r.OnParetoFront = !dominated;
        }
    }

    private static (SweepRow, string) Choose(List<SweepRow> rows, SweepOptions o)
    {
        if (o.Choose is { } id) return (rows.First(r => r.Config.Id == id), "chosen with --choose");
        // The accuracy budget is compared after rounding to the evaluation's resolution, so that
        // a drop of exactly the budget is accepted despite floating-point noise.
        var within = rows.Where(r => Math.Round(r.DropPoints, 6) <= o.BudgetPoints).ToList();
        if (within.Count > 0)
        {
            var best = within.OrderBy(r => r.BlobBytes).ThenByDescending(r => r.Accuracy).ThenBy(r => r.MedianUs).First();
            return (best, $"the smallest blob within {o.BudgetPoints:0.##} point(s) of float top-1");
        }
        var top = rows.OrderByDescending(r => r.Accuracy).ThenBy(r => r.BlobBytes).First();
        return (top, $"no configuration is within {o.BudgetPoints:0.##} point(s) of float top-1: the most accurate");
    }
}
