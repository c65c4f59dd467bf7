using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>
/// Second moments of one layer's input windows on the calibration data: H = E[x xᵀ] over the
/// vectors each output channel's weights are dotted with (Conv2D: Kh·Kw·Cin windows in filter
/// order, padding as 0; FullyConnected: input rows; depthwise: one Kh·Kw matrix per channel).
/// </summary>
public sealed class LayerStatistics
{
    public required int Size { get; init; }
    /// <summary>Row-major Size × Size matrices: one for the layer, or one per output channel (depthwise).</summary>
    public required double[][] Matrices { get; init; }

    public double[] For(int channel) => Matrices.Length == 1 ? Matrices[0] : Matrices[channel];
}

/// <summary>
/// Teacher-guided rounding (the objective of AdaRound, Nagel et al. 2020, without labels): each
/// weight is rounded down or up to a neighbouring level so as to minimise the layer's output error
/// against the float teacher on calibration data, E‖(W − s·Q) x‖², which per output channel is the
/// quadratic dᵀ H d in the rounding residuals d (grid units). Where AdaRound relaxes the choice with
/// a rectified sigmoid and gradient descent, this solves the same binary quadratic problem by
/// coordinate descent on the exact objective from the nearest rounding: a flip is taken whenever it
/// lowers dᵀ H d, until a sweep changes nothing. Deterministic, no learning rate, seconds per model.
/// </summary>
public static class AdaptiveRounding
{
    /// <summary>Samples whose layer inputs are collected, and windows kept per layer (evenly spaced).</summary>
    public const int Samples = 64, MaxWindows = 4096, MaxSweeps = 20;

    /// <summary>Nearest level to each value (ties away from zero); 0 where <paramref name="keep"/> is false.</summary>
    public static int[] Nearest(double[] u, bool[] keep, int[] levels)
    {
        var q = new int[u.Length];
        for (int i = 0; i < u.Length; i++)
        {
            if (!keep[i]) continue;
            var (lo, hi) = Neighbours(u[i], levels);
            double dl = u[i] - lo, dh = hi - u[i];
            q[i] = dl < dh ? lo : dh < dl ? hi : (Math.Abs(hi) > Math.Abs(lo) ? hi : lo);
        }
        return q;
    }

    /// <summary>The levels just below and above <paramref name="v"/> (the end level when outside the range).</summary>
    public static (int Lo, int Hi) Neighbours(double v, int[] levels)
    {
        if (v <= levels[0]) return (levels[0], levels[0]);
        if (v >= levels[^1]) return (levels[^1], levels[^1]);
        int a = 0, b = levels.Length - 1;
        while (b - a > 1)
        {
            int m = (a + b) / 2;
            if (levels[m] <= v) a = m; else b = m;
        }
        return (levels[a], levels[b]);
    }

    /// <summary>Up/down choice per weight minimising dᵀ H d, d = u − q; weights with keep false stay 0.</summary>
    public static int[] Round(double[] u, bool[] keep, int[] levels, double[] h)
    {
        int n = u.Length;
        var q = Nearest(u, keep, levels);
        var d = new double[n];
        for (int i = 0; i < n; i++) d[i] = u[i] - q[i];
        var g = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = 0;
            for (int j = 0; j < n; j++) s += h[i * n + j] * d[j];
            g[i] = s;
        }
        for (int sweep = 0; sweep < MaxSweeps; sweep++)
        {
            bool changed = false;
            for (int i = 0; i < n; i++)
            {
                if (!keep[i]) continue;
                var (lo, hi) = Neighbours(u[i], levels);
                int alt = q[i] == lo ? hi : lo;
                if (alt == q[i]) continue;
                double delta = q[i] - alt;
                double gain = 2 * delta * g[i] + delta * delta * h[i * n + i];
                if (gain >= -1e-12) continue;
                q[i] = alt;
                d[i] += delta;
                for (int j = 0; j < n; j++) g[j] += delta * h[j * n + i];
                changed = true;
            }
            if (!changed) break;
        }
        return q;
    }

    /// <summary>Collects <see cref="LayerStatistics"/> of every Conv2D, DepthwiseConv2D and FullyConnected op from the float model.</summary>
    public static Dictionary<IrOp, LayerStatistics> Collect(IrGraph g, IReadOnlyList<float[]> samples)
    {
        var exec = new IrExecutor(g);
        var ops = g.Ops.Where(o => o.Type is OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected).ToList();
        var acc = new Dictionary<IrOp, (double[][] M, int K, long N)>();
        int used = Math.Min(Samples, samples.Count);
        foreach (var op in ops)
        {
            int k = op.Type switch
            {
                OpType.Conv2D => op.WeightShape[1] * op.WeightShape[2] * op.WeightShape[3],
                OpType.DepthwiseConv2D => op.WeightShape[1] * op.WeightShape[2],
                _ => op.WeightShape[1],
            };
            int count = op.Type == OpType.DepthwiseConv2D ? op.WeightShape[3] : 1;
            var m = new double[count][];
            for (int c = 0; c < count; c++) m[c] = new double[k * k];
            acc[op] = (m, k, 0);
        }
        var row = new double[4096];
        for (int s = 0; s < used; s++)
        {
            var values = exec.Run(samples[s]);
            foreach (var op in ops)
            {
                var (m, k, n) = acc[op];
                var x = values[op.Inputs[0]];
                if (row.Length < k) row = new double[k];
                int windows = WindowCount(op, x.Length);
                int step = Math.Max(1, (int)((long)windows * used / MaxWindows));
                int added = 0;
                for (int wi = (s * 7) % step; wi < windows; wi += step)
                {
                    if (op.Type == OpType.DepthwiseConv2D)
                        for (int c = 0; c < m.Length; c++) { Window(op, x, wi, c, row); AddOuter(m[c], row, k); }
                    else { Window(op, x, wi, 0, row); AddOuter(m[0], row, k); }
                    added++;
                }
                acc[op] = (m, k, n + added);
            }
        }
        var result = new Dictionary<IrOp, LayerStatistics>();
        foreach (var op in ops)
        {
            var (m, k, n) = acc[op];
            foreach (var h in m)
            {
                double trace = 0;
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < i; j++) h[j * k + i] = h[i * k + j];
                for (int i = 0; i < k; i++) { h[i * k + i] /= Math.Max(1, n); trace += h[i * k + i]; }
                for (int i = 0; i < k; i++)
                    for (int j = 0; j < k; j++) if (i != j) h[i * k + j] /= Math.Max(1, n);
                // A little damping keeps directions the data never excites from being rounded arbitrarily far.
                double damp = 0.01 * trace / k + 1e-12;
                for (int i = 0; i < k; i++) h[i * k + i] += damp;
            }
            result[op] = new LayerStatistics { Size = k, Matrices = m };
        }
        return result;
    }

    private static int WindowCount(IrOp op, int inputLength)
        => op.Type == OpType.FullyConnected ? inputLength / op.WeightShape[1] : op.Output.Shape[1] * op.Output.Shape[2];

    /// <summary>Window <paramref name="w"/> of the op's input in filter order (channel <paramref name="c"/> for depthwise), padding as 0.</summary>
    private static void Window(IrOp op, float[] x, int w, int c, double[] row)
    {
        if (op.Type == OpType.FullyConnected)
        {
            int cin = op.WeightShape[1];
            for (int i = 0; i < cin; i++) row[i] = x[w * cin + i];
            return;
        }
        var inS = op.Inputs[0].Shape;
        int inH = inS[1], inW = inS[2], ch = inS[3];
        int outW = op.Output.Shape[2];
        int oy = w / outW, ox = w % outW;
        int kh = op.WeightShape[1], kw = op.WeightShape[2];
        int iy0 = oy * op.StrideH - op.PadTop, ix0 = ox * op.StrideW - op.PadLeft;
        int pos = 0;
        for (int ky = 0; ky < kh; ky++)
            for (int kx = 0; kx < kw; kx++)
            {
                int iy = iy0 + ky * op.DilationH, ix = ix0 + kx * op.DilationW;
                bool inside = (uint)iy < (uint)inH && (uint)ix < (uint)inW;
                if (op.Type == OpType.DepthwiseConv2D)
                    row[pos++] = inside ? x[(iy * inW + ix) * ch + c / op.DepthMultiplier] : 0;
                else
                    for (int ic = 0; ic < ch; ic++) row[pos++] = inside ? x[(iy * inW + ix) * ch + ic] : 0;
            }
    }

    /// <summary>Lower triangle (with diagonal) of h += row rowᵀ.</summary>
    private static void AddOuter(double[] h, double[] row, int k)
    {
        for (int i = 0; i < k; i++)
        {
            double ri = row[i];
            if (ri == 0) continue;
            int b = i * k;
            for (int j = 0; j <= i; j++) h[b + j] += ri * row[j];
        }
    }
}

/// <summary>
/// Teacher-guided rounding of an Lstm / Gru op: per direction, the damped second-moment matrices
/// E[x xᵀ] of the op's input at each step (for W's rows) and E[h hᵀ] of the hidden state each step starts
/// from (for R's rows; the plain GRU's candidate rows see r ⊙ h, approximated by h), from the float model.
/// </summary>
public sealed class RecurrentStatistics
{
    public required double[][] Input { get; init; }
    public required double[][] State { get; init; }

    /// <summary>Collects the statistics of every Lstm / Gru op on up to <see cref="AdaptiveRounding.Samples"/> samples.</summary>
    public static Dictionary<IrOp, RecurrentStatistics> Collect(IrGraph g, IReadOnlyList<float[]> samples)
    {
        var result = new Dictionary<IrOp, RecurrentStatistics>();
        var ops = g.Ops.Where(o => o.Type is OpType.Lstm or OpType.Gru).ToList();
        if (ops.Count == 0) return result;
        var exec = new IrExecutor(g);
        var acc = new Dictionary<IrOp, (double[][] X, double[][] H, long N)>();
        foreach (var op in ops)
        {
            int dirs = op.Recurrent!.Direction == 2 ? 2 : 1, inputs = op.Inputs[0].Shape[2], hidden = op.Recurrent.Hidden;
            var x = new double[dirs][];
            var h = new double[dirs][];
            for (int d = 0; d < dirs; d++) { x[d] = new double[inputs * inputs]; h[d] = new double[hidden * hidden]; }
            acc[op] = (x, h, 0);
        }
        int used = Math.Min(AdaptiveRounding.Samples, samples.Count);
        for (int s = 0; s < used; s++)
        {
            var values = exec.Run(samples[s]);
            foreach (var op in ops)
            {
                var (xm, hm, n) = acc[op];
                var spec = op.Recurrent!;
                int steps = op.Inputs[0].Shape[0], batch = op.Inputs[0].Shape[1], inputs = op.Inputs[0].Shape[2], hidden = spec.Hidden;
                int dirs = xm.Length;
                var x = values[op.Inputs[0]];
                var y = values[op.Output];
                var row = new double[Math.Max(inputs, hidden)];
                for (int d = 0; d < dirs; d++)
                {
                    bool reverse = spec.Direction == 1 || d == 1;
                    for (int b = 0; b < batch; b++)
                        for (int t = 0; t < steps; t++)
                        {
                            for (int i = 0; i < inputs; i++) row[i] = x[((t * batch) + b) * inputs + i];
                            Add(xm[d], row, inputs);
                            int prev = reverse ? t + 1 : t - 1;
                            for (int j = 0; j < hidden; j++)
                                row[j] = prev < 0 || prev >= steps ? 0 : y[((((prev * dirs) + d) * batch) + b) * hidden + j];
                            Add(hm[d], row, hidden);
                        }
                }
                acc[op] = (xm, hm, n + ((long)steps * batch));
            }
        }
        foreach (var op in ops)
        {
            var (xm, hm, n) = acc[op];
            foreach (var m in xm.Concat(hm)) Finish(m, n);
            result[op] = new RecurrentStatistics { Input = xm, State = hm };
        }
        return result;

        static void Add(double[] m, double[] row, int k)
        {
            for (int i = 0; i < k; i++)
                for (int j = 0; j < k; j++) m[(i * k) + j] += row[i] * row[j];
        }

        static void Finish(double[] m, long n)
        {
            int k = (int)Math.Round(Math.Sqrt(m.Length));
            double trace = 0;
            for (int i = 0; i < m.Length; i++) m[i] /= Math.Max(1, n);
            for (int i = 0; i < k; i++) trace += m[(i * k) + i];
            double damp = (0.01 * trace / k) + 1e-12;
            for (int i = 0; i < k; i++) m[(i * k) + i] += damp;
        }
    }
}
