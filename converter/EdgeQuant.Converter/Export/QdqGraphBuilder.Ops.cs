using System.Runtime.InteropServices;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;
using static EdgeQuant.Converter.Export.OnnxGraphWriter;

namespace EdgeQuant.Converter.Export;

// One method per .eqm op: how it maps to ONNX. Checks that the blob's fixed-point parameters are
// the ones its recorded scales and zero points imply, so the exported model computes the same
// function; anything else is a ConversionException naming the op.
internal sealed partial class QdqGraphBuilder
{
    private void Emit(in OpInfo op)
    {
        switch (op.Type)
        {
            case OpType.Conv2D: EmitConv(op, depthwise: false); break;
            case OpType.DepthwiseConv2D: EmitConv(op, depthwise: true); break;
            case OpType.FullyConnected: EmitFullyConnected(op); break;
            case OpType.Add:
            case OpType.Sub:
            case OpType.Mul: EmitElementwise(op); break;
            case OpType.MaxPool2D:
            case OpType.AveragePool2D: EmitPool(op); break;
            case OpType.Mean: EmitMean(op); break;
            case OpType.Concatenation: EmitConcat(op); break;
            case OpType.Pad: EmitPad(op); break;
            case OpType.Reshape: EmitReshape(op); break;
            case OpType.Transpose: EmitTranspose(op); break;
            case OpType.Softmax: EmitSoftmax(op); break;
            case OpType.Logistic:
            case OpType.Tanh:
            case OpType.Lookup: EmitLookup(op); break;
            case OpType.Quantize:
            case OpType.Dequantize: EmitQuantize(op); break;
            case OpType.IndexSelect: EmitIndexSelect(op); break;
            case OpType.BatchMatMul: EmitBatchMatMul(op); break;
            case OpType.ArgMax: EmitArgMax(op); break;
            case OpType.Lstm:
            case OpType.Gru:
            case OpType.LstmPacked:
            case OpType.GruPacked:
                throw new ConversionException($"op {_opIndex} ({op.Type}) cannot be exported to QDQ ONNX: its integer gates (Q3.12 pre-activations, table sigmoid/tanh, int16 state) have no ONNX operator that computes the same bytes; run the .eqm, or the float ONNX model");
            default:
                throw new ConversionException($"op {_opIndex} ({op.Type}, code {(int)op.Type}) cannot be exported to ONNX: the exporter has no mapping for it");
        }
    }

    /// <summary>
    /// Conv2D -> Conv, DepthwiseConv2D -> Conv with group = input channels. Filters go from
    /// [Cout, Kh, Kw, Cin] to [Cout, Cin, Kh, Kw] and from [1, Kh, Kw, Cout] to [Cout, 1, Kh, Kw];
    /// output channel oc of a depthwise conv reads input channel oc / multiplier, which is ONNX's
    /// grouping with Cin groups of `multiplier` outputs each.
    /// </summary>
    private void EmitConv(in OpInfo op, bool depthwise)
    {
        var p = _m.ReadParams<Conv2DParams>(op);
        var inT = _m.Tensors[op.Input0];
        var fT = _m.Tensors[op.Input1];
        int cin = inT.Shape.D3, cout = _m.Tensors[op.Output0].Shape.D3, kh = fT.Shape.D1, kw = fT.Shape.D2;
        var f = MemoryMarshal.Cast<byte, sbyte>(_m.GetConstantBytes(op.Input1));
        var w = new sbyte[f.Length];
        if (depthwise)
        {
            for (int ky = 0; ky < kh; ky++)
                for (int kx = 0; kx < kw; kx++)
                    for (int oc = 0; oc < cout; oc++)
                        w[(oc * kh + ky) * kw + kx] = f[(ky * kw + kx) * cout + oc];
        }
        else
        {
            for (int oc = 0; oc < cout; oc++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        for (int ic = 0; ic < cin; ic++)
                            w[((oc * cin + ic) * kh + ky) * kw + kx] = f[((oc * kh + ky) * kw + kx) * cin + ic];
        }
        CheckOffsets(p.InputOffset, op.Input0, p.OutputOffset, op.Output0);
        var (weights, bias) = WeightsAndBias(op, w, depthwise ? [cout, 1, kh, kw] : [cout, cin, kh, kw], cout, p.MultipliersOffset, p.ShiftsOffset);
        string x = Dequantize(Get(op.Input0, Layout.Nchw), op.Input0);
        string y = _w.Node("Conv", [x, weights, bias], $"op{_opIndex}_conv",
        [
            Attr("kernel_shape", kh, kw),
            Attr("strides", p.StrideH, p.StrideW),
            Attr("dilations", p.DilationH, p.DilationW),
            Attr("pads", p.PadTop, p.PadLeft, p.PadBottom, p.PadRight),
            Attr("group", depthwise ? cin : 1L),
        ]);
        y = Clamp(y, p.ActivationMin, p.ActivationMax, op.Output0);
        Set(op.Output0, Layout.Nchw, Quantize(y, op.Output0));
    }

    /// <summary>
    /// FullyConnected -> Gemm(x [rows, Cin], W [Cout, Cin], bias, transB = 1), with Reshapes to and
    /// from two dimensions when the blob's tensors have other shapes. When the input is the NCHW
    /// flatten of a rank-4 tensor (see <see cref="EmitReshape"/>) the weight columns are permuted
    /// from NHWC to NCHW order instead of transposing the activation.
    /// </summary>
    private void EmitFullyConnected(in OpInfo op)
    {
        var p = _m.ReadParams<FullyConnectedParams>(op);
        var inT = _m.Tensors[op.Input0];
        var fT = _m.Tensors[op.Input1];
        var oT = _m.Tensors[op.Output0];
        int cout = fT.Shape.D0, cin = fT.Shape.D1, rows = inT.ElementCount / cin;
        var w = MemoryMarshal.Cast<byte, sbyte>(_m.GetConstantBytes(op.Input1)).ToArray();
        var forms = _forms[op.Input0];
        string x;
        if (forms.AsIs is null && forms.FlatNchw is not null && forms.FlatSource is { } src)
        {
            // Column (c x H + y) x W + x of the NCHW flatten holds NHWC element (y x W + x) x C + c.
            int h = src[1], wd = src[2], c = src[3];
            var permuted = new sbyte[w.Length];
            for (int oc = 0; oc < cout; oc++)
                for (int ch = 0; ch < c; ch++)
                    for (int yy = 0; yy < h; yy++)
                        for (int xx = 0; xx < wd; xx++)
                            permuted[oc * cin + (ch * h + yy) * wd + xx] = w[oc * cin + (yy * wd + xx) * c + ch];
            w = permuted;
            x = forms.FlatNchw;
        }
        else
        {
            x = Get(op.Input0, Layout.AsIs);
            if (inT.Rank != 2 || inT.Shape.D1 != cin) x = Reshape(x, op.Input0, [rows, cin], $"op{_opIndex}_rows");
        }
        CheckOffsets(p.InputOffset, op.Input0, p.OutputOffset, op.Output0);
        var (weights, bias) = WeightsAndBias(op, w, [cout, cin], cout, p.MultipliersOffset, p.ShiftsOffset);
        string xf = Dequantize(x, op.Input0);
        string y = _w.Node("Gemm", [xf, weights, bias], $"op{_opIndex}_gemm", [Attr("transB", 1L)]);
        y = Clamp(y, p.ActivationMin, p.ActivationMax, op.Output0);
        string q = Quantize(y, op.Output0);
        if (oT.Rank != 2 || oT.Shape.D1 != cout) q = Reshape(q, op.Output0, oT.Dims(), $"t{op.Output0}_shaped");
        Set(op.Output0, Layout.AsIs, q);
    }

    /// <summary>
    /// Int8 weights with a DequantizeLinear per output channel (axis 0) and the int32 bias with
    /// scale input_scale x weight_scale[c] (the form onnxruntime folds into QLinearConv / QGemm).
    /// </summary>
    private (string Weights, string Bias) WeightsAndBias(in OpInfo op, sbyte[] w, long[] wDims, int cout, int multipliersOffset, int shiftsOffset)
    {
        var fT = _m.Tensors[op.Input1];
        var q = _m.Quantization[fT.QuantIndex];
        bool perChannel = q.ChannelCount > 1;
        if (perChannel && q.ChannelCount != cout)
            throw new ConversionException($"op {_opIndex} ({op.Type}): weights have {q.ChannelCount} scales for {cout} output channels");
        var bT = _m.Tensors[op.Input2];
        if (bT.Type != TensorType.Int32 || bT.ElementCount != cout)
            throw new ConversionException($"op {_opIndex} ({op.Type}): bias must be int32 [{cout}], is {bT.Type} {bT.Shape}");
        var (inScale, _) = QuantOf(op.Input0);
        var (outScale, _) = QuantOf(op.Output0);
        var multipliers = ConstI32(multipliersOffset, cout);
        var shifts = ConstI32(shiftsOffset, cout);
        var wScales = new float[cout];
        var bScales = new float[cout];
        for (int c = 0; c < cout; c++)
        {
            wScales[c] = _m.GetScale(fT.QuantIndex, perChannel ? c : 0);
            bScales[c] = inScale * wScales[c];
            CheckMultiplier(Effective(multipliers[c], shifts[c]), (double)inScale * wScales[c] / outScale, $"channel {c}");
        }
        string name = $"op{_opIndex}";
        string wq = _w.Int8s($"{name}_weight", wDims, w);
        string bq = _w.Int32s($"{name}_bias", [cout], MemoryMarshal.Cast<byte, int>(_m.GetConstantBytes(op.Input2)));
        if (!perChannel)
        {
            string ws = _w.FloatScalar($"{name}_weight_scale", wScales[0]);
            string wz = _w.Int8Scalar($"{name}_weight_zero_point", q.ZeroPoint);
            string bs = _w.FloatScalar($"{name}_bias_scale", bScales[0]);
            string bz = _w.Int32s($"{name}_bias_zero_point", [], [0]);
            return (_w.Node("DequantizeLinear", [wq, ws, wz], $"{name}_weight_dq"),
                    _w.Node("DequantizeLinear", [bq, bs, bz], $"{name}_bias_dq"));
        }
        var wZeros = new sbyte[cout];
        Array.Fill(wZeros, (sbyte)q.ZeroPoint);
        string wsv = _w.Floats($"{name}_weight_scale", [cout], wScales);
        string wzv = _w.Int8s($"{name}_weight_zero_point", [cout], wZeros);
        string bsv = _w.Floats($"{name}_bias_scale", [cout], bScales);
        string bzv = _w.Int32s($"{name}_bias_zero_point", [cout], new int[cout]);
        AttributeProto[] axis0 = [Attr("axis", 0L)];
        return (_w.Node("DequantizeLinear", [wq, wsv, wzv], $"{name}_weight_dq", axis0),
                _w.Node("DequantizeLinear", [bq, bsv, bzv], $"{name}_bias_dq", axis0));
    }

    /// <summary>Add, Sub, Mul -> DQ, DQ -> Add/Sub/Mul -> (clamp) -> Q, in whichever layout the inputs already have.</summary>
    private void EmitElementwise(in OpInfo op)
    {
        var p = _m.ReadParams<ElementwiseParams>(op);
        var (aScale, _) = QuantOf(op.Input0);
        var (bScale, _) = QuantOf(op.Input1);
        var (oScale, _) = QuantOf(op.Output0);
        CheckOffsets(p.Input1Offset, op.Input0, p.OutputOffset, op.Output0);
        CheckOffsets(p.Input2Offset, op.Input1, p.OutputOffset, op.Output0);
        if (op.Type == OpType.Mul)
        {
            CheckMultiplier(Effective(p.OutputMultiplier, p.OutputShift), (double)aScale * bScale / oScale, "output");
        }
        else
        {
            double output = Effective(p.OutputMultiplier, p.OutputShift) * (1 << p.LeftShift);
            CheckMultiplier(Effective(p.Input1Multiplier, p.Input1Shift) * output, aScale / (double)oScale, "input 1");
            CheckMultiplier(Effective(p.Input2Multiplier, p.Input2Shift) * output, bScale / (double)oScale, "input 2");
        }
        var layout = HasNchw(op.Input0) || HasNchw(op.Input1) ? Layout.Nchw : Layout.AsIs;
        string a = Dequantize(Get(op.Input0, layout), op.Input0);
        string b = Dequantize(Get(op.Input1, layout), op.Input1);
        string kind = op.Type switch { OpType.Add => "Add", OpType.Sub => "Sub", _ => "Mul" };
        string y = _w.Node(kind, [a, b], $"op{_opIndex}_{kind.ToLowerInvariant()}");
        y = Clamp(y, p.ActivationMin, p.ActivationMax, op.Output0);
        Set(op.Output0, layout, Quantize(y, op.Output0));
    }

    /// <summary>MaxPool2D -> MaxPool, AveragePool2D -> AveragePool (count_include_pad = 0, as the kernel averages valid positions only).</summary>
    private void EmitPool(in OpInfo op)
    {
        var p = _m.ReadParams<PoolParams>(op);
        bool max = op.Type == OpType.MaxPool2D;
        string x = Dequantize(Get(op.Input0, Layout.Nchw), op.Input0);
        var attrs = new List<AttributeProto>
        {
            Attr("kernel_shape", p.FilterH, p.FilterW),
            Attr("strides", p.StrideH, p.StrideW),
            Attr("pads", p.PadTop, p.PadLeft, p.PadBottom, p.PadRight),
        };
        if (!max) attrs.Add(Attr("count_include_pad", 0L));
        string y = _w.Node(max ? "MaxPool" : "AveragePool", [x], $"op{_opIndex}_{(max ? "maxpool" : "avgpool")}", [.. attrs]);
        y = Clamp(y, p.ActivationMin, p.ActivationMax, op.Output0);
        Set(op.Output0, Layout.Nchw, Quantize(y, op.Output0));
    }

    /// <summary>Mean over H and W -> GlobalAveragePool (NCHW [N, C, 1, 1] is the blob's [N, 1, 1, C]).</summary>
    private void EmitMean(in OpInfo op)
    {
        var p = _m.ReadParams<MeanParams>(op);
        var inT = _m.Tensors[op.Input0];
        var (iScale, _) = QuantOf(op.Input0);
        var (oScale, _) = QuantOf(op.Output0);
        CheckOffsets(p.InputOffset, op.Input0, p.OutputOffset, op.Output0);
        double factor = Effective(p.Multiplier, p.Shift);
        bool sum = inT.Shape.D1 * inT.Shape.D2 > 1 && Math.Abs(factor - (iScale / (double)oScale)) <= 1e-6 * factor;
        CheckMultiplier(factor, iScale / ((double)oScale * (sum ? 1 : inT.Shape.D1 * inT.Shape.D2)), "mean");
        string x = Dequantize(Get(op.Input0, Layout.Nchw), op.Input0);
        // A factor without the 1 / (H x W) is a sum over the positions (ReduceSum lowered to Mean).
        string y = sum
            ? _w.Node("ReduceSum", [x, _w.Int64s($"op{_opIndex}_axes", [2], [2, 3])], $"op{_opIndex}_sum", [Attr("keepdims", 1L)])
            : _w.Node("GlobalAveragePool", [x], $"op{_opIndex}_gap");
        Set(op.Output0, Layout.Nchw, Quantize(y, op.Output0));
    }

    /// <summary>
    /// Concatenation -> DQ each input -> Concat -> Q. An input the kernel copies unchanged
    /// (multiplier 0) is dequantized with the output's quantization, which reproduces the copy
    /// even if its own recorded quantization differed.
    /// </summary>
    private void EmitConcat(in OpInfo op)
    {
        var p = _m.ReadParams<ConcatParams>(op);
        int n = op.InputCount;
        bool nchw = false;
        for (int k = 0; k < n; k++) nchw |= HasNchw(op.Input(k));
        var layout = nchw ? Layout.Nchw : Layout.AsIs;
        int axis = nchw ? Array.IndexOf(ToNchw, p.Axis) : p.Axis;
        var (oScale, oZero) = QuantOf(op.Output0);
        if (p.OutputOffset != oZero) throw new ConversionException($"op {_opIndex} (Concatenation): output offset {p.OutputOffset} is not the output zero point {oZero}");
        ReadOnlySpan<int> per = [p.In0Offset, p.In0Multiplier, p.In0Shift, p.In1Offset, p.In1Multiplier, p.In1Shift, p.In2Offset, p.In2Multiplier, p.In2Shift, p.In3Offset, p.In3Multiplier, p.In3Shift];
        var values = new string[n];
        for (int k = 0; k < n; k++)
        {
            bool copied = per[3 * k + 1] == 0;
            if (!copied)
            {
                var (iScale, iZero) = QuantOf(op.Input(k));
                if (per[3 * k] != -iZero) throw new ConversionException($"op {_opIndex} (Concatenation): input {k} offset {per[3 * k]} is not minus its zero point {iZero}");
                CheckMultiplier(Effective(per[3 * k + 1], per[3 * k + 2]), iScale / (double)oScale, $"input {k}");
            }
            values[k] = Dequantize(Get(op.Input(k), layout), copied ? op.Output0 : op.Input(k));
        }
        string y = _w.Node("Concat", values, $"op{_opIndex}_concat", [Attr("axis", (long)axis)]);
        Set(op.Output0, layout, Quantize(y, op.Output0));
    }

    /// <summary>
    /// Pad -> DQ -> Pad (mode constant, value = the blob's pad code dequantized) -> Q, in the layout
    /// the input already has. Input and output codes share the input's quantization, as the kernel
    /// copies codes.
    /// </summary>
    private void EmitPad(in OpInfo op)
    {
        var p = _m.ReadParams<PadParams>(op);
        var layout = HasNchw(op.Input0) ? Layout.Nchw : Layout.AsIs;
        int[] before = [p.Before0, p.Before1, p.Before2, p.Before3];
        int[] after = [p.After0, p.After1, p.After2, p.After3];
        if (layout == Layout.Nchw) { before = Permute(before, ToNchw); after = Permute(after, ToNchw); }
        string pads = _w.Int64s($"op{_opIndex}_pads", [8], [.. Longs(before), .. Longs(after)]);
        var (scale, zero) = QuantOf(op.Input0);
        string value = _w.FloatScalar($"op{_opIndex}_pad_value", (p.PadValue - zero) * scale);
        Set(op.Output0, layout, Move(Get(op.Input0, layout), op.Input0, $"t{op.Output0}",
            f => _w.Node("Pad", [f, pads, value], $"op{_opIndex}_pad")));
    }

    /// <summary>
    /// Reshape -> DQ -> Reshape -> Q of the blob-order (NHWC) tensor (codes keep the input's quantization, as the kernel copies them). A flatten [N, H, W, C] -> [N, H x W x C]
    /// whose only readers are FullyConnected layers becomes the NCHW flatten instead (those layers
    /// permute their weight columns), which is what the source model did.
    /// </summary>
    private void EmitReshape(in OpInfo op)
    {
        var inT = _m.Tensors[op.Input0];
        var oT = _m.Tensors[op.Output0];
        var forms = _forms[op.Input0];
        if (inT.Storage == TensorStorage.Arena && inT.Rank == 4 && forms.AsIs is null && forms.Nchw is not null)
        {
            int[] dims = inT.Dims();
            if (KeepsOrder(dims, ToNchw))
            {
                Set(op.Output0, Layout.AsIs, Reshape(forms.Nchw, op.Input0, oT.Dims(), $"t{op.Output0}"));
                return;
            }
            if (oT.Rank == 2 && oT.Shape.D0 == inT.Shape.D0 && FlattenFeedsOnlyFullyConnected(op.Output0))
            {
                _forms[op.Output0].FlatNchw = Reshape(forms.Nchw, op.Input0, oT.Dims(), $"t{op.Output0}_nchw_flat");
                _forms[op.Output0].FlatSource = dims;
                _values.TryAdd(op.Output0, new OnnxTensorValue(op.Output0, _forms[op.Output0].FlatNchw!, "NCHW flatten", dims));
                return;
            }
        }
        Set(op.Output0, Layout.AsIs, Reshape(Get(op.Input0, Layout.AsIs), op.Input0, oT.Dims(), $"t{op.Output0}"));
    }

    private bool FlattenFeedsOnlyFullyConnected(int t)
    {
        if (_graphOutputs.Contains(t) || _consumers[t].Count == 0) return false;
        foreach (var (o, slot) in _consumers[t])
        {
            var c = _m.Ops[o];
            if (c.Type != OpType.FullyConnected || slot != 0 || _m.Tensors[c.Input1].Shape.D1 != _m.Tensors[t].Shape.D1) return false;
        }
        return true;
    }

    /// <summary>Transpose -> DQ -> Transpose -> Q (composed with the NCHW layout permutation when the input is NCHW; a Reshape when it keeps the memory order).</summary>
    private void EmitTranspose(in OpInfo op)
    {
        var p = _m.ReadParams<TransposeParams>(op);
        int[] perm = [p.Perm0, p.Perm1, p.Perm2, p.Perm3];
        int[] dims = _m.Tensors[op.Input0].Dims();
        var forms = _forms[op.Input0];
        string x;
        int[] xDims, q;
        if (_m.Tensors[op.Input0].Storage == TensorStorage.Arena && forms.AsIs is null && forms.Nchw is not null)
        {
            x = forms.Nchw;
            xDims = Permute(dims, ToNchw);
            q = new int[4];
            for (int i = 0; i < 4; i++) q[i] = ToNhwc[perm[i]];
        }
        else
        {
            x = Get(op.Input0, Layout.AsIs);
            xDims = dims;
            q = perm;
        }
        Set(op.Output0, Layout.AsIs, PermuteValue(x, op.Input0, xDims, q, $"t{op.Output0}"));
    }

    /// <summary>
    /// Softmax over the last (channel) axis -> DQ -> Softmax -> Q with scale 1/256 and zero point
    /// -128, the kernel's fixed output encoding. beta is recovered from the exp table; beta != 1
    /// becomes a Mul before the Softmax.
    /// </summary>
    private void EmitSoftmax(in OpInfo op)
    {
        var p = _m.ReadParams<SoftmaxParams>(op);
        var inT = _m.Tensors[op.Input0];
        var (scale, _) = QuantOf(op.Input0);
        double beta = SoftmaxBeta(ConstI32(p.ExpTableOffset, 256), scale);
        var layout = inT.Rank == 4 && HasNchw(op.Input0) && _forms[op.Input0].AsIs is null ? Layout.Nchw : Layout.AsIs;
        long axis = layout == Layout.Nchw ? 1 : inT.Rank - 1;
        string x = Dequantize(Get(op.Input0, layout), op.Input0);
        if (beta != 1) x = _w.Node("Mul", [x, _w.FloatScalar($"op{_opIndex}_beta", (float)beta)], $"op{_opIndex}_scaled");
        string y = _w.Node("Softmax", [x], $"op{_opIndex}_softmax", [Attr("axis", axis)]);
        string s = _w.FloatScalar($"op{_opIndex}_softmax_scale", 1f / 256);
        string z = ZeroPoint($"op{_opIndex}_softmax_zero_point", -128);
        Set(op.Output0, layout, _w.Node("QuantizeLinear", [y, s, z], $"t{op.Output0}"));
    }

    /// <summary>beta of a table E[d] = round(2^23 exp(-beta x scale x d)): 1 when the table is that of beta = 1, else fitted and verified.</summary>
    private double SoftmaxBeta(ReadOnlySpan<int> table, float scale)
    {
        if (ExpTableMatches(table, scale)) return 1;
        int d = 1;
        for (int k = 255; k >= 1; k--)
            if (table[k] >= 1 << 16) { d = k; break; }
        if (table[d] > 0)
        {
            double k = Math.Log((double)(1 << 23) / table[d]) / d;
            if (k > 0 && ExpTableMatches(table, k)) return k / scale;
        }
        throw new ConversionException($"op {_opIndex} (Softmax): the exp table is not exp(-beta x scale x d) for any beta; cannot export");
    }

    private static bool ExpTableMatches(ReadOnlySpan<int> table, double k)
    {
        for (int d = 0; d < 256; d++)
            if (Math.Abs(Math.Round((1 << 23) * Math.Exp(-k * d)) - table[d]) > 1) return false;
        return true;
    }

    /// <summary>
    /// Logistic -> DQ -> Sigmoid -> Q and Tanh -> DQ -> Tanh -> Q when the blob's table is that
    /// function (within one step); any other 256-entry table, including Lookup, is reproduced
    /// exactly as a Gather of codes: table[int32(x) + 128] (int8 codes) or table[int32(x)] (uint8).
    /// </summary>
    private void EmitLookup(in OpInfo op)
    {
        var p = _m.ReadParams<LookupParams>(op);
        var table = MemoryMarshal.Cast<byte, sbyte>(_m.ConstantData.Slice(p.TableOffset, 256)).ToArray();
        var layout = Preferred(op.Input0);
        Func<double, double>? f = op.Type switch
        {
            OpType.Logistic => v => 1 / (1 + Math.Exp(-v)),
            OpType.Tanh => Math.Tanh,
            _ => null,
        };
        if (f is not null && TableIs(table, f, op.Input0, op.Output0))
        {
            string x = Dequantize(Get(op.Input0, layout), op.Input0);
            string kind = op.Type == OpType.Logistic ? "Sigmoid" : "Tanh";
            string y = _w.Node(kind, [x], $"op{_opIndex}_{kind.ToLowerInvariant()}");
            Set(op.Output0, layout, Quantize(y, op.Output0));
            return;
        }
        // uint8 codes are the table index already; int8 codes are shifted by 128.
        string idx = _w.Node("Cast", [Get(op.Input0, layout)], $"op{_opIndex}_index", [Attr("to", (long)OnnxElementType.Int32)]);
        if (!_u8) idx = _w.Node("Add", [idx, _w.Int32s($"op{_opIndex}_index_offset", [], [128])], $"op{_opIndex}_index_shifted");
        string tab = Codes($"op{_opIndex}_table", [256], table);
        Set(op.Output0, layout, _w.Node("Gather", [tab, idx], $"t{op.Output0}", [Attr("axis", 0L)]));
    }

    private bool TableIs(sbyte[] table, Func<double, double> f, int input, int output)
    {
        var (iScale, iZero) = QuantOf(input);
        var (oScale, oZero) = QuantOf(output);
        for (int i = 0; i < 256; i++)
        {
            float x = QuantMath.DequantizeS8((sbyte)(i - 128), iScale, iZero);
            int expected = QuantMath.QuantizeS8((float)f(x), oScale, oZero);
            if (Math.Abs(expected - table[i]) > 1) return false;
        }
        return true;
    }

    /// <summary>Quantize -> QuantizeLinear, Dequantize -> DequantizeLinear, with the op's own scale and zero point.</summary>
    private void EmitQuantize(in OpInfo op)
    {
        var p = _m.ReadParams<QuantizeParams>(op);
        var layout = Preferred(op.Input0);
        string s = _w.FloatScalar($"op{_opIndex}_scale", p.Scale);
        string z = ZeroPoint($"op{_opIndex}_zero_point", p.ZeroPoint);
        string kind = op.Type == OpType.Quantize ? "QuantizeLinear" : "DequantizeLinear";
        Set(op.Output0, layout, _w.Node(kind, [Get(op.Input0, layout), s, z], $"t{op.Output0}"));
    }

    // ---- helpers ----------------------------------------------------------------------------

    private bool HasNchw(int t) => _m.Tensors[t].Storage == TensorStorage.Arena && _forms[t].Nchw is not null;

    private int[] ConstI32(int offset, int count) => MemoryMarshal.Cast<byte, int>(_m.ConstantData.Slice(offset, 4 * count)).ToArray();

    /// <summary>The kernel's zero-point offsets must be the tensors' zero points (input negated), or ONNX would compute something else.</summary>
    private void CheckOffsets(int inputOffset, int input, int outputOffset, int output)
    {
        var (_, iz) = QuantOf(input);
        var (_, oz) = QuantOf(output);
        if (inputOffset != -iz || outputOffset != oz)
            throw new ConversionException($"op {_opIndex} ({_m.Ops[_opIndex].Type}): offsets ({inputOffset}, {outputOffset}) do not match the zero points of tensors {input} ({iz}) and {output} ({oz})");
    }
}
