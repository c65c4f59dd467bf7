using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class DepthwiseConv2DTests
{
    private const int Half = 1 << 30;

    private static Conv2DParams Unit(int multiplier, int pad = 0) => new()
    {
        StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, PadTop = pad, PadLeft = pad, PadBottom = pad, PadRight = pad,
        DepthMultiplier = multiplier, ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1,
    };

    [Test]
    public void MultiplierTwoReadsInputChannelOcDividedByTwo()
    {
        // Pixels (a, b); filter [1, 2, 3, -1]: outputs [a, 2a, 3b, -b].
        sbyte[] input = [1, 2, 3, 4, 5, 6, 7, 8];
        var output = new sbyte[16];
        DepthwiseConv2D.EvalS8(Unit(2), input, new(1, 2, 2, 2), [1, 2, 3, -1], new(1, 1, 1, 4), [0, 0, 0, 0],
            [Half, Half, Half, Half], [1, 1, 1, 1], output, new(1, 2, 2, 4));
        Assert.That(output, Is.EqualTo(new sbyte[] { 1, 2, 6, -2, 3, 6, 12, -4, 5, 10, 18, -6, 7, 14, 24, -8 }));
    }

    [Test]
    public void ThreeByThreeSamePaddingHalvedRoundsTiesUp()
    {
        // Window sums of 1..9 with zero padding, times 0.5; x.5 rounds up.
        sbyte[] input = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var output = new sbyte[9];
        DepthwiseConv2D.EvalS8(Unit(1, pad: 1), input, new(1, 3, 3, 1), [1, 1, 1, 1, 1, 1, 1, 1, 1], new(1, 3, 3, 1), [0],
            [Half], [0], output, new(1, 3, 3, 1));
        Assert.That(output, Is.EqualTo(new sbyte[] { 6, 11, 8, 14, 23, 17, 12, 20, 14 }));
    }

    [Test]
    public void RandomShapesMatchFloatSimulationWithinOneLsb()
    {
        var r = new Rand(2001);
        for (int i = 0; i < 200; i++)
        {
            var c = ConvCase.Random(r, depthwise: true);
            Lsb.AssertWithin(c.Run(reference: false), c.Expected(), 1, $"case {i}: {c}");
        }
    }

    [Test]
    public void DispatchedKernelEqualsReference()
    {
        var r = new Rand(2002);
        for (int i = 0; i < 100; i++)
        {
            var c = ConvCase.Random(r, depthwise: true);
            Assert.That(c.Run(reference: false), Is.EqualTo(c.Run(reference: true)), $"case {i}: {c}");
        }
    }
}
