using System.Diagnostics;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime;

namespace EdgeQuant.Converter.Quantization;

/// <summary>Options of <see cref="MixedPrecisionSearch.Run"/>.</summary>
public sealed class MixedPrecisionSearchOptions
{
    /// <summary>Top-1 points (percent) the assignment may lose against the float model on the data (default 0.2).</summary>
    public double AccuracyBudgetPoints { get; init; } = 0.2;
    /// <summary>
    /// Also require the assignment to be at least as accurate as the all-int8 model on the data (default on), so
    /// mixed precision never loses against the default conversion; the budget then matters only where int8
    /// misses it.
    /// </summary>
    public bool NeverBelowInt8 { get; init; } = true;
    /// <summary>Precisions a layer may be raised to when int8 misses the budget, cheapest first (default int16, then float).</summary>
    public IReadOnlyList<LayerPrecision> Raise { get; init; } = [LayerPrecision.Int16, LayerPrecision.Float];
    /// <summary>Weight encodings a layer may be lowered to while the budget holds (default int4; empty: none).</summary>
    public IReadOnlyList<LayerPrecision> Lower { get; init; } = [LayerPrecision.Int4];
    /// <summary>
    /// A layer lowered to a smaller weight encoding is kept only if the model still gives the all-int8 model's top-1
    /// on all but this many percent of the samples (default: null, the budget). The accuracy on the selection data
    /// alone is a noisy guide: a lowering can flip several predictions each way and still score the same, and
    /// on other data those flips rarely cancel.
    /// </summary>
    public double? MaxChangedPredictionsPercent { get; init; }
    /// <summary>
    /// Split the data inside the search (default on): even-numbered samples are the search part, odd-numbered ones
    /// the validation part. A lowering is kept only if each part on its own stays at least at its int8 accuracy and
    /// changes at most <see cref="MaxChangedPredictionsPercent"/> of its int8 predictions (a lowering whose flips
    /// happen to cancel on one part rarely cancels on the other); a raise only if neither part gets less accurate
    /// and the output SQNR against the float model does not fall. Off: the whole data decides (earlier versions).
    /// </summary>
    public bool ValidationSplit { get; init; } = true;
    /// <summary>
    /// Raise layers only when int8's shortfall against float is larger than the data can attribute to chance (default
    /// on): with b samples that float gets right and int8 wrong and c the other way round, b − c ≥ 2 √(b + c) (a sign
    /// test at about 95%). A shortfall of a sample or two is noise: raising layers then moves the model toward
    /// float's answers on those samples and, on other data, as often away from int8's right ones.
    /// </summary>
    public bool RaiseOnlyWhenSignificant { get; init; } = true;
    /// <summary>Samples (the first N of the data) used for the per-layer sensitivities; 0: all.</summary>
    public int SensitivitySamples { get; init; } = 500;
    /// <summary>Single-thread invokes timed for the latency of the int8 and the chosen model (0: not measured).</summary>
    public int LatencyIterations { get; init; } = 200;
    /// <summary>Progress lines (what is being measured or tried), or null.</summary>
    public Action<string>? Log { get; init; }
}

/// <summary>
/// How much one layer matters: the model with every layer in float except this one, at <see cref="Precision"/>,
/// against the all-float model (accuracy drop in points and SQNR of the model output, dB).
/// </summary>
public sealed record LayerSensitivity(string Layer, string Op, long Macs, LayerPrecision Precision, double Accuracy, double DropPoints, double OutputSqnrDb);

/// <summary>One assignment the search measured (accuracy, blob bytes, percent of samples whose top-1 differs from the all-int8 model's), and whether it kept it.</summary>
public sealed record MixedPrecisionStep(string Change, double Accuracy, int BlobBytes, double ChangedPredictionsPercent, bool Kept)
{
    /// <summary>Accuracy on the search part and on the validation part (<see cref="MixedPrecisionSearchOptions.ValidationSplit"/>; both equal <see cref="Accuracy"/> without it).</summary>
    public double SearchAccuracy { get; init; }
    public double ValidationAccuracy { get; init; }
}

/// <summary>What <see cref="MixedPrecisionSearch.Run"/> found.</summary>
public sealed class MixedPrecisionResult
{
    public required double FloatAccuracy { get; init; }
    public required double Int8Accuracy { get; init; }
    /// <summary>The accuracy the assignment had to reach: float − budget, and at least int8's with <see cref="MixedPrecisionSearchOptions.NeverBelowInt8"/>.</summary>
    public required double Floor { get; init; }
    public required double Accuracy { get; init; }
    /// <summary>
    /// With <see cref="MixedPrecisionSearchOptions.ValidationSplit"/>: the accuracies on the search part (even-numbered
    /// samples) and the validation part (odd-numbered) of the chosen and the all-int8 model; without it all four are
    /// the whole data's.
    /// </summary>
    public required double SearchAccuracy { get; init; }
    public required double ValidationAccuracy { get; init; }
    public required double Int8SearchAccuracy { get; init; }
    public required double Int8ValidationAccuracy { get; init; }
    public required int Samples { get; init; }
    /// <summary>Every layer's precision, by <see cref="MixedPrecision.LayerName"/>.</summary>
    public required IReadOnlyDictionary<string, LayerPrecision> Assignment { get; init; }
    /// <summary>The chosen model: blob, cost, and the assignment keyed by IR op.</summary>
    public required MixedPrecisionBuild Build { get; init; }
    public required MixedPrecisionCost Int8Cost { get; init; }
    public required double Int8MedianUs { get; init; }
    public required double MedianUs { get; init; }
    public required IReadOnlyList<LayerSensitivity> Sensitivities { get; init; }
    public required IReadOnlyList<MixedPrecisionStep> Steps { get; init; }
    /// <summary>Why layers were not raised although int8 misses the floor (<see cref="MixedPrecisionSearchOptions.RaiseOnlyWhenSignificant"/>), or null.</summary>
    public string? Note { get; init; }
    /// <summary>True when the assignment reaches <see cref="Floor"/> (false only if even the best one tried did not).</summary>
    public bool WithinBudget => Accuracy >= Floor - 1e-12;
    /// <summary>The non-int8 layers as <c>--precision</c> takes them ("" when every layer is int8).</summary>
    public string PrecisionArgument => string.Join(",", Assignment.Where(kv => kv.Value != LayerPrecision.Int8).Select(kv => $"{kv.Key}={MixedPrecision.Text(kv.Value)}"));
}

/// <summary>
/// The mixed-precision search (<c>edgequant convert --mixed-precision --data X --labels Y --accuracy-budget POINTS</c>):
/// <list type="number">
/// <item>measures the float and the all-int8 accuracy on the data; the floor is float − budget (and at least int8's);</item>
/// <item>measures each layer's sensitivity: the model with every layer in float but this one lowered to int16, int8 and
/// each <see cref="MixedPrecisionSearchOptions.Lower"/> encoding (accuracy drop and output SQNR against float);</item>
/// <item>if int8 misses the floor, raises layers, most int8-sensitive first, to int16 (then, if still short, to float),
/// keeping each change that does not lower the accuracy, until the floor is reached;</item>
/// <item>lowers layers to the smaller weight encodings, least sensitive and most bytes saved first, keeping each change
/// only while the floor holds and the model changes at most <see cref="MixedPrecisionSearchOptions.MaxChangedPredictionsPercent"/>
/// of the all-int8 model's predictions.</item>
/// </list>
/// The result is the smallest blob the greedy order finds; every accepted step was measured on the runtime itself.
/// </summary>
public static class MixedPrecisionSearch
{
    public static MixedPrecisionResult Run(MixedPrecisionContext ctx, ModelInputs data, long[] labels, MixedPrecisionSearchOptions? options = null)
    {
        var o = options ?? new MixedPrecisionSearchOptions();
        var g = ctx.Model.Ir;
        var layers = ctx.Layers;
        var log = o.Log ?? (_ => { });
        int n = ModelRunner.FromLoaded(ctx.Model).Fit(data)[0].Count;
        if (labels.Length != n) throw new ConversionException($"--labels has {labels.Length} labels, --data {n} samples");

        log($"float model on {n} samples");
        var floatOut = ModelRunner.FromLoaded(ctx.Model).Run(data);
        int classes = floatOut.Length / n;
        double floatAcc = Score(floatOut, classes, labels, n);

        var steps = new List<MixedPrecisionStep>();
        // Part of sample i: 0 search, 1 validation (one part, 0, without the split or with fewer than 2 samples).
        bool split = o.ValidationSplit && n >= 2;
        int Part(int i) => split ? i & 1 : 0;
        int[]? int8Pred = null;
        Measured Measure(Dictionary<IrOp, LayerPrecision> a)
        {
            var b = ctx.Build(a);
            var y = ModelRunner.FromModel(Model.Load(b.Blob)).Run(data);
            var pred = Predictions(y, classes, n);
            var changed = new double[2];
            var count = new int[2];
            for (int i = 0; i < n; i++) count[Part(i)]++;
            if (int8Pred is null) int8Pred = pred;
            else
                for (int i = 0; i < n; i++)
                    if (pred[i] != int8Pred[i]) changed[Part(i)]++;
            for (int k = 0; k < 2; k++) changed[k] = count[k] == 0 ? 0 : 100.0 * changed[k] / count[k];
            return new Measured(Score(y, classes, labels, n), PartScores(pred, labels, split), b, changed, Sqnr(floatOut, y));
        }
        MixedPrecisionStep Step(string change, Measured m, bool kept)
            => new(change, m.Acc, m.B.Blob.Length, Math.Max(m.Changed[0], m.Changed[1]), kept) { SearchAccuracy = m.Parts[0], ValidationAccuracy = m.Parts[split ? 1 : 0] };

        var current = layers.ToDictionary(l => l, _ => LayerPrecision.Int8);
        log("all-int8 model");
        var int8M = Measure(current);
        var (int8Acc, int8Build) = (int8M.Acc, int8M.B);
        double maxChanged = o.MaxChangedPredictionsPercent ?? o.AccuracyBudgetPoints;
        double floor = floatAcc - o.AccuracyBudgetPoints / 100.0;
        if (o.NeverBelowInt8) floor = Math.Max(floor, int8Acc);
        floor -= 1e-9;
        // The budget is a whole-data figure (on a part of a few hundred samples it is below one sample); what each
        // part must hold on its own is the int8 model's accuracy there.
        var partFloors = new double[2];
        for (int k = 0; k < 2; k++) partFloors[k] = (o.NeverBelowInt8 ? int8M.Parts[k] : 0) - 1e-9;
        bool Reaches(Measured m) => m.Acc >= floor;
        bool HoldsOnEachPart(Measured m) => m.Parts[0] >= partFloors[0] && m.Parts[1] >= partFloors[1];

        // Sensitivities against the all-float model, on the first samples.
        int sn = o.SensitivitySamples > 0 ? Math.Min(o.SensitivitySamples, n) : n;
        var sdata = sn == n ? data : Take(data, sn);
        var slabels = labels.AsSpan(0, sn).ToArray();
        var sFloat = floatOut.AsSpan(0, sn * classes).ToArray();
        double sFloatAcc = Score(sFloat, classes, slabels, sn);
        var sens = new List<LayerSensitivity>();
        var lowered = new List<LayerPrecision> { LayerPrecision.Int16, LayerPrecision.Int8 };
        lowered.AddRange(o.Lower);
        foreach (var l in layers)
            foreach (var p in lowered)
            {
                if (!MixedPrecision.Supports(l, p)) continue;
                var a = layers.ToDictionary(x => x, _ => LayerPrecision.Float);
                a[l] = p;
                log($"sensitivity of {MixedPrecision.LayerName(g, l)} at {MixedPrecision.Text(p)}");
                var y = ModelRunner.FromModel(Model.Load(ctx.Build(a).Blob)).Run(sdata);
                double acc = Score(y, classes, slabels, sn);
                sens.Add(new LayerSensitivity(MixedPrecision.LayerName(g, l), l.Type.ToString(), l.Macs, p, acc, Math.Round((sFloatAcc - acc) * 100, 3), Math.Round(Sqnr(sFloat, y), 2)));
            }
        LayerSensitivity? Sens(IrOp l, LayerPrecision p) => sens.FirstOrDefault(s => s.Layer == MixedPrecision.LayerName(g, l) && s.Precision == p);

        var now = int8M;
        string Name(IrOp l) => MixedPrecision.LayerName(g, l);
        string? note = null;
        if (!Reaches(now) && o.RaiseOnlyWhenSignificant)
        {
            var fp = Predictions(floatOut, classes, n);
            int b = 0, c = 0;
            for (int i = 0; i < n; i++)
            {
                bool f = fp[i] == labels[i], q = int8Pred![i] == labels[i];
                if (f && !q) b++;
                if (q && !f) c++;
            }
            if (b - c < 2 * Math.Sqrt(b + c))
                note = $"int8 misses the floor, but float is right where int8 is wrong on {b} samples and wrong where int8 is right on {c}: "
                    + $"a difference of {b - c} is within chance (needs {2 * Math.Sqrt(b + c):F1}), so no layer is raised";
        }
        if (!Reaches(now) && note is null)
        {
            // One precision at a time, over every layer, most int8-sensitive first. A raised layer is kept when the
            // model is no less accurate: a lone int16 layer gains little while its neighbours round to int8, but a
            // run of int16 layers keeps the finer grid from end to end.
            var order = layers.OrderByDescending(l => Sens(l, LayerPrecision.Int8)?.DropPoints ?? 0).ThenBy(l => Sens(l, LayerPrecision.Int8)?.OutputSqnrDb ?? 0).ToList();
            var raised = o.Raise.ToList();
            foreach (var p in o.Raise)
            {
                foreach (var l in order)
                {
                    if (Reaches(now)) break;
                    if (current[l] == p || raised.IndexOf(current[l]) > raised.IndexOf(p)) continue;
                    var trial = new Dictionary<IrOp, LayerPrecision>(current) { [l] = p };
                    log($"raise {Name(l)} to {MixedPrecision.Text(p)}");
                    var m = Measure(trial);
                    // Kept when no part gets less accurate and the output moves toward the float model's (SQNR of the
                    // outputs against float, a continuous measure that a few flipped samples do not decide).
                    bool keep = m.Acc >= now.Acc && m.Parts[0] >= now.Parts[0] && m.Parts[1] >= now.Parts[1] && m.SqnrDb >= now.SqnrDb;
                    steps.Add(Step($"{Name(l)}={MixedPrecision.Text(p)}", m, keep));
                    if (keep) { current = trial; now = m; }
                }
                if (Reaches(now)) break;
            }
        }
        if (Reaches(now))
        {
            foreach (var p in o.Lower)
            {
                var order = layers.Where(l => current[l] == LayerPrecision.Int8 && MixedPrecision.Supports(l, p))
                    .OrderBy(l => Sens(l, p)?.DropPoints ?? double.MaxValue).ThenByDescending(l => l.Weights?.Length ?? 0).ToList();
                foreach (var l in order)
                {
                    var trial = new Dictionary<IrOp, LayerPrecision>(current) { [l] = p };
                    log($"lower {Name(l)} to {MixedPrecision.Text(p)}");
                    var m = Measure(trial);
                    bool keep = Reaches(m) && HoldsOnEachPart(m) && m.Changed[0] <= maxChanged + 1e-9 && m.Changed[1] <= maxChanged + 1e-9 && m.B.Blob.Length < now.B.Blob.Length;
                    steps.Add(Step($"{Name(l)}={MixedPrecision.Text(p)}", m, keep));
                    if (keep) { current = trial; now = m; }
                }
            }
        }

        double int8Us = 0, us = 0;
        if (o.LatencyIterations > 0)
        {
            log("latency");
            int8Us = MedianMicroseconds(int8Build.Blob, o.LatencyIterations);
            us = MedianMicroseconds(now.B.Blob, o.LatencyIterations);
        }
        return new MixedPrecisionResult
        {
            FloatAccuracy = floatAcc, Int8Accuracy = int8Acc, Floor = floor + 1e-9, Accuracy = now.Acc, Samples = n,
            Note = note, SearchAccuracy = now.Parts[0], ValidationAccuracy = now.Parts[split ? 1 : 0],
            Int8SearchAccuracy = int8M.Parts[0], Int8ValidationAccuracy = int8M.Parts[split ? 1 : 0],
            Assignment = layers.ToDictionary(Name, l => current[l]),
            Build = now.B, Int8Cost = int8Build.Cost, Int8MedianUs = int8Us, MedianUs = us, Sensitivities = sens, Steps = steps,
        };
    }

    /// <summary>
    /// Median single-thread time of one Invoke (fast kernels), microseconds, after at least half a second of warm-up:
    /// tiered compilation promotes hot methods to optimized code only after a delay.
    /// </summary>
    public static double MedianMicroseconds(byte[] blob, int iterations)
    {
        var m = Model.Load(blob);
        using var interp = new Interpreter(m);
        long warm = Stopwatch.GetTimestamp();
        for (int i = 0; i < Math.Max(5, iterations / 10) || Stopwatch.GetElapsedTime(warm).TotalMilliseconds < 500; i++) interp.Invoke();
        var t = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long s = Stopwatch.GetTimestamp();
            interp.Invoke();
            t[i] = Stopwatch.GetElapsedTime(s).TotalMicroseconds;
        }
        Array.Sort(t);
        return t[iterations / 2];
    }

    /// <summary>One measured assignment: accuracy on the whole data and on each part, its build, and the percent of each part's int8 predictions it changes.</summary>
    private sealed record Measured(double Acc, double[] Parts, MixedPrecisionBuild B, double[] Changed, double SqnrDb);

    /// <summary>Top-1 accuracy on the even-numbered and the odd-numbered samples (both the whole data's without <paramref name="split"/>).</summary>
    private static double[] PartScores(int[] pred, long[] labels, bool split)
    {
        var right = new int[2];
        var count = new int[2];
        for (int i = 0; i < pred.Length; i++)
        {
            int k = split ? i & 1 : 0;
            count[k]++;
            if (pred[i] == labels[i]) right[k]++;
        }
        if (!split) return [(double)right[0] / count[0], (double)right[0] / count[0]];
        return [(double)right[0] / count[0], (double)right[1] / count[1]];
    }

    private static ModelInputs Take(ModelInputs data, int count)
        => new(data.Sets.Select(s => (s.Name, new SampleSet(s.Data.Data.AsSpan(0, count * s.Data.SampleSize).ToArray(), [count, .. s.Data.Shape[1..]], "first samples of the data"))));

    private static int[] Predictions(float[] outputs, int classes, int n)
    {
        var p = new int[n];
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int k = 1; k < classes; k++) if (outputs[i * classes + k] > outputs[i * classes + best]) best = k;
            p[i] = best;
        }
        return p;
    }

    private static double Score(float[] outputs, int classes, long[] labels, int n)
    {
        int right = 0;
        for (int i = 0; i < n; i++)
        {
            int best = 0;
            for (int k = 1; k < classes; k++) if (outputs[i * classes + k] > outputs[i * classes + best]) best = k;
            if (best == labels[i]) right++;
        }
        return (double)right / n;
    }

    /// <summary>SQNR of <paramref name="y"/> against <paramref name="reference"/>, dB (infinity when equal).</summary>
    private static double Sqnr(float[] reference, float[] y)
    {
        double s = 0, e = 0;
        for (int i = 0; i < reference.Length; i++) { s += (double)reference[i] * reference[i]; double d = reference[i] - y[i]; e += d * d; }
        return e == 0 ? double.PositiveInfinity : 10 * Math.Log10(s / e);
    }
}
