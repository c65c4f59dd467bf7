using System.Globalization;
using System.Security.Cryptography;
using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Packing;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>The precision of one layer (Conv2D, DepthwiseConv2D, FullyConnected or Add) in a mixed-precision model.</summary>
public enum LayerPrecision
{
    /// <summary>The default: int8 activations and weights (the TFLite int8 scheme).</summary>
    Int8,
    /// <summary>TFLite's 16x8 scheme: int16 activations (zero point 0), int8 weights, int64 bias and accumulator.</summary>
    Int16,
    /// <summary>Float32 activations and weights (the float fallback kernels).</summary>
    Float,
    /// <summary>Int8 activations, symmetric per-channel 4-bit weights.</summary>
    Int4,
    /// <summary>Int8 activations, 16-level codebook weights.</summary>
    Codebook4,
    /// <summary>Int8 activations, 256-level codebook weights.</summary>
    Codebook8,
}

/// <summary>What one mixed-precision model costs: blob, arena and constant-tensor bytes, MACs per activation precision, inserted conversion ops.</summary>
public sealed record MixedPrecisionCost(int BlobBytes, int ArenaBytes, long ConstantBytes, IReadOnlyDictionary<string, long> MacsByPrecision, int BoundaryOps)
{
    /// <summary>The MACs per activation precision as "int8 123, int16 45".</summary>
    public string MacsText() => string.Join(", ", MacsByPrecision.Where(kv => kv.Value > 0).Select(kv => $"{kv.Key} {kv.Value:N0}"));
}

/// <summary>A mixed-precision blob and what it costs.</summary>
public sealed record MixedPrecisionBuild(byte[] Blob, MixedPrecisionCost Cost, IReadOnlyDictionary<IrOp, LayerPrecision> Assignment);

/// <summary>
/// Mixed precision (<c>edgequant convert --precision LAYER=int16,...</c> and <c>--mixed-precision</c>): each layer
/// (Conv2D, DepthwiseConv2D, FullyConnected, Add) runs in int8 (default), int16 (16x8), float32, or int8 with
/// int4 / codebook weights. The ops between layers follow their producer's precision where the runtime has that
/// variant (pools, Mean, Reshape; Transpose in float) and run in int8 otherwise; a conversion op (Requantize,
/// Quantize, Dequantize, QuantizeS16, DequantizeS16) is inserted wherever a tensor is read in another precision
/// than it was written. Model inputs take the precision of their first reader. See docs/compression.md.
/// </summary>
public static class MixedPrecision
{
    /// <summary>The ops a precision can be assigned to, in execution order.</summary>
    public static List<IrOp> Layers(IrGraph g) => g.Ops.Where(IsLayer).ToList();

    /// <summary>True for the ops that take an assigned precision.</summary>
    public static bool IsLayer(IrOp op) => op.Type is OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected or OpType.Add;

    /// <summary>True when <paramref name="p"/> is available for <paramref name="op"/> (weight encodings only for weighted layers).</summary>
    public static bool Supports(IrOp op, LayerPrecision p) => p is LayerPrecision.Int8 or LayerPrecision.Int16 or LayerPrecision.Float || op.Weights is not null;

    /// <summary>The name a layer is addressed by: its ONNX node name, or "#i" (its row in the conversion report) when that is empty or shared.</summary>
    public static string LayerName(IrGraph g, IrOp op)
    {
        int i = g.Ops.IndexOf(op);
        if (op.Name.Length == 0 || g.Ops.Count(o => o.Name == op.Name) > 1) return "#" + i.ToString(CultureInfo.InvariantCulture);
        return op.Name;
    }

    /// <summary>The text form of a precision (as <c>--precision</c> takes it).</summary>
    public static string Text(LayerPrecision p) => p.ToString().ToLowerInvariant();

    /// <summary>Parses "int8", "int16", "float" (or "f32", "float32"), "int4", "codebook4", "codebook8".</summary>
    public static LayerPrecision ParsePrecision(string s) => s.Trim().ToLowerInvariant() switch
    {
        "int8" or "s8" => LayerPrecision.Int8,
        "int16" or "s16" or "16x8" => LayerPrecision.Int16,
        "float" or "float32" or "f32" => LayerPrecision.Float,
        "int4" => LayerPrecision.Int4,
        "codebook4" => LayerPrecision.Codebook4,
        "codebook8" => LayerPrecision.Codebook8,
        _ => throw new ConversionException($"unknown precision '{s}'; use int8, int16, float, int4, codebook4 or codebook8"),
    };

    /// <summary>
    /// Parses <c>LAYER=PRECISION,...</c>: LAYER is a layer name (<see cref="LayerName"/>: the ONNX node name as the
    /// conversion report prints it, or #i with the report's row index), or <c>*</c> for every layer. Later entries win.
    /// </summary>
    public static Dictionary<IrOp, LayerPrecision> ParseAssignment(IrGraph g, string spec)
    {
        var layers = Layers(g);
        var result = new Dictionary<IrOp, LayerPrecision>();
        foreach (var raw in spec.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            int eq = raw.LastIndexOf('=');
            if (eq <= 0 || eq == raw.Length - 1) throw new ConversionException($"--precision entry '{raw}' is not LAYER=PRECISION");
            string name = raw[..eq].Trim();
            var p = ParsePrecision(raw[(eq + 1)..]);
            List<IrOp> targets;
            if (name == "*") targets = layers.Where(l => Supports(l, p)).ToList();
            else
            {
                var op = layers.FirstOrDefault(l => LayerName(g, l) == name || l.Name == name && layers.Count(o => o.Name == name) == 1);
                if (op is null && name.StartsWith('#') && int.TryParse(name.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int idx) && idx < g.Ops.Count)
                {
                    op = g.Ops[idx];
                    if (!IsLayer(op)) throw new ConversionException($"--precision: row {name} is a {op.Type}; a precision applies to Conv2D, DepthwiseConv2D, FullyConnected and Add layers");
                }
                if (op is null)
                    throw new ConversionException($"--precision: no layer '{name}'; the layers are {string.Join(", ", layers.Take(12).Select(l => LayerName(g, l)))}{(layers.Count > 12 ? ", ..." : "")}");
                if (!Supports(op, p)) throw new ConversionException($"--precision: layer '{name}' ({op.Type}) has no weights to store as {Text(p)}");
                targets = [op];
            }
            foreach (var t in targets) result[t] = p;
        }
        return result;
    }

    /// <summary>
    /// Calibrates <paramref name="model"/> once (range equalization, ranges, int8 quantization and bias correction
    /// as <see cref="ModelConverter.Convert(LoadedModel, ModelInputs?, ConvertOptions?)"/> does) and returns the
    /// context that builds any assignment's blob.
    /// </summary>
    public static MixedPrecisionContext Prepare(LoadedModel model, ModelInputs calibration, ConvertOptions? options = null)
    {
        options ??= new ConvertOptions();
        if (QdqQuantization.AnnotationsOf(model) is not null)
            throw new ConversionException("mixed precision needs a float model; this is a QDQ model whose quantization is fixed");
        if (options.Weights != WeightEncoding.Int8 || options.Prune > 0 || options.PruneChannels > 0 || options.Rounding != RoundingMode.Nearest)
            throw new ConversionException("mixed precision chooses weight encodings per layer; it cannot be combined with --weights, --rounding or --prune");
        var samples = calibration.ToPhysical(model);
        if (options.Equalize) RangeEqualization.Apply(model.Ir, samples.Take(ModelConverter.EqualizationSamples).ToList());
        var ranges = Calibrator.Calibrate(model.Ir, samples, options.Method, options.Progress, out _);
        return new MixedPrecisionContext(model, ranges, samples, options);
    }
}

/// <summary>
/// One calibrated model from which mixed-precision blobs are built (<see cref="MixedPrecision.Prepare"/>). The int8
/// quantization, and each weight encoding's, is computed once (with bias correction) and shared by every build.
/// </summary>
public sealed class MixedPrecisionContext
{
    private readonly Dictionary<WeightEncoding, QuantizedGraph> _graphs = [];

    internal MixedPrecisionContext(LoadedModel model, IReadOnlyDictionary<IrTensor, Calibration.Range> ranges, List<float[]> samples, ConvertOptions options)
    {
        Model = model;
        Ranges = ranges;
        Samples = samples;
        Options = options;
    }

    public LoadedModel Model { get; }
    public IReadOnlyDictionary<IrTensor, Calibration.Range> Ranges { get; }
    /// <summary>The calibration samples in physical order.</summary>
    public List<float[]> Samples { get; }
    public ConvertOptions Options { get; }
    /// <summary>The layers a precision applies to.</summary>
    public List<IrOp> Layers => MixedPrecision.Layers(Model.Ir);

    /// <summary>The whole graph quantized with <paramref name="encoding"/> weights and bias-corrected (cached).</summary>
    public QuantizedGraph Quantized(WeightEncoding encoding = WeightEncoding.Int8)
    {
        if (_graphs.TryGetValue(encoding, out var q)) return q;
        q = QuantizedGraph.Quantize(Model.Ir, Ranges, new QuantizationOptions { PerChannel = Options.PerChannel, Weights = encoding });
        if (Options.BiasCorrection) BiasCorrection.Apply(q, Samples.Take(ModelConverter.BiasCorrectionSamples).ToList());
        return _graphs[encoding] = q;
    }

    /// <summary>Builds the blob of <paramref name="assignment"/> (layers it does not name are int8) and measures its cost.</summary>
    public MixedPrecisionBuild Build(IReadOnlyDictionary<IrOp, LayerPrecision> assignment)
    {
        var sources = new Dictionary<IrOp, QuantizedGraph>();
        foreach (var (op, p) in assignment)
        {
            var enc = p switch { LayerPrecision.Int4 => WeightEncoding.Int4, LayerPrecision.Codebook4 => WeightEncoding.Codebook4, LayerPrecision.Codebook8 => WeightEncoding.Codebook8, _ => WeightEncoding.Int8 };
            if (enc != WeightEncoding.Int8) sources[op] = Quantized(enc);
        }
        var q = sources.Count == 0 ? Quantized() : Quantized().WithOpsFrom(sources);
        var full = new Dictionary<IrOp, LayerPrecision>();
        foreach (var l in Layers) full[l] = assignment.TryGetValue(l, out var p) ? p : LayerPrecision.Int8;
        var blob = MixedPacker.Pack(q, Ranges, full, Metadata(full), out var cost);
        return new MixedPrecisionBuild(blob, cost, full);
    }

    private Dictionary<string, string> Metadata(IReadOnlyDictionary<IrOp, LayerPrecision> assignment)
    {
        var m = Model;
        var meta = new Dictionary<string, string>
        {
            ["converter"] = "edgequant " + ModelConverter.Version,
            ["source_model"] = Path.GetFileName(m.Path),
            ["source_sha256"] = Convert.ToHexString(SHA256.HashData(m.Bytes)).ToLowerInvariant(),
            ["calibration"] = $"{Options.Method.ToString().ToLowerInvariant()}, {Samples.Count} samples",
            ["weights"] = "mixed precision (per layer)",
            ["precision"] = string.Join(",", assignment.Where(kv => kv.Value != LayerPrecision.Int8).Select(kv => $"{MixedPrecision.LayerName(m.Ir, kv.Key)}={MixedPrecision.Text(kv.Value)}")),
            ["input_shape"] = string.Join(",", m.InputSourceShape),
            ["output_shape"] = string.Join(",", m.Ir.SourceShapes[m.Output]),
        };
        if (Options.Labels is { Count: > 0 }) meta["labels"] = string.Join("\n", Options.Labels);
        return meta;
    }
}
