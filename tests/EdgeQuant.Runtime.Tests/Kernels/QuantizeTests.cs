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
    public void VectorStepsGiveTheScalarBytes()
    {
        // Ties of the half-away rounding, values past the +-1000 clamp, infinities, NaN, signed zeros, subnormals and
        // large integers, then random values; lengths 0-40 cover the 16-value (AVX-512) and 8-value steps and every tail.
        float[] special =
        [
            0.5f, -0.5f, 1.5f, -1.5f, 2.5f, -2.5f, 0.49999997f, -0.49999997f, 126.5f, -127.5f, 1000.5f, -1000.5f, 1e9f, -1e9f,
            float.PositiveInfinity, float.NegativeInfinity, float.NaN, -0f, 0f, 1e-40f, -1e-40f, 8388607.5f, 16777216f, -16777215f,
            float.MaxValue, float.MinValue, float.Epsilon, 3.4999998f, -3.5000002f,
        ];
        var r = new Rand(4242);
        foreach (float scale in new[] { 1f, 0.5f, 0.0039215689f, 0.1f, 3e-39f, 7.3f })
        {
            foreach (int zeroPoint in new[] { 0, -128, 127, 5, -17 })
            {
                for (int n = 0; n <= 40; n++)
                {
                    var x = new float[n];
                    for (int i = 0; i < n; i++)
                        x[i] = r.Int(0, 3) == 0 ? special[r.Int(0, special.Length - 1)] * (r.Int(0, 1) == 0 ? scale : 1f) : (float)((r.Double() - 0.5) * 300 * scale);
                    var got = new sbyte[n];
                    Quantize.EvalF32ToS8(x, got, scale, zeroPoint);
                    for (int i = 0; i < n; i++)
                        Assert.That(got[i], Is.EqualTo(EdgeQuant.Runtime.Math.QuantMath.QuantizeS8(x[i], scale, zeroPoint)), $"x = {x[i]:R}, scale {scale:R}, zero point {zeroPoint}, n {n}, i {i}");
                }
            }
        }
    }

    [Test]
    public void DequantizeVectorStepsGiveTheScalarFloats()
    {
        // Every int8 value in every position of the 8- and 16-lane steps and the tails (lengths 0-40, then 256 and 300),
        // scales from subnormal-producing to large, zero points at both ends: bit for bit (x - z) * s in float.
        var r = new Rand(4243);
        foreach (float scale in new[] { 1f, 0.5f, 0.0039215689f, 0.1f, 3e-39f, 7.3f, 1e30f })
            foreach (int zeroPoint in new[] { 0, -128, 127, 5, -17 })
                foreach (int n in Enumerable.Range(0, 41).Concat([256, 300]))
                {
                    var q = new sbyte[n];
                    for (int i = 0; i < n; i++) q[i] = n == 256 ? (sbyte)i : (sbyte)r.Int(-128, 127);
                    var got = new float[n];
                    Quantize.EvalS8ToF32(q, got, scale, zeroPoint);
                    for (int i = 0; i < n; i++)
                        Assert.That(BitConverter.SingleToInt32Bits(got[i]), Is.EqualTo(BitConverter.SingleToInt32Bits((q[i] - zeroPoint) * scale)),
                            $"q = {q[i]}, scale {scale:R}, zero point {zeroPoint}, n {n}, i {i}");
                }
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
