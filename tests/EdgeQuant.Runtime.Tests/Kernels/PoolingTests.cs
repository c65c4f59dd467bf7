using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class PoolingTests
{
    private static PoolParams Params(int filter, int stride, int top = 0, int left = 0, int bottom = 0, int right = 0) => new()
    {
        FilterH = filter, FilterW = filter, StrideH = stride, StrideW = stride,
        PadTop = top, PadLeft = left, PadBottom = bottom, PadRight = right, ActivationMin = -128, ActivationMax = 127,
    };

    private static sbyte[] Max(PoolParams p, sbyte[] x, Shape4 si, Shape4 so, bool reference = false)
    {
        var y = new sbyte[so.FlatSize];
        if (reference) Pooling.MaxS8Reference(p, x, si, y, so); else Pooling.MaxS8(p, x, si, y, so);
        return y;
    }

    private static sbyte[] Avg(PoolParams p, sbyte[] x, Shape4 si, Shape4 so, bool reference = false)
    {
        var y = new sbyte[so.FlatSize];
        if (reference) Pooling.AverageS8Reference(p, x, si, y, so); else Pooling.AverageS8(p, x, si, y, so);
        return y;
    }

    [Test]
    public void MaxPoolTwoByTwoStrideTwo()
    {
        sbyte[] x = [1, -2, 3, 4, 5, 6, -7, 8, -9, -10, 11, 12, -13, -14, 15, -16];
        Assert.That(Max(Params(2, 2), x, new(1, 4, 4, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 6, 8, -9, 15 }));
    }

    [Test]
    public void MaxPoolIgnoresPaddingAndKeepsChannelsApart()
    {
        // Two channels, all values negative: padding must not contribute a zero.
        sbyte[] x = [-5, -50, -6, -60, -7, -70, -8, -80];
        var y = Max(Params(2, 1, top: 1, left: 1), x, new(1, 2, 2, 2), new(1, 2, 2, 2));
        Assert.That(y, Is.EqualTo(new sbyte[] { -5, -50, -5, -50, -5, -50, -5, -50 }));
    }

    [Test]
    public void AveragePoolCountsOnlyValidPositionsAndRoundsHalfAwayFromZero()
    {
        // Padded top/left by 1: windows see {1}, {1,2}, {1,3}, {1,2,3,4} -> 1, 1.5, 2, 2.5.
        Assert.That(Avg(Params(2, 1, top: 1, left: 1), [1, 2, 3, 4], new(1, 2, 2, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 1, 2, 2, 3 }));
        Assert.That(Avg(Params(2, 1, top: 1, left: 1), [-1, -2, -3, -4], new(1, 2, 2, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { -1, -2, -2, -3 }));
    }

    [Test]
    public void AveragePoolOfThreeRoundsToNearest()
    {
        // 1/3 -> 0, 2/3 -> 1, -2/3 -> -1, 4/3 -> 1.
        PoolParams p = Params(1, 1);
        p.FilterW = 3;
        Assert.That(Avg(p, [1, 0, 0, 1, 1, 0, -1, -1, 0, 2, 1, 1], new(1, 4, 3, 1), new(1, 4, 1, 1)), Is.EqualTo(new sbyte[] { 0, 1, -1, 1 }));
    }

    [Test]
    public void ActivationRangeClamps()
    {
        var p = Params(1, 1);
        p.ActivationMin = -2;
        p.ActivationMax = 2;
        Assert.That(Max(p, [-5, 0, 5], new(1, 1, 3, 1), new(1, 1, 3, 1)), Is.EqualTo(new sbyte[] { -2, 0, 2 }));
        Assert.That(Avg(p, [-5, 0, 5], new(1, 1, 3, 1), new(1, 1, 3, 1)), Is.EqualTo(new sbyte[] { -2, 0, 2 }));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void RandomShapesWithPaddingMatchFloatSimulation(bool average)
    {
        var r = new Rand(average ? 5001 : 5002);
        for (int i = 0; i < 300; i++)
        {
            int fh = r.Int(1, 4), fw = r.Int(1, 4), sh = r.Int(1, 3), sw = r.Int(1, 3);
            int pt = r.Int(0, fh - 1), pb = r.Int(0, fh - 1), pl = r.Int(0, fw - 1), pr = r.Int(0, fw - 1);
            int h = System.Math.Max(r.Int(1, 9), fh - pt - pb), w = System.Math.Max(r.Int(1, 9), fw - pl - pr);
            var si = new Shape4(r.Int(1, 2), h, w, r.Int(1, 5));
            var so = new Shape4(si.D0, (h + pt + pb - fh) / sh + 1, (w + pl + pr - fw) / sw + 1, si.D3);
            var p = Params(1, 1);
            (p.FilterH, p.FilterW, p.StrideH, p.StrideW, p.PadTop, p.PadLeft, p.PadBottom, p.PadRight) = (fh, fw, sh, sw, pt, pl, pb, pr);
            float scale = r.Scale(0.01, 1);
            int zp = r.Int(-50, 50);
            var x = r.S8(si.FlatSize);

            // Float simulation: dequantize, pool over the valid positions, quantize with the shared scale and zero point.
            var expected = new sbyte[so.FlatSize];
            int k = 0;
            for (int b = 0; b < so.D0; b++)
                for (int oy = 0; oy < so.D1; oy++)
                    for (int ox = 0; ox < so.D2; ox++)
                        for (int c = 0; c < so.D3; c++, k++)
                        {
                            double acc = average ? 0 : double.NegativeInfinity;
                            int n = 0;
                            for (int y = oy * sh - pt; y < oy * sh - pt + fh; y++)
                                for (int xx = ox * sw - pl; xx < ox * sw - pl + fw; xx++)
                                {
                                    if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
                                    double v = (x[((b * h + y) * w + xx) * si.D3 + c] - zp) * (double)scale;
                                    acc = average ? acc + v : System.Math.Max(acc, v);
                                    n++;
                                }
                            expected[k] = ConverterMath.Quantize(average ? acc / n : acc, scale, zp);
                        }
            var got = average ? Avg(p, x, si, so) : Max(p, x, si, so);
            // Max pooling is exact; averaging rounds the integer mean, which differs from rounding the
            // real mean by at most one step when the zero point shifts a tie.
            Lsb.AssertWithin(got, expected, average ? 1 : 0, $"case {i}: in {si} filter {fh}x{fw} stride {sh},{sw} pads {pt},{pl},{pb},{pr}");
            Assert.That(got, Is.EqualTo(average ? Avg(p, x, si, so, true) : Max(p, x, si, so, true)), $"case {i}: dispatch vs reference");
        }
    }
}
