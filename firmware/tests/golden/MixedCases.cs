using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// One-op cases of the mixed-precision ops 60-72 (docs/format.md 6.4): random shapes with channel counts
/// that include 20 and 40, padding, strides and dilations; converter-style 16x8 requantization mostly and
/// extreme multipliers/shifts (0, 2^30, 2^31-1, shifts -31 and 14) sometimes; int64 biases up to the
/// reader's 2^40 bound. Float-layer inputs and weights are finite: x86 and Arm make different bits for a
/// NaN an operation creates (default NaN), so NaN outputs are not pinned; QuantizeS16 inputs include NaN,
/// the infinities, halves and huge values (its int16 outputs are defined for them).
/// </summary>
internal static class MixedCases
{
    private static readonly int[] Channels = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 20, 40];

    private static (int Min, int Max) ActRange16(Random r)
    {
        if (r.Next(3) != 0) return (short.MinValue, short.MaxValue);
        int a = r.Next(short.MinValue, short.MaxValue + 1), b = r.Next(short.MinValue, short.MaxValue + 1);
        return (Math.Min(a, b), Math.Max(a, b));
    }

    private static long[] Bias64(Random r, int cout)
    {
        var b = new long[cout];
        bool extreme = r.Next(6) == 0;
        for (int c = 0; c < cout; c++)
            b[c] = extreme ? (r.Next(2) == 0 ? (1L << 40) - r.Next(1000) : -(1L << 40) + r.Next(1000)) : r.Next(-3_000_000, 3_000_001);
        return b;
    }

    private static float[] Floats(Random r, int n, double magnitude)
    {
        var f = new float[n];
        for (int i = 0; i < n; i++) f[i] = (float)((r.NextDouble() * 2 - 1) * magnitude);
        return f;
    }

    private static int FloatInput(ModelWriter w, int[] dims) => w.AddActivation(TensorType.Float32, dims, -1);

    /// <summary>Ops 66-68: their sample inputs are <see cref="FiniteFloatBytes"/>, not the generic special values.</summary>
    public static bool IsFloatLayer(OpType type) => type is OpType.Conv2DF32 or OpType.DepthwiseConv2DF32 or OpType.FullyConnectedF32;

    /// <summary>Finite float inputs of magnitudes 0.01 to 100, some exact zeros and halves.</summary>
    public static byte[] FiniteFloatBytes(Random r, int n)
    {
        var f = new float[n];
        for (int i = 0; i < n; i++)
            f[i] = r.Next(8) == 0 ? new[] { 0f, -0f, 0.5f, -2.5f }[r.Next(4)] : (float)((r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-2, 3)));
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
    }

    public static ModelWriter ConvS16(Random r, int index, bool depthwise)
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
            var w = new ModelWriter();
            float si = Cases.Scale(r, 1e-4, 1e-2), so = Cases.Scale(r, 1e-4, 1e-2);
            int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
            var filter = new sbyte[fdims[0] * fdims[1] * fdims[2] * fdims[3]];
            for (int i = 0; i < filter.Length; i++) filter[i] = (sbyte)r.Next(-127, 128);
            var fscales = new float[cout];
            for (int c = 0; c < cout; c++) fscales[c] = Cases.Scale(r, 0.001, 0.05);
            var mult = new int[cout];
            var shifts = new int[cout];
            for (int c = 0; c < cout; c++) (mult[c], shifts[c]) = Cases.Requant(r, (double)si * fscales[c] / so, maxShift: 14);
            var (amin, amax) = ActRange16(r);
            int x = w.AddActivation(TensorType.Int16, [n, h, wd, cin], w.AddQuantization([si], 0));
            int y = w.AddActivation(TensorType.Int16, [n, oh, ow, cout], w.AddQuantization([so], 0));
            int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, filter, w.AddQuantization(fscales, 0, depthwise ? 3 : 0));
            int b = w.AddConstant<long>(TensorType.Int64, [cout], Bias64(r, cout), -1);
            w.AddOp(depthwise ? OpType.DepthwiseConv2DS16 : OpType.Conv2DS16, [x, f, b], [y], new Conv2DParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                ActivationMin = amin, ActivationMax = amax,
                MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts),
                DepthMultiplier = dm, FoldedBiasOffset = -1,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter FullyConnectedS16(Random r, int index)
    {
        int cin = Channels[index % Channels.Length] + (index >= Channels.Length ? 17 : 0), cout = Channels[r.Next(Channels.Length)], batches = 1 + r.Next(3);
        var w = new ModelWriter();
        float si = Cases.Scale(r, 1e-4, 1e-2), so = Cases.Scale(r, 1e-4, 1e-2);
        var filter = new sbyte[cout * cin];
        for (int i = 0; i < filter.Length; i++) filter[i] = (sbyte)r.Next(-127, 128);
        var mult = new int[cout];
        var shifts = new int[cout];
        for (int c = 0; c < cout; c++) (mult[c], shifts[c]) = Cases.Requant(r, (double)si * Cases.Scale(r, 0.001, 0.05) / so, maxShift: 14);
        var (amin, amax) = ActRange16(r);
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = w.AddActivation(TensorType.Int16, inDims, w.AddQuantization([si], 0));
        int y = w.AddActivation(TensorType.Int16, [batches, cout], w.AddQuantization([so], 0));
        int f = w.AddConstant<sbyte>(TensorType.Int8, [cout, cin], filter, w.AddQuantization([0.01f], 0));
        int b = w.AddConstant<long>(TensorType.Int64, [cout], Bias64(r, cout), -1);
        w.AddOp(OpType.FullyConnectedS16, [x, f, b], [y], new FullyConnectedParams
        {
            ActivationMin = amin, ActivationMax = amax,
            MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts), FoldedBiasOffset = -1,
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter AddS16(Random r)
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
        float s1 = Cases.Scale(r, 1e-4, 1e-2), s2 = Cases.Scale(r, 1e-4, 1e-2), so = Cases.Scale(r, 1e-4, 1e-2);
        double twiceMax = 2.0 * Math.Max(s1, s2);
        var (m1, sh1) = Cases.Requant(r, s1 / twiceMax, maxShift: 0);
        var (m2, sh2) = Cases.Requant(r, s2 / twiceMax, maxShift: 0);
        var (mo, sho) = Cases.Requant(r, twiceMax / ((1 << 15) * (double)so));
        var (amin, amax) = ActRange16(r);
        int a = w.AddActivation(TensorType.Int16, ad, w.AddQuantization([s1], 0));
        int qb = w.AddQuantization([s2], 0);
        bool constantB = r.Next(4) == 0;
        int bCount = bd.Aggregate(1, (x, v) => x * v);
        int b = constantB ? w.AddConstant<short>(TensorType.Int16, bd, Cases.RandomBytes(r, 2 * bCount).Chunk(2).Select(v => BitConverter.ToInt16(v)).ToArray(), qb)
            : w.AddActivation(TensorType.Int16, bd, qb);
        int y = w.AddActivation(TensorType.Int16, od, w.AddQuantization([so], 0));
        w.AddOp(OpType.AddS16, [a, b], [y], new ElementwiseParams
        {
            LeftShift = 15, Input1Multiplier = m1, Input1Shift = sh1, Input2Multiplier = m2, Input2Shift = sh2,
            OutputMultiplier = mo, OutputShift = sho, ActivationMin = amin, ActivationMax = amax,
        });
        w.AddInput("a", a);
        if (!constantB) w.AddInput("b", b);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter MaxPoolS16(Random r)
    {
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(10), wd = 1 + r.Next(10), c = Channels[r.Next(Channels.Length)];
            int fh = 1 + r.Next(4), fw = 1 + r.Next(4), sh = 1 + r.Next(3), sw = 1 + r.Next(3);
            int pt = r.Next(fh), pb = r.Next(fh), pl = r.Next(fw), pr = r.Next(fw);
            int oh = Cases.OutSize(h, fh, sh, 1, pt, pb), ow = Cases.OutSize(wd, fw, sw, 1, pl, pr);
            if (oh < 1 || ow < 1) continue;
            var w = new ModelWriter();
            int q = w.AddQuantization([Cases.Scale(r, 1e-4, 1e-2)], 0);
            int x = w.AddActivation(TensorType.Int16, [n, h, wd, c], q);
            int y = w.AddActivation(TensorType.Int16, [n, oh, ow, c], q);
            var (amin, amax) = ActRange16(r);
            w.AddOp(OpType.MaxPool2DS16, [x], [y], new PoolParams
            {
                StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                ActivationMin = amin, ActivationMax = amax,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter MeanS16(Random r, int index)
    {
        int c = Channels[index % Channels.Length], span = c >= 20 ? 6 : 12, n = 1 + r.Next(2), h = 1 + r.Next(span), wd = 1 + r.Next(span);
        var w = new ModelWriter();
        float si = Cases.Scale(r, 1e-4, 1e-2), so = Cases.Scale(r, 1e-4, 1e-2);
        var (m, s) = Cases.Requant(r, (double)si / ((double)so * h * wd), maxShift: 14);
        int x = w.AddActivation(TensorType.Int16, [n, h, wd, c], w.AddQuantization([si], 0));
        int y = w.AddActivation(TensorType.Int16, [n, 1, 1, c], w.AddQuantization([so], 0));
        w.AddOp(OpType.MeanS16, [x], [y], new MeanParams { Multiplier = m, Shift = s });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>Clamp: none (±infinity), ReLU or ReLU6, or a random ordered pair.</summary>
    private static (float Min, float Max) FloatRange(Random r) => r.Next(4) switch
    {
        0 => (float.NegativeInfinity, float.PositiveInfinity),
        1 => (0f, float.PositiveInfinity),
        2 => (0f, 6f),
        _ => ((float)(-r.NextDouble()), (float)r.NextDouble()),
    };

    public static ModelWriter ConvF32(Random r, int index, bool depthwise)
    {
        while (true)
        {
            int cin = depthwise ? Channels[index % Channels.Length] : Channels[(index * 7) % Channels.Length];
            int span = cin >= 20 ? 5 : 8, n = 1 + r.Next(2), h = 1 + r.Next(span), wd = 1 + r.Next(span);
            int kh = new[] { 1, 1, 2, 3, 3, 5 }[r.Next(6)], kw = r.Next(3) == 0 ? 1 + r.Next(4) : kh;
            int sh = 1 + r.Next(3), sw = 1 + r.Next(3), dh = 1 + r.Next(2), dw = 1 + r.Next(2);
            int pt = r.Next(3), pl = r.Next(3), pb = r.Next(3), pr = r.Next(3);
            int oh = Cases.OutSize(h, kh, sh, dh, pt, pb), ow = Cases.OutSize(wd, kw, sw, dw, pl, pr);
            if (oh < 1 || ow < 1) continue;
            int dm = depthwise ? 1 + r.Next(3) : 1;
            int cout = depthwise ? cin * dm : Channels[r.Next(Channels.Length)];
            int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
            var w = new ModelWriter();
            int x = FloatInput(w, [n, h, wd, cin]);
            int y = w.AddActivation(TensorType.Float32, [n, oh, ow, cout], -1);
            int f = w.AddConstant<float>(TensorType.Float32, fdims, Floats(r, fdims[0] * fdims[1] * fdims[2] * fdims[3], 0.5), -1);
            int b = w.AddConstant<float>(TensorType.Float32, [cout], Floats(r, cout, 1.0), -1);
            var (min, max) = FloatRange(r);
            w.AddOp(depthwise ? OpType.DepthwiseConv2DF32 : OpType.Conv2DF32, [x, f, b], [y], new DynamicConvParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                DepthMultiplier = dm, ActivationMin = min, ActivationMax = max,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    public static ModelWriter FullyConnectedF32(Random r, int index)
    {
        int cin = Channels[index % Channels.Length] + (index >= Channels.Length ? 29 : 0), cout = Channels[r.Next(Channels.Length)], batches = 1 + r.Next(3);
        var w = new ModelWriter();
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = FloatInput(w, inDims);
        int y = w.AddActivation(TensorType.Float32, [batches, cout], -1);
        int f = w.AddConstant<float>(TensorType.Float32, [cout, cin], Floats(r, cout * cin, 0.5), -1);
        int b = w.AddConstant<float>(TensorType.Float32, [cout], Floats(r, cout, 1.0), -1);
        var (min, max) = FloatRange(r);
        w.AddOp(OpType.FullyConnectedF32, [x, f, b], [y], new FloatClampParams { Min = min, Max = max });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter QuantizeS16(Random r)
    {
        int n = 1 + r.Next(3), c = 1 + r.Next(40);
        var w = new ModelWriter();
        float s = Cases.Scale(r, 1e-5, 0.1);
        int x = w.AddActivation(TensorType.Float32, [n, c], -1);
        int y = w.AddActivation(TensorType.Int16, [n, c], w.AddQuantization([s], 0));
        w.AddOp(OpType.QuantizeS16, [x], [y], new QuantizeParams { Scale = s, ZeroPoint = 0 });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    public static ModelWriter DequantizeS16(Random r)
    {
        int n = 1 + r.Next(3), c = 1 + r.Next(40);
        var w = new ModelWriter();
        float s = Cases.Scale(r, 1e-5, 0.1);
        int x = w.AddActivation(TensorType.Int16, [n, c], w.AddQuantization([s], 0));
        int y = w.AddActivation(TensorType.Float32, [n, c], -1);
        w.AddOp(OpType.DequantizeS16, [x], [y], new QuantizeParams { Scale = s, ZeroPoint = 0 });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>
    /// A FullyConnectedS16 model with int16 input and output, 20 float samples (the generic special values:
    /// NaN, infinities, halves, huge) and what the C# Interpreter's SetInput / Invoke / GetOutput give:
    /// the float boundary of an int16 model (QuantizeS16 / DequantizeS16 arithmetic).
    /// </summary>
    public static (byte[] Blob, byte[] Inputs, byte[] Outputs) Int16FloatIo(int seed)
    {
        var r = new Random(seed);
        byte[] blob = FullyConnectedS16(r, 10).Build();
        var model = Model.Load(blob);
        var it = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        var x = model.Tensors[model.Inputs[0].TensorIndex];
        var y = new float[model.Tensors[model.Outputs[0].TensorIndex].ElementCount];
        var inputs = new MemoryStream();
        var outputs = new MemoryStream();
        for (int s = 0; s < 20; s++)
        {
            byte[] bytes = Cases.FloatBytes(r, x.ElementCount);
            for (int i = 0; i < bytes.Length; i += 4)
                if (r.Next(2) == 0) BitConverter.TryWriteBytes(bytes.AsSpan(i), BitConverter.ToSingle(bytes, i) * 1000f); // reach the int16 range
            it.SetInput(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray());
            it.Invoke();
            it.GetOutput(y);
            inputs.Write(bytes);
            outputs.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(y.AsSpan()));
        }
        return (blob, inputs.ToArray(), outputs.ToArray());
    }

    /// <summary>Requantize in the four type pairs (index % 4: s8->s16, s16->s8, s16->s16, s8->s8), shifts up to 15.</summary>
    public static ModelWriter Requantize(Random r, int index)
    {
        bool in16 = index % 4 is 1 or 2, out16 = index % 4 is 0 or 2;
        int n = 1 + r.Next(3), c = Channels[r.Next(Channels.Length)];
        var w = new ModelWriter();
        float si = in16 ? Cases.Scale(r, 1e-4, 1e-2) : Cases.Scale(r), so = out16 ? Cases.Scale(r, 1e-4, 1e-2) : Cases.Scale(r);
        int zi = in16 ? 0 : Cases.Zp(r), zo = out16 ? 0 : Cases.Zp(r);
        var (m, s) = Cases.Requant(r, (double)si / so, maxShift: 15);
        int x = w.AddActivation(in16 ? TensorType.Int16 : TensorType.Int8, [n, c], w.AddQuantization([si], zi));
        int y = w.AddActivation(out16 ? TensorType.Int16 : TensorType.Int8, [n, c], w.AddQuantization([so], zo));
        w.AddOp(OpType.Requantize, [x], [y], new RequantizeParams { InputOffset = -zi, OutputOffset = zo, Multiplier = m, Shift = s });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }
}
