using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// ONNX's own quantized operator test cases (OnnxTestData/, see its README) run through our kernels.
///
/// Mapping to EdgeQuant's int8 scheme:
/// - uint8 data and zero points become int8 by subtracting 128 from both, which is exact
///   ((q - 128) - (zp - 128) = q - zp).
/// - Our weights are symmetric int8 (no weight zero point). ONNX weights are asymmetric uint8,
///   so w - w_zp can reach +-255. We split each w - w_zp into n parts in [-127, 127]
///   (n = ceil(max|w - w_zp| / 127)) and repeat the input n times along the reduction axis;
///   sum(x * w) is unchanged, so this is exact.
/// - ONNX rescales the int32 accumulator in float and rounds half to even; we use the fixed-point
///   MultiplyByQuantizedMultiplier (ties go up). Results may differ by one step, so outputs are
///   compared within 1 LSB.
/// The attributes of the ONNX nodes were read with
/// /usr/bin/python3 -c "import onnx; print(onnx.load('OnnxTestData/test_qlinearconv/model.onnx'))":
/// the QLinearConv node has none, so strides are 1, pads 0, dilations 1, group 1, and the kernel
/// shape comes from the weight tensor.
/// </summary>
public class OnnxConformanceTests
{
    private static string Case(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "OnnxTestData", name, "test_data_set_0");

    private static TensorProto Input(string name, int i) => TensorProto.Load(Path.Combine(Case(name), $"input_{i}.pb"));
    private static TensorProto Output(string name) => TensorProto.Load(Path.Combine(Case(name), "output_0.pb"));

    private static float Scalar(TensorProto t)
    {
        Assert.That(t.ElementCount, Is.EqualTo(1), "a per-tensor scale or zero point");
        return (float)t.Values()[0];
    }

    /// <summary>Converts uint8 values to int8 (subtract 128); int8 values pass through.</summary>
    private static int[] ToInt8(TensorProto t)
    {
        Assert.That(t.DataType, Is.EqualTo(TensorProto.UInt8).Or.EqualTo(TensorProto.Int8));
        int shift = t.DataType == TensorProto.UInt8 ? 128 : 0;
        return t.Values().Select(v => (int)v - shift).ToArray();
    }

    /// <summary>Splits each value into <paramref name="copies"/> parts in [-127, 127] that sum to it.</summary>
    private static int[][] Split(int[] w, out int copies)
    {
        int max = w.Length == 0 ? 0 : w.Max(v => System.Math.Abs(v));
        copies = System.Math.Max(1, (max + 126) / 127);
        var parts = new int[copies][];
        for (int j = 0; j < copies; j++) parts[j] = new int[w.Length];
        for (int i = 0; i < w.Length; i++)
        {
            int q = w[i] / copies, rem = w[i] - q * copies;
            for (int j = 0; j < copies; j++)
                parts[j][i] = q + (j < System.Math.Abs(rem) ? System.Math.Sign(rem) : 0);
        }
        foreach (var p in parts)
            Assert.That(p, Has.All.InRange(-127, 127));
        return parts;
    }

    [Test]
    public void QLinearConv()
    {
        const string name = "test_qlinearconv";
        var x = Input(name, 0); var xs = Input(name, 1); var xz = Input(name, 2);
        var w = Input(name, 3); var ws = Input(name, 4); var wz = Input(name, 5);
        var ys = Input(name, 6); var yz = Input(name, 7);
        var expected = Output(name);

        // NCHW [N, C, H, W] input, OIHW [Cout, Cin, Kh, Kw] weights.
        int n = (int)x.Dims[0], cin = (int)x.Dims[1], h = (int)x.Dims[2], wd = (int)x.Dims[3];
        int cout = (int)w.Dims[0], kh = (int)w.Dims[2], kw = (int)w.Dims[3];
        if (ws.ElementCount != 1 && ws.ElementCount != cout || wz.ElementCount != 1 && wz.ElementCount != cout)
            Assert.Ignore("per-channel weight scales must have one entry per output channel");
        var xq = ToInt8(x);
        int xZp = ToInt8(xz)[0];
        var wq = ToInt8(w);
        var wZp = ToInt8(wz);
        var wScale = ws.Values();

        // w - w_zp in our [Cout, Kh, Kw, Cin] layout, then split into int8 parts.
        var wEff = new int[cout * kh * kw * cin];
        for (int oc = 0; oc < cout; oc++)
            for (int ic = 0; ic < cin; ic++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        wEff[((oc * kh + ky) * kw + kx) * cin + ic] = wq[((oc * cin + ic) * kh + ky) * kw + kx] - wZp[wZp.Length == 1 ? 0 : oc];
        var parts = Split(wEff, out int copies);
        int cin2 = cin * copies;
        var filter = new sbyte[cout * kh * kw * cin2];
        for (int k = 0; k < cout * kh * kw; k++)
            for (int j = 0; j < copies; j++)
                for (int ic = 0; ic < cin; ic++)
                    filter[k * cin2 + j * cin + ic] = (sbyte)parts[j][k * cin + ic];
        var input = new sbyte[n * h * wd * cin2];
        for (int b = 0; b < n; b++)
            for (int y = 0; y < h; y++)
                for (int xx = 0; xx < wd; xx++)
                    for (int j = 0; j < copies; j++)
                        for (int ic = 0; ic < cin; ic++)
                            input[((b * h + y) * wd + xx) * cin2 + j * cin + ic] = (sbyte)xq[((b * cin + ic) * h + y) * wd + xx];

        float xScale = Scalar(xs), yScale = Scalar(ys);
        int yZp = ToInt8(yz)[0];
        var filterScales = Enumerable.Range(0, cout).Select(oc => (float)wScale[wScale.Length == 1 ? 0 : oc]).ToArray();
        var (m, s) = ConverterMath.PerChannel(xScale, filterScales, yScale);
        var p = new Conv2DParams
        {
            StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, DepthMultiplier = 1,
            InputOffset = -xZp, OutputOffset = yZp, ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1,
        };
        int oh = h - kh + 1, ow = wd - kw + 1;
        var output = new sbyte[n * oh * ow * cout];
        Conv2D.EvalS8(p, input, new(n, h, wd, cin2), filter, new(cout, kh, kw, cin2), new int[cout], m, s, output, new(n, oh, ow, cout));

        var want = ToInt8(expected);
        Assert.That(expected.Dims, Is.EqualTo(new long[] { n, cout, oh, ow }));
        int mismatches = 0;
        for (int b = 0; b < n; b++)
            for (int oc = 0; oc < cout; oc++)
                for (int y = 0; y < oh; y++)
                    for (int xx = 0; xx < ow; xx++)
                    {
                        int got = output[((b * oh + y) * ow + xx) * cout + oc];
                        int exp = want[((b * cout + oc) * oh + y) * ow + xx];
                        Assert.That(System.Math.Abs(got - exp), Is.LessThanOrEqualTo(1), $"y[{b},{oc},{y},{xx}]: ours {got + 128}, ONNX {exp + 128} (uint8)");
                        if (got != exp) mismatches++;
                    }
        TestContext.Out.WriteLine($"{name}: {want.Length} outputs, {mismatches} differ by one step; weights split into {copies} int8 parts");
    }

    [TestCase("test_qlinearmatmul_2D")]
    [TestCase("test_qlinearmatmul_3D")]
    public void QLinearMatMul(string name)
    {
        var a = Input(name, 0); var aS = Input(name, 1); var aZ = Input(name, 2);
        var b = Input(name, 3); var bS = Input(name, 4); var bZ = Input(name, 5);
        var yS = Input(name, 6); var yZ = Input(name, 7);
        var expected = Output(name);
        if (aS.ElementCount != 1 || bS.ElementCount != 1 || bZ.ElementCount != 1)
            Assert.Ignore("per-column B quantization is not mapped");
        int rank = a.Dims.Count;
        int batches = rank == 3 ? (int)a.Dims[0] : 1;
        int rows = (int)a.Dims[rank - 2], k = (int)a.Dims[rank - 1], cols = (int)b.Dims[b.Dims.Count - 1];
        var aq = ToInt8(a);
        var bq = ToInt8(b);
        int aZp = ToInt8(aZ)[0], bZp = ToInt8(bZ)[0], yZp = ToInt8(yZ)[0];
        var want = ToInt8(expected);
        var (m, s) = QuantMath.QuantizeMultiplier((double)Scalar(aS) * Scalar(bS) / Scalar(yS));
        int mismatches = 0;
        for (int batch = 0; batch < batches; batch++)
        {
            // FullyConnected computes A x W^T with W = (B - b_zp)^T as [cols, k].
            var wEff = new int[cols * k];
            for (int c = 0; c < cols; c++)
                for (int i = 0; i < k; i++)
                    wEff[c * k + i] = bq[batch * k * cols + i * cols + c] - bZp;
            var parts = Split(wEff, out int copies);
            int k2 = k * copies;
            var filter = new sbyte[cols * k2];
            for (int c = 0; c < cols; c++)
                for (int j = 0; j < copies; j++)
                    for (int i = 0; i < k; i++)
                        filter[c * k2 + j * k + i] = (sbyte)parts[j][c * k + i];
            var input = new sbyte[rows * k2];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < copies; j++)
                    for (int i = 0; i < k; i++)
                        input[r * k2 + j * k + i] = (sbyte)aq[batch * rows * k + r * k + i];
            var p = new FullyConnectedParams { InputOffset = -aZp, OutputOffset = yZp, ActivationMin = -128, ActivationMax = 127, FoldedBiasOffset = -1 };
            var output = new sbyte[rows * cols];
            FullyConnected.EvalS8(p, input, rows, k2, filter, cols, new int[cols], Enumerable.Repeat(m, cols).ToArray(), Enumerable.Repeat(s, cols).ToArray(), output);
            for (int i = 0; i < output.Length; i++)
            {
                int exp = want[batch * rows * cols + i];
                Assert.That(System.Math.Abs(output[i] - exp), Is.LessThanOrEqualTo(1), $"batch {batch} element {i}: ours {output[i] + 128}, ONNX {exp + 128} (uint8)");
                if (output[i] != exp) mismatches++;
            }
        }
        TestContext.Out.WriteLine($"{name}: {want.Length} outputs, {mismatches} differ by one step");
    }

    [Test]
    public void QuantizeLinear()
    {
        const string name = "test_quantizelinear";
        var x = Input(name, 0); var ys = Input(name, 1); var yz = Input(name, 2);
        var want = ToInt8(Output(name));
        var input = x.Values().Select(v => (float)v).ToArray();
        var output = new sbyte[input.Length];
        Quantize.EvalF32ToS8(input, output, Scalar(ys), ToInt8(yz)[0]);
        // ONNX rounds half to even, we round half away from zero: a tie may differ by one step.
        for (int i = 0; i < output.Length; i++)
            Assert.That(System.Math.Abs(output[i] - want[i]), Is.LessThanOrEqualTo(1), $"element {i} ({input[i]}): ours {output[i] + 128}, ONNX {want[i] + 128}");
    }

    [Test]
    public void DequantizeLinear()
    {
        const string name = "test_dequantizelinear";
        var x = Input(name, 0); var xs = Input(name, 1); var xz = Input(name, 2);
        var want = Output(name).Values();
        var input = ToInt8(x).Select(v => (sbyte)v).ToArray();
        var output = new float[input.Length];
        Quantize.EvalS8ToF32(input, output, Scalar(xs), ToInt8(xz)[0]);
        Assert.That(output.Select(v => (double)v), Is.EqualTo(want), "dequantization is exact");
    }

    [TestCase("test_quantizelinear_axis")]
    [TestCase("test_dequantizelinear_axis")]
    public void PerAxisQuantizeAndDequantize(string name)
    {
        var scale = Input(name, 1);
        Assert.That(scale.ElementCount, Is.GreaterThan(1), "this case is per axis");
        Assert.Ignore($"{name}: per-axis (per-channel) Quantize/Dequantize is not an EdgeQuant op; the runtime's Quantize and Dequantize take one scale and zero point per tensor.");
    }
}
