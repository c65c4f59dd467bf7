using EdgeQuant.Boards.Camera;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Camera;

public class ColorConversionTests
{
    [TestCase(16, 128, 128, 0, 0, 0)]
    [TestCase(235, 128, 128, 255, 255, 255)]
    [TestCase(126, 128, 128, 128, 128, 128)]
    [TestCase(81, 90, 240, 255, 0, 0)]    // BT.601 red
    [TestCase(145, 54, 34, 0, 255, 1)]    // green
    [TestCase(41, 240, 110, 0, 0, 255)]   // blue
    public void YuvToRgb_KnownColours(int y, int u, int v, int r, int g, int b)
    {
        ColorConversion.YuvToRgb(y, u, v, out var R, out var G, out var B);
        Assert.That(new[] { (int)R, G, B }, Is.EqualTo(new[] { r, g, b }).Within(1));
    }

    [Test]
    public void YToGray_SpansFullRange_AndMatchesRgbLumaOfNeutralColours()
    {
        Assert.That(ColorConversion.YToGray(16), Is.EqualTo(0));
        Assert.That(ColorConversion.YToGray(235), Is.EqualTo(255));
        Assert.That(ColorConversion.YToGray(0), Is.EqualTo(0));
        Assert.That(ColorConversion.YToGray(255), Is.EqualTo(255));
        for (int y = 16; y <= 235; y++)
        {
            ColorConversion.YuvToRgb(y, 128, 128, out var r, out var g, out var b);
            Assert.That(ColorConversion.YToGray(y), Is.EqualTo(ColorConversion.RgbToGray(r, g, b)), $"Y={y}");
        }
    }

    [Test]
    public void RgbToGray_WeightsAddUpTo256()
    {
        Assert.That(ColorConversion.RgbToGray(255, 255, 255), Is.EqualTo(255));
        Assert.That(ColorConversion.RgbToGray(0, 0, 0), Is.EqualTo(0));
        Assert.That(ColorConversion.RgbToGray(255, 0, 0), Is.EqualTo(77));
        Assert.That(ColorConversion.RgbToGray(0, 255, 0), Is.EqualTo(149));
        Assert.That(ColorConversion.RgbToGray(0, 0, 255), Is.EqualTo(29));
    }

    [Test]
    public void RgbThroughYuyvAndBack_StaysClose()
    {
        var rng = new Random(5);
        int w = 64, h = 8;
        var rgb = new byte[w * h * 3];
        // Pixel pairs share U and V in 4:2:2, so give each pair one colour.
        for (int i = 0; i < w * h; i += 2)
            for (int c = 0; c < 3; c++) rgb[3 * i + c] = rgb[3 * i + 3 + c] = (byte)rng.Next(256);
        var yuyv = new byte[w * h * 2];
        var back = new byte[rgb.Length];
        ColorConversion.Rgb24ToYuyv(rgb, yuyv, w, h);
        ColorConversion.YuyvToRgb24(yuyv, back, w, h);
        int worst = 0;
        for (int i = 0; i < rgb.Length; i++) worst = Math.Max(worst, Math.Abs(rgb[i] - back[i]));
        TestContext.Out.WriteLine($"largest RGB -> YUYV -> RGB error {worst}");
        Assert.That(worst, Is.LessThanOrEqualTo(4));
    }

    [Test]
    public void YuyvPipeline_ConvertsEachPixelWithItsPairsChroma()
    {
        // A 2x1 YUYV frame: Y0 U Y1 V -> RGB of (Y0, U, V) and (Y1, U, V).
        byte[] frame = [81, 90, 145, 240];
        var rgb = new byte[6];
        ColorConversion.YuyvToRgb24(frame, rgb, 2, 1);
        ColorConversion.YuvToRgb(81, 90, 240, out var r0, out var g0, out var b0);
        ColorConversion.YuvToRgb(145, 90, 240, out var r1, out var g1, out var b1);
        Assert.That(rgb, Is.EqualTo(new[] { r0, g0, b0, r1, g1, b1 }));
    }
}
