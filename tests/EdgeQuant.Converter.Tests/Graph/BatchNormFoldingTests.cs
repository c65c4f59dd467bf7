using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph;

public class BatchNormFoldingTests
{
    private static float[] RandomValues(int count, int seed, float scale = 1f, float offset = -0.5f)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => ((float)rng.NextDouble() + offset) * scale).ToArray();
    }

    /// <summary>Adds BN parameters for <paramref name="channels"/> channels named bn_s, bn_b, bn_m, bn_v.</summary>
    private static TestModelBuilder WithBnParameters(TestModelBuilder b, int channels) => b
        .FloatInitializer("bn_s", [channels], RandomValues(channels, 11, 2f, 0.25f))
        .FloatInitializer("bn_b", [channels], RandomValues(channels, 12))
        .FloatInitializer("bn_m", [channels], RandomValues(channels, 13))
        .FloatInitializer("bn_v", [channels], RandomValues(channels, 14, 1f, 0.1f));

    private static void AssertFoldKeepsResults(OnnxGraph graph, int[] inputShape, string producerOp)
    {
        var x = RandomValues(OnnxTensor.CountElements(inputShape), 99, 4f);
        var before = new OnnxFloatExecutor(graph).Run(x, inputShape);
        int folded = BatchNormFolding.Run(graph);
        Assert.That(folded, Is.EqualTo(1));
        Assert.That(graph.Nodes.Any(n => n.OpType == "BatchNormalization"), Is.False);
        Assert.That(graph.Nodes.Any(n => n.OpType == producerOp), Is.True);
        var after = new OnnxFloatExecutor(graph).Run(x, inputShape);
        Assert.That(after, Is.EqualTo(before).Within(1e-4f));
    }

    [TestCase(true)]
    [TestCase(false)]
    public void Conv_WithAndWithoutBias(bool withBias)
    {
        var b = new TestModelBuilder().Input("x", -1, 3, 5, 5).Output("y", -1, 4, 5, 5)
            .FloatInitializer("w", [4, 3, 3, 3], RandomValues(108, 1));
        string[] convInputs = withBias ? ["x", "w", "cb"] : ["x", "w"];
        if (withBias)
        {
            b.FloatInitializer("cb", [4], RandomValues(4, 2));
        }

        b.Node("Conv", convInputs, ["c"], "conv", Attr("pads", 1, 1, 1, 1))
            .Node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn", Attr("epsilon", 1e-3f));
        var graph = WithBnParameters(b, 4).Import();
        AssertFoldKeepsResults(graph, [2, 3, 5, 5], "Conv");
        Assert.That(graph.Nodes.Single().Outputs, Is.EqualTo(new[] { "y" }));
        Assert.That(graph.Nodes.Single().Inputs.Count, Is.EqualTo(3), "the conv gains a bias");
    }

    [Test]
    public void DepthwiseConv()
    {
        var b = new TestModelBuilder().Input("x", 1, 4, 6, 6).Output("y", 1, 4, 3, 3)
            .FloatInitializer("w", [4, 1, 3, 3], RandomValues(36, 3))
            .Node("Conv", ["x", "w"], ["c"], "dw", Attr("group", 4L), Attr("strides", 2, 2), Attr("pads", 1, 1, 1, 1))
            .Node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn");
        AssertFoldKeepsResults(WithBnParameters(b, 4).Import(), [1, 4, 6, 6], "Conv");
    }

    [TestCase(1L, true)]
    [TestCase(0L, false)]
    public void Gemm(long transB, bool withC)
    {
        var b = new TestModelBuilder().Input("x", -1, 6).Output("y", -1, 5)
            .FloatInitializer("w", transB == 1 ? [5, 6] : [6, 5], RandomValues(30, 4))
            .FloatInitializer("gc", [5], RandomValues(5, 5));
        b.Node("Gemm", withC ? ["x", "w", "gc"] : ["x", "w"], ["g"], "fc", Attr("transB", transB), Attr("alpha", 0.5f), Attr("beta", 2f))
            .Node("BatchNormalization", ["g", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn");
        AssertFoldKeepsResults(WithBnParameters(b, 5).Import(), [3, 6], "Gemm");
    }

    [Test]
    public void MatMulPlusBias()
    {
        var b = new TestModelBuilder().Input("x", -1, 6).Output("y", -1, 5)
            .FloatInitializer("w", [6, 5], RandomValues(30, 6))
            .FloatInitializer("bias", [5], RandomValues(5, 7))
            .Node("MatMul", ["x", "w"], ["m"], "mm")
            .Node("Add", ["m", "bias"], ["a"], "add")
            .Node("BatchNormalization", ["a", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn");
        var graph = WithBnParameters(b, 5).Import();
        AssertFoldKeepsResults(graph, [3, 6], "MatMul");
        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "MatMul", "Add" }));
    }

    [Test]
    public void MatMulWithoutBias_GainsAnAdd()
    {
        var b = new TestModelBuilder().Input("x", -1, 6).Output("y", -1, 5)
            .FloatInitializer("w", [6, 5], RandomValues(30, 8))
            .Node("MatMul", ["x", "w"], ["m"], "mm")
            .Node("BatchNormalization", ["m", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn");
        var graph = WithBnParameters(b, 5).Import();
        AssertFoldKeepsResults(graph, [2, 6], "MatMul");
        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "MatMul", "Add" }));
    }

    [Test]
    public void SharedWeights_AreNotModifiedInPlace()
    {
        var b = new TestModelBuilder().Input("x", 1, 2, 3, 3).Output("y", 1, 2, 3, 3).Output("z", 1, 2, 3, 3)
            .FloatInitializer("w", [2, 2, 1, 1], 1, 2, 3, 4)
            .Node("Conv", ["x", "w"], ["c"], "conv1")
            .Node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn")
            .Node("Conv", ["x", "w"], ["z"], "conv2");
        var graph = WithBnParameters(b, 2).Import();
        AssertFoldKeepsResults(graph, [1, 2, 3, 3], "Conv");
        Assert.That(graph.Initializers["w"].Floats, Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.That(graph.Nodes.Single(n => n.Name == "conv2").Inputs[1], Is.EqualTo("w"));
    }

    [Test]
    public void BatchNormWithoutFoldableProducer_Stays()
    {
        // After a graph input, and after a conv whose output is also used elsewhere.
        var b = new TestModelBuilder().Input("x", 1, 2, 2, 2).Output("y", 1, 2, 2, 2).Output("c", 1, 2, 2, 2)
            .FloatInitializer("w", [2, 2, 1, 1], 1, 0, 0, 1)
            .Node("BatchNormalization", ["x", "bn_s", "bn_b", "bn_m", "bn_v"], ["n"], "bn_input")
            .Node("Conv", ["n", "w"], ["c"], "conv")
            .Node("BatchNormalization", ["c", "bn_s", "bn_b", "bn_m", "bn_v"], ["y"], "bn_shared");
        var graph = WithBnParameters(b, 2).Import();
        var x = RandomValues(8, 5);
        var before = new OnnxFloatExecutor(graph).Run(x, [1, 2, 2, 2]);
        var result = GraphPasses.Simplify(graph);
        Assert.That(result.FoldedBatchNorms, Is.Zero);
        Assert.That(graph.Nodes.Count(n => n.OpType == "BatchNormalization"), Is.EqualTo(2));
        Assert.That(new OnnxFloatExecutor(graph).Run(x, [1, 2, 2, 2]), Is.EqualTo(before));
    }
}
