using EdgeQuant.Converter.Calibration;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Converter.Quantization;

/// <summary>Options of post-training static quantization.</summary>
public sealed class QuantizationOptions
{
    /// <summary>Per-channel symmetric int8 weights (default) or one scale per weight tensor.</summary>
    public bool PerChannel { get; init; } = true;

    /// <summary>
    /// Per-channel mean of each activation over the calibration data. When given, each conv /
    /// fully-connected bias is corrected by the expected error the weight rounding introduces,
    /// sum((W - Wq) x E[x]) (bias correction, Nagel et al. 2019), before it is quantized.
    /// </summary>
    public IReadOnlyDictionary<IrTensor, double[]>? ChannelMeans { get; init; }

    /// <summary>
    /// Quantization fixed by the model itself (a QDQ model, <see cref="QdqQuantization"/>): activation
    /// scales and zero points, weight scales and bias codes taken as they are instead of derived
    /// from ranges. Null for plain post-training quantization.
    /// </summary>
    public IFixedQuantization? Fixed { get; init; }
    /// <summary>Storage of conv / depthwise / fully-connected weights (default int8; see <see cref="WeightEncoder"/>).</summary>
    public WeightEncoding Weights { get; init; } = WeightEncoding.Int8;
    /// <summary>Rounding of each weight to its grid (default nearest).</summary>
    public RoundingMode Rounding { get; init; } = RoundingMode.Nearest;
    /// <summary>Per-layer input statistics of the float model, needed by <see cref="RoundingMode.Adaptive"/>.</summary>
    public IReadOnlyDictionary<IrOp, LayerStatistics>? LayerStatistics { get; init; }
    /// <summary>Per Lstm / Gru op, the second moments of its inputs and hidden states in the float model, used by <see cref="RoundingMode.Adaptive"/> with int4 weights.</summary>
    public IReadOnlyDictionary<IrOp, RecurrentStatistics>? RecurrentStatistics { get; init; }
    /// <summary>Fraction of each Conv2D / FullyConnected layer's weights set to zero by magnitude (0: none).</summary>
    public double PruneSparsity { get; init; }
    /// <summary>Which pruned layers are stored as sparse rows (ops 53, 54); see <see cref="SparseStorage"/>.</summary>
    public Packing.SparseStorage Sparse { get; init; } = Packing.SparseStorage.Auto;
}

/// <summary>Quantization of one activation tensor.</summary>
public readonly record struct ActivationQuant(float Scale, int ZeroPoint)
{
    public float Dequantize(int q) => (q - ZeroPoint) * Scale;
}

/// <summary>Quantized parameters of one op.</summary>
public sealed class OpQuant
{
    public sbyte[]? Weights;
    public float[]? WeightScales;
    public int[]? Bias;
    public int[]? Multipliers;
    public int[]? Shifts;
    public int ActivationMin = -128, ActivationMax = 127;
    /// <summary>Softmax: Q23 exp table; Lookup/Logistic/Tanh: int8 table.</summary>
    public int[]? ExpTable;
    public sbyte[]? Table;
    public ElementwiseParams Elementwise;
    public MeanParams Mean;
    public int[]? ConcatMultipliers, ConcatShifts, ConcatOffsets;
    public int PadValue;
    public BatchMatMulParams BatchMatMul;
    /// <summary>How <see cref="Weights"/> (always the decoded int values) are stored.</summary>
    public WeightEncoding Encoding;
    /// <summary>Codebook encodings: the int8 levels (16 or 256) and each weight's index into them.</summary>
    public sbyte[]? Codebook;
    public byte[]? CodebookIndices;
    /// <summary>Pruned: the packer may store the weights as sparse rows.</summary>
    public bool Sparse;
    /// <summary>Lstm / Gru: int8 W and R (per-row symmetric), int32 biases [D, 2, G×H], the row multipliers and the record.</summary>
    public RecurrentQuant? Recurrent;
}

/// <summary>The quantized parameters of an Lstm or Gru op (quantization.md, "Integer LSTM and GRU").</summary>
public sealed class RecurrentQuant
{
    public required sbyte[] W, R;
    public required float WScale, RScale;
    public required int[] Bias, InputMultipliers, InputShifts, RecurrentMultipliers, RecurrentShifts;
    public required RecurrentParams Params;
    /// <summary>
    /// Ops 25-26: W and R are int4 values (−7..7) per gate row, the multipliers are 16-bit packed values,
    /// <see cref="Bias"/> is zero and <see cref="PostBias"/> holds the Q3.12 biases added after each part's rescale.
    /// </summary>
    public bool Int4;
    /// <summary>Int4: the Q3.12 biases [D, 2, G×H] (int16).</summary>
    public int[]? PostBias;
}

/// <summary>
/// Post-training static quantization of a lowered graph (the TFLite int8 scheme): asymmetric int8
/// activations from calibrated ranges, symmetric int8 weights (per channel by default) in [-127, 127],
/// int32 bias with scale input_scale x weight_scale, fixed-point multipliers and shifts.
/// Implements the simulation interface so the float executor can predict the int8 runtime.
/// </summary>
public sealed class QuantizedGraph : IrExecutor.IQuantSimulation
{
    public IrGraph Graph { get; }
    public Dictionary<IrTensor, ActivationQuant> Activations { get; } = [];
    public Dictionary<IrOp, OpQuant> Ops { get; } = [];
    /// <summary>Constant operands (Add/Mul/Concat) as int8 with their quantization.</summary>
    public Dictionary<IrTensor, (sbyte[] Data, ActivationQuant Quant)> Constants { get; } = [];
    public QuantizationOptions Options { get; }

    private QuantizedGraph(IrGraph g, QuantizationOptions options)
    {
        Graph = g;
        Options = options;
    }

    public static ActivationQuant FromRange(float min, float max)
    {
        min = Math.Min(min, 0);
        max = Math.Max(max, 0);
        if (!(max - min > 1e-6f)) max = min + 1e-6f;
        float scale = (max - min) / 255f;
        int zp = (int)Math.Round(-128 - min / scale, MidpointRounding.AwayFromZero);
        return new ActivationQuant(scale, Math.Clamp(zp, -128, 127));
    }

    public static QuantizedGraph Quantize(IrGraph g, IReadOnlyDictionary<IrTensor, Calibration.Range> ranges, QuantizationOptions? options = null)
    {
        var q = new QuantizedGraph(g, options ?? new QuantizationOptions());
        ActivationQuant Range(IrTensor t)
        {
            if (q.Options.Fixed is { } fixedQuant && fixedQuant.TryActivation(t, out var fq)) return fq;
            if (!ranges.TryGetValue(t, out var r)) throw new ConversionException($"tensor '{t.Name}' was not observed during calibration");
            if (!float.IsFinite(r.Min) || !float.IsFinite(r.Max))
                throw new ConversionException($"tensor '{t.Name}' reached [{r.Min}, {r.Max}] on the calibration data: the float model overflows or produces NaN there, so it has no int8 range");
            return FromRange(r.Min, r.Max);
        }
        foreach (var t in g.Inputs) q.Activations[t] = Range(t);
        foreach (var op in g.Ops)
        {
            var inQ = op.Inputs[0].IsConstant ? q.QuantizeConstant(op.Inputs[0]) : q.Activations[op.Inputs[0]];
            ActivationQuant outQ = op.Type switch
            {
                OpType.Softmax or OpType.Logistic => new ActivationQuant(1f / 256, -128),
                OpType.Tanh => new ActivationQuant(1f / 128, 0),
                OpType.ArgMax => new ActivationQuant(1f, -128),
                OpType.MaxPool2D or OpType.AveragePool2D or OpType.Reshape or OpType.Transpose or OpType.Pad or OpType.IndexSelect => inQ,
                OpType.Concatenation when q.Fixed(op.Output) is null && SharedConcatQuant(op, q) is { } shared => shared,
                _ => Range(op.Output),
            };
            q.Activations[op.Output] = outQ;
            q.Ops[op] = q.QuantizeOp(op, inQ, outQ);
        }
        return q;
    }

    /// <summary>A fixed (QDQ) quantization of <paramref name="t"/>, if the model carries one.</summary>
    private ActivationQuant? Fixed(IrTensor t) => Options.Fixed is { } f && f.TryActivation(t, out var fq) ? fq : null;

    /// <summary>
    /// The quantization a Concatenation's output takes from its inputs, as TFLite's concatenation requires: when every
    /// activation input has one and the same quantization and every constant input's values are exact in it (a channel
    /// padding written as a Concat with a zero tensor, as tf2onnx writes BlazeFace's), the output keeps it. Its range
    /// then holds every value the inputs can carry, and the runtime copies the activations instead of rescaling them
    /// (a calibration of the output alone, MSE for example, picks a slightly different range). Null otherwise.
    /// </summary>
    private static ActivationQuant? SharedConcatQuant(IrOp op, QuantizedGraph q)
    {
        ActivationQuant? shared = null;
        foreach (var t in op.Inputs)
        {
            if (t.IsConstant) continue;
            var aq = q.Activations[t];
            if (shared is { } s && s != aq) return null;
            shared = aq;
        }
        if (shared is not { } sq) return null;
        foreach (var t in op.Inputs)
        {
            if (!t.IsConstant) continue;
            foreach (float v in t.Data!)
                if ((QuantMath.QuantizeS8(v, sq.Scale, sq.ZeroPoint) - sq.ZeroPoint) * sq.Scale != v) return null;
        }
        return sq;
    }

    private ActivationQuant QuantizeConstant(IrTensor t)
    {
        if (Constants.TryGetValue(t, out var c)) return c.Quant;
        float lo = 0, hi = 0;
        foreach (float v in t.Data!) { lo = Math.Min(lo, v); hi = Math.Max(hi, v); }
        if (!float.IsFinite(lo) || !float.IsFinite(hi) || t.Data.Any(float.IsNaN))
            throw new ConversionException($"constant '{t.Name}' holds non-finite values (NaN or infinity); it cannot be quantized");
        var aq = FromRange(lo, hi);
        var data = new sbyte[t.Data!.Length];
        for (int i = 0; i < data.Length; i++) data[i] = QuantMath.QuantizeS8(t.Data[i], aq.Scale, aq.ZeroPoint);
        Constants[t] = (data, aq);
        return aq;
    }

    /// <summary>Cell state fractional bits the converter writes: c in [-16, 16) in steps of 2^-11.</summary>
    public const int LstmCellShift = 11;

    /// <summary>
    /// Lstm / Gru: W and R symmetric int8 per gate row, gate pre-activations in Q3.12 (input multiplier
    /// x scale × W row scale × 2^12, recurrent 2^-15 × R row scale × 2^12), biases in the scale of their part.
    /// </summary>
    private RecurrentQuant QuantizeRecurrent(IrOp op, ActivationQuant inQ, ActivationQuant outQ)
        => Options.Weights is WeightEncoding.Int4 or WeightEncoding.Codebook4
            ? QuantizeRecurrentInt4(op, inQ, outQ, Options.Rounding == RoundingMode.Adaptive ? Options.RecurrentStatistics : null)
            : QuantizeRecurrentInt8(op, inQ, outQ);

    /// <summary>
    /// Lstm / Gru with int4 weights (ops 25-26; `--weights int4` and `codebook4`, which has no recurrent codebook):
    /// per gate row symmetric int4 (−7..7) with the row's scale chosen as for int4 filters
    /// (<see cref="Int4Grid.BestScale"/>), the Q3.12 multipliers rounded to 16 bits, the biases in Q3.12
    /// (int16, added after the rescale). With <paramref name="stats"/> (teacher-guided rounding) each row is
    /// rounded up or down to minimise its part's error on the float model's inputs and hidden states.
    /// </summary>
    private static RecurrentQuant QuantizeRecurrentInt4(IrOp op, ActivationQuant inQ, ActivationQuant outQ, IReadOnlyDictionary<IrOp, RecurrentStatistics>? stats)
    {
        var spec = op.Recurrent!;
        int inputs = op.Inputs[0].Shape[2], hidden = spec.Hidden;
        int dirs = spec.Direction == 2 ? 2 : 1, rows = (op.Type == OpType.Lstm ? 4 : 3) * hidden, total = dirs * rows;
        if (spec.W.Concat(spec.R).Concat(spec.B).Any(v => !float.IsFinite(v)))
            throw new ConversionException($"op '{op.Name}' ({op.Type}): weights or biases hold non-finite values; they cannot be quantized");
        RecurrentStatistics? st = null;
        stats?.TryGetValue(op, out st);
        var w = new sbyte[spec.W.Length];
        var r = new sbyte[spec.R.Length];
        var post = new int[dirs * 2 * rows];
        var mx = new int[total];
        var sx = new int[total];
        var mh = new int[total];
        var sh = new int[total];
        float wMax = 0, rMax = 0;
        for (int k = 0; k < total; k++)
        {
            int dir = k / rows;
            float ws = RowScale4(spec.W, k, inputs), rs = RowScale4(spec.R, k, hidden);
            wMax = Math.Max(wMax, ws);
            rMax = Math.Max(rMax, rs);
            RoundRow(spec.W, k * inputs, inputs, ws, w, st?.Input[dir]);
            RoundRow(spec.R, k * hidden, hidden, rs, r, st?.State[dir]);
            double inScale = (double)inQ.Scale * ws, stateScale = rs / 32768.0;
            (mx[k], sx[k]) = Packed16(inScale * 4096);
            (mh[k], sh[k]) = Packed16(stateScale * 4096);
            int row = k % rows;
            post[(dir * 2 * rows) + row] = Q312(spec.B[(dir * 2 * rows) + row]);
            post[(dir * 2 * rows) + rows + row] = Q312(spec.B[(dir * 2 * rows) + rows + row]);
        }

        var (om, os) = Packed16(1.0 / 32768 / outQ.Scale);
        return new RecurrentQuant
        {
            W = w, R = r, WScale = wMax, RScale = rMax, Bias = new int[dirs * 2 * rows], PostBias = post, Int4 = true,
            InputMultipliers = mx, InputShifts = sx, RecurrentMultipliers = mh, RecurrentShifts = sh,
            Params = new RecurrentParams
            {
                HiddenSize = hidden, Direction = spec.Direction, InputOffset = -inQ.ZeroPoint, OutputOffset = outQ.ZeroPoint,
                OutputMultiplier = om, OutputShift = os, CellShift = op.Type == OpType.Lstm ? LstmCellShift : 0,
                LinearBeforeReset = op.Type == OpType.Gru && spec.LinearBeforeReset ? 1 : 0,
            },
        };

        static float RowScale4(float[] v, int row, int n)
        {
            float m = 0;
            for (int i = 0; i < n; i++) m = Math.Max(m, Math.Abs(v[(row * n) + i]));
            return m > 0 ? Int4Grid.BestScale(v, row, n, (c, i) => (c * n) + i, m / 7, 7) : 1f;
        }

        static (int, int) Packed16(double real)
        {
            var (m, e) = QuantMath.QuantizeMultiplier(real);
            return PackedRequant.Round16(m, e);
        }

        static void RoundRow(float[] v, int start, int n, float scale, sbyte[] q, double[]? h)
        {
            if (h is null)
            {
                for (int i = 0; i < n; i++) q[start + i] = (sbyte)Math.Clamp(Math.Round(v[start + i] / scale, MidpointRounding.AwayFromZero), -7, 7);
                return;
            }
            var u = new double[n];
            var keep = new bool[n];
            for (int i = 0; i < n; i++) { u[i] = v[start + i] / scale; keep[i] = true; }
            var rounded = AdaptiveRounding.Round(u, keep, Int4Levels, h);
            for (int i = 0; i < n; i++) q[start + i] = (sbyte)rounded[i];
        }

        static int Q312(float b) => (int)Math.Clamp(Math.Round(b * 4096.0, MidpointRounding.AwayFromZero), short.MinValue, short.MaxValue);
    }

    private static readonly int[] Int4Levels = [-7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7];

    /// <summary>
    /// Lstm / Gru: W and R symmetric int8 per gate row, gate pre-activations in Q3.12 (input multiplier
    /// x scale × W row scale × 2^12, recurrent 2^-15 × R row scale × 2^12), biases in the scale of their part.
    /// </summary>
    private static RecurrentQuant QuantizeRecurrentInt8(IrOp op, ActivationQuant inQ, ActivationQuant outQ)
    {
        var spec = op.Recurrent!;
        int inputs = op.Inputs[0].Shape[2], hidden = spec.Hidden;
        int dirs = spec.Direction == 2 ? 2 : 1, rows = (op.Type == OpType.Lstm ? 4 : 3) * hidden, total = dirs * rows;
        if (spec.W.Concat(spec.R).Concat(spec.B).Any(v => !float.IsFinite(v)))
            throw new ConversionException($"op '{op.Name}' ({op.Type}): weights or biases hold non-finite values; they cannot be quantized");
        var w = new sbyte[spec.W.Length];
        var r = new sbyte[spec.R.Length];
        var bias = new int[dirs * 2 * rows];
        var mx = new int[total];
        var sx = new int[total];
        var mh = new int[total];
        var sh = new int[total];
        float wMax = 0, rMax = 0;
        for (int k = 0; k < total; k++)
        {
            float ws = RowScale(spec.W, k * inputs, inputs), rs = RowScale(spec.R, k * hidden, hidden);
            wMax = Math.Max(wMax, ws);
            rMax = Math.Max(rMax, rs);
            for (int i = 0; i < inputs; i++) w[(k * inputs) + i] = (sbyte)Math.Clamp(Math.Round(spec.W[(k * inputs) + i] / ws, MidpointRounding.AwayFromZero), -127, 127);
            for (int j = 0; j < hidden; j++) r[(k * hidden) + j] = (sbyte)Math.Clamp(Math.Round(spec.R[(k * hidden) + j] / rs, MidpointRounding.AwayFromZero), -127, 127);
            double inScale = (double)inQ.Scale * ws, stateScale = rs / 32768.0;
            (mx[k], sx[k]) = QuantMath.QuantizeMultiplier(inScale * 4096);
            (mh[k], sh[k]) = QuantMath.QuantizeMultiplier(stateScale * 4096);
            int dir = k / rows, row = k % rows;
            bias[(dir * 2 * rows) + row] = BiasCode(spec.B[(dir * 2 * rows) + row] / inScale);
            bias[(dir * 2 * rows) + rows + row] = BiasCode(spec.B[(dir * 2 * rows) + rows + row] / stateScale);
        }

        var (om, os) = QuantMath.QuantizeMultiplier(1.0 / 32768 / outQ.Scale);
        return new RecurrentQuant
        {
            W = w, R = r, WScale = wMax, RScale = rMax, Bias = bias,
            InputMultipliers = mx, InputShifts = sx, RecurrentMultipliers = mh, RecurrentShifts = sh,
            Params = new RecurrentParams
            {
                HiddenSize = hidden, Direction = spec.Direction, InputOffset = -inQ.ZeroPoint, OutputOffset = outQ.ZeroPoint,
                OutputMultiplier = om, OutputShift = os, CellShift = op.Type == OpType.Lstm ? LstmCellShift : 0,
                LinearBeforeReset = op.Type == OpType.Gru && spec.LinearBeforeReset ? 1 : 0,
            },
        };

        static float RowScale(float[] v, int start, int n)
        {
            float m = 0;
            for (int i = 0; i < n; i++) m = Math.Max(m, Math.Abs(v[start + i]));
            return m > 0 ? m / 127 : 1f;
        }

        static int BiasCode(double v) => (int)Math.Clamp(Math.Round(v, MidpointRounding.AwayFromZero), int.MinValue + 1, int.MaxValue);
    }

    private ActivationQuant QuantOf(IrTensor t) => t.IsConstant ? QuantizeConstant(t) : Activations[t];

    private OpQuant QuantizeOp(IrOp op, ActivationQuant inQ, ActivationQuant outQ)
    {
        var r = new OpQuant();
        if (!float.IsNegativeInfinity(op.ActivationMin)) r.ActivationMin = Math.Max(-128, ClampCode(op.ActivationMin, outQ));
        if (!float.IsPositiveInfinity(op.ActivationMax)) r.ActivationMax = Math.Min(127, ClampCode(op.ActivationMax, outQ));
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DepthwiseConv2D:
            case OpType.FullyConnected:
            {
                int cout = op.Type == OpType.DepthwiseConv2D ? op.WeightShape[3] : op.WeightShape[0];
                var w = op.Weights!;
                int per = w.Length / cout;
                var scales = new float[cout];
                // Depthwise weights are [1, Kh, Kw, Cout]: channel is the innermost index.
                Func<int, int, int> index = op.Type == OpType.DepthwiseConv2D ? (c, i) => i * cout + c : (c, i) => c * per + i;
                float globalMax = 0;
                for (int c = 0; c < cout; c++)
                {
                    float m = 0;
                    for (int i = 0; i < per; i++) m = Math.Max(m, Math.Abs(w[index(c, i)]));
                    scales[c] = m;
                    globalMax = Math.Max(globalMax, m);
                }
                if (!float.IsFinite(globalMax) || w.Any(float.IsNaN) || op.Bias!.Any(b => !float.IsFinite(b)))
                    throw new ConversionException($"node '{op.Name}' ({op.Type}): weights or bias hold non-finite values (NaN or infinity); they cannot be quantized");
                for (int c = 0; c < cout; c++)
                {
                    float m = Options.PerChannel ? scales[c] : globalMax;
                    scales[c] = m > 0 ? m / 127f : 1f;
                }
                var qw = new sbyte[w.Length];
                long[]? fixedBias = null;
                if (Options.Fixed is { } fixedQuant && fixedQuant.TryWeights(op, out var fixedScales, out fixedBias))
                    QdqQuantization.WeightCodes(op, w, fixedScales, scales, qw, cout, per, index);
                else
                    for (int c = 0; c < cout; c++)
                        for (int i = 0; i < per; i++)
                        {
                            int k = index(c, i);
                            qw[k] = (sbyte)Math.Clamp((int)MathF.Round(w[k] / scales[c], MidpointRounding.AwayFromZero), -127, 127);
                        }
                r.Weights = qw;
                r.WeightScales = scales;
                if (WeightEncoder.IsActive(Options))
                {
                    WeightEncoder.Encode(op, w, cout, per, index, Options, r);
                    qw = r.Weights;
                    scales = r.WeightScales;
                }
                var correction = BiasCorrection(op, w, qw, scales, cout, per);
                r.Bias = new int[cout];
                r.Multipliers = new int[cout];
                r.Shifts = new int[cout];
                for (int c = 0; c < cout; c++)
                {
                    double biasScale = (double)inQ.Scale * scales[c];
                    r.Bias[c] = (int)Math.Clamp(Math.Round((op.Bias![c] + correction[c]) / biasScale, MidpointRounding.AwayFromZero), int.MinValue + 1, int.MaxValue);
                    if (fixedBias is not null) r.Bias[c] = QdqQuantization.BiasCode(r.Bias[c], fixedBias[c]);
                    (r.Multipliers[c], r.Shifts[c]) = QuantMath.QuantizeMultiplier(biasScale / outQ.Scale);
                    // int4 and codebook layers are written as ops 55-57, whose packed record keeps 16 bits of each
                    // multiplier: round here so the simulation and bias correction see what the runtime computes.
                    if (r.Encoding != WeightEncoding.Int8)
                        (r.Multipliers[c], r.Shifts[c]) = PackedRequant.Round16(r.Multipliers[c], r.Shifts[c]);
                }
                break;
            }
            case OpType.Add:
            case OpType.Sub:
            {
                var aQ = QuantOf(op.Inputs[0]);
                var bQ = QuantOf(op.Inputs[1]);
                const int leftShift = 20;
                double twiceMax = 2.0 * Math.Max(aQ.Scale, bQ.Scale);
                var (m1, s1) = QuantMath.QuantizeMultiplier(aQ.Scale / twiceMax);
                var (m2, s2) = QuantMath.QuantizeMultiplier(bQ.Scale / twiceMax);
                var (mo, so) = QuantMath.QuantizeMultiplier(twiceMax / ((1 << leftShift) * (double)outQ.Scale));
                r.Elementwise = new ElementwiseParams
                {
                    Input1Offset = -aQ.ZeroPoint, Input2Offset = -bQ.ZeroPoint, OutputOffset = outQ.ZeroPoint, LeftShift = leftShift,
                    Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2,
                    OutputMultiplier = mo, OutputShift = so, ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                };
                break;
            }
            case OpType.Mul:
            {
                var aQ = QuantOf(op.Inputs[0]);
                var bQ = QuantOf(op.Inputs[1]);
                var (mo, so) = QuantMath.QuantizeMultiplier((double)aQ.Scale * bQ.Scale / outQ.Scale);
                r.Elementwise = new ElementwiseParams
                {
                    Input1Offset = -aQ.ZeroPoint, Input2Offset = -bQ.ZeroPoint, OutputOffset = outQ.ZeroPoint,
                    OutputMultiplier = mo, OutputShift = so, ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                };
                break;
            }
            case OpType.Mean:
            {
                int hw = op.Inputs[0].Shape[1] * op.Inputs[0].Shape[2];
                var (m, s) = QuantMath.QuantizeMultiplier(inQ.Scale / ((double)outQ.Scale * (op.Sum ? 1 : hw)));
                r.Mean = new MeanParams { InputOffset = -inQ.ZeroPoint, OutputOffset = outQ.ZeroPoint, Multiplier = m, Shift = s };
                break;
            }
            case OpType.Concatenation:
            {
                int n = op.Inputs.Count;
                r.ConcatMultipliers = new int[n]; r.ConcatShifts = new int[n]; r.ConcatOffsets = new int[n];
                for (int i = 0; i < n; i++)
                {
                    var iq = QuantOf(op.Inputs[i]);
                    r.ConcatOffsets[i] = -iq.ZeroPoint;
                    if (iq == outQ) continue; // multiplier 0: copy
                    (r.ConcatMultipliers[i], r.ConcatShifts[i]) = QuantMath.QuantizeMultiplier(iq.Scale / (double)outQ.Scale);
                }
                break;
            }
            case OpType.Pad:
                r.PadValue = QuantMath.QuantizeS8(op.PadValue, inQ.Scale, inQ.ZeroPoint);
                break;
            case OpType.IndexSelect:
                r.PadValue = float.IsNegativeInfinity(op.IndexFill) ? -128 : QuantMath.QuantizeS8(op.IndexFill, inQ.Scale, inQ.ZeroPoint);
                break;
            case OpType.BatchMatMul:
            {
                var bQ = QuantOf(op.Inputs[1]);
                var (mo, so) = QuantMath.QuantizeMultiplier((double)inQ.Scale * bQ.Scale * op.Alpha / outQ.Scale);
                r.BatchMatMul = new BatchMatMulParams
                {
                    Input1Offset = -inQ.ZeroPoint, Input2Offset = -bQ.ZeroPoint, OutputOffset = outQ.ZeroPoint,
                    OutputMultiplier = mo, OutputShift = so, ActivationMin = r.ActivationMin, ActivationMax = r.ActivationMax,
                };
                break;
            }
            case OpType.Softmax:
            {
                r.ExpTable = new int[256];
                for (int d = 0; d < 256; d++)
                    r.ExpTable[d] = (int)Math.Round((1 << 23) * Math.Exp(-op.Beta * inQ.Scale * d));
                break;
            }
            case OpType.Lstm:
            case OpType.Gru:
                r.Recurrent = QuantizeRecurrent(op, inQ, outQ);
                break;
            case OpType.Logistic:
            case OpType.Tanh:
            case OpType.Lookup:
            {
                r.Table = new sbyte[256];
                for (int i = 0; i < 256; i++)
                {
                    float x = inQ.Dequantize(i - 128);
                    r.Table[i] = (sbyte)Math.Clamp((int)QuantMath.QuantizeS8(op.Unary!(x), outQ.Scale, outQ.ZeroPoint), r.ActivationMin, r.ActivationMax);
                }
                break;
            }
        }
        return r;
    }

    /// <summary>Expected output error of the rounded weights, per output channel, from the input's channel means (0 when unknown).</summary>
    private double[] BiasCorrection(IrOp op, float[] w, sbyte[] qw, float[] scales, int cout, int per)
    {
        var corr = new double[cout];
        if (Options.ChannelMeans is null || !Options.ChannelMeans.TryGetValue(op.Inputs[0], out var mean)) return corr;
        int cin = mean.Length;
        for (int k = 0; k < w.Length; k++)
        {
            int c, ic;
            if (op.Type == OpType.DepthwiseConv2D) { c = k % cout; ic = c / op.DepthMultiplier; }
            else { c = k / per; ic = (k % per) % cin; }
            corr[c] += (w[k] - qw[k] * (double)scales[c]) * mean[ic];
        }
        return corr;
    }

    private static int ClampCode(float v, ActivationQuant q)
    {
        double c = Math.Round(v / q.Scale, MidpointRounding.AwayFromZero) + q.ZeroPoint;
        return (int)Math.Clamp(c, -1000, 1000);
    }

    // ---- simulation ---------------------------------------------------------------------

    (float Scale, int ZeroPoint) IrExecutor.IQuantSimulation.Activation(IrTensor t)
    {
        var q = Activations[t];
        return (q.Scale, q.ZeroPoint);
    }

    private readonly Dictionary<IrOp, (float[], float[])> _simParameters = [];

    /// <summary>
    /// A graph with this one's activations and constants whose ops take their parameters from
    /// <paramref name="source"/> where it maps them (mixed precision: one layer's int4 or codebook weights
    /// from the graph quantized that way), and from this graph otherwise. Both must quantize the same IR graph.
    /// </summary>
    internal QuantizedGraph WithOpsFrom(IReadOnlyDictionary<IrOp, QuantizedGraph> source)
    {
        var g = new QuantizedGraph(Graph, Options);
        foreach (var (t, a) in Activations) g.Activations[t] = a;
        foreach (var (t, c) in Constants) g.Constants[t] = c;
        foreach (var (op, r) in Ops) g.Ops[op] = source.TryGetValue(op, out var other) ? other.Ops[op] : r;
        return g;
    }

    /// <summary>Forgets the cached dequantized parameters of <paramref name="op"/> after its bias changed.</summary>
    public void InvalidateSimulation(IrOp op) => _simParameters.Remove(op);

    (float[] Weights, float[] Bias) IrExecutor.IQuantSimulation.Parameters(IrOp op)
    {
        if (_simParameters.TryGetValue(op, out var cached)) return cached;
        var r = Ops[op];
        int cout = r.Bias!.Length;
        int per = r.Weights!.Length / cout;
        var w = new float[r.Weights.Length];
        var b = new float[cout];
        var inQ = Activations[op.Inputs[0]];
        for (int k = 0; k < w.Length; k++)
        {
            int c = op.Type == OpType.DepthwiseConv2D ? k % cout : k / per;
            w[k] = r.Weights[k] * r.WeightScales![c];
        }
        for (int c = 0; c < cout; c++) b[c] = (float)(r.Bias[c] * (double)inQ.Scale * r.WeightScales![c]);
        return _simParameters[op] = (w, b);
    }

    (int Min, int Max) IrExecutor.IQuantSimulation.Clamp(IrOp op) => (Ops[op].ActivationMin, Ops[op].ActivationMax);

    /// <summary>Simulate the runtime's fixed-point rescale exactly (default) instead of rounding from float.</summary>
    public bool ExactRequantization { get; set; } = true;

    float[] IrExecutor.IQuantSimulation.Requantize(IrOp op, float[] pre)
    {
        var r = Ops[op];
        var inQ = Activations[op.Inputs[0]];
        var outQ = Activations[op.Output];
        var y = new float[pre.Length];
        if (op.Type == OpType.Mean)
        {
            int hw = op.Inputs[0].Shape[1] * op.Inputs[0].Shape[2];
            int l = Runtime.Kernels.Mean.HeadroomShift(hw, r.Mean.Shift);
            for (int i = 0; i < pre.Length; i++)
            {
                int acc = (int)Math.Round(pre[i] * (op.Sum ? 1.0 : hw) / inQ.Scale);
                int v = QuantMath.MultiplyByQuantizedMultiplier(acc << l, r.Mean.Multiplier, r.Mean.Shift - l) + outQ.ZeroPoint;
                y[i] = outQ.Dequantize(Math.Clamp(v, -128, 127));
            }
            return y;
        }
        int cout = r.Bias!.Length;
        for (int i = 0; i < pre.Length; i++)
        {
            int c = i % cout;
            int acc = (int)Math.Clamp(Math.Round(pre[i] / ((double)inQ.Scale * r.WeightScales![c])), int.MinValue, int.MaxValue);
            int v = QuantMath.MultiplyByQuantizedMultiplier(acc, r.Multipliers![c], r.Shifts![c]) + outQ.ZeroPoint;
            y[i] = outQ.Dequantize(Math.Clamp(v, r.ActivationMin, r.ActivationMax));
        }
        return y;
    }

    float[] IrExecutor.IQuantSimulation.Constant(IrTensor t)
    {
        var (data, q) = Constants[t];
        var f = new float[data.Length];
        for (int i = 0; i < f.Length; i++) f[i] = q.Dequantize(data[i]);
        return f;
    }
}
