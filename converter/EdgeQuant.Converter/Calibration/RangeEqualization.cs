using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Calibration;

/// <summary>
/// Cross-layer range equalization for a depthwise convolution feeding a convolution directly (no
/// activation, clamp or other reader between them), as in MobileNet/BlazeFace blocks. Activations
/// are quantized per tensor, so one depthwise output channel with a range far wider than the
/// others (BlazeFace has channels reaching -275 beside channels within +-5) leaves the others a
/// handful of int8 steps. Because the pair is linear in that channel, scaling depthwise channel i
/// (weights and bias) by s_i and the next convolution's input-channel-i weights by 1 / s_i
/// computes the same function in exact arithmetic. With a_i the largest |value| of channel i on
/// the calibration samples and w_i the largest |weight| the next convolution applies to it,
/// s_i = sqrt(w_i / a_i) (then all scaled by one factor so the widest channel keeps its range)
/// balances the channel's activation range against its weight range (Nagel et al., 2019, with
/// measured activation ranges in place of the depthwise weight ranges).
/// </summary>
public static class RangeEqualization
{
    private const float MaxScale = 1e3f;

    /// <summary>Pairs eligible for equalization: (depthwise op, the convolution reading its output).</summary>
    public static List<(IrOp Depthwise, IrOp Next)> Pairs(IrGraph g)
    {
        var pairs = new List<(IrOp, IrOp)>();
        foreach (var dw in g.Ops)
        {
            if (dw.Type != OpType.DepthwiseConv2D || dw.DepthMultiplier != 1 || dw.Weights is null || dw.Bias is null) continue;
            if (!float.IsNegativeInfinity(dw.ActivationMin) || !float.IsPositiveInfinity(dw.ActivationMax)) continue;
            if (g.Outputs.Contains(dw.Output)) continue;
            var readers = g.Ops.Where(o => o.Inputs.Contains(dw.Output)).ToList();
            if (readers.Count != 1) continue;
            var next = readers[0];
            if (next.Type != OpType.Conv2D || next.Inputs.Count != 1 || next.Weights is null) continue;
            pairs.Add((dw, next));
        }
        return pairs;
    }

    /// <summary>
    /// Equalizes every eligible pair of <paramref name="g"/> in place, measuring channel ranges on
    /// <paramref name="samples"/> (physical layout). Returns the number of pairs changed. Applies once
    /// per graph: a graph already equalized is left as it is.
    /// </summary>
    public static int Apply(IrGraph g, IReadOnlyList<float[]> samples)
    {
        if (g.Equalized) return 0;
        g.Equalized = true;
        var pairs = Pairs(g);
        if (pairs.Count == 0 || samples.Count == 0) return 0;
        var ranges = pairs.ToDictionary(p => p.Depthwise.Output, p => new float[p.Depthwise.Output.Shape[^1]]);
        var exec = new IrExecutor(g);
        foreach (var x in samples)
        {
            exec.Run(x, (t, v) =>
            {
                if (!ranges.TryGetValue(t, out var r)) return;
                int c = r.Length;
                for (int i = 0; i < v.Length; i++) r[i % c] = Math.Max(r[i % c], Math.Abs(v[i]));
            });
        }

        foreach (var (dw, next) in pairs)
        {
            var a = ranges[dw.Output];
            int c = a.Length;
            var w = next.Weights!;
            var wRange = new float[c];
            for (int i = 0; i < w.Length; i++) wRange[i % c] = Math.Max(wRange[i % c], Math.Abs(w[i]));
            var s = new float[c];
            float widest = 0, widestScaled = 0;
            for (int i = 0; i < c; i++)
            {
                s[i] = a[i] > 0 && wRange[i] > 0 ? Math.Clamp(MathF.Sqrt(wRange[i] / a[i]), 1 / MaxScale, MaxScale) : 1f;
                widest = Math.Max(widest, a[i]);
                widestScaled = Math.Max(widestScaled, a[i] * s[i]);
            }
            float k = widestScaled > 0 ? widest / widestScaled : 1f;
            for (int i = 0; i < c; i++) s[i] = Math.Clamp(s[i] * k, 1 / MaxScale, MaxScale);

            // Depthwise weights are [1, kH, kW, C] (channel innermost); the next convolution's are [M, kH, kW, C].
            var dwW = dw.Weights!;
            for (int i = 0; i < dwW.Length; i++) dwW[i] *= s[i % c];
            for (int i = 0; i < c; i++) dw.Bias![i] *= s[i];
            for (int i = 0; i < w.Length; i++) w[i] /= s[i % c];
        }
        return pairs.Count;
    }
}
