using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

/// <summary>
/// Lowers a simplified ONNX graph (constants folded, shapes inferred for batch 1) to runtime ops
/// over NHWC tensors. Each ONNX value carries a layout: physical dimension i holds logical
/// dimension Layout[i]. Ops that need NHWC get it (a Transpose is inserted only when data must
/// move); ONNX Transposes only relabel layouts; Flatten before a fully-connected layer permutes
/// the weights instead of the data.
/// </summary>
public sealed partial class Lowering
{
    private static readonly int[] Nhwc = [0, 2, 3, 1];

    /// <summary>The layout of 1-D activations [N, C, T] feeding convolutions and pools: stored N, T, C (NHWC with H = 1).</summary>
    private static readonly int[] Nwc = [0, 2, 1];

    private sealed class Value
    {
        public required IrTensor Tensor;
        public required int[] Layout;
        public required int[] Logical;
        /// <summary>For a flattened NHWC value: physical flat index of each logical (C, H, W) flat index.</summary>
        public int[]? FlatPermutation;
    }

    private readonly OnnxGraph _g;
    private readonly IrGraph _ir = new();
    private readonly Dictionary<string, Value> _values = new(StringComparer.Ordinal);
    private int _temp;

    private Lowering(OnnxGraph g) => _g = g;

    /// <summary>Lowers <paramref name="graph"/>; throws <see cref="ConversionException"/> naming the node for anything unsupported.</summary>
    public static IrGraph Lower(OnnxGraph graph)
    {
        var l = new Lowering(graph);
        l.Run();
        IrPasses.Optimize(l._ir);
        return l._ir;
    }

    private void Run()
    {
        // Rank-5 values (3-D convolution and pooling, which the float executor runs) have no int8 form.
        foreach (var node in _g.Nodes)
            foreach (var value in node.Inputs.Concat(node.Outputs))
                if (value.Length > 0 && !_g.IsConstant(value) && _g.Shapes.TryGetValue(value, out var s) && s.Length > 4)
                    throw node.Error($"value '{value}' has rank {s.Length} ({OnnxTensor.FormatShape(s)}); the int8 runtime supports tensors of rank 1 to 4 (3-D convolution and pooling run in the float executor only)");
        foreach (var input in _g.Inputs)
        {
            var logical = Shape(input.Name);
            int[] layout = Identity(logical.Length);
            var source = SourceLayout.AsIs;
            if (logical.Length == 4 && !_g.Consumers(input.Name).All(n => n.OpType == "Transpose"))
            {
                layout = Nhwc;
                source = SourceLayout.Nchw;
            }
            var t = NewTensor(input.Name, Permute(logical, layout));
            _ir.Inputs.Add(t);
            _ir.Layouts[t] = source;
            _ir.IoNames[t] = input.Name;
            _ir.SourceShapes[t] = logical;
            _values[input.Name] = new Value { Tensor = t, Layout = layout, Logical = logical };
        }

        FindSwish();
        foreach (var node in _g.Nodes)
            LowerNode(node);

        foreach (var output in _g.Outputs)
        {
            if (!_values.TryGetValue(output.Name, out var v))
                throw new ConversionException($"graph output '{output.Name}' is a constant or is not computed from the input; nothing to run");
            var source = SourceLayout.AsIs;
            if (v.Logical.Length == 4 && Same(v.Layout, Nhwc)) source = SourceLayout.Nchw;
            else v = EnsureLayout(v, Identity(v.Logical.Length), output.Name);
            if (v.FlatPermutation is not null) v = Unflatten(v, output.Name);
            var t = v.Tensor;
            if (_ir.Inputs.Contains(t))
                throw new ConversionException($"graph output '{output.Name}' is the input itself; nothing to run");
            _ir.Outputs.Add(t);
            _ir.Layouts[t] = source;
            _ir.IoNames[t] = output.Name;
            _ir.SourceShapes[t] = v.Logical;
        }
    }

    private void LowerNode(OnnxNode n)
    {
        if (_fusedAway.Contains(n)) return;
        if (_swish.TryGetValue(n, out var swishInput))
        {
            Swish(n, swishInput);
            return;
        }
        switch (n.OpType)
        {
            case "Conv": Conv(n); break;
            case "Gemm": Gemm(n); break;
            case "MatMul": MatMul(n); break;
            case "Add": case "Sub": case "Mul": case "Div": Binary(n); break;
            case "Relu": Unary(n, x => x > 0 ? x : 0, "Relu", 0f, float.PositiveInfinity); break;
            case "Clip": Clip(n); break;
            case "LeakyRelu":
            {
                float alpha = n.GetFloat("alpha", 0.01f);
                Unary(n, x => x >= 0 ? x : alpha * x, $"LeakyRelu({alpha})", float.NaN, float.NaN);
                break;
            }
            case "Sigmoid": Unary(n, x => 1f / (1f + MathF.Exp(-x)), "Sigmoid", float.NaN, float.NaN, OpType.Logistic); break;
            case "Tanh": Unary(n, MathF.Tanh, "Tanh", float.NaN, float.NaN, OpType.Tanh); break;
            case "Softmax": Softmax(n); break;
            case "LogSoftmax": LogSoftmax(n); break;
            case "BatchNormalization": BatchNorm(n); break;
            case "MaxPool": case "AveragePool": Pool(n); break;
            case "GlobalAveragePool": GlobalAveragePool(n); break;
            case "Flatten": case "Reshape": case "Squeeze": case "Unsqueeze": Reshape(n); break;
            case "ReduceMean": ReduceMean(n); break;
            case "ReduceMax": case "ReduceSum": ReduceMaxOrSum(n); break;
            case "GlobalMaxPool": GlobalMaxPool(n); break;
            case "Slice": Slice(n); break;
            case "Split": Split(n); break;
            case "Gather": Gather(n); break;
            case "Resize": case "Upsample": Resize(n); break;
            case "DepthToSpace": case "SpaceToDepth": SpaceDepth(n); break;
            case "PRelu": PRelu(n); break;
            case "ArgMax": ArgMax(n); break;
            case "LSTM": case "GRU": Recurrent(n); break;
            case "ConvTranspose": ConvTranspose(n); break;
            case "LayerNormalization": case "InstanceNormalization": Normalization(n); break;
            case "Transpose": Transpose(n); break;
            case "Concat": Concat(n); break;
            case "Pad": Pad(n); break;
            case "Identity": case "Dropout": _values[n.Outputs[0]] = Act(n, 0); break;
            case var t when Graph.Ops.UnaryFunctions.Handles(t):
                Unary(n, Graph.Ops.UnaryFunctions.Get(n), n.OpType, float.NaN, float.NaN);
                break;
            default:
                throw n.Error($"op type '{n.OpType}' cannot be lowered to a runtime op; supported ops: {OnnxSupport.SupportedOpList}");
        }
    }

    // ---- ops ------------------------------------------------------------------------------

    private void Conv(OnnxNode n)
    {
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        if (!oneD && x.Logical.Length != 4) throw n.Error($"convolution on a rank-{x.Logical.Length} input is not supported; supported: 1-D [N, C, T] and 2-D [N, C, H, W]");
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        var w = Const(n, 1, "weights");
        if (w.Rank != (oneD ? 3 : 4)) throw n.Error(oneD ? "weights must be rank 3 [M, C/group, k]" : "weights must be rank 4 [M, C/group, kH, kW]");
        int m = w.Shape[0], cg = w.Shape[1], kh = oneD ? 1 : w.Shape[2], kw = w.Shape[^1];
        int cin = x.Logical[1];
        int group = (int)n.GetInt("group", 1);
        float[]? bias = n.HasInput(2) ? Const(n, 2, "bias").Floats : null;
        var outLogical = Shape(n.Outputs[0]);
        var out4 = oneD ? As4D(outLogical) : outLogical;
        var (strides, dil, pads) = Window(n, x.Logical, [kh, kw], out4, allowDilation: true, oneD);
        IrOp op;
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], Permute(out4, Nhwc));
        var wf = w.Floats!;
        if (group == 1)
        {
            if (cg != cin) throw n.Error($"weights have {cg} input channels, the input has {cin}");
            op = new IrOp(OpType.Conv2D, n.Name, [x.Tensor], y) { WeightShape = [m, kh, kw, cin] };
            var ww = new float[wf.Length];
            for (int o = 0; o < m; o++)
                for (int c = 0; c < cin; c++)
                    for (int a = 0; a < kh; a++)
                        for (int b = 0; b < kw; b++)
                            ww[((o * kh + a) * kw + b) * cin + c] = wf[((o * cin + c) * kh + a) * kw + b];
            op.Weights = ww;
        }
        else if (group == cin && cg == 1 && m % cin == 0)
        {
            op = new IrOp(OpType.DepthwiseConv2D, n.Name, [x.Tensor], y) { WeightShape = [1, kh, kw, m], DepthMultiplier = m / cin };
            var ww = new float[wf.Length];
            for (int o = 0; o < m; o++)
                for (int a = 0; a < kh; a++)
                    for (int b = 0; b < kw; b++)
                        ww[(a * kw + b) * m + o] = wf[(o * kh + a) * kw + b];
            op.Weights = ww;
        }
        else if (group > 1 && cin % group == 0 && m % group == 0 && cg == cin / group)
        {
            // Grouped convolution (1 < group < channels, ResNeXt/ShuffleNet style): one Conv2D with
            // block-diagonal weights. Exact, with group-times the MACs and weight bytes of the grouped form.
            op = new IrOp(OpType.Conv2D, n.Name, [x.Tensor], y) { WeightShape = [m, kh, kw, cin] };
            var ww = new float[m * kh * kw * cin];
            int mg = m / group;
            for (int o = 0; o < m; o++)
            {
                int g0 = o / mg * cg;
                for (int c = 0; c < cg; c++)
                    for (int a = 0; a < kh; a++)
                        for (int b = 0; b < kw; b++)
                            ww[((o * kh + a) * kw + b) * cin + g0 + c] = wf[((o * cg + c) * kh + a) * kw + b];
            }
            op.Weights = ww;
        }
        else
        {
            throw n.Error($"attribute group={group} with weights {OnnxTensor.FormatShape(w.Shape)} on {cin} input channels is not supported; supported: 1, a divisor of the input channels (grouped), or the number of input channels (depthwise)");
        }
        op.Bias = bias ?? new float[m];
        SetWindow(op, strides, dil, pads, kh, kw);
        Emit(op);
        _values[n.Outputs[0]] = oneD ? From2D(y, outLogical, n) : new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    private void FullyConnected(OnnxNode n, Value a, float[] w, int mOut, int k, float[] bias, string? outName = null)
    {
        if (a.Logical[^1] != k) throw n.Error($"input's last dimension is {a.Logical[^1]}, the weights expect {k}");
        if (a.FlatPermutation is not null)
        {
            // The input is an NHWC tensor flattened in H, W, C order; ONNX flattened C, H, W. Permute the columns.
            var pw = new float[w.Length];
            for (int o = 0; o < mOut; o++)
                for (int i = 0; i < k; i++)
                    pw[o * k + a.FlatPermutation[i]] = w[o * k + i];
            w = pw;
        }
        else
        {
            a = EnsureLayout(a, Identity(a.Logical.Length), n.Name);
        }
        var outLogical = Shape(n.Outputs[0]);
        var y = NewTensor(outName ?? n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.FullyConnected, n.Name, [a.Tensor], y) { Weights = w, WeightShape = [mOut, k], Bias = bias });
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = Identity(outLogical.Length), Logical = outLogical };
    }

    private void Binary(OnnxNode n)
    {
        bool c0 = _g.IsConstant(n.Inputs[0]), c1 = _g.IsConstant(n.Inputs[1]);
        if (c0 && c1) throw n.Error("both inputs are constant but were not folded");
        var outLogical = Shape(n.Outputs[0]);
        int rank = outLogical.Length;
        Value? anchor = c0 ? Act(n, 1) : Act(n, 0);
        anchor = Unflattened(anchor, n.Name);
        if (anchor.Logical.Length != rank) anchor = EnsureLayout(anchor, Identity(anchor.Logical.Length), n.Name);
        int[] layout = anchor.Logical.Length == rank ? anchor.Layout : Identity(rank);
        if (rank > 4) throw n.Error($"rank-{rank} tensors are not supported (at most 4)");

        IrTensor Operand(int i, Func<float, float> transform)
        {
            if (_g.IsConstant(n.Inputs[i]))
            {
                var c = _g.Initializers[n.Inputs[i]];
                var logical = new int[rank];
                Array.Fill(logical, 1);
                for (int d = 0; d < c.Rank; d++) logical[rank - c.Rank + d] = c.Shape[d];
                var data = PermuteData(c.Floats ?? c.ToFloatArray(), logical, layout);
                for (int j = 0; j < data.Length; j++) data[j] = transform(data[j]);
                return new IrTensor(n.Inputs[i] + "#const" + _temp++, Permute(logical, layout), data);
            }
            var v = Unflattened(Act(n, i), n.Name);
            if (v.Logical.Length != rank)
            {
                // Broadcasting a lower-rank activation: only the trailing-dims case with identity layouts.
                v = EnsureLayout(v, Identity(v.Logical.Length), n.Name);
                if (!Same(layout, Identity(rank))) throw n.Error("broadcasting activations of different ranks in a non-identity layout is not supported");
                var shape = new int[rank];
                Array.Fill(shape, 1);
                for (int d = 0; d < v.Logical.Length; d++) shape[rank - v.Logical.Length + d] = v.Logical[d];
                var rt = NewTensor(v.Tensor.Name + "#r" + _temp++, shape);
                Emit(new IrOp(OpType.Reshape, n.Name, [v.Tensor], rt));
                return rt;
            }
            return EnsureLayout(v, layout, n.Name).Tensor;
        }

        OpType type;
        IrTensor a, b;
        switch (n.OpType)
        {
            case "Add": type = OpType.Add; a = Operand(0, x => x); b = Operand(1, x => x); break;
            case "Sub":
                if (c1) { type = OpType.Add; a = Operand(0, x => x); b = Operand(1, x => -x); }
                else { type = OpType.Sub; a = Operand(0, x => x); b = Operand(1, x => x); }
                break;
            case "Mul": type = OpType.Mul; a = Operand(0, x => x); b = Operand(1, x => x); break;
            default: // Div
                if (!c1) throw n.Error("Div is supported only by a constant divisor");
                type = OpType.Mul; a = Operand(0, x => x);
                b = Operand(1, x => x == 0 ? throw n.Error("division by a constant zero") : 1f / x);
                break;
        }
        var y = NewTensor(n.Outputs[0], Permute(outLogical, layout));
        Emit(new IrOp(type, n.Name, [a, b], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = layout, Logical = outLogical };
    }

    private void Clip(OnnxNode n)
    {
        float lo = float.NegativeInfinity, hi = float.PositiveInfinity;
        if (n.HasAttribute("min")) lo = n.GetFloat("min");
        if (n.HasAttribute("max")) hi = n.GetFloat("max");
        if (n.HasInput(1)) lo = Const(n, 1, "min").Floats![0];
        if (n.HasInput(2)) hi = Const(n, 2, "max").Floats![0];
        if (!(lo <= hi)) throw n.Error($"min {lo} is greater than max {hi}");
        string name = lo == 0 && hi == 6 ? "Relu6" : lo == 0 && float.IsPositiveInfinity(hi) ? "Relu" : $"Clip({lo}, {hi})";
        Unary(n, x => x < lo ? lo : x > hi ? hi : x, name, lo, hi);
    }

    /// <summary>An element-wise function. clampMin/Max are set (not NaN) when it is a pure clamp that can fuse into its producer.</summary>
    private void Unary(OnnxNode n, Func<float, float> f, string name, float clampMin, float clampMax, OpType type = OpType.Lookup)
    {
        var x = Act(n, 0);
        var y = NewTensor(n.Outputs[0], x.Tensor.Shape);
        var op = new IrOp(type, n.Name, [x.Tensor], y) { Unary = f, UnaryName = name };
        if (!float.IsNaN(clampMin)) { op.ActivationMin = clampMin; op.ActivationMax = clampMax; }
        Emit(op);
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = x.Layout, Logical = x.Logical, FlatPermutation = x.FlatPermutation };
    }

    /// <summary>
    /// Softmax over any axis. From opset 13 it normalizes along one axis: the physical layout is
    /// changed (data moved only if it must) so that axis is innermost, and the result keeps that
    /// layout. Before opset 13 the input is viewed as 2-D [prod(dims before axis), prod(dims from
    /// axis)], which in logical order is a plain reshape.
    /// </summary>
    private void Softmax(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        bool coerced = _g.Opset < 13;
        int axis = (int)n.GetInt("axis", coerced ? 1 : -1);
        if (axis < 0) axis += rank;
        if (axis < 0 || axis >= rank) throw n.Error($"axis {n.GetInt("axis")} is out of range for a rank-{rank} input");
        bool trailingUnit = true;
        for (int d = axis + 1; d < rank; d++) if (x.Logical[d] != 1) trailingUnit = false;
        if (coerced && !trailingUnit)
        {
            // [d0 .. d(axis-1) | d(axis) .. ] -> [outer, inner]: softmax over the inner block.
            x = EnsureLayout(x, Identity(rank), n.Name);
            int outer = 1, inner = 1;
            for (int d = 0; d < rank; d++) { if (d < axis) outer *= x.Logical[d]; else inner *= x.Logical[d]; }
            var flat = NewTensor(x.Tensor.Name + "#2d" + _temp++, [outer, inner]);
            Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], flat));
            var soft = NewTensor(n.Outputs[0] + "#2d", [outer, inner]);
            Emit(new IrOp(OpType.Softmax, n.Name, [flat], soft));
            var back = NewTensor(n.Outputs[0], x.Logical);
            Emit(new IrOp(OpType.Reshape, n.Name, [soft], back));
            _values[n.Outputs[0]] = new Value { Tensor = back, Layout = Identity(rank), Logical = x.Logical };
            return;
        }

        int physical = Array.IndexOf(x.Layout, axis);
        bool innermost = true;
        for (int d = physical + 1; d < rank; d++) if (x.Tensor.Shape[d] != 1) innermost = false;
        if (!innermost)
        {
            // Move the axis to the end of the current physical order, the others keeping theirs.
            var layout = new int[rank];
            int k = 0;
            foreach (int l in x.Layout) if (l != axis) layout[k++] = l;
            layout[rank - 1] = axis;
            x = EnsureLayout(x, layout, n.Name);
        }
        var y = NewTensor(n.Outputs[0], x.Tensor.Shape);
        Emit(new IrOp(OpType.Softmax, n.Name, [x.Tensor], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = x.Layout, Logical = x.Logical };
    }

    private void BatchNorm(OnnxNode n)
    {
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        if (!oneD && x.Logical.Length != 4) throw n.Error("a BatchNormalization that could not be folded into a convolution is supported only on [N, C, T] and [N, C, H, W] inputs");
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        float eps = n.GetFloat("epsilon", 1e-5f);
        var gamma = Const(n, 1, "scale").Floats!; var beta = Const(n, 2, "B").Floats!;
        var mean = Const(n, 3, "mean").Floats!; var variance = Const(n, 4, "var").Floats!;
        int c = x.Logical[1];
        var w = new float[c]; var b = new float[c];
        for (int i = 0; i < c; i++)
        {
            w[i] = gamma[i] / MathF.Sqrt(variance[i] + eps);
            b[i] = beta[i] - mean[i] * w[i];
        }
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], x.Tensor.Shape);
        Emit(new IrOp(OpType.DepthwiseConv2D, n.Name, [x.Tensor], y) { Weights = w, WeightShape = [1, 1, 1, c], Bias = b, KernelH = 1, KernelW = 1 });
        _values[n.Outputs[0]] = oneD ? From2D(y, Shape(n.Outputs[0]), n) : new Value { Tensor = y, Layout = Nhwc, Logical = x.Logical };
    }

    private void Pool(OnnxNode n)
    {
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        if (!oneD && x.Logical.Length != 4) throw n.Error($"pooling on a rank-{x.Logical.Length} input is not supported; supported: 1-D [N, C, T] and 2-D [N, C, H, W]");
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        var k = n.GetInts("kernel_shape");
        if (k.Length != (oneD ? 1 : 2)) throw n.Error($"attribute kernel_shape has {k.Length} values; the input has {(oneD ? 1 : 2)} spatial dimensions");
        if (oneD) k = [1, k[0]];
        var outLogical = Shape(n.Outputs[0]);
        var out4 = oneD ? As4D(outLogical) : outLogical;
        bool avg = n.OpType == "AveragePool";
        var (strides, dilations, pads) = Window(n, x.Logical, [(int)k[0], (int)k[1]], out4, allowDilation: !avg, oneD);
        if (dilations[0] != 1 || dilations[1] != 1)
        {
            var yd = DilatedMaxPool(n, x, (int)k[0], (int)k[1], strides, dilations, pads, out4, oneD ? n.Outputs[0] + "#h1" : n.Outputs[0]);
            _values[n.Outputs[0]] = oneD ? From2D(yd, outLogical, n) : new Value { Tensor = yd, Layout = Nhwc, Logical = outLogical };
            return;
        }
        if (avg && n.GetInt("count_include_pad", 0) != 0 && pads.Any(p => p != 0))
        {
            // Padding counted in the average: pad explicitly with zeros and pool without padding.
            var padded = EmitPad(n, x, [0, pads[0], pads[1], 0], [0, pads[2], pads[3], 0], 0f);
            x = padded;
            pads = [0, 0, 0, 0];
        }
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], Permute(out4, Nhwc));
        var op = new IrOp(avg ? OpType.AveragePool2D : OpType.MaxPool2D, n.Name, [x.Tensor], y);
        SetWindow(op, strides, [1, 1], pads, (int)k[0], (int)k[1]);
        if (op.PadTop >= op.KernelH || op.PadBottom >= op.KernelH || op.PadLeft >= op.KernelW || op.PadRight >= op.KernelW)
            throw n.Error("padding as large as the pooling window is not supported");
        Emit(op);
        _values[n.Outputs[0]] = oneD ? From2D(y, outLogical, n) : new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    private void GlobalAveragePool(OnnxNode n)
    {
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        if (!oneD && x.Logical.Length != 4) throw n.Error($"GlobalAveragePool on a rank-{x.Logical.Length} input is not supported; supported: [N, C, T] and [N, C, H, W]");
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        var outLogical = Shape(n.Outputs[0]);
        var out4 = oneD ? As4D(outLogical) : outLogical;
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], Permute(out4, Nhwc));
        Emit(new IrOp(OpType.Mean, n.Name, [x.Tensor], y));
        _values[n.Outputs[0]] = oneD ? From2D(y, outLogical, n) : new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    private void ReduceMean(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        long[]? axes = _g.Opset >= 18 ? (n.HasInput(1) ? ConstInts(n, 1, "axes") : null) : n.GetIntsOrNull("axes");
        var reduced = (axes ?? Enumerable.Range(0, rank).Select(a => (long)a).ToArray()).Select(a => (int)(a < 0 ? a + rank : a)).OrderBy(a => a).ToArray();
        if (rank == 3 && reduced.Length == 1 && reduced[0] == 2)
        {
            var x4 = As2D(x, n.Name);
            var s4 = x4.Tensor.Shape;
            var m4 = NewTensor(n.Outputs[0] + "#h1", [s4[0], 1, 1, s4[3]]);
            Emit(new IrOp(OpType.Mean, n.Name, [x4.Tensor], m4));
            var meanLogical = Shape(n.Outputs[0]);
            if (meanLogical.Length == 3)
            {
                _values[n.Outputs[0]] = From2D(m4, meanLogical, n);
                return;
            }
            // keepdims=0: [N, C] is the same memory as [N, 1, 1, C].
            var flat2 = NewTensor(n.Outputs[0], meanLogical);
            Emit(new IrOp(OpType.Reshape, n.Name, [m4], flat2));
            _values[n.Outputs[0]] = new Value { Tensor = flat2, Layout = Identity(meanLogical.Length), Logical = meanLogical };
            return;
        }
        bool spatialPair = rank == 4 && reduced.Length == 2;
        var physical = spatialPair ? reduced.Select(a => Array.IndexOf(x.Layout, a)).OrderBy(a => a).ToArray() : [];
        if (!spatialPair || ((physical[0] != 1 || physical[1] != 2) && !(reduced[0] == 2 && reduced[1] == 3)))
        {
            ReduceMeanAnyAxes(n, x, reduced);
            return;
        }
        if (physical[0] != 1 || physical[1] != 2)
        {
            // The reduced axes are not H and W of the current layout: they are for the NHWC view.
            x = EnsureLayout(x, Nhwc, n.Name);
        }
        var s = x.Tensor.Shape;
        var y = NewTensor(n.Outputs[0] + (n.GetInt("keepdims", 1) != 0 ? "" : "#mean"), [s[0], 1, 1, s[3]]);
        Emit(new IrOp(OpType.Mean, n.Name, [x.Tensor], y));
        var outLogical = Shape(n.Outputs[0]);
        if (outLogical.Length == 4)
        {
            _values[n.Outputs[0]] = new Value { Tensor = y, Layout = x.Layout, Logical = outLogical };
            return;
        }
        // keepdims=0: [N, C] is the same memory as [N, 1, 1, C].
        var flat = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Reshape, n.Name, [y], flat));
        _values[n.Outputs[0]] = new Value { Tensor = flat, Layout = Identity(outLogical.Length), Logical = outLogical };
    }

    /// <summary>
    /// ReduceMean over any axes but the batch: the data is put in [N, reduced axes, kept axes]
    /// order (moved only if it must), viewed as [N, R, 1, K] (R, K the products of the reduced and
    /// kept dims) and averaged over R by the Mean op (its H x W is R x 1); the result [N, 1, 1, K]
    /// is the output in logical order.
    /// </summary>
    private void ReduceMeanAnyAxes(OnnxNode n, Value x, int[] reduced)
    {
        int rank = x.Logical.Length;
        if (rank < 2) throw n.Error($"ReduceMean of a rank-{rank} tensor is not supported; supported: rank 2 to 4");
        if (reduced.Contains(0) && x.Logical[0] != 1)
            throw n.Error($"ReduceMean over the batch axis 0 of {OnnxTensor.FormatShape(x.Logical)} is not supported");
        var r = reduced.Where(a => a != 0).ToArray();
        var k = Enumerable.Range(1, rank - 1).Where(a => !r.Contains(a)).ToArray();
        int[] layout = [0, .. r, .. k];
        x = EnsureLayout(x, layout, n.Name);
        int rSize = r.Aggregate(1, (p, a) => p * x.Logical[a]);
        int kSize = k.Aggregate(1, (p, a) => p * x.Logical[a]);
        var view = NewTensor(x.Tensor.Name + "#mean_in" + _temp++, [x.Logical[0], rSize, 1, kSize]);
        Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], view));
        var mean = NewTensor(n.Outputs[0] + "#mean", [x.Logical[0], 1, 1, kSize]);
        Emit(new IrOp(OpType.Mean, n.Name, [view], mean));
        var outLogical = Shape(n.Outputs[0]);
        var y = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Reshape, n.Name, [mean], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = Identity(outLogical.Length), Logical = outLogical };
    }

    private void Reshape(OnnxNode n)
    {
        var x = Act(n, 0);
        var outLogical = Shape(n.Outputs[0]);
        if (x.FlatPermutation is not null) x = Unflatten(x, n.Name);
        int[] phys = x.Tensor.Shape;
        bool sameOrder = true;
        // Memory order equals logical order when the non-unit dimensions appear in logical order.
        var nonUnit = x.Layout.Where((l, i) => phys[i] != 1).ToArray();
        for (int i = 1; i < nonUnit.Length; i++) if (nonUnit[i] < nonUnit[i - 1]) sameOrder = false;
        if (!sameOrder)
        {
            bool flattenToFc = x.Logical.Length == 4 && Same(x.Layout, Nhwc) && outLogical.Length == 2
                && outLogical[0] == x.Logical[0] && _g.Consumers(n.Outputs[0]).Count > 0
                && _g.Consumers(n.Outputs[0]).All(c => (c.OpType is "Gemm" && c.GetInt("transA", 0) == 0 || c.OpType == "MatMul") && c.Inputs[0] == n.Outputs[0] && _g.IsConstant(c.InputOrEmpty(1)));
            if (flattenToFc)
            {
                int c = x.Logical[1], h = x.Logical[2], w = x.Logical[3];
                var perm = new int[c * h * w];
                for (int ci = 0; ci < c; ci++)
                    for (int yi = 0; yi < h; yi++)
                        for (int xi = 0; xi < w; xi++)
                            perm[(ci * h + yi) * w + xi] = (yi * w + xi) * c + ci;
                var yf = NewTensor(n.Outputs[0], outLogical);
                Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], yf));
                _values[n.Outputs[0]] = new Value { Tensor = yf, Layout = Identity(2), Logical = outLogical, FlatPermutation = perm };
                return;
            }
            x = EnsureLayout(x, Identity(x.Logical.Length), n.Name);
        }
        var y = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = Identity(outLogical.Length), Logical = outLogical };
    }

    private void Transpose(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        var permAttr = n.GetIntsOrNull("perm");
        int[] p = permAttr is null ? Enumerable.Range(0, rank).Reverse().ToArray() : permAttr.Select(v => (int)v).ToArray();
        if (p.Length != rank) throw n.Error($"attribute perm has {p.Length} values for a rank-{rank} input");
        var inv = new int[rank];
        for (int j = 0; j < rank; j++) inv[p[j]] = j;
        // Relabel: the data stays where it is, only its logical meaning changes.
        var layout = new int[rank];
        for (int i = 0; i < rank; i++) layout[i] = inv[x.Layout[i]];
        _values[n.Outputs[0]] = new Value { Tensor = x.Tensor, Layout = layout, Logical = Shape(n.Outputs[0]) };
    }

    private void Concat(OnnxNode n)
    {
        var outLogical = Shape(n.Outputs[0]);
        int rank = outLogical.Length;
        int axis = (int)n.GetInt("axis");
        if (axis < 0) axis += rank;
        if (rank > 4) throw n.Error($"Concat of rank-{rank} tensors is not supported; supported: rank 1 to 4");
        var first = n.Inputs.Select((name, i) => (name, i)).First(t => !_g.IsConstant(t.name));
        var layout = rank == 4 ? Act(n, first.i).Layout : Identity(rank);
        if (layout.Length != 4 && rank == 4) layout = Nhwc;
        var inputs = new List<IrTensor>();
        for (int i = 0; i < n.Inputs.Count; i++)
        {
            if (_g.IsConstant(n.Inputs[i]))
            {
                var c = _g.Initializers[n.Inputs[i]];
                if (c.Rank != rank) throw n.Error($"constant input {i} must have rank {rank}");
                var data = c.Floats ?? c.ToFloatArray();
                inputs.Add(new IrTensor(n.Inputs[i] + "#const" + _temp++, Pad4(Permute(c.Shape, layout)), PermuteData(data, c.Shape, layout)));
            }
            else
            {
                var t = EnsureLayout(Unflattened(Act(n, i), n.Name), layout, n.Name).Tensor;
                if (rank < 4)
                {
                    // The runtime concatenates rank-4 tensors: view [d0, .., dk] as [d0, .., dk, 1, ..] (same bytes).
                    var t4 = NewTensor(t.Name + "#r4_" + _temp++, Pad4(t.Shape));
                    Emit(new IrOp(OpType.Reshape, n.Name, [t], t4));
                    t = t4;
                }
                inputs.Add(t);
            }
        }
        int physAxis = Array.IndexOf(layout, axis);
        // The runtime op takes at most 4 inputs: longer concatenations are chained (the first
        // input of each link is the previous link's result).
        while (inputs.Count > 4)
        {
            var part = inputs.GetRange(0, 4);
            var shape = (int[])part[0].Shape.Clone();
            shape[physAxis] = part.Sum(t => t.Shape[physAxis]);
            var partial = NewTensor(n.Outputs[0] + "#part" + _temp++, shape);
            Emit(new IrOp(OpType.Concatenation, n.Name, part, partial) { Axis = physAxis });
            inputs.RemoveRange(0, 4);
            inputs.Insert(0, partial);
        }
        var y = NewTensor(n.Outputs[0] + (rank < 4 ? "#r4" : ""), Pad4(Permute(outLogical, layout)));
        Emit(new IrOp(OpType.Concatenation, n.Name, inputs, y) { Axis = physAxis });
        if (rank < 4)
        {
            var yr = NewTensor(n.Outputs[0], outLogical);
            Emit(new IrOp(OpType.Reshape, n.Name, [y], yr));
            y = yr;
        }
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = layout, Logical = outLogical };
    }

    private void Pad(OnnxNode n)
    {
        var mode = n.GetString("mode", "constant");
        if (mode != "constant")
        {
            PadByIndex(n);
            return;
        }
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        if (rank is not (3 or 4)) throw n.Error($"Pad of a rank-{rank} tensor is not supported; supported: rank 3 [N, C, T] and rank 4");
        long[] pads = n.HasInput(1) ? ConstInts(n, 1, "pads") : n.GetInts("pads");
        if (pads.Length != 2 * rank) throw n.Error($"pads has {pads.Length} values, expected {2 * rank}");
        if (pads.Any(p => p < 0)) throw n.Error("negative pads (cropping) are not supported");
        float value = n.HasInput(2) ? Const(n, 2, "constant_value").Floats![0] : n.GetFloat("value", 0f);
        if (rank == 3)
        {
            // [N, C, T] padded as [N, C, 1, T]: the 4-D pads are the 3-D ones with none along H.
            pads = [pads[0], pads[1], 0, pads[2], pads[3], pads[4], 0, pads[5]];
            x = As2D(x, n.Name);
            rank = 4;
        }
        var before = new int[4]; var after = new int[4];
        for (int i = 0; i < 4; i++) { before[i] = (int)pads[x.Layout[i]]; after[i] = (int)pads[rank + x.Layout[i]]; }
        var outLogical = Shape(n.Outputs[0]);
        bool oneD = outLogical.Length == 3;
        var y = EmitPad(n, x, before, after, value, oneD ? n.Outputs[0] + "#h1" : n.Outputs[0]);
        _values[n.Outputs[0]] = oneD ? From2D(y.Tensor, outLogical, n) : new Value { Tensor = y.Tensor, Layout = x.Layout, Logical = outLogical };
    }

    private Value EmitPad(OnnxNode n, Value x, int[] before, int[] after, float value, string? name = null)
    {
        var shape = new int[4];
        for (int i = 0; i < 4; i++) shape[i] = x.Tensor.Shape[i] + before[i] + after[i];
        var y = NewTensor(name ?? n.Name + "#pad" + _temp++, shape);
        Emit(new IrOp(OpType.Pad, n.Name, [x.Tensor], y) { PadBefore = before, PadAfter = after, PadValue = value });
        var logical = new int[4];
        for (int i = 0; i < 4; i++) logical[x.Layout[i]] = shape[i];
        return new Value { Tensor = y, Layout = x.Layout, Logical = logical };
    }

    // ---- helpers --------------------------------------------------------------------------

    /// <summary>The op context of <paramref name="n"/> at conversion time: inferred input shapes and constant values (as the float ops' shape code expects).</summary>
    private Graph.Ops.OpContext Context(OnnxNode n)
    {
        var shapes = new int[]?[n.Inputs.Count];
        var values = new OnnxTensor?[n.Inputs.Count];
        for (int i = 0; i < n.Inputs.Count; i++)
        {
            if (n.Inputs[i].Length == 0) continue;
            if (_g.Initializers.TryGetValue(n.Inputs[i], out var c)) { values[i] = c; shapes[i] = c.Shape; }
            else shapes[i] = Shape(n.Inputs[i]);
        }
        return new Graph.Ops.OpContext(n, _g.Opset, shapes, values);
    }

    /// <summary>
    /// Emits an IndexSelect: output logical index (i0, i1, ..) reads x at (maps[0][i0], maps[1][i1], ..),
    /// or <paramref name="fill"/> where an index is -1. The data keeps x's physical layout; lower ranks are
    /// viewed as rank 4 with trailing 1s. An all-identity selection emits nothing.
    /// </summary>
    private Value Select(OnnxNode n, Value x, int[][] maps, float fill, string outName)
    {
        x = Unflattened(x, n.Name);
        int rank = x.Logical.Length;
        var outLogical = maps.Select(m => m.Length).ToArray();
        bool identity = true;
        for (int d = 0; d < rank && identity; d++)
        {
            if (maps[d].Length != x.Logical[d]) identity = false;
            for (int i = 0; identity && i < maps[d].Length; i++) identity = maps[d][i] == i;
        }
        if (identity) return x;
        var tables = new int[4][];
        for (int i = 0; i < 4; i++) tables[i] = i < rank ? maps[x.Layout[i]] : [0];
        var physOut = Permute(outLogical, x.Layout);
        IrTensor src = x.Tensor;
        if (rank < 4)
        {
            var s4 = NewTensor(src.Name + "#r4_" + _temp++, Pad4(src.Shape));
            Emit(new IrOp(OpType.Reshape, n.Name, [src], s4));
            src = s4;
        }
        var y4 = NewTensor(rank < 4 ? outName + "#r4" : outName, Pad4(physOut));
        Emit(new IrOp(OpType.IndexSelect, n.Name, [src], y4) { IndexTables = tables, IndexFill = fill });
        IrTensor y = y4;
        if (rank < 4)
        {
            y = NewTensor(outName, physOut);
            Emit(new IrOp(OpType.Reshape, n.Name, [y4], y));
        }
        return new Value { Tensor = y, Layout = x.Layout, Logical = outLogical };
    }

    /// <summary>Gives <paramref name="v"/> the logical shape <paramref name="logical"/> (same elements in logical order), moving data only if its layout is not the identity.</summary>
    private Value ReshapeTo(Value v, int[] logical, string name, string nodeName)
    {
        v = EnsureLayout(v, Identity(v.Logical.Length), nodeName);
        if (Same(v.Logical, logical)) return v;
        var y = NewTensor(name, logical);
        Emit(new IrOp(OpType.Reshape, nodeName, [v.Tensor], y));
        return new Value { Tensor = y, Layout = Identity(logical.Length), Logical = logical };
    }

    private static int[] Iota(int n) => Enumerable.Range(0, n).ToArray();

    /// <summary>
    /// Strides, dilations and [top, left, bottom, right] pads of a window op whose input and output
    /// are given as rank-4 logical shapes. A 1-D op (<paramref name="oneD"/>, attributes with one
    /// value per attribute axis) is resolved as 2-D with H = 1: stride, dilation 1 and no padding along H.
    /// </summary>
    private (int[] Strides, int[] Dilations, int[] Pads) Window(OnnxNode n, int[] inLogical, int[] k, int[] outLogical, bool allowDilation, bool oneD = false)
    {
        int spatial = oneD ? 1 : 2;
        var s = n.GetIntsOrNull("strides")?.Select(v => (int)v).ToArray() ?? (oneD ? [1] : [1, 1]);
        var d = n.GetIntsOrNull("dilations")?.Select(v => (int)v).ToArray() ?? (oneD ? [1] : [1, 1]);
        if (s.Length != spatial || d.Length != spatial) throw n.Error($"strides and dilations must have {spatial} values (one per spatial axis)");
        if (oneD) { s = [1, s[0]]; d = [1, d[0]]; }
        if (s.Any(v => v < 1) || d.Any(v => v < 1)) throw n.Error("strides and dilations must be positive");
        if (!allowDilation && (d[0] != 1 || d[1] != 1)) throw n.Error("attribute dilations other than 1 is not supported here");
        string autoPad = n.GetString("auto_pad", "NOTSET");
        int[] pads = [0, 0, 0, 0]; // top, left, bottom, right
        if (autoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            for (int i = 0; i < 2; i++)
            {
                int input = inLogical[2 + i];
                int output = (input + s[i] - 1) / s[i];
                int total = Math.Max(0, (output - 1) * s[i] + (k[i] - 1) * d[i] + 1 - input);
                int small = total / 2, large = total - small;
                pads[i] = autoPad == "SAME_UPPER" ? small : large;
                pads[i + 2] = autoPad == "SAME_UPPER" ? large : small;
            }
        }
        else if (autoPad == "NOTSET")
        {
            var p = n.GetIntsOrNull("pads");
            if (p is not null)
            {
                if (p.Length != 2 * spatial) throw n.Error($"attribute pads has {p.Length} values; expected {2 * spatial}");
                pads = oneD ? [0, (int)p[0], 0, (int)p[1]] : [(int)p[0], (int)p[1], (int)p[2], (int)p[3]];
            }
        }
        else if (autoPad != "VALID")
        {
            throw n.Error($"attribute auto_pad='{autoPad}' is not supported; supported: NOTSET, VALID, SAME_UPPER, SAME_LOWER");
        }
        // ceil_mode (or any mismatch with the inferred output): extend the end padding so floor arithmetic gives the ONNX output size.
        for (int i = 0; i < 2; i++)
        {
            int input = inLogical[2 + i], want = outLogical[2 + i];
            int eff = (k[i] - 1) * d[i] + 1;
            int got = (input + pads[i] + pads[i + 2] - eff) / s[i] + 1;
            if (got < want) pads[i + 2] += (want - 1) * s[i] + eff - (input + pads[i] + pads[i + 2]);
            else if (got > want) throw n.Error($"output size {want} along spatial axis {i} does not match the window arithmetic ({got})");
        }
        return (s, d, pads);
    }

    /// <summary>
    /// Views a rank-3 [N, C, T] value as the NHWC input [N, 1, T, C] of a 2-D op with H = 1: the data
    /// is put in N, T, C order (moved only if it is not already) and reshaped, which is a free alias.
    /// The returned value's logical shape is the 2-D one, [N, C, 1, T].
    /// </summary>
    private Value As2D(Value x, string nodeName)
    {
        x = EnsureLayout(x, Nwc, nodeName);
        var s = x.Tensor.Shape;
        var t4 = NewTensor(x.Tensor.Name + "#h1_" + _temp++, [s[0], 1, s[1], s[2]]);
        Emit(new IrOp(OpType.Reshape, nodeName, [x.Tensor], t4));
        return new Value { Tensor = t4, Layout = Nhwc, Logical = [s[0], s[2], 1, s[1]] };
    }

    /// <summary>The NHWC output [N, 1, T, C] of a 2-D op with H = 1 as the rank-3 value [N, C, T] (stored N, T, C).</summary>
    private Value From2D(IrTensor y4, int[] outLogical, OnnxNode n)
    {
        var y = NewTensor(n.Outputs[0], Permute(outLogical, Nwc));
        Emit(new IrOp(OpType.Reshape, n.Name, [y4], y));
        return new Value { Tensor = y, Layout = Nwc, Logical = outLogical };
    }

    /// <summary>[N, C, T] as the 2-D logical shape [N, C, 1, T].</summary>
    private static int[] As4D(int[] logical3) => [logical3[0], logical3[1], 1, logical3[2]];

    private static void SetWindow(IrOp op, int[] s, int[] d, int[] pads, int kh, int kw)
    {
        op.StrideH = s[0]; op.StrideW = s[1]; op.DilationH = d[0]; op.DilationW = d[1];
        op.PadTop = pads[0]; op.PadLeft = pads[1]; op.PadBottom = pads[2]; op.PadRight = pads[3];
        op.KernelH = kh; op.KernelW = kw;
    }

    private Value Act(OnnxNode n, int i)
    {
        string name = n.InputOrEmpty(i);
        if (name.Length == 0) throw n.Error($"input {i} is missing");
        if (_values.TryGetValue(name, out var v)) return v;
        if (_g.IsConstant(name)) throw n.Error($"input {i} ('{name}') is a constant where an activation is expected; this pattern is not supported");
        throw n.Error($"input {i} ('{name}') is not computed by any earlier node");
    }

    /// <summary>A constant input as float values (integer constants converted).</summary>
    private OnnxTensor Const(OnnxNode n, int i, string what)
    {
        var t = ConstTensor(n, i, what);
        return t.IsFloat ? t : OnnxTensor.FromFloats(t.Shape, t.ToFloatArray());
    }

    /// <summary>A constant integer input (pads, axes).</summary>
    private long[] ConstInts(OnnxNode n, int i, string what)
    {
        var t = ConstTensor(n, i, what);
        return t.Int64s ?? throw n.Error($"{what} (input {i}) must be an integer tensor");
    }

    private OnnxTensor ConstTensor(OnnxNode n, int i, string what)
    {
        string name = n.InputOrEmpty(i);
        if (!_g.Initializers.TryGetValue(name, out var t))
            throw n.Error($"{what} (input {i}, '{name}') must be a constant; computed {what} is not supported");
        return t;
    }

    private int[] Shape(string name)
    {
        if (_g.Shapes.TryGetValue(name, out var s)) return s.Select(d => Math.Max(d, 1)).ToArray();
        throw new ConversionException($"value '{name}' has no inferred shape");
    }

    /// <summary>Makes <paramref name="v"/>'s physical layout <paramref name="layout"/>, emitting a Transpose if data must move.</summary>
    private Value EnsureLayout(Value v, int[] layout, string nodeName)
    {
        v = Unflattened(v, nodeName);
        if (Same(v.Layout, layout)) return v;
        int rank = layout.Length;
        var q = new int[rank];
        for (int i = 0; i < rank; i++) q[i] = Array.IndexOf(v.Layout, layout[i]);
        var shape = Permute(v.Logical, layout);
        // A permutation that moves only unit dimensions needs no data movement.
        var moved = q.Where((src, i) => v.Tensor.Shape[src] != 1).ToArray();
        bool inOrder = true;
        for (int i = 1; i < moved.Length; i++) if (moved[i] < moved[i - 1]) inOrder = false;
        var y = NewTensor(v.Tensor.Name + "#t" + _temp++, shape);
        if (inOrder) Emit(new IrOp(OpType.Reshape, nodeName, [v.Tensor], y));
        else
        {
            if (rank == 4) Emit(new IrOp(OpType.Transpose, nodeName, [v.Tensor], y) { Perm = q });
            else
            {
                // The runtime transposes rank-4 tensors: view the data as [d0, .., 1, 1] (same bytes).
                var x4 = NewTensor(v.Tensor.Name + "#r4_" + _temp++, Pad4(v.Tensor.Shape));
                var y4 = NewTensor(y.Name + "#r4", Pad4(shape));
                var q4 = new[] { 0, 1, 2, 3 };
                for (int i = 0; i < rank; i++) q4[i] = q[i];
                Emit(new IrOp(OpType.Reshape, nodeName, [v.Tensor], x4));
                Emit(new IrOp(OpType.Transpose, nodeName, [x4], y4) { Perm = q4 });
                Emit(new IrOp(OpType.Reshape, nodeName, [y4], y));
            }
        }
        return new Value { Tensor = y, Layout = layout, Logical = v.Logical };
    }

    private Value Unflattened(Value v, string nodeName) => v.FlatPermutation is null ? v : Unflatten(v, nodeName);

    /// <summary>Turns a flattened NHWC value back into C, H, W order with a real transpose.</summary>
    private Value Unflatten(Value v, string nodeName)
    {
        var src = (IrTensor)v.Tensor;
        var producer = _ir.Ops.Last(o => o.Output == src);
        var nhwc = producer.Inputs[0];
        var x = new Value { Tensor = nhwc, Layout = Nhwc, Logical = [nhwc.Shape[0], nhwc.Shape[3], nhwc.Shape[1], nhwc.Shape[2]] };
        x = EnsureLayout(x, Identity(4), nodeName);
        var y = NewTensor(src.Name + "#u" + _temp++, v.Logical);
        Emit(new IrOp(OpType.Reshape, nodeName, [x.Tensor], y));
        return new Value { Tensor = y, Layout = Identity(v.Logical.Length), Logical = v.Logical };
    }

    private static IrTensor NewTensor(string name, int[] shape)
    {
        if (shape.Length > 4)
            throw new ConversionException($"value '{name}' has rank {shape.Length} ({OnnxTensor.FormatShape(shape)}); the runtime supports tensors of rank 1 to 4");
        return new(name, shape.Length == 0 ? [1] : shape);
    }
    private void Emit(IrOp op) => _ir.Ops.Add(op);

    private static int[] Pad4(int[] shape)
    {
        var r = new[] { 1, 1, 1, 1 };
        for (int i = 0; i < shape.Length; i++) r[i] = shape[i];
        return r;
    }

    private static int[] Identity(int rank) => Enumerable.Range(0, rank).ToArray();
    private static bool Same(int[] a, int[] b) => a.AsSpan().SequenceEqual(b);
    private static int[] Permute(int[] logical, int[] layout) => layout.Select(l => logical[l]).ToArray();

    /// <summary>Reorders C-order data of logical shape into the physical layout.</summary>
    private static float[] PermuteData(float[] data, int[] logical, int[] layout)
    {
        int rank = logical.Length;
        if (data.Length == 1) return [data[0]];
        var phys = Permute(logical, layout);
        var logStride = new int[rank];
        int s = 1;
        for (int d = rank - 1; d >= 0; d--) { logStride[d] = s; s *= logical[d]; }
        var result = new float[data.Length];
        var idx = new int[rank];
        for (int i = 0; i < result.Length; i++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++) src += idx[d] * logStride[layout[d]];
            result[i] = data[src];
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++idx[d] < phys[d]) break;
                idx[d] = 0;
            }
        }
        return result;
    }
}
