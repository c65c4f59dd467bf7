using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph;

public class OnnxFloatExecutorTests
{
    /// <summary>x [batch, 3] -> Mul by [1, 2, 3] -> Relu.</summary>
    private static OnnxGraph Scale(long batch) => new TestModelBuilder()
        .Input("x", batch, 3).Output("y", batch, 3)
        .FloatInitializer("k", [3], 1, 2, 3)
        .Node("Mul", ["x", "k"], ["m"], "mul")
        .Node("Relu", ["m"], ["y"], "relu")
        .Import();

    [Test]
    public void WrongInputShape_SaysExpectedAndGot()
    {
        var e = Assert.Throws<ConversionException>(() => new OnnxFloatExecutor(Scale(-1)).Run(new float[8], [2, 4]));
        Assert.That(e!.Message, Is.EqualTo("input 'x' has the wrong shape: expected [?, 3] (? = any size), got [2, 4]"));

        var fixedBatch = Assert.Throws<ConversionException>(() => new OnnxFloatExecutor(Scale(1)).Run(new float[6], [2, 3]));
        Assert.That(fixedBatch!.Message, Is.EqualTo("input 'x' has the wrong shape: expected [1, 3] (? = any size), got [2, 3]"));
    }

    [Test]
    public void DataLengthNotMatchingShape_IsAnError()
    {
        var e = Assert.Throws<ConversionException>(() => new OnnxFloatExecutor(Scale(-1)).Run(new float[5], [2, 3]));
        Assert.That(e!.Message, Is.EqualTo("input 'x': shape [2, 3] needs 6 values but 5 were given"));
    }

    [Test]
    public void DynamicBatch_RunsAnyBatchAndRunBatchedMatches()
    {
        var executor = new OnnxFloatExecutor(Scale(-1));
        int samples = 150; // more than one internal chunk
        var data = Enumerable.Range(0, samples * 3).Select(i => (float)(i % 7) - 3).ToArray();
        var all = executor.Run(data, [samples, 3], out var shape);
        Assert.That(shape, Is.EqualTo(new[] { samples, 3 }));
        var batched = executor.RunBatched(data, samples, out var batchedShape);
        Assert.That(batchedShape, Is.EqualTo(new[] { samples, 3 }));
        Assert.That(batched, Is.EqualTo(all));
        Assert.That(all.Take(6), Is.EqualTo(new float[] { 0, 0, 0, 0, 2, 6 }));
    }

    [Test]
    public void FixedBatchOne_RunBatchedRunsSampleBySample()
    {
        var executor = new OnnxFloatExecutor(Scale(1));
        var data = new float[] { 1, 1, 1, 2, 2, 2, -1, 3, 1 };
        var y = executor.RunBatched(data, 3, out var shape);
        Assert.That(shape, Is.EqualTo(new[] { 3, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 3, 2, 4, 6, 0, 6, 3 }));
    }

    [Test]
    public void FixedBatchTwo_RequiresAMultipleOfTwoSamples()
    {
        var executor = new OnnxFloatExecutor(Scale(2));
        Assert.That(executor.RunBatched(new float[12], 4, out var shape), Has.Length.EqualTo(12));
        Assert.That(shape, Is.EqualTo(new[] { 4, 3 }));
        var e = Assert.Throws<ConversionException>(() => executor.RunBatched(new float[9], 3));
        Assert.That(e!.Message, Is.EqualTo("graph input 'x' has a fixed batch of 2; the sample count 3 must be a multiple of it"));
    }

    [Test]
    public void RunBatched_DataLengthMismatch_IsAnError()
    {
        var e = Assert.Throws<ConversionException>(() => new OnnxFloatExecutor(Scale(-1)).RunBatched(new float[10], 3));
        Assert.That(e!.Message, Does.StartWith("input data has 10 values; expected 3 samples of [3] = 9 values"));
    }

    [Test]
    public void RunAll_ReturnsEveryIntermediateValue()
    {
        var values = new OnnxFloatExecutor(Scale(-1)).RunAll([-1, 1, 1], [1, 3]);
        Assert.That(values["x"].Floats, Is.EqualTo(new float[] { -1, 1, 1 }));
        Assert.That(values["m"].Floats, Is.EqualTo(new float[] { -1, 2, 3 }));
        Assert.That(values["y"].Floats, Is.EqualTo(new float[] { 0, 2, 3 }));
        Assert.That(values["k"].Shape, Is.EqualTo(new[] { 3 }));
    }

    [Test]
    public void MultipleInputs_RunThroughRunAll()
    {
        var graph = new TestModelBuilder().Input("a", 1, 2).Input("b", 1, 2).Output("y", 1, 2)
            .Node("Sub", ["a", "b"], ["y"]).Import();
        var executor = new OnnxFloatExecutor(graph);
        var values = executor.RunAll(new Dictionary<string, OnnxTensor>
        {
            ["a"] = OnnxTensor.FromFloats([1, 2], [5, 5]),
            ["b"] = OnnxTensor.FromFloats([1, 2], [1, 2]),
        });
        Assert.That(values["y"].Floats, Is.EqualTo(new float[] { 4, 3 }));
        var e = Assert.Throws<ConversionException>(() => executor.Run([1, 2], [1, 2]));
        Assert.That(e!.Message, Does.StartWith("the graph has 2 inputs (a, b)"));
    }

    [Test]
    public void ConstantGraphOutput_IsReturned()
    {
        var graph = new TestModelBuilder().Input("x", 1, 2).Output("y", 2)
            .Node("Constant", [], ["y"], "c", Attr("value", FloatTensor("", [2], [7, 8]))).Import();
        GraphPasses.Simplify(graph);
        Assert.That(graph.Nodes, Is.Empty);
        Assert.That(new OnnxFloatExecutor(graph).Run([0, 0], [1, 2]), Is.EqualTo(new float[] { 7, 8 }));
    }
}
