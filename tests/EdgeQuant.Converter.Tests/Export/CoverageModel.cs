using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// A synthetic .eqm chain that uses the ops and options the zoo does not: dilated and
/// asymmetrically padded Conv2D with a ReLU clamp above the int8 minimum, DepthwiseConv2D with
/// multiplier 2 and a ReLU6-style clamp, padded AveragePool2D, Pad, MaxPool2D, Transpose,
/// Add with a constant operand, Concatenation (one input copied, one rescaled), Mul, Sub, Mean,
/// Reshape, FullyConnected, Lookup (LeakyRelu), Tanh, Logistic and Softmax. Parameters are
/// derived from the scales the way the converter derives them.
/// </summary>
internal static class CoverageModel
{
    public static readonly (float S, int Z) InputQuant = (0.02f, -5);

    /// <summary>Builds the model; input [1, 6, 6, 3] (NHWC in the blob) with the given source layout; output [1, 12].</summary>
    public static byte[] Build(SourceLayout inputLayout)
    {
        var rng = new Random(7);
        var w = new ModelWriter();
        int Q((float S, int Z) q) => w.AddQuantization([q.S], q.Z);
        int Act(int[] dims, (float S, int Z) q) => w.AddActivation(TensorType.Int8, dims, Q(q));

        var qx = InputQuant;
        var qc = (S: 0.04f, Z: -20);        // conv output; ReLU clamps at the zero point -20
        var qd = (S: 0.03f, Z: -100);       // depthwise output; ReLU6-style clamp at [zp, zp + 150]
        var qk = (S: 0.05f, Z: 10);         // constant operand
        var qa = (S: 0.045f, Z: -30);       // Add output
        var qcat = qa;                      // concat output: input 1 (Add) is copied, input 0 rescaled
        var qm = (S: 0.08f, Z: -60);        // Mul output
        var qs = (S: 0.09f, Z: -40);        // Sub output
        var qmean = (S: 0.06f, Z: -35);     // Mean output
        var qfc = (S: 0.1f, Z: 3);          // FC output
        var ql = (S: 0.06f, Z: -20);        // LeakyRelu output
        var qt = (S: 1f / 128, Z: 0);       // Tanh
        var qsig = (S: 1f / 256, Z: -128);  // Logistic and Softmax

        int x = Act([1, 6, 6, 3], qx);
        int c1 = Act([1, 6, 4, 4], qc);
        int d1 = Act([1, 3, 2, 8], qd);
        int ap = Act([1, 3, 2, 8], qd);
        int pd = Act([1, 4, 3, 8], qd);
        int mp = Act([1, 2, 1, 8], qd);
        int tr = Act([1, 1, 2, 8], qd);
        int add = Act([1, 1, 2, 8], qa);
        int cat = Act([1, 1, 2, 16], qcat);
        int mul = Act([1, 1, 2, 16], qm);
        int sub = Act([1, 1, 2, 16], qs);
        int mean = Act([1, 1, 1, 16], qmean);
        int flat = Act([1, 16], qmean);
        int fc = Act([1, 12], qfc);
        int leaky = Act([1, 12], ql);
        int tanh = Act([1, 12], qt);
        int sig = Act([1, 12], qsig);
        int soft = Act([1, 12], qsig);

        // Conv2D 3 -> 4, 3x3, dilation 2, pads (top 2, left 1, bottom 2, right 1): [1, 6, 4, 4].
        Weighted(w, rng, OpType.Conv2D, x, qx, [4, 3, 3, 3], c1, qc, new Conv2DParams
        {
            StrideH = 1, StrideW = 1, DilationH = 2, DilationW = 2, PadTop = 2, PadLeft = 1, PadBottom = 2, PadRight = 1,
            DepthMultiplier = 1, ActivationMin = qc.Z, ActivationMax = 127,
        });
        // Depthwise 4 -> 8 (multiplier 2), 3x3, stride 2, pads 1: [1, 3, 2, 8].
        Weighted(w, rng, OpType.DepthwiseConv2D, c1, qc, [1, 3, 3, 8], d1, qd, new Conv2DParams
        {
            StrideH = 2, StrideW = 2, DilationH = 1, DilationW = 1, PadTop = 1, PadLeft = 1, PadBottom = 1, PadRight = 1,
            DepthMultiplier = 2, ActivationMin = qd.Z, ActivationMax = qd.Z + 150,
        });
        w.AddOp(OpType.AveragePool2D, [d1], [ap], new PoolParams
        {
            StrideH = 1, StrideW = 1, FilterH = 2, FilterW = 2, PadTop = 0, PadLeft = 0, PadBottom = 1, PadRight = 1,
            ActivationMin = -128, ActivationMax = 127,
        });
        w.AddOp(OpType.Pad, [ap], [pd], new PadParams { Before1 = 1, After2 = 1, PadValue = qd.Z });
        w.AddOp(OpType.MaxPool2D, [pd], [mp], new PoolParams
        {
            StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 2, ActivationMin = -128, ActivationMax = 127,
        });
        w.AddOp(OpType.Transpose, [mp], [tr], new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 });
        var kData = new sbyte[8];
        for (int i = 0; i < 8; i++) kData[i] = (sbyte)rng.Next(-128, 128);
        int k = w.AddConstant<sbyte>(TensorType.Int8, [1, 1, 1, 8], kData, Q(qk));
        w.AddOp(OpType.Add, [tr, k], [add], AddParams(qd, qk, qa));
        var (cm, cs) = QuantMath.QuantizeMultiplier(qd.S / (double)qcat.S);
        w.AddOp(OpType.Concatenation, [tr, add], [cat], new ConcatParams
        {
            Axis = 3, InputCount = 2, OutputOffset = qcat.Z,
            In0Offset = -qd.Z, In0Multiplier = cm, In0Shift = cs,
            In1Offset = -qa.Z, In1Multiplier = 0, In1Shift = 0,
        });
        var (mm, ms) = QuantMath.QuantizeMultiplier((double)qcat.S * qcat.S / qm.S);
        w.AddOp(OpType.Mul, [cat, cat], [mul], new ElementwiseParams
        {
            Input1Offset = -qcat.Z, Input2Offset = -qcat.Z, OutputOffset = qm.Z, OutputMultiplier = mm, OutputShift = ms,
            ActivationMin = -128, ActivationMax = 127,
        });
        w.AddOp(OpType.Sub, [mul, cat], [sub], AddParams(qm, qcat, qs));
        var (mn, mns) = QuantMath.QuantizeMultiplier(qs.S / ((double)qmean.S * 2));
        w.AddOp(OpType.Mean, [sub], [mean], new MeanParams { InputOffset = -qs.Z, OutputOffset = qmean.Z, Multiplier = mn, Shift = mns });
        w.AddOp(OpType.Reshape, [mean], [flat]);
        Weighted(w, rng, OpType.FullyConnected, flat, qmean, [12, 16], fc, qfc, default);
        w.AddOp(OpType.Lookup, [fc], [leaky], new LookupParams { TableOffset = w.AddConstantData<sbyte>(Table(v => v > 0 ? v : 0.1 * v, qfc, ql)) });
        w.AddOp(OpType.Tanh, [leaky], [tanh], new LookupParams { TableOffset = w.AddConstantData<sbyte>(Table(Math.Tanh, ql, qt)) });
        w.AddOp(OpType.Logistic, [tanh], [sig], new LookupParams { TableOffset = w.AddConstantData<sbyte>(Table(v => 1 / (1 + Math.Exp(-v)), qt, qsig)) });
        var exp = new int[256];
        for (int d = 0; d < 256; d++) exp[d] = (int)Math.Round((1 << 23) * Math.Exp(-qsig.S * d));
        w.AddOp(OpType.Softmax, [sig], [soft], new SoftmaxParams { ExpTableOffset = w.AddConstantData<int>(exp), OutputOffset = -128 });

        w.AddInput("x", x, inputLayout);
        w.AddOutput("y", soft);
        return w.Build();
    }

    /// <summary>Conv2D / DepthwiseConv2D / FullyConnected with random per-channel weights and bias, requantization from the scales.</summary>
    private static void Weighted(ModelWriter w, Random rng, OpType type, int input, (float S, int Z) inQ, int[] filterDims,
        int output, (float S, int Z) outQ, Conv2DParams conv)
    {
        int cout = type == OpType.DepthwiseConv2D ? filterDims[3] : filterDims[0];
        int count = 1;
        foreach (int d in filterDims) count *= d;
        var filter = new sbyte[count];
        for (int i = 0; i < count; i++) filter[i] = (sbyte)rng.Next(-127, 128);
        var scales = new float[cout];
        var bias = new int[cout];
        var mult = new int[cout];
        var shift = new int[cout];
        for (int c = 0; c < cout; c++)
        {
            scales[c] = (float)(0.002 + 0.006 * rng.NextDouble());
            bias[c] = rng.Next(-3000, 3000);
            (mult[c], shift[c]) = QuantMath.QuantizeMultiplier((double)inQ.S * scales[c] / outQ.S);
        }
        int f = w.AddConstant<sbyte>(TensorType.Int8, filterDims, filter, w.AddQuantization(scales, 0, type == OpType.DepthwiseConv2D ? 3 : 0));
        int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
        int mo = w.AddConstantData<int>(mult);
        int so = w.AddConstantData<int>(shift);
        if (type == OpType.FullyConnected)
        {
            w.AddOp(type, [input, f, b], [output], new FullyConnectedParams
            {
                InputOffset = -inQ.Z, OutputOffset = outQ.Z, ActivationMin = -128, ActivationMax = 127,
                MultipliersOffset = mo, ShiftsOffset = so, FoldedBiasOffset = -1,
            });
            return;
        }
        conv.InputOffset = -inQ.Z;
        conv.OutputOffset = outQ.Z;
        conv.MultipliersOffset = mo;
        conv.ShiftsOffset = so;
        conv.FoldedBiasOffset = -1;
        w.AddOp(type, [input, f, b], [output], conv);
    }

    /// <summary>Add/Sub parameters as the converter computes them (TFLite: common left shift 20).</summary>
    private static ElementwiseParams AddParams((float S, int Z) a, (float S, int Z) b, (float S, int Z) o)
    {
        const int leftShift = 20;
        double twiceMax = 2.0 * Math.Max(a.S, b.S);
        var (m1, s1) = QuantMath.QuantizeMultiplier(a.S / twiceMax);
        var (m2, s2) = QuantMath.QuantizeMultiplier(b.S / twiceMax);
        var (mo, so) = QuantMath.QuantizeMultiplier(twiceMax / ((1 << leftShift) * (double)o.S));
        return new ElementwiseParams
        {
            Input1Offset = -a.Z, Input2Offset = -b.Z, OutputOffset = o.Z, LeftShift = leftShift,
            Input1Multiplier = m1, Input1Shift = s1, Input2Multiplier = m2, Input2Shift = s2,
            OutputMultiplier = mo, OutputShift = so, ActivationMin = -128, ActivationMax = 127,
        };
    }

    /// <summary>table[i] = quantize(f(dequantize(i - 128))), as the converter fills Lookup tables.</summary>
    private static sbyte[] Table(Func<double, double> f, (float S, int Z) inQ, (float S, int Z) outQ)
    {
        var t = new sbyte[256];
        for (int i = 0; i < 256; i++)
            t[i] = QuantMath.QuantizeS8((float)f(QuantMath.DequantizeS8((sbyte)(i - 128), inQ.S, inQ.Z)), outQ.S, outQ.Z);
        return t;
    }
}
