using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The mixed-precision ops (codes 60-72) by hand: the 16x8 requantization, the boundary conversions, a float
/// layer, and one validation rule at a time. Fast paths against the reference: <see cref="MixedPrecisionFastPathTests"/>.
/// </summary>
public class MixedPrecisionTests
{
    [Test]
    public void Requantization16x8RoundsHalfUpWithASixteenBitMultiplier()
    {
        const int half = 1 << 30; // 0.5 in Q0.31
        Assert.Multiple(() =>
        {
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(1000, half, 0), Is.EqualTo(500));
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(3, half, 0), Is.EqualTo(2), "1.5 rounds up");
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(-3, half, 0), Is.EqualTo(-1), "-1.5 rounds toward +infinity");
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(1000, half, -3), Is.EqualTo(63), "62.5 rounds up");
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(2, int.MaxValue, 0), Is.EqualTo(2), "the largest multiplier rounds to 2^15 (1.0)");
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(5, half, 14), Is.EqualTo(5L << 13), "shift 14 multiplies by 2^14");
            // The largest accumulator the readers admit (2^47) with the largest multiplier stays exact in 64 bits.
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(1L << 47, int.MaxValue, 0), Is.EqualTo(1L << 47));
            Assert.That(QuantMath.MultiplyByQuantizedMultiplier16x8(-(1L << 47), int.MaxValue, -31), Is.EqualTo(-(1L << 16)));
        });
    }

    [Test]
    public void QuantizeS16RoundsHalfAwayAndSaturates()
    {
        float[] x = [1.25f, -1.25f, 0.2f, 1e9f, -1e9f, float.NaN, float.PositiveInfinity, -0.2f];
        var q = new short[x.Length];
        Int16Ops.QuantizeF32ToS16(x, q, 0.5f);
        Assert.That(q, Is.EqualTo(new short[] { 3, -3, 0, 32767, -32768, 0, 32767, 0 }));
        var back = new float[2];
        Int16Ops.DequantizeS16ToF32(new short[] { -32768, 7 }, back, 0.5f);
        Assert.That(back, Is.EqualTo(new[] { -16384f, 3.5f }));
    }

    [Test]
    public void RequantizeConvertsBetweenInt16AndInt8()
    {
        // int16 scale 0.0002 -> int8 scale 0.02, zero point 5: q8 = q16 / 100 + 5, saturated.
        var (m, s) = QuantMath.QuantizeMultiplier(0.0002 / 0.02);
        var p = new RequantizeParams { InputOffset = 0, OutputOffset = 5, Multiplier = m, Shift = s };
        short[] q16 = [1000, -1000, 32767, -32768, 149, 150];
        var out8 = new byte[q16.Length];
        Int16Ops.Requantize(p, MemoryMarshal.AsBytes(q16.AsSpan()), true, out8, false);
        Assert.That(MemoryMarshal.Cast<byte, sbyte>(out8).ToArray(), Is.EqualTo(new sbyte[] { 15, -5, 127, -128, 6, 7 }));
        // Back: q16 = (q8 - 5) x 100.
        (m, s) = QuantMath.QuantizeMultiplier(0.02 / 0.0002);
        p = new RequantizeParams { InputOffset = -5, OutputOffset = 0, Multiplier = m, Shift = s };
        sbyte[] q8 = [15, -128, 127];
        var out16 = new byte[6];
        Int16Ops.Requantize(p, MemoryMarshal.AsBytes(q8.AsSpan()), false, out16, true);
        Assert.That(MemoryMarshal.Cast<byte, short>(out16).ToArray(), Is.EqualTo(new short[] { 1000, -13300, 12200 }));
    }

    [Test]
    public void FullyConnectedS16ByHand()
    {
        // acc = 7 + 1000 x 3 + (-2000) x (-2) = 7007; x 0.25 (multiplier 2^30, shift -1) = 1751.75 -> 1752.
        var p = new FullyConnectedParams { ActivationMin = -32768, ActivationMax = 32767, FoldedBiasOffset = -1 };
        var output = new short[1];
        Int16Ops.FullyConnectedS16Reference(p, new short[] { 1000, -2000 }, 1, 2, new sbyte[] { 3, -2 }, 1, new long[] { 7 }, new[] { 1 << 30 }, new[] { -1 }, output);
        Assert.That(output[0], Is.EqualTo(1752));
        Int16Ops.FullyConnectedS16(p, new short[] { 1000, -2000 }, 1, 2, new sbyte[] { 3, -2 }, 1, new long[] { 7 }, new[] { 1 << 30 }, new[] { -1 }, output);
        Assert.That(output[0], Is.EqualTo(1752));
        p.ActivationMin = 0;
        Int16Ops.FullyConnectedS16Reference(p, new short[] { -1000, 2000 }, 1, 2, new sbyte[] { 3, -2 }, 1, new long[] { 7 }, new[] { 1 << 30 }, new[] { -1 }, output);
        Assert.That(output[0], Is.Zero, "clamped to the ReLU bound");
    }

    [Test]
    public void FloatLayerSumsInItsDefinedOrder()
    {
        // bias 1e8 then + 1 + 1 - 1e8: in order (float32) the ones are lost; any other order could keep them.
        var output = new float[1];
        FloatLayers.FullyConnectedF32Reference(new[] { 1f, 1f, -1e8f }, 1, 3, new[] { 1f, 1f, 1f }, 1, new[] { 1e8f }, float.NegativeInfinity, float.PositiveInfinity, output);
        Assert.That(output[0], Is.EqualTo(0f));
        FloatLayers.FullyConnectedF32Reference(new[] { 2f, 3f }, 1, 2, new[] { 1f, 1f }, 1, new[] { 0f }, 0f, 4f, output);
        Assert.That(output[0], Is.EqualTo(4f), "clamped to max");
    }

    [Test]
    public void AddS16OfEqualScalesAddsCodes()
    {
        var c = OneOpModels.AddS16();
        var m = Model.Load(c.Blob);
        var interp = new Interpreter(m);
        // a (scale 0.001) = 1500 -> 1.5, b (scale 0.0004) = 1000 -> 0.4; out (scale 0.0015) = 1.9 / 0.0015 = 1266.67 -> 1267.
        MemoryMarshal.Cast<sbyte, short>(interp.GetInput(0)).Fill(1500);
        MemoryMarshal.Cast<sbyte, short>(interp.GetInput(1)).Fill(1000);
        interp.Invoke();
        Assert.That(interp.GetTensorS16(m.Outputs[0].TensorIndex).ToArray(), Is.All.EqualTo((short)1267));
    }

    [Test]
    public void Int16InputsAndOutputsConvertFromAndToFloat()
    {
        var c = OneOpModels.MaxPoolS16();
        var m = Model.Load(c.Blob);
        var interp = new Interpreter(m);
        var x = Enumerable.Range(0, 75).Select(i => (i - 30) * 0.01f).ToArray();
        interp.SetInput(x);
        Assert.That(interp.GetTensorS16(m.Inputs[0].TensorIndex)[0], Is.EqualTo(-300));
        interp.Invoke();
        var y = new float[27];
        interp.GetOutput(y);
        Assert.That(y[^1], Is.EqualTo(0.44f).Within(1e-6));
    }

    private static void Rejects(byte[] blob, string message) =>
        Assert.That(() => Model.Load(blob), Throws.TypeOf<InvalidModelException>().With.Message.Contains(message));

    [Test]
    public void ValidatorRejectsBrokenMixedPrecisionOps()
    {
        Assert.Multiple(() =>
        {
            Rejects(OneOpModels.ConvS16(tweak: p => { p.InputOffset = 3; return p; }).Blob, "zero-point offsets (3, 0) must be 0");
            Rejects(OneOpModels.ConvS16(biasValues: [1L << 41, 0, 0, 0]).Blob, "bias entry 0 is 2199023255552, outside [-2^40, 2^40]");
            Rejects(OneOpModels.ConvS16(tweak: p => { p.FoldedBiasOffset = 0; return p; }).Blob, "16x8 ops have no folded bias");
            Rejects(OneOpModels.ConvS16(tweak: p => { p.ActivationMax = 40000; return p; }).Blob, "is not inside [-32768, 32767]");
            Rejects(OneOpModels.ConvS16(depthwise: true, tweak: p => { p.DepthMultiplier = 3; return p; }).Blob, "depthwise output channels 6 != input channels 3 x multiplier 3");
            Rejects(OneOpModels.ConvS16(outZeroPoint: 2).Blob, "int16 tensor needs a quantization record with zero point 0");
            Rejects(OneOpModels.FullyConnectedS16(p => { p.FoldedBiasOffset = 4; return p; }).Blob, "no folded bias");
            Rejects(OneOpModels.AddS16(p => { p.LeftShift = 20; return p; }).Blob, "left shift 20 must be 15");
            Rejects(OneOpModels.AddS16(p => { p.OutputOffset = 1; return p; }).Blob, "must be 0 (int16 activations are symmetric)");
            Rejects(OneOpModels.MeanS16(p => { p.Shift = 15; return p; }).Blob, "shift 15 is outside [-31, 14]");
            Rejects(OneOpModels.ConvF32(tweak: p => { p.ActivationMin = float.NaN; return p; }).Blob, "is not an ordered pair of numbers");
            Rejects(OneOpModels.QuantizeS16(paramZeroPoint: 1).Blob, "zero point 1 must be 0");
            Rejects(OneOpModels.QuantizeS16(paramScale: 0.02f).Blob, "the op requires scale 0.02");
            Rejects(OneOpModels.Requantize(tweak: p => { p.OutputOffset = 4; return p; }).Blob, "must be (-input zero point, output zero point) = (0, 5)");
            Rejects(OneOpModels.Requantize(toS16: true, tweak: p => { p.Shift = 16; return p; }).Blob, "shift 16 is outside [-31, 15]");
        });
    }

    [Test]
    public void Int64TensorsMustBeConstant()
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int64, [2], -1);
        int y = w.AddActivation(TensorType.Int64, [2], -1);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        Rejects(w.Build(), "int64 tensors (16x8 biases) must be constant");
    }
}
