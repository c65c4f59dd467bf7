using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class QuantizeTests
{
    [Test]
    public void QuantizeRoundsHalfAwayFromZeroAndSaturates()
    {
        float[] x = [0f, 0.25f, -0.25f, 0.3f, 100f, -100f, float.NaN];
        var y = new sbyte[x.Length];
        Quantize.EvalF32ToS8(x, y, 0.5f, -3);
        Assert.That(y, Is.EqualTo(new sbyte[] { -3, -2, -4, -2, 127, -128, -3 }));
    }

    [Test]
    public void DequantizeIsScaleTimesOffsetValue()
    {
        var y = new float[3];
        Quantize.EvalS8ToF32([-128, 0, 127], y, 0.5f, -3);
        Assert.That(y, Is.EqualTo(new[] { -62.5f, 1.5f, 65f }));
    }

    [Test]
    public void RandomValuesMatchDoubleSimulationWithinOneLsbAndRoundTrip()
    {
        var r = new Rand(12001);
        for (int i = 0; i < 100; i++)
        {
            float scale = r.Scale(0.001, 1);
            int zp = r.Int(-128, 127);
            var x = new float[200];
            for (int k = 0; k < x.Length; k++) x[k] = (float)((r.Double() * 300 - 150) * scale);
            var q = new sbyte[x.Length];
            Quantize.EvalF32ToS8(x, q, scale, zp);
            // The kernel divides in float; the simulation in double. They can differ only at a tie.
            Lsb.AssertWithin(q, x.Select(v => ConverterMath.Quantize(v, scale, zp)).ToArray(), 1, $"case {i}");
            var back = new float[x.Length];
            Quantize.EvalS8ToF32(q, back, scale, zp);
            var again = new sbyte[x.Length];
            Quantize.EvalF32ToS8(back, again, scale, zp);
            Assert.That(again, Is.EqualTo(q), $"case {i}: dequantize then quantize is the identity on int8");
        }
    }
}
