using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Graph.Ops.OpRunner;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

public class TransposeOpTests
{
    [Test]
    public void NchwToNhwc()
    {
        // [1, 2, 2, 2]: channel 0 = 0..3, channel 1 = 4..7.
        var y = Run("Transpose", Iota(8), [1, 2, 2, 2], out var shape, null, 13, Attr("perm", 0, 2, 3, 1));
        Assert.That(shape, Is.EqualTo(new[] { 1, 2, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 0, 4, 1, 5, 2, 6, 3, 7 }));
    }

    [Test]
    public void DefaultPermReversesAxes()
    {
        var y = Run("Transpose", Iota(6), [2, 3], out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void InvalidPerm_IsClearError()
    {
        var e = Assert.Throws<ConversionException>(() => Run("Transpose", Iota(6), [2, 3], Attr("perm", 0, 0)));
        Assert.That(e!.Message, Does.Contain("Transpose_under_test").And.Contain("not a permutation"));
    }
}

public class ReshapeOpsTests
{
    [TestCase(1L, new[] { 2, 12 })]
    [TestCase(2L, new[] { 6, 4 })]
    [TestCase(0L, new[] { 1, 24 })]
    [TestCase(-1L, new[] { 12, 2 })]
    [TestCase(4L, new[] { 24, 1 })]
    public void Flatten(long axis, int[] expected)
    {
        var y = Run("Flatten", Iota(24), [2, 3, 2, 2], out var shape, null, 13, Attr("axis", axis));
        Assert.That(shape, Is.EqualTo(expected));
        Assert.That(y, Is.EqualTo(Iota(24)));
    }

    [TestCase(new long[] { 0, -1 }, new[] { 2, 12 })]
    [TestCase(new long[] { -1, 6 }, new[] { 4, 6 })]
    [TestCase(new long[] { 2, 0, 4 }, new[] { 2, 3, 4 })]
    [TestCase(new long[] { 24 }, new[] { 24 })]
    public void Reshape_ZeroCopiesAndMinusOneInfers(long[] target, int[] expected)
    {
        Run("Reshape", Iota(24), [2, 3, 4], out var shape, [("s", I(target))]);
        Assert.That(shape, Is.EqualTo(expected));
    }

    [Test]
    public void Reshape_AllowZeroKeepsLiteralZero()
    {
        Run("Reshape", [], [0, 3], out var shape, [("s", I(3, 0))], 14, Attr("allowzero", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 3, 0 }));
    }

    [Test]
    public void Reshape_WrongCount_IsClearError()
    {
        var e = Assert.Throws<ConversionException>(() => Run("Reshape", Iota(6), [2, 3], out _, [("s", I(4, -1))]));
        Assert.That(e!.Message, Does.Contain("Reshape_under_test").And.Contain("cannot reshape [2, 3]"));
    }
}

public class ConcatOpTests
{
    [Test]
    public void AlongChannels()
    {
        var y = Run("Concat", [1, 2, 3, 4], [1, 2, 2], out var shape, [("c", F([1, 1, 2], 9, 8))], 13, Attr("axis", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 3, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 3, 4, 9, 8 }));
    }

    [Test]
    public void AlongLastAxis_NegativeAxis()
    {
        var y = Run("Concat", [1, 2, 3, 4], [2, 2], out var shape, [("c", F([2, 1], 7, 8))], 13, Attr("axis", -1L));
        Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 7, 3, 4, 8 }));
    }

    [Test]
    public void TwoRuntimeInputs()
    {
        var graph = new TestModelBuilder().Input("x", 1, 2).OutputUnshaped("y")
            .Node("Relu", ["x"], ["r"])
            .Node("Concat", ["x", "r", "x"], ["y"], "cat", Attr("axis", 0L))
            .Import();
        var y = new OnnxFloatExecutor(graph).Run([-1, 2], [1, 2], out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { -1, 2, 0, 2, -1, 2 }));
    }
}

public class PadOpTests
{
    private static readonly float[] X = [1, 2, 3, 4]; // [1, 1, 2, 2]

    [Test]
    public void Opset11_PadsInputWithValue()
    {
        // One row on top, two columns on the right.
        var y = Run("Pad", X, [1, 1, 2, 2], out var shape, [("p", I(0, 0, 1, 0, 0, 0, 0, 2)), ("v", F([], 9f))], 13);
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 4 }));
        Assert.That(y, Is.EqualTo(new float[] { 9, 9, 9, 9, 1, 2, 9, 9, 3, 4, 9, 9 }));
    }

    [Test]
    public void Opset11_OmittedValueIsZero()
    {
        var y = Run("Pad", X, [1, 1, 2, 2], out _, [("p", I(0, 0, 0, 1, 0, 0, 1, 0)), ("v", null)], 13);
        Assert.That(y, Is.EqualTo(new float[] { 0, 1, 2, 0, 3, 4, 0, 0, 0 }));
    }

    [Test]
    public void Opset10_Attributes()
    {
        var y = Run("Pad", X, [1, 1, 2, 2], out var shape, null, 10, Attr("pads", 0, 0, 1, 1, 0, 0, 0, 0), Attr("value", -1f));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { -1, -1, -1, -1, 1, 2, -1, 3, 4 }));
    }

    [Test]
    public void NegativePadsCrop()
    {
        var y = Run("Pad", Iota(9), [1, 1, 3, 3], out var shape, [("p", I(0, 0, -1, 0, 0, 0, 0, -1))], 13);
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 3, 4, 6, 7 }));
    }

    [Test]
    public void Opset18_Axes()
    {
        var y = Run("Pad", X, [1, 1, 2, 2], out var shape, [("p", I(1, 1)), ("v", null), ("a", I(-1))], 18);
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 4 }));
        Assert.That(y, Is.EqualTo(new float[] { 0, 1, 2, 0, 0, 3, 4, 0 }));
    }

    [Test]
    public void WrapMode_IsRejectedWithSupportedList()
    {
        var e = Assert.Throws<ConversionException>(() => Build("Pad", [1, 1, 2, 2], [("p", I(0, 0, 1, 1, 0, 0, 1, 1))], 19, Attr("mode", "wrap")));
        Assert.That(e!.Message, Is.EqualTo("node 'Pad_under_test' (Pad): attribute mode='wrap' is not supported; supported: constant, reflect, edge"));
    }
}
