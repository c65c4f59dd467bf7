using EdgeQuant.Runtime.Math;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Math;

/// <summary>The fixed-point requantization primitives (docs/quantization.md, "Requantization").</summary>
public class QuantMathTests
{
    private const int Half = 1 << 30; // 0.5 in Q0.31

    [TestCase(int.MinValue, int.MinValue, int.MaxValue)] // the one overflow case saturates
    [TestCase(int.MaxValue, int.MaxValue, 2147483646)]
    [TestCase(int.MinValue, int.MaxValue, -2147483647)]
    [TestCase(int.MaxValue, int.MinValue, -2147483647)]
    [TestCase(0, int.MinValue, 0)]
    [TestCase(100, Half, 50)]
    [TestCase(1 << 20, Half, 1 << 19)]
    [TestCase(1, Half, 1)]     //  0.5  -> 1: ties go up
    [TestCase(-1, Half, 0)]    // -0.5  -> 0: ties go up (toward +infinity), not away from zero
    [TestCase(3, Half, 2)]     //  1.5  -> 2
    [TestCase(-3, Half, -1)]   // -1.5  -> -1
    [TestCase(-5, 1 << 29, -1)] // -1.25 -> -1
    [TestCase(-7, 1 << 29, -2)] // -1.75 -> -2
    [TestCase(5, 1 << 29, 1)]   //  1.25 -> 1
    [TestCase(7, 1 << 29, 2)]   //  1.75 -> 2
    public void SaturatingRoundingDoublingHighMul(int a, int b, int expected)
    {
        Assert.That(QuantMath.SaturatingRoundingDoublingHighMul(a, b), Is.EqualTo(expected));
    }

    [Test]
    public void SaturatingRoundingDoublingHighMulIsRoundHalfUpOfTheDoubledProduct()
    {
        // floor(a*b / 2^31 + 1/2): what ARM's SQRDMULH computes.
        var r = new Rand(11);
        for (int i = 0; i < 200_000; i++)
        {
            int a = i % 3 == 0 ? r.Int(-70000, 70000) : r.Int(int.MinValue, int.MaxValue);
            int b = i % 5 == 0 ? (r.Int(0, 1) == 0 ? Half : r.Int(Half, int.MaxValue)) : r.Int(int.MinValue, int.MaxValue);
            if (a == int.MinValue && b == int.MinValue) continue;
            int expected = (int)(((long)a * b + (1L << 30)) >> 31);
            Assert.That(QuantMath.SaturatingRoundingDoublingHighMul(a, b), Is.EqualTo(expected), $"a={a} b={b}");
        }
    }

    [TestCase(5, 1, 3)]    //  2.5  ->  3
    [TestCase(-5, 1, -3)]  // -2.5  -> -3
    [TestCase(3, 1, 2)]    //  1.5  ->  2
    [TestCase(-3, 1, -2)]  // -1.5  -> -2
    [TestCase(6, 2, 2)]    //  1.5  ->  2
    [TestCase(-6, 2, -2)]  // -1.5  -> -2
    [TestCase(7, 2, 2)]    //  1.75 ->  2
    [TestCase(-7, 2, -2)]  // -1.75 -> -2
    [TestCase(5, 2, 1)]    //  1.25 ->  1
    [TestCase(-5, 2, -1)]  // -1.25 -> -1
    [TestCase(1, 1, 1)]    //  0.5  ->  1
    [TestCase(-1, 1, -1)]  // -0.5  -> -1
    [TestCase(12345, 0, 12345)]
    [TestCase(-12345, 0, -12345)]
    [TestCase(1 << 30, 31, 1)]      //  0.5 -> 1
    [TestCase(-(1 << 30), 31, -1)]  // -0.5 -> -1
    [TestCase(int.MaxValue, 31, 1)]
    [TestCase(int.MinValue, 31, -1)]
    [TestCase(1, 31, 0)]
    [TestCase(-1, 31, 0)]
    public void RoundingDivideByPOT(int x, int exponent, int expected)
    {
        Assert.That(QuantMath.RoundingDivideByPOT(x, exponent), Is.EqualTo(expected));
    }

    [Test]
    public void RoundingDivideByPOTIsRoundHalfAwayFromZero()
    {
        var r = new Rand(12);
        for (int i = 0; i < 100_000; i++)
        {
            int x = i % 2 == 0 ? r.Int(-1000, 1000) : r.Int(int.MinValue, int.MaxValue);
            int e = r.Int(0, 31);
            int expected = (int)System.Math.Round(x / System.Math.Pow(2, e), MidpointRounding.AwayFromZero);
            Assert.That(QuantMath.RoundingDivideByPOT(x, e), Is.EqualTo(expected), $"x={x} e={e}");
        }
    }

    [TestCase(100, Half, 0, 50)]
    [TestCase(3, Half, -1, 1)]     // 0.75: SRDHM 1.5 -> 2, then 2 / 2 = 1
    [TestCase(5, Half, -1, 2)]     // 1.25: SRDHM 2.5 -> 3, then 3 / 2 = 1.5 -> 2 (the double rounding)
    [TestCase(-5, Half, -1, -1)]   // -1.25: SRDHM -2.5 -> -2, then -2 / 2 = -1
    [TestCase(3, Half, 2, 6)]      // positive shift is a left shift before the multiply
    [TestCase(-3, Half, 2, -6)]
    [TestCase(1000, 1518500250, 0, 707)] // 1000 * 0.70710678
    [TestCase(int.MaxValue, int.MaxValue, -31, 1)]
    [TestCase(123456, 0, 0, 0)]
    public void MultiplyByQuantizedMultiplier(int x, int m, int shift, int expected)
    {
        Assert.That(QuantMath.MultiplyByQuantizedMultiplier(x, m, shift), Is.EqualTo(expected));
    }

    [Test]
    public void MultiplyByQuantizedMultiplierIsWithinOneOfTheRealProduct()
    {
        var r = new Rand(13);
        for (int i = 0; i < 100_000; i++)
        {
            double real = System.Math.Exp(System.Math.Log(1e-6) + r.Double() * (System.Math.Log(64) - System.Math.Log(1e-6)));
            var (m, s) = QuantMath.QuantizeMultiplier(real);
            int x = r.Int(-(1 << 24), 1 << 24);
            if (System.Math.Abs(x * real) > int.MaxValue / 2) continue;
            double exact = x * (m * System.Math.Pow(2, s - 31));
            int got = QuantMath.MultiplyByQuantizedMultiplier(x, m, s);
            Assert.That(System.Math.Abs(got - exact), Is.LessThan(1.0), $"x={x} m={m} s={s}");
        }
    }

    [TestCase(0.5, Half, 0)]
    [TestCase(1.0, Half, 1)]
    [TestCase(0.75, 1610612736, 0)]
    [TestCase(0.25, Half, -1)]
    [TestCase(1e-12, 0, 0)]
    [TestCase(0.0, 0, 0)]
    [TestCase(-1.0, 0, 0)]
    [TestCase(double.NaN, 0, 0)]
    [TestCase(double.PositiveInfinity, 0, 0)]
    public void QuantizeMultiplier(double real, int expectedMultiplier, int expectedShift)
    {
        Assert.That(QuantMath.QuantizeMultiplier(real), Is.EqualTo((expectedMultiplier, expectedShift)));
    }

    [TestCase(-31, Half, -30)]
    [TestCase(-32, Half, -31)] // the smallest power that is representable
    [TestCase(-33, 0, 0)]      // flushes to zero
    [TestCase(29, Half, 30)]   // the largest power that is representable
    [TestCase(30, int.MaxValue, 30)] // saturates
    [TestCase(40, int.MaxValue, 30)]
    public void QuantizeMultiplierOfPowersOfTwo(int exponent, int expectedMultiplier, int expectedShift)
    {
        Assert.That(QuantMath.QuantizeMultiplier(System.Math.ScaleB(1.0, exponent)), Is.EqualTo((expectedMultiplier, expectedShift)));
    }

    [Test]
    public void QuantizeMultiplierRenormalisesWhenRoundingReachesOne()
    {
        // 1 - 2^-40 rounds to 2^31 in Q0.31; the result is 0.5 * 2^1.
        Assert.That(QuantMath.QuantizeMultiplier(1.0 - System.Math.ScaleB(1.0, -40)), Is.EqualTo((Half, 1)));
    }

    [Test]
    public void QuantizeMultiplierRoundTripsWithRelativeErrorBelowTwoToMinus30()
    {
        var r = new Rand(14);
        double worst = 0;
        for (int i = 0; i < 200_000; i++)
        {
            double real = System.Math.Exp(System.Math.Log(1e-6) + r.Double() * (System.Math.Log(100) - System.Math.Log(1e-6)));
            var (m, s) = QuantMath.QuantizeMultiplier(real);
            Assert.That(m, Is.InRange(1 << 30, int.MaxValue), $"real={real}");
            Assert.That(s, Is.InRange(-31, 30), $"real={real}");
            double back = m * System.Math.Pow(2, s - 31);
            worst = System.Math.Max(worst, System.Math.Abs(back - real) / real);
        }
        Assert.That(worst, Is.LessThan(System.Math.Pow(2, -30)));
    }

    [TestCase(2.5f, 1f, 0, 3)]
    [TestCase(-2.5f, 1f, 0, -3)]
    [TestCase(0.5f, 1f, 0, 1)]
    [TestCase(-0.5f, 1f, 0, -1)]
    [TestCase(1.49f, 1f, 0, 1)]
    [TestCase(0.25f, 0.5f, 10, 11)]     // 0.5 -> 1, + 10
    [TestCase(0.75f, 0.5f, -128, -126)] // 1.5 -> 2, - 128
    [TestCase(1000f, 1f, 0, 127)]
    [TestCase(-1000f, 1f, 0, -128)]
    [TestCase(100f, 1f, 50, 127)]
    [TestCase(-100f, 1f, -50, -128)]
    [TestCase(float.PositiveInfinity, 1f, 0, 127)]
    [TestCase(float.NegativeInfinity, 1f, 0, -128)]
    [TestCase(float.NaN, 1f, 5, 5)]      // NaN maps to the zero point
    [TestCase(1e30f, 1e-30f, 0, 127)]
    [TestCase(3e9f, 1f, -128, 127)]
    public void QuantizeS8(float x, float scale, int zeroPoint, int expected)
    {
        Assert.That(QuantMath.QuantizeS8(x, scale, zeroPoint), Is.EqualTo((sbyte)expected));
    }

    [Test]
    public void DequantizeS8IsScaleTimesOffsetValue()
    {
        Assert.Multiple(() =>
        {
            Assert.That(QuantMath.DequantizeS8(-128, 0.5f, -128), Is.EqualTo(0f));
            Assert.That(QuantMath.DequantizeS8(127, 0.5f, -128), Is.EqualTo(127.5f));
            Assert.That(QuantMath.DequantizeS8(3, 2f, 5), Is.EqualTo(-4f));
        });
    }
}
