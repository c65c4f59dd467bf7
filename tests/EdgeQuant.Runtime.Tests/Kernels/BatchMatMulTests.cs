using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>BatchMatMul by hand and against a float simulation (dequantize, multiply in double, quantize): within one step.</summary>
public class BatchMatMulTests
{
    [Test]
    public void TwoByTwoByHand()
    {
        // a = [[1, 2], [3, 4]] (offset +1: values 2, 3, 4, 5), b^T rows [1, 0], [1, 1] (offset 0);
        // sums [2, 5], [4, 9]; multiplier 0.5 (2^30, shift 0); output offset 3.
        sbyte[] a = [1, 2, 3, 4];
        sbyte[] b = [1, 0, 1, 1];
        var p = new BatchMatMulParams { Input1Offset = 1, Input2Offset = 0, OutputOffset = 3, OutputMultiplier = 1 << 30, OutputShift = 0, ActivationMin = -128, ActivationMax = 127 };
        var y = new sbyte[4];
        BatchMatMul.EvalS8Reference(p, a, new(1, 1, 2, 2), b, new(1, 1, 2, 2), y, new(1, 1, 2, 2));
        // 2 x 0.5 = 1; 5 x 0.5 = 2.5 -> 3 (the high multiply rounds ties up); 4 x 0.5 = 2; 9 x 0.5 = 4.5 -> 5. Plus 3.
        Assert.That(y, Is.EqualTo(new sbyte[] { 4, 6, 5, 8 }));
    }

    /// <summary>
    /// Output offsets near the int32 limits wrap (C# int addition), and the C firmware must give the same bytes: these
    /// are the values of firmware/tests/test_unit.c's test_wrapping_offsets (whose C once overflowed, undefined behaviour).
    /// </summary>
    [TestCase(int.MaxValue, -128)] // 11 + int.MaxValue wraps to int.MinValue + 10
    [TestCase(int.MinValue + 5, -128)]
    [TestCase(89, 100)]
    public void OutputOffsetsWrapAsInTheFirmwareUnitTest(int outputOffset, int expected)
    {
        sbyte[] a = [1, 2];
        sbyte[] b = [3, 4];
        var p = new BatchMatMulParams { OutputOffset = outputOffset, OutputMultiplier = 1 << 30, OutputShift = 1, ActivationMin = -128, ActivationMax = 127 };
        var y = new sbyte[1];
        BatchMatMul.EvalS8Reference(p, a, new(1, 1, 1, 2), b, new(1, 1, 1, 2), y, new(1, 1, 1, 1));
        Assert.That(y[0], Is.EqualTo((sbyte)expected));
    }

    [TestCase(int.MaxValue, 0)] // index 1 + int.MaxValue = int.MinValue, low byte 0
    [TestCase(-129, -128)]
    public void ArgMaxOutputOffsetsWrapAsInTheFirmwareUnitTest(int outputOffset, int expected)
    {
        sbyte[] x = [0, 5, -3];
        var y = new sbyte[1];
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 3, OutputOffset = outputOffset }, x, new(1, 1, 1, 3), y);
        Assert.That(y[0], Is.EqualTo((sbyte)expected));
    }

    [Test]
    public void MatchesFloatWithinOneStep()
    {
        var r = new Random(5);
        for (int trial = 0; trial < 40; trial++)
        {
            int m = r.Next(1, 6), n = r.Next(1, 6), k = r.Next(1, 70);
            var aShape = new Shape4(1, r.Next(1, 3), m, k);
            var bShape = new Shape4(1, r.Next(2) == 0 ? 1 : aShape.D1, n, k);
            var oShape = new Shape4(1, aShape.D1, m, n);
            var (sa, za, sb, zb) = (0.01f + (float)r.NextDouble() * 0.05f, r.Next(-20, 20), 0.01f + (float)r.NextDouble() * 0.05f, r.Next(-20, 20));
            float so = sa * sb * MathF.Sqrt(k) * 40, zo = r.Next(-10, 10);
            var (mult, shift) = QuantMath.QuantizeMultiplier((double)sa * sb / so);
            var p = new BatchMatMulParams { Input1Offset = -za, Input2Offset = -zb, OutputOffset = (int)zo, OutputMultiplier = mult, OutputShift = shift, ActivationMin = -128, ActivationMax = 127 };
            var a = FastPathCases.S8(r, aShape.FlatSize);
            var b = FastPathCases.S8(r, bShape.FlatSize);
            var y = new sbyte[oShape.FlatSize];
            BatchMatMul.EvalS8Reference(p, a, aShape, b, bShape, y, oShape);
            for (int o1 = 0; o1 < oShape.D1; o1++)
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++)
                    {
                        double acc = 0;
                        int bb = bShape.D1 == 1 ? 0 : o1;
                        for (int kk = 0; kk < k; kk++)
                            acc += sa * (a[(o1 * m + i) * k + kk] - za) * (double)sb * (b[(bb * n + j) * k + kk] - zb);
                        double want = System.Math.Clamp(System.Math.Round(acc / so) + zo, -128, 127);
                        Assert.That(y[(o1 * m + i) * n + j], Is.EqualTo(want).Within(1), $"trial {trial} [{o1}, {i}, {j}]");
                    }
        }
    }
}

/// <summary>The BatchMatMul fast path against the reference, byte for byte, for every K tail and broadcast pattern.</summary>
public class BatchMatMulFastPathTests
{
    [Test]
    public void EveryTailAndBroadcast([Values] bool dispatcher)
    {
        var r = new Random(19);
        for (int k = 1; k <= 70; k++)
        {
            var aShape = new Shape4(r.Next(1, 3), r.Next(1, 3), r.Next(1, 5), k);
            var bShape = new Shape4(r.Next(2) == 0 ? 1 : aShape.D0, r.Next(2) == 0 ? 1 : aShape.D1, r.Next(1, 6), k);
            var oShape = new Shape4(aShape.D0, aShape.D1, aShape.D2, bShape.D2);
            var p = new BatchMatMulParams
            {
                Input1Offset = r.Next(-255, 256), Input2Offset = r.Next(-255, 256), OutputOffset = r.Next(-128, 128),
                OutputMultiplier = FastPathCases.Multipliers(r, 1)[0], OutputShift = -r.Next(8, 20),
                ActivationMin = r.Next(-128, 0), ActivationMax = r.Next(0, 128),
            };
            var a = FastPathCases.S8(r, aShape.FlatSize);
            var b = FastPathCases.S8(r, bShape.FlatSize);
            var expected = new sbyte[oShape.FlatSize];
            var got = new sbyte[oShape.FlatSize];
            BatchMatMul.EvalS8Reference(p, a, aShape, b, bShape, expected, oShape);
            if (dispatcher) BatchMatMul.EvalS8(p, a, aShape, b, bShape, got, oShape);
            else BatchMatMul.EvalS8Vector128(p, a, aShape, b, bShape, got, oShape);
            Assert.That(got, Is.EqualTo(expected), $"K {k}: {aShape} x {bShape}");
        }
    }
}
