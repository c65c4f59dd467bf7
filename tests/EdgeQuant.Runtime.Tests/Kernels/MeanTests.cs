using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class MeanTests
{
    [Test]
    public void MeanOfFourWithEqualScales()
    {
        // (1 + 2 + 3 + 5) / 4 = 2.75 -> 3; second channel (-1 - 2 - 3 - 5) / 4 = -2.75 -> -3.
        var p = ConverterMath.Mean(0.1f, 0, 0.1f, 0, 4);
        Assert.That((p.Multiplier, p.Shift), Is.EqualTo((1 << 30, -1)));
        var y = new sbyte[2];
        Mean.EvalS8(p, [1, -1, 2, -2, 3, -3, 5, -5], new(1, 2, 2, 2), y);
        Assert.That(y, Is.EqualTo(new sbyte[] { 3, -3 }));
    }

    [Test]
    public void ZeroPointsAndRescale()
    {
        // Input scale 0.5 zp 10, output scale 1 zp -20: real mean of (x - 10) * 0.5 over {14, 18} is 3.0 -> -17.
        var p = ConverterMath.Mean(0.5f, 10, 1f, -20, 2);
        var y = new sbyte[1];
        Mean.EvalS8(p, [14, 18], new(1, 1, 2, 1), y);
        Assert.That(y, Is.EqualTo(new sbyte[] { -17 }));
    }

    [Test]
    public void RandomShapesMatchFloatSimulationWithinOneLsb()
    {
        var r = new Rand(6001);
        for (int i = 0; i < 200; i++)
        {
            var si = new Shape4(r.Int(1, 3), r.Int(1, 12), r.Int(1, 12), r.Int(1, 9));
            int hw = si.D1 * si.D2;
            float sIn = r.Scale(0.01, 0.5), sOut = i % 5 == 0 ? sIn : r.Scale(0.005, 0.5);
            int zIn = r.Int(-60, 60), zOut = r.Int(-60, 60);
            var x = r.S8(si.FlatSize);
            var expected = new sbyte[si.D0 * si.D3];
            for (int b = 0; b < si.D0; b++)
                for (int c = 0; c < si.D3; c++)
                {
                    double sum = 0;
                    for (int k = 0; k < hw; k++) sum += (x[(b * hw + k) * si.D3 + c] - zIn) * (double)sIn;
                    expected[b * si.D3 + c] = ConverterMath.Quantize(sum / hw, sOut, zOut);
                }
            var p = ConverterMath.Mean(sIn, zIn, sOut, zOut, hw);
            var y = new sbyte[expected.Length];
            Mean.EvalS8(p, x, si, y);
            Lsb.AssertWithin(y, expected, 1, $"case {i}: {si}");
            var yr = new sbyte[expected.Length];
            Mean.EvalS8Reference(p, x, si, yr);
            Assert.That(y, Is.EqualTo(yr));
        }
    }
}
