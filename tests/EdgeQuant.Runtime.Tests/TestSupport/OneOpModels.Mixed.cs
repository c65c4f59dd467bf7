using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>One-op models of the mixed-precision ops (codes 60-72), each with its reference kernel called directly.</summary>
internal static partial class OneOpModels
{
    private static short[] S16(byte[] b) => MemoryMarshal.Cast<byte, short>(b).ToArray();

    public static IEnumerable<OneOpCase> MixedCases()
    {
        yield return ConvS16();
        yield return ConvS16(depthwise: true);
        yield return FullyConnectedS16();
        yield return AddS16();
        yield return MaxPoolS16();
        yield return MeanS16();
        yield return ConvF32();
        yield return ConvF32(depthwise: true);
        yield return FullyConnectedF32();
        yield return QuantizeS16();
        yield return DequantizeS16();
        yield return Requantize();
    }

    /// <summary>Input int16 [1, 5, 6, 3] scale 0.001 (depthwise: multiplier 2), 3x3 filter, stride 2, padding 1 before; ReLU clamp [0, 32767].</summary>
    public static OneOpCase ConvS16(bool depthwise = false, Func<Conv2DParams, Conv2DParams>? tweak = null, long[]? biasValues = null, int outZeroPoint = 0)
    {
        var r = new Rand(depthwise ? 71 : 70);
        var w = new ModelWriter();
        int cout = depthwise ? 6 : 4;
        int[] fdims = depthwise ? [1, 3, 3, cout] : [cout, 3, 3, 3];
        var inShape = new Shape4(1, 5, 6, 3);
        var outShape = new Shape4(1, 3, 3, cout);
        var filter = r.S8(fdims.Aggregate(1, (a, v) => a * v), -127, 127);
        var bias = biasValues ?? Enumerable.Range(0, cout).Select(_ => (long)r.Int(-200_000, 200_000)).ToArray();
        var fscales = r.Scales(cout, 0.002, 0.02);
        var (m, s) = ConverterMath.PerChannel(0.001f, fscales, 0.0015f);
        int x = w.AddActivation(TensorType.Int16, [1, 5, 6, 3], w.AddQuantization([0.001f], 0));
        int y = w.AddActivation(TensorType.Int16, [1, 3, 3, cout], w.AddQuantization([0.0015f], outZeroPoint));
        var p = SampleModels.Geometry(2, 1, 1, 1, 1, 0, depthwise ? 2 : 1);
        p.MultipliersOffset = w.AddConstantData<int>(m);
        p.ShiftsOffset = w.AddConstantData<int>(s);
        p.ActivationMin = 0;
        p.ActivationMax = 32767;
        p.FoldedBiasOffset = -1;
        if (tweak is not null) p = tweak(p);
        int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, filter, w.AddQuantization(fscales, 0, depthwise ? 3 : 0));
        int b = w.AddConstant<long>(TensorType.Int64, [cout], bias, -1);
        var type = depthwise ? OpType.DepthwiseConv2DS16 : OpType.Conv2DS16;
        w.AddOp(type, [x, f, b], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(type, w.Build(), inputs =>
        {
            var output = new short[outShape.FlatSize];
            Int16Ops.ConvS16Reference(p, depthwise, S16(inputs[0]), inShape, filter, new(fdims[0], fdims[1], fdims[2], fdims[3]), bias, m, s, output, outShape);
            return Bytes(output);
        });
    }

    public static OneOpCase FullyConnectedS16(Func<FullyConnectedParams, FullyConnectedParams>? tweak = null)
    {
        var r = new Rand(72);
        var w = new ModelWriter();
        int cout = 3, cin = 19;
        var filter = r.S8(cout * cin, -127, 127);
        var bias = new long[] { 12345, -67890, 1 << 30 };
        var fscales = r.Scales(cout, 0.002, 0.02);
        var (m, s) = ConverterMath.PerChannel(0.0005f, fscales, 0.002f);
        int x = w.AddActivation(TensorType.Int16, [2, cin], w.AddQuantization([0.0005f], 0));
        int y = w.AddActivation(TensorType.Int16, [2, cout], w.AddQuantization([0.002f], 0));
        int f = w.AddConstant<sbyte>(TensorType.Int8, [cout, cin], filter, w.AddQuantization(fscales, 0, 0));
        int b = w.AddConstant<long>(TensorType.Int64, [cout], bias, -1);
        var p = new FullyConnectedParams
        {
            ActivationMin = -32768, ActivationMax = 32767,
            MultipliersOffset = w.AddConstantData<int>(m), ShiftsOffset = w.AddConstantData<int>(s), FoldedBiasOffset = -1,
        };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.FullyConnectedS16, [x, f, b], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.FullyConnectedS16, w.Build(), inputs =>
        {
            var output = new short[2 * cout];
            Int16Ops.FullyConnectedS16Reference(p, S16(inputs[0]), 2, cin, filter, cout, bias, m, s, output);
            return Bytes(output);
        });
    }

    public static OneOpCase AddS16(Func<ElementwiseParams, ElementwiseParams>? tweak = null)
    {
        var w = new ModelWriter();
        float sa = 0.001f, sb = 0.0004f, so = 0.0015f;
        double twiceMax = 2.0 * System.Math.Max(sa, sb);
        var (m1, s1) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(sa / twiceMax);
        var (m2, s2) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(sb / twiceMax);
        var (mo, sho) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(twiceMax / ((1 << 15) * (double)so));
        var p = new ElementwiseParams
        {
            LeftShift = 15, Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2,
            OutputMultiplier = mo, OutputShift = sho, ActivationMin = -32768, ActivationMax = 32767,
        };
        if (tweak is not null) p = tweak(p);
        int a = w.AddActivation(TensorType.Int16, [1, 3, 4, 2], w.AddQuantization([sa], 0));
        int b = w.AddActivation(TensorType.Int16, [1, 1, 4, 1], w.AddQuantization([sb], 0));
        int y = w.AddActivation(TensorType.Int16, [1, 3, 4, 2], w.AddQuantization([so], 0));
        w.AddOp(OpType.AddS16, [a, b], [y], p);
        w.AddInput("a", a);
        w.AddInput("b", b);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.AddS16, w.Build(), inputs =>
        {
            var output = new short[24];
            Int16Ops.AddS16Reference(p, S16(inputs[0]), new(1, 3, 4, 2), S16(inputs[1]), new(1, 1, 4, 1), output, new(1, 3, 4, 2));
            return Bytes(output);
        });
    }

    public static OneOpCase MaxPoolS16()
    {
        var w = new ModelWriter();
        var p = new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 3, PadTop = 0, PadLeft = 1, PadBottom = 1, PadRight = 1, ActivationMin = -1000, ActivationMax = 32767 };
        int q = w.AddQuantization([0.001f], 0);
        int x = w.AddActivation(TensorType.Int16, [1, 5, 5, 3], q);
        int y = w.AddActivation(TensorType.Int16, [1, 3, 3, 3], q);
        w.AddOp(OpType.MaxPool2DS16, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.MaxPool2DS16, w.Build(), inputs =>
        {
            var output = new short[27];
            Int16Ops.MaxPoolS16(p, S16(inputs[0]), new(1, 5, 5, 3), output, new(1, 3, 3, 3));
            return Bytes(output);
        });
    }

    public static OneOpCase MeanS16(Func<MeanParams, MeanParams>? tweak = null)
    {
        var w = new ModelWriter();
        var (m, s) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(0.001 / (0.0007 * 12));
        var p = new MeanParams { Multiplier = m, Shift = s };
        if (tweak is not null) p = tweak(p);
        int x = w.AddActivation(TensorType.Int16, [1, 4, 3, 5], w.AddQuantization([0.001f], 0));
        int y = w.AddActivation(TensorType.Int16, [1, 1, 1, 5], w.AddQuantization([0.0007f], 0));
        w.AddOp(OpType.MeanS16, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.MeanS16, w.Build(), inputs =>
        {
            var output = new short[5];
            Int16Ops.MeanS16(p, S16(inputs[0]), new(1, 4, 3, 5), output);
            return Bytes(output);
        });
    }

    public static OneOpCase ConvF32(bool depthwise = false, Func<DynamicConvParams, DynamicConvParams>? tweak = null)
    {
        var r = new Rand(depthwise ? 74 : 73);
        var w = new ModelWriter();
        int cin = 3, cout = depthwise ? 6 : 4;
        int[] fd = depthwise ? [1, 3, 3, cout] : [cout, 3, 3, cin];
        var filter = Enumerable.Range(0, fd.Aggregate(1, (a, v) => a * v)).Select(_ => (float)(r.Double() - 0.5)).ToArray();
        var bias = Enumerable.Range(0, cout).Select(_ => (float)(r.Double() - 0.5)).ToArray();
        var p = new DynamicConvParams
        {
            StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, PadTop = 1, PadLeft = 1, PadBottom = 0, PadRight = 0,
            DepthMultiplier = depthwise ? 2 : 1, ActivationMin = 0, ActivationMax = 6,
        };
        if (tweak is not null) p = tweak(p);
        var type = depthwise ? OpType.DepthwiseConv2DF32 : OpType.Conv2DF32;
        int x = w.AddActivation(TensorType.Float32, [1, 5, 6, cin], -1);
        int y = w.AddActivation(TensorType.Float32, [1, 4, 5, cout], -1);
        int f = w.AddConstant<float>(TensorType.Float32, fd, filter, -1);
        int b = w.AddConstant<float>(TensorType.Float32, [cout], bias, -1);
        w.AddOp(type, [x, f, b], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(type, w.Build(), inputs =>
        {
            var output = new float[4 * 5 * cout];
            FloatLayers.ConvF32Reference(p, depthwise, F32(inputs[0]), new(1, 5, 6, cin), filter, new(fd[0], fd[1], fd[2], fd[3]), bias, output, new(1, 4, 5, cout));
            return Bytes(output);
        });
    }

    public static OneOpCase FullyConnectedF32()
    {
        var r = new Rand(75);
        var w = new ModelWriter();
        int cout = 3, cin = 11;
        var filter = Enumerable.Range(0, cout * cin).Select(_ => (float)(r.Double() - 0.5)).ToArray();
        var bias = new[] { 0.25f, -1.5f, 3f };
        var p = new FloatClampParams { Min = float.NegativeInfinity, Max = 4f };
        int x = w.AddActivation(TensorType.Float32, [2, cin], -1);
        int y = w.AddActivation(TensorType.Float32, [2, cout], -1);
        int f = w.AddConstant<float>(TensorType.Float32, [cout, cin], filter, -1);
        int b = w.AddConstant<float>(TensorType.Float32, [cout], bias, -1);
        w.AddOp(OpType.FullyConnectedF32, [x, f, b], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.FullyConnectedF32, w.Build(), inputs =>
        {
            var output = new float[2 * cout];
            FloatLayers.FullyConnectedF32Reference(F32(inputs[0]), 2, cin, filter, cout, bias, p.Min, p.Max, output);
            return Bytes(output);
        });
    }

    public static OneOpCase QuantizeS16(float paramScale = 0.01f, int paramZeroPoint = 0)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, [2, 7], -1);
        int y = w.AddActivation(TensorType.Int16, [2, 7], w.AddQuantization([0.01f], 0));
        w.AddOp(OpType.QuantizeS16, [x], [y], new QuantizeParams { Scale = paramScale, ZeroPoint = paramZeroPoint });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.QuantizeS16, w.Build(), inputs =>
        {
            var output = new short[14];
            Int16Ops.QuantizeF32ToS16(F32(inputs[0]), output, 0.01f);
            return Bytes(output);
        });
    }

    public static OneOpCase DequantizeS16()
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int16, [2, 7], w.AddQuantization([0.003f], 0));
        int y = w.AddActivation(TensorType.Float32, [2, 7], -1);
        w.AddOp(OpType.DequantizeS16, [x], [y], new QuantizeParams { Scale = 0.003f });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.DequantizeS16, w.Build(), inputs =>
        {
            var output = new float[14];
            Int16Ops.DequantizeS16ToF32(S16(inputs[0]), output, 0.003f);
            return Bytes(output);
        });
    }

    /// <summary>int16 (scale 0.0002) to int8 (scale 0.02, zero point 5), or the other way round with <paramref name="toS16"/>.</summary>
    public static OneOpCase Requantize(bool toS16 = false, Func<RequantizeParams, RequantizeParams>? tweak = null)
    {
        var w = new ModelWriter();
        var (s16, s8, z8) = (0.0002f, 0.02f, 5);
        int q16 = w.AddQuantization([s16], 0), q8 = w.AddQuantization([s8], z8);
        int x = toS16 ? w.AddActivation(TensorType.Int8, [3, 5], q8) : w.AddActivation(TensorType.Int16, [3, 5], q16);
        int y = toS16 ? w.AddActivation(TensorType.Int16, [3, 5], q16) : w.AddActivation(TensorType.Int8, [3, 5], q8);
        var (m, s) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(toS16 ? s8 / (double)s16 : s16 / (double)s8);
        var p = new RequantizeParams { InputOffset = toS16 ? -z8 : 0, OutputOffset = toS16 ? 0 : z8, Multiplier = m, Shift = s };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Requantize, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Requantize, w.Build(), inputs =>
        {
            var output = new byte[toS16 ? 30 : 15];
            Int16Ops.Requantize(p, inputs[0], !toS16, output, toS16);
            return output;
        });
    }

    /// <summary>
    /// A small mixed-precision network with every boundary kind: float input, QuantizeS16, Conv2DS16, MaxPool2DS16,
    /// AddS16 with an int16 constant, a DequantizeS16 side branch through DepthwiseConv2DF32, MeanS16, Reshape,
    /// FullyConnectedS16, Requantize to int8, Dequantize, FullyConnectedF32.
    /// </summary>
    public static byte[] MixedChain()
    {
        var r = new Rand(76);
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, [1, 4, 4, 2], -1);
        int a = w.AddActivation(TensorType.Int16, [1, 4, 4, 2], w.AddQuantization([0.001f], 0));
        w.AddOp(OpType.QuantizeS16, [x], [a], new QuantizeParams { Scale = 0.001f });
        int c = w.AddActivation(TensorType.Int16, [1, 4, 4, 3], w.AddQuantization([0.002f], 0));
        var fs = r.Scales(3, 0.002, 0.02);
        var (cm, cs) = ConverterMath.PerChannel(0.001f, fs, 0.002f);
        var cp = SampleModels.Geometry(1, 1, 0, 0, 0, 0, 1);
        cp.MultipliersOffset = w.AddConstantData<int>(cm);
        cp.ShiftsOffset = w.AddConstantData<int>(cs);
        cp.ActivationMin = 0; cp.ActivationMax = 32767; cp.FoldedBiasOffset = -1;
        w.AddOp(OpType.Conv2DS16, [a, w.AddConstant<sbyte>(TensorType.Int8, [3, 1, 1, 2], r.S8(6, -127, 127), w.AddQuantization(fs, 0, 0)),
            w.AddConstant<long>(TensorType.Int64, [3], new long[] { 100, -2000, 30000 }, -1)], [c], cp);
        int q2 = w.AddQuantization([0.002f], 0);
        int pl = w.AddActivation(TensorType.Int16, [1, 2, 2, 3], q2);
        w.AddOp(OpType.MaxPool2DS16, [c], [pl], new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 2, ActivationMin = -32768, ActivationMax = 32767 });
        int k = w.AddConstant<short>(TensorType.Int16, [1, 1, 1, 3], new short[] { 1000, -3000, 500 }, w.AddQuantization([0.0005f], 0));
        int sum = w.AddActivation(TensorType.Int16, [1, 2, 2, 3], w.AddQuantization([0.003f], 0));
        double twiceMax = 2.0 * 0.002;
        var (m1, s1) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(0.002 / twiceMax);
        var (m2, s2) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(0.0005 / twiceMax);
        var (mo, so) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(twiceMax / ((1 << 15) * 0.003));
        w.AddOp(OpType.AddS16, [pl, k], [sum], new ElementwiseParams { LeftShift = 15, Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2, OutputMultiplier = mo, OutputShift = so, ActivationMin = -32768, ActivationMax = 32767 });
        // Side branch in float: DequantizeS16, DepthwiseConv2DF32 (its output is a second model output).
        int fsum = w.AddActivation(TensorType.Float32, [1, 2, 2, 3], -1);
        w.AddOp(OpType.DequantizeS16, [sum], [fsum], new QuantizeParams { Scale = 0.003f });
        int dwo = w.AddActivation(TensorType.Float32, [1, 2, 2, 3], -1);
        w.AddOp(OpType.DepthwiseConv2DF32, [fsum, w.AddConstant<float>(TensorType.Float32, [1, 1, 1, 3], new[] { 0.5f, -2f, 1f }, -1), w.AddConstant<float>(TensorType.Float32, [3], new[] { 0f, 0.1f, -0.1f }, -1)], [dwo],
            new DynamicConvParams { StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, DepthMultiplier = 1, ActivationMin = float.NegativeInfinity, ActivationMax = float.PositiveInfinity });
        int mean = w.AddActivation(TensorType.Int16, [1, 1, 1, 3], w.AddQuantization([0.002f], 0));
        var (mm, ms) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(0.003 / (0.002 * 4));
        w.AddOp(OpType.MeanS16, [sum], [mean], new MeanParams { Multiplier = mm, Shift = ms });
        int flat = w.AddActivation(TensorType.Int16, [1, 3], w.AddQuantization([0.002f], 0));
        w.AddOp(OpType.Reshape, [mean], [flat]);
        int o16 = w.AddActivation(TensorType.Int16, [1, 2], w.AddQuantization([0.004f], 0));
        var gs = r.Scales(2, 0.002, 0.02);
        var (gm, gsh) = ConverterMath.PerChannel(0.002f, gs, 0.004f);
        w.AddOp(OpType.FullyConnectedS16, [flat, w.AddConstant<sbyte>(TensorType.Int8, [2, 3], r.S8(6, -127, 127), w.AddQuantization(gs, 0, 0)), w.AddConstant<long>(TensorType.Int64, [2], new long[] { 5, -5 }, -1)], [o16],
            new FullyConnectedParams { ActivationMin = -32768, ActivationMax = 32767, MultipliersOffset = w.AddConstantData<int>(gm), ShiftsOffset = w.AddConstantData<int>(gsh), FoldedBiasOffset = -1 });
        int o8 = w.AddActivation(TensorType.Int8, [1, 2], w.AddQuantization([0.05f], -3));
        var (rm, rs) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier(0.004 / 0.05);
        w.AddOp(OpType.Requantize, [o16], [o8], new RequantizeParams { InputOffset = 0, OutputOffset = -3, Multiplier = rm, Shift = rs });
        int of = w.AddActivation(TensorType.Float32, [1, 2], -1);
        w.AddOp(OpType.Dequantize, [o8], [of], new QuantizeParams { Scale = 0.05f, ZeroPoint = -3 });
        int y = w.AddActivation(TensorType.Float32, [1, 2], -1);
        w.AddOp(OpType.FullyConnectedF32, [of, w.AddConstant<float>(TensorType.Float32, [2, 2], new[] { 1f, -0.5f, 0.25f, 2f }, -1), w.AddConstant<float>(TensorType.Float32, [2], new[] { 0.5f, -0.5f }, -1)], [y],
            new FloatClampParams { Min = float.NegativeInfinity, Max = float.PositiveInfinity });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        w.AddOutput("side", dwo);
        return w.Build();
    }
}
