using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Graph.Ops.OpRunner;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

public class GemmOpTests
{
    private static readonly float[] A = [1, 2, 3, 4, 5, 6]; // [2, 3]

    [Test]
    public void TransB_AlphaBeta_VectorBias()
    {
        // A * B^T = [[4, 2], [10, 5]]; * 2 + 0.5 * [1, 2]
        var y = Run("Gemm", A, [2, 3], out var shape,
            [("b", F([2, 3], 1, 0, 1, 0, 1, 0)), ("c", F([2], 1, 2))], 13,
            Attr("transB", 1L), Attr("alpha", 2f), Attr("beta", 0.5f));
        Assert.That(shape, Is.EqualTo(new[] { 2, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 8.5f, 5, 20.5f, 11 }));
    }

    [Test]
    public void NoTranspose_MatrixBias()
    {
        var y = Run("Gemm", A, [2, 3], out _, [("b", F([3, 1], 1, 1, 1)), ("c", F([2, 1], 100, 200))]);
        Assert.That(y, Is.EqualTo(new float[] { 106, 215 }));
    }

    [Test]
    public void TransA_NoBias()
    {
        // A^T is [3, 2] = [[1, 4], [2, 5], [3, 6]]; times [[1], [1]].
        var y = Run("Gemm", A, [2, 3], out var shape, [("b", F([2, 1], 1, 1))], 13, Attr("transA", 1L));
        Assert.That(shape, Is.EqualTo(new[] { 3, 1 }));
        Assert.That(y, Is.EqualTo(new float[] { 5, 7, 9 }));
    }

    [Test]
    public void ScalarBias_Broadcasts()
    {
        var y = Run("Gemm", A, [2, 3], out _, [("b", F([3, 1], 1, 0, 0)), ("c", F([], 0.5f))]);
        Assert.That(y, Is.EqualTo(new float[] { 1.5f, 4.5f }));
    }

    [Test]
    public void MismatchedInnerDims_NameTheNode()
    {
        var e = Assert.Throws<ConversionException>(() => Run("Gemm", A, [2, 3], out _, [("b", F([2, 2], 1, 2, 3, 4))]));
        Assert.That(e!.Message, Does.Contain("Gemm_under_test").And.Contain("K is 3 vs 2"));
    }
}

public class MatMulOpTests
{
    [Test]
    public void TwoDimensional()
    {
        var y = Run("MatMul", [1, 2, 3, 4], [2, 2], out var shape, [("b", F([2, 3], 1, 0, 1, 0, 1, 1))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 3, 3, 4, 7 }));
    }

    [Test]
    public void BatchedWithBroadcastRightOperand()
    {
        // [2, 1, 2] x [2, 2]: each batch row times [[1, 2], [3, 4]].
        var y = Run("MatMul", [1, 0, 0, 1], [2, 1, 2], out var shape, [("b", F([2, 2], 1, 2, 3, 4))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 1, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 1, 2, 3, 4 }));
    }

    [Test]
    public void OneDimensionalOperandsArePromotedAndRemoved()
    {
        var y = Run("MatMul", [1, 2], [2], out var shape, [("b", F([2, 3], 1, 2, 3, 4, 5, 6))]);
        Assert.That(shape, Is.EqualTo(new[] { 3 }));
        Assert.That(y, Is.EqualTo(new float[] { 9, 12, 15 }));

        var dot = Run("MatMul", [1, 2], [2], out var dotShape, [("b", F([2], 3, 4))]);
        Assert.That(dotShape, Is.Empty);
        Assert.That(dot, Is.EqualTo(new float[] { 11 }));
    }
}

public class BinaryOpsTests
{
    // a [2, 1] = [1, 2] against b [3] = [10, 20, 30] broadcasts to [2, 3].
    [TestCase("Add", new float[] { 11, 21, 31, 12, 22, 32 })]
    [TestCase("Sub", new float[] { -9, -19, -29, -8, -18, -28 })]
    [TestCase("Mul", new float[] { 10, 20, 30, 20, 40, 60 })]
    [TestCase("Div", new float[] { 0.1f, 0.05f, 1f / 30, 0.2f, 0.1f, 2f / 30 })]
    public void Broadcasting(string op, float[] expected)
    {
        var y = Run(op, [1, 2], [2, 1], out var shape, [("b", F([3], 10, 20, 30))]);
        Assert.That(shape, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(y, Is.EqualTo(expected).Within(1e-7f));
    }

    [Test]
    public void ConstantOnTheLeft_PerChannelBroadcast()
    {
        // [C, 1, 1] bias against [1, C, 2, 1], constant as first operand.
        var b = new TestModelBuilder().Input("x", 1, 2, 2, 1).OutputUnshaped("y")
            .FloatInitializer("c", [2, 1, 1], 100f, 200f)
            .Node("Sub", ["c", "x"], ["y"]);
        var graph = b.Import();
        var y = new OnnxFloatExecutor(graph).Run([1, 2, 3, 4], [1, 2, 2, 1]);
        Assert.That(y, Is.EqualTo(new float[] { 99, 98, 197, 196 }));
    }

    [Test]
    public void IncompatibleShapes_NameTheNode()
    {
        var e = Assert.Throws<ConversionException>(() => Run("Add", new float[6], [2, 3], out _, [("b", F([2], 1, 2))]));
        Assert.That(e!.Message, Does.Contain("Add_under_test").And.Contain("cannot be broadcast"));
    }
}

public class ActivationOpsTests
{
    private static readonly float[] X = [-2, -0.5f, 0, 0.5f, 3, 8];

    [Test]
    public void Relu() => Assert.That(Run("Relu", X, [6]), Is.EqualTo(new float[] { 0, 0, 0, 0.5f, 3, 8 }));

    [Test]
    public void LeakyRelu_DefaultAndExplicitAlpha()
    {
        Assert.That(Run("LeakyRelu", X, [6]), Is.EqualTo(new[] { -0.02f, -0.005f, 0, 0.5f, 3, 8 }).Within(1e-7f));
        Assert.That(Run("LeakyRelu", X, [6], Attr("alpha", 0.5f)), Is.EqualTo(new[] { -1f, -0.25f, 0, 0.5f, 3, 8 }));
    }

    [Test]
    public void SigmoidAndTanh()
    {
        var s = Run("Sigmoid", X, [6]);
        var t = Run("Tanh", X, [6]);
        for (int i = 0; i < X.Length; i++)
        {
            Assert.That(s[i], Is.EqualTo(1 / (1 + Math.Exp(-X[i]))).Within(1e-6));
            Assert.That(t[i], Is.EqualTo(Math.Tanh(X[i])).Within(1e-6));
        }
    }

    [Test]
    public void Clip_Opset11Inputs_MinOnlyAndBoth()
    {
        Assert.That(Run("Clip", X, [6], out _, [("min", F([], 0f))], 11), Is.EqualTo(new float[] { 0, 0, 0, 0.5f, 3, 8 }));
        Assert.That(Run("Clip", X, [6], out _, [("min", F([], 0f)), ("max", F([], 6f))], 13), Is.EqualTo(new float[] { 0, 0, 0, 0.5f, 3, 6 }));
        Assert.That(Run("Clip", X, [6], out _, [("min", null), ("max", F([], 1f))], 13), Is.EqualTo(new float[] { -2, -0.5f, 0, 0.5f, 1, 1 }));
    }

    [Test]
    public void Clip_Opset10Attributes()
    {
        Assert.That(Run("Clip", X, [6], out _, null, 10, Attr("min", -1f), Attr("max", 1f)), Is.EqualTo(new float[] { -1, -0.5f, 0, 0.5f, 1, 1 }));
    }
}

public class SoftmaxOpTests
{
    [Test]
    public void Opset13_DefaultLastAxis()
    {
        var y = Run("Softmax", [0, Mathf.Ln2, 0, 0], [2, 2]);
        Assert.That(y, Is.EqualTo(new[] { 1f / 3, 2f / 3, 0.5f, 0.5f }).Within(1e-6f));
    }

    [Test]
    public void Opset13_Axis0()
    {
        var y = Run("Softmax", [0, 0, Mathf.Ln2, Mathf.Ln3], [2, 2], Attr("axis", 0L));
        Assert.That(y, Is.EqualTo(new[] { 1f / 3, 1f / 4, 2f / 3, 3f / 4 }).Within(1e-6f));
    }

    [Test]
    public void Opset13_MiddleAxisOfRank3()
    {
        // [1, 2, 2] along axis 1: pairs (x[0,0,j], x[0,1,j]).
        var y = Run("Softmax", [0, 0, Mathf.Ln3, 0], [1, 2, 2], Attr("axis", 1L));
        Assert.That(y, Is.EqualTo(new[] { 0.25f, 0.5f, 0.75f, 0.5f }).Within(1e-6f));
    }

    [Test]
    public void Opset11_CoercesTrailingAxesTo2D()
    {
        // Same input as above, but axis 1 before opset 13 normalizes all four values together.
        var y = Run("Softmax", [0, 0, Mathf.Ln3, 0], [1, 2, 2], out _, null, 11, Attr("axis", 1L));
        Assert.That(y, Is.EqualTo(new[] { 1f / 6, 1f / 6, 0.5f, 1f / 6 }).Within(1e-6f));
    }

    [Test]
    public void LargeValuesDoNotOverflow()
    {
        var y = Run("Softmax", [1000, 1000], [1, 2]);
        Assert.That(y, Is.EqualTo(new[] { 0.5f, 0.5f }));
    }

    private static class Mathf
    {
        public const float Ln2 = 0.6931471805599453f;
        public const float Ln3 = 1.0986122886681098f;
    }
}

public class BatchNormOpTests
{
    [Test]
    public void NormalizesPerChannel()
    {
        // Channel 0: (x - 1) / 2; channel 1: (x - 2) / 0.5 * 2 + 1.
        var y = Run("BatchNormalization", [1, 3, 2, 3], [1, 2, 1, 2], out var shape,
            [("s", F([2], 1, 2)), ("b", F([2], 0, 1)), ("m", F([2], 1, 2)), ("v", F([2], 4, 0.25f))], 13,
            Attr("epsilon", 0f));
        Assert.That(shape, Is.EqualTo(new[] { 1, 2, 1, 2 }));
        Assert.That(y, Is.EqualTo(new float[] { 0, 1, 1, 5 }).Within(1e-6f));
    }

    [Test]
    public void RankTwoInput()
    {
        var y = Run("BatchNormalization", [3, 4], [1, 2], out _,
            [("s", F([2], 2, 1)), ("b", F([2], 0, 0)), ("m", F([2], 1, 4)), ("v", F([2], 1, 1))], 13, Attr("epsilon", 0f));
        Assert.That(y, Is.EqualTo(new float[] { 4, 0 }));
    }

    [Test]
    public void TrainingModeIsRejectedAtImport()
    {
        var e = Assert.Throws<ConversionException>(() => Build("BatchNormalization", [1, 2], [("s", F([2], 1, 1)), ("b", F([2], 0, 0)), ("m", F([2], 0, 0)), ("v", F([2], 1, 1))], 15, Attr("training_mode", 1L)));
        Assert.That(e!.Message, Does.Contain("training_mode").And.Contain("supported: 0"));
    }
}
