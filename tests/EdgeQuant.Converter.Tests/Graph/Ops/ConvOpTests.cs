using EdgeQuant.Converter.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Graph.Ops.OpRunner;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

public class ConvOpTests
{
    // x = 1..9 as a 3x3 image.
    private static readonly float[] X3 = Iota(9, 1f);

    [Test]
    public void NoPadding_SumsWindows()
    {
        var y = Run("Conv", X3, [1, 1, 3, 3], out var shape, [("w", F([1, 1, 2, 2], 1, 1, 1, 1))]);
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 12, 16, 24, 28 }));
    }

    [Test]
    public void AsymmetricPads_TopAndRight()
    {
        // pads [top, left, bottom, right] = [1, 0, 0, 1]
        var y = Run("Conv", X3, [1, 1, 3, 3], out var shape, [("w", F([1, 1, 2, 2], 1, 1, 1, 1))], 13, Attr("pads", 1, 0, 0, 1));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 3, 5, 3, 12, 16, 9, 24, 28, 15 }));
    }

    [Test]
    public void StrideAndDilation()
    {
        // x[r, c] = 5r + c on 5x5; a dilated 2x2 kernel of ones reads the corners of a 3x3 window.
        var y = Run("Conv", Iota(25), [1, 1, 5, 5], out var shape, [("w", F([1, 1, 2, 2], 1, 1, 1, 1))], 13, Attr("strides", 2, 2), Attr("dilations", 2, 2));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 24, 32, 64, 72 }));
    }

    [Test]
    public void StrideWithPadding_OddSize()
    {
        // 3x3 ones kernel, stride 2, pad 1 on 1..9: windows centred on (0,0), (0,2), (2,0), (2,2).
        var y = Run("Conv", X3, [1, 1, 3, 3], out var shape, [("w", F([1, 1, 3, 3], Enumerable.Repeat(1f, 9).ToArray()))], 13, Attr("strides", 2, 2), Attr("pads", 1, 1, 1, 1));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 1 + 2 + 4 + 5, 2 + 3 + 5 + 6, 4 + 5 + 7 + 8, 5 + 6 + 8 + 9 }));
    }

    [Test]
    public void Groups_WithBias()
    {
        // Two groups of two channels: out0 = x0 + x1, out1 = x2 - x3, plus bias.
        var y = Run("Conv", [1, 2, 3, 4], [1, 4, 1, 1], out var shape,
            [("w", F([2, 2, 1, 1], 1, 1, 1, -1)), ("b", F([2], 10, 20))], 13, Attr("group", 2L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 2, 1, 1 }));
        Assert.That(y, Is.EqualTo(new float[] { 13, 19 }));
    }

    [Test]
    public void Depthwise_GroupEqualsChannels()
    {
        // Channel 0 = [1,2,3,4] scaled by 2, channel 1 = [5,6,7,8] scaled by 3; batch 2 repeats with an offset.
        var x = Iota(16, 1f);
        var y = Run("Conv", x, [2, 2, 2, 2], out var shape, [("w", F([2, 1, 1, 1], 2, 3))], 13, Attr("group", 2L));
        Assert.That(shape, Is.EqualTo(new[] { 2, 2, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 2, 4, 6, 8, 15, 18, 21, 24, 18, 20, 22, 24, 39, 42, 45, 48 }));
    }

    [Test]
    public void DepthwiseWithMultiplier()
    {
        // group = C = 1, M = 2: both output channels read the single input channel.
        var y = Run("Conv", [1, 2], [1, 1, 1, 2], out _, [("w", F([2, 1, 1, 1], 1, -1))], 13, Attr("group", 1L));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, -1, -2 }));
    }

    [TestCase("SAME_UPPER", new float[] { 12, 16, 9, 24, 28, 15, 15, 17, 9 })]
    [TestCase("SAME_LOWER", new float[] { 1, 3, 5, 5, 12, 16, 11, 24, 28 })]
    [TestCase("VALID", new float[] { 12, 16, 24, 28 })]
    public void AutoPad(string mode, float[] expected)
    {
        var y = Run("Conv", X3, [1, 1, 3, 3], out _, [("w", F([1, 1, 2, 2], 1, 1, 1, 1))], 13, Attr("auto_pad", mode));
        Assert.That(y, Is.EqualTo(expected));
    }

    [Test]
    public void OneDimensional()
    {
        // pads [1, 0]: padded = [0,1,2,3,4,5]; y[i] = p[i] + 2 p[i+1].
        var y = Run("Conv", Iota(5, 1f), [1, 1, 5], out var shape, [("w", F([1, 1, 2], 1, 2))], 13, Attr("pads", 1, 0));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 5 }));
        Assert.That(y, Is.EqualTo(new float[] { 2, 5, 8, 11, 14 }));
    }

    [Test]
    public void MultipleInputAndOutputChannels_MatchNaiveLoop()
    {
        var rng = new Random(3);
        int n = 2, c = 3, h = 5, w = 6, m = 4, kh = 3, kw = 2;
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var wt = Enumerable.Range(0, m * c * kh * kw).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        int[] pads = [2, 0, 1, 1];
        int sh = 2, sw = 1;
        var y = Run("Conv", x, [n, c, h, w], out var shape, [("w", F([m, c, kh, kw], wt))], 13, Attr("pads", 2, 0, 1, 1), Attr("strides", 2, 1));
        int oh = ((h + pads[0] + pads[2] - kh) / sh) + 1, ow = ((w + pads[1] + pads[3] - kw) / sw) + 1;
        Assert.That(shape, Is.EqualTo(new[] { n, m, oh, ow }));
        for (int b = 0; b < n; b++)
        {
            for (int o = 0; o < m; o++)
            {
                for (int i = 0; i < oh; i++)
                {
                    for (int j = 0; j < ow; j++)
                    {
                        double sum = 0;
                        for (int ci = 0; ci < c; ci++)
                        {
                            for (int a = 0; a < kh; a++)
                            {
                                for (int bb = 0; bb < kw; bb++)
                                {
                                    int ih = (i * sh) - pads[0] + a, iw = (j * sw) - pads[1] + bb;
                                    if (ih >= 0 && ih < h && iw >= 0 && iw < w)
                                    {
                                        sum += x[(((b * c) + ci) * h + ih) * w + iw] * wt[(((o * c) + ci) * kh + a) * kw + bb];
                                    }
                                }
                            }
                        }

                        Assert.That(y[(((b * m) + o) * oh + i) * ow + j], Is.EqualTo(sum).Within(1e-5));
                    }
                }
            }
        }
    }

    [Test]
    public void ChannelMismatch_IsClearError()
    {
        var e = Assert.Throws<ConversionException>(() =>
            Run("Conv", new float[18], [1, 2, 3, 3], out _, [("w", F([1, 3, 1, 1], 1, 1, 1))]));
        Assert.That(e!.Message, Does.Contain("Conv_under_test").And.Contain("input channels"));
    }

    [Test]
    public void KernelLargerThanInput_IsClearError()
    {
        var e = Assert.Throws<ConversionException>(() =>
            Run("Conv", new float[4], [1, 1, 2, 2], out _, [("w", F([1, 1, 3, 3], new float[9]))]));
        Assert.That(e!.Message, Does.Contain("Conv_under_test").And.Contain("smaller than"));
    }
}
