using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>What structured pruning removed.</summary>
public sealed record StructuredPruningSummary(int ChannelsBefore, int ChannelsRemoved, long MacsBefore, long MacsAfter,
    long WeightsBefore, long WeightsAfter, IReadOnlyList<string> Layers)
{
    public override string ToString()
        => $"structured pruning: removed {ChannelsRemoved} of {ChannelsBefore} prunable channels; MACs {MacsBefore:N0} -> {MacsAfter:N0} "
         + $"({100.0 * (MacsBefore - MacsAfter) / Math.Max(1, MacsBefore):F1}% saved); weights {WeightsBefore:N0} -> {WeightsAfter:N0} "
         + $"({100.0 * (WeightsBefore - WeightsAfter) / Math.Max(1, WeightsBefore):F1}% saved)";
}

/// <summary>
/// Structured pruning of the float graph: whole output channels of a convolution are removed by
/// the L1 norm of their filters, together with everything that carries those channels to the next
/// convolution (a depthwise convolution's channel, pooling and element-wise look-ups pass them
/// through) and the matching input channels of that convolution, which leaves a smaller dense model.
/// A chain is pruned only if the channels reach nothing else (no Add, Concat, Mean, model output):
/// residual and concatenated channels are left alone. The removed channels' mean contribution on the
/// calibration data is folded into the next convolution's bias (bias correction after pruning), so
/// the next layer sees, on average, what it saw before; a 1x1 next layer is refitted by least squares
/// to its output in the unpruned model (the teacher), and so is every later 1x1 stride-1 convolution and
/// fully-connected layer, in graph order, from the input it now gets (no labels, no training loop).
/// </summary>
public static class StructuredPruning
{
    public const int StatisticsSamples = 256;

    /// <summary>Removes <paramref name="fraction"/> of the output channels of every prunable chain (at least one channel is always kept).</summary>
    public static StructuredPruningSummary Apply(IrGraph g, double fraction, IReadOnlyList<float[]> samples)
    {
        long macsBefore = g.TotalMacs, weightsBefore = g.Ops.Sum(o => (long)(o.Weights?.Length ?? 0));
        var consumers = new Dictionary<IrTensor, List<IrOp>>();
        foreach (var op in g.Ops)
            foreach (var t in op.Inputs)
            {
                if (!consumers.TryGetValue(t, out var l)) consumers[t] = l = [];
                l.Add(op);
            }
        var chains = new List<(IrOp Producer, List<IrOp> Through, IrOp Consumer)>();
        foreach (var op in g.Ops)
        {
            if (op.Type != OpType.Conv2D || op.Weights is null) continue;
            var through = new List<IrOp>();
            var t = op.Output;
            IrOp? consumer = null;
            while (true)
            {
                if (g.Outputs.Contains(t) || !consumers.TryGetValue(t, out var users) || users.Count != 1) break;
                var u = users[0];
                if (u.Type == OpType.Conv2D && u.Inputs.Count == 1) { consumer = u; break; }
                bool passes = u.Type switch
                {
                    OpType.DepthwiseConv2D => u.DepthMultiplier == 1,
                    OpType.MaxPool2D or OpType.AveragePool2D or OpType.Logistic or OpType.Tanh or OpType.Lookup => true,
                    _ => false,
                };
                if (!passes) break;
                through.Add(u);
                t = u.Output;
            }
            if (consumer is not null) chains.Add((op, through, consumer));
        }

        // Channel means of each consumer's input, from the unpruned float model.
        var means = new Dictionary<IrOp, double[]>();
        var exec = new IrExecutor(g);
        int used = Math.Min(StatisticsSamples, samples.Count);
        var squares = new Dictionary<IrOp, double[]>();
        var pointwise = new HashSet<IrOp>();
        var sums1 = new Dictionary<IrOp, double[]>();
        foreach (var c in chains)
        {
            int ch = c.Consumer.Inputs[0].Shape[^1];
            means[c.Consumer] = new double[ch];
            squares[c.Consumer] = new double[ch];
            if (IsPointwise(c.Consumer)) pointwise.Add(c.Consumer);
            sums1[c.Consumer] = new double[ch * ch];
        }
        var originals = chains.ToDictionary(c => c.Consumer, _ => new List<float[]>());
        // Layers after the pruned ones whose output can be refitted to the teacher's by least squares (1x1 stride-1
        // convolutions and fully-connected layers): their teacher inputs too.
        var refit = g.Ops.Where(o => Refittable(o) && !originals.ContainsKey(o)).ToList();
        foreach (var o in refit) originals[o] = [];
        for (int s = 0; s < used; s++)
        {
            var values = exec.Run(samples[s]);
            foreach (var o in refit) originals[o].Add(values[o.Inputs[0]]);
            foreach (var c in chains)
            {
                var x = values[c.Consumer.Inputs[0]];
                originals[c.Consumer].Add(x);
                var mm = sums1[c.Consumer];
                var m = means[c.Consumer];
                var sq = squares[c.Consumer];
                int ch = m.Length, positions = x.Length / ch;
                for (int i = 0; i < x.Length; i++)
                {
                    m[i % ch] += x[i] / ((double)positions * used);
                    sq[i % ch] += (double)x[i] * x[i] / ((double)positions * used);
                }
                double wgt = 1.0 / ((double)positions * used);
                for (int p = 0; p < positions; p++)
                    for (int a = 0; a < ch; a++)
                    {
                        double xa = x[p * ch + a] * wgt;
                        if (xa == 0) continue;
                        for (int b = 0; b < ch; b++) mm[a * ch + b] += xa * x[p * ch + b];
                    }
            }
        }

        // Which channels go: greedy backward elimination across all chains. Removing channels K' from a consumer's
        // input and refitting the kept weights by least squares leaves the output error
        // e(K) = Σ_oc w_oc Σ w_ocᵀ − r_ocᵀ Σ_KK⁻¹ r_oc (r_oc = Σ_K· w_oc; Σ the channel covariance; the mean is
        // restored by the bias), measured relative to the consumer's output variance so layers compare. Each
        // step removes the channels whose removal raises that relative error least per channel; every layer
        // keeps a quarter of its channels, and widths that are multiples of 8 stay multiples of 8.
        int before = chains.Sum(c => c.Producer.WeightShape[0]);
        var removeSets = chains.Select(c => new bool[c.Producer.WeightShape[0]]).ToArray();
        var removedPer = new int[chains.Count];
        var covs = new double[chains.Count][];
        var effective = new double[chains.Count][];
        var baseErr = new double[chains.Count];
        var current = new double[chains.Count];
        for (int ci = 0; ci < chains.Count; ci++)
        {
            var consumer = chains[ci].Consumer;
            int cin = chains[ci].Producer.WeightShape[0], rows = consumer.WeightShape[0];
            var cov = new double[cin * cin];
            var sums = sums1[consumer];
            var m = means[consumer];
            for (int a = 0; a < cin; a++)
                for (int b = 0; b < cin; b++) cov[a * cin + b] = sums[a * cin + b] - m[a] * m[b];
            covs[ci] = cov;
            // Taps of a k x k consumer see the same channel statistics: sum them into one weight per channel.
            var we = new double[rows * cin];
            var cw = consumer.Weights!;
            for (int i = 0; i < cw.Length; i++) we[(i / (cw.Length / rows)) * cin + i % cin] += cw[i];
            effective[ci] = we;
            baseErr[ci] = Math.Max(TotalVariance(we, rows, cov, cin), 1e-30);
        }
        int budget = (int)Math.Round(fraction * before, MidpointRounding.AwayFromZero);
        int removedSoFar = 0;
        while (true)
        {
            // One move per chain: its next `quantum` channels, picked one by one (8 at a time where the layer's
            // width is a multiple of 8, so pruned layers keep the widths the int8 SIMD kernels want).
            int bestChain = -1;
            double bestPerChannel = double.MaxValue, bestError = 0;
            List<int>? bestPicks = null;
            for (int ci = 0; ci < chains.Count; ci++)
            {
                int cin = removeSets[ci].Length, rows = chains[ci].Consumer.WeightShape[0];
                int quantum = cin % 8 == 0 ? 8 : 1;
                int minKeep = Math.Max(quantum, (cin + 3) / 4);
                if (cin - removedPer[ci] - quantum < minKeep) continue;
                if (removedSoFar + quantum > budget + quantum / 2) continue;
                var trial = (bool[])removeSets[ci].Clone();
                var picks = new List<int>();
                double e = current[ci];
                for (int q = 0; q < quantum; q++)
                {
                    int pick = -1;
                    double pickErr = double.MaxValue;
                    for (int c = 0; c < cin; c++)
                    {
                        if (trial[c]) continue;
                        trial[c] = true;
                        double ec = Residual(effective[ci], rows, covs[ci], cin, trial) / baseErr[ci];
                        trial[c] = false;
                        if (ec < pickErr) { pickErr = ec; pick = c; }
                    }
                    trial[pick] = true;
                    picks.Add(pick);
                    e = pickErr;
                }
                double perChannel = (e - current[ci]) / quantum;
                if (perChannel < bestPerChannel) { bestPerChannel = perChannel; bestChain = ci; bestPicks = picks; bestError = e; }
            }
            if (bestChain < 0) break;
            foreach (int c in bestPicks!) removeSets[bestChain][c] = true;
            removedPer[bestChain] += bestPicks.Count;
            removedSoFar += bestPicks.Count;
            current[bestChain] = bestError;
        }
        int removedTotal = 0;
        var layers = new List<string>();
        for (int ci = 0; ci < chains.Count; ci++)
        {
            var (producer, through, consumer) = chains[ci];
            int cout = producer.WeightShape[0];
            int remove = removedPer[ci];
            if (remove <= 0) continue;
            var keep = removeSets[ci].Select(r => !r).ToArray();

            var cw = consumer.Weights!;
            int ccout = consumer.WeightShape[0], taps = consumer.WeightShape[1] * consumer.WeightShape[2];
            var mean = means[consumer];
            if (pointwise.Contains(consumer))
            {
                // The teacher's input to this consumer against the input it gets now (earlier chains already pruned).
                var now = new List<float[]>(used);
                var pruned = new IrExecutor(g);
                for (int si = 0; si < used; si++) now.Add(pruned.Run(samples[si])[consumer.Inputs[0]]);
                Reconstruct(consumer, cw, cout, keep, originals[consumer], now);
            }
            else
            {
                // Bias correction: the consumer keeps the removed channels' mean contribution.
                for (int oc = 0; oc < ccout; oc++)
                    for (int tap = 0; tap < taps; tap++)
                        for (int c = 0; c < cout; c++)
                            if (!keep[c]) consumer.Bias![oc] += (float)(cw[(oc * taps + tap) * cout + c] * mean[c]);
            }

            producer.Weights = SelectRows(producer.Weights!, cout, keep);
            producer.Bias = Select(producer.Bias!, keep);
            producer.WeightShape = [cout - remove, .. producer.WeightShape[1..]];
            Narrow(producer.Output, keep);
            foreach (var op in through)
            {
                if (op.Type == OpType.DepthwiseConv2D)
                {
                    op.Weights = SelectInner(op.Weights!, cout, keep);
                    op.Bias = Select(op.Bias!, keep);
                    op.WeightShape = [.. op.WeightShape[..3], cout - remove];
                }
                Narrow(op.Output, keep);
            }
            consumer.Weights = SelectInner(cw, cout, keep);
            consumer.WeightShape = [.. consumer.WeightShape[..3], cout - remove];
            removedTotal += remove;
            layers.Add($"{producer.Name}: {remove} of {cout} channels");
        }
        // Downstream of the first pruned layer, every refittable layer is refitted to its teacher output from the
        // input it now gets (in graph order, so each one also absorbs what the earlier refits could not match).
        int first = g.Ops.FindIndex(o => chains.Any(c => c.Producer == o && removedPer[chains.IndexOf(c)] > 0));
        if (first >= 0)
            for (int i = first + 1; i < g.Ops.Count; i++)
            {
                var o = g.Ops[i];
                if (!refit.Contains(o)) continue;
                int cin = o.WeightShape[^1];
                var now = new List<float[]>(used);
                var current2 = new IrExecutor(g);
                for (int si = 0; si < used; si++) now.Add(current2.Run(samples[si])[o.Inputs[0]]);
                Reconstruct(o, o.Weights!, cin, Enumerable.Repeat(true, cin).ToArray(), originals[o], now);
            }
        return new StructuredPruningSummary(before, removedTotal, macsBefore, g.TotalMacs, weightsBefore,
            g.Ops.Sum(o => (long)(o.Weights?.Length ?? 0)), layers);
    }

    /// <summary>Σ_oc w_oc Σ w_ocᵀ: the variance of the consumer's (tap-summed) output.</summary>
    private static double TotalVariance(double[] w, int rows, double[] cov, int cin)
    {
        double t = 0;
        for (int oc = 0; oc < rows; oc++)
            for (int a = 0; a < cin; a++)
            {
                double wa = w[oc * cin + a];
                if (wa == 0) continue;
                for (int b = 0; b < cin; b++) t += wa * cov[a * cin + b] * w[oc * cin + b];
            }
        return t;
    }

    /// <summary>The output variance left unexplained when the <paramref name="removed"/> channels go and the rest are refitted.</summary>
    private static double Residual(double[] w, int rows, double[] cov, int cin, bool[] removed)
    {
        var kept = Enumerable.Range(0, cin).Where(c => !removed[c]).ToArray();
        int k = kept.Length;
        if (k == cin) return 0;
        var s = new double[k * k];
        double trace = 0;
        for (int i = 0; i < k; i++) trace += cov[kept[i] * cin + kept[i]];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) s[i * k + j] = cov[kept[i] * cin + kept[j]] + (i == j ? 1e-3 * trace / k + 1e-12 : 0);
        var l = Cholesky(s, k);
        double explained = 0;
        var r = new double[k];
        for (int oc = 0; oc < rows; oc++)
        {
            for (int j = 0; j < k; j++)
            {
                double v = 0;
                for (int a = 0; a < cin; a++) v += cov[kept[j] * cin + a] * w[oc * cin + a];
                r[j] = v;
            }
            var sol = CholeskySolve(l, k, r);
            for (int j = 0; j < k; j++) explained += r[j] * sol[j];
        }
        return TotalVariance(w, rows, cov, cin) - explained;
    }

    /// <summary>A layer whose output is a linear map of its input at each position: a 1x1 stride-1 unpadded convolution or a fully-connected layer.</summary>
    private static bool Refittable(IrOp op) => op.Weights is not null && op.Inputs.Count == 1
        && ((op.Type == OpType.Conv2D && IsPointwise(op) && op.StrideH == 1 && op.StrideW == 1) || op.Type == OpType.FullyConnected);

    private static bool IsPointwise(IrOp op) => op.WeightShape[1] == 1 && op.WeightShape[2] == 1 && op.PadTop + op.PadLeft + op.PadBottom + op.PadRight == 0;

    /// <summary>
    /// Bias correction for a 1x1 consumer, generalised to least squares against the teacher: the kept input
    /// channels' weights and the bias are refitted so that the consumer's output from its current input
    /// (x, kept channels K, earlier layers already pruned) best matches its output in the unpruned model
    /// (x°): W'_K = W Cov(x°, x_K) Cov(x_K)⁻¹ and b' = b + W E[x°] − W'_K E[x_K]. This keeps the removed
    /// channels' mean, whatever of their variation the kept channels explain, and undoes drift from upstream.
    /// </summary>
    private static void Reconstruct(IrOp consumer, float[] w, int cin, bool[] keep, List<float[]> teacher, List<float[]> student)
    {
        int cout = consumer.WeightShape[0];
        var kept = Enumerable.Range(0, cin).Where(c => keep[c]).ToArray();
        int k = kept.Length;
        var muO = new double[cin];
        var muN = new double[k];
        var cross = new double[cin * k];
        var ss = new double[k * k];
        long count = 0;
        var xk = new double[k];
        for (int si = 0; si < teacher.Count; si++)
        {
            var xo = teacher[si];
            var xn = student[si];
            int positions = xo.Length / cin;
            for (int p = 0; p < positions; p++)
            {
                for (int j = 0; j < k; j++) xk[j] = xn[p * cin + kept[j]];
                for (int a = 0; a < cin; a++)
                {
                    double v = xo[p * cin + a];
                    muO[a] += v;
                    if (v == 0) continue;
                    for (int j = 0; j < k; j++) cross[a * k + j] += v * xk[j];
                }
                for (int i = 0; i < k; i++)
                {
                    muN[i] += xk[i];
                    if (xk[i] == 0) continue;
                    for (int j = 0; j < k; j++) ss[i * k + j] += xk[i] * xk[j];
                }
                count++;
            }
        }
        for (int a = 0; a < cin; a++) muO[a] /= count;
        for (int j = 0; j < k; j++) muN[j] /= count;
        for (int a = 0; a < cin; a++)
            for (int j = 0; j < k; j++) cross[a * k + j] = cross[a * k + j] / count - muO[a] * muN[j];
        double trace = 0;
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) ss[i * k + j] = ss[i * k + j] / count - muN[i] * muN[j];
        for (int i = 0; i < k; i++) trace += ss[i * k + i];
        // A little damping: channels the data never moves get their teacher weights' share, not arbitrary ones.
        for (int i = 0; i < k; i++) ss[i * k + i] += 1e-3 * trace / k + 1e-12;
        var l = Cholesky(ss, k);
        var rhs = new double[k];
        for (int oc = 0; oc < cout; oc++)
        {
            for (int j = 0; j < k; j++)
            {
                double v = 0;
                for (int a = 0; a < cin; a++) v += w[oc * cin + a] * cross[a * k + j];
                rhs[j] = v;
            }
            var sol = CholeskySolve(l, k, rhs);
            double shift = 0;
            for (int a = 0; a < cin; a++) shift += w[oc * cin + a] * muO[a];
            for (int j = 0; j < k; j++) shift -= sol[j] * muN[j];
            consumer.Bias![oc] += (float)shift;
            for (int j = 0; j < k; j++) w[oc * cin + kept[j]] = (float)sol[j];
        }
    }

    private static double[] Cholesky(double[] a, int n)
    {
        var l = new double[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j <= i; j++)
            {
                double sum = a[i * n + j];
                for (int p = 0; p < j; p++) sum -= l[i * n + p] * l[j * n + p];
                l[i * n + j] = i == j ? Math.Sqrt(Math.Max(sum, 1e-18)) : sum / l[j * n + j];
            }
        return l;
    }

    private static double[] CholeskySolve(double[] l, int n, double[] b)
    {
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            double sum = b[i];
            for (int p = 0; p < i; p++) sum -= l[i * n + p] * y[p];
            y[i] = sum / l[i * n + i];
        }
        var x = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double sum = y[i];
            for (int p = i + 1; p < n; p++) sum -= l[p * n + i] * x[p];
            x[i] = sum / l[i * n + i];
        }
        return x;
    }

    private static void Narrow(IrTensor t, bool[] keep) => t.Shape = [.. t.Shape[..^1], keep.Count(k => k)];

    private static float[] Select(float[] v, bool[] keep) => v.Where((_, i) => keep[i]).ToArray();

    /// <summary>Keeps whole rows (dimension 0) of a [rows, ...] array.</summary>
    private static float[] SelectRows(float[] w, int rows, bool[] keep)
    {
        int per = w.Length / rows;
        var r = new List<float>(w.Length);
        for (int c = 0; c < rows; c++)
            if (keep[c]) r.AddRange(w.AsSpan(c * per, per).ToArray());
        return r.ToArray();
    }

    /// <summary>Keeps entries of the innermost dimension (of size <paramref name="inner"/>).</summary>
    private static float[] SelectInner(float[] w, int inner, bool[] keep)
    {
        var r = new List<float>(w.Length);
        for (int i = 0; i < w.Length; i++)
            if (keep[i % inner]) r.Add(w[i]);
        return r.ToArray();
    }
}
