using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Quantization;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Converter.Packing;

/// <summary>
/// Writes a mixed-precision blob: every IR op in the activation precision its layer was assigned (or that it
/// inherits), int8 ops exactly as <see cref="Packer"/> writes them, and a conversion op wherever a tensor is read
/// in another precision than the one it was written in. docs/compression.md#mixed-precision.
/// </summary>
internal static class MixedPacker
{
    internal enum Act { Int8, Int16, Float }

    public static byte[] Pack(QuantizedGraph q, IReadOnlyDictionary<IrTensor, Calibration.Range> ranges,
        IReadOnlyDictionary<IrOp, LayerPrecision> assignment, IReadOnlyDictionary<string, string> metadata, out MixedPrecisionCost cost)
    {
        var g = q.Graph;
        var w = new ModelWriter();
        var native = new Dictionary<IrTensor, Act>();
        var views = new Dictionary<(IrTensor, Act), int>();
        var scale16 = new Dictionary<IrTensor, float>();
        var opAct = Precisions(g, assignment);
        int boundary = 0;
        var shared = new Packer.SharedRecords();
        var macs = new Dictionary<string, long> { ["int8"] = 0, ["int16"] = 0, ["float"] = 0 };

        float Scale16(IrTensor t)
        {
            if (scale16.TryGetValue(t, out float s)) return s;
            var producer = g.Ops.FirstOrDefault(o => o.Output == t);
            if (producer is { Type: OpType.MaxPool2D or OpType.Reshape }) s = Scale16(producer.Inputs[0]);
            else
            {
                float m;
                if (t.IsConstant) { m = 0; foreach (float v in t.Data!) m = Math.Max(m, Math.Abs(v)); }
                else
                {
                    if (!ranges.TryGetValue(t, out var r)) throw new ConversionException($"tensor '{t.Name}' was not observed during calibration");
                    m = Math.Max(Math.Abs(r.Min), Math.Abs(r.Max));
                }
                s = m > 0 && float.IsFinite(m) ? m / 32767f : 1e-8f;
            }
            return scale16[t] = s;
        }

        int NewTensor(IrTensor t, Act a)
        {
            return a switch
            {
                Act.Int8 => w.AddActivation(TensorType.Int8, t.Shape, w.AddQuantization([q.Activations[t].Scale], q.Activations[t].ZeroPoint)),
                Act.Int16 => w.AddActivation(TensorType.Int16, t.Shape, w.AddQuantization([Scale16(t)], 0)),
                _ => w.AddActivation(TensorType.Float32, t.Shape, -1),
            };
        }

        int View(IrTensor t, Act a)
        {
            if (views.TryGetValue((t, a), out int i)) return i;
            if (t.IsConstant)
            {
                switch (a)
                {
                    case Act.Int8:
                    {
                        var (data, cq) = q.Constants[t];
                        i = w.AddConstant<sbyte>(TensorType.Int8, t.Shape, data, w.AddQuantization([cq.Scale], cq.ZeroPoint));
                        break;
                    }
                    case Act.Int16:
                    {
                        float s = Scale16(t);
                        var codes = new short[t.Data!.Length];
                        for (int k = 0; k < codes.Length; k++) codes[k] = QuantMath.QuantizeS16(t.Data[k], s);
                        i = w.AddConstant<short>(TensorType.Int16, t.Shape, codes, w.AddQuantization([s], 0));
                        break;
                    }
                    default:
                        i = w.AddConstant<float>(TensorType.Float32, t.Shape, t.Data, -1);
                        break;
                }
                return views[(t, a)] = i;
            }
            var from = native[t];
            int x = views[(t, from)];
            int y = NewTensor(t, a);
            boundary++;
            switch (from, a)
            {
                case (Act.Float, Act.Int8):
                    w.AddOp(OpType.Quantize, [x], [y], new QuantizeParams { Scale = q.Activations[t].Scale, ZeroPoint = q.Activations[t].ZeroPoint });
                    break;
                case (Act.Int8, Act.Float):
                    w.AddOp(OpType.Dequantize, [x], [y], new QuantizeParams { Scale = q.Activations[t].Scale, ZeroPoint = q.Activations[t].ZeroPoint });
                    break;
                case (Act.Float, Act.Int16):
                    w.AddOp(OpType.QuantizeS16, [x], [y], new QuantizeParams { Scale = Scale16(t) });
                    break;
                case (Act.Int16, Act.Float):
                    w.AddOp(OpType.DequantizeS16, [x], [y], new QuantizeParams { Scale = Scale16(t) });
                    break;
                default:
                {
                    // int8 <-> int16: q_out = (q_in - zp_in) x s_in / s_out + zp_out.
                    var (sIn, zIn) = from == Act.Int8 ? (q.Activations[t].Scale, q.Activations[t].ZeroPoint) : (Scale16(t), 0);
                    var (sOut, zOut) = a == Act.Int8 ? (q.Activations[t].Scale, q.Activations[t].ZeroPoint) : (Scale16(t), 0);
                    var (m, sh) = QuantMath.QuantizeMultiplier((double)sIn / sOut);
                    if (sh > 15) throw new ConversionException($"tensor '{t.Name}': the int8/int16 rescale {sIn / sOut:G4} is too large for Requantize");
                    w.AddOp(OpType.Requantize, [x], [y], new RequantizeParams { InputOffset = -zIn, OutputOffset = zOut, Multiplier = m, Shift = sh });
                    break;
                }
            }
            return views[(t, a)] = y;
        }

        // Model inputs are stored in the precision of their first reader.
        foreach (var t in g.Inputs)
        {
            var reader = g.Ops.FirstOrDefault(o => o.Inputs.Contains(t));
            var a = reader is null ? Act.Int8 : opAct[reader];
            native[t] = a;
            views[(t, a)] = NewTensor(t, a);
        }
        foreach (var op in g.Ops)
        {
            var a = opAct[op];
            int x = View(op.Inputs[0], a);
            int y = NewTensor(op.Output, a);
            native[op.Output] = a;
            views[(op.Output, a)] = y;
            macs[a switch { Act.Int8 => "int8", Act.Int16 => "int16", _ => "float" }] += op.Macs;
            switch (a)
            {
                case Act.Int8:
                    Packer.AddInt8Op(w, q, op, x, y, t => View(t, Act.Int8), shared);
                    break;
                case Act.Int16:
                    AddInt16Op(w, q, op, x, y, t => View(t, Act.Int16), Scale16);
                    break;
                default:
                    AddFloatOp(w, op, x, y, t => View(t, Act.Float));
                    break;
            }
        }
        foreach (var t in g.Inputs) w.AddInput(g.IoNames[t], views[(t, native[t])], g.Layouts[t]);
        foreach (var t in g.Outputs) w.AddOutput(g.IoNames[t], views[(t, native[t])], g.Layouts[t]);
        foreach (var (k, v) in metadata) w.SetMetadata(k, v);
        var blob = w.Build();
        long weightBytes = 0;
        var model = EdgeQuant.Runtime.Model.Load(blob);
        foreach (var t in model.Tensors)
            if (t.Storage == TensorStorage.Constant) weightBytes += t.ByteLength;
        cost = new MixedPrecisionCost(blob.Length, model.ArenaBytes, weightBytes, macs, boundary);
        return blob;
    }

    /// <summary>
    /// The activation precision of every op: layers as assigned (int4 / codebook layers are int8), other ops the
    /// highest precision among their inputs' producers when the runtime has that variant of them, else int8.
    /// </summary>
    internal static Dictionary<IrOp, Act> Precisions(IrGraph g, IReadOnlyDictionary<IrOp, LayerPrecision> assignment)
    {
        var produced = new Dictionary<IrTensor, Act>();
        var result = new Dictionary<IrOp, Act>();
        foreach (var op in g.Ops)
        {
            Act a;
            if (op.Type is OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected
                || op.Type == OpType.Add && assignment.TryGetValue(op, out var explicitAdd) && explicitAdd != LayerPrecision.Int8)
            {
                a = assignment.TryGetValue(op, out var p) ? p switch { LayerPrecision.Int16 => Act.Int16, LayerPrecision.Float => Act.Float, _ => Act.Int8 } : Act.Int8;
            }
            else
            {
                var inherited = Act.Int8;
                foreach (var t in op.Inputs)
                    if (!t.IsConstant && produced.TryGetValue(t, out var pa) && pa > inherited) inherited = pa;
                bool noClamp = float.IsNegativeInfinity(op.ActivationMin) && float.IsPositiveInfinity(op.ActivationMax);
                bool supported = inherited switch
                {
                    Act.Int16 => op.Type is OpType.MaxPool2D or OpType.Reshape or OpType.Add || op.Type == OpType.Mean && noClamp,
                    Act.Float => op.Type is OpType.Reshape or OpType.Transpose or OpType.Add || op.Type is OpType.MaxPool2D or OpType.Mean && noClamp && !op.Sum,
                    _ => true,
                };
                // An Add assigned int8 explicitly stays int8.
                if (op.Type == OpType.Add && assignment.ContainsKey(op)) supported = inherited == Act.Int8;
                a = supported ? inherited : Act.Int8;
            }
            result[op] = a;
            produced[op.Output] = a;
        }
        return result;
    }

    private static int Code16(float v, float scale) => (int)Math.Clamp(Math.Round(v / scale, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue);

    private static (int Min, int Max) Clamp16(IrOp op, float scale) => (
        float.IsNegativeInfinity(op.ActivationMin) ? short.MinValue : Code16(op.ActivationMin, scale),
        float.IsPositiveInfinity(op.ActivationMax) ? short.MaxValue : Code16(op.ActivationMax, scale));

    private static (int, int) Multiplier16(double real, IrOp op)
    {
        var (m, s) = QuantMath.QuantizeMultiplier(real);
        if (s > 14) throw new ConversionException($"node '{op.Name}' ({op.Type}): the int16 rescale {real:G4} is too large for the 16x8 requantization");
        return (m, s);
    }

    private static void AddInt16Op(ModelWriter w, QuantizedGraph q, IrOp op, int x, int y, Func<IrTensor, int> tensor, Func<IrTensor, float> scale16)
    {
        float sIn = scale16(op.Inputs[0]), sOut = scale16(op.Output);
        var (min, max) = Clamp16(op, sOut);
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
            case OpType.FullyConnected:
            {
                var r = q.Ops[op];
                bool dw = op.Type == OpType.DepthwiseConv2D;
                int cout = r.WeightScales!.Length;
                var bias = new long[cout];
                var mult = new int[cout];
                var shift = new int[cout];
                // The int8 layer's bias holds the bias correction (the mean error of the rounded weights); its real
                // value carries over to the int16 input scale.
                double in8 = q.Activations[op.Inputs[0]].Scale;
                for (int c = 0; c < cout; c++)
                {
                    double biasScale = (double)sIn * r.WeightScales[c];
                    double real = r.Bias![c] * in8 * r.WeightScales[c];
                    bias[c] = (long)Math.Clamp(Math.Round(real / biasScale, MidpointRounding.AwayFromZero), -(double)(1L << 40), 1L << 40);
                    (mult[c], shift[c]) = Multiplier16(biasScale / sOut, op);
                }
                int wq = w.AddQuantization(r.WeightScales, 0, dw ? 3 : 0);
                int wt = w.AddConstant<sbyte>(TensorType.Int8, op.WeightShape, r.Weights, wq);
                int bt = w.AddConstant<long>(TensorType.Int64, [cout], bias, -1);
                int mo = w.AddConstantData<int>(mult);
                int so = w.AddConstantData<int>(shift);
                if (op.Type == OpType.FullyConnected)
                {
                    w.AddOp(OpType.FullyConnectedS16, [x, wt, bt], [y], new FullyConnectedParams
                    {
                        ActivationMin = min, ActivationMax = max, MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = -1,
                    });
                }
                else
                {
                    w.AddOp(dw ? OpType.DepthwiseConv2DS16 : OpType.Conv2DS16, [x, wt, bt], [y], new Conv2DParams
                    {
                        StrideH = op.StrideH, StrideW = op.StrideW, DilationH = op.DilationH, DilationW = op.DilationW,
                        PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                        ActivationMin = min, ActivationMax = max, MultipliersOffset = mo, ShiftsOffset = so,
                        DepthMultiplier = op.DepthMultiplier, FoldedBiasOffset = -1,
                    });
                }
                break;
            }
            case OpType.Add:
            {
                int b = tensor(op.Inputs[1]);
                float sa = sIn, sb = scale16(op.Inputs[1]);
                const int leftShift = 15;
                double twiceMax = 2.0 * Math.Max(sa, sb);
                var (m1, s1) = QuantMath.QuantizeMultiplier(sa / twiceMax);
                var (m2, s2) = QuantMath.QuantizeMultiplier(sb / twiceMax);
                var (mo, so) = QuantMath.QuantizeMultiplier(twiceMax / ((1 << leftShift) * (double)sOut));
                w.AddOp(OpType.AddS16, [x, b], [y], new ElementwiseParams
                {
                    LeftShift = leftShift, Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2,
                    OutputMultiplier = mo, OutputShift = so, ActivationMin = min, ActivationMax = max,
                });
                break;
            }
            case OpType.MaxPool2D:
                w.AddOp(OpType.MaxPool2DS16, [x], [y], new PoolParams
                {
                    StrideH = op.StrideH, StrideW = op.StrideW, FilterH = op.KernelH, FilterW = op.KernelW,
                    PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                    ActivationMin = min, ActivationMax = max,
                });
                break;
            case OpType.Mean:
            {
                int hw = op.Inputs[0].Shape[1] * op.Inputs[0].Shape[2];
                var (m, s) = Multiplier16(sIn / ((double)sOut * (op.Sum ? 1 : hw)), op);
                w.AddOp(OpType.MeanS16, [x], [y], new MeanParams { Multiplier = m, Shift = s });
                break;
            }
            case OpType.Reshape:
                w.AddOp(OpType.Reshape, [x], [y]);
                break;
            default:
                throw new ConversionException($"op {op.Type} ('{op.Name}') has no int16 variant");
        }
    }

    private static void AddFloatOp(ModelWriter w, IrOp op, int x, int y, Func<IrTensor, int> tensor)
    {
        float min = op.ActivationMin, max = op.ActivationMax;
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
            case OpType.FullyConnected:
            {
                bool dw = op.Type == OpType.DepthwiseConv2D;
                int cout = dw ? op.WeightShape[3] : op.WeightShape[0];
                foreach (float v in op.Weights!)
                    if (!float.IsFinite(v)) throw new ConversionException($"node '{op.Name}' ({op.Type}): weights hold non-finite values (NaN or infinity)");
                int wt = w.AddConstant<float>(TensorType.Float32, op.WeightShape, op.Weights, -1);
                int bt = w.AddConstant<float>(TensorType.Float32, [cout], op.Bias, -1);
                if (op.Type == OpType.FullyConnected)
                    w.AddOp(OpType.FullyConnectedF32, [x, wt, bt], [y], new FloatClampParams { Min = min, Max = max });
                else
                    w.AddOp(dw ? OpType.DepthwiseConv2DF32 : OpType.Conv2DF32, [x, wt, bt], [y], new DynamicConvParams
                    {
                        StrideH = op.StrideH, StrideW = op.StrideW, DilationH = op.DilationH, DilationW = op.DilationW,
                        PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                        DepthMultiplier = op.DepthMultiplier, ActivationMin = min, ActivationMax = max,
                    });
                break;
            }
            case OpType.Add:
                w.AddOp(OpType.AddF32, [x, tensor(op.Inputs[1])], [y], new FloatClampParams { Min = min, Max = max });
                break;
            case OpType.MaxPool2D:
                w.AddOp(OpType.MaxPool2DF32, [x], [y], new PoolParams
                {
                    StrideH = op.StrideH, StrideW = op.StrideW, FilterH = op.KernelH, FilterW = op.KernelW,
                    PadTop = op.PadTop, PadLeft = op.PadLeft, PadBottom = op.PadBottom, PadRight = op.PadRight,
                    ActivationMin = -128, ActivationMax = 127,
                });
                break;
            case OpType.Mean:
                w.AddOp(OpType.MeanF32, [x], [y]);
                break;
            case OpType.Reshape:
                w.AddOp(OpType.Reshape, [x], [y]);
                break;
            case OpType.Transpose:
                w.AddOp(OpType.TransposeF32, [x], [y], new TransposeParams { Perm0 = op.Perm[0], Perm1 = op.Perm[1], Perm2 = op.Perm[2], Perm3 = op.Perm[3] });
                break;
            default:
                throw new ConversionException($"op {op.Type} ('{op.Name}') has no float variant");
        }
    }
}
