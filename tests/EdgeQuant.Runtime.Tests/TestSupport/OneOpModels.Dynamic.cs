using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using K = EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>One-op models of the dynamic-quantization ops (codes 40-46), each with its reference kernel called directly.</summary>
internal static partial class OneOpModels
{
    private static float[] F32(byte[] b) => MemoryMarshal.Cast<byte, float>(b).ToArray();

    public static IEnumerable<OneOpCase> DynamicCases()
    {
        yield return DynamicConv();
        yield return DynamicConv(depthwise: true);
        yield return DynamicFullyConnected();
        yield return MaxPoolF32();
        yield return MeanF32();
        yield return AddF32();
        yield return TransposeF32();
    }

    /// <summary>Input [1, 5, 6, 3] (depthwise: multiplier 2), 3x3 filter, stride 1, dilation 1, padding 1 before, 0 after; a ReLU6 clamp.</summary>
    public static OneOpCase DynamicConv(bool depthwise = false, Func<DynamicConvParams, DynamicConvParams>? tweak = null, int[]? outDims = null, int scratch = 90)
    {
        var r = new Rand(depthwise ? 61 : 60);
        var w = new ModelWriter();
        int cin = 3, cout = depthwise ? 6 : 4;
        int[] fd = depthwise ? [1, 3, 3, cout] : [cout, 3, 3, cin];
        var filter = r.S8(fd.Aggregate(1, (a, v) => a * v), -127, 127);
        var scales = r.Scales(cout, 0.002, 0.02);
        var bias = new float[cout];
        for (int c = 0; c < cout; c++) bias[c] = (float)(r.Double() - 0.5);
        var p = new DynamicConvParams
        {
            StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, PadTop = 1, PadLeft = 1, PadBottom = 0, PadRight = 0,
            DepthMultiplier = depthwise ? 2 : 1, ActivationMin = 0, ActivationMax = 6,
        };
        if (tweak is not null) p = tweak(p);
        var type = depthwise ? OpType.DynamicDepthwiseConv2D : OpType.DynamicConv2D;
        int x = w.AddActivation(TensorType.Float32, [1, 5, 6, cin], -1);
        int y = w.AddActivation(TensorType.Float32, outDims ?? [1, 4, 5, cout], -1);
        int f = w.AddConstant<sbyte>(TensorType.Int8, fd, filter, w.AddQuantization(scales, 0, depthwise ? 3 : 0));
        int b = w.AddConstant<float>(TensorType.Float32, [cout], bias, -1);
        w.AddOp(type, [x, f, b], [y], p, scratch);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(type, w.Build(), inputs =>
        {
            var output = new float[4 * 5 * cout];
            DynamicConv2D.EvalF32Reference(p, depthwise, F32(inputs[0]), new(1, 5, 6, cin), filter, new(fd[0], fd[1], fd[2], fd[3]), scales, bias, new byte[90], output, new(1, 4, 5, cout));
            return Bytes(output);
        });
    }

    public static OneOpCase DynamicFullyConnected(Func<FloatClampParams, FloatClampParams>? tweak = null, bool perTensor = false, int scratch = 22)
    {
        var r = new Rand(62);
        var w = new ModelWriter();
        int cout = 3, cin = 11;
        var filter = r.S8(cout * cin, -127, 127);
        var scales = perTensor ? [0.01f] : r.Scales(cout, 0.002, 0.02);
        var bias = new[] { 0.25f, -1.5f, 3f };
        var p = new FloatClampParams { Min = float.NegativeInfinity, Max = float.PositiveInfinity };
        if (tweak is not null) p = tweak(p);
        int x = w.AddActivation(TensorType.Float32, [2, cin], -1);
        int y = w.AddActivation(TensorType.Float32, [2, cout], -1);
        int f = w.AddConstant<sbyte>(TensorType.Int8, [cout, cin], filter, w.AddQuantization(scales, 0, perTensor ? -1 : 0));
        int b = w.AddConstant<float>(TensorType.Float32, [cout], bias, -1);
        w.AddOp(OpType.DynamicFullyConnected, [x, f, b], [y], p, scratch);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.DynamicFullyConnected, w.Build(), inputs =>
        {
            var output = new float[2 * cout];
            K.DynamicFullyConnected.EvalF32Reference(F32(inputs[0]), 2, cin, filter, cout, scales, bias, p.Min, p.Max, new byte[2 * cin], output);
            return Bytes(output);
        });
    }

    public static OneOpCase MaxPoolF32()
    {
        var w = new ModelWriter();
        var p = new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 3, PadTop = 0, PadLeft = 1, PadBottom = 1, PadRight = 1, ActivationMin = -128, ActivationMax = 127 };
        int x = w.AddActivation(TensorType.Float32, [1, 5, 5, 3], -1);
        int y = w.AddActivation(TensorType.Float32, [1, 3, 3, 3], -1);
        w.AddOp(OpType.MaxPool2DF32, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.MaxPool2DF32, w.Build(), inputs =>
        {
            var output = new float[27];
            FloatOps.MaxPoolF32(p, F32(inputs[0]), new(1, 5, 5, 3), output, new(1, 3, 3, 3));
            return Bytes(output);
        });
    }

    public static OneOpCase MeanF32()
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, [1, 4, 3, 5], -1);
        int y = w.AddActivation(TensorType.Float32, [1, 1, 1, 5], -1);
        w.AddOp(OpType.MeanF32, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.MeanF32, w.Build(), inputs =>
        {
            var output = new float[5];
            FloatOps.MeanF32(F32(inputs[0]), new(1, 4, 3, 5), output);
            return Bytes(output);
        });
    }

    public static OneOpCase AddF32()
    {
        var w = new ModelWriter();
        var p = new FloatClampParams { Min = -2, Max = float.PositiveInfinity };
        int a = w.AddActivation(TensorType.Float32, [1, 3, 4, 2], -1);
        int b = w.AddActivation(TensorType.Float32, [1, 1, 4, 1], -1);
        int y = w.AddActivation(TensorType.Float32, [1, 3, 4, 2], -1);
        w.AddOp(OpType.AddF32, [a, b], [y], p);
        w.AddInput("a", a);
        w.AddInput("b", b);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.AddF32, w.Build(), inputs =>
        {
            var output = new float[24];
            FloatOps.AddF32(F32(inputs[0]), new(1, 3, 4, 2), F32(inputs[1]), new(1, 1, 4, 1), output, new(1, 3, 4, 2), p.Min, p.Max);
            return Bytes(output);
        });
    }

    public static OneOpCase TransposeF32()
    {
        var w = new ModelWriter();
        var p = new TransposeParams { Perm0 = 0, Perm1 = 3, Perm2 = 1, Perm3 = 2 };
        int x = w.AddActivation(TensorType.Float32, [1, 2, 3, 4], -1);
        int y = w.AddActivation(TensorType.Float32, [1, 4, 2, 3], -1);
        w.AddOp(OpType.TransposeF32, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.TransposeF32, w.Build(), inputs =>
        {
            var output = new float[24];
            FloatOps.TransposeF32(p, F32(inputs[0]), new(1, 2, 3, 4), output, new(1, 4, 2, 3));
            return Bytes(output);
        });
    }

    /// <summary>A small dynamic network: conv, transpose, max pool, add (with a float constant), mean, reshape, fully connected.</summary>
    public static byte[] DynamicChain()
    {
        var r = new Rand(63);
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, [1, 4, 4, 2], -1);
        int c = w.AddActivation(TensorType.Float32, [1, 4, 4, 3], -1);
        int f = w.AddConstant<sbyte>(TensorType.Int8, [3, 1, 1, 2], r.S8(6, -127, 127), w.AddQuantization(r.Scales(3, 0.01, 0.05), 0, 0));
        int b = w.AddConstant<float>(TensorType.Float32, [3], [0.1f, -0.2f, 0.3f], -1);
        w.AddOp(OpType.DynamicConv2D, [x, f, b], [c], new DynamicConvParams { StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, DepthMultiplier = 1, ActivationMin = 0, ActivationMax = float.PositiveInfinity }, 32);
        int t = w.AddActivation(TensorType.Float32, [1, 4, 4, 3], -1);
        w.AddOp(OpType.TransposeF32, [c], [t], new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 });
        int pl = w.AddActivation(TensorType.Float32, [1, 2, 2, 3], -1);
        w.AddOp(OpType.MaxPool2DF32, [t], [pl], new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 2, ActivationMin = -128, ActivationMax = 127 });
        int k = w.AddConstant<float>(TensorType.Float32, [1, 1, 1, 3], [1f, -1f, 0.5f], -1);
        int s = w.AddActivation(TensorType.Float32, [1, 2, 2, 3], -1);
        w.AddOp(OpType.AddF32, [pl, k], [s], new FloatClampParams { Min = float.NegativeInfinity, Max = float.PositiveInfinity });
        int m = w.AddActivation(TensorType.Float32, [1, 1, 1, 3], -1);
        w.AddOp(OpType.MeanF32, [s], [m]);
        int flat = w.AddActivation(TensorType.Float32, [1, 3], -1);
        w.AddOp(OpType.Reshape, [m], [flat]);
        int o = w.AddActivation(TensorType.Float32, [1, 2], -1);
        int g = w.AddConstant<sbyte>(TensorType.Int8, [2, 3], r.S8(6, -127, 127), w.AddQuantization([0.02f], 0));
        int gb = w.AddConstant<float>(TensorType.Float32, [2], [0f, 1f], -1);
        w.AddOp(OpType.DynamicFullyConnected, [flat, g, gb], [o], new FloatClampParams { Min = float.NegativeInfinity, Max = float.PositiveInfinity }, 16);
        w.AddInput("x", x);
        w.AddOutput("y", o);
        return w.Build();
    }
}
