using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using K = EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// A blob holding a single op, and the same computation as a direct kernel call. The direct call
/// takes the model inputs' bytes (in model input order) and returns the output's bytes.
/// </summary>
internal sealed record OneOpCase(OpType Op, byte[] Blob, Func<IReadOnlyList<byte[]>, byte[]> Direct)
{
    public override string ToString() => Op.ToString();
}

/// <summary>
/// Builders for one-op models with converter-style parameters. Each takes an optional tweak of the
/// parameter record and of the output dimensions, so validation tests can break one thing at a time.
/// </summary>
internal static partial class OneOpModels
{
    private static sbyte[] S8(byte[] b) => MemoryMarshal.Cast<byte, sbyte>(b).ToArray();
    private static byte[] Bytes<T>(T[] v) where T : unmanaged => MemoryMarshal.AsBytes(v.AsSpan()).ToArray();

    public static IEnumerable<OneOpCase> All()
    {
        yield return Conv();
        yield return Conv(depthwise: true);
        yield return FullyConnected();
        yield return Elementwise(OpType.Add);
        yield return Elementwise(OpType.Sub);
        yield return Elementwise(OpType.Mul);
        yield return Pool(OpType.MaxPool2D);
        yield return Pool(OpType.AveragePool2D);
        yield return Mean();
        yield return Concatenation();
        yield return Pad();
        yield return Reshape();
        yield return Softmax();
        yield return Lookup(OpType.Logistic);
        yield return Lookup(OpType.Tanh);
        yield return Lookup(OpType.Lookup);
        yield return Quantize();
        yield return Dequantize();
        yield return Transpose();
        yield return IndexSelect();
        yield return BatchMatMul();
        yield return ArgMax();
        yield return Recurrent(lstm: true);
        yield return Recurrent(lstm: false);
        yield return RecurrentPacked(lstm: true);
        yield return RecurrentPacked(lstm: false);
        foreach (var c in DynamicCases()) yield return c;
        foreach (var c in Compressed()) yield return c;
        foreach (var c in MixedCases()) yield return c;
    }

    /// <summary>Ops 50-54; the direct computation is the dense int8 twin (decoded filter) run by the reference kernels.</summary>
    public static IEnumerable<OneOpCase> Compressed()
    {
        (OpType, CompressedModels.Kind, TensorType)[] cases =
        [
            (OpType.Conv2DCompressed, CompressedModels.Kind.Conv2D, TensorType.Int4),
            (OpType.DepthwiseConv2DCompressed, CompressedModels.Kind.Depthwise, TensorType.Index4),
            (OpType.FullyConnectedCompressed, CompressedModels.Kind.FullyConnected, TensorType.Index8),
            (OpType.Conv2DSparse, CompressedModels.Kind.Conv2D, TensorType.SparseInt8),
            (OpType.FullyConnectedSparse, CompressedModels.Kind.FullyConnected, TensorType.SparseInt8),
            (OpType.Conv2DCompressedPacked, CompressedModels.Kind.Conv2D, TensorType.Index4),
            (OpType.DepthwiseConv2DCompressedPacked, CompressedModels.Kind.Depthwise, TensorType.Int4),
            (OpType.FullyConnectedCompressedPacked, CompressedModels.Kind.FullyConnected, TensorType.Int4),
        ];
        foreach (var (op, kind, enc) in cases)
        {
            var c = CompressedModels.Build(60 + (int)op, kind, enc, packed: op >= OpType.Conv2DCompressedPacked);
            yield return new OneOpCase(op, c.Blob, inputs => CompressedModels.Run(c.DenseBlob, inputs[0], reference: true));
        }
    }

    public static OneOpCase Conv(bool depthwise = false, Func<Conv2DParams, Conv2DParams>? tweak = null, int[]? outDims = null,
        Action<ModelWriter, int[]>? tweakFilter = null)
    {
        var r = new Rand(depthwise ? 31 : 32);
        var w = new ModelWriter();
        var qi = (S: 0.05f, Z: 2);
        var qo = (S: 0.1f, Z: -3);
        int cout = depthwise ? 6 : 4;
        int[] fdims = depthwise ? [1, 3, 3, cout] : [cout, 3, 3, 3];
        var inShape = new Shape4(1, 5, 6, 3);
        var filter = r.S8(3 * 3 * 3 * (depthwise ? 2 : 4), -127, 127);
        var bias = r.I32(cout, -2000, 2000);
        var fscales = r.Scales(cout, 0.002, 0.02);
        int x = w.AddActivation(TensorType.Int8, [1, 5, 6, 3], w.AddQuantization([qi.S], qi.Z));
        int[] od = outDims ?? [1, 3, 3, cout];
        int y = w.AddActivation(TensorType.Int8, od, w.AddQuantization([qo.S], qo.Z));
        var p = SampleModels.Geometry(2, 1, 1, 1, 1, 0, depthwise ? 2 : 1);
        var type = depthwise ? OpType.DepthwiseConv2D : OpType.Conv2D;
        int qf = w.AddQuantization(fscales, 0, depthwise ? 3 : 0);
        int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, filter, qf);
        int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
        var (m, s) = ConverterMath.PerChannel(qi.S, fscales, qo.S);
        p.MultipliersOffset = w.AddConstantData<int>(m);
        p.ShiftsOffset = w.AddConstantData<int>(s);
        p.InputOffset = -qi.Z;
        p.OutputOffset = qo.Z;
        p.ActivationMin = -128;
        p.ActivationMax = 127;
        p.FoldedBiasOffset = -1;
        if (tweak is not null) p = tweak(p);
        int[] ins = [x, f, b];
        tweakFilter?.Invoke(w, ins);
        // Conv2D gets the im2col scratch the converter plans for its fast path.
        w.AddOp(type, ins, [y], p, depthwise ? 0 : KernelScratch.Conv2DBytes(3, 3, 3, 3));
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(type, w.Build(), inputs =>
        {
            var outShape = new Shape4(1, 3, 3, cout);
            var output = new sbyte[outShape.FlatSize];
            var fshape = new Shape4(fdims[0], fdims[1], fdims[2], fdims[3]);
            if (depthwise) DepthwiseConv2D.EvalS8Reference(p, S8(inputs[0]), inShape, filter, fshape, bias, m, s, output, outShape);
            else Conv2D.EvalS8Reference(p, S8(inputs[0]), inShape, filter, fshape, bias, m, s, output, outShape);
            return Bytes(output);
        });
    }

    public static OneOpCase FullyConnected(Func<FullyConnectedParams, FullyConnectedParams>? tweak = null, int[]? inDims = null, int[]? filterDims = null, int[]? outDims = null)
    {
        var r = new Rand(33);
        var w = new ModelWriter();
        var qi = (S: 0.04f, Z: -6);
        var qo = (S: 0.2f, Z: 1);
        int[] fd = filterDims ?? [3, 10];
        int cout = fd[0], cin = fd.Length > 1 ? fd[1] : 1;
        var filter = r.S8(fd.Aggregate(1, (a, v) => a * v), -127, 127);
        var bias = r.I32(cout, -3000, 3000);
        var fscales = r.Scales(cout, 0.002, 0.02);
        var (m, s) = ConverterMath.PerChannel(qi.S, fscales, qo.S);
        int x = w.AddActivation(TensorType.Int8, inDims ?? [2, 10], w.AddQuantization([qi.S], qi.Z));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [2, 3], w.AddQuantization([qo.S], qo.Z));
        int f = w.AddConstant<sbyte>(TensorType.Int8, fd, filter, w.AddQuantization(fscales, 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
        var p = new FullyConnectedParams
        {
            InputOffset = -qi.Z, OutputOffset = qo.Z, ActivationMin = -128, ActivationMax = 127,
            MultipliersOffset = w.AddConstantData<int>(m), ShiftsOffset = w.AddConstantData<int>(s), FoldedBiasOffset = -1,
        };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.FullyConnected, [x, f, b], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.FullyConnected, w.Build(), inputs =>
        {
            var output = new sbyte[2 * cout];
            K.FullyConnected.EvalS8Reference(p, S8(inputs[0]), 2, cin, filter, cout, bias, m, s, output);
            return Bytes(output);
        });
    }

    public static OneOpCase Elementwise(OpType op, Func<ElementwiseParams, ElementwiseParams>? tweak = null, int[]? bDims = null, bool constantB = false)
    {
        var w = new ModelWriter();
        var qa = (S: 0.1f, Z: 3);
        var qb = (S: 0.03f, Z: -10);
        var qo = (S: 0.15f, Z: 0);
        int[] bd = bDims ?? [1, 1, 4, 1];
        var bData = new Rand(34).S8(bd.Aggregate(1, (a, v) => a * v));
        int a = w.AddActivation(TensorType.Int8, [1, 3, 4, 2], w.AddQuantization([qa.S], qa.Z));
        int iqb = w.AddQuantization([qb.S], qb.Z);
        int b = constantB ? w.AddConstant<sbyte>(TensorType.Int8, bd, bData, iqb) : w.AddActivation(TensorType.Int8, bd, iqb);
        int y = w.AddActivation(TensorType.Int8, [1, 3, 4, 2], w.AddQuantization([qo.S], qo.Z));
        var p = op == OpType.Mul ? ConverterMath.Mul(qa.S, qa.Z, qb.S, qb.Z, qo.S, qo.Z) : ConverterMath.Add(qa.S, qa.Z, qb.S, qb.Z, qo.S, qo.Z);
        if (tweak is not null) p = tweak(p);
        w.AddOp(op, [a, b], [y], p);
        w.AddInput("a", a);
        if (!constantB) w.AddInput("b", b);
        w.AddOutput("y", y);
        var bShape = new Shape4(bd[0], bd[1], bd[2], bd[3]);
        return new OneOpCase(op, w.Build(), inputs =>
        {
            var output = new sbyte[24];
            var bIn = constantB ? bData : S8(inputs[1]);
            if (op == OpType.Mul) K.Elementwise.MulS8Reference(p, S8(inputs[0]), new(1, 3, 4, 2), bIn, bShape, output, new(1, 3, 4, 2));
            else K.Elementwise.AddS8Reference(p, S8(inputs[0]), new(1, 3, 4, 2), bIn, bShape, output, new(1, 3, 4, 2), op == OpType.Sub);
            return Bytes(output);
        });
    }

    public static OneOpCase Pool(OpType op, Func<PoolParams, PoolParams>? tweak = null, int[]? outDims = null, float outScale = 0.07f)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [1, 5, 5, 3], w.AddQuantization([0.07f], -4));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 3, 3, 3], w.AddQuantization([outScale], -4));
        var p = new PoolParams { StrideH = 2, StrideW = 2, FilterH = 3, FilterW = 3, PadTop = 1, PadLeft = 1, PadBottom = 1, PadRight = 1, ActivationMin = -128, ActivationMax = 127 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(op, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(op, w.Build(), inputs =>
        {
            var output = new sbyte[27];
            if (op == OpType.MaxPool2D) Pooling.MaxS8Reference(p, S8(inputs[0]), new(1, 5, 5, 3), output, new(1, 3, 3, 3));
            else Pooling.AverageS8Reference(p, S8(inputs[0]), new(1, 5, 5, 3), output, new(1, 3, 3, 3));
            return Bytes(output);
        });
    }

    public static OneOpCase Mean(Func<MeanParams, MeanParams>? tweak = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [1, 4, 5, 3], w.AddQuantization([0.05f], 7));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 1, 1, 3], w.AddQuantization([0.02f], -2));
        var p = ConverterMath.Mean(0.05f, 7, 0.02f, -2, 20);
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Mean, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Mean, w.Build(), inputs =>
        {
            var output = new sbyte[3];
            K.Mean.EvalS8Reference(p, S8(inputs[0]), new(1, 4, 5, 3), output);
            return Bytes(output);
        });
    }

    public static OneOpCase Concatenation(Func<ConcatParams, ConcatParams>? tweak = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        var qo = (S: 0.1f, Z: 0);
        int iqo = w.AddQuantization([qo.S], qo.Z);
        int iq1 = w.AddQuantization([0.25f], -5);
        sbyte[] cData = [1, -2, 3, -4, 5, -6];
        int a = w.AddActivation(TensorType.Int8, [1, 2, 3, 2], iqo);
        int b = w.AddActivation(TensorType.Int8, [1, 2, 3, 1], iq1);
        int c = w.AddConstant<sbyte>(TensorType.Int8, [1, 2, 3, 1], cData, iqo);
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 2, 3, 4], iqo);
        var rb = ConverterMath.ConcatInput(0.25f, -5, qo.S, qo.Z);
        var p = new ConcatParams
        {
            Axis = 3, InputCount = 3, OutputOffset = qo.Z,
            In1Offset = rb.Offset, In1Multiplier = rb.Multiplier, In1Shift = rb.Shift,
        };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Concatenation, [a, b, c], [y], p);
        w.AddInput("a", a);
        w.AddInput("b", b);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Concatenation, w.Build(), inputs =>
        {
            var output = new sbyte[24];
            var os = new Shape4(1, 2, 3, 4);
            K.Concatenation.EvalInputS8(S8(inputs[0]), new(1, 2, 3, 2), output, os, 3, 0, 0, 0, 0, qo.Z);
            K.Concatenation.EvalInputS8(S8(inputs[1]), new(1, 2, 3, 1), output, os, 3, 2, rb.Offset, rb.Multiplier, rb.Shift, qo.Z);
            K.Concatenation.EvalInputS8(cData, new(1, 2, 3, 1), output, os, 3, 3, 0, 0, 0, qo.Z);
            return Bytes(output);
        });
    }

    public static OneOpCase Pad(Func<PadParams, PadParams>? tweak = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 4);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 3, 2], q);
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 3, 5, 3], q);
        var p = new PadParams { Before1 = 1, Before3 = 1, After2 = 2, PadValue = 4 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Pad, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Pad, w.Build(), inputs =>
        {
            var output = new sbyte[45];
            K.Pad.EvalS8(p, S8(inputs[0]), new(1, 2, 3, 2), output, new(1, 3, 5, 3));
            return Bytes(output);
        });
    }

    public static OneOpCase Transpose(Func<TransposeParams, TransposeParams>? tweak = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 4);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 3, 4], q);
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 4, 2, 3], q);
        var p = new TransposeParams { Perm0 = 0, Perm1 = 3, Perm2 = 1, Perm3 = 2 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Transpose, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Transpose, w.Build(), inputs =>
        {
            var output = new sbyte[24];
            K.Transpose.EvalS8(p, S8(inputs[0]), new(1, 2, 3, 4), output, new(1, 4, 2, 3));
            return Bytes(output);
        });
    }

    public static OneOpCase Reshape(int[]? outDims = null, TensorType outType = TensorType.Int8)
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 4);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 3, 4], q);
        int y = w.AddActivation(outType, outDims ?? [6, 4], outType == TensorType.Int8 ? q : -1);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Reshape, w.Build(), inputs => inputs[0]);
    }

    public static OneOpCase Softmax(Func<SoftmaxParams, SoftmaxParams>? tweak = null, int[]? table = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [2, 7], w.AddQuantization([0.08f], 10));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [2, 7], w.AddQuantization([1f / 256], -128));
        var t = table ?? ConverterMath.SoftmaxTable(1.0, 0.08f);
        var p = new SoftmaxParams { ExpTableOffset = w.AddConstantData<int>(t), OutputOffset = -128 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Softmax, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Softmax, w.Build(), inputs =>
        {
            var output = new sbyte[14];
            K.Softmax.EvalS8(S8(inputs[0]), output, 2, 7, t);
            return Bytes(output);
        });
    }

    public static OneOpCase Lookup(OpType op, Func<LookupParams, LookupParams>? tweak = null, int[]? outDims = null)
    {
        var w = new ModelWriter();
        var (si, zi) = (0.06f, -1);
        var (so, zo) = op switch { OpType.Logistic => (1f / 256, -128), OpType.Tanh => (1f / 128, 0), _ => (si, zi) };
        Func<double, double> f = op switch { OpType.Logistic => ConverterMath.Sigmoid, OpType.Tanh => System.Math.Tanh, _ => v => v > 0 ? v : 0.2 * v };
        int x = w.AddActivation(TensorType.Int8, [1, 3, 3, 2], w.AddQuantization([si], zi));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 3, 3, 2], w.AddQuantization([so], zo));
        var table = ConverterMath.LookupTable(f, si, zi, so, zo);
        var p = new LookupParams { TableOffset = w.AddConstantData<sbyte>(table) };
        if (tweak is not null) p = tweak(p);
        w.AddOp(op, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(op, w.Build(), inputs =>
        {
            var output = new sbyte[18];
            K.Lookup.EvalS8(S8(inputs[0]), output, table);
            return Bytes(output);
        });
    }

    public static OneOpCase Quantize(Func<QuantizeParams, QuantizeParams>? tweak = null, TensorType inType = TensorType.Float32)
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.05f], -7);
        int x = w.AddActivation(inType, [2, 5], inType == TensorType.Int8 ? q : -1);
        int y = w.AddActivation(TensorType.Int8, [2, 5], q);
        var p = new QuantizeParams { Scale = 0.05f, ZeroPoint = -7 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Quantize, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Quantize, w.Build(), inputs =>
        {
            var output = new sbyte[10];
            K.Quantize.EvalF32ToS8(MemoryMarshal.Cast<byte, float>(inputs[0]), output, p.Scale, p.ZeroPoint);
            return Bytes(output);
        });
    }

    public static OneOpCase Dequantize(Func<QuantizeParams, QuantizeParams>? tweak = null)
    {
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, [2, 5], w.AddQuantization([0.05f], -7));
        int y = w.AddActivation(TensorType.Float32, [2, 5], -1);
        var p = new QuantizeParams { Scale = 0.05f, ZeroPoint = -7 };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.Dequantize, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.Dequantize, w.Build(), inputs =>
        {
            var output = new float[10];
            K.Quantize.EvalS8ToF32(S8(inputs[0]), output, p.Scale, p.ZeroPoint);
            return Bytes(output);
        });
    }

    /// <summary>IndexSelect [1, 3, 4, 5] -> [1, 2, 6, 3]: a reversed pair of rows, an edge-padded / zero-filled H axis and a strided W.</summary>
    public static OneOpCase IndexSelect(Func<IndexSelectParams, IndexSelectParams>? tweak = null, int[]? outDims = null, int[]? table2 = null)
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.05f], -3);
        int x = w.AddActivation(TensorType.Int8, [1, 3, 4, 5], q);
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 2, 6, 3], q);
        int[] t0 = [0], t1 = [2, 0], t2 = table2 ?? [-1, 0, 0, 1, 3, -1], t3 = [4, 2, 0];
        var p = new IndexSelectParams
        {
            Table0Offset = w.AddConstantData<int>(t0), Table1Offset = w.AddConstantData<int>(t1),
            Table2Offset = w.AddConstantData<int>(t2), Table3Offset = w.AddConstantData<int>(t3), FillValue = -3,
        };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.IndexSelect, [x], [y], p);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.IndexSelect, w.Build(), inputs =>
        {
            var output = new sbyte[36];
            K.IndexSelect.EvalS8Reference(p, S8(inputs[0]), new(1, 3, 4, 5), output, new(1, 2, 6, 3), t0, t1, t2, t3);
            return Bytes(output);
        });
    }

    /// <summary>BatchMatMul [1, 2, 3, 20] x [1, 1, 4, 20] (broadcast over dimension 1) -> [1, 2, 3, 4] with a ReLU clamp.</summary>
    public static OneOpCase BatchMatMul(Func<BatchMatMulParams, BatchMatMulParams>? tweak = null, int[]? outDims = null, int[]? bDims = null)
    {
        var w = new ModelWriter();
        var (sa, za) = (0.04f, 7);
        var (sb, zb) = (0.03f, -11);
        var (so, zo) = (0.2f, -20);
        int a = w.AddActivation(TensorType.Int8, [1, 2, 3, 20], w.AddQuantization([sa], za));
        int b = w.AddActivation(TensorType.Int8, bDims ?? [1, 1, 4, 20], w.AddQuantization([sb], zb));
        int y = w.AddActivation(TensorType.Int8, outDims ?? [1, 2, 3, 4], w.AddQuantization([so], zo));
        var (m, sh) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier((double)sa * sb / so);
        var p = new BatchMatMulParams
        {
            Input1Offset = -za, Input2Offset = -zb, OutputOffset = zo, OutputMultiplier = m, OutputShift = sh,
            ActivationMin = zo, ActivationMax = 127,
        };
        if (tweak is not null) p = tweak(p);
        w.AddOp(OpType.BatchMatMul, [a, b], [y], p);
        w.AddInput("a", a);
        w.AddInput("b", b);
        w.AddOutput("y", y);
        return new OneOpCase(OpType.BatchMatMul, w.Build(), inputs =>
        {
            var output = new sbyte[24];
            K.BatchMatMul.EvalS8Reference(p, S8(inputs[0]), new(1, 2, 3, 20), S8(inputs[1]), new(1, 1, 4, 20), output, new(1, 2, 3, 4));
            return Bytes(output);
        });
    }
}
