using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The per-inference quantization (ONNX DynamicQuantizeLinear) and the dynamic ops by hand;
/// fast paths against the reference are in <see cref="DynamicQuantizationFastPathTests"/>.
/// </summary>
public class DynamicQuantizationTests
{
    [Test]
    public void QuantizeMatchesTheOnnxSpecificationExample()
    {
        // The example of the ONNX DynamicQuantizeLinear operator documentation.
        float[] x = [0, 2, -3, -2.5f, 1.34f, 0.5f];
        var q = new byte[x.Length];
        DynamicQuantize.QuantizeU8(x, q, out float scale, out int zp);
        Assert.That(scale, Is.EqualTo(5f / 255f));
        Assert.That(zp, Is.EqualTo(153));
        Assert.That(q, Is.EqualTo(new byte[] { 153, 255, 0, 26, 221, 179 }));
    }

    [Test]
    public void RangeIncludesZeroAndTiesRoundToEven()
    {
        // All positive: lo = 0, zero point 0, scale 2.55 / 255 (about 0.01); 0.015 is 1.5 steps and rounds to 2.
        float[] x = [2.55f, 0.005f, 0.015f];
        var q = new byte[3];
        DynamicQuantize.QuantizeU8(x, q, out float scale, out int zp);
        Assert.That(zp, Is.Zero);
        Assert.That(scale, Is.EqualTo(2.55f / 255f));
        Assert.That(q[0], Is.EqualTo(255));
        Assert.That(q[1], Is.EqualTo(DynamicQuantize.Code(0.005f, scale, 0)));
        Assert.That(q[2], Is.EqualTo(2));
        Assert.That(DynamicQuantize.Code(2.5f, 1f, 0), Is.EqualTo(2), "2.5 rounds to even");
        Assert.That(DynamicQuantize.Code(3.5f, 1f, 0), Is.EqualTo(4), "3.5 rounds to even");
        Assert.That(DynamicQuantize.Code(-0.5f, 1f, 10), Is.EqualTo(10), "-0.5 rounds to -0");
        // All negative: hi = 0, zero point 255.
        DynamicQuantize.QuantizeU8([-1f, -0.5f], q, out scale, out zp);
        Assert.That(zp, Is.EqualTo(255));
        Assert.That(q[0], Is.EqualTo(0));
    }

    [Test]
    public void AllZeroOrNonFiniteRangeGivesScaleZeroAndZeroCodes()
    {
        var q = new byte[4] { 9, 9, 9, 9 };
        DynamicQuantize.QuantizeU8(new float[4], q, out float scale, out int zp);
        Assert.That((scale, zp), Is.EqualTo((0f, 0)));
        Assert.That(q, Is.All.EqualTo(0));
        DynamicQuantize.QuantizeU8([1f, float.PositiveInfinity, -2f, 0f], q, out scale, out zp);
        Assert.That((scale, zp), Is.EqualTo((0f, 0)));
        DynamicQuantize.QuantizeU8([float.NaN, 1f, -1f, float.NaN], q, out scale, out zp);
        Assert.That(scale, Is.EqualTo(2f / 255f), "NaN is ignored by the range");
        Assert.That(q[0], Is.EqualTo((byte)zp), "NaN quantizes to the zero point");
    }

    [Test]
    public void FullyConnectedByHand()
    {
        // x = [1, -1, 0.5]: lo -1, hi 1, scale 2/255 (float32), zero point round(1 / scale): 127.5 in exact arithmetic,
        // just below it in float32, so 127.
        float[] x = [1, -1, 0.5f];
        sbyte[] w = [10, 20, -30, -127, 0, 5];
        float[] scales = [0.1f, 0.01f];
        float[] bias = [0.5f, -0.25f];
        var y = new float[2];
        var codes = new byte[3];
        DynamicFullyConnected.EvalF32Reference(x, 1, 3, w, 2, scales, bias, float.NegativeInfinity, float.PositiveInfinity, codes, y);
        float s = 2f / 255f;
        int zp = (int)MathF.Round(1f / s, MidpointRounding.ToEven);
        Assert.That(zp, Is.EqualTo(127));
        Assert.That(codes, Is.EqualTo(new byte[] { 254, 0, DynamicQuantize.Code(0.5f, s, zp) }), "1 / scale also rounds to 127: 127 + 127");
        int q0 = 254 - zp, q1 = -zp, q2 = codes[2] - zp;
        int acc0 = q0 * 10 + q1 * 20 + q2 * -30;
        int acc1 = q0 * -127 + q1 * 0 + q2 * 5;
        Assert.That(y[0], Is.EqualTo((float)acc0 * (s * 0.1f) + 0.5f));
        Assert.That(y[1], Is.EqualTo((float)acc1 * (s * 0.01f) - 0.25f));
        // And within a quantization step of the float product.
        Assert.That(y[0], Is.EqualTo(1 * 1.0 + -1 * 2.0 + 0.5 * -3.0 + 0.5).Within(0.1));
    }

    [Test]
    public void ClampAppliesToTheFloatResult()
    {
        Assert.That(DynamicQuantize.Output(100, 0.1f, 1f, 0f, 0f, 6f), Is.EqualTo(6f));
        Assert.That(DynamicQuantize.Output(-100, 0.1f, 1f, 0f, 0f, 6f), Is.EqualTo(0f));
        Assert.That(DynamicQuantize.Output(7, 0.5f, 0.5f, 1f, float.NegativeInfinity, float.PositiveInfinity), Is.EqualTo(2.75f));
    }

    [Test]
    public void DynamicConvEqualsDenseLoopOverDequantizedCodes()
    {
        var c = OneOpModels.DynamicConv();
        var model = Model.Load(c.Blob);
        var interp = new Interpreter(model);
        var r = new Rand(7);
        var x = new float[5 * 6 * 3];
        for (int i = 0; i < x.Length; i++) x[i] = (float)(r.Double() * 4 - 1);
        interp.SetInput(x);
        interp.Invoke();
        var y = new float[4 * 5 * 4];
        interp.GetOutput(y);
        // The same function computed from the dequantized input and weights in double: within rounding.
        var q = new byte[x.Length];
        DynamicQuantize.QuantizeU8(x, q, out float s, out int zp);
        var f = model.Tensors[model.Ops[0].Input1];
        var wq = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(model.GetConstantBytes(model.Ops[0].Input1));
        var bias = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(model.GetConstantBytes(model.Ops[0].Input2));
        for (int oy = 0; oy < 4; oy++)
            for (int ox = 0; ox < 5; ox++)
                for (int oc = 0; oc < 4; oc++)
                {
                    double acc = 0;
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++)
                        {
                            int iy = oy - 1 + ky, ix = ox - 1 + kx;
                            if (iy < 0 || iy >= 5 || ix < 0 || ix >= 6) continue;
                            for (int ic = 0; ic < 3; ic++)
                                acc += (q[(iy * 6 + ix) * 3 + ic] - zp) * (double)s * wq[((oc * 3 + ky) * 3 + kx) * 3 + ic] * model.GetScale(f.QuantIndex, oc);
                        }
                    double want = System.Math.Clamp(acc + bias[oc], 0, 6);
                    Assert.That(y[(oy * 5 + ox) * 4 + oc], Is.EqualTo(want).Within(1e-4), $"({oy}, {ox}, {oc})");
                }
    }

    [Test]
    public void InvokeAllocatesNothing()
    {
        var model = Model.Load(OneOpModels.DynamicChain());
        var interp = new Interpreter(model);
        var x = new float[32];
        for (int i = 0; i < x.Length; i++) x[i] = i * 0.1f - 1;
        interp.SetInput(x);
        interp.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 100; i++) interp.Invoke(); }), Is.Zero);
    }

    [Test]
    public void ValidatorRejectsBrokenDynamicRecords()
    {
        Assert.Multiple(() =>
        {
            Rejects(OneOpModels.DynamicConv(scratch: 16).Blob, "scratch");
            Rejects(OneOpModels.DynamicConv(tweak: p => p with { ActivationMin = 7, ActivationMax = 6 }).Blob, "activation range");
            Rejects(OneOpModels.DynamicConv(tweak: p => p with { ActivationMin = float.NaN }).Blob, "activation range");
            Rejects(OneOpModels.DynamicConv(outDims: [1, 5, 5, 4]).Blob, "output shape");
            Rejects(OneOpModels.DynamicConv(depthwise: true, tweak: p => p with { DepthMultiplier = 3 }).Blob, "depthwise");
            Rejects(OneOpModels.DynamicConv(tweak: p => p with { StrideH = 0 }).Blob, "strides");
            Rejects(OneOpModels.DynamicFullyConnected(scratch: 4).Blob, "scratch");
            Rejects(OneOpModels.DynamicFullyConnected(tweak: p => p with { Max = float.NaN }).Blob, "activation range");
        });
        Assert.DoesNotThrow(() => Model.Load(OneOpModels.DynamicFullyConnected(perTensor: true).Blob));
    }

    private static void Rejects(byte[] blob, string what)
    {
        var e = Assert.Throws<InvalidModelException>(() => Model.Load(blob));
        Assert.That(e!.Message, Does.Contain(what));
    }
}
