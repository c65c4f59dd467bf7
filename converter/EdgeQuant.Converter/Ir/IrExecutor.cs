using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

/// <summary>
/// Runs the lowered graph in float (NHWC, batch 1). Used for calibration (every activation is
/// observed) and, with <see cref="Simulation"/> set, as the quantized float simulation: weights
/// and bias are replaced by their dequantized int8/int32 values and every activation is rounded
/// to its int8 grid (quantize then dequantize), so the result predicts the int8 runtime.
/// </summary>
public sealed class IrExecutor
{
    /// <summary>What the simulation needs from the quantizer.</summary>
    public interface IQuantSimulation
    {
        (float Scale, int ZeroPoint) Activation(IrTensor t);
        /// <summary>Dequantized weights and bias of a conv / depthwise / fully-connected op.</summary>
        (float[] Weights, float[] Bias) Parameters(IrOp op);
        /// <summary>Integer clamp bounds of an op's output.</summary>
        (int Min, int Max) Clamp(IrOp op);
        /// <summary>The dequantized values of a constant operand.</summary>
        float[] Constant(IrTensor t);

        /// <summary>
        /// When true, ops whose runtime arithmetic ends in a fixed-point rescale (Conv2D, DepthwiseConv2D,
        /// FullyConnected, Mean) are rounded as the runtime rounds: the accumulator the float values imply is
        /// rescaled with the op's multiplier and shift. Otherwise outputs are rounded from float.
        /// </summary>
        bool ExactRequantization { get; }

        /// <summary>Dequantized outputs from pre-activation float accumulators, rescaled as the runtime does (see <see cref="ExactRequantization"/>).</summary>
        float[] Requantize(IrOp op, float[] preActivation);
    }

    private readonly IrGraph _g;
    public IQuantSimulation? Simulation { get; init; }

    public IrExecutor(IrGraph graph) => _g = graph;

    /// <summary>
    /// Runs one sample. <paramref name="input"/> is the input in physical (NHWC) order (a model with several inputs takes them back to back, in model input order). Every
    /// activation, including the input, is passed to <paramref name="observe"/> if given. Returns the values of all tensors.
    /// </summary>
    public Dictionary<IrTensor, float[]> Run(float[] input, Action<IrTensor, float[]>? observe = null)
    {
        var values = new Dictionary<IrTensor, float[]>();
        int total = _g.InputElementCount;
        if (input.Length != total) throw new ConversionException($"input has {input.Length} values, the model takes {total}{(_g.Inputs.Count > 1 ? $" (its {_g.Inputs.Count} inputs back to back)" : "")}");
        int offset = 0;
        foreach (var inT in _g.Inputs)
        {
            // Several inputs arrive back to back in model input order (see IrGraph.InputElementCount).
            var x = _g.Inputs.Count == 1 ? input : input.AsSpan(offset, inT.ElementCount).ToArray();
            offset += inT.ElementCount;
            if (Simulation is not null) x = RoundToGrid(inT, (float[])x.Clone(), null);
            values[inT] = x;
            observe?.Invoke(inT, x);
        }
        foreach (var op in _g.Ops)
        {
            var y = RunOp(op, values);
            values[op.Output] = y;
            observe?.Invoke(op.Output, y);
        }
        return values;
    }

    /// <summary>Evaluates one op on the given values (rounded to the int8 grid when simulating).</summary>
    public float[] RunOp(IrOp op, Dictionary<IrTensor, float[]> values)
    {
        var y = Eval(op, values);
        if (Exact(op)) return Simulation!.Requantize(op, y);
        if (Simulation is not null && op.Type is not (OpType.Reshape or OpType.Transpose)) y = RoundToGrid(op.Output, y, op);
        return y;
    }

    private bool Exact(IrOp op) => Simulation is { ExactRequantization: true }
        && op.Type is OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected or OpType.Mean;

    private float[] RoundToGrid(IrTensor t, float[] v, IrOp? op)
    {
        var (scale, zp) = Simulation!.Activation(t);
        var (lo, hi) = op is null ? (-128, 127) : Simulation.Clamp(op);
        for (int i = 0; i < v.Length; i++)
        {
            int q = Runtime.Math.QuantMath.QuantizeS8(v[i], scale, zp);
            q = Math.Clamp(q, lo, hi);
            v[i] = (q - zp) * scale;
        }
        return v;
    }

    /// <summary>The int8 codes of a simulated value.</summary>
    public sbyte[] Codes(IrTensor t, float[] v)
    {
        var (scale, zp) = Simulation!.Activation(t);
        var r = new sbyte[v.Length];
        for (int i = 0; i < v.Length; i++) r[i] = Runtime.Math.QuantMath.QuantizeS8(v[i], scale, zp);
        return r;
    }

    private float[] Get(IrTensor t, Dictionary<IrTensor, float[]> values)
    {
        if (t.IsConstant) return Simulation is not null ? Simulation.Constant(t) : t.Data!;
        return values[t];
    }

    private float[] Eval(IrOp op, Dictionary<IrTensor, float[]> values) => Eval(op, values, Exact(op));

    /// <summary>A conv / depthwise / fully-connected op's accumulator in float before its activation clamp (dequantized parameters when simulating).</summary>
    public float[] PreActivation(IrOp op, Dictionary<IrTensor, float[]> values) => Eval(op, values, raw: true);

    private float[] Eval(IrOp op, Dictionary<IrTensor, float[]> values, bool raw)
    {
        var x = Get(op.Inputs[0], values);
        var y = new float[op.Output.ElementCount];
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
            {
                var (w, b) = Simulation is not null ? Simulation.Parameters(op) : (op.Weights!, op.Bias!);
                Conv(op, x, op.Inputs[0].Shape4(), w, b, y, op.Output.Shape4(), op.Type == OpType.DepthwiseConv2D, raw);
                break;
            }
            case OpType.FullyConnected:
            {
                var (w, b) = Simulation is not null ? Simulation.Parameters(op) : (op.Weights!, op.Bias!);
                int cout = op.WeightShape[0], cin = op.WeightShape[1];
                int rows = x.Length / cin;
                for (int r = 0; r < rows; r++)
                    for (int o = 0; o < cout; o++)
                    {
                        double acc = b[o];
                        for (int i = 0; i < cin; i++) acc += (double)x[r * cin + i] * w[o * cin + i];
                        y[r * cout + o] = raw ? (float)acc : op.Activate((float)acc);
                    }
                break;
            }
            case OpType.Add:
            case OpType.Sub:
            case OpType.Mul:
            {
                var b = Get(op.Inputs[1], values);
                Broadcast(op, x, op.Inputs[0].Shape4(), b, op.Inputs[1].Shape4(), y, op.Output.Shape4());
                break;
            }
            case OpType.MaxPool2D:
            case OpType.AveragePool2D:
                Pool(op, x, op.Inputs[0].Shape4(), y, op.Output.Shape4());
                break;
            case OpType.Mean:
            {
                var s = op.Inputs[0].Shape4();
                int hw = s[1] * s[2], c = s[3];
                for (int n = 0; n < s[0]; n++)
                for (int ch = 0; ch < c; ch++)
                {
                    double acc = 0;
                    for (int i = 0; i < hw; i++) acc += x[(n * hw + i) * c + ch];
                    y[n * c + ch] = (float)(op.Sum ? acc : acc / hw);
                }
                break;
            }
            case OpType.Concatenation:
            {
                var os = op.Output.Shape4();
                int axisOffset = 0;
                foreach (var t in op.Inputs)
                {
                    var v = Get(t, values);
                    var s = t.Shape4();
                    int outer = 1, inner = 1;
                    for (int d = 0; d < op.Axis; d++) outer *= s[d];
                    for (int d = op.Axis + 1; d < 4; d++) inner *= s[d];
                    int chunk = s[op.Axis] * inner;
                    for (int o = 0; o < outer; o++)
                        Array.Copy(v, o * chunk, y, (o * os[op.Axis] + axisOffset) * inner, chunk);
                    axisOffset += s[op.Axis];
                }
                break;
            }
            case OpType.Pad:
            {
                var s = op.Inputs[0].Shape4();
                var os = op.Output.Shape4();
                Array.Fill(y, op.PadValue);
                for (int a = 0; a < s[0]; a++)
                    for (int b = 0; b < s[1]; b++)
                        for (int c = 0; c < s[2]; c++)
                            Array.Copy(x, ((a * s[1] + b) * s[2] + c) * s[3], y,
                                (((a + op.PadBefore[0]) * os[1] + b + op.PadBefore[1]) * os[2] + c + op.PadBefore[2]) * os[3] + op.PadBefore[3], s[3]);
                break;
            }
            case OpType.Reshape:
                Array.Copy(x, y, y.Length);
                break;
            case OpType.Transpose:
            {
                var s = op.Inputs[0].Shape4();
                var os = op.Output.Shape4();
                var stride = new int[4];
                stride[3] = 1;
                for (int d = 2; d >= 0; d--) stride[d] = stride[d + 1] * s[d + 1];
                int i = 0;
                for (int a = 0; a < os[0]; a++)
                    for (int b = 0; b < os[1]; b++)
                        for (int c = 0; c < os[2]; c++)
                            for (int d = 0; d < os[3]; d++, i++)
                                y[i] = x[a * stride[op.Perm[0]] + b * stride[op.Perm[1]] + c * stride[op.Perm[2]] + d * stride[op.Perm[3]]];
                break;
            }
            case OpType.Softmax:
            {
                int depth = op.Inputs[0].Shape[^1];
                for (int r = 0; r < x.Length / depth; r++)
                {
                    float max = float.NegativeInfinity;
                    for (int i = 0; i < depth; i++) max = Math.Max(max, x[r * depth + i]);
                    double sum = 0;
                    for (int i = 0; i < depth; i++) sum += Math.Exp(op.Beta * (x[r * depth + i] - max));
                    for (int i = 0; i < depth; i++) y[r * depth + i] = (float)(Math.Exp(op.Beta * (x[r * depth + i] - max)) / sum);
                }
                break;
            }
            case OpType.IndexSelect:
            {
                var s = op.Inputs[0].Shape4();
                var os = op.Output.Shape4();
                var t = op.IndexTables!;
                int i = 0;
                for (int a = 0; a < os[0]; a++)
                    for (int b = 0; b < os[1]; b++)
                        for (int c = 0; c < os[2]; c++)
                            for (int d = 0; d < os[3]; d++, i++)
                            {
                                int ia = t[0][a], ib = t[1][b], ic = t[2][c], id = t[3][d];
                                y[i] = ia < 0 || ib < 0 || ic < 0 || id < 0 ? op.IndexFill : x[((ia * s[1] + ib) * s[2] + ic) * s[3] + id];
                            }
                break;
            }
            case OpType.BatchMatMul:
            {
                var bv = Get(op.Inputs[1], values);
                var sa = op.Inputs[0].Shape4();
                var sb = op.Inputs[1].Shape4();
                var os = op.Output.Shape4();
                int m = os[2], n = os[3], k = sa[3];
                for (int o0 = 0; o0 < os[0]; o0++)
                    for (int o1 = 0; o1 < os[1]; o1++)
                    {
                        int aBase = ((sa[0] == 1 ? 0 : o0) * sa[1] + (sa[1] == 1 ? 0 : o1)) * m * k;
                        int bBase = ((sb[0] == 1 ? 0 : o0) * sb[1] + (sb[1] == 1 ? 0 : o1)) * n * k;
                        int oBase = (o0 * os[1] + o1) * m * n;
                        for (int i = 0; i < m; i++)
                            for (int j = 0; j < n; j++)
                            {
                                double acc = 0;
                                for (int kk = 0; kk < k; kk++) acc += (double)x[aBase + i * k + kk] * bv[bBase + j * k + kk];
                                y[oBase + i * n + j] = op.Activate((float)(acc * op.Alpha));
                            }
                    }
                break;
            }
            case OpType.Logistic:
            case OpType.Tanh:
            case OpType.Lookup:
                for (int i = 0; i < x.Length; i++) y[i] = op.Unary!(x[i]);
                break;
            case OpType.Lstm:
            case OpType.Gru:
            {
                var spec = op.Recurrent!;
                var s = op.Inputs[0].Shape;
                int dirs = spec.Direction == 2 ? 2 : 1;
                var d = new Graph.Ops.RecurrentOps.Dims(s[0], s[1], s[2], spec.Hidden, dirs, spec.Direction == 1, false);
                var (result, _, _) = Graph.Ops.RecurrentOps.Compute(null, op.Type == OpType.Lstm, d, x, spec.W, spec.R, spec.B, null, null, null, null, float.PositiveInfinity, spec.LinearBeforeReset);
                result.CopyTo(y, 0);
                break;
            }
            case OpType.ArgMax:
            {
                var s = op.Inputs[0].Shape4();
                int outer = 1, inner = 1, n = s[op.Axis];
                for (int d = 0; d < op.Axis; d++) outer *= s[d];
                for (int d = op.Axis + 1; d < 4; d++) inner *= s[d];
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        int b = o * n * inner + i, best = 0;
                        for (int k = 1; k < n; k++)
                        {
                            float v = x[b + k * inner], bv = x[b + best * inner];
                            if (v > bv || (op.SelectLastIndex && v == bv)) best = k;
                        }
                        y[o * inner + i] = best;
                    }
                break;
            }
            default:
                throw new ConversionException($"op {op.Type} ('{op.Name}') has no float implementation");
        }
        return y;
    }

    private static void Conv(IrOp op, float[] x, int[] s, float[] w, float[] bias, float[] y, int[] os, bool depthwise, bool raw)
    {
        int inH = s[1], inW = s[2], cin = s[3];
        int kh = op.WeightShape[1], kw = op.WeightShape[2];
        int outH = os[1], outW = os[2], cout = os[3];
        var acc = new double[cout];
        for (int n = 0; n < s[0]; n++)
        for (int oy = 0; oy < outH; oy++)
            for (int ox = 0; ox < outW; ox++)
            {
                for (int o = 0; o < cout; o++) acc[o] = bias[o];
                for (int ky = 0; ky < kh; ky++)
                {
                    int iy = oy * op.StrideH - op.PadTop + ky * op.DilationH;
                    if ((uint)iy >= (uint)inH) continue;
                    for (int kx = 0; kx < kw; kx++)
                    {
                        int ix = ox * op.StrideW - op.PadLeft + kx * op.DilationW;
                        if ((uint)ix >= (uint)inW) continue;
                        int xb = ((n * inH + iy) * inW + ix) * cin;
                        if (depthwise)
                        {
                            int wb = (ky * kw + kx) * cout;
                            for (int o = 0; o < cout; o++) acc[o] += (double)x[xb + o / op.DepthMultiplier] * w[wb + o];
                        }
                        else
                        {
                            for (int o = 0; o < cout; o++)
                            {
                                int wb = ((o * kh + ky) * kw + kx) * cin;
                                double a = 0;
                                for (int c = 0; c < cin; c++) a += (double)x[xb + c] * w[wb + c];
                                acc[o] += a;
                            }
                        }
                    }
                }
                int yb = ((n * outH + oy) * outW + ox) * cout;
                for (int o = 0; o < cout; o++) y[yb + o] = raw ? (float)acc[o] : op.Activate((float)acc[o]);
            }
    }

    private static void Broadcast(IrOp op, float[] a, int[] sa, float[] b, int[] sb, float[] y, int[] so)
    {
        int i = 0;
        for (int d0 = 0; d0 < so[0]; d0++)
            for (int d1 = 0; d1 < so[1]; d1++)
                for (int d2 = 0; d2 < so[2]; d2++)
                    for (int d3 = 0; d3 < so[3]; d3++, i++)
                    {
                        float va = a[Idx(sa, d0, d1, d2, d3)], vb = b[Idx(sb, d0, d1, d2, d3)];
                        float r = op.Type switch { OpType.Add => va + vb, OpType.Sub => va - vb, _ => va * vb };
                        y[i] = op.Activate(r);
                    }
    }

    private static int Idx(int[] s, int d0, int d1, int d2, int d3)
        => (((s[0] == 1 ? 0 : d0) * s[1] + (s[1] == 1 ? 0 : d1)) * s[2] + (s[2] == 1 ? 0 : d2)) * s[3] + (s[3] == 1 ? 0 : d3);

    private static void Pool(IrOp op, float[] x, int[] s, float[] y, int[] os)
    {
        int inH = s[1], inW = s[2], c = s[3];
        bool max = op.Type == OpType.MaxPool2D;
        for (int n = 0; n < s[0]; n++)
        for (int oy = 0; oy < os[1]; oy++)
            for (int ox = 0; ox < os[2]; ox++)
            {
                int y0 = oy * op.StrideH - op.PadTop, x0 = ox * op.StrideW - op.PadLeft;
                int ys = Math.Max(0, y0), ye = Math.Min(inH, y0 + op.KernelH);
                int xs = Math.Max(0, x0), xe = Math.Min(inW, x0 + op.KernelW);
                for (int ch = 0; ch < c; ch++)
                {
                    double acc = max ? double.NegativeInfinity : 0;
                    for (int iy = ys; iy < ye; iy++)
                        for (int ix = xs; ix < xe; ix++)
                        {
                            float v = x[((n * inH + iy) * inW + ix) * c + ch];
                            acc = max ? Math.Max(acc, v) : acc + v;
                        }
                    if (!max) acc /= (ye - ys) * (xe - xs);
                    y[((n * os[1] + oy) * os[2] + ox) * c + ch] = op.Activate((float)acc);
                }
            }
    }
}
