using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Firmware.Golden;

/// <summary>A one-op model, its sample inputs (every model input's bytes per sample) and the C# reference outputs.</summary>
internal sealed record GoldenCase(string Name, byte[] Blob, int Samples, byte[] Inputs, byte[] Outputs);

/// <summary>
/// Random one-op models covering every runtime op: random shapes (every channel tail length for
/// the weighted ops), broadcasts, per-tensor and per-channel weights, converter-style and extreme
/// multipliers and shifts, and the float boundary's special values. Expected outputs come from
/// the C# Interpreter with ReferenceKernelsOnly.
/// </summary>
internal static class Cases
{
    public static List<GoldenCase> All(int seed)
    {
        var r = new Random(seed);
        var list = new List<GoldenCase>();
        void Add(string op, int n, Func<Random, int, ModelWriter> build)
        {
            for (int i = 0; i < n; i++)
                list.Add(Run($"{op}_{i:D3}", build(r, i), r));
        }
        Add("conv2d", 48, (r, i) => Conv(r, i, depthwise: false));
        Add("depthwise_conv2d", 40, (r, i) => Conv(r, i, depthwise: true));
        Add("fully_connected", 72, FullyConnected);
        Add("add", 24, (r, i) => Elementwise(r, OpType.Add));
        Add("sub", 20, (r, i) => Elementwise(r, OpType.Sub));
        Add("mul", 24, (r, i) => Elementwise(r, OpType.Mul));
        Add("max_pool2d", 16, (r, i) => Pool(r, OpType.MaxPool2D));
        Add("average_pool2d", 16, (r, i) => Pool(r, OpType.AveragePool2D));
        Add("mean", 16, (r, i) => Mean(r));
        Add("concatenation", 16, (r, i) => Concat(r));
        Add("pad", 10, (r, i) => Pad(r));
        Add("transpose", 10, (r, i) => Transpose(r));
        Add("reshape", 6, (r, i) => Reshape(r, i));
        Add("softmax", 14, (r, i) => Softmax(r, i));
        Add("logistic", 5, (r, i) => Lookup(r, OpType.Logistic));
        Add("tanh", 5, (r, i) => Lookup(r, OpType.Tanh));
        Add("lookup", 6, (r, i) => Lookup(r, OpType.Lookup));
        Add("quantize", 10, (r, i) => Quantize(r));
        Add("dequantize", 8, (r, i) => Dequantize(r));
        Add("index_select", 16, (r, i) => IndexSelect(r));
        Add("batch_matmul", 24, (r, i) => BatchMatMul(r, i));
        Add("argmax", 16, (r, i) => ArgMax(r));
        // Ops 55-57 (compressed filters, packed per-channel records): int4, index4 and index8 in turn,
        // int16 and int32 packed biases in turn, one to Cout codebook groups.
        Add("conv2d_compressed", 24, (r, i) => CompressedConv(r, i, depthwise: false));
        Add("depthwise_conv2d_compressed", 18, (r, i) => CompressedConv(r, i, depthwise: true));
        Add("fully_connected_compressed", 18, CompressedFullyConnected);
        // Mixed precision, ops 60-72 (MixedCases.cs): 16x8, float fallback layers, precision boundaries.
        Add("conv2d_s16", 24, (r, i) => MixedCases.ConvS16(r, i, depthwise: false));
        Add("depthwise_conv2d_s16", 16, (r, i) => MixedCases.ConvS16(r, i, depthwise: true));
        Add("fully_connected_s16", 16, MixedCases.FullyConnectedS16);
        Add("add_s16", 14, (r, i) => MixedCases.AddS16(r));
        Add("max_pool2d_s16", 10, (r, i) => MixedCases.MaxPoolS16(r));
        Add("mean_s16", 10, (r, i) => MixedCases.MeanS16(r, i));
        Add("conv2d_f32", 16, (r, i) => MixedCases.ConvF32(r, i, depthwise: false));
        Add("depthwise_conv2d_f32", 12, (r, i) => MixedCases.ConvF32(r, i, depthwise: true));
        Add("fully_connected_f32", 12, MixedCases.FullyConnectedF32);
        Add("quantize_s16", 8, (r, i) => MixedCases.QuantizeS16(r));
        Add("dequantize_s16", 6, (r, i) => MixedCases.DequantizeS16(r));
        Add("requantize", 16, MixedCases.Requantize);
        // Dynamic quantization, ops 40-46 (DynamicCases.cs).
        Add("dynamic_conv2d", 16, (r, i) => DynamicCases.Conv(r, i, depthwise: false));
        Add("dynamic_depthwise_conv2d", 12, (r, i) => DynamicCases.Conv(r, i, depthwise: true));
        Add("dynamic_fully_connected", 16, DynamicCases.FullyConnected);
        Add("max_pool2d_f32", 8, (r, i) => DynamicCases.MaxPool(r));
        Add("mean_f32", 8, (r, i) => DynamicCases.Mean(r, i));
        Add("add_f32", 10, (r, i) => DynamicCases.Add(r));
        Add("transpose_f32", 6, (r, i) => DynamicCases.Transpose(r));
        // Recurrent ops 23-26 (RecurrentCases.cs): hidden sizes 1-40, every direction, both GRU reset forms, int8 and int4.
        Add("lstm", 20, (r, i) => RecurrentCases.Recurrent(r, i, lstm: true, packed: false));
        Add("gru", 20, (r, i) => RecurrentCases.Recurrent(r, i, lstm: false, packed: false));
        Add("lstm_packed", 16, (r, i) => RecurrentCases.Recurrent(r, i, lstm: true, packed: true));
        Add("gru_packed", 16, (r, i) => RecurrentCases.Recurrent(r, i, lstm: false, packed: true));
        // Ops 50-54 (UnpackedCases.cs): compressed filters with the int32 arrays of the int8 ops, and sparse rows.
        Add("conv2d_unpacked_compressed", 18, (r, i) => UnpackedCases.Conv(r, i, OpType.Conv2DCompressed));
        Add("depthwise_conv2d_unpacked_compressed", 12, (r, i) => UnpackedCases.Conv(r, i, OpType.DepthwiseConv2DCompressed));
        Add("fully_connected_unpacked_compressed", 12, (r, i) => UnpackedCases.FullyConnected(r, i, OpType.FullyConnectedCompressed));
        Add("conv2d_sparse", 16, (r, i) => UnpackedCases.Conv(r, i, OpType.Conv2DSparse));
        Add("fully_connected_sparse", 16, (r, i) => UnpackedCases.FullyConnected(r, i, OpType.FullyConnectedSparse));
        return list;
    }

    /// <summary>A chain of about <paramref name="ops"/> ops (Lookup, Add with a tensor from a few steps back, aliasing Reshapes), for timing the reader.</summary>
    public static byte[] Big(int ops)
    {
        var r = new Random(5);
        var w = new ModelWriter();
        int q = w.AddQuantization([0.1f], 0);
        var table = RandomBytes(r, 256);
        int tableOffset = w.AddConstantData(table);
        var p = ConverterMathAdd();
        int x = w.AddActivation(TensorType.Int8, [1, 8, 8, 16], q);
        w.AddInput("x", x);
        var recent = new List<int> { x };
        int cur = x;
        for (int i = 0; i < ops; i++)
        {
            int y;
            if (i % 7 == 6)
            {
                y = w.AddActivation(TensorType.Int8, [1, 64, 16], q);
                w.AddOp(OpType.Reshape, [cur], [y]);
                int z = w.AddActivation(TensorType.Int8, [1, 8, 8, 16], q);
                w.AddOp(OpType.Reshape, [y], [z]);
                y = z;
            }
            else if (i % 3 == 2)
            {
                y = w.AddActivation(TensorType.Int8, [1, 8, 8, 16], q);
                w.AddOp(OpType.Add, [cur, recent[Math.Max(0, recent.Count - 4)]], [y], p);
            }
            else
            {
                y = w.AddActivation(TensorType.Int8, [1, 8, 8, 16], q);
                w.AddOp(OpType.Lookup, [cur], [y], new LookupParams { TableOffset = tableOffset });
            }
            recent.Add(y);
            cur = y;
        }
        w.AddOutput("y", cur);
        return w.Build();
    }

    private static ElementwiseParams ConverterMathAdd()
    {
        var (m, s) = QuantMath.QuantizeMultiplier(0.5);
        var (mo, so) = QuantMath.QuantizeMultiplier(2.0 / (1 << 20));
        return new ElementwiseParams { LeftShift = 20, Input1Multiplier = m, Input1Shift = s, Input2Multiplier = m, Input2Shift = s, OutputMultiplier = mo, OutputShift = so, ActivationMin = -128, ActivationMax = 127 };
    }

    /// <summary>A small model with metadata: "labels" (three names), and "key" twice (the last record wins).</summary>
    public static byte[] WithMetadata()
    {
        var w = new ModelWriter();
        int q = w.AddQuantization([0.5f], 3);
        int x = w.AddActivation(TensorType.Int8, [1, 2, 2, 3], q);
        int y = w.AddActivation(TensorType.Int8, [4, 3], q);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("image", x, SourceLayout.Nchw);
        w.AddOutput("logits", y);
        w.SetMetadata("labels", "cat\ndog\nbird");
        w.SetMetadata("key", "first");
        w.SetMetadata("key", "second");
        w.SetMetadata("empty", "");
        return w.Build();
    }

    /// <summary>Builds the blob, runs 1-3 random samples through the reference kernels.</summary>
    /// <summary>
    /// A whole converted model as a case: its first <paramref name="samples"/> committed zoo input samples
    /// (raw input bytes, back to back) and the outputs of the C# reference kernels.
    /// </summary>
    public static GoldenCase FromBlob(string name, byte[] blob, byte[] zooInputs, int samples)
    {
        var model = Model.Load(blob);
        var it = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        var t = model.Tensors[model.Inputs[0].TensorIndex];
        if (model.Inputs.Count != 1 || zooInputs.Length < samples * t.ByteLength) throw new ArgumentException($"{name}: expected one input and {samples} samples of {t.ByteLength} bytes");
        var inputs = new MemoryStream();
        var outputs = new MemoryStream();
        for (int s = 0; s < samples; s++)
        {
            var bytes = zooInputs.AsSpan(s * t.ByteLength, t.ByteLength);
            MemoryMarshal.Cast<byte, sbyte>(bytes).CopyTo(it.GetInput(0));
            inputs.Write(bytes);
            it.Invoke();
            for (int k = 0; k < model.Outputs.Count; k++)
                outputs.Write(MemoryMarshal.Cast<sbyte, byte>(it.GetOutput(k)));
        }
        return new GoldenCase(name, blob, samples, inputs.ToArray(), outputs.ToArray());
    }

    /// <summary>
    /// A whole converted model with an int8 input as a case, on the first <paramref name="samples"/> float samples of
    /// <paramref name="floats"/> (float32 bytes): quantized by the C# Interpreter.SetInput, the case stores those bytes.
    /// </summary>
    public static GoldenCase FromFloatSamples(string name, byte[] blob, byte[] floats, int samples)
    {
        var model = Model.Load(blob);
        var it = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        var t = model.Tensors[model.Inputs[0].TensorIndex];
        int n = t.ElementCount;
        if (model.Inputs.Count != 1 || t.Type != TensorType.Int8 || floats.Length < samples * n * 4) throw new ArgumentException($"{name}: expected one int8 input and {samples} float samples of {n} values");
        var inputs = new MemoryStream();
        var outputs = new MemoryStream();
        for (int s = 0; s < samples; s++)
        {
            it.SetInput(MemoryMarshal.Cast<byte, float>(floats.AsSpan(s * n * 4, n * 4)));
            inputs.Write(MemoryMarshal.Cast<sbyte, byte>(it.GetInput(0)));
            it.Invoke();
            for (int k = 0; k < model.Outputs.Count; k++)
                outputs.Write(MemoryMarshal.Cast<sbyte, byte>(it.GetOutput(k)));
        }
        return new GoldenCase(name, blob, samples, inputs.ToArray(), outputs.ToArray());
    }

    /// <summary>The data bytes of a little-endian float32 .npy file (format 1.0 or 2.0).</summary>
    public static byte[] NpyData(string path)
    {
        byte[] b = File.ReadAllBytes(path);
        int headerEnd = b[6] == 1 ? 10 + BitConverter.ToUInt16(b, 8) : 12 + (int)BitConverter.ToUInt32(b, 8);
        string header = System.Text.Encoding.ASCII.GetString(b, 0, headerEnd);
        if (!header.Contains("'<f4'", StringComparison.Ordinal)) throw new InvalidDataException($"{path}: expected float32 data");
        return b.AsSpan(headerEnd).ToArray();
    }

    private static GoldenCase Run(string name, ModelWriter w, Random r)
    {
        byte[] blob = w.Build();
        var model = Model.Load(blob);
        var it = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        int samples = 1 + r.Next(3);
        var inputs = new MemoryStream();
        var outputs = new MemoryStream();
        for (int s = 0; s < samples; s++)
        {
            for (int k = 0; k < model.Inputs.Count; k++)
            {
                var t = model.Tensors[model.Inputs[k].TensorIndex];
                var bytes = t.Type != TensorType.Float32 ? RandomBytes(r, t.ByteLength)
                    : MixedCases.IsFloatLayer(model.Ops[0].Type) || DynamicCases.NeedsFiniteInputs(model.Ops[0].Type) ? MixedCases.FiniteFloatBytes(r, t.ElementCount)
                    : FloatBytes(r, t.ElementCount);
                MemoryMarshal.Cast<byte, sbyte>(bytes).CopyTo(it.GetInput(k));
                inputs.Write(bytes);
            }
            it.Invoke();
            for (int k = 0; k < model.Outputs.Count; k++)
                outputs.Write(MemoryMarshal.Cast<sbyte, byte>(it.GetOutput(k)));
        }
        return new GoldenCase(name, blob, samples, inputs.ToArray(), outputs.ToArray());
    }

    internal static byte[] RandomBytes(Random r, int n)
    {
        var b = new byte[n];
        r.NextBytes(b);
        return b;
    }

    /// <summary>Floats around the quantization grid plus the special values (halves, NaN, infinities, huge, denormal, -0).</summary>
    internal static byte[] FloatBytes(Random r, int n)
    {
        float[] special = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 1e30f, -1e30f, 1e-40f, -0f, 0f, 0.5f, -0.5f, 1.5f, -2.5f];
        var f = new float[n];
        for (int i = 0; i < n; i++)
            f[i] = r.Next(4) == 0 ? special[r.Next(special.Length)] : (float)((r.NextDouble() - 0.5) * Math.Pow(10, r.Next(-2, 4)));
        return MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
    }

    internal static float Scale(Random r, double lo = 0.003, double hi = 0.5) => (float)Math.Exp(Math.Log(lo) + r.NextDouble() * (Math.Log(hi) - Math.Log(lo)));
    internal static int Zp(Random r) => r.Next(-128, 128);

    /// <summary>Requantization for a real multiplier: converter-style mostly, sometimes extreme (0, 2^30, 2^31-1, shifts -31 and 30).</summary>
    internal static (int M, int S) Requant(Random r, double real, int minShift = -31, int maxShift = 30)
    {
        if (r.Next(5) != 0)
        {
            var (m, s) = QuantMath.QuantizeMultiplier(real);
            if (s >= minShift && s <= maxShift) return (m, s);
        }
        int mult = r.Next(5) switch { 0 => 1 << 30, 1 => int.MaxValue, 2 => 0, _ => (1 << 30) + r.Next(1 << 30) };
        int shift = r.Next(4) switch { 0 => minShift, 1 => maxShift, 2 => r.Next(minShift, maxShift + 1), _ => Math.Clamp(r.Next(-12, 3), minShift, maxShift) };
        return (mult, shift);
    }

    private static (int Min, int Max) ActRange(Random r)
    {
        if (r.Next(3) != 0) return (-128, 127);
        int a = r.Next(-128, 128), b = r.Next(-128, 128);
        return (Math.Min(a, b), Math.Max(a, b));
    }

    internal static int OutSize(int inSize, int k, int stride, int dilation, int a, int b)
    {
        int span = inSize + a + b - ((k - 1) * dilation + 1);
        return span < 0 ? 0 : span / stride + 1;
    }

    private static ModelWriter Conv(Random r, int index, bool depthwise)
    {
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(9), wd = 1 + r.Next(9);
            int cin = depthwise ? 1 + index % 13 : 1 + index % 19;
            int kh = new[] { 1, 1, 2, 3, 3, 5 }[r.Next(6)], kw = r.Next(3) == 0 ? 1 + r.Next(4) : kh;
            int sh = 1 + r.Next(3), sw = 1 + r.Next(3), dh = 1 + r.Next(2), dw = 1 + r.Next(2);
            int pt = r.Next(3), pl = r.Next(3), pb = r.Next(3), pr = r.Next(3);
            int oh = OutSize(h, kh, sh, dh, pt, pb), ow = OutSize(wd, kw, sw, dw, pl, pr);
            if (oh < 1 || ow < 1) continue;
            int dm = depthwise ? 1 + r.Next(3) : 1;
            int cout = depthwise ? cin * dm : 1 + r.Next(17);
            var w = new ModelWriter();
            float si = Scale(r), so = Scale(r, 0.01, 1.0);
            int zi = Zp(r), zo = Zp(r);
            int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
            int fcount = fdims[0] * fdims[1] * fdims[2] * fdims[3];
            var filter = new sbyte[fcount];
            for (int i = 0; i < fcount; i++) filter[i] = (sbyte)r.Next(-127, 128);
            bool perChannel = r.Next(3) != 0;
            var fscales = new float[perChannel ? cout : 1];
            for (int c = 0; c < fscales.Length; c++) fscales[c] = Scale(r, 0.001, 0.05);
            var bias = new int[cout];
            bool extremeBias = r.Next(8) == 0;
            for (int c = 0; c < cout; c++) bias[c] = extremeBias ? (r.Next(2) == 0 ? int.MaxValue - r.Next(1000) : int.MinValue + r.Next(1000)) : r.Next(-20000, 20001);
            var mult = new int[cout];
            var shifts = new int[cout];
            for (int c = 0; c < cout; c++) (mult[c], shifts[c]) = Requant(r, (double)si * fscales[perChannel ? c : 0] / so);
            var (amin, amax) = ActRange(r);
            int x = w.AddActivation(TensorType.Int8, [n, h, wd, cin], w.AddQuantization([si], zi));
            int y = w.AddActivation(TensorType.Int8, [n, oh, ow, cout], w.AddQuantization([so], zo));
            int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, filter, w.AddQuantization(fscales, 0, depthwise ? 3 : 0));
            int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
            var p = new Conv2DParams
            {
                StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
                PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                InputOffset = -zi, OutputOffset = zo, ActivationMin = amin, ActivationMax = amax,
                MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts),
                DepthMultiplier = dm, FoldedBiasOffset = -1,
            };
            int scratch = !depthwise && r.Next(2) == 0 ? EdgeQuant.Runtime.Kernels.KernelScratch.Conv2DBytes(kh, kw, cin, ow) : 0;
            w.AddOp(depthwise ? OpType.DepthwiseConv2D : OpType.Conv2D, [x, f, b], [y], p, scratch);
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    private static ModelWriter FullyConnected(Random r, int index)
    {
        int cin = 1 + index % 72, cout = 1 + r.Next(20), batches = 1 + r.Next(3);
        var w = new ModelWriter();
        float si = Scale(r), so = Scale(r, 0.01, 1.0);
        int zi = Zp(r), zo = Zp(r);
        var filter = new sbyte[cout * cin];
        for (int i = 0; i < filter.Length; i++) filter[i] = (sbyte)r.Next(-127, 128);
        bool perChannel = r.Next(3) != 0;
        var fscales = new float[perChannel ? cout : 1];
        for (int c = 0; c < fscales.Length; c++) fscales[c] = Scale(r, 0.001, 0.05);
        var bias = new int[cout];
        for (int c = 0; c < cout; c++) bias[c] = r.Next(-20000, 20001);
        var mult = new int[cout];
        var shifts = new int[cout];
        for (int c = 0; c < cout; c++) (mult[c], shifts[c]) = Requant(r, (double)si * fscales[perChannel ? c : 0] / so);
        var (amin, amax) = ActRange(r);
        // Input as [batches, cin] or as a rank-4 tensor with the same element count.
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = w.AddActivation(TensorType.Int8, inDims, w.AddQuantization([si], zi));
        int y = w.AddActivation(TensorType.Int8, [batches, cout], w.AddQuantization([so], zo));
        int f = w.AddConstant<sbyte>(TensorType.Int8, [cout, cin], filter, w.AddQuantization(fscales, 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [cout], bias, -1);
        w.AddOp(OpType.FullyConnected, [x, f, b], [y], new FullyConnectedParams
        {
            InputOffset = -zi, OutputOffset = zo, ActivationMin = amin, ActivationMax = amax,
            MultipliersOffset = w.AddConstantData<int>(mult), ShiftsOffset = w.AddConstantData<int>(shifts), FoldedBiasOffset = -1,
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static readonly TensorType[] CompressedTypes = [TensorType.Int4, TensorType.Index4, TensorType.Index8];

    /// <summary>
    /// A random compressed filter of <paramref name="rows"/> rows of <paramref name="rowElements"/> elements
    /// (docs/format.md 5.10), added to <paramref name="w"/>, and its codebook tensor (-1 for int4) with a
    /// random number of groups dividing <paramref name="cout"/>.
    /// </summary>
    private static (int Filter, int Codebook) CompressedFilter(Random r, ModelWriter w, TensorType type, int[] dims, int rows, int rowElements, int cout, int quantizedDimension)
    {
        int rowBytes = type == TensorType.Index8 ? rowElements : CompressedWeights.PackedRowBytes(rowElements);
        var data = new byte[rows * rowBytes];
        for (int row = 0; row < rows; row++)
            for (int c = 0; c < rowElements; c++)
            {
                int v = type switch { TensorType.Int4 => r.Next(-8, 8) & 15, TensorType.Index4 => r.Next(16), _ => r.Next(256) };
                if (type == TensorType.Index8) data[row * rowBytes + c] = (byte)v;
                else data[row * rowBytes + c / 2] |= (byte)(v << (4 * (c & 1)));
            }
        // The converter writes no filter quantization (-1); sometimes give one, as the format allows.
        int q = -1;
        if (r.Next(3) == 0)
        {
            var scales = new float[cout];
            for (int c = 0; c < cout; c++) scales[c] = Scale(r, 0.001, 0.05);
            q = w.AddQuantization(scales, 0, quantizedDimension);
        }
        int f = w.AddConstantEncoded(type, dims, data, q);
        if (type == TensorType.Int4) return (f, -1);
        int size = CompressedWeights.CodebookSize(type);
        var divisors = new List<int>();
        for (int g = 1; g <= cout; g++) if (cout % g == 0) divisors.Add(g);
        int groups = divisors[r.Next(divisors.Count)];
        var book = new sbyte[groups * size];
        for (int k = 0; k < book.Length; k++) book[k] = (sbyte)r.Next(-128, 128);
        return (f, w.AddConstant<sbyte>(TensorType.Int8, [groups, size], book, w.AddQuantization([1f], 0)));
    }

    /// <summary>The packed per-channel record of <paramref name="cout"/> channels: int16 biases on even indices, int32 (some near the limits) on odd.</summary>
    private static (int Offset, int BiasBytes) PackedRecord(Random r, ModelWriter w, int index, int cout, float si, float so)
    {
        var bias = new int[cout];
        var mult = new int[cout];
        var shifts = new int[cout];
        bool wide = index % 2 == 1;
        for (int c = 0; c < cout; c++)
        {
            bias[c] = wide ? (r.Next(4) == 0 ? (r.Next(2) == 0 ? int.MaxValue - r.Next(1000) : int.MinValue + r.Next(1000)) : r.Next(-2000000, 2000001)) : r.Next(-32768, 32768);
            var (m, s) = Requant(r, (double)si * Scale(r, 0.001, 0.05) / so);
            (mult[c], shifts[c]) = PackedRequant.Round16(m, s);
        }
        int biasBytes = wide ? 4 : PackedRequant.BiasBytesFor(bias);
        return (w.AddSmallConstantData(PackedRequant.Encode(bias, mult, shifts, biasBytes)), biasBytes);
    }

    private static ModelWriter CompressedConv(Random r, int index, bool depthwise)
    {
        var type = CompressedTypes[index % 3];
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(9), wd = 1 + r.Next(9);
            int cin = depthwise ? 1 + index % 7 : 1 + index % 13;
            int kh = new[] { 1, 1, 2, 3, 3, 5 }[r.Next(6)], kw = r.Next(3) == 0 ? 1 + r.Next(4) : kh;
            int sh = 1 + r.Next(3), sw = 1 + r.Next(3), dh = 1 + r.Next(2), dw = 1 + r.Next(2);
            int pt = r.Next(3), pl = r.Next(3), pb = r.Next(3), pr = r.Next(3);
            int oh = OutSize(h, kh, sh, dh, pt, pb), ow = OutSize(wd, kw, sw, dw, pl, pr);
            if (oh < 1 || ow < 1) continue;
            int dm = depthwise ? 1 + r.Next(3) : 1;
            int cout = depthwise ? cin * dm : 1 + r.Next(17);
            var w = new ModelWriter { SmallDataAlignment = 4 };
            float si = Scale(r), so = Scale(r, 0.01, 1.0);
            int zi = Zp(r), zo = Zp(r);
            int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
            var (amin, amax) = ActRange(r);
            int x = w.AddActivation(TensorType.Int8, [n, h, wd, cin], w.AddQuantization([si], zi));
            int y = w.AddActivation(TensorType.Int8, [n, oh, ow, cout], w.AddQuantization([so], zo));
            var (f, cb) = CompressedFilter(r, w, type, fdims, fdims[0], fdims[1] * fdims[2] * fdims[3], cout, depthwise ? 3 : 0);
            var (rec, biasBytes) = PackedRecord(r, w, index / 3, cout, si, so);
            var p = new Conv2DPackedParams
            {
                StrideH = (short)sh, StrideW = (short)sw, DilationH = (short)dh, DilationW = (short)dw,
                PadTop = (short)pt, PadLeft = (short)pl, PadBottom = (short)pb, PadRight = (short)pr,
                InputOffset = (short)-zi, OutputOffset = (short)zo, ActivationMin = (sbyte)amin, ActivationMax = (sbyte)amax,
                BiasBytes = (byte)biasBytes, RequantOffset = rec, DepthMultiplier = dm,
            };
            int[] inputs = cb < 0 ? [x, f] : [x, f, cb];
            w.AddOp(depthwise ? OpType.DepthwiseConv2DCompressedPacked : OpType.Conv2DCompressedPacked, inputs, [y], p);
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    private static ModelWriter CompressedFullyConnected(Random r, int index)
    {
        var type = CompressedTypes[index % 3];
        int cin = 1 + (index * 7) % 72, cout = 1 + r.Next(20), batches = 1 + r.Next(3);
        var w = new ModelWriter { SmallDataAlignment = 4 };
        float si = Scale(r), so = Scale(r, 0.01, 1.0);
        int zi = Zp(r), zo = Zp(r);
        var (amin, amax) = ActRange(r);
        int[] inDims = r.Next(2) == 0 ? [batches, cin] : [batches, 1, 1, cin];
        int x = w.AddActivation(TensorType.Int8, inDims, w.AddQuantization([si], zi));
        int y = w.AddActivation(TensorType.Int8, [batches, cout], w.AddQuantization([so], zo));
        var (f, cb) = CompressedFilter(r, w, type, [cout, cin], cout, cin, cout, 0);
        var (rec, biasBytes) = PackedRecord(r, w, index / 3, cout, si, so);
        int[] inputs = cb < 0 ? [x, f] : [x, f, cb];
        w.AddOp(OpType.FullyConnectedCompressedPacked, inputs, [y], new FullyConnectedPackedParams
        {
            InputOffset = (short)-zi, OutputOffset = (short)zo, ActivationMin = (sbyte)amin, ActivationMax = (sbyte)amax,
            BiasBytes = (byte)biasBytes, RequantOffset = rec,
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Elementwise(Random r, OpType op)
    {
        int rank = 1 + r.Next(4);
        var od = new int[rank];
        for (int d = 0; d < rank; d++) od[d] = 1 + r.Next(d == rank - 1 ? 37 : 5);
        int[] Bcast()
        {
            var s = (int[])od.Clone();
            for (int d = 0; d < rank; d++) if (r.Next(3) == 0) s[d] = 1;
            return s;
        }
        int[] ad = r.Next(3) == 0 ? Bcast() : (int[])od.Clone(), bd = Bcast();
        var w = new ModelWriter();
        float s1 = Scale(r), s2 = Scale(r), so = Scale(r, 0.01, 1.0);
        int z1 = Zp(r), z2 = Zp(r), zo = Zp(r);
        var (amin, amax) = ActRange(r);
        ElementwiseParams p;
        if (op == OpType.Mul)
        {
            var (m, s) = Requant(r, (double)s1 * s2 / so);
            p = new ElementwiseParams { Input1Offset = -z1, Input2Offset = -z2, OutputOffset = zo, OutputMultiplier = m, OutputShift = s };
        }
        else
        {
            int left = r.Next(4) == 0 ? r.Next(21) : 20;
            double twiceMax = 2.0 * Math.Max(s1, s2);
            var (m1, sh1) = Requant(r, s1 / twiceMax, maxShift: 0);
            var (m2, sh2) = Requant(r, s2 / twiceMax, maxShift: 0);
            var (mo, sho) = Requant(r, twiceMax / ((1 << left) * (double)so));
            p = new ElementwiseParams
            {
                Input1Offset = -z1, Input2Offset = -z2, OutputOffset = zo, LeftShift = left,
                Input1Multiplier = m1, Input1Shift = sh1, Input2Multiplier = m2, Input2Shift = sh2, OutputMultiplier = mo, OutputShift = sho,
            };
        }
        p.ActivationMin = amin;
        p.ActivationMax = amax;
        int a = w.AddActivation(TensorType.Int8, ad, w.AddQuantization([s1], z1));
        int qb = w.AddQuantization([s2], z2);
        bool constantB = r.Next(4) == 0;
        int bCount = bd.Aggregate(1, (x, v) => x * v);
        int b = constantB ? w.AddConstant<sbyte>(TensorType.Int8, bd, RandomBytes(r, bCount).Select(v => (sbyte)v).ToArray(), qb) : w.AddActivation(TensorType.Int8, bd, qb);
        int y = w.AddActivation(TensorType.Int8, od, w.AddQuantization([so], zo));
        w.AddOp(op, [a, b], [y], p);
        w.AddInput("a", a);
        if (!constantB) w.AddInput("b", b);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Pool(Random r, OpType op)
    {
        while (true)
        {
            int n = 1 + r.Next(2), h = 1 + r.Next(10), wd = 1 + r.Next(10), c = 1 + r.Next(11);
            int fh = 1 + r.Next(4), fw = 1 + r.Next(4), sh = 1 + r.Next(3), sw = 1 + r.Next(3);
            int pt = r.Next(fh), pb = r.Next(fh), pl = r.Next(fw), pr = r.Next(fw);
            int oh = OutSize(h, fh, sh, 1, pt, pb), ow = OutSize(wd, fw, sw, 1, pl, pr);
            if (oh < 1 || ow < 1) continue;
            var w = new ModelWriter();
            int q = w.AddQuantization([Scale(r)], Zp(r));
            int x = w.AddActivation(TensorType.Int8, [n, h, wd, c], q);
            int y = w.AddActivation(TensorType.Int8, [n, oh, ow, c], q);
            var (amin, amax) = ActRange(r);
            w.AddOp(op, [x], [y], new PoolParams
            {
                StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                ActivationMin = amin, ActivationMax = amax,
            });
            w.AddInput("x", x);
            w.AddOutput("y", y);
            return w;
        }
    }

    private static ModelWriter Mean(Random r)
    {
        int n = 1 + r.Next(2), h = 1 + r.Next(12), wd = 1 + r.Next(12), c = 1 + r.Next(10);
        var w = new ModelWriter();
        float si = Scale(r), so = Scale(r);
        int zi = Zp(r), zo = Zp(r);
        var (m, s) = Requant(r, (double)si / ((double)so * h * wd));
        int x = w.AddActivation(TensorType.Int8, [n, h, wd, c], w.AddQuantization([si], zi));
        int y = w.AddActivation(TensorType.Int8, [n, 1, 1, c], w.AddQuantization([so], zo));
        w.AddOp(OpType.Mean, [x], [y], new MeanParams { InputOffset = -zi, OutputOffset = zo, Multiplier = m, Shift = s });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Concat(Random r)
    {
        int k = 1 + r.Next(4), axis = r.Next(4);
        var od = new int[4];
        for (int d = 0; d < 4; d++) od[d] = 1 + r.Next(4);
        var w = new ModelWriter();
        float so = Scale(r);
        int zo = Zp(r);
        int qo = w.AddQuantization([so], zo);
        var inputs = new int[k];
        var trip = new int[12];
        int total = 0;
        var isInput = new bool[k];
        for (int i = 0; i < k; i++)
        {
            var dims = (int[])od.Clone();
            dims[axis] = 1 + r.Next(4);
            total += dims[axis];
            bool copy = r.Next(3) == 0;
            float si = copy ? so : Scale(r);
            int zi = copy ? zo : Zp(r);
            int q = copy ? qo : w.AddQuantization([si], zi);
            if (r.Next(4) == 0)
                inputs[i] = w.AddConstant<sbyte>(TensorType.Int8, dims, RandomBytes(r, dims[0] * dims[1] * dims[2] * dims[3]).Select(v => (sbyte)v).ToArray(), q);
            else
            {
                inputs[i] = w.AddActivation(TensorType.Int8, dims, q);
                isInput[i] = true;
            }
            if (!copy)
            {
                var (m, s) = Requant(r, (double)si / so);
                if (m == 0) m = 1 << 30;
                (trip[3 * i], trip[3 * i + 1], trip[3 * i + 2]) = (-zi, m, s);
            }
        }
        od[axis] = total;
        int y = w.AddActivation(TensorType.Int8, od, qo);
        w.AddOp(OpType.Concatenation, inputs, [y], new ConcatParams
        {
            Axis = axis, InputCount = k, OutputOffset = zo,
            In0Offset = trip[0], In0Multiplier = trip[1], In0Shift = trip[2],
            In1Offset = trip[3], In1Multiplier = trip[4], In1Shift = trip[5],
            In2Offset = trip[6], In2Multiplier = trip[7], In2Shift = trip[8],
            In3Offset = trip[9], In3Multiplier = trip[10], In3Shift = trip[11],
        });
        bool any = false;
        for (int i = 0; i < k; i++) if (isInput[i]) { w.AddInput($"x{i}", inputs[i]); any = true; }
        if (!any)
        {
            // Every input constant: add an unused model input so the model has one.
            int dummy = w.AddActivation(TensorType.Int8, [1, 1, 1, 4], qo);
            w.AddInput("unused", dummy);
        }
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Pad(Random r)
    {
        var id = new int[4];
        var before = new int[4];
        var after = new int[4];
        var od = new int[4];
        for (int d = 0; d < 4; d++)
        {
            id[d] = 1 + r.Next(4);
            before[d] = r.Next(3);
            after[d] = r.Next(3);
            od[d] = id[d] + before[d] + after[d];
        }
        var w = new ModelWriter();
        int zp = Zp(r);
        int q = w.AddQuantization([Scale(r)], zp);
        int x = w.AddActivation(TensorType.Int8, id, q);
        int y = w.AddActivation(TensorType.Int8, od, q);
        w.AddOp(OpType.Pad, [x], [y], new PadParams
        {
            Before0 = before[0], Before1 = before[1], Before2 = before[2], Before3 = before[3],
            After0 = after[0], After1 = after[1], After2 = after[2], After3 = after[3],
            PadValue = r.Next(2) == 0 ? zp : r.Next(-128, 128),
        });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Transpose(Random r)
    {
        var id = new int[4];
        for (int d = 0; d < 4; d++) id[d] = 1 + r.Next(5);
        int[] perm = [0, 1, 2, 3];
        for (int i = 3; i > 0; i--) { int j = r.Next(i + 1); (perm[i], perm[j]) = (perm[j], perm[i]); }
        var w = new ModelWriter();
        int q = w.AddQuantization([Scale(r)], Zp(r));
        int x = w.AddActivation(TensorType.Int8, id, q);
        int y = w.AddActivation(TensorType.Int8, [id[perm[0]], id[perm[1]], id[perm[2]], id[perm[3]]], q);
        w.AddOp(OpType.Transpose, [x], [y], new TransposeParams { Perm0 = perm[0], Perm1 = perm[1], Perm2 = perm[2], Perm3 = perm[3] });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>Reshape: an aliasing one (output shares the input's bytes), or of a constant (a copy out of the blob).</summary>
    private static ModelWriter Reshape(Random r, int index)
    {
        int a = 1 + r.Next(4), b = 1 + r.Next(4), c = 1 + r.Next(4);
        var w = new ModelWriter();
        int q = w.AddQuantization([Scale(r)], Zp(r));
        int y = w.AddActivation(TensorType.Int8, [a * b, c], q);
        if (index % 3 == 2)
        {
            int k = w.AddConstant<sbyte>(TensorType.Int8, [1, a, b, c], RandomBytes(r, a * b * c).Select(v => (sbyte)v).ToArray(), q);
            int unused = w.AddActivation(TensorType.Int8, [1, 4], q);
            w.AddOp(OpType.Reshape, [k], [y]);
            w.AddInput("unused", unused);
            w.AddOutput("y", y);
            return w;
        }
        int x = w.AddActivation(TensorType.Int8, [1, a, b, c], q);
        w.AddOp(OpType.Reshape, [x], [y]);
        w.AddInput("x", x);
        if (index % 3 == 1) w.AddOutput("x_too", x); // a tensor may be an input and an output
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Softmax(Random r, int index)
    {
        int rank = 1 + r.Next(4);
        var dims = new int[rank];
        for (int d = 0; d < rank; d++) dims[d] = 1 + r.Next(d == rank - 1 ? 40 : 3);
        var w = new ModelWriter();
        float si = Scale(r, 0.01, 0.5);
        int x = w.AddActivation(TensorType.Int8, dims, w.AddQuantization([si], Zp(r)));
        int y = w.AddActivation(TensorType.Int8, dims, w.AddQuantization([1f / 256], -128));
        var table = new int[256];
        double beta = 0.2 + r.NextDouble() * 2;
        for (int d = 0; d < 256; d++)
            table[d] = index % 5 == 4
                ? (d == 0 ? 1 + r.Next(1 << 23) : r.Next((1 << 23) + 1))
                : (int)Math.Round((1 << 23) * Math.Exp(-beta * si * d), MidpointRounding.AwayFromZero);
        w.AddOp(OpType.Softmax, [x], [y], new SoftmaxParams { ExpTableOffset = w.AddConstantData<int>(table), OutputOffset = -128 });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Lookup(Random r, OpType op)
    {
        int rank = 1 + r.Next(4);
        var dims = new int[rank];
        for (int d = 0; d < rank; d++) dims[d] = 1 + r.Next(6);
        var w = new ModelWriter();
        var (so, zo) = op switch { OpType.Logistic => (1f / 256, -128), OpType.Tanh => (1f / 128, 0), _ => (Scale(r), Zp(r)) };
        int x = w.AddActivation(TensorType.Int8, dims, w.AddQuantization([Scale(r)], Zp(r)));
        int y = w.AddActivation(TensorType.Int8, dims, w.AddQuantization([so], zo));
        var table = RandomBytes(r, 256);
        w.AddOp(op, [x], [y], new LookupParams { TableOffset = w.AddConstantData(table) });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Quantize(Random r)
    {
        int n = 1 + r.Next(3), c = 1 + r.Next(30);
        var w = new ModelWriter();
        float s = Scale(r, 0.001, 2);
        int zp = Zp(r);
        int x = w.AddActivation(TensorType.Float32, [n, c], -1);
        int y = w.AddActivation(TensorType.Int8, [n, c], w.AddQuantization([s], zp));
        w.AddOp(OpType.Quantize, [x], [y], new QuantizeParams { Scale = s, ZeroPoint = zp });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter Dequantize(Random r)
    {
        int n = 1 + r.Next(3), c = 1 + r.Next(30);
        var w = new ModelWriter();
        float s = Scale(r, 0.001, 2);
        int zp = Zp(r);
        int x = w.AddActivation(TensorType.Int8, [n, c], w.AddQuantization([s], zp));
        int y = w.AddActivation(TensorType.Float32, [n, c], -1);
        w.AddOp(OpType.Dequantize, [x], [y], new QuantizeParams { Scale = s, ZeroPoint = zp });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>IndexSelect: random tables per dimension (-1 fills, repeats, reversals, contiguous runs), a constant input sometimes.</summary>
    /// <summary>ArgMax over a random axis of a rank 1-4 tensor, either tie rule, output offsets from -128 up to the largest that fits.</summary>
    private static ModelWriter ArgMax(Random r)
    {
        int rank = 1 + r.Next(4);
        var dims = new int[rank];
        for (int d = 0; d < rank; d++) dims[d] = 1 + r.Next(d == rank - 1 ? 33 : 3);
        int axis = r.Next(rank);
        var outDims = (int[])dims.Clone();
        outDims[axis] = 1;
        int offset = r.Next(2) == 0 ? -128 : r.Next(-128, 128 - dims[axis] + 1);
        var w = new ModelWriter();
        int x = w.AddActivation(TensorType.Int8, dims, w.AddQuantization([Scale(r)], Zp(r)));
        int y = w.AddActivation(TensorType.Int8, outDims, w.AddQuantization([1f], offset));
        w.AddOp(OpType.ArgMax, [x], [y], new ArgMaxParams { Axis = axis, SelectLastIndex = r.Next(2), OutputOffset = offset });
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w;
    }

    private static ModelWriter IndexSelect(Random r)
    {
        var id = new int[4];
        var od = new int[4];
        for (int d = 0; d < 4; d++) { id[d] = 1 + r.Next(5); od[d] = 1 + r.Next(6); }
        var w = new ModelWriter();
        int q = w.AddQuantization([Scale(r)], Zp(r));
        bool constant = r.Next(4) == 0;
        int x = constant ? w.AddConstant<sbyte>(TensorType.Int8, id, MemoryMarshal.Cast<byte, sbyte>(RandomBytes(r, id[0] * id[1] * id[2] * id[3])).ToArray(), q) : w.AddActivation(TensorType.Int8, id, q);
        int y = w.AddActivation(TensorType.Int8, od, q);
        var offsets = new int[4];
        for (int d = 0; d < 4; d++)
        {
            var t = new int[od[d]];
            int start = r.Next(id[d]);
            bool run = r.Next(2) == 0;
            for (int k = 0; k < t.Length; k++) t[k] = run ? (start + k < id[d] ? start + k : -1) : r.Next(-1, id[d]);
            offsets[d] = w.AddConstantData<int>(t);
        }
        w.AddOp(OpType.IndexSelect, [x], [y], new IndexSelectParams
        {
            Table0Offset = offsets[0], Table1Offset = offsets[1], Table2Offset = offsets[2], Table3Offset = offsets[3], FillValue = r.Next(-128, 128),
        });
        if (!constant) w.AddInput("x", x);
        else
        {
            // A model needs an input: an unused one.
            w.AddInput("unused", w.AddActivation(TensorType.Int8, [1, 4], q));
        }
        w.AddOutput("y", y);
        return w;
    }

    /// <summary>BatchMatMul: K 1-40 (every tail), broadcast batch dimensions, a constant right operand sometimes, extreme requantization and narrowed ranges.</summary>
    private static ModelWriter BatchMatMul(Random r, int index)
    {
        int k = 1 + (index * 7 + r.Next(7)) % 40;
        int m = 1 + r.Next(4), n = 1 + r.Next(5), b0 = 1 + r.Next(2), b1 = 1 + r.Next(3);
        int[] ad = [r.Next(2) == 0 ? 1 : b0, r.Next(2) == 0 ? 1 : b1, m, k];
        int[] bd = [r.Next(2) == 0 ? 1 : b0, r.Next(2) == 0 ? 1 : b1, n, k];
        int[] od = [Math.Max(ad[0], bd[0]), Math.Max(ad[1], bd[1]), m, n];
        var (sa, za, sb, zb, so, zo) = (Scale(r), Zp(r), Scale(r), Zp(r), Scale(r, 0.01, 2), Zp(r));
        var w = new ModelWriter();
        int a = w.AddActivation(TensorType.Int8, ad, w.AddQuantization([sa], za));
        bool constant = r.Next(3) == 0;
        int qb = w.AddQuantization([sb], zb);
        int b = constant ? w.AddConstant<sbyte>(TensorType.Int8, bd, MemoryMarshal.Cast<byte, sbyte>(RandomBytes(r, bd[0] * bd[1] * n * k)).ToArray(), qb) : w.AddActivation(TensorType.Int8, bd, qb);
        int y = w.AddActivation(TensorType.Int8, od, w.AddQuantization([so], zo));
        var (mult, shift) = Requant(r, (double)sa * sb / so);
        var (lo, hi) = ActRange(r);
        w.AddOp(OpType.BatchMatMul, [a, b], [y], new BatchMatMulParams
        {
            Input1Offset = -za, Input2Offset = -zb, OutputOffset = zo, OutputMultiplier = mult, OutputShift = shift, ActivationMin = lo, ActivationMax = hi,
        });
        w.AddInput("a", a);
        if (!constant) w.AddInput("b", b);
        w.AddOutput("y", y);
        return w;
    }
}
