using NUnit.Framework;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>The pooling fast paths against the reference, byte for byte.</summary>
public class PoolingFastPathTests
{
    private static (PoolParams, Shape4, Shape4) Case(Random r, int c, int maxFilter)
    {
        int fh = r.Next(1, maxFilter + 1), fw = r.Next(1, maxFilter + 1), sh = r.Next(1, 3), sw = r.Next(1, 3);
        int pt = r.Next(0, fh), pb = r.Next(0, fh), pl = r.Next(0, fw), pr = r.Next(0, fw);
        int h = System.Math.Max(r.Next(1, 10), fh), w = System.Math.Max(r.Next(1, 10), fw);
        var p = new PoolParams
        {
            StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
            ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
        };
        var inShape = new Shape4(r.Next(1, 3), h, w, c);
        var outShape = new Shape4(inShape.D0, (h + pt + pb - fh) / sh + 1, (w + pl + pr - fw) / sw + 1, c);
        return (p, inShape, outShape);
    }

    [Test]
    public void MaxEveryChannelTail([Values] bool dispatcher)
    {
        var r = new Random(51);
        for (int c = 1; c <= 66; c++)
        {
            var (p, inShape, outShape) = Case(r, c, 4);
            var input = FastPathCases.S8(r, inShape.FlatSize);
            var expected = new sbyte[outShape.FlatSize];
            var output = new sbyte[outShape.FlatSize];
            Pooling.MaxS8Reference(p, input, inShape, expected, outShape);
            if (dispatcher) Pooling.MaxS8(p, input, inShape, output, outShape);
            else Pooling.MaxS8Vector(p, input, inShape, output, outShape);
            Assert.That(output, Is.EqualTo(expected), $"in {inShape} out {outShape}");
        }
    }

    /// <summary>
    /// The staged-rows path (Pooling.Rows.cs) on its own: unit horizontal strides (the shifted-row maxima, rows of 16 bytes
    /// and more) and larger ones (per pixel: one vector below 16 channels, 16-channel steps above), windows 1-4 wide and
    /// high with every padding, rows up to 40 pixels, images up to 300 rows (several blocks of staged rows), batches, clamps,
    /// channel counts of real models.
    /// </summary>
    [Test]
    public void MaxStagedRowsEveryShape([Values(1, 2, 3, 5, 8, 12, 15, 16, 17, 20, 28, 32, 60, 64)] int c)
    {
        var r = new Random(5300 + c);
        int ran = 0;
        for (int i = 0; i < 40; i++)
        {
            var (p, inShape, _) = Case(r, c, 4);
            p.StrideW = i % 2 == 0 ? 1 : r.Next(2, 4);
            int w = System.Math.Max(r.Next(1, 41), p.FilterW);
            // Every fourth image tall enough (up to 300 rows) for several blocks of staged rows (8 KB each) at any channel count.
            int h = i % 4 == 3 ? System.Math.Max(r.Next(20, 301), p.FilterH) : inShape.D1;
            inShape = new Shape4(inShape.D0, h, w, c);
            var outShape = new Shape4(inShape.D0, (inShape.D1 + p.PadTop + p.PadBottom - p.FilterH) / p.StrideH + 1,
                (w + p.PadLeft + p.PadRight - p.FilterW) / p.StrideW + 1, c);
            var input = FastPathCases.S8(r, inShape.FlatSize);
            var expected = new sbyte[outShape.FlatSize];
            var output = new sbyte[outShape.FlatSize];
            Pooling.MaxS8Reference(p, input, inShape, expected, outShape);
            if (!Pooling.TryMaxS8Rows(p, input, inShape, output, outShape))
                continue;
            Assert.That(output, Is.EqualTo(expected), $"in {inShape} out {outShape} filter {p.FilterH}x{p.FilterW} stride {p.StrideH}x{p.StrideW}");
            ran++;
        }
        Assert.That(ran, Is.EqualTo(System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated ? 40 : 0));
    }

    [Test]
    public void AverageEveryChannelTailAndLargeWindows([Values] bool dispatcher)
    {
        var r = new Random(52);
        for (int c = 1; c <= 66; c++)
        {
            // Up to 17 x 17 windows: counts beyond 256 take the scalar path.
            var (p, inShape, outShape) = Case(r, c, c % 5 == 0 ? 17 : 4);
            // Extreme inputs half the time: all -128 or all 127 stress the int16 sums and the rounding.
            var input = r.Next(4) switch
            {
                0 => FastPathCases.S8(r, inShape.FlatSize, -128, -120),
                1 => FastPathCases.S8(r, inShape.FlatSize, 120, 127),
                _ => FastPathCases.S8(r, inShape.FlatSize),
            };
            var expected = new sbyte[outShape.FlatSize];
            var output = new sbyte[outShape.FlatSize];
            Pooling.AverageS8Reference(p, input, inShape, expected, outShape);
            if (dispatcher) Pooling.AverageS8(p, input, inShape, output, outShape);
            else Pooling.AverageS8Vector(p, input, inShape, output, outShape);
            Assert.That(output, Is.EqualTo(expected), $"in {inShape} out {outShape} filter {p.FilterH}x{p.FilterW}");
        }
    }

    [Test]
    public void AverageRoundingTiesAgainstTheReference()
    {
        // Every sum of a 2x2 window with one channel block: all ties (sum = +-2 (mod 4)) included.
        var p = new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 2, ActivationMin = -128, ActivationMax = 127 };
        var inShape = new Shape4(1, 2, 2 * 256, 16);
        var outShape = new Shape4(1, 1, 256, 16);
        var input = new sbyte[inShape.FlatSize];
        for (int w = 0; w < 256; w++)
            for (int y = 0; y < 2; y++)
                for (int x = 0; x < 2; x++)
                    for (int ch = 0; ch < 16; ch++)
                        input[((y * inShape.D2) + 2 * w + x) * 16 + ch] = (sbyte)(w - 128 + (x == 1 && y == 1 ? ch % 3 - 1 : 0));
        var expected = new sbyte[outShape.FlatSize];
        var output = new sbyte[outShape.FlatSize];
        Pooling.AverageS8Reference(p, input, inShape, expected, outShape);
        Pooling.AverageS8Vector(p, input, inShape, output, outShape);
        Assert.That(output, Is.EqualTo(expected));
    }
}
