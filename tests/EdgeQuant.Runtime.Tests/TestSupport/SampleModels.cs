using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// Small complete models built with <see cref="ModelWriter"/> and converter-style parameters.
/// Together they use every op code; the fuzz, interpreter and allocation tests run them.
/// </summary>
internal static class SampleModels
{
    /// <summary>Adds a Conv2D / DepthwiseConv2D / FullyConnected with per-channel weights, an int32 bias and requantization built from the scales.</summary>
    public static void AddWeighted(ModelWriter w, OpType type, int input, (float S, int Z) inQ, sbyte[] filter, int[] filterDims,
        int[] bias, float[] filterScales, int output, (float S, int Z) outQ, Conv2DParams conv = default, int actMin = -128, int actMax = 127,
        int scratchBytes = 0)
    {
        int cout = bias.Length;
        int quantDim = type == OpType.DepthwiseConv2D ? 3 : 0;
        int qf = w.AddQuantization(filterScales, 0, quantDim);
        int f = w.AddConstant<sbyte>(TensorType.Int8, filterDims, filter, qf);
        var biasScales = new float[cout];
        for (int c = 0; c < cout; c++) biasScales[c] = inQ.S * filterScales[c];
        int qb = w.AddQuantization(biasScales, 0, 0);
        int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, qb);
        var (m, s) = ConverterMath.PerChannel(inQ.S, filterScales, outQ.S);
        int mo = w.AddConstantData<int>(m);
        int so = w.AddConstantData<int>(s);
        if (type == OpType.FullyConnected)
        {
            w.AddOp(type, [input, f, b], [output], new FullyConnectedParams
            {
                InputOffset = -inQ.Z, OutputOffset = outQ.Z, ActivationMin = actMin, ActivationMax = actMax,
                MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = -1,
            });
            return;
        }
        conv.InputOffset = -inQ.Z;
        conv.OutputOffset = outQ.Z;
        conv.ActivationMin = actMin;
        conv.ActivationMax = actMax;
        conv.MultipliersOffset = mo;
        conv.ShiftsOffset = so;
        conv.FoldedBiasOffset = -1;
        if (conv.DepthMultiplier == 0) conv.DepthMultiplier = 1;
        w.AddOp(type, [input, f, b], [output], conv, scratchBytes);
    }

    public static Conv2DParams Geometry(int stride, int dilation, int top, int left, int bottom, int right, int depthMultiplier = 1) => new()
    {
        StrideH = stride, StrideW = stride, DilationH = dilation, DilationW = dilation,
        PadTop = top, PadLeft = left, PadBottom = bottom, PadRight = right, DepthMultiplier = depthMultiplier,
    };

    /// <summary>Conv2D, DepthwiseConv2D (multiplier 2), MaxPool2D, AveragePool2D, Mean, Reshape, FullyConnected, Softmax.</summary>
    public static byte[] VisionChain()
    {
        var r = new Rand(101);
        var w = new ModelWriter();
        var qx = (S: 0.02f, Z: -5);
        var qc = (S: 0.05f, Z: -128);
        var qd = (S: 0.04f, Z: -2);
        var qm = (S: 0.03f, Z: 1);
        var qfc = (S: 0.1f, Z: 0);
        int iqx = w.AddQuantization([qx.S], qx.Z);
        int iqc = w.AddQuantization([qc.S], qc.Z);
        int iqd = w.AddQuantization([qd.S], qd.Z);
        int iqm = w.AddQuantization([qm.S], qm.Z);
        int iqfc = w.AddQuantization([qfc.S], qfc.Z);
        int iqsm = w.AddQuantization([1f / 256], -128);

        int x = w.AddActivation(TensorType.Int8, [1, 8, 8, 3], iqx);
        int c1 = w.AddActivation(TensorType.Int8, [1, 8, 8, 4], iqc);
        int d1 = w.AddActivation(TensorType.Int8, [1, 4, 4, 8], iqd);
        int mp = w.AddActivation(TensorType.Int8, [1, 3, 3, 8], iqd);
        int ap = w.AddActivation(TensorType.Int8, [1, 3, 3, 8], iqd);
        int mean = w.AddActivation(TensorType.Int8, [1, 1, 1, 8], iqm);
        int flat = w.AddActivation(TensorType.Int8, [1, 8], iqm);
        int logits = w.AddActivation(TensorType.Int8, [1, 5], iqfc);
        int probs = w.AddActivation(TensorType.Int8, [1, 5], iqsm);

        AddWeighted(w, OpType.Conv2D, x, qx, r.S8(4 * 3 * 3 * 3, -127, 127), [4, 3, 3, 3], r.I32(4, -2000, 2000), r.Scales(4, 0.002, 0.01),
            c1, qc, Geometry(1, 1, 1, 1, 1, 1), actMin: -128, actMax: 127,
            scratchBytes: Runtime.Kernels.KernelScratch.Conv2DBytes(3, 3, 3, 8)); // im2col rows, as the converter plans them
        AddWeighted(w, OpType.DepthwiseConv2D, c1, qc, r.S8(3 * 3 * 8, -127, 127), [1, 3, 3, 8], r.I32(8, -500, 500), r.Scales(8, 0.002, 0.01),
            d1, qd, Geometry(2, 1, 0, 0, 1, 1, depthMultiplier: 2));
        w.AddOp(OpType.MaxPool2D, [d1], [mp], new PoolParams { StrideH = 1, StrideW = 1, FilterH = 2, FilterW = 2, ActivationMin = -128, ActivationMax = 127 });
        w.AddOp(OpType.AveragePool2D, [mp], [ap], new PoolParams { StrideH = 1, StrideW = 1, FilterH = 2, FilterW = 2, PadTop = 1, PadLeft = 1, ActivationMin = -128, ActivationMax = 127 });
        w.AddOp(OpType.Mean, [ap], [mean], ConverterMath.Mean(qd.S, qd.Z, qm.S, qm.Z, 9));
        w.AddOp(OpType.Reshape, [mean], [flat]);
        AddWeighted(w, OpType.FullyConnected, flat, qm, r.S8(5 * 8, -127, 127), [5, 8], r.I32(5, -300, 300), r.Scales(5, 0.005, 0.02), logits, qfc);
        int table = w.AddConstantData<int>(ConverterMath.SoftmaxTable(1.0, qfc.S));
        w.AddOp(OpType.Softmax, [logits], [probs], new SoftmaxParams { ExpTableOffset = table, OutputOffset = -128 });

        w.AddInput("image", x);
        w.AddOutput("probs", probs);
        w.AddOutput("logits", logits);
        w.SetMetadata("name", "vision_chain");
        return w.Build();
    }

    /// <summary>Add (with broadcast), Sub (constant operand), Mul, Concatenation (rescaling), Pad, Transpose, Logistic, Tanh, Lookup.</summary>
    public static byte[] Mix()
    {
        var w = new ModelWriter();
        var qa = (S: 0.1f, Z: 2);
        var qb = (S: 0.05f, Z: -3);
        var qc = (S: 0.1f, Z: 0);
        var qadd = (S: 0.12f, Z: 0);
        var qsub = (S: 0.1f, Z: 1);
        var qmul = (S: 0.2f, Z: -1);
        var qcat = (S: 0.2f, Z: 0);
        int iqa = w.AddQuantization([qa.S], qa.Z);
        int iqb = w.AddQuantization([qb.S], qb.Z);
        int iqc = w.AddQuantization([qc.S], qc.Z);
        int iqadd = w.AddQuantization([qadd.S], qadd.Z);
        int iqsub = w.AddQuantization([qsub.S], qsub.Z);
        int iqmul = w.AddQuantization([qmul.S], qmul.Z);
        int iqcat = w.AddQuantization([qcat.S], qcat.Z);
        int iqlog = w.AddQuantization([1f / 256], -128);
        int iqtanh = w.AddQuantization([1f / 128], 0);

        int a = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], iqa);
        int b = w.AddActivation(TensorType.Int8, [1, 1, 4, 2], iqb);
        int c = w.AddConstant<sbyte>(TensorType.Int8, [1, 1, 1, 2], [10, -20], iqc);
        int add = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], iqadd);
        int sub = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], iqsub);
        int mul = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], iqmul);
        int cat = w.AddActivation(TensorType.Int8, [1, 4, 4, 4], iqcat);
        int pad = w.AddActivation(TensorType.Int8, [1, 5, 6, 4], iqcat);
        int tr = w.AddActivation(TensorType.Int8, [1, 4, 5, 6], iqcat);
        int log = w.AddActivation(TensorType.Int8, [1, 4, 5, 6], iqlog);
        int tanh = w.AddActivation(TensorType.Int8, [1, 4, 5, 6], iqtanh);
        int leaky = w.AddActivation(TensorType.Int8, [1, 4, 4, 2], iqsub);

        w.AddOp(OpType.Add, [a, b], [add], ConverterMath.Add(qa.S, qa.Z, qb.S, qb.Z, qadd.S, qadd.Z));
        w.AddOp(OpType.Sub, [a, c], [sub], ConverterMath.Add(qa.S, qa.Z, qc.S, qc.Z, qsub.S, qsub.Z));
        w.AddOp(OpType.Mul, [add, sub], [mul], ConverterMath.Mul(qadd.S, qadd.Z, qsub.S, qsub.Z, qmul.S, qmul.Z));
        var c0 = ConverterMath.ConcatInput(qadd.S, qadd.Z, qcat.S, qcat.Z);
        var c1 = ConverterMath.ConcatInput(qmul.S, qmul.Z, qcat.S, qcat.Z);
        w.AddOp(OpType.Concatenation, [add, mul], [cat], new ConcatParams
        {
            Axis = 3, InputCount = 2, OutputOffset = qcat.Z,
            In0Offset = c0.Offset, In0Multiplier = c0.Multiplier, In0Shift = c0.Shift,
            In1Offset = c1.Offset, In1Multiplier = c1.Multiplier, In1Shift = c1.Shift,
        });
        w.AddOp(OpType.Pad, [cat], [pad], new PadParams { Before1 = 1, After2 = 2, PadValue = qcat.Z });
        w.AddOp(OpType.Transpose, [pad], [tr], new TransposeParams { Perm0 = 0, Perm1 = 3, Perm2 = 1, Perm3 = 2 });
        int logTable = w.AddConstantData<sbyte>(ConverterMath.LookupTable(ConverterMath.Sigmoid, qcat.S, qcat.Z, 1f / 256, -128));
        int tanhTable = w.AddConstantData<sbyte>(ConverterMath.LookupTable(System.Math.Tanh, qcat.S, qcat.Z, 1f / 128, 0));
        int leakyTable = w.AddConstantData<sbyte>(ConverterMath.LookupTable(v => v > 0 ? v : 0.1 * v, qsub.S, qsub.Z, qsub.S, qsub.Z));
        w.AddOp(OpType.Logistic, [tr], [log], new LookupParams { TableOffset = logTable });
        w.AddOp(OpType.Tanh, [tr], [tanh], new LookupParams { TableOffset = tanhTable });
        w.AddOp(OpType.Lookup, [sub], [leaky], new LookupParams { TableOffset = leakyTable });

        w.AddInput("a", a);
        w.AddInput("b", b);
        w.AddOutput("logistic", log);
        w.AddOutput("tanh", tanh);
        w.AddOutput("leaky", leaky);
        w.SetMetadata("name", "mix");
        w.SetMetadata("purpose", "every element-wise and data-movement op");
        return w.Build();
    }

    /// <summary>Quantize, batched FullyConnected, Lookup, Reshape (aliasing and from a constant), Add, Dequantize: float in, float out.</summary>
    public static byte[] Boundary()
    {
        var r = new Rand(303);
        var w = new ModelWriter();
        var qin = (S: 0.05f, Z: 3);
        var qfc = (S: 0.08f, Z: -4);
        var qk = (S: 0.06f, Z: 0);
        var qsum = (S: 0.1f, Z: 2);
        int iqin = w.AddQuantization([qin.S], qin.Z);
        int iqfc = w.AddQuantization([qfc.S], qfc.Z);
        int iqk = w.AddQuantization([qk.S], qk.Z);
        int iqsum = w.AddQuantization([qsum.S], qsum.Z);

        int xf = w.AddActivation(TensorType.Float32, [2, 6], -1);
        int xq = w.AddActivation(TensorType.Int8, [2, 6], iqin);
        int fc = w.AddActivation(TensorType.Int8, [2, 3], iqfc);
        int hs = w.AddActivation(TensorType.Int8, [2, 3], iqfc);
        int hs4 = w.AddActivation(TensorType.Int8, [1, 2, 3, 1], iqfc);
        int k = w.AddConstant<sbyte>(TensorType.Int8, [6], r.S8(6), iqk);
        int k4 = w.AddActivation(TensorType.Int8, [1, 2, 3, 1], iqk);
        int sum = w.AddActivation(TensorType.Int8, [1, 2, 3, 1], iqsum);
        int yf = w.AddActivation(TensorType.Float32, [1, 2, 3, 1], -1);

        w.AddOp(OpType.Quantize, [xf], [xq], new QuantizeParams { Scale = qin.S, ZeroPoint = qin.Z });
        AddWeighted(w, OpType.FullyConnected, xq, qin, r.S8(3 * 6, -127, 127), [3, 6], r.I32(3, -1000, 1000), r.Scales(3, 0.005, 0.02), fc, qfc);
        int hardSigmoid = w.AddConstantData<sbyte>(ConverterMath.LookupTable(v => System.Math.Clamp(v / 6 + 0.5, 0, 1), qfc.S, qfc.Z, qfc.S, qfc.Z));
        w.AddOp(OpType.Lookup, [fc], [hs], new LookupParams { TableOffset = hardSigmoid });
        w.AddOp(OpType.Reshape, [hs], [hs4]);
        w.AddOp(OpType.Reshape, [k], [k4]);
        w.AddOp(OpType.Add, [hs4, k4], [sum], ConverterMath.Add(qfc.S, qfc.Z, qk.S, qk.Z, qsum.S, qsum.Z));
        w.AddOp(OpType.Dequantize, [sum], [yf], new QuantizeParams { Scale = qsum.S, ZeroPoint = qsum.Z });

        w.AddInput("features", xf);
        w.AddOutput("scores", yf);
        w.SetMetadata("name", "boundary");
        return w.Build();
    }

    public static IEnumerable<(string Name, byte[] Blob)> All()
    {
        yield return ("vision_chain", VisionChain());
        yield return ("mix", Mix());
        yield return ("boundary", Boundary());
        yield return ("edge_ops", EdgeOps());
        yield return ("mixed_precision", OneOpModels.MixedChain());
    }

    /// <summary>IndexSelect (zero insertion with fill) feeding BatchMatMul with a constant right operand, and a BatchMatMul of two activations.</summary>
    public static byte[] EdgeOps()
    {
        var r = new Rand(103);
        var w = new ModelWriter();
        var qx = (S: 0.03f, Z: 4);
        var qk = (S: 0.02f, Z: -9);
        var qm = (S: 0.15f, Z: 12);
        var qs = (S: 0.9f, Z: -40);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 5, 24], w.AddQuantization([qx.S], qx.Z));
        int spread = w.AddActivation(TensorType.Int8, [1, 2, 9, 24], w.AddQuantization([qx.S], qx.Z));
        int k = w.AddConstant<sbyte>(TensorType.Int8, [1, 1, 7, 24], r.S8(7 * 24), w.AddQuantization([qk.S], qk.Z));
        int m = w.AddActivation(TensorType.Int8, [1, 2, 9, 7], w.AddQuantization([qm.S], qm.Z));
        int s = w.AddActivation(TensorType.Int8, [1, 2, 9, 9], w.AddQuantization([qs.S], qs.Z));
        int[] rows = [0, -1, 1, -1, 2, -1, 3, -1, 4];
        w.AddOp(OpType.IndexSelect, [x], [spread], new IndexSelectParams
        {
            Table0Offset = w.AddConstantData<int>([0]), Table1Offset = w.AddConstantData<int>([0, 1]),
            Table2Offset = w.AddConstantData<int>(rows), Table3Offset = w.AddConstantData<int>(Enumerable.Range(0, 24).ToArray()), FillValue = qx.Z,
        });
        var (m1, s1) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier((double)qx.S * qk.S / qm.S);
        w.AddOp(OpType.BatchMatMul, [spread, k], [m], new BatchMatMulParams
        {
            Input1Offset = -qx.Z, Input2Offset = -qk.Z, OutputOffset = qm.Z, OutputMultiplier = m1, OutputShift = s1, ActivationMin = -128, ActivationMax = 127,
        });
        var (m2, s2) = EdgeQuant.Runtime.Math.QuantMath.QuantizeMultiplier((double)qm.S * qm.S / qs.S);
        w.AddOp(OpType.BatchMatMul, [m, m], [s], new BatchMatMulParams
        {
            Input1Offset = -qm.Z, Input2Offset = -qm.Z, OutputOffset = qs.Z, OutputMultiplier = m2, OutputShift = s2, ActivationMin = qs.Z, ActivationMax = 127,
        });
        w.AddInput("x", x);
        w.AddOutput("scores", s);
        w.SetMetadata("name", "edge_ops");
        return w.Build();
    }
}
