using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class FullyConnectedTests
{
    private const int Half = 1 << 30;

    private static sbyte[] Run(FullyConnectedParams p, sbyte[] input, int batches, int cin, sbyte[] filter, int cout, int[] bias, int[] m, int[] s, bool reference = false)
    {
        var y = new sbyte[batches * cout];
        if (reference) FullyConnected.EvalS8Reference(p, input, batches, cin, filter, cout, bias, m, s, y);
        else FullyConnected.EvalS8(p, input, batches, cin, filter, cout, bias, m, s, y);
        return y;
    }

    [Test]
    public void DotProductsPlusBias()
    {
        var p = new FullyConnectedParams { ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1 };
        var y = Run(p, [1, 2, 3], 1, 3, [1, 0, -1, 2, 2, 2], 2, [10, -5], [Half, Half], [1, 1]);
        Assert.That(y, Is.EqualTo(new sbyte[] { 8, 7 }));
    }

    [Test]
    public void InputAndOutputOffsetsOverTwoBatches()
    {
        // Input zero point 1: rows become [0, 1, 2] and [-2, -1, 0]; output zero point -3.
        var p = new FullyConnectedParams { InputOffset = -1, OutputOffset = -3, ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1 };
        var y = Run(p, [1, 2, 3, -1, 0, 1], 2, 3, [1, 0, -1, 2, 2, 2], 2, [10, -5], [Half, Half], [1, 1]);
        Assert.That(y, Is.EqualTo(new sbyte[] { 5, -2, 5, -14 }));
    }

    [Test]
    public void RandomShapesMatchFloatSimulationWithinOneLsb()
    {
        var r = new Rand(3001);
        for (int i = 0; i < 200; i++)
        {
            int batches = r.Int(1, 4), cin = r.Int(1, 70), cout = r.Int(1, 20);
            float si = r.Scale(0.005, 0.1);
            int zi = r.Int(-40, 40);
            var ws = r.Scales(cout, 0.001, 0.02);
            var x = r.S8(batches * cin);
            var f = r.S8(cout * cin, -127, 127);
            var bias = r.I32(cout, -5000, 5000);
            var real = new double[batches * cout];
            for (int b = 0; b < batches; b++)
                for (int oc = 0; oc < cout; oc++)
                {
                    double acc = bias[oc] * ((double)si * ws[oc]);
                    for (int ic = 0; ic < cin; ic++) acc += (x[b * cin + ic] - zi) * (double)si * (f[oc * cin + ic] * (double)ws[oc]);
                    real[b * cout + oc] = acc;
                }
            var (so, zo) = ConverterMath.Choose(real.Min() * 1.05, real.Max() * 1.05);
            int actMin = r.Int(0, 3) == 0 ? zo : -128;
            var (m, s) = ConverterMath.PerChannel(si, ws, so);
            var p = new FullyConnectedParams { InputOffset = -zi, OutputOffset = zo, ActivationMin = actMin, ActivationMax = 127, FoldedBiasOffset = -1 };
            var expected = real.Select(v => ConverterMath.Quantize(v, so, zo, actMin, 127)).ToArray();
            var y = Run(p, x, batches, cin, f, cout, bias, m, s);
            Lsb.AssertWithin(y, expected, 1, $"case {i}: batches {batches} cin {cin} cout {cout}");
            Assert.That(y, Is.EqualTo(Run(p, x, batches, cin, f, cout, bias, m, s, reference: true)), $"case {i}: dispatch vs reference");
        }
    }
}
