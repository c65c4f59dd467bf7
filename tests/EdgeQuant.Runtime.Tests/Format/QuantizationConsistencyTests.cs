using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>
/// The reader rejects quantization that contradicts an op's definition: byte-moving ops whose input
/// and output would mean different things, Softmax/Logistic/Tanh outputs off their fixed scales,
/// and Quantize/Dequantize parameters that disagree with their int8 tensor.
/// </summary>
[TestFixture]
public class QuantizationConsistencyTests
{
    private static byte[] Unary(OpType type, Func<ModelWriter, int, int, int> addOp, float outScale, int outZp, int[]? outDims = null)
    {
        var w = new ModelWriter();
        int qi = w.AddQuantization([0.05f], 3);
        int qo = w.AddQuantization([outScale], outZp);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 2, 4], qi);
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 2, 2, 4], qo);
        addOp(w, x, y);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w.Build();
    }

    private static void AssertRejected(byte[] blob, string mention)
    {
        var e = Assert.Throws<InvalidModelException>(() => Model.Load(blob));
        Assert.That(e!.Message, Does.Contain(mention));
    }

    [Test]
    public void ReshapeTransposeAndPadMustKeepQuantization()
    {
        AssertRejected(Unary(OpType.Reshape, (w, x, y) => w.AddOp(OpType.Reshape, [x], [y]), 0.06f, 3, [1, 16]), "Reshape copies bytes");
        AssertRejected(Unary(OpType.Transpose, (w, x, y) => w.AddOp(OpType.Transpose, [x], [y], new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 }), 0.05f, 4),
            "Transpose copies bytes");
        AssertRejected(Unary(OpType.Pad, (w, x, y) => w.AddOp(OpType.Pad, [x], [y], new PadParams { PadValue = 3 }), 0.1f, 3), "Pad copies bytes");
        Assert.That(() => Model.Load(Unary(OpType.Reshape, (w, x, y) => w.AddOp(OpType.Reshape, [x], [y]), 0.05f, 3, [1, 16])), Throws.Nothing);
    }

    [Test]
    public void SoftmaxLogisticAndTanhHaveFixedOutputQuantization()
    {
        Func<ModelWriter, int, int, int> softmax = (w, x, y) =>
        {
            var table = new int[256];
            for (int d = 0; d < 256; d++) table[d] = (int)System.Math.Round((1 << 23) * System.Math.Exp(-0.05 * d));
            return w.AddOp(OpType.Softmax, [x], [y], new SoftmaxParams { ExpTableOffset = w.AddConstantData<int>(table), OutputOffset = -128 });
        };
        Func<OpType, Func<ModelWriter, int, int, int>> lookup = t => (w, x, y) => w.AddOp(t, [x], [y], new LookupParams { TableOffset = w.AddConstantData<sbyte>(new sbyte[256]) });
        AssertRejected(Unary(OpType.Softmax, softmax, 1f / 255, -128), "requires scale 0.00390625 and zero point -128");
        AssertRejected(Unary(OpType.Logistic, lookup(OpType.Logistic), 1f / 256, 0), "zero point -128");
        AssertRejected(Unary(OpType.Tanh, lookup(OpType.Tanh), 1f / 256, 0), "scale 0.0078125");
        Assert.That(() => Model.Load(Unary(OpType.Softmax, softmax, 1f / 256, -128)), Throws.Nothing);
        Assert.That(() => Model.Load(Unary(OpType.Tanh, lookup(OpType.Tanh), 1f / 128, 0)), Throws.Nothing);
        Assert.That(() => Model.Load(Unary(OpType.Lookup, lookup(OpType.Lookup), 0.3f, 7)), Throws.Nothing, "a generic table has no fixed scale");
    }

    [Test]
    public void QuantizeParametersMustMatchTheInt8Tensor()
    {
        byte[] Build(float scale, int zp)
        {
            var w = new ModelWriter();
            int q = w.AddQuantization([0.05f], 3);
            int x = w.AddActivation(TensorType.Float32, [1, 4], -1);
            int y = w.AddActivation(TensorType.Int8, [1, 4], q);
            w.AddOp(OpType.Quantize, [x], [y], new QuantizeParams { Scale = scale, ZeroPoint = zp });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w.Build();
        }
        AssertRejected(Build(0.05f, 4), "requires scale 0.05 and zero point 4");
        Assert.That(() => Model.Load(Build(0.05f, 3)), Throws.Nothing);
    }
}
