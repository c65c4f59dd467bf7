using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>Quantization parameters a model fixes itself, consulted by <see cref="QuantizedGraph.Quantize"/>.</summary>
public interface IFixedQuantization
{
    /// <summary>The fixed quantization of activation <paramref name="t"/>, if the model gives one.</summary>
    bool TryActivation(IrTensor t, out ActivationQuant quant);

    /// <summary>
    /// The fixed per-output-channel weight scales of a Conv2D / DepthwiseConv2D / FullyConnected
    /// op, and its int32 bias codes when the model stores them (null otherwise).
    /// </summary>
    bool TryWeights(IrOp op, out float[] scales, out long[]? biasCodes);
}

/// <summary>
/// The quantization of a QDQ model (<see cref="QdqPatterns"/>) mapped onto its lowered graph.
/// Activations: a lowered tensor takes the parameters of its ONNX value; a layout view the
/// lowering inserted (NHWC transposes, 1-D convolutions viewed as 2-D, reshapes) takes those of
/// the value it is a view of. Weights: the scales of the DequantizeLinear that produced the node's
/// weight initializer, per output channel; codes are recovered from the dequantized floats (exact:
/// they lie on the scale's grid, checked). Bias: the int32 codes of a dequantized bias when they
/// agree with the float bias (a bias changed by a graph pass is requantized from its float value).
/// </summary>
public sealed class QdqQuantization : IFixedQuantization
{
    private readonly QdqAnnotations _a;
    private readonly IrGraph _ir;
    private readonly Dictionary<string, OnnxNode> _nodes = new(StringComparer.Ordinal);

    public QdqQuantization(LoadedModel model, QdqAnnotations annotations)
    {
        _a = annotations;
        _ir = model.Ir;
        foreach (var n in model.Onnx.Nodes) _nodes.TryAdd(n.Name, n);
    }

    /// <summary>The annotations of <paramref name="model"/>, or null when it is not a QDQ model.</summary>
    public static QdqAnnotations? AnnotationsOf(LoadedModel model) => QdqPatterns.Of(model.Onnx) is { IsQdq: true } a ? a : null;

    public bool TryActivation(IrTensor t, out ActivationQuant quant)
    {
        var found = Resolve(t, 0);
        quant = found is null ? default : new ActivationQuant(found.Scale, found.ZeroPoint);
        return found is not null;
    }

    private QdqActivation? Resolve(IrTensor t, int depth)
    {
        if (_a.Activations.TryGetValue(t.Name, out var q)) return q;
        if (depth < 8)
        {
            // A view consumed only by layout ops that do not requantize: take what they end in.
            var users = _ir.Ops.Where(o => o.Inputs.Contains(t)).ToList();
            if (users.Count > 0 && users.TrueForAll(o => o.Type is OpType.Reshape or OpType.Transpose))
            {
                QdqActivation? common = null;
                foreach (var u in users)
                {
                    var r = Resolve(u.Output, depth + 1);
                    if (r is null || (common is not null && (common.Scale != r.Scale || common.ZeroPoint != r.ZeroPoint))) { common = null; break; }
                    common = r;
                }
                if (common is not null) return common;
            }
        }
        int hash = t.Name.IndexOf('#');
        return hash > 0 && _a.Activations.TryGetValue(t.Name[..hash], out var b) ? b : null;
    }

    public bool TryWeights(IrOp op, out float[] scales, out long[]? biasCodes)
    {
        scales = [];
        biasCodes = null;
        if (!_nodes.TryGetValue(op.Name, out var n) || n.OpType is not ("Conv" or "Gemm" or "MatMul")) return false;
        if (!_a.Constants.TryGetValue(n.InputOrEmpty(1), out var w)) return false;
        int cout = op.Type == OpType.DepthwiseConv2D ? op.WeightShape[3] : op.WeightShape[0];
        int axis = n.OpType switch
        {
            "Conv" => 0,
            "Gemm" => n.GetInt("transB", 0) != 0 ? 0 : 1,
            _ => 1,
        };
        if (w.Axis >= 0 && w.Axis != axis)
            throw n.Error($"its weights '{n.Inputs[1]}' are quantized along axis {w.Axis} by '{w.Node}'; supported: per tensor or per output channel (axis {axis})");
        if (w.Type == OnnxDataType.Int32) throw n.Error($"its weights '{n.Inputs[1]}' are INT32 codes; supported: INT8, UINT8");
        long symmetric = w.Type == OnnxDataType.UInt8 ? 128 : 0;
        foreach (long z in w.ZeroPoints)
            if (z != symmetric)
                throw n.Error($"its weights '{n.Inputs[1]}' have zero point {z} ({OnnxDataTypes.Name(w.Type)}, '{w.Node}'); EdgeQuant weights are symmetric: supported zero point {symmetric}");
        if (w.Scales.Length != 1 && w.Scales.Length != cout)
            throw n.Error($"its weights have {w.Scales.Length} scales for {cout} output channels");
        scales = new float[cout];
        for (int c = 0; c < cout; c++) scales[c] = w.Scales.Length == 1 ? w.Scales[0] : w.Scales[c];

        if (n.OpType != "MatMul" && _a.Constants.TryGetValue(n.InputOrEmpty(2), out var b)
            && b.Type == OnnxDataType.Int32 && Array.TrueForAll(b.ZeroPoints, z => z == 0) && (b.Codes.Length == cout || b.Codes.Length == 1))
        {
            biasCodes = new long[cout];
            for (int c = 0; c < cout; c++) biasCodes[c] = b.Codes.Length == 1 ? b.Codes[0] : b.Codes[c];
        }
        return true;
    }

    /// <summary>
    /// The int8 codes of weights that a DequantizeLinear produced with <paramref name="fixedScales"/>:
    /// each float weight divided by its channel's scale is an integer up to float rounding. A weight
    /// off that grid means a pass changed the weights after dequantization (BatchNormalization
    /// folding, Gemm's alpha), and the model's scales no longer describe them: an error naming the node.
    /// </summary>
    internal static void WeightCodes(IrOp op, float[] w, float[] fixedScales, float[] scales, sbyte[] codes, int cout, int per, Func<int, int, int> index)
    {
        if (fixedScales.Length != cout) throw new ConversionException($"node '{op.Name}' ({op.Type}): {fixedScales.Length} weight scales for {cout} output channels");
        for (int c = 0; c < cout; c++)
        {
            scales[c] = fixedScales[c];
            for (int i = 0; i < per; i++)
            {
                int k = index(c, i);
                double v = (double)w[k] / scales[c];
                double r = Math.Round(v, MidpointRounding.ToEven);
                if (Math.Abs(v - r) > 1e-3 || r < -128 || r > 127)
                    throw new ConversionException(
                        $"node '{op.Name}' ({op.Type}): weight {k} ({w[k]}) is not an int8 multiple of its DequantizeLinear scale {scales[c]} (channel {c}); a pass changed the dequantized weights (BatchNormalization folded into a QDQ convolution, Gemm alpha), so the model's weight quantization cannot be kept");
                codes[k] = (sbyte)r;
            }
        }
    }

    /// <summary>The model's bias code when the float bias still is that code (within float rounding), else the code from the float value.</summary>
    internal static int BiasCode(int fromFloat, long fixedCode) =>
        Math.Abs(fromFloat - fixedCode) <= 2 && fixedCode > int.MinValue && fixedCode <= int.MaxValue ? (int)fixedCode : fromFloat;

    /// <summary>
    /// Checks, after quantization, that every activation the model quantizes got exactly that
    /// quantization. Ops that keep their input's quantization (pools, reshapes, transposes, pads)
    /// or have a fixed one (Softmax, Logistic, Tanh) cannot honour a different one.
    /// </summary>
    public void Verify(QuantizedGraph q)
    {
        foreach (var op in _ir.Ops)
        {
            if (!TryActivation(op.Output, out var want)) continue;
            var got = q.Activations[op.Output];
            if (got.Scale != want.Scale || got.ZeroPoint != want.ZeroPoint)
                throw new ConversionException(
                    $"node '{op.Name}' ({op.Type}): the model quantizes its output '{op.Output.Name}' with scale {want.Scale:G9}, zero point {want.ZeroPoint} (int8), but the int8 {op.Type} produces scale {got.Scale:G9}, zero point {got.ZeroPoint} (it keeps its input's quantization or has a fixed one); EdgeQuant cannot requantize there");
        }
    }

    /// <summary>
    /// The activations whose quantization the int8 graph needs from a range (inputs and the outputs
    /// of requantizing ops) but the model does not give: a QDQ model converted without calibration
    /// data must give them all.
    /// </summary>
    public List<(IrTensor Tensor, string Producer)> Missing()
    {
        var missing = new List<(IrTensor, string)>();
        foreach (var t in _ir.Inputs)
            if (!TryActivation(t, out _)) missing.Add((t, "graph input"));
        foreach (var op in _ir.Ops)
        {
            if (op.Type is OpType.MaxPool2D or OpType.AveragePool2D or OpType.Reshape or OpType.Transpose or OpType.Pad
                or OpType.Softmax or OpType.Logistic or OpType.Tanh) continue;
            if (!TryActivation(op.Output, out _)) missing.Add((op.Output, $"node '{op.Name}' ({op.Type})"));
        }
        return missing;
    }
}
