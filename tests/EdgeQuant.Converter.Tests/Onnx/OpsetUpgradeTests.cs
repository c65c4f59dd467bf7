using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Onnx;

/// <summary>
/// Models written against opsets 1 to 6 are brought to the opset-7 form at import
/// (<see cref="OpsetUpgrade"/>); each rewrite is checked by running the imported graph in the
/// float executor against values computed here.
/// </summary>
public class OpsetUpgradeTests
{
    private static float[] Run(OnnxGraph g, params (string Name, int[] Shape, float[] Data)[] inputs)
    {
        var feeds = inputs.ToDictionary(i => i.Name, i => OnnxTensor.FromFloats(i.Shape, i.Data));
        var values = new OnnxFloatExecutor(g).RunAll(feeds);
        return values[g.Outputs[0].Name].ToFloatArray();
    }

    [Test]
    public void Opset6Model_ImportsAtOpset7Form_KeepingTheDeclaredOpset()
    {
        var g = new TestModelBuilder(6).Input("x", 2, 3).Output("y", 2, 3)
            .Node("Relu", ["x"], ["y"], "r", Attr("consumed_inputs", 0L, 0L)).Import();
        Assert.That(g.Opset, Is.EqualTo(7));
        Assert.That(g.SourceOpset, Is.EqualTo(6));
        Assert.That(g.Nodes[0].HasAttribute("consumed_inputs"), Is.False);
    }

    [Test]
    public void LegacyBroadcastWithAxis_ConstantB_IsReshapedForNumPyBroadcasting()
    {
        // A [2, 3, 2] + B [3] at axis 1: B runs along dimension 1.
        var g = new TestModelBuilder(6).Input("x", 2, 3, 2).Output("y", 2, 3, 2)
            .FloatInitializer("b", [3], 10, 20, 30)
            .Node("Add", ["x", "b"], ["y"], "add", Attr("broadcast", 1L), Attr("axis", 1L)).Import();
        var x = Enumerable.Range(0, 12).Select(i => (float)i).ToArray();
        var y = Run(g, ("x", [2, 3, 2], x));
        for (int i = 0; i < 12; i++)
        {
            Assert.That(y[i], Is.EqualTo(x[i] + 10 * ((i / 2 % 3) + 1)));
        }

        Assert.That(g.Nodes[0].HasAttribute("broadcast") || g.Nodes[0].HasAttribute("axis"), Is.False);
    }

    [Test]
    public void LegacyBroadcastWithAxis_RuntimeB_GetsAnUnsqueeze()
    {
        // A [2, 3] * B [2] at axis 0 (B is a second runtime input): B runs along dimension 0.
        var g = new TestModelBuilder(6).Input("x", 2, 3).Input("s", 2).Output("y", 2, 3)
            .Node("Mul", ["x", "s"], ["y"], "mul", Attr("broadcast", 1L), Attr("axis", 0L)).Import();
        Assert.That(g.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "Unsqueeze", "Mul" }));
        var y = Run(g, ("x", [2, 3], [1, 2, 3, 4, 5, 6]), ("s", [2], [10, 100]));
        Assert.That(y, Is.EqualTo(new float[] { 10, 20, 30, 400, 500, 600 }));
    }

    [Test]
    public void LegacyBroadcastWithoutAxis_IsAlreadyNumPy()
    {
        var g = new TestModelBuilder(6).Input("x", 2, 3).Output("y", 2, 3)
            .FloatInitializer("b", [3], 1, 2, 3)
            .Node("Sub", ["x", "b"], ["y"], "sub", Attr("broadcast", 1L)).Import();
        Assert.That(Run(g, ("x", [2, 3], [1, 1, 1, 1, 1, 1])), Is.EqualTo(new float[] { 0, -1, -2, 0, -1, -2 }));
    }

    [Test]
    public void LegacyBroadcastWithAxis_UnknownRank_IsRefusedClearly()
    {
        // The rank of A comes from a Reshape, which the upgrade does not follow.
        var b = new TestModelBuilder(6).Input("x", 6).Output("y", 2, 3)
            .FloatInitializer("b", [2], 1, 2)
            .Node("Reshape", ["x"], ["r"], "reshape", Attr("shape", 2L, 3L))
            .Node("Add", ["r", "b"], ["y"], "add", Attr("broadcast", 1L), Attr("axis", 0L));
        var e = Assert.Throws<ConversionException>(() => b.Import());
        Assert.That(e!.Message, Does.Contain("node 'add' (Add)").And.Contain("legacy broadcasting with axis=0").And.Contain("rank of input 'r'"));
    }

    [Test]
    public void Opset4Reshape_ShapeAttribute_BecomesAnInput()
    {
        var g = new TestModelBuilder(4).Input("x", 2, 3).Output("y", 3, 2)
            .Node("Reshape", ["x"], ["y"], "reshape", Attr("shape", 3L, 2L)).Import();
        Assert.That(g.Nodes[0].Inputs, Has.Count.EqualTo(2));
        Assert.That(g.Initializers[g.Nodes[0].Inputs[1]].Int64s, Is.EqualTo(new long[] { 3, 2 }));
        Assert.That(new OnnxFloatExecutor(g).RunAll(new Dictionary<string, OnnxTensor> { ["x"] = OnnxTensor.FromFloats([2, 3], [1, 2, 3, 4, 5, 6]) })["y"].Shape, Is.EqualTo(new[] { 3, 2 }));
    }

    [Test]
    public void Opset5Cast_TypeName_BecomesTheTypeCode()
    {
        var g = new TestModelBuilder(5).Input("x", 3).Output("y", 3)
            .Node("Cast", ["x"], ["y"], "cast", Attr("to", "FLOAT")).Import();
        Assert.That(g.Nodes[0].GetInt("to"), Is.EqualTo((long)OnnxDataType.Float));
        var bad = new TestModelBuilder(5).Input("x", 3).Output("y", 3).Node("Cast", ["x"], ["y"], "cast", Attr("to", "QUATERNION"));
        Assert.That(Assert.Throws<ConversionException>(() => bad.Import())!.Message, Does.Contain("to='QUATERNION' is not an ONNX data type name"));
    }

    [Test]
    public void Opset1Pad_Paddings_AreRenamedPads()
    {
        var g = new TestModelBuilder(1).Input("x", 1, 2).Output("y", 1, 4)
            .Node("Pad", ["x"], ["y"], "pad", Attr("paddings", 0L, 1L, 0L, 1L), Attr("value", 7f)).Import();
        Assert.That(Run(g, ("x", [1, 2], [1, 2])), Is.EqualTo(new float[] { 7, 1, 2, 7 }));
    }

    [Test]
    public void Opset3Concat_WithoutAxis_ConcatenatesAlongAxis1()
    {
        var g = new TestModelBuilder(3).Input("x", 1, 2).Output("y", 1, 4)
            .FloatInitializer("c", [1, 2], 5, 6)
            .Node("Concat", ["x", "c"], ["y"], "cat").Import();
        Assert.That(Run(g, ("x", [1, 2], [1, 2])), Is.EqualTo(new float[] { 1, 2, 5, 6 }));
    }

    [Test]
    public void Opset6BatchNormalization_TrainingMode_IsRefused_InferenceDropsIsTest()
    {
        TestModelBuilder Bn(long isTest) => new TestModelBuilder(6).Input("x", 1, 2, 1, 1).Output("y", 1, 2, 1, 1)
            .FloatInitializer("s", [2], 1, 1).FloatInitializer("b", [2], 0, 0)
            .FloatInitializer("m", [2], 0, 0).FloatInitializer("v", [2], 1, 1)
            .Node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], "bn", Attr("is_test", isTest));
        var e = Assert.Throws<ConversionException>(() => Bn(0).Import());
        Assert.That(e!.Message, Does.Contain("node 'bn' (BatchNormalization)").And.Contain("is_test=0"));
        var g = Bn(1).Import();
        Assert.That(g.Nodes[0].HasAttribute("is_test"), Is.False);
    }

    [Test]
    public void Opset0_IsStillRefused()
    {
        var b = new TestModelBuilder(0).Input("x", 1).Output("y", 1).Node("Relu", ["x"], ["y"]);
        Assert.That(Assert.Throws<ConversionException>(() => b.Import())!.Message, Does.Contain("opset 0 is not supported; supported: opset 1 to 21"));
    }
}
