using EdgeQuant.Converter.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Graph.Ops.OpRunner;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

// Expected values were worked out by hand; the ceil_mode and count_include_pad cases were
// also checked against onnxruntime-node 1.30.
public class PoolOpsTests
{
    [Test]
    public void MaxPool_2x2Stride2()
    {
        var y = Run("MaxPool", Iota(16), [1, 1, 4, 4], out var shape, null, 13, Attr("kernel_shape", 2, 2), Attr("strides", 2, 2));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 5, 7, 13, 15 }));
    }

    [Test]
    public void MaxPool_OddSizeFloorsByDefault()
    {
        var y = Run("MaxPool", Iota(25), [1, 1, 5, 5], out var shape, null, 13, Attr("kernel_shape", 2, 2), Attr("strides", 2, 2));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 6, 8, 16, 18 }));
    }

    [Test]
    public void MaxPool_CeilModeKeepsPartialWindows()
    {
        var y = Run("MaxPool", Iota(25), [1, 1, 5, 5], out var shape, null, 13, Attr("kernel_shape", 2, 2), Attr("strides", 2, 2), Attr("ceil_mode", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 6, 8, 9, 16, 18, 19, 21, 23, 24 }));
    }

    [Test]
    public void MaxPool_CeilModeDropsWindowStartingInEndPadding()
    {
        // 1-D, size 3, kernel 2, stride 2, pads 1/1: ceil gives 3 windows but the third would
        // start at index 3 (the end padding), so only two remain: [-1, 0] and [1, 2].
        var y = Run("MaxPool", [1, 2, 3], [1, 1, 3], out var shape, null, 13, Attr("kernel_shape", new long[] { 2 }), Attr("strides", new long[] { 2 }), Attr("pads", 1, 1), Attr("ceil_mode", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 3 }));
    }

    [Test]
    public void MaxPool_PaddingNeverWins()
    {
        var y = Run("MaxPool", [-5, -6, -7, -8], [1, 1, 2, 2], out _, null, 13, Attr("kernel_shape", 2, 2), Attr("pads", 1, 1, 1, 1));
        Assert.That(y, Is.EqualTo(new float[] { -5, -5, -6, -5, -5, -6, -7, -7, -8 }));
    }

    [Test]
    public void MaxPool_DilationAndCeil()
    {
        // 6x6 of 1..36, kernel 2 dilation 2 stride 2, end pads 1, ceil: 3x3 output.
        var y = Run("MaxPool", Iota(36, 1f), [1, 1, 6, 6], out var shape, null, 13,
            Attr("kernel_shape", 2, 2), Attr("strides", 2, 2), Attr("dilations", 2, 2), Attr("pads", 0, 0, 1, 1), Attr("ceil_mode", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 3, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 15, 17, 17, 27, 29, 29, 27, 29, 29 }));
    }

    [TestCase(1L, new float[] { 0.25f, 0.75f, 1.25f, 0.75f, 1.25f, 3, 4, 2.25f, 2.75f, 6, 7, 3.75f, 1.75f, 3.75f, 4.25f, 2.25f })]
    [TestCase(0L, new float[] { 1, 1.5f, 2.5f, 3, 2.5f, 3, 4, 4.5f, 5.5f, 6, 7, 7.5f, 7, 7.5f, 8.5f, 9 })]
    public void AveragePool_Pads_CountIncludePad(long includePad, float[] expected)
    {
        var y = Run("AveragePool", Iota(9, 1f), [1, 1, 3, 3], out var shape, null, 13,
            Attr("kernel_shape", 2, 2), Attr("pads", 1, 1, 1, 1), Attr("count_include_pad", includePad));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 4, 4 }));
        Assert.That(y, Is.EqualTo(expected).Within(1e-6f));
    }

    [TestCase(0L)]
    [TestCase(1L)]
    public void AveragePool_CeilMode_WindowsPastThePaddedInputDoNotCount(long includePad)
    {
        // 3x3 of 1..9, kernel 2 stride 2 ceil: the partial windows average only real elements
        // (there is no padding to count).
        var y = Run("AveragePool", Iota(9, 1f), [1, 1, 3, 3], out var shape, null, 13,
            Attr("kernel_shape", 2, 2), Attr("strides", 2, 2), Attr("ceil_mode", 1L), Attr("count_include_pad", includePad));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 3, 4.5f, 7.5f, 9 }).Within(1e-6f));
    }

    [Test]
    public void AveragePool_CeilModeWithPadsAndIncludePad()
    {
        var y = Run("AveragePool", Iota(36, 1f), [1, 1, 6, 6], out var shape, null, 13,
            Attr("kernel_shape", 3, 3), Attr("strides", 2, 2), Attr("pads", 1, 1, 1, 1), Attr("ceil_mode", 1L), Attr("count_include_pad", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 4, 4 }));
        Assert.That(y, Is.EqualTo(new[] { 2f, 4, 16f / 3, 3, 9, 15, 17, 9, 17, 27, 29, 15, 10.5f, 16.5f, 17.5f, 9 }).Within(1e-5f));
    }

    [Test]
    public void AveragePool_DilationWithIncludePad()
    {
        var y = Run("AveragePool", Iota(16, 1f), [1, 1, 4, 4], out _, null, 19,
            Attr("kernel_shape", 2, 2), Attr("pads", 1, 1, 1, 1), Attr("dilations", 2, 2), Attr("count_include_pad", 1L));
        Assert.That(y, Is.EqualTo(new[] { 1.5f, 3, 3.5f, 1.75f, 3, 6, 7, 3.5f, 5, 10, 11, 5.5f, 2.5f, 5, 5.5f, 2.75f }).Within(1e-6f));
    }

    [Test]
    public void AveragePool_SameUpperExcludesPadding()
    {
        // 2x2 kernel, stride 1, SAME_UPPER on 1..4 (2x2): pads at the end only.
        var y = Run("AveragePool", [1, 2, 3, 4], [1, 1, 2, 2], out var shape, null, 13, Attr("kernel_shape", 2, 2), Attr("auto_pad", "SAME_UPPER"));
        Assert.That(shape, Is.EqualTo(new[] { 1, 1, 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 2.5f, 3, 3.5f, 4 }));
    }

    [Test]
    public void GlobalAveragePool_PerChannel()
    {
        var y = Run("GlobalAveragePool", Iota(12), [1, 3, 2, 2], out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 1, 3, 1, 1 }));
        Assert.That(y, Is.EqualTo(new float[] { 1.5f, 5.5f, 9.5f }));
    }

    [Test]
    public void MaxPool_StorageOrderIsRejectedAtImport()
    {
        var e = Assert.Throws<ConversionException>(() =>
            Build("MaxPool", [1, 1, 2, 2], null, 13, Attr("kernel_shape", 2, 2), Attr("storage_order", 1L)));
        Assert.That(e!.Message, Does.Contain("MaxPool_under_test").And.Contain("storage_order"));
    }
}
