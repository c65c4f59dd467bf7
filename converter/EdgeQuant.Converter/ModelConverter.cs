using System.Security.Cryptography;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Packing;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter;

/// <summary>Options of <see cref="ModelConverter.Convert"/>.</summary>
public sealed class ConvertOptions
{
    public CalibrationMethod Method { get; init; } = CalibrationMethod.MinMax;
    /// <summary>Per-channel weights (default) or per-tensor.</summary>
    public bool PerChannel { get; init; } = true;
    /// <summary>Correct each bias for the mean error of its rounded weights (default on).</summary>
    public bool BiasCorrection { get; init; } = true;
    /// <summary>Calibration samples used for the per-layer SQNR in the report (the first N).</summary>
    public int ReportSamples { get; init; } = 64;
    /// <summary>
    /// Cross-layer range equalization of depthwise convolutions that feed a convolution directly
    /// (default on; see <see cref="RangeEqualization"/>). It rescales the loaded model's IR weights
    /// in place (the float function is unchanged), once per loaded model.
    /// </summary>
    public bool Equalize { get; init; } = true;
    /// <summary>Optional class labels stored in the blob's metadata.</summary>
    public IReadOnlyList<string>? Labels { get; init; }
    /// <summary>Optional camera normalization (x = (pixel/255 - mean)/std per channel) stored in the blob's metadata for board pipelines.</summary>
    public EdgeQuant.Runtime.PixelNormalization? Pixels { get; init; }
    /// <summary>Storage of conv / depthwise / fully-connected weights (default int8).</summary>
    public WeightEncoding Weights { get; init; } = WeightEncoding.Int8;
    /// <summary>Weight rounding: nearest (default) or adaptive (teacher-guided, per layer).</summary>
    public RoundingMode Rounding { get; init; } = RoundingMode.Nearest;
    /// <summary>Unstructured magnitude pruning: fraction of each Conv2D / FullyConnected layer's weights zeroed (0: none).</summary>
    public double Prune { get; init; }
    /// <summary>
    /// Structured pruning: fraction of each prunable convolution's output channels removed (0: none; see
    /// <see cref="StructuredPruning"/>). It changes the loaded model's IR in place, like equalization.
    /// </summary>
    public double PruneChannels { get; init; }
    /// <summary>Which pruned layers are stored as sparse rows (ops 53, 54): by the cost model (default), all, or none.</summary>
    public Packing.SparseStorage Sparse { get; init; } = Packing.SparseStorage.Auto;
    /// <summary>Called with (done, total) during calibration.</summary>
    public Action<int, int>? Progress { get; init; }
}

/// <summary>A float ONNX model, simplified and lowered, ready to calibrate or run.</summary>
public sealed class LoadedModel
{
    public required string Path { get; init; }
    public required byte[] Bytes { get; init; }
    public required OnnxGraph Onnx { get; init; }
    public required IrGraph Ir { get; init; }
    public IrTensor Input => Ir.Inputs[0];
    public IrTensor Output => Ir.Outputs[0];
    /// <summary>Logical (source layout) shape of one input sample, batch included as 1.</summary>
    public int[] InputSourceShape => Ir.SourceShapes[Input];
    public SourceLayout InputLayout => Ir.Layouts[Input];
}

/// <summary>Everything a conversion produced.</summary>
public sealed class ConversionResult
{
    public required LoadedModel Source { get; init; }
    public required QuantizedGraph Quantized { get; init; }
    public required byte[] Blob { get; init; }
    public required Dictionary<IrTensor, int> TensorIndex { get; init; }
    public required ConversionReport Report { get; init; }
    /// <summary>What structured pruning removed, when it ran.</summary>
    public StructuredPruningSummary? StructuredPruning { get; init; }
}

/// <summary>Float ONNX in, calibrated int8 .eqm out.</summary>
public static class ModelConverter
{
    public const string Version = "0.1.0";
    /// <summary>Calibration samples used by bias correction (the first N).</summary>
    public const int BiasCorrectionSamples = 128;
    /// <summary>Calibration samples whose channel ranges drive range equalization (the first N).</summary>
    public const int EqualizationSamples = 64;

    /// <summary>Imports, simplifies and lowers an ONNX model. Unsupported content is a <see cref="ConversionException"/>.</summary>
    public static LoadedModel Load(string path)
    {
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConversionException($"cannot read model '{path}': {e.Message}", e);
        }
        var graph = OnnxFrontend.Prepare(bytes, path);
        var ir = Lowering.Lower(graph);
        return new LoadedModel { Path = path, Bytes = bytes, Onnx = graph, Ir = ir };
    }

    private static string WeightsDescription(ConvertOptions o)
    {
        string text = (o.PerChannel ? "per-channel symmetric " : "per-tensor symmetric ") + o.Weights switch
        {
            WeightEncoding.Int4 => "int4",
            WeightEncoding.Codebook4 => "int8 grid, 16-level codebook per layer",
            WeightEncoding.Codebook8 => "int8 grid, 256-level codebook per layer",
            _ => "int8",
        };
        if (o.Rounding == RoundingMode.Adaptive) text += ", adaptive rounding";
        if (o.Prune > 0) text += $", {o.Prune:P0} magnitude-pruned";
        if (o.PruneChannels > 0) text += $", {o.PruneChannels:P0} of channels pruned";
        return text;
    }

    /// <summary>
    /// Calibrates on <paramref name="calibration"/> (samples in the model's source layout), quantizes and packs.
    /// A QDQ model (QuantizeLinear/DequantizeLinear pairs, <see cref="QdqPatterns"/>) keeps its own
    /// scales, zero points and weights and needs no calibration data (null): see <see cref="QdqQuantization"/>.
    /// </summary>
    public static ConversionResult Convert(LoadedModel model, SampleSet? calibration, ConvertOptions? options = null)
        => Convert(model, calibration is null ? null : ModelInputs.Single(calibration), options);

    /// <summary>
    /// Calibrates on data for every model input (<see cref="ModelInputs"/>, source layout), quantizes and packs.
    /// A QDQ model needs no calibration data (null).
    /// </summary>
    /// <remarks><paramref name="options"/> has no default so that Convert(model, null) stays the <see cref="SampleSet"/> overload.</remarks>
    public static ConversionResult Convert(LoadedModel model, ModelInputs? calibration, ConvertOptions? options)
    {
        options ??= new ConvertOptions();
        if (QdqQuantization.AnnotationsOf(model) is { } qdq) return ConvertQdq(model, qdq, calibration, options);
        if (calibration is null) throw new ConversionException($"model '{System.IO.Path.GetFileName(model.Path)}' is a float model: converting it needs calibration data");
        var samples = calibration.ToPhysical(model);
        StructuredPruningSummary? pruned = null;
        if (options.PruneChannels > 0)
        {
            if (model.Ir.Equalized)
                throw new ConversionException("structured pruning changes the loaded model's graph: load the model again for a pruned conversion");
            pruned = StructuredPruning.Apply(model.Ir, options.PruneChannels, samples);
        }
        if (options.Equalize) RangeEqualization.Apply(model.Ir, samples.Take(EqualizationSamples).ToList());
        var ranges = Calibrator.Calibrate(model.Ir, samples, options.Method, options.Progress, out var means);
        var qo = new QuantizationOptions
        {
            PerChannel = options.PerChannel,
            Weights = options.Weights,
            Rounding = options.Rounding,
            PruneSparsity = options.Prune,
            Sparse = options.Sparse,
            LayerStatistics = options.Rounding == RoundingMode.Adaptive ? AdaptiveRounding.Collect(model.Ir, samples) : null,
            RecurrentStatistics = options.Rounding == RoundingMode.Adaptive && options.Weights is WeightEncoding.Int4 or WeightEncoding.Codebook4
                ? RecurrentStatistics.Collect(model.Ir, samples) : null,
        };
        var q = QuantizedGraph.Quantize(model.Ir, ranges, qo);
        if (options.BiasCorrection) BiasCorrection.Apply(q, samples.Take(BiasCorrectionSamples).ToList());
        var meta = Metadata(model, options,
            $"{options.Method.ToString().ToLowerInvariant()}, {samples.Count} samples",
            WeightsDescription(options));
        return Finish(model, q, meta, samples, options, pruned);
    }

    /// <summary>
    /// A QDQ model: every activation scale and zero point, weight scale and bias code is the
    /// model's own. Calibration data is optional: when given, it supplies ranges only for
    /// activations the model leaves unquantized, and the per-layer SQNR of the report; range
    /// equalization and bias correction are not applied (they would change the model's weights).
    /// </summary>
    private static ConversionResult ConvertQdq(LoadedModel model, QdqAnnotations qdq, ModelInputs? calibration, ConvertOptions options)
    {
        var fixedQuant = new QdqQuantization(model, qdq);
        var samples = calibration?.ToPhysical(model) ?? [];
        var missing = fixedQuant.Missing();
        if (missing.Count > 0 && samples.Count == 0)
        {
            var list = string.Join("; ", missing.Take(4).Select(m => $"'{m.Tensor.Name}' ({m.Producer})"));
            throw new ConversionException(
                $"the QDQ model leaves {missing.Count} activation(s) without a QuantizeLinear/DequantizeLinear pair: {list}{(missing.Count > 4 ? "; ..." : "")}; give calibration data (--calib) to calibrate them");
        }
        IReadOnlyDictionary<IrTensor, Calibration.Range> ranges = missing.Count > 0
            ? Calibrator.Calibrate(model.Ir, samples, options.Method, options.Progress, out _)
            : new Dictionary<IrTensor, Calibration.Range>();
        var q = QuantizedGraph.Quantize(model.Ir, ranges, new QuantizationOptions { PerChannel = options.PerChannel, Fixed = fixedQuant });
        fixedQuant.Verify(q);
        string calib = missing.Count == 0
            ? "qdq: scales and zero points from the model"
            : $"qdq: scales and zero points from the model, {missing.Count} activation(s) {options.Method.ToString().ToLowerInvariant()} on {samples.Count} samples";
        var meta = Metadata(model, options, calib, "symmetric int8 from the model's DequantizeLinear");
        return Finish(model, q, meta, samples, options);
    }

    private static Dictionary<string, string> Metadata(LoadedModel model, ConvertOptions options, string calibration, string weights)
    {
        var meta = new Dictionary<string, string>
        {
            ["converter"] = "edgequant " + Version,
            ["source_model"] = System.IO.Path.GetFileName(model.Path),
            ["source_sha256"] = System.Convert.ToHexString(SHA256.HashData(model.Bytes)).ToLowerInvariant(),
            ["calibration"] = calibration,
            ["weights"] = weights,
            ["input_shape"] = string.Join(",", model.InputSourceShape),
            ["output_shape"] = string.Join(",", model.Ir.SourceShapes[model.Output]),
        };
        if (options.Labels is { Count: > 0 }) meta["labels"] = string.Join("\n", options.Labels);
        if (options.Pixels is { } px)
        {
            var shape = model.InputSourceShape;
            int channels = shape.Length == 4 ? (model.InputLayout == SourceLayout.Nchw ? shape[1] : shape[3]) : -1;
            if (shape.Length != 4)
                throw new ConversionException($"--pixels needs an image input [N, C, H, W] or [N, H, W, C]; the model's input is {string.Join("x", shape)}");
            if (px.ChannelCount == 3 && channels != 3)
                throw new ConversionException($"--pixels gives 3 channels but the model's input {string.Join("x", shape)} does not have 3 channels");
            meta[EdgeQuant.Runtime.PixelNormalization.MetadataKey] = px.ToMetadataValue();
        }
        return meta;
    }

    private static ConversionResult Finish(LoadedModel model, QuantizedGraph q, Dictionary<string, string> meta, List<float[]> samples, ConvertOptions options, StructuredPruningSummary? pruned = null)
    {
        var blob = Packer.Pack(q, meta, out var index);
        var report = ConversionReport.Build(model, q, blob, index, samples.Take(Math.Max(1, options.ReportSamples)).ToList());
        return new ConversionResult { Source = model, Quantized = q, Blob = blob, TensorIndex = index, Report = report, StructuredPruning = pruned };
    }
}
