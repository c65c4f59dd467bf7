using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph;

public class GraphPassesTests
{
    /// <summary>x [N, 2, 3, 3] -> x.view(x.size(0), -1) as exporters write it without constant folding.</summary>
    private static TestModelBuilder ViewBatchMinusOne() => new TestModelBuilder()
        .Input("x", -1, 2, 3, 3).Output("y", -1, 18)
        .Int64Initializer("zero", [], 0L)
        .Int64Initializer("axes", [1], 0L)
        .Node("Shape", ["x"], ["s"], "shape")
        .Node("Gather", ["s", "zero"], ["n"], "gather", Attr("axis", 0L))
        .Node("Unsqueeze", ["n", "axes"], ["n1"], "unsqueeze")
        .Node("Constant", [], ["minus1"], "c", Attr("value", Int64Tensor("", [1], [-1])))
        .Node("Concat", ["n1", "minus1"], ["target"], "concat", Attr("axis", 0L))
        .Node("Reshape", ["x", "target"], ["y"], "reshape");

    [Test]
    public void ShapeSubgraphOfDynamicBatch_BecomesConstantReshapeForAnyBatch()
    {
        var graph = ViewBatchMinusOne().Import();
        var result = GraphPasses.Simplify(graph);

        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Reshape" }));
        Assert.That(result.RewrittenReshapes, Is.EqualTo(1));
        var target = graph.Initializers[graph.Nodes[0].Inputs[1]];
        Assert.That(target.Int64s, Is.EqualTo(new long[] { -1, 18 }));

        var executor = new OnnxFloatExecutor(graph);
        foreach (int batch in new[] { 1, 2, 5 })
        {
            var x = Enumerable.Range(0, batch * 18).Select(i => (float)i).ToArray();
            var y = executor.Run(x, [batch, 2, 3, 3], out var shape);
            Assert.That(shape, Is.EqualTo(new[] { batch, 18 }));
            Assert.That(y, Is.EqualTo(x));
        }
    }

    [Test]
    public void BatchAndChannelFromShape_KeepsStaticDims()
    {
        // x.view(x.size(0), x.size(1), -1)
        var graph = new TestModelBuilder()
            .Input("x", -1, 2, 3, 3).Output("y", -1, 2, 9)
            .Int64Initializer("i0", [1], 0L).Int64Initializer("i1", [1], 1L).Int64Initializer("m1", [1], -1L)
            .Node("Shape", ["x"], ["s"])
            .Node("Gather", ["s", "i0"], ["n"], "", Attr("axis", 0L))
            .Node("Gather", ["s", "i1"], ["c"], "", Attr("axis", 0L))
            .Node("Concat", ["n", "c", "m1"], ["t"], "", Attr("axis", 0L))
            .Node("Reshape", ["x", "t"], ["y"], "r")
            .Import();
        GraphPasses.Simplify(graph);
        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Reshape" }));
        Assert.That(graph.Initializers[graph.Nodes[0].Inputs[1]].Int64s, Is.EqualTo(new long[] { -1, 2, 9 }));
        Assert.That(graph.Shapes["y"], Is.EqualTo(new[] { 1, 2, 9 }));
    }

    [Test]
    public void FixedBatchShapeSubgraph_FoldsToConstant()
    {
        var b = ViewBatchMinusOne();
        b.Graph.Input.Clear();
        b.Input("x", 1, 2, 3, 3);
        var graph = b.Import();
        var result = GraphPasses.Simplify(graph);
        Assert.That(result.RewrittenReshapes, Is.Zero);
        Assert.That(graph.Initializers[graph.Nodes.Single().Inputs[1]].Int64s, Is.EqualTo(new long[] { 1, -1 }));
    }

    [Test]
    public void QuirkShapeSubgraph_LeavesOnlyComputeOps()
    {
        var graph = OnnxImporter.Load(Path.Combine(RepoPaths.Quirks, "shape_subgraph.onnx"));
        Assert.That(graph.Nodes.Select(n => n.OpType), Does.Contain("Shape").And.Contain("Gather"));
        GraphPasses.Simplify(graph);
        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Conv", "Relu", "MaxPool", "Reshape", "Gemm" }));
        var reshape = graph.Nodes.Single(n => n.OpType == "Reshape");
        Assert.That(graph.Initializers[reshape.Inputs[1]].Int64s, Is.EqualTo(new long[] { -1, 196 }));
    }

    [Test]
    public void QuirkPadSubgraph_FoldsPadsToConstants()
    {
        var graph = OnnxImporter.Load(Path.Combine(RepoPaths.Quirks, "pad_subgraph.onnx"));
        GraphPasses.Simplify(graph);
        Assert.That(graph.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Pad", "Conv", "Relu", "Pad", "Conv", "Relu", "AveragePool", "MaxPool", "Flatten", "Gemm" }));
        var pads = graph.Nodes.Where(n => n.OpType == "Pad").Select(n => graph.Initializers[n.Inputs[1]].Int64s).ToArray();
        Assert.That(pads[0], Is.EqualTo(new long[] { 0, 0, 0, 0, 0, 0, 1, 1 }));
        Assert.That(pads[1], Is.EqualTo(new long[] { 0, 0, 1, 2, 0, 0, 0, 1 }));
    }

    [Test]
    public void QuirkFixedBatch1_KeepsItsConstantReshape()
    {
        var graph = OnnxImporter.Load(Path.Combine(RepoPaths.Quirks, "fixed_batch1.onnx"));
        GraphPasses.Simplify(graph);
        var reshape = graph.Nodes.Single(n => n.OpType == "Reshape");
        Assert.That(graph.Initializers[reshape.Inputs[1]].Int64s, Is.EqualTo(new long[] { 1, -1 }));
        Assert.That(graph.Nodes.Any(n => n.OpType == "Constant"), Is.False);
    }

    [Test]
    public void ZooMobileNet_FoldsAllBatchNormsAndClipBounds()
    {
        var graph = OnnxImporter.Load(Path.Combine(RepoPaths.Zoo, "fashion_mobilenet.onnx"));
        var result = GraphPasses.Simplify(graph);
        Assert.That(result.FoldedBatchNorms, Is.EqualTo(9));
        Assert.That(graph.Nodes.Select(n => n.OpType).Distinct(), Is.EquivalentTo(new[] { "Conv", "Clip", "Add", "GlobalAveragePool", "Flatten", "Gemm" }));
        foreach (var clip in graph.Nodes.Where(n => n.OpType == "Clip"))
        {
            Assert.That(graph.IsConstant(clip.Inputs[1]) && graph.IsConstant(clip.Inputs[2]), Is.True);
        }
    }

    [Test]
    public void ConstantOps_FoldIntoInitializers()
    {
        // y = x + (Range(0, 3, 1) cast to float) * 2, with the constant part folded.
        var graph = new TestModelBuilder().Input("x", -1, 3).Output("y", -1, 3)
            .Int64Initializer("start", [], 0L).Int64Initializer("limit", [], 3L).Int64Initializer("delta", [], 1L)
            .FloatInitializer("two", [], 2f)
            .Node("Range", ["start", "limit", "delta"], ["r"])
            .Node("Cast", ["r"], ["rf"], "", Attr("to", (long)OnnxDataType.Float))
            .Node("Mul", ["rf", "two"], ["m"])
            .Node("Add", ["x", "m"], ["y"], "add")
            .Import();
        var result = GraphPasses.Simplify(graph);
        Assert.That(result.FoldedNodes, Is.EqualTo(3));
        Assert.That(graph.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "add" }));
        Assert.That(graph.Initializers["m"].Floats, Is.EqualTo(new float[] { 0, 2, 4 }));
        Assert.That(graph.Initializers.Keys, Is.EquivalentTo(new[] { "m" }), "unused initializers are removed");
    }

    [Test]
    public void CastToIntegerOnRuntimeData_IsRejected()
    {
        // (Gather and Slice run on activations since issue 12; an integer Cast of runtime data is still shape arithmetic only.)
        var graph = new TestModelBuilder().Input("x", -1, 4).OutputUnshaped("y")
            .Node("Cast", ["x"], ["y"], "pick", Attr("to", (long)OnnxDataType.Int64))
            .Import();
        var e = Assert.Throws<ConversionException>(() => GraphPasses.Simplify(graph));
        Assert.That(e!.Message, Is.EqualTo("node 'pick' (Cast): casts runtime data to INT64; supported: Cast of runtime data to FLOAT only (other casts must fold to constants)"));
    }

    [Test]
    public void BatchDependentValueOutsideReshape_IsRejected()
    {
        // Adds the batch size (from Shape) to the data: not expressible with a constant.
        var graph = new TestModelBuilder().Input("x", -1, 1).OutputUnshaped("y")
            .Int64Initializer("i0", [], 0L)
            .Node("Shape", ["x"], ["s"])
            .Node("Gather", ["s", "i0"], ["n"], "", Attr("axis", 0L))
            .Node("Cast", ["n"], ["nf"], "", Attr("to", (long)OnnxDataType.Float))
            .Node("Add", ["x", "nf"], ["y"], "add_n")
            .Import();
        var e = Assert.Throws<ConversionException>(() => GraphPasses.Simplify(graph));
        Assert.That(e!.Message, Does.StartWith("node 'add_n' (Add): input 'nf' is computed from the dynamic batch size"));
    }

    [Test]
    public void IdentityDropoutAndCastToFloat_AreRemoved()
    {
        var graph = new TestModelBuilder(13).Input("x", -1, 2).Output("y", -1, 2)
            .Node("Identity", ["x"], ["a"])
            .Node("Cast", ["a"], ["b"], "", Attr("to", (long)OnnxDataType.Float))
            .Node("Relu", ["b"], ["c"], "relu")
            .Node("Dropout", ["c"], ["y"])
            .Import();
        var result = GraphPasses.Simplify(graph);
        Assert.That(result.RemovedPassThroughNodes, Is.EqualTo(3));
        Assert.That(graph.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "relu" }));
        Assert.That(graph.Nodes[0].Inputs, Is.EqualTo(new[] { "x" }));
        Assert.That(graph.Nodes[0].Outputs, Is.EqualTo(new[] { "y" }), "the producer writes the graph output directly");
        Assert.That(new OnnxFloatExecutor(graph).Run([-1, 2], [1, 2]), Is.EqualTo(new float[] { 0, 2 }));
    }

    [Test]
    public void IdentityFromInputToOutput_IsKept()
    {
        var graph = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2).Node("Dropout", ["x"], ["y"]).Import();
        GraphPasses.Simplify(graph);
        Assert.That(graph.Nodes.Single().OpType, Is.EqualTo("Identity"));
        Assert.That(new OnnxFloatExecutor(graph).Run([3, 4], [1, 2]), Is.EqualTo(new float[] { 3, 4 }));
    }

    [Test]
    public void CastOfRuntimeDataToInteger_IsRejected()
    {
        var graph = new TestModelBuilder().Input("x", 1, 2).OutputUnshaped("y")
            .Node("Cast", ["x"], ["y"], "to_int", Attr("to", (long)OnnxDataType.Int64)).Import();
        var e = Assert.Throws<ConversionException>(() => GraphPasses.Simplify(graph));
        Assert.That(e!.Message, Does.StartWith("node 'to_int' (Cast): casts runtime data to INT64; supported: Cast of runtime data to FLOAT only"));
    }

    [Test]
    public void DeadNodes_AreRemoved()
    {
        var graph = new TestModelBuilder().Input("x", 1, 2).Output("y", 1, 2)
            .Node("Relu", ["x"], ["y"], "live")
            .Node("Sigmoid", ["x"], ["unused"], "dead")
            .Import();
        Assert.That(GraphPasses.RemoveDeadNodes(graph), Is.EqualTo(1));
        Assert.That(graph.Nodes.Select(n => n.Name), Is.EqualTo(new[] { "live" }));
    }

    [Test]
    public void InferShapes_ConvPoolGemmForABatchSize()
    {
        var graph = new TestModelBuilder().Input("x", -1, 3, 15, 16).Output("y", -1, 5)
            .FloatInitializer("w", [8, 3, 3, 3], new float[8 * 27])
            .FloatInitializer("fw", [5, 8 * 4 * 4], new float[5 * 128])
            .Node("Conv", ["x", "w"], ["c"], "conv", Attr("strides", 2, 2), Attr("pads", 1, 1, 1, 1))
            .Node("MaxPool", ["c"], ["p"], "pool", Attr("kernel_shape", 2, 2), Attr("strides", 2, 2), Attr("ceil_mode", 1L))
            .Node("Flatten", ["p"], ["f"], "flat")
            .Node("Gemm", ["f", "fw"], ["y"], "fc", Attr("transB", 1L))
            .Import();
        GraphPasses.InferShapes(graph, 4);
        Assert.That(graph.Shapes["x"], Is.EqualTo(new[] { 4, 3, 15, 16 }));
        Assert.That(graph.Shapes["c"], Is.EqualTo(new[] { 4, 8, 8, 8 }));
        Assert.That(graph.Shapes["p"], Is.EqualTo(new[] { 4, 8, 4, 4 }));
        Assert.That(graph.Shapes["f"], Is.EqualTo(new[] { 4, 128 }));
        Assert.That(graph.Shapes["y"], Is.EqualTo(new[] { 4, 5 }));
        Assert.That(graph.Shapes["w"], Is.EqualTo(new[] { 8, 3, 3, 3 }), "initializers have shapes too");
    }

    [Test]
    public void InferShapes_MismatchedGemm_NamesTheNode()
    {
        var graph = new TestModelBuilder().Input("x", -1, 6).OutputUnshaped("y")
            .FloatInitializer("w", [4, 5], new float[20])
            .Node("Gemm", ["x", "w"], ["y"], "classifier", Attr("transB", 1L))
            .Import();
        var e = Assert.Throws<ConversionException>(() => GraphPasses.Simplify(graph));
        Assert.That(e!.Message, Does.StartWith("node 'classifier' (Gemm): A [").And.EndWith(", 6] (transA=0) and B [4, 5] (transB=1) do not match: K is 6 vs 5"));
    }

    [Test]
    public void DynamicNonBatchDimension_IsRejected()
    {
        var b = new TestModelBuilder().Output("y", -1, 3).Node("Relu", ["x"], ["y"]);
        var x = ValueInfo("x", [1, 3]);
        x.Type.TensorType.Shape.Dim[1] = new Converter.Onnx.Proto.TensorShapeProto.Types.Dimension { DimParam = "width" };
        b.Graph.Input.Add(x);
        var e = Assert.Throws<ConversionException>(() => GraphPasses.Simplify(b.Import()));
        Assert.That(e!.Message, Does.StartWith("graph input 'x' [1, ?] has a dynamic dimension at index 1; supported: only the first (batch) dimension may be dynamic"));
    }

    [Test]
    public void DeclaredOutputShapeMismatch_IsReported()
    {
        var graph = new TestModelBuilder().Input("x", -1, 3).Output("y", -1, 4).Node("Relu", ["x"], ["y"]).Import();
        var e = Assert.Throws<ConversionException>(() => GraphPasses.InferShapes(graph, 2));
        Assert.That(e!.Message, Is.EqualTo("graph output 'y' is declared as [?, 4] but the graph computes [2, 3] for batch size 2"));
    }

    [Test]
    public void SimplifiedAndImportedGraphs_AgreeOnEveryQuirkModel()
    {
        foreach (var file in Directory.GetFiles(RepoPaths.Quirks, "*.onnx"))
        {
            var raw = OnnxImporter.Load(file);
            var simplified = raw.Clone();
            GraphPasses.Simplify(simplified);
            var sample = raw.Inputs[0].Shape.Select(d => d < 0 ? 1 : d).ToArray();
            var rng = new Random(7);
            var x = Enumerable.Range(0, OnnxTensor.CountElements(sample)).Select(_ => (float)rng.NextDouble()).ToArray();
            var a = new OnnxFloatExecutor(raw).Run(x, sample);
            var b = new OnnxFloatExecutor(simplified).Run(x, sample);
            Assert.That(b, Is.EqualTo(a).Within(1e-5f), Path.GetFileName(file));
        }
    }
}
