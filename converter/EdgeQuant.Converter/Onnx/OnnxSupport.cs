namespace EdgeQuant.Converter.Onnx;

/// <summary>
/// What the converter accepts: operator set range, op types, and per-op attribute limits.
/// The importer rejects anything else with a <see cref="ConversionException"/> that names the
/// node, the op, what is unsupported and what is supported.
/// </summary>
public static class OnnxSupport
{
    /// <summary>Lowest default-domain opset accepted (1 to 6 are brought to the opset-7 form at import by <see cref="OpsetUpgrade"/>).</summary>
    public const int MinOpset = 1;

    /// <summary>Highest default-domain opset accepted.</summary>
    public const int MaxOpset = 21;

    /// <summary>Ops that compute on runtime data and remain in the graph after simplification.</summary>
    public static IReadOnlyList<string> ComputeOps { get; } =
    [
        "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Dropout",
        "Flatten", "Gemm", "GlobalAveragePool", "Identity", "LeakyRelu", "MatMul", "MaxPool", "Mul",
        "Pad", "ReduceMean", "ReduceMax", "ReduceSum", "GlobalMaxPool", "PRelu", "Resize", "Upsample", "Split",
        "DepthToSpace", "SpaceToDepth", "ConvTranspose", "Gather", "Slice", "LayerNormalization", "InstanceNormalization", "LogSoftmax", "Relu", "Reshape", "Sigmoid", "Softmax", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
        "ArgMax", "GRU", "LSTM",
        "Abs", "Elu", "Erf", "HardSigmoid", "HardSwish", "Neg", "Selu", "Softplus", "Softsign",
    ];

    /// <summary>Ops accepted only when they fold to constants at conversion time (shape arithmetic exporters emit).</summary>
    public static IReadOnlyList<string> ConstantSubgraphOps { get; } =
    [
        "Cast", "Constant", "ConstantOfShape", "Expand", "Range", "Shape",
    ];

    /// <summary>Every supported op type, sorted, comma separated (for error messages).</summary>
    public static string SupportedOpList { get; } = string.Join(", ", ComputeOps.Concat(ConstantSubgraphOps).Order(StringComparer.Ordinal));

    /// <summary>True when <paramref name="opType"/> is one of <see cref="ComputeOps"/> or <see cref="ConstantSubgraphOps"/>.</summary>
    public static bool IsSupportedOp(string opType) => ComputeOps.Contains(opType) || ConstantSubgraphOps.Contains(opType);

    /// <summary>True when <paramref name="opType"/> is one of <see cref="ConstantSubgraphOps"/>.</summary>
    public static bool IsConstantSubgraphOp(string opType) => ConstantSubgraphOps.Contains(opType);

    /// <summary>Target types of Cast that are supported.</summary>
    internal const string SupportedCastTypes = "FLOAT, DOUBLE, FLOAT16, BFLOAT16, INT64, INT32, INT16, INT8, UINT32, UINT16, UINT8, BOOL";

    internal static bool IsSupportedCastTarget(long to) => to is 1 or 2 or 3 or 4 or 5 or 6 or 7 or 9 or 10 or 11 or 12 or 16;

    /// <summary>
    /// Checks the parts of a node that do not depend on shapes: op type, input count and
    /// attribute values. Throws <see cref="ConversionException"/> on the first problem.
    /// </summary>
    public static void ValidateNode(OnnxNode node, int opset)
    {
        if (!IsSupportedOp(node.OpType))
        {
            throw node.Error($"op type '{node.OpType}' is not supported; supported ops: {SupportedOpList}");
        }

        // LSTM and GRU may leave Y out and keep only the final states.
        bool anyOutput = node.Outputs.Count > 0 && (node.Outputs[0].Length > 0 || (node.OpType is "LSTM" or "GRU" && node.Outputs.Any(o => o.Length > 0)));
        if (!anyOutput)
        {
            throw node.Error("the node has no output");
        }

        int maxOutputs = node.OpType switch
        {
            "BatchNormalization" => 5,
            "Dropout" or "MaxPool" => 2,
            "Split" => int.MaxValue,
            "LayerNormalization" => 3,
            "LSTM" => 3,
            "GRU" => 2,
            _ => 1,
        };
        if (node.Outputs.Count > maxOutputs)
        {
            throw node.Error($"has {node.Outputs.Count} outputs; {node.OpType} has at most {maxOutputs}");
        }

        var (min, max) = InputCount(node.OpType, opset);
        int count = node.Inputs.Count;
        while (count > 0 && node.Inputs[count - 1].Length == 0)
        {
            count--;
        }

        if (count > max)
        {
            throw node.Error(max == min
                ? $"has {count} inputs; opset {opset} {node.OpType} takes {min}"
                : $"has {count} inputs; opset {opset} {node.OpType} takes {min} to {max}");
        }

        for (int i = 0; i < min; i++)
        {
            if (!node.HasInput(i))
            {
                throw node.Error($"required input {i} is missing");
            }
        }

        switch (node.OpType)
        {
            case "Conv":
                CheckAutoPad(node);
                CheckSpatialRank(node, node.GetIntsOrNull("kernel_shape"), required: false);
                if (node.GetInt("group", 1) < 1)
                {
                    throw node.Error($"attribute group={node.GetInt("group", 1)} must be at least 1");
                }

                break;
            case "MaxPool":
                CheckAutoPad(node);
                CheckSpatialRank(node, node.GetIntsOrNull("kernel_shape"), required: true);
                if (node.GetInt("storage_order", 0) != 0)
                {
                    throw node.Error($"attribute storage_order={node.GetInt("storage_order", 0)} is not supported; supported: 0 (row major)");
                }

                break;
            case "AveragePool":
                CheckAutoPad(node);
                CheckSpatialRank(node, node.GetIntsOrNull("kernel_shape"), required: true);
                break;
            case "Pad":
                {
                    string mode = node.GetString("mode", "constant");
                    if (mode is not ("constant" or "reflect" or "edge"))
                    {
                        throw node.Error($"attribute mode='{mode}' is not supported; supported: constant, reflect, edge");
                    }

                    if (opset < 11)
                    {
                        node.GetInts("pads");
                    }

                    break;
                }

            case "BatchNormalization":
                if (node.GetInt("training_mode", 0) != 0)
                {
                    throw node.Error($"attribute training_mode={node.GetInt("training_mode", 0)} is not supported; supported: 0 (inference)");
                }

                if (opset < 9 && node.GetInt("spatial", 1) != 1)
                {
                    throw node.Error($"attribute spatial={node.GetInt("spatial", 1)} is not supported; supported: 1");
                }

                break;
            case "Cast":
                {
                    long to = node.GetInt("to");
                    if (!IsSupportedCastTarget(to))
                    {
                        throw node.Error($"attribute to={OnnxDataTypes.Name((int)to)} is not supported; supported: {SupportedCastTypes}");
                    }

                    break;
                }

            case "Constant":
                ValidateConstant(node);
                break;
            case "ConstantOfShape":
                {
                    var value = node.GetTensorOrNull("value");
                    if (value is not null && value.ElementCount != 1)
                    {
                        throw node.Error($"attribute 'value' has {value.ElementCount} elements; expected 1");
                    }

                    break;
                }

            case "Reshape":
                if (node.GetInt("allowzero", 0) is not (0 or 1))
                {
                    throw node.Error($"attribute allowzero={node.GetInt("allowzero", 0)} is not valid; supported: 0, 1");
                }

                break;
            case "Concat":
                node.GetInt("axis");
                break;
            case "Unsqueeze":
                if (opset < 13)
                {
                    node.GetInts("axes");
                }

                break;
            case "Slice":
                if (opset < 10)
                {
                    node.GetInts("starts");
                    node.GetInts("ends");
                }

                break;
            case "Softmax":
            case "LogSoftmax":
                node.GetInt("axis", opset < 13 ? 1 : -1);
                break;
            case "Gemm":
                node.GetInt("transA", 0);
                node.GetInt("transB", 0);
                node.GetFloat("alpha", 1f);
                node.GetFloat("beta", 1f);
                break;
            case "LeakyRelu":
                node.GetFloat("alpha", 0.01f);
                break;
            case "LSTM":
            case "GRU":
                ValidateRecurrent(node);
                break;
            case "ArgMax":
                node.GetInt("axis", 0);
                if (node.GetInt("keepdims", 1) is not (0 or 1))
                {
                    throw node.Error($"attribute keepdims={node.GetInt("keepdims", 1)} is not valid; supported: 0, 1");
                }

                if (node.GetInt("select_last_index", 0) is not (0 or 1))
                {
                    throw node.Error($"attribute select_last_index={node.GetInt("select_last_index", 0)} is not valid; supported: 0, 1");
                }

                break;
            case "Clip":
                if (opset < 11)
                {
                    node.GetFloat("min", float.MinValue);
                    node.GetFloat("max", float.MaxValue);
                }

                break;
        }
    }

    /// <summary>(minimum, maximum) number of inputs of an op at an opset; trailing omitted inputs do not count.</summary>
    internal static (int Min, int Max) InputCount(string opType, int opset) => opType switch
    {
        "Conv" or "Gemm" or "ConvTranspose" => (2, 3),
        "PRelu" => (2, 2),
        "LSTM" => (3, 8),
        "GRU" => (3, 6),
        "LayerNormalization" => (2, 3),
        "InstanceNormalization" => (3, 3),
        "ReduceMax" => opset < 18 ? (1, 1) : (1, 2),
        "ReduceSum" => opset < 13 ? (1, 1) : (1, 2),
        "Split" => opset < 13 ? (1, 1) : (1, 2),
        "Resize" => opset < 11 ? (2, 2) : (1, 4),
        "Upsample" => opset < 9 ? (1, 1) : (2, 2),
        "MatMul" or "Add" or "Sub" or "Mul" or "Div" or "Reshape" or "Gather" or "Expand" => (2, 2),
        "BatchNormalization" => (5, 5),
        "Clip" => opset < 11 ? (1, 1) : (1, 3),
        "Pad" => opset < 11 ? (1, 1) : (2, opset >= 18 ? 4 : 3),
        "Dropout" => opset < 12 ? (1, 1) : (1, 3),
        "Concat" => (1, int.MaxValue),
        "Constant" => (0, 0),
        "Unsqueeze" => opset < 13 ? (1, 1) : (2, 2),
        "ReduceMean" => opset < 18 ? (1, 1) : (1, 2),
        "Squeeze" => opset < 13 ? (1, 1) : (1, 2),
        "Slice" => opset < 10 ? (1, 1) : (3, 5),
        "Range" => (3, 3),
        _ => (1, 1),
    };

    /// <summary>LSTM and GRU attributes: direction, layout, default activations, no coupled input-forget gate.</summary>
    private static void ValidateRecurrent(OnnxNode node)
    {
        string direction = node.GetString("direction", "forward");
        if (direction is not ("forward" or "reverse" or "bidirectional"))
        {
            throw node.Error($"attribute direction='{direction}' is not valid; supported: forward, reverse, bidirectional");
        }

        if (node.GetInt("layout", 0) is not (0 or 1))
        {
            throw node.Error($"attribute layout={node.GetInt("layout", 0)} is not valid; supported: 0 (sequence first), 1 (batch first)");
        }

        if (node.OpType == "LSTM" && node.GetInt("input_forget", 0) != 0)
        {
            throw node.Error($"attribute input_forget={node.GetInt("input_forget", 0)} is not supported; supported: 0 (separate input and forget gates)");
        }

        if (node.HasAttribute("clip") && !(node.GetFloat("clip") > 0))
        {
            throw node.Error($"attribute clip={node.GetFloat("clip")} must be positive");
        }

        if (node.HasAttribute("activations"))
        {
            var names = node.GetStrings("activations");
            string[] single = node.OpType == "LSTM" ? ["Sigmoid", "Tanh", "Tanh"] : ["Sigmoid", "Tanh"];
            int dirs = direction == "bidirectional" ? 2 : 1;
            bool ok = names.Length == single.Length * dirs;
            for (int i = 0; ok && i < names.Length; i++)
            {
                ok = string.Equals(names[i], single[i % single.Length], StringComparison.OrdinalIgnoreCase);
            }

            if (!ok)
            {
                throw node.Error($"attribute activations=[{string.Join(", ", names)}] is not supported; supported: the defaults ({string.Join(", ", single)} per direction)");
            }
        }

        if (node.HasAttribute("activation_alpha") || node.HasAttribute("activation_beta"))
        {
            throw node.Error("attributes activation_alpha / activation_beta are not supported; supported: the default activations, which take none");
        }
    }

    private static void CheckAutoPad(OnnxNode node)
    {
        string autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER"))
        {
            throw node.Error($"attribute auto_pad='{autoPad}' is not supported; supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
    }

    private static void CheckSpatialRank(OnnxNode node, long[]? kernelShape, bool required)
    {
        if (kernelShape is null)
        {
            if (required)
            {
                throw node.Error("required attribute 'kernel_shape' is missing");
            }

            return;
        }

        // 3-D windows run in the float executor only; lowering refuses rank-5 tensors for int8.
        if (kernelShape.Length is not (1 or 2 or 3))
        {
            throw node.Error($"kernel_shape has {kernelShape.Length} spatial dimensions; supported: 1 or 2 (inputs [N, C, W] or [N, C, H, W]; 3, [N, C, D, H, W], in the float executor only)");
        }

        foreach (long k in kernelShape)
        {
            if (k < 1)
            {
                throw node.Error($"kernel_shape [{string.Join(", ", kernelShape)}] must be positive");
            }
        }
    }

    private static void ValidateConstant(OnnxNode node)
    {
        string[] supported = ["value", "value_float", "value_floats", "value_int", "value_ints"];
        string? found = null;
        foreach (var name in node.Attributes.Keys)
        {
            if (Array.IndexOf(supported, name) >= 0)
            {
                if (found is not null)
                {
                    throw node.Error($"has both attributes '{found}' and '{name}'; exactly one value attribute is allowed");
                }

                found = name;
            }
            else if (name is "sparse_value" or "value_string" or "value_strings")
            {
                throw node.Error($"attribute '{name}' is not supported; supported: {string.Join(", ", supported)}");
            }
        }

        if (found is null)
        {
            throw node.Error($"has no value attribute; supported: {string.Join(", ", supported)}");
        }

        switch (found)
        {
            case "value":
                node.GetTensor(found);
                break;
            case "value_float":
                node.GetFloat(found);
                break;
            case "value_floats":
                node.GetFloats(found);
                break;
            case "value_int":
                node.GetInt(found);
                break;
            default:
                node.GetInts(found);
                break;
        }
    }
}
