using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// 1-D convolutions and pools over [N, C, T] inputs. Three checks per model: the float executor
/// against the ONNX definition written out as plain loops here (independent of the executor's
/// code), the lowered graph (2-D kernels with H = 1) against the float executor, and the int8
/// blob against float (SQNR).
/// </summary>
[TestFixture]
public class Conv1DTests
{
    private sealed record ConvCase(string Name, int Cin, int Cout, int T, int K, int Group, int Stride, int Dilation, int[]? Pads, string AutoPad);

    private static readonly ConvCase[] ConvCases =
    [
        new("regular", 6, 8, 32, 5, 1, 1, 1, [2, 2], "NOTSET"),
        new("valid_no_pads", 3, 4, 17, 3, 1, 1, 1, null, "NOTSET"),
        new("strided_asymmetric_pads", 5, 7, 31, 4, 1, 2, 1, [1, 2], "NOTSET"),
        new("dilated", 4, 6, 40, 3, 1, 1, 3, [3, 3], "NOTSET"),
        new("depthwise", 8, 8, 33, 5, 8, 1, 1, [2, 2], "NOTSET"),
        new("depthwise_multiplier2_strided", 4, 8, 29, 3, 4, 2, 1, [1, 1], "NOTSET"),
        new("grouped", 6, 9, 25, 3, 3, 1, 2, [0, 4], "NOTSET"),
        new("same_upper_strided", 3, 5, 21, 4, 1, 3, 1, null, "SAME_UPPER"),
        new("same_lower_dilated", 3, 5, 22, 3, 1, 1, 2, null, "SAME_LOWER"),
        new("valid_auto_pad", 2, 3, 19, 6, 1, 2, 1, null, "VALID"),
        new("pointwise", 16, 12, 9, 1, 1, 1, 1, null, "NOTSET"),
    ];

    public static IEnumerable<TestCaseData> Convs() => ConvCases.Select(c => new TestCaseData(c.Name).SetName($"Conv1D({c.Name})"));

    [TestCaseSource(nameof(Convs))]
    public void ConvolutionMatchesOnnxDefinitionLowersAndQuantizes(string name)
    {
        var c = ConvCases.Single(x => x.Name == name);
        var r = new Random(name.Length * 7919 + c.Cin);
        var w = Rand(r, c.Cout * (c.Cin / c.Group) * c.K);
        var b = Rand(r, c.Cout);
        int tOut = OutputLength(c);
        var attrs = new List<AttributeProto> { Attr("group", (long)c.Group), Ints("strides", (long)c.Stride), Ints("dilations", (long)c.Dilation) };
        if (c.Pads is not null) attrs.Add(Attr("pads", c.Pads.Select(p => (long)p).ToArray()));
        if (c.AutoPad != "NOTSET") attrs.Add(Attr("auto_pad", c.AutoPad));
        var bytes = new TestModelBuilder()
            .Input("input", -1, c.Cin, c.T).Output("out", -1, c.Cout, tOut)
            .FloatInitializer("w", [c.Cout, c.Cin / c.Group, c.K], w)
            .FloatInitializer("b", [c.Cout], b)
            .Node("Conv", ["input", "w", "b"], ["out"], "conv1d", [.. attrs])
            .ToBytes();

        int n = 24;
        var data = Rand(r, n * c.Cin * c.T);
        var want = new float[n * c.Cout * tOut];
        for (int s = 0; s < n; s++)
            ReferenceConv1D(c, data.AsSpan(s * c.Cin * c.T, c.Cin * c.T), w, b, want.AsSpan(s * c.Cout * tOut, c.Cout * tOut));

        var loaded = Load(bytes, "conv1d_" + name);
        var op = loaded.Ir.Ops.Single(o => o.Type is OpType.Conv2D or OpType.DepthwiseConv2D);
        Assert.That(op.Type, Is.EqualTo(c.Group == c.Cin && c.Group > 1 ? OpType.DepthwiseConv2D : OpType.Conv2D));
        Assert.That((op.KernelH, op.KernelW, op.StrideH, op.DilationH, op.PadTop, op.PadBottom), Is.EqualTo((1, c.K, 1, 1, 0, 0)), "H = 1, no window along H");
        CheckAll(loaded, data, [n, c.Cin, c.T], want);
    }

    private sealed record PoolCase(string Name, string Op, int C, int T, int K, int Stride, int[]? Pads, bool CeilMode, bool CountIncludePad, string AutoPad);

    private static readonly PoolCase[] PoolCases =
    [
        new("max_k2_s2", "MaxPool", 8, 32, 2, 2, null, false, false, "NOTSET"),
        new("max_k3_s2_padded", "MaxPool", 5, 31, 3, 2, [1, 1], false, false, "NOTSET"),
        new("max_k3_s2_ceil", "MaxPool", 4, 30, 3, 2, null, true, false, "NOTSET"),
        new("max_same_upper", "MaxPool", 3, 23, 4, 3, null, false, false, "SAME_UPPER"),
        new("avg_k4_s4", "AveragePool", 6, 32, 4, 4, null, false, false, "NOTSET"),
        new("avg_k3_s1_padded_exclude", "AveragePool", 5, 20, 3, 1, [1, 1], false, false, "NOTSET"),
        new("avg_k3_s2_padded_include", "AveragePool", 5, 21, 3, 2, [1, 2], false, true, "NOTSET"),
        new("avg_k2_s2_ceil", "AveragePool", 3, 27, 2, 2, null, true, false, "NOTSET"),
    ];

    public static IEnumerable<TestCaseData> Pools() => PoolCases.Select(c => new TestCaseData(c.Name).SetName($"Pool1D({c.Name})"));

    [TestCaseSource(nameof(Pools))]
    public void PoolingMatchesOnnxDefinitionLowersAndQuantizes(string name)
    {
        var c = PoolCases.Single(x => x.Name == name);
        var r = new Random(name.Length * 31 + c.C);
        int tOut = PoolOutputLength(c);
        var attrs = new List<AttributeProto> { Ints("kernel_shape", (long)c.K), Ints("strides", (long)c.Stride) };
        if (c.Pads is not null) attrs.Add(Attr("pads", c.Pads.Select(p => (long)p).ToArray()));
        if (c.CeilMode) attrs.Add(Attr("ceil_mode", 1L));
        if (c.CountIncludePad) attrs.Add(Attr("count_include_pad", 1L));
        if (c.AutoPad != "NOTSET") attrs.Add(Attr("auto_pad", c.AutoPad));
        var bytes = new TestModelBuilder()
            .Input("input", -1, c.C, c.T).Output("out", -1, c.C, tOut)
            .Node(c.Op, ["input"], ["out"], "pool1d", [.. attrs])
            .ToBytes();

        int n = 16;
        var data = Rand(r, n * c.C * c.T);
        var want = new float[n * c.C * tOut];
        for (int s = 0; s < n; s++)
            ReferencePool1D(c, data.AsSpan(s * c.C * c.T, c.C * c.T), want.AsSpan(s * c.C * tOut, c.C * tOut));

        var loaded = Load(bytes, "pool1d_" + name);
        Assert.That(loaded.Ir.Ops.Count(o => o.Type is OpType.MaxPool2D or OpType.AveragePool2D), Is.EqualTo(1));
        CheckAll(loaded, data, [n, c.C, c.T], want);
    }

    /// <summary>
    /// A small sensor network: Conv + BatchNorm + Relu, MaxPool, a depthwise-separable block, a
    /// dilated conv, global average pooling (and the ReduceMean form), Flatten, Gemm. After the
    /// input's own transpose to [N, T, C] no data moves: every other view is a free Reshape, and
    /// every Relu is fused into its convolution.
    /// </summary>
    [TestCase("GlobalAveragePool")]
    [TestCase("ReduceMean")]
    public void SensorNetworkLowersWithoutDataMovementAndQuantizes(string pooling)
    {
        var r = new Random(pooling.Length);
        int cin = 6, t = 64, classes = 5;
        var b = new TestModelBuilder()
            .Input("input", -1, cin, t).Output("logits", -1, classes)
            .FloatInitializer("w1", [16, cin, 5], Rand(r, 16 * cin * 5, 0.4f))
            .FloatInitializer("g1", [16], Pos(r, 16)).FloatInitializer("be1", [16], Rand(r, 16))
            .FloatInitializer("m1", [16], Rand(r, 16, 0.2f)).FloatInitializer("v1", [16], Pos(r, 16))
            .FloatInitializer("w2", [16, 1, 3], Rand(r, 16 * 3)).FloatInitializer("b2", [16], Rand(r, 16))
            .FloatInitializer("w3", [24, 16, 1], Rand(r, 24 * 16, 0.3f)).FloatInitializer("b3", [24], Rand(r, 24))
            .FloatInitializer("w4", [24, 24, 3], Rand(r, 24 * 24 * 3, 0.2f)).FloatInitializer("b4", [24], Rand(r, 24))
            .FloatInitializer("fc", [classes, 24], Rand(r, classes * 24)).FloatInitializer("fcb", [classes], Rand(r, classes))
            .Node("Conv", ["input", "w1"], ["c1"], "conv1", Attr("pads", 2L, 2L))
            .Node("BatchNormalization", ["c1", "g1", "be1", "m1", "v1"], ["bn1"], "bn1")
            .Node("Relu", ["bn1"], ["r1"], "relu1")
            .Node("MaxPool", ["r1"], ["p1"], "pool1", Ints("kernel_shape", 2L), Ints("strides", 2L))
            .Node("Conv", ["p1", "w2", "b2"], ["c2"], "dw", Attr("group", 16L), Attr("pads", 1L, 1L))
            .Node("Relu", ["c2"], ["r2"], "relu2")
            .Node("Conv", ["r2", "w3", "b3"], ["c3"], "pw")
            .Node("Relu", ["c3"], ["r3"], "relu3")
            .Node("Conv", ["r3", "w4", "b4"], ["c4"], "dilated", Ints("dilations", 2L), Attr("pads", 2L, 2L), Ints("strides", 2L))
            .Node("Relu", ["c4"], ["r4"], "relu4");
        if (pooling == "GlobalAveragePool")
            b.Node("GlobalAveragePool", ["r4"], ["gap"], "gap").Node("Flatten", ["gap"], ["flat"], "flatten");
        else
            b.Node("ReduceMean", ["r4"], ["flat"], "mean", Ints("axes", 2L), Attr("keepdims", 0L));
        var bytes = b.Node("Gemm", ["flat", "fc", "fcb"], ["logits"], "fc", Attr("transB", 1L)).ToBytes();

        var loaded = Load(bytes, "sensor_" + pooling);
        var types = loaded.Ir.Ops.Select(o => o.Type).ToList();
        Assert.That(types.Count(x => x == OpType.Transpose), Is.EqualTo(1), "only the input is transposed: " + string.Join(", ", types));
        Assert.That(types, Has.None.EqualTo(OpType.Lookup), "every Relu fuses into its convolution");
        Assert.That(types.Count(x => x is OpType.Conv2D or OpType.DepthwiseConv2D), Is.EqualTo(4), "BatchNormalization folded");

        int n = 64;
        var data = Rand(r, n * cin * t, 2f);
        var want = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, n);
        CheckAll(loaded, data, [n, cin, t], want);
    }

    [Test]
    public void PadAndStandaloneBatchNormOnSequences()
    {
        var r = new Random(5);
        int c = 4, t = 15;
        var bytes = new TestModelBuilder()
            .Input("input", -1, c, t).Output("out", -1, c, t + 5)
            .Int64Initializer("pads", [6], 0, 0, 2, 0, 0, 3)
            .FloatInitializer("g", [c], Pos(r, c)).FloatInitializer("be", [c], Rand(r, c))
            .FloatInitializer("m", [c], Rand(r, c)).FloatInitializer("v", [c], Pos(r, c))
            .Node("Relu", ["input"], ["x"], "relu")
            .Node("Pad", ["x", "pads"], ["padded"], "pad")
            .Node("BatchNormalization", ["padded", "g", "be", "m", "v"], ["out"], "bn")
            .ToBytes();
        var loaded = Load(bytes, "pad_bn_1d");
        int n = 16;
        var data = Rand(r, n * c * t);
        var want = new float[n * c * (t + 5)];
        var g = new OnnxFloatExecutor(loaded.Onnx);
        for (int s = 0; s < n; s++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int i = 0; i < t + 5; i++)
                {
                    int src = i - 2;
                    float v = src >= 0 && src < t ? Math.Max(0f, data[(s * c + ch) * t + src]) : 0f;
                    want[(s * c + ch) * (t + 5) + i] = v;
                }
            }
        }
        // The BatchNormalization itself is checked against the float executor (its formula is tested elsewhere).
        var exec = g.RunBatched(data, n);
        Assert.That(exec.Length, Is.EqualTo(want.Length));
        CheckAll(loaded, data, [n, c, t], exec);
        var padOnly = new TestModelBuilder()
            .Input("input", -1, c, t).Output("out", -1, c, t + 5)
            .Int64Initializer("pads", [6], 0, 0, 2, 0, 0, 3)
            .Node("Relu", ["input"], ["x"], "relu")
            .Node("Pad", ["x", "pads"], ["out"], "pad")
            .ToBytes();
        CheckAll(Load(padOnly, "pad_1d"), data, [n, c, t], want);
    }

    /// <summary>
    /// The zoo's IMU model ([N, 6, 64] in, BatchNorm folded by the export) runs as 2-D kernels with
    /// H = 1: the input window is transposed once to [T, C]; after that only free reshapes.
    /// </summary>
    [Test]
    public void ImuGestureZooModelRunsOnTwoDKernelsWithOnlyTheInputTransposed()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "imu_gesture.onnx"));
        var types = loaded.Ir.Ops.Select(o => o.Type).Where(t => t != OpType.Reshape).ToArray();
        Assert.That(types, Is.EqualTo(new[]
        {
            OpType.Transpose, OpType.Conv2D, OpType.MaxPool2D, OpType.DepthwiseConv2D, OpType.Conv2D,
            OpType.MaxPool2D, OpType.Conv2D, OpType.Mean, OpType.FullyConnected,
        }));
        Assert.That(loaded.InputSourceShape, Is.EqualTo(new[] { 1, 6, 64 }));
        Assert.That(loaded.Ir.Ops.Where(o => o.Type is OpType.Conv2D or OpType.DepthwiseConv2D).Select(o => o.FusedActivation), Has.All.EqualTo("Relu"));
    }

    /// <summary>
    /// The replay recording (raw units, [T, 6]) cut into windows at hop 64 and normalised with the
    /// model's json (x = (raw - mean) / std per channel, in float32, channels first) is exactly the
    /// committed test set: a device pipeline fed the replay sees the test samples.
    /// </summary>
    [Test]
    public void ImuReplayWindowsNormalisedAreExactlyTheTestSet()
    {
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(RepoPaths.Zoo, "imu_gesture.json")));
        var norm = json.RootElement.GetProperty("normalisation");
        var mean = norm.GetProperty("mean").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        var std = norm.GetProperty("std").EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
        int window = json.RootElement.GetProperty("window").GetInt32();
        var replay = Npy.Read(Path.Combine(RepoPaths.Zoo, "imu_gesture.replay.npy"));
        var test = Npy.Read(Path.Combine(RepoPaths.Zoo, "imu_gesture.test.npy"));
        var labels = Npy.Read(Path.Combine(RepoPaths.Zoo, "imu_gesture.test_labels.npy"));
        int n = test.Shape[0];
        Assert.That(replay.Shape, Is.EqualTo(new[] { n * window, 6 }));
        Assert.That(test.Shape, Is.EqualTo(new[] { n, 6, window }));
        Assert.That(labels.Shape, Is.EqualTo(new[] { n }));
        var raw = replay.Floats!;
        var x = test.Floats!;
        int mismatched = 0;
        for (int i = 0; i < n; i++)
            for (int c = 0; c < 6; c++)
                for (int t = 0; t < window; t++)
                    if ((raw[((i * window) + t) * 6 + c] - mean[c]) / std[c] != x[((i * 6) + c) * window + t]) mismatched++;
        Assert.That(mismatched, Is.Zero, "normalised replay values that differ from test.npy");
    }

    [Test]
    public void ConvolutionOverRank5IsRefusedClearly()
    {
        var bytes = new TestModelBuilder()
            .Input("input", 1, 2, 3, 4, 5).Output("out", 1, 2, 3, 4, 5)
            .FloatInitializer("w", [2, 2, 1, 1, 1], 1, 0, 0, 1)
            .Node("Conv", ["input", "w"], ["out"], "conv3d")
            .ToBytes();
        var e = Assert.Throws<ConversionException>(() => Load(bytes, "conv3d"));
        Assert.That(e!.Message, Does.Contain("conv3d"));
    }

    // ---- the ONNX definitions, written out plainly ----

    private static int OutputLength(ConvCase c)
    {
        int eff = (c.K - 1) * c.Dilation + 1;
        return c.AutoPad switch
        {
            "SAME_UPPER" or "SAME_LOWER" => (c.T + c.Stride - 1) / c.Stride,
            "VALID" => (c.T - eff) / c.Stride + 1,
            _ => (c.T + (c.Pads?[0] ?? 0) + (c.Pads?[1] ?? 0) - eff) / c.Stride + 1,
        };
    }

    private static int ConvPadBegin(ConvCase c, int tOut)
    {
        if (c.AutoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            int total = Math.Max(0, (tOut - 1) * c.Stride + (c.K - 1) * c.Dilation + 1 - c.T);
            return c.AutoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
        }
        return c.AutoPad == "VALID" ? 0 : c.Pads?[0] ?? 0;
    }

    /// <summary>y[m, t] = b[m] + sum over the group's channels c and taps k of w[m, c, k] * x[g * C/group + c, t * stride + k * dilation - pad].</summary>
    private static void ReferenceConv1D(ConvCase c, ReadOnlySpan<float> x, float[] w, float[] b, Span<float> y)
    {
        int tOut = OutputLength(c);
        int padBegin = ConvPadBegin(c, tOut);
        int cg = c.Cin / c.Group, mg = c.Cout / c.Group;
        for (int m = 0; m < c.Cout; m++)
        {
            int g = m / mg;
            for (int t = 0; t < tOut; t++)
            {
                double sum = b[m];
                for (int ci = 0; ci < cg; ci++)
                {
                    for (int k = 0; k < c.K; k++)
                    {
                        int ti = t * c.Stride + k * c.Dilation - padBegin;
                        if (ti < 0 || ti >= c.T) continue;
                        sum += w[(m * cg + ci) * c.K + k] * (double)x[(g * cg + ci) * c.T + ti];
                    }
                }
                y[m * tOut + t] = (float)sum;
            }
        }
    }

    private static int PoolOutputLength(PoolCase c)
    {
        if (c.AutoPad is "SAME_UPPER" or "SAME_LOWER") return (c.T + c.Stride - 1) / c.Stride;
        int span = c.T + (c.Pads?[0] ?? 0) + (c.Pads?[1] ?? 0) - c.K;
        int o = c.CeilMode ? (span + c.Stride - 1) / c.Stride + 1 : span / c.Stride + 1;
        if (c.CeilMode && (o - 1) * c.Stride >= c.T + (c.Pads?[0] ?? 0)) o--;
        return o;
    }

    private static void ReferencePool1D(PoolCase c, ReadOnlySpan<float> x, Span<float> y)
    {
        int tOut = PoolOutputLength(c);
        int padBegin = c.Pads?[0] ?? 0, padEnd = c.Pads?[1] ?? 0;
        if (c.AutoPad is "SAME_UPPER" or "SAME_LOWER")
        {
            int total = Math.Max(0, (tOut - 1) * c.Stride + c.K - c.T);
            padBegin = c.AutoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
            padEnd = total - padBegin;
        }
        for (int ch = 0; ch < c.C; ch++)
        {
            for (int t = 0; t < tOut; t++)
            {
                float max = float.NegativeInfinity;
                double sum = 0;
                int inside = 0, padded = 0;
                for (int k = 0; k < c.K; k++)
                {
                    int ti = t * c.Stride + k - padBegin;
                    if (ti >= -padBegin && ti < c.T + padEnd) padded++;
                    if (ti < 0 || ti >= c.T) continue;
                    float v = x[ch * c.T + ti];
                    max = Math.Max(max, v);
                    sum += v;
                    inside++;
                }
                y[ch * tOut + t] = c.Op == "MaxPool" ? max : (float)(sum / (c.CountIncludePad ? padded : inside));
            }
        }
    }

    // ---- helpers ----

    /// <summary>An INTS attribute (one value per spatial axis), also when it has a single value.</summary>
    private static AttributeProto Ints(string name, params long[] values) => Attr(name, values);

    private static float[] Rand(Random r, int n, float scale = 1f) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();

    private static float[] Pos(Random r, int n) => Enumerable.Range(0, n).Select(_ => (float)(0.5 + r.NextDouble())).ToArray();

    private static LoadedModel Load(byte[] bytes, string name)
    {
        string path = Path.Combine(Path.GetTempPath(), $"eq_conv1d_{name}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, bytes);
        try
        {
            return ModelConverter.Load(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// The float executor and the lowered graph equal <paramref name="want"/> (1e-4 relative to the
    /// largest output), and the int8 blob tracks it (SQNR above 30 dB).
    /// </summary>
    private static void CheckAll(LoadedModel loaded, float[] data, int[] shape, float[] want)
    {
        int n = shape[0];
        var samples = new SampleSet(data, shape, "random");
        var onnx = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, n);
        Assert.That(onnx.Length, Is.EqualTo(want.Length), "output size");
        float scale = Math.Max(1f, want.Max(MathF.Abs));
        for (int i = 0; i < want.Length; i++)
            Assert.That(onnx[i], Is.EqualTo(want[i]).Within(1e-4 * scale), $"float executor, element {i}");

        var exec = new IrExecutor(loaded.Ir);
        var outShape = loaded.Ir.SourceShapes[loaded.Output];
        int per = want.Length / n;
        for (int s = 0; s < n; s++)
        {
            var got = Layouts.ToSource(exec.Run(Layouts.ToPhysical(samples.Sample(s), loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], outShape, loaded.Ir.Layouts[loaded.Output]);
            for (int i = 0; i < per; i++)
                Assert.That(got[i], Is.EqualTo(want[s * per + i]).Within(1e-4 * scale), $"lowered graph, sample {s} element {i}");
        }

        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 4 });
        var int8 = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        Assert.That(int8.Length, Is.EqualTo(want.Length), "int8 output size");
        Assert.That(Metrics.SqnrDb(want, int8), Is.GreaterThan(30), "int8 output SQNR against float, dB");
    }
}
