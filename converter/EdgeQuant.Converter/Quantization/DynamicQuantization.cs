using System.Security.Cryptography;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>What <see cref="DynamicQuantization.Convert"/> produced.</summary>
public sealed class DynamicConversionResult
{
    public required LoadedModel Source { get; init; }
    public required byte[] Blob { get; init; }
    /// <summary>Bytes of int8 weights, float biases and scales together.</summary>
    public required int WeightBytes { get; init; }
    public required int DynamicOps { get; init; }
    public required int FloatOps { get; init; }
}

/// <summary>
/// Dynamic quantization (<c>edgequant convert --dynamic</c>): no calibration data. Convolution and
/// fully-connected weights become symmetric int8 (per output channel by default, the same rounding
/// as static quantization); biases and every activation stay float32; each dynamic op quantizes its
/// float input per inference from the input's observed range (ONNX DynamicQuantizeLinear, uint8),
/// sums integer products and rescales to float (docs/compression.md). Pools, global averages,
/// additions and transposes between them run in float (MaxPool2DF32, MeanF32, AddF32, TransposeF32).
/// </summary>
public static class DynamicQuantization
{
    public static DynamicConversionResult Convert(LoadedModel model, ConvertOptions? options = null)
    {
        options ??= new ConvertOptions();
        var g = model.Ir;
        var w = new ModelWriter();
        var index = new Dictionary<IrTensor, int>();
        int weightBytes = 0, dynamicOps = 0, floatOps = 0;

        int Tensor(IrTensor t, IrOp user)
        {
            if (index.TryGetValue(t, out int i)) return i;
            if (t.IsConstant)
            {
                if (user.Type != OpType.Add) throw new ConversionException($"node '{user.Name}' ({user.Type}): a constant input is not supported with --dynamic");
                i = w.AddConstant<float>(TensorType.Float32, t.Shape, t.Data, -1);
            }
            else i = w.AddActivation(TensorType.Float32, t.Shape, -1);
            index[t] = i;
            return i;
        }

        foreach (var t in g.Inputs) index[t] = w.AddActivation(TensorType.Float32, t.Shape, -1);
        foreach (var op in g.Ops)
        {
            int x = Tensor(op.Inputs[0], op);
            int y = Tensor(op.Output, op);
            float min = op.ActivationMin, max = op.ActivationMax;
            switch (op.Type)
            {
                case OpType.Conv2D:
                case OpType.DepthwiseConv2D:
                case OpType.FullyConnected:
                {
                    bool dw = op.Type == OpType.DepthwiseConv2D;
                    int cout = dw ? op.WeightShape[3] : op.WeightShape[0];
                    var (codes, scales) = QuantizeWeights(op, cout, options.PerChannel);
                    int wq = w.AddQuantization(scales, 0, scales.Length == 1 ? -1 : dw ? 3 : 0);
                    int wt = w.AddConstant<sbyte>(TensorType.Int8, op.WeightShape, codes, wq);
                    int bt = w.AddConstant<float>(TensorType.Float32, [cout], op.Bias, -1);
                    weightBytes += codes.Length + 4 * cout + 4 * scales.Length;
                    int scratch = op.Inputs[0].ElementCount;
                    if (op.Type == OpType.FullyConnected)
                    {
                        w.AddOp(OpType.DynamicFullyConnected, [x, wt, bt], [y], new FloatClampParams { Min = min, Max = max }, scratch);
                    }
                    else
                    {
                        var p = new DynamicConvParams
                        {
                            StrideH = op.StrideH, StrideW = op.StrideW, DilationH = op.DilationH, DilationW = op.DilationW,
                            PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                            DepthMultiplier = op.DepthMultiplier, ActivationMin = min, ActivationMax = max,
                        };
                        w.AddOp(dw ? OpType.DynamicDepthwiseConv2D : OpType.DynamicConv2D, [x, wt, bt], [y], p, scratch);
                    }
                    dynamicOps++;
                    break;
                }
                case OpType.MaxPool2D:
                    RequireNoClamp(op);
                    w.AddOp(OpType.MaxPool2DF32, [x], [y], new PoolParams
                    {
                        StrideH = op.StrideH, StrideW = op.StrideW, FilterH = op.KernelH, FilterW = op.KernelW,
                        PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                        ActivationMin = -128, ActivationMax = 127,
                    });
                    floatOps++;
                    break;
                case OpType.Mean:
                    RequireNoClamp(op);
                    w.AddOp(OpType.MeanF32, [x], [y]);
                    floatOps++;
                    break;
                case OpType.Add:
                    w.AddOp(OpType.AddF32, [x, Tensor(op.Inputs[1], op)], [y], new FloatClampParams { Min = min, Max = max });
                    floatOps++;
                    break;
                case OpType.Reshape:
                    w.AddOp(OpType.Reshape, [x], [y]);
                    break;
                case OpType.Transpose:
                    w.AddOp(OpType.TransposeF32, [x], [y], new TransposeParams { Perm0 = op.Perm[0], Perm1 = op.Perm[1], Perm2 = op.Perm[2], Perm3 = op.Perm[3] });
                    floatOps++;
                    break;
                default:
                    throw new ConversionException(
                        $"node '{op.Name}' ({op.Type}) is not supported with --dynamic; supported: Conv2D, DepthwiseConv2D, FullyConnected (dynamically quantized), MaxPool2D, Mean, Add, Reshape, Transpose (float)");
            }
        }
        foreach (var t in g.Inputs) w.AddInput(g.IoNames[t], index[t], g.Layouts[t]);
        foreach (var t in g.Outputs) w.AddOutput(g.IoNames[t], index[t], g.Layouts[t]);

        var meta = new Dictionary<string, string>
        {
            ["converter"] = "edgequant " + ModelConverter.Version,
            ["source_model"] = Path.GetFileName(model.Path),
            ["source_sha256"] = System.Convert.ToHexString(SHA256.HashData(model.Bytes)).ToLowerInvariant(),
            ["calibration"] = "none: dynamic quantization (activations quantized per inference, uint8 per tensor)",
            ["weights"] = options.PerChannel ? "per-channel symmetric int8" : "per-tensor symmetric int8",
            ["input_shape"] = string.Join(",", model.InputSourceShape),
            ["output_shape"] = string.Join(",", g.SourceShapes[model.Output]),
        };
        if (options.Labels is { Count: > 0 }) meta["labels"] = string.Join("\n", options.Labels);
        foreach (var (k, v) in meta) w.SetMetadata(k, v);
        return new DynamicConversionResult { Source = model, Blob = w.Build(), WeightBytes = weightBytes, DynamicOps = dynamicOps, FloatOps = floatOps };
    }

    private static void RequireNoClamp(IrOp op)
    {
        if (!float.IsNegativeInfinity(op.ActivationMin) || !float.IsPositiveInfinity(op.ActivationMax))
            throw new ConversionException($"node '{op.Name}' ({op.Type}): a fused activation on this op is not supported with --dynamic");
    }

    /// <summary>Symmetric int8 weights in [−127, 127], scale max|w| / 127 per output channel (or per tensor), rounding half away from zero: as static quantization.</summary>
    internal static (sbyte[] Codes, float[] Scales) QuantizeWeights(IrOp op, int cout, bool perChannel)
    {
        var w = op.Weights!;
        int per = w.Length / cout;
        bool dw = op.Type == OpType.DepthwiseConv2D;
        var max = new float[cout];
        float global = 0;
        for (int k = 0; k < w.Length; k++)
        {
            int c = dw ? k % cout : k / per;
            if (!float.IsFinite(w[k])) throw new ConversionException($"node '{op.Name}' ({op.Type}): weights hold non-finite values (NaN or infinity); they cannot be quantized");
            max[c] = Math.Max(max[c], Math.Abs(w[k]));
            global = Math.Max(global, max[c]);
        }
        foreach (float b in op.Bias!)
            if (!float.IsFinite(b)) throw new ConversionException($"node '{op.Name}' ({op.Type}): the bias holds non-finite values (NaN or infinity)");
        var scales = new float[perChannel ? cout : 1];
        for (int c = 0; c < scales.Length; c++)
        {
            float m = perChannel ? max[c] : global;
            scales[c] = m > 0 ? m / 127f : 1f;
        }
        var codes = new sbyte[w.Length];
        for (int k = 0; k < w.Length; k++)
        {
            int c = perChannel ? (dw ? k % cout : k / per) : 0;
            codes[k] = (sbyte)Math.Clamp((int)MathF.Round(w[k] / scales[c], MidpointRounding.AwayFromZero), -127, 127);
        }
        return (codes, scales);
    }
}
