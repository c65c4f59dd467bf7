using EdgeQuant.Converter.Ir;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Quantization;

/// <summary>
/// Empirical bias correction: layer by layer in execution order, the mean (per output channel,
/// over calibration samples and positions) of the float accumulator minus the quantized one —
/// the latter computed from the already-corrected quantized upstream — is added to the int32
/// bias. This removes the systematic shift that weight and activation rounding introduce
/// (the empirical variant of Nagel et al., 2019).
/// </summary>
public static class BiasCorrection
{
    public static void Apply(QuantizedGraph q, IReadOnlyList<float[]> samples)
    {
        var g = q.Graph;
        var exact = q.ExactRequantization;
        q.ExactRequantization = true;
        try
        {
            var floatExec = new IrExecutor(g);
            var simExec = new IrExecutor(g) { Simulation = q };
            var floatValues = samples.Select(s => floatExec.Run(s)).ToList();
            var simValues = new List<Dictionary<IrTensor, float[]>>();
            foreach (var s in samples)
            {
                var d = new Dictionary<IrTensor, float[]>();
                int offset = 0;
                foreach (var input in g.Inputs)
                {
                    var inQ = q.Activations[input];
                    d[input] = s.Skip(offset).Take(input.ElementCount).Select(v => inQ.Dequantize(Runtime.Math.QuantMath.QuantizeS8(v, inQ.Scale, inQ.ZeroPoint))).ToArray();
                    offset += input.ElementCount;
                }
                simValues.Add(d);
            }
            foreach (var op in g.Ops)
            {
                if (op.Type is OpType.Conv2D or OpType.DepthwiseConv2D or OpType.FullyConnected)
                {
                    var r = q.Ops[op];
                    int cout = r.Bias!.Length;
                    var diff = new double[cout];
                    long count = 0;
                    for (int s = 0; s < samples.Count; s++)
                    {
                        var fpre = floatExec.PreActivation(op, floatValues[s]);
                        var qpre = simExec.PreActivation(op, simValues[s]);
                        for (int i = 0; i < fpre.Length; i++) diff[i % cout] += fpre[i] - (double)qpre[i];
                        count += fpre.Length / cout;
                    }
                    var inQ = q.Activations[op.Inputs[0]];
                    for (int c = 0; c < cout; c++)
                    {
                        double step = (double)inQ.Scale * r.WeightScales![c];
                        long corrected = r.Bias[c] + (long)Math.Round(diff[c] / count / step);
                        r.Bias[c] = (int)Math.Clamp(corrected, int.MinValue + 1, int.MaxValue);
                    }
                    q.InvalidateSimulation(op);
                }
                for (int s = 0; s < samples.Count; s++) simValues[s][op.Output] = simExec.RunOp(op, simValues[s]);
            }
        }
        finally
        {
            q.ExactRequantization = exact;
        }
    }
}
