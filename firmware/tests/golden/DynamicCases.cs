using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// One-op cases of the dynamic-quantization ops 40-46 (docs/format.md 6.1): DynamicConv2D,
/// DynamicDepthwiseConv2D and DynamicFullyConnected (symmetric int8 weights, per-tensor or per-channel
/// scales, float bias and clamp, the quantized input in the op's scratch) on the generic float inputs
/// (NaN, infinities, huge and denormal values among them: the per-inference range ignores NaN, and an
/// infinite range makes every code 0), and MaxPool2DF32, MeanF32, AddF32, TransposeF32. MeanF32 and AddF32
/// sum floats, so their inputs are finite (an infinity minus an infinity makes a NaN whose bits differ
/// between x86 and Arm).
/// </summary>
internal static class DynamicCases
{
    private static readonly int[] Channels = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 20, 40];

    /// <summary>Ops whose sample inputs must be finite (<see cref="MixedCases.FiniteFloatBytes"/>).</summary>
    public static bool NeedsFiniteInputs(OpType type) => type is OpType.MeanF32 or OpType.AddF32;

    /// <summary>Three samples of float input and output fit test_golden's 16 KB buffers (the boards' static RAM).</summary>
    private static bool Fits(int inputElements, int outputElements) => 3 * 4 * inputElements <= 16384 && 3 * 4 * outputElements <= 16384;

    private static float[] Floats(Random r, int n, double magnitude)
    {
        var f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float)((r.NextDouble() * 2 - 1) * magnitude);
        return f;
    }

    private static (float Min, float Max) FloatRange(Random r) => r.Next(4) switch
    {
        0 => (float.NegativeInfinity, float.PositiveInfinity),
        1 => (0f, float.PositiveInfinity),
        2 => (0f, 6f),
        _ => ((float)(-r.NextDouble() * 4), (float)(r.NextDouble() * 4)),
    };

    private static int Filter(Random r, ModelWriter w, int[] dims, int cout, int channelDim)
    {
        var f = new sbyte[dims.Aggregate(1, (a, v) => a * v)];
        for (int i = 0; i < f.Length; i++) f[i] = (sbyte)r.Next(-127, 128);
        var scales = new float[r.Next(2) == 0 ? 1 : cout];
        for (int c = 0; c < scales.Length; c++) scales[c] = Cases.Scale(r, 0.001, 0.05);
        return w.AddConstant<sbyte>(TensorType.Int8, dims, f, w.AddQuantization(scales, 0, scales.Length == 1 ? -1 : channelDim));
    }

    public static ModelWriter Conv(Random r, int index, bool depthwise)
    {
        while (true)
        {
            int cin = depthwise ? Channels[index % Channels.Length] : Channels[(index * 5) % Channels.Length];
            int span = cin >= 20 ? 5 : 8, n = 1 + r.Next(2), h = 1 + r.Next(span), wd = 1 + r.Next(span);
            int kh = new[] { 1, 1, 2, 3, 3, 5 }[r.Next(6)], kw = r.Next(3) == 0 ? 1 + r.Next(4) : kh;
            int sh = 1 + r.Next(3), sw = 1 + r.Next(3), dh = 1 + r.Next(2), dw = 1 + r.Next(2);
            int pt = r.Next(3), pl = r.Next(3), pb = r.Next(3), pr = r.Next(3);
            int oh = Cases.OutSize(h, kh, sh, dh, pt, pb), ow = Cases.OutSize(wd, kw, sw, dw, pl, pr);
            if (oh < 1 || ow < 1) continue;
            int dm = depthwise ? 1 + r.Next(3) : 1;
            int cout = depthwise ? cin * dm : Channels[r.Next(Channels.Length)];
            if (!Fits(n * h * wd * cin, n * oh * ow * cout)) continue;
            var w = new ModelWriter();
            int x = w.AddActivation(TensorType.Float32, [n, h, wd, cin], -1);
            int y = w.AddActivation(TensorType.Float32, [n, oh, ow, cout], -1);
            int f = Filter(r, w, depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin], cout, depthwise ? 3 : 0);
            int b = w.AddConstant<float>(TensorType.Float32, [cout], Floats(r, cout, 1.0), -1);
            var (min, max) = FloatRange(r);
            w.AddOp(depthwise ? OpType.DynamicDepthwiseConv2D : OpType.DynamicConv2D, [x, f, b], [y], new DynamicConvParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                DepthMultiplier = dm, ActivationMin = min, ActivationMax = max,
            }, n * h * wd * cin);
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter FullyConnected(Random r, int index)
    {
        int cin = Channels[index % Channels.Length] + (index >= Channels.Length ? 23 : 0), cout = Channels[r.Next(Channels.Length)], batches = 1 + r.Next(3);
        var w = new ModelWriter();
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = w.AddActivation(TensorType.Float32, inDims, -1);
        int y = w.AddActivation(TensorType.Float32, [batches, cout], -1);
        int f = Filter(r, w, [cout, cin], cout, 0);
        int b = w.AddConstant<float>(TensorType.Float32, [cout], Floats(r, cout, 1.0), -1);
        var (min, max) = FloatRange(r);
        w.AddOp(OpType.DynamicFullyConnected, [x, f, b], [y], new FloatClampParams { Min = min, Max = max }, batches * cin);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter MaxPool(Random r)
    {
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(9), wd = 1 + r.Next(9), c = Channels[r.Next(Channels.Length)];
            if (c >= 20) { h = 1 + r.Next(4); wd = 1 + r.Next(4); }
            int fh = 1 + r.Next(4), fw = 1 + r.Next(4), sh = 1 + r.Next(3), sw = 1 + r.Next(3);
            int pt = r.Next(fh), pb = r.Next(fh), pl = r.Next(fw), pr = r.Next(fw);
            int oh = Cases.OutSize(h, fh, sh, 1, pt, pb), ow = Cases.OutSize(wd, fw, sw, 1, pl, pr);
            if (oh < 1 || ow < 1 || !Fits(n * h * wd * c, n * oh * ow * c)) continue;
            var w = new ModelWriter();
            int x = w.AddActivation(TensorType.Float32, [n, h, wd, c], -1);
            int y = w.AddActivation(TensorType.Float32, [n, oh, ow, c], -1);
            w.AddOp(OpType.MaxPool2DF32, [x], [y], new PoolParams
            {
                StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter Mean(Random r, int index)
    {
        int c = Channels[index % Channels.Length], span = c >= 20 ? 4 : 10, n = 1 + r.Next(2), h = 1 + r.Next(span), wd = 1 + r.Next(span);
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, [n, h, wd, c], -1);
        int y = w.AddActivation(TensorType.Float32, [n, 1, 1, c], -1);
        w.AddOp(OpType.MeanF32, [x], [y]);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter Add(Random r)
    {
        int rank = 1 + r.Next(4);
        var od = new int[rank];
        for (int d = 0; d < rank; d++) od[d] = d == rank - 1 ? Channels[r.Next(Channels.Length)] : 1 + r.Next(4);
        int[] Bcast()
        {
            var s = (int[])od.Clone();
            for (int d = 0; d < rank; d++) if (r.Next(3) == 0) s[d] = 1;
            return s;
        }
        int[] ad = r.Next(3) == 0 ? Bcast() : (int[])od.Clone(), bd = Bcast();
        var w = new ModelWriter();
        int a = w.AddActivation(TensorType.Float32, ad, -1);
        bool constantB = r.Next(4) == 0;
        int b = constantB ? w.AddConstant<float>(TensorType.Float32, bd, Floats(r, bd.Aggregate(1, (x, v) => x * v), 10.0), -1)
            : w.AddActivation(TensorType.Float32, bd, -1);
        int y = w.AddActivation(TensorType.Float32, od, -1);
        var (min, max) = FloatRange(r);
        w.AddOp(OpType.AddF32, [a, b], [y], new FloatClampParams { Min = min, Max = max });
        w.AddInput("a", a);
        if (!constantB) w.AddInput("b", b);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter Transpose(Random r)
    {
        var id = new int[4];
        for (int d = 0; d < 4; d++) id[d] = 1 + r.Next(5);
        int[] perm = [0, 1, 2, 3];
        for (int k = 3; k > 0; k--) { int j = r.Next(k + 1); (perm[k], perm[j]) = (perm[j], perm[k]); }
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Float32, id, -1);
        int y = w.AddActivation(TensorType.Float32, [id[perm[0]], id[perm[1]], id[perm[2]], id[perm[3]]], -1);
        w.AddOp(OpType.TransposeF32, [x], [y], new TransposeParams { Perm0 = perm[0], Perm1 = perm[1], Perm2 = perm[2], Perm3 = perm[3] });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }
}
