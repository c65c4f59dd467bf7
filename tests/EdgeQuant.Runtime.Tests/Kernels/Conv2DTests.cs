using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class Conv2DTests
{
    private const int Half = 1 << 30;
    private static readonly sbyte[] OneToNine = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    private static sbyte[] Run(Conv2DParams p, sbyte[] input, Shape4 inShape, sbyte[] filter, Shape4 fShape, int[] bias, int[] m, int[] s, Shape4 outShape)
    {
        var output = new sbyte[outShape.FlatSize];
        Conv2D.EvalS8(p, input, inShape, filter, fShape, bias, m, s, output, outShape);
        return output;
    }

    private static Conv2DParams Unit(int stride = 1, int dilation = 1, int pad = 0) => new()
    {
        StrideH = stride, StrideW = stride, DilationH = dilation, DilationW = dilation,
        PadTop = pad, PadLeft = pad, PadBottom = pad, PadRight = pad, DepthMultiplier = 1,
        ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1,
    };

    [Test]
    public void TwoByTwoOnesHalved()
    {
        // Window sums 12, 16, 24, 28 times 0.5.
        var y = Run(Unit(), OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1], new(1, 2, 2, 1), [0], [Half], [0], new(1, 2, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 6, 8, 12, 14 }));
    }

    [Test]
    public void OffsetsBiasAndPerChannelMultipliers()
    {
        // Input zero point 1 (offset -1), bias 2, output zero point 3. Channel 0: ones x 0.5; channel 1: [1, 0, 0, -1] x 1.0.
        var p = Unit();
        p.InputOffset = -1;
        p.OutputOffset = 3;
        var y = Run(p, OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1, 1, 0, 0, -1], new(2, 2, 2, 1), [2, 2], [Half, Half], [0, 1], new(1, 2, 2, 2));
        Assert.That(y, Is.EqualTo(new sbyte[] { 8, 1, 10, 1, 14, 1, 16, 1 }));
    }

    [Test]
    public void StrideTwoWithPaddingSkipsPaddedPositions()
    {
        var y = Run(Unit(stride: 2, pad: 1), OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1], new(1, 2, 2, 1), [0], [Half], [1], new(1, 2, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 5, 11, 28 }));
    }

    [Test]
    public void DilationTwoReadsTheCorners()
    {
        var y = Run(Unit(dilation: 2), OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1], new(1, 2, 2, 1), [0], [Half], [1], new(1, 1, 1, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 20 }));
    }

    [Test]
    public void AsymmetricPaddingOnlyAtBottomRight()
    {
        // TensorFlow-style SAME padding with stride 2: pad bottom/right only.
        var p = Unit(stride: 2);
        p.PadBottom = 1;
        p.PadRight = 1;
        var y = Run(p, OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1], new(1, 2, 2, 1), [0], [Half], [1], new(1, 2, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 12, 9, 15, 9 }));
    }

    [Test]
    public void ActivationRangeClamps()
    {
        var p = Unit();
        p.ActivationMin = 7;
        p.ActivationMax = 13;
        var y = Run(p, OneToNine, new(1, 3, 3, 1), [1, 1, 1, 1], new(1, 2, 2, 1), [0], [Half], [0], new(1, 2, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 7, 8, 12, 13 }));
    }

    [Test]
    public void SaturatesToInt8()
    {
        sbyte[] big = [127, 127, 127, 127];
        var y = Run(Unit(), big, new(1, 2, 2, 1), [127, 127, 127, 127, -127, -127, -127, -127], new(2, 2, 2, 1), [0, 0], [Half, Half], [0, 0], new(1, 1, 1, 2));
        Assert.That(y, Is.EqualTo(new sbyte[] { 127, -128 }));
    }

    [Test]
    public void RandomShapesMatchFloatSimulationWithinOneLsb()
    {
        var r = new Rand(1001);
        for (int i = 0; i < 150; i++)
        {
            var c = ConvCase.Random(r, depthwise: false);
            Lsb.AssertWithin(c.Run(reference: false), c.Expected(), 1, $"case {i}: {c}");
        }
    }

    [Test]
    public void DispatchedKernelEqualsReference()
    {
        var r = new Rand(1002);
        for (int i = 0; i < 100; i++)
        {
            var c = ConvCase.Random(r, depthwise: false);
            Assert.That(c.Run(reference: false), Is.EqualTo(c.Run(reference: true)), $"case {i}: {c}");
        }
    }
}
