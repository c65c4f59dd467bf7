using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Graph.Ops.OpRunner;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

// Shape, Gather, Slice, Squeeze, Unsqueeze, Range, ConstantOfShape, Cast and Constant: the
// executor runs them directly; GraphPassesTests checks that they fold.
public class ConstantSubgraphOpsTests
{
    [Test]
    public void Shape_AllDimsAndOpset15Range()
    {
        Assert.That(Run("Shape", new float[24], [2, 3, 4]), Is.EqualTo(new float[] { 2, 3, 4 }));
        Assert.That(Run("Shape", new float[24], [2, 3, 4], out _, null, 15, Attr("start", 1L), Attr("end", -1L)), Is.EqualTo(new float[] { 3 }));
        Assert.That(Run("Shape", new float[24], [2, 3, 4], out _, null, 15, Attr("start", -2L)), Is.EqualTo(new float[] { 3, 4 }));
    }

    [Test]
    public void Gather_ScalarIndexRemovesAxis()
    {
        var y = Run("Gather", Iota(24), [2, 3, 4], out var shape, [("i", OnnxTensor.Scalar(1L))], 13, Attr("axis", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 2, 4 }));
        Assert.That(y, Is.EqualTo(new float[] { 4, 5, 6, 7, 16, 17, 18, 19 }));
    }

    [Test]
    public void Gather_NegativeAndVectorIndices()
    {
        var y = Run("Gather", Iota(6), [3, 2], out var shape, [("i", I(-1, 0))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 4, 5, 0, 1 }));
    }

    [Test]
    public void Gather_OutOfRange_IsClearError()
    {
        var e = Assert.Throws<ConversionException>(() => Run("Gather", Iota(6), [3, 2], out _, [("i", I(3))]));
        Assert.That(e!.Message, Does.Contain("Gather_under_test").And.Contain("index 3 is out of range"));
    }

    [Test]
    public void Slice_Opset13_InputsWithClampingAndNegativeStep()
    {
        var y = Run("Slice", Iota(8), [2, 4], out var shape, [("s", I(1)), ("e", I(long.MaxValue)), ("a", I(1)), ("st", I(1))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 3, 5, 6, 7 }));

        var r = Run("Slice", Iota(8), [2, 4], out shape, [("s", I(-1)), ("e", I(-long.MaxValue)), ("a", I(-1)), ("st", I(-2))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(r, Is.EqualTo(new float[] { 3, 1, 7, 5 }));
    }

    [Test]
    public void Slice_Opset9_Attributes()
    {
        var y = Run("Slice", Iota(8), [2, 4], out var shape, null, 9, Attr("starts", 0, 1), Attr("ends", 1, 3));
        Assert.That(shape, Is.EqualTo(new[] { 1, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2 }));
    }

    [Test]
    public void SqueezeAndUnsqueeze_Opset13InputsAndOpset11Attributes()
    {
        Run("Squeeze", new float[3], [1, 3, 1], out var shape, [("a", I(0))]);
        Assert.That(shape, Is.EqualTo(new[] { 3, 1 }));
        Run("Squeeze", new float[3], [1, 3, 1], out shape);
        Assert.That(shape, Is.EqualTo(new[] { 3 }));
        Run("Squeeze", new float[3], [1, 3, 1], out shape, null, 11, Attr("axes", new long[] { -1 }));
        Assert.That(shape, Is.EqualTo(new[] { 1, 3 }));
        Run("Unsqueeze", new float[3], [3], out shape, [("a", I(0, -1))]);
        Assert.That(shape, Is.EqualTo(new[] { 1, 3, 1 }));
        Run("Unsqueeze", new float[3], [3], out shape, null, 11, Attr("axes", new long[] { 1 }));
        Assert.That(shape, Is.EqualTo(new[] { 3, 1 }));

        var e = Assert.Throws<ConversionException>(() => Run("Squeeze", new float[3], [1, 3], out _, [("a", I(1))]));
        Assert.That(e!.Message, Does.Contain("cannot squeeze axis 1"));
    }

    [Test]
    public void Cast_TruncatesWrapsAndConvertsBool()
    {
        var x = new[] { -1.7f, 2.9f, 300f, 0f };
        Assert.That(Run("Cast", x, [4], Attr("to", (long)OnnxDataType.Int32)), Is.EqualTo(new float[] { -1, 2, 300, 0 }));
        Assert.That(Run("Cast", x, [4], Attr("to", (long)OnnxDataType.UInt8)), Is.EqualTo(new float[] { 255, 2, 44, 0 }));
        Assert.That(Run("Cast", x, [4], Attr("to", (long)OnnxDataType.Bool)), Is.EqualTo(new float[] { 1, 1, 1, 0 }));
        Assert.That(Run("Cast", x, [4], Attr("to", (long)OnnxDataType.Float)), Is.EqualTo(x));
    }

    [Test]
    public void Cast_ToStringIsRejectedAtImport()
    {
        var e = Assert.Throws<ConversionException>(() => Build("Cast", [2], null, 13, Attr("to", (long)OnnxDataType.String)));
        Assert.That(e!.Message, Does.Contain("to=STRING is not supported").And.Contain("supported: FLOAT"));
    }

    [Test]
    public void RangeConstantOfShapeAndConstant()
    {
        var graph = new TestModelBuilder().Input("x", 1).OutputUnshaped("r").OutputUnshaped("z").OutputUnshaped("c").OutputUnshaped("f")
            .Int64Initializer("start", [], 2L).Int64Initializer("limit", [], 9L).Int64Initializer("delta", [], 3L)
            .Int64Initializer("shape", [2], 2L, 3L)
            .Node("Range", ["start", "limit", "delta"], ["r"])
            .Node("ConstantOfShape", ["shape"], ["z"], "", Attr("value", Int64Tensor("", [1], [7])))
            .Node("Constant", [], ["c"], "", Attr("value_ints", 4, 5))
            .Node("Constant", [], ["f"], "", Attr("value_float", 0.5f))
            .Import();
        var all = new OnnxFloatExecutor(graph).RunAll([0f], [1]);
        Assert.That(all["r"].Int64s, Is.EqualTo(new long[] { 2, 5, 8 }));
        Assert.That(all["z"].Shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(all["z"].Int64s, Is.All.EqualTo(7L));
        Assert.That(all["c"].Int64s, Is.EqualTo(new long[] { 4, 5 }));
        Assert.That(all["f"].Shape, Is.Empty);
        Assert.That(all["f"].Floats, Is.EqualTo(new[] { 0.5f }));
    }

    [Test]
    public void Expand_BroadcastsBothWays()
    {
        // [3, 1] against shape [2, 1, 4]: numpy rules in both directions (the 1 in the shape keeps the input's 3).
        var graph = new TestModelBuilder().Input("x", 1).OutputUnshaped("e").OutputUnshaped("i")
            .FloatInitializer("a", [3, 1], 1f, 2f, 3f).Int64Initializer("shape", [3], 2L, 1L, 4L)
            .Int64Initializer("k", [2], 5L, 6L).Int64Initializer("kshape", [2], 3L, 1L)
            .Node("Expand", ["a", "shape"], ["e"])
            .Node("Expand", ["k", "kshape"], ["i"])
            .Import();
        var all = new OnnxFloatExecutor(graph).RunAll([0f], [1]);
        Assert.That(all["e"].Shape, Is.EqualTo(new[] { 2, 3, 4 }));
        Assert.That(all["e"].Floats, Is.EqualTo(Enumerable.Range(0, 24).Select(i => (float)(((i / 4) % 3) + 1)).ToArray()));
        Assert.That(all["i"].Shape, Is.EqualTo(new[] { 3, 2 }));
        Assert.That(all["i"].Int64s, Is.EqualTo(new long[] { 5, 6, 5, 6, 5, 6 }));
    }

    [Test]
    public void Expand_IncompatibleShapeAndRuntimeData_AreClearErrors()
    {
        var bad = new TestModelBuilder().Input("x", 1).OutputUnshaped("e")
            .FloatInitializer("a", [3], 1f, 2f, 3f).Int64Initializer("shape", [1], 4L)
            .Node("Expand", ["a", "shape"], ["e"], "widen");
        var e = Assert.Throws<ConversionException>(() => new OnnxFloatExecutor(bad.Import()).RunAll([0f], [1]));
        Assert.That(e!.Message, Does.Contain("widen").And.Contain("cannot be broadcast"));

        var runtime = new TestModelBuilder().Input("x", 1, 3).Output("e", 2, 3).Int64Initializer("shape", [2], 2L, 3L)
            .Node("Expand", ["x", "shape"], ["e"], "tile_rows").ToBytes();
        string path = Path.Combine(Path.GetTempPath(), $"eq_expand_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, runtime);
        try
        {
            var r = Assert.Throws<ConversionException>(() => ModelConverter.Load(path));
            Assert.That(r!.Message, Does.Contain("tile_rows").And.Contain("depends on runtime data").And.Contain("Expand"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void FloatRangeAndIntegerArithmetic()
    {
        var graph = new TestModelBuilder().Input("x", 1).OutputUnshaped("r").OutputUnshaped("q")
            .FloatInitializer("start", [], 0f).FloatInitializer("limit", [], 1f).FloatInitializer("delta", [], 0.25f)
            .Int64Initializer("a", [2], 7L, -7L).Int64Initializer("b", [], 2L)
            .Node("Range", ["start", "limit", "delta"], ["r"])
            .Node("Div", ["a", "b"], ["q"])
            .Import();
        var all = new OnnxFloatExecutor(graph).RunAll([0f], [1]);
        Assert.That(all["r"].Floats, Is.EqualTo(new[] { 0f, 0.25f, 0.5f, 0.75f }));
        Assert.That(all["q"].Int64s, Is.EqualTo(new long[] { 3, -3 }));
    }
}
