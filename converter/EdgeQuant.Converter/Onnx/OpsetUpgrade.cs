namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// Brings nodes of models written against default-domain opsets 1 to 6 into the opset-7 form the
/// rest of the converter understands, at import, in this one place. What changes before opset 7:
/// <list type="bullet">
/// <item>every op: the <c>consumed_inputs</c> attribute (an in-place hint) is dropped;</item>
/// <item>Add, Sub, Mul, Div, Pow, comparison and logical ops: legacy broadcasting
/// (<c>broadcast=1</c>, optional <c>axis</c>) becomes NumPy broadcasting by giving B trailing
/// dimensions of size 1 (reshaping a constant B, or unsqueezing a runtime one);</item>
/// <item>PRelu: a slope of C values applies per channel (axis 1): it is given shape [C, 1, ...];</item>
/// <item>Gemm: the <c>broadcast</c> attribute goes (C broadcasts unidirectionally from opset 7);</item>
/// <item>BatchNormalization and Dropout: <c>is_test</c> goes; BatchNormalization with
/// <c>is_test=0</c> (training statistics) is refused;</item>
/// <item>Reshape before opset 5: the <c>shape</c> attribute becomes the second input;</item>
/// <item>Pad at opset 1: <c>paddings</c> is renamed <c>pads</c>;</item>
/// <item>Cast before opset 6: <c>to</c> given as a type name becomes the type code;</item>
/// <item>Concat before opset 4: a missing <c>axis</c> means 1;</item>
/// <item>Upsample's experimental form: <c>height_scale</c>/<c>width_scale</c> become <c>scales</c>
/// [1, 1, h, w] and mode <c>bilinear</c> becomes <c>linear</c>.</item>
/// </list>
/// Attributes that later became inputs in opset 7 and above (Pad's pads, Clip's min/max, Slice's
/// starts/ends, Unsqueeze's axes, ...) keep their opset-7 form: the ops read them by opset.
/// </summary>
internal sealed class OpsetUpgrade
{
    /// <summary>The opset that models older than it are brought to.</summary>
    public const int TargetOpset = 7;

    private static readonly HashSet<string> LegacyBroadcastOps = new(StringComparer.Ordinal)
    {
        "Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor", "Equal", "Greater", "Less",
    };

    /// <summary>Ops whose first output has the rank of their first input (for finding ranks of legacy-broadcast operands).</summary>
    private static readonly HashSet<string> RankPreservingOps = new(StringComparer.Ordinal)
    {
        "Abs", "AveragePool", "BatchNormalization", "Cast", "Clip", "Conv", "ConvTranspose", "Dropout", "Elu", "Erf",
        "Exp", "HardSigmoid", "HardSwish", "Identity", "InstanceNormalization", "LeakyRelu", "Log", "LogSoftmax", "LRN",
        "MaxPool", "Neg", "Pad", "PRelu", "Reciprocal", "Relu", "Selu", "Sigmoid", "Softmax", "Softplus", "Softsign",
        "Sqrt", "Tanh", "Transpose",
    };

    private readonly OnnxGraph _graph;
    private readonly Dictionary<string, int> _declaredRanks;
    private readonly List<(OnnxNode Node, long Axis)> _legacyAxis = [];
    private readonly List<OnnxNode> _legacySlopes = [];

    /// <param name="graph">The graph being imported (its initializers receive converted attributes).</param>
    /// <param name="sourceOpset">The default-domain opset the model declares.</param>
    /// <param name="declaredRanks">Ranks the model declares for values (graph inputs, outputs, value_info).</param>
    public OpsetUpgrade(OnnxGraph graph, int sourceOpset, Dictionary<string, int> declaredRanks)
    {
        _graph = graph;
        SourceOpset = sourceOpset;
        _declaredRanks = declaredRanks;
    }

    /// <summary>The opset the model declares.</summary>
    public int SourceOpset { get; }

    /// <summary>True when the model's nodes need rewriting.</summary>
    public bool IsNeeded => SourceOpset < TargetOpset;

    /// <summary>The opset the imported graph's nodes follow after the upgrade.</summary>
    public static int EffectiveOpset(int sourceOpset) => Math.Max(sourceOpset, TargetOpset);

    /// <summary>Rewrites one node (before validation). Legacy broadcasting along an axis waits for <see cref="Finish"/>.</summary>
    public void Upgrade(OnnxNode node)
    {
        if (!IsNeeded)
        {
            return;
        }

        node.RemoveAttribute("consumed_inputs");
        if (LegacyBroadcastOps.Contains(node.OpType))
        {
            long broadcast = node.GetInt("broadcast", 0);
            long? axis = node.HasAttribute("axis") ? node.GetInt("axis") : null;
            node.RemoveAttribute("broadcast");
            node.RemoveAttribute("axis");

            // Without an axis, B is matched against A's trailing dimensions: exactly NumPy's rule.
            if (broadcast != 0 && axis is not null)
            {
                _legacyAxis.Add((node, axis.Value));
            }

            return;
        }

        switch (node.OpType)
        {
            case "PRelu":
                _legacySlopes.Add(node);
                break;
            case "Gemm":
                node.RemoveAttribute("broadcast");
                break;
            case "BatchNormalization":
                if (node.GetInt("is_test", 0) == 0)
                {
                    throw node.Error($"attribute is_test=0 (opset {SourceOpset}) asks for training-mode statistics; supported: is_test=1 (inference)");
                }

                node.RemoveAttribute("is_test");
                break;
            case "Dropout":
                // Inference is all the converter does: Dropout is the identity whatever is_test says.
                node.RemoveAttribute("is_test");
                break;
            case "Reshape":
                if (node.HasAttribute("shape") && !node.HasInput(1))
                {
                    string name = _graph.MakeUniqueName(node.Name + "_shape");
                    long[] shape = node.GetInts("shape");
                    _graph.Initializers[name] = OnnxTensor.FromInt64s([shape.Length], shape);
                    while (node.Inputs.Count < 1)
                    {
                        node.Inputs.Add("");
                    }

                    if (node.Inputs.Count == 1)
                    {
                        node.Inputs.Add(name);
                    }
                    else
                    {
                        node.Inputs[1] = name;
                    }
                }

                node.RemoveAttribute("shape");
                break;
            case "Pad":
                if (node.HasAttribute("paddings") && !node.HasAttribute("pads"))
                {
                    node.SetAttribute(OnnxAttribute.FromInts("pads", node.GetInts("paddings")));
                }

                node.RemoveAttribute("paddings");
                break;
            case "Cast":
                if (node.Attributes.TryGetValue("to", out var to) && to.Type == OnnxAttributeType.String)
                {
                    node.SetAttribute(OnnxAttribute.FromInt("to", TypeCode(node, to.String)));
                }

                break;
            case "Concat":
                if (!node.HasAttribute("axis"))
                {
                    node.SetAttribute(OnnxAttribute.FromInt("axis", 1));
                }

                break;
            case "Upsample":
                // The experimental opset-1 form scales H and W of an NCHW input; opset 7 takes scales for every axis.
                if (!node.HasAttribute("scales") && (node.HasAttribute("height_scale") || node.HasAttribute("width_scale")))
                {
                    float h = node.GetFloat("height_scale", 1f), w = node.GetFloat("width_scale", 1f);
                    node.SetAttribute(OnnxAttribute.FromFloats("scales", [1f, 1f, h, w]));
                }

                node.RemoveAttribute("height_scale");
                node.RemoveAttribute("width_scale");
                if (node.GetString("mode", "nearest") == "bilinear")
                {
                    node.SetAttribute(OnnxAttribute.FromString("mode", "linear"));
                }

                break;
        }
    }

    /// <summary>
    /// Turns legacy broadcasting along an axis into NumPy broadcasting, once every node is in
    /// the graph (A's rank may come from the node producing it).
    /// </summary>
    public void Finish()
    {
        foreach (var (node, axis) in _legacyAxis)
        {
            if (!node.HasInput(1))
            {
                continue;
            }

            int rankA = RankOf(node.Inputs[0], 0)
                ?? throw node.Error($"uses legacy broadcasting with axis={axis} (opset {SourceOpset}), but the rank of input '{node.Inputs[0]}' cannot be determined; declare its shape in the model's value_info or re-export at opset 7 or later");
            string b = node.Inputs[1];
            int rankB = RankOf(b, 0)
                ?? throw node.Error($"uses legacy broadcasting with axis={axis} (opset {SourceOpset}), but the rank of input '{b}' cannot be determined; declare its shape in the model's value_info or re-export at opset 7 or later");
            long start = axis < 0 ? axis + rankA : axis;
            if (start < 0 || start + rankB > rankA)
            {
                throw node.Error($"legacy broadcasting of input '{b}' (rank {rankB}) at axis={axis} does not fit input '{node.Inputs[0]}' (rank {rankA})");
            }

            int trailing = (int)(rankA - start - rankB);
            if (trailing == 0)
            {
                continue;
            }

            if (_graph.Initializers.TryGetValue(b, out var constant))
            {
                int[] shape = [.. constant.Shape, .. Enumerable.Repeat(1, trailing)];
                string name = _graph.MakeUniqueName(b + "_broadcast");
                _graph.Initializers[name] = constant.IsFloat
                    ? OnnxTensor.FromData(shape, constant.Floats!, null, constant.DataType)
                    : OnnxTensor.FromInt64s(shape, constant.Int64s!, constant.DataType);
                node.Inputs[1] = name;
            }
            else
            {
                string name = _graph.MakeUniqueName(b + "_broadcast");
                var axes = new long[trailing];
                for (int i = 0; i < trailing; i++)
                {
                    axes[i] = rankB + i;
                }

                var unsqueeze = new OnnxNode(_graph.MakeUniqueName(node.Name + "_legacy_broadcast"), "Unsqueeze", [b], [name], [OnnxAttribute.FromInts("axes", axes)]);
                _graph.Nodes.Insert(_graph.Nodes.IndexOf(node), unsqueeze);
                node.Inputs[1] = name;
                _declaredRanks[name] = rankA - (int)start;
            }
        }

        _legacyAxis.Clear();

        // Before opset 7 a PRelu slope of C values is per channel (axis 1), as PyTorch exports it.
        foreach (var node in _legacySlopes)
        {
            if (!node.HasInput(1) || !_graph.Initializers.TryGetValue(node.Inputs[1], out var slope)
                || slope.Shape.Length != 1 || slope.ElementCount == 1 || RankOf(node.Inputs[0], 0) is not int rank || rank < 3)
            {
                continue;
            }

            int[] shape = [slope.ElementCount, .. Enumerable.Repeat(1, rank - 2)];
            string name = _graph.MakeUniqueName(node.Inputs[1] + "_per_channel");
            _graph.Initializers[name] = OnnxTensor.FromData(shape, slope.Floats, slope.Int64s, slope.DataType);
            node.Inputs[1] = name;
        }

        _legacySlopes.Clear();
    }

    /// <summary>The rank of a value from the model's declarations, or by following rank-preserving ops back; null when unknown.</summary>
    private int? RankOf(string value, int depth)
    {
        if (_graph.Initializers.TryGetValue(value, out var t))
        {
            return t.Shape.Length;
        }

        if (_declaredRanks.TryGetValue(value, out int rank))
        {
            return rank;
        }

        if (depth > 64 || _graph.Producer(value) is not { } producer || producer.Inputs.Count == 0)
        {
            return null;
        }

        if (RankPreservingOps.Contains(producer.OpType) || LegacyBroadcastOps.Contains(producer.OpType))
        {
            int? best = null;
            int count = LegacyBroadcastOps.Contains(producer.OpType) ? producer.Inputs.Count : 1;
            for (int i = 0; i < count; i++)
            {
                if (producer.Inputs[i].Length > 0 && RankOf(producer.Inputs[i], depth + 1) is int r)
                {
                    best = Math.Max(best ?? 0, r);
                }
                else
                {
                    return null;
                }
            }

            return best;
        }

        return null;
    }

    private static long TypeCode(OnnxNode node, string name)
    {
        for (int code = 1; code <= 16; code++)
        {
            if (string.Equals(OnnxDataTypes.Name(code), name, StringComparison.OrdinalIgnoreCase))
            {
                return code;
            }
        }

        throw node.Error($"attribute to='{name}' is not an ONNX data type name");
    }
}
