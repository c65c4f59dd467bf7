using EdgeQuant.Converter;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;

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
    /// <summary>Dynamic quantization: no calibration, activations quantized per inference.</summary>
    Dynamic,
    /// <summary>Mixed precision: a per-layer choice of int8 / int16 activations, int4 weights and float, searched.</summary>
    Mixed,
}

/// <summary>What a configuration is given: the model (loaded once and shared), the data and the SQNR sample count.</summary>
public sealed class SweepInputs
{
    public required string ModelPath { get; init; }
    /// <summary>The model as loaded for the whole sweep; a conversion that changes its graph loads its own copy.</summary>
    public required LoadedModel Shared { get; init; }
    public required SampleSet Calibration { get; init; }
    /// <summary>The evaluation data and labels (a data-driven method such as a precision search may use them).</summary>
    public required SampleSet Data { get; init; }
    public required long[] Labels { get; init; }
    /// <summary>Calibration samples (the first N) the per-layer SQNR is measured on.</summary>
    public required int SqnrSamples { get; init; }
}

/// <summary>What a configuration produced: the blob, and the per-layer detail where the method gives it.</summary>
public sealed class SweepConversion
{
    public required byte[] Blob { get; init; }
    /// <summary>Per-layer SQNR, MACs and shapes (null: not measured by this method; the page says so).</summary>
    public ConversionReport? Report { get; init; }
    /// <summary>Weight-code histograms of the weighted layers (null: not available for this method).</summary>
    public IReadOnlyList<WeightHistogram>? Histograms { get; init; }
    /// <summary>Bytes of the layers' weights when the method counts them itself (null: counted from the blob's filter tensors).</summary>
    public long? WeightBytes { get; init; }
    /// <summary>What this conversion decided, in one line (e.g. a searched per-layer assignment); null when nothing.</summary>
    public string? Detail { get; init; }
}

/// <summary>
/// One configuration of <c>edgequant report</c>: an id for <c>--configs</c>, its group, a one-line description and
/// how it converts. A configuration is one entry of <see cref="All"/>; a new method joins the sweep by adding an
/// entry there (a <see cref="ConverterConfiguration"/> when <see cref="ConvertOptions"/> express it, else its own
/// subclass producing a <see cref="SweepConversion"/>).
/// </summary>
public abstract record SweepConfiguration(string Id, SweepKind Kind, string Description)
{
    /// <summary>Converts the model; a <see cref="ConversionException"/> marks this configuration as not applicable to it.</summary>
    public abstract SweepConversion Convert(SweepInputs inputs);

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
            new ConverterConfiguration(BaselineId, SweepKind.Calibration, "int8, min-max calibration, per-channel weights (the default conversion)", s => new ConvertOptions { ReportSamples = s }),
            new ConverterConfiguration("percentile", SweepKind.Calibration, "int8, percentile calibration (0.01% clipped)", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Percentile }),
            new ConverterConfiguration("entropy", SweepKind.Calibration, "int8, entropy (KL) calibration", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Entropy }),
            new ConverterConfiguration("mse", SweepKind.Calibration, "int8, MSE-optimal calibration", s => new ConvertOptions { ReportSamples = s, Method = CalibrationMethod.Mse }),
            new ConverterConfiguration("per-tensor", SweepKind.Granularity, "int8, min-max, one weight scale per tensor", s => new ConvertOptions { ReportSamples = s, PerChannel = false }),
            new ConverterConfiguration("int8-adaptive", SweepKind.Weights, "int8 weights, teacher-guided (adaptive) rounding", s => new ConvertOptions { ReportSamples = s, Rounding = RoundingMode.Adaptive }),
            new ConverterConfiguration("int4", SweepKind.Weights, "int4 weights (symmetric per channel, two per byte)", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Int4 }),
            new ConverterConfiguration("int4-adaptive", SweepKind.Weights, "int4 weights, teacher-guided rounding", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Int4, Rounding = RoundingMode.Adaptive }),
            new ConverterConfiguration("codebook4", SweepKind.Weights, "16-entry codebook per layer, 4-bit indices", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook4 }),
            new ConverterConfiguration("codebook4-adaptive", SweepKind.Weights, "16-entry codebook, teacher-guided rounding", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook4, Rounding = RoundingMode.Adaptive }),
            new ConverterConfiguration("codebook8", SweepKind.Weights, "256-entry codebook per layer, 8-bit indices", s => new ConvertOptions { ReportSamples = s, Weights = WeightEncoding.Codebook8 }),
        };
        foreach (int p in new[] { 30, 50, 70, 90 })
            list.Add(new ConverterConfiguration($"prune{p}", SweepKind.Pruning, $"{p}% of each layer's weights zeroed by magnitude (sparse storage where it pays)", s => new ConvertOptions { ReportSamples = s, Prune = p / 100.0 }));
        foreach (int p in new[] { 10, 30 })
            list.Add(new ConverterConfiguration($"structured{p}", SweepKind.Structured, $"{p}% of each prunable convolution's output channels removed by L1 norm", s => new ConvertOptions { ReportSamples = s, PruneChannels = p / 100.0 }, FreshModel: true));
        list.Add(new DynamicConfiguration());
        list.Add(new MixedPrecisionConfiguration(0.2));
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

/// <summary>A configuration that is one call of <see cref="ModelConverter.Convert(LoadedModel, SampleSet?, ConvertOptions?)"/>.</summary>
/// <param name="Options">The conversion options, given how many calibration samples the per-layer SQNR uses.</param>
/// <param name="FreshModel">The conversion changes the loaded model's graph (structured pruning): load it again.</param>
public sealed record ConverterConfiguration(string Id, SweepKind Kind, string Description, Func<int, ConvertOptions> Options, bool FreshModel = false)
    : SweepConfiguration(Id, Kind, Description)
{
    public override SweepConversion Convert(SweepInputs inputs)
    {
        var model = FreshModel ? ModelConverter.Load(inputs.ModelPath) : inputs.Shared;
        var r = ModelConverter.Convert(model, inputs.Calibration, Options(inputs.SqnrSamples));
        return new SweepConversion { Blob = r.Blob, Report = r.Report, Histograms = WeightHistogram.Of(r.Quantized) };
    }
}

/// <summary>
/// Dynamic quantization (<c>convert --dynamic</c>): int8 weights, float activations quantized per inference; no
/// calibration, so no per-layer SQNR and no int8 code histograms (the blob keeps no quantized graph).
/// </summary>
public sealed record DynamicConfiguration()
    : SweepConfiguration("dynamic", SweepKind.Dynamic, "dynamic quantization: int8 weights, activations quantized per inference, float outputs; no calibration")
{
    public override SweepConversion Convert(SweepInputs inputs)
    {
        // A fresh load: the shared model may have been equalized for the static conversions.
        var r = DynamicQuantization.Convert(ModelConverter.Load(inputs.ModelPath));
        return new SweepConversion { Blob = r.Blob, WeightBytes = r.WeightBytes };
    }
}

/// <summary>
/// Mixed precision (<c>convert --mixed-precision --accuracy-budget POINTS</c>): <see cref="MixedPrecisionSearch"/>
/// picks each layer's precision (int8, int16 activations, int4 weights, float) for the smallest blob within the
/// budget of float top-1 and never below the all-int8 model, each change held on the search and the validation
/// part of the evaluation data separately. The accuracy it reports is still the evaluation data's own, as the
/// convert command's with its --data. No per-layer
/// SQNR (the blob mixes int8, int16 and float activations); histograms of the int8-coded weights (int8, int16 and
/// int4 layers; float layers have none).
/// </summary>
public sealed record MixedPrecisionConfiguration(double BudgetPoints)
    : SweepConfiguration("mixed", SweepKind.Mixed,
        $"mixed precision: per-layer int8 / int16 / int4 / float searched for the smallest blob within {BudgetPoints.ToString(System.Globalization.CultureInfo.InvariantCulture)} points of float (and not below int8), on the evaluation data")
{
    public override SweepConversion Convert(SweepInputs inputs)
    {
        // A fresh load: the search calibrates (and equalizes) the model itself.
        var ctx = MixedPrecision.Prepare(ModelConverter.Load(inputs.ModelPath), ModelInputs.Single(inputs.Calibration));
        var r = MixedPrecisionSearch.Run(ctx, ModelInputs.Single(inputs.Data), inputs.Labels,
            new MixedPrecisionSearchOptions { AccuracyBudgetPoints = BudgetPoints, LatencyIterations = 0 });
        var histograms = new List<WeightHistogram>();
        long weightBytes = 0;
        var ops = ctx.Model.Ir.Ops;
        for (int i = 0; i < ops.Count; i++)
        {
            var op = ops[i];
            if (!r.Build.Assignment.TryGetValue(op, out var p) || op.Weights is null) continue;
            if (p == LayerPrecision.Float) { weightBytes += 4L * op.Weights.Length; continue; }
            var enc = p switch { LayerPrecision.Int4 => WeightEncoding.Int4, LayerPrecision.Codebook4 => WeightEncoding.Codebook4, LayerPrecision.Codebook8 => WeightEncoding.Codebook8, _ => WeightEncoding.Int8 };
            if (!ctx.Quantized(enc).Ops.TryGetValue(op, out var q) || q.Weights is not { } w) continue;
            var counts = new int[256];
            foreach (sbyte v in w) counts[v + 128]++;
            histograms.Add(new WeightHistogram(i, op.Name, $"{op.Type} {MixedPrecision.Text(p)}", counts));
        }
        var m = Model.Load(r.Build.Blob);
        weightBytes += Commands.WeightBytes(m) + LayerFilterBytes(m);
        string assignment = r.PrecisionArgument.Length == 0 ? "every layer int8" : "--precision " + r.PrecisionArgument;
        return new SweepConversion
        {
            Blob = r.Build.Blob, Histograms = histograms, WeightBytes = weightBytes,
            Detail = $"{assignment}; search accuracy {r.Accuracy * 100:F2}% against int8 {r.Int8Accuracy * 100:F2}% "
                + $"(search part {r.SearchAccuracy * 100:F2}% / {r.Int8SearchAccuracy * 100:F2}%, validation part {r.ValidationAccuracy * 100:F2}% / {r.Int8ValidationAccuracy * 100:F2}%)"
                + (r.WithinBudget ? "" : " (budget NOT reached)") + (r.Note is null ? "" : "; " + r.Note),
        };
    }

    /// <summary>Filter bytes of the 16x8 layers (their filters are int8; float layers are counted from the graph).</summary>
    private static long LayerFilterBytes(Model m)
    {
        long total = 0;
        foreach (var op in m.Ops)
            if (op.Type is Runtime.Format.OpType.Conv2DS16 or Runtime.Format.OpType.DepthwiseConv2DS16 or Runtime.Format.OpType.FullyConnectedS16)
                total += m.Tensors[op.Input1].ByteLength;
        return total;
    }
}
