using EdgeQuant.Converter;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Quantization;

namespace EdgeQuant.Cli.Report;

/// <summary>What a configuration of the evaluation sweep varies (its group in the report).</summary>
public enum SweepKind
{
    /// <summary>How activation ranges are calibrated (int8, per-channel weights).</summary>
    Calibration,
    /// <summary>Per-tensor instead of per-channel weight scales.</summary>
    Granularity,
    /// <summary>How weights are stored and rounded: int8, int4, codebooks, teacher-guided rounding.</summary>
    Weights,
    /// <summary>Unstructured magnitude pruning (stored sparse where the converter finds it pays).</summary>
    Pruning,
    /// <summary>Structured pruning: whole output channels removed.</summary>
    Structured,
}

/// <summary>
/// One configuration of <c>edgequant report</c>: an id for <c>--configs</c>, its group, a one-line description
/// and the conversion options. A configuration is one entry of <see cref="SweepConfiguration.All"/>; a new
/// method joins the sweep by adding an entry there.
/// </summary>
/// <param name="Options">The conversion options, given how many calibration samples the per-layer SQNR uses.</param>
/// <param name="FreshModel">The conversion changes the loaded model's graph (structured pruning): load it again.</param>
public sealed record SweepConfiguration(string Id, SweepKind Kind, string Description, Func<int, ConvertOptions> Options, bool FreshModel = false)
{
    /// <summary>The configuration the others are compared with (blob size ratio): the default conversion.</summary>
    public const string BaselineId = "minmax";

    /// <summary>Every configuration, in report order. The first is the default conversion (<see cref="BaselineId"/>).</summary>
    public static IReadOnlyList<SweepConfiguration> All { get; } = Build();

    /// <summary>The group names accepted by <c>--configs</c> besides the ids.</summary>
    public static string KindName(SweepKind k) => k.ToString().ToLowerInvariant();

    private static List<SweepConfiguration> Build()
    {
        var list = new List<SweepConfiguration>
        {
            new(BaselineId, SweepKind.Calibration, "int8, min-max calibration, per-channel weights (the default conversion)", s => new ConvertOptions { ReportSamples = s }),
            new("percentile", SweepKind.Calibration, "int8, percentile calibration (0.01% clipped)", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Percentile }),
            new("entropy", SweepKind.Calibration, "int8, entropy (KL) calibration", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Entropy }),
            new("mse", SweepKind.Calibration, "int8, MSE-optimal calibration", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Mse }),
            new("per-tensor", SweepKind.Granularity, "int8, min-max, one weight scale per tensor", s => new ConvertOptions { ReportSamples = s, PerChannel = false }),
            new("int8-adaptive", SweepKind.Weights, "int8 weights, teacher-guided (adaptive) rounding", s => new ConvertOptions { ReportSamples = s, Rounding = RoundingMode.Adaptive }),
            new("int4", SweepKind.Weights, "int4 weights (symmetric per channel, two per byte)", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Int4 }),
            new("int4-adaptive", SweepKind.Weights, "int4 weights, teacher-guided rounding", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive }),
            new("codebook4", SweepKind.Weights, "16-entry codebook per layer, 4-bit indices", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook4 }),
            new("codebook4-adaptive", SweepKind.Weights, "16-entry codebook, teacher-guided rounding", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook4, Rounding = RoundingMode.Adaptive }),
            new("codebook8", SweepKind.Weights, "256-entry codebook per layer, 8-bit indices", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook8 }),
        };
        foreach (int p in new[] { 30, 50, 70, 90 })
            list.Add(new($"prune{p}", SweepKind.Pruning, $"{p}% of each layer's weights zeroed by magnitude (sparse storage where it pays)", s => new ConvertOptions { ReportSamples = s, Prune = p / 100.0 }));
        foreach (int p in new[] { 10, 30 })
            list.Add(new($"structured{p}", SweepKind.Structured, $"{p}% of each prunable convolution's output channels removed by L1 norm", s => new ConvertOptions { ReportSamples = s, PruneChannels = p / 100.0 }, FreshModel: true));
        // Mixed precision (issue 10 item 5) joins here as its own SweepKind once the converter has
        // MixedPrecisionSearch: one entry whose options carry the searched per-layer assignment.
        return list;
    }

    /// <summary>
    /// The configurations named by <c>--configs</c> (comma-separated ids or group names), in report order;
    /// all of them when <paramref name="spec"/> is null.
    /// </summary>
    public static IReadOnlyList<SweepConfiguration> Select(string? spec)
    {
        if (spec is null) return All;
        var wanted = new HashSet<SweepConfiguration>();
        foreach (string raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var byId = All.FirstOrDefault(c => string.Equals(c.Id, raw, StringComparison.OrdinalIgnoreCase));
            if (byId is not null) { wanted.Add(byId); continue; }
            var group = All.Where(c => string.Equals(KindName(c.Kind), raw, StringComparison.OrdinalIgnoreCase)).ToList();
            if (group.Count == 0)
                throw new UsageException($"--configs: unknown configuration '{raw}'; configurations: {string.Join(", ", All.Select(c => c.Id))}; groups: {string.Join(", ", Enum.GetValues<SweepKind>().Select(KindName))}");
            foreach (var c in group) wanted.Add(c);
        }
        if (wanted.Count == 0) throw new UsageException("--configs names no configuration");
        return All.Where(wanted.Contains).ToList();
    }
}
