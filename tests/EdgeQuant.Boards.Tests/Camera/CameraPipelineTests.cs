using EdgeQuant.Boards.Camera;
using EdgeQuant.Boards.Decoding;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Math;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Camera;

public class CameraPipelineTests
{
    private static readonly PixelNormalization Mnist = new([0.1307f], [0.3081f]);

    /// <summary>MNIST test digits back to their uint8 pixels (the zoo stores (p/255 - 0.1307)/0.3081 in float32).</summary>
    internal static (byte[] Pixels, long[] Labels, int Count) MnistPixels()
    {
        var x = NpyFile.Read(TestModels.Zoo("mnist_cnn.test.npy")).ToFloat32("test data");
        var labels = NpyFile.Read(TestModels.Zoo("mnist_cnn.test_labels.npy")).ToInt64("labels");
        var p = new byte[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double v = Math.Round((x[i] * 0.3081 + 0.1307) * 255);
            Assert.That(v, Is.InRange(0, 255));
            p[i] = (byte)v;
        }
        return (p, labels, labels.Length);
    }

    internal static byte[] Upscale(ReadOnlySpan<byte> img, int w, int h, int f)
    {
        var o = new byte[w * f * h * f];
        for (int y = 0; y < h * f; y++)
            for (int x = 0; x < w * f; x++)
                o[y * w * f + x] = img[(y / f) * w + x / f];
        return o;
    }

    [Test]
    public void MnistDigitsUpscaled4x_GiveTheGoldenInputBytes_AndTheEvalAccuracy()
    {
        var model = Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm"));
        var golden = File.ReadAllBytes(TestModels.ZooEqm("mnist_cnn.input.bin"));
        var goldenOut = File.ReadAllBytes(TestModels.ZooEqm("mnist_cnn.output.bin"));
        var interp = new Interpreter(model);
        var pipe = new CameraPipeline(interp, 112, 112, FrameFormat.Gray8, Mnist);
        var (pixels, labels, n) = MnistPixels();
        int correct = 0, goldenCorrect = 0, sameInput = 0;
        for (int s = 0; s < n; s++)
        {
            var frame = Upscale(pixels.AsSpan(s * 784, 784), 28, 28, 4);
            pipe.Process(frame);
            var input = interp.GetInput();
            bool same = true;
            for (int i = 0; i < 784; i++) same &= (byte)input[i] == golden[s * 784 + i];
            if (same) sameInput++;
            interp.Invoke();
            if (TopK.ArgMax(Dequantize(interp)) == labels[s]) correct++;
            var go = goldenOut.AsSpan(s * 10, 10);
            int best = 0;
            for (int k = 1; k < 10; k++) if ((sbyte)go[k] > (sbyte)go[best]) best = k;
            if (best == labels[s]) goldenCorrect++;
        }
        double acc = 100.0 * correct / n, evalAcc = 100.0 * goldenCorrect / n;
        TestContext.Out.WriteLine($"camera pipeline on {n} MNIST digits upscaled 4x (112x112): top-1 {acc:F2}%; eval of the same .eqm on the original images: {evalAcc:F2}%; identical input bytes for {sameInput}/{n} samples");
        // The pipeline's table reproduces exactly what SetInput writes for the zoo's float32 images.
        Assert.That(sameInput, Is.EqualTo(n));
        Assert.That(acc, Is.EqualTo(evalAcc));
        Assert.That(acc, Is.EqualTo(98.2).Within(1e-9));
    }

    private static float[] Dequantize(Interpreter interp)
    {
        var o = new float[interp.Model.Tensors[interp.Model.Outputs[0].TensorIndex].ElementCount];
        interp.GetOutput(o);
        return o;
    }

    [Test]
    public void MnistDigitsAsYuyvFrames_ClassifyAtTheSameAccuracy()
    {
        var model = Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm"));
        var interp = new Interpreter(model);
        // 160x112: the pipeline crops the centre 112x112.
        var pipe = new CameraPipeline(interp, 160, 112, FrameFormat.Yuyv, Mnist);
        Assert.That(pipe.Crop, Is.EqualTo((24, 0, 112, 112)));
        var (pixels, labels, n) = MnistPixels();
        n = Math.Min(n, 300);
        int correct = 0, evalCorrect = 0;
        var rgb = new byte[160 * 112 * 3];
        var yuyv = new byte[160 * 112 * 2];
        var evalInterp = new Interpreter(model);
        var gray = new CameraPipeline(evalInterp, 28, 28, FrameFormat.Gray8, Mnist);
        for (int s = 0; s < n; s++)
        {
            var up = Upscale(pixels.AsSpan(s * 784, 784), 28, 28, 4);
            Array.Fill(rgb, (byte)90); // a grey border that the crop removes
            for (int y = 0; y < 112; y++)
                for (int x = 0; x < 112; x++)
                    rgb[3 * (y * 160 + x + 24)] = rgb[3 * (y * 160 + x + 24) + 1] = rgb[3 * (y * 160 + x + 24) + 2] = up[y * 112 + x];
            ColorConversion.Rgb24ToYuyv(rgb, yuyv, 160, 112);
            pipe.Process(yuyv);
            interp.Invoke();
            if (TopK.ArgMax(Dequantize(interp)) == labels[s]) correct++;
            gray.Process(pixels.AsSpan(s * 784, 784));
            evalInterp.Invoke();
            if (TopK.ArgMax(Dequantize(evalInterp)) == labels[s]) evalCorrect++;
        }
        TestContext.Out.WriteLine($"YUYV 160x112: {correct}/{n}, gray originals {evalCorrect}/{n}");
        // YUYV carries luma in 16..235, so pixels come back within 1 of the originals; the class must not change.
        Assert.That(Math.Abs(correct - evalCorrect), Is.LessThanOrEqualTo(1));
    }

    [Test]
    public void RgbFrames_EqualSetInputOfTheFloatImage_WithThreeChannelNormalization()
    {
        var rng = new Random(3);
        var calib = new float[20 * 3 * 16 * 16];
        for (int i = 0; i < calib.Length; i++) calib[i] = (float)(rng.NextDouble() * 4 - 2);
        var norm = new PixelNormalization([0.485f, 0.456f, 0.406f], [0.229f, 0.224f, 0.225f]);
        var model = TestModels.Convert(TestModels.RgbClassifierOnnx(), calib, [20, 3, 16, 16], norm);
        Assert.That(model.PixelNormalization!.ToMetadataValue(), Is.EqualTo(norm.ToMetadataValue()));
        var a = new Interpreter(model);
        var b = new Interpreter(model);
        foreach (var (fw, fh) in new[] { (16, 16), (40, 30), (33, 17), (7, 9), (64, 64) })
        {
            var pipe = new CameraPipeline(a, fw, fh, FrameFormat.Rgb24); // normalization from the blob
            var frame = new byte[fw * fh * 3];
            rng.NextBytes(frame);
            pipe.Process(frame);
            var (cx, cy, cw, ch) = pipe.Crop;
            var resized = AreaResizeReference(frame, fw, 3, cx, cy, cw, ch, 16, 16);
            var f = new float[16 * 16 * 3];
            for (int i = 0; i < f.Length; i++) f[i] = (resized[i] / 255f - norm.MeanOf(i % 3)) / norm.StdOf(i % 3);
            b.SetInput(f);
            Assert.That(a.GetInput().ToArray(), Is.EqualTo(b.GetInput().ToArray()), $"{fw}x{fh}");
        }
    }

    /// <summary>Area resize written the slow way: every crop pixel's 2-D overlap with every output pixel.</summary>
    internal static int[] AreaResizeReference(byte[] frame, int fw, int c, int cx, int cy, int cw, int ch, int ow, int oh)
    {
        var r = new int[ow * oh * c];
        for (int oy = 0; oy < oh; oy++)
            for (int ox = 0; ox < ow; ox++)
                for (int k = 0; k < c; k++)
                {
                    long sum = 0;
                    for (int y = 0; y < ch; y++)
                    {
                        long wy = Math.Max(0, Math.Min((long)(oy + 1) * ch, (long)(y + 1) * oh) - Math.Max((long)oy * ch, (long)y * oh));
                        if (wy == 0) continue;
                        for (int x = 0; x < cw; x++)
                        {
                            long wx = Math.Max(0, Math.Min((long)(ox + 1) * cw, (long)(x + 1) * ow) - Math.Max((long)ox * cw, (long)x * ow));
                            sum += wy * wx * frame[((cy + y) * fw + cx + x) * c + k];
                        }
                    }
                    long den = (long)cw * ch;
                    r[(oy * ow + ox) * c + k] = (int)((sum + den / 2) / den);
                }
        return r;
    }

    [TestCase(28, 28, 28, 28)]
    [TestCase(112, 112, 28, 28)]
    [TestCase(100, 75, 28, 28)]
    [TestCase(29, 31, 28, 28)]
    [TestCase(13, 11, 28, 28)]
    [TestCase(320, 240, 28, 28)]
    public void GrayAreaResize_MatchesTheOverlapDefinition(int fw, int fh, int ow, int oh)
    {
        var model = Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm"));
        var a = new Interpreter(model);
        var b = new Interpreter(model);
        var pipe = new CameraPipeline(a, fw, fh, FrameFormat.Gray8, Mnist);
        var frame = new byte[fw * fh];
        new Random(fw * 31 + fh).NextBytes(frame);
        pipe.Process(frame);
        var (cx, cy, cw, ch) = pipe.Crop;
        Assert.That(cw == ch, $"square crop for a square model, got {cw}x{ch}");
        Assert.That(cx, Is.EqualTo((fw - cw) / 2));
        var r = AreaResizeReference(frame, fw, 1, cx, cy, cw, ch, ow, oh);
        var f = new float[r.Length];
        for (int i = 0; i < f.Length; i++) f[i] = Mnist.Normalize(r[i], 0);
        b.SetInput(f);
        Assert.That(a.GetInput().ToArray(), Is.EqualTo(b.GetInput().ToArray()));
    }

    [Test]
    public void PixelTable_IsTheRuntimeQuantizationOfTheNormalizedPixel()
    {
        var rng = new Random(11);
        for (int trial = 0; trial < 50; trial++)
        {
            var norm = new PixelNormalization([(float)rng.NextDouble()], [(float)(0.05 + rng.NextDouble())]);
            float scale = (float)(0.001 + rng.NextDouble() * 0.05);
            int zp = rng.Next(-128, 128);
            var table = PixelTable.ForInt8(norm, 1, scale, zp);
            var values = new float[256];
            var expected = new sbyte[256];
            for (int p = 0; p < 256; p++) values[p] = (p / 255f - norm.Mean[0]) / norm.Std[0];
            EdgeQuant.Runtime.Kernels.Quantize.EvalF32ToS8(values, expected, scale, zp);
            Assert.That(table.Codes(0).ToArray(), Is.EqualTo(expected));
            for (int p = 0; p < 256; p++) Assert.That(table.Codes(0)[p], Is.EqualTo(QuantMath.QuantizeS8(values[p], scale, zp)));
        }
    }

    [Test]
    public void FloatTable_HoldsTheNormalizedFloats()
    {
        var norm = new PixelNormalization([0.5f, 0.4f, 0.3f], [0.2f, 0.25f, 0.3f]);
        var t = PixelTable.ForFloat32(norm, 3);
        Assert.That(t.IsFloat);
        for (int c = 0; c < 3; c++)
            for (int p = 0; p < 256; p += 51)
                Assert.That(t.Floats(c)[p], Is.EqualTo((p / 255f - norm.Mean[c]) / norm.Std[c]));
    }

    [Test]
    public void SteadyState_AllocatesNothingPerFrame()
    {
        var model = Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm"));
        var interp = new Interpreter(model);
        foreach (var fmt in new[] { FrameFormat.Gray8, FrameFormat.Rgb24, FrameFormat.Yuyv })
        {
            var pipe = new CameraPipeline(interp, 320, 240, fmt, Mnist);
            var frame = new byte[pipe.FrameBytes];
            new Random(1).NextBytes(frame);
            var logits = new float[10];
            var top = new int[3];
            for (int i = 0; i < 5; i++) { pipe.Process(frame); interp.Invoke(); }
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 200; i++)
            {
                pipe.Process(frame);
                interp.Invoke();
                interp.GetOutput(logits);
                TopK.Select(logits, top);
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.That(allocated, Is.Zero, $"{fmt}: {allocated} bytes over 200 frames");
        }
    }

    [Test]
    public void WrongFrameSize_IsAOneLineError()
    {
        var interp = new Interpreter(Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm")));
        var pipe = new CameraPipeline(interp, 320, 240, FrameFormat.Yuyv, Mnist);
        var e = Assert.Throws<BoardsException>(() => pipe.Process(new byte[320 * 240 * 3]));
        Assert.That(e!.Message, Is.EqualTo("camera: frame of 230400 bytes does not match 320x240 Yuyv (153600 bytes)"));
        var odd = Assert.Throws<BoardsException>(() => new CameraPipeline(interp, 321, 240, FrameFormat.Yuyv, Mnist));
        Assert.That(odd!.Message, Does.Contain("even width"));
    }

    [Test]
    public void ModelWhoseInputIsNotAnImage_IsRefused()
    {
        var interp = new Interpreter(Model.LoadFile(TestModels.ZooEqm("digits_mlp.eqm")));
        var e = Assert.Throws<BoardsException>(() => new CameraPipeline(interp, 320, 240, FrameFormat.Gray8));
        Assert.That(e!.Message, Does.Contain("a camera feeds an image [1, H, W, C]"));
        Assert.That(e.Message, Does.Not.Contain("\n"));
        var mnist = new Interpreter(Model.LoadFile(TestModels.ZooEqm("mnist_cnn.eqm")));
        var rgbNorm = new PixelNormalization([0.5f, 0.5f, 0.5f], [0.2f, 0.2f, 0.2f]);
        var e2 = Assert.Throws<BoardsException>(() => new CameraPipeline(mnist, 28, 28, FrameFormat.Rgb24, rgbNorm));
        Assert.That(e2!.Message, Does.Contain("3 channels"));
    }

    [Test]
    public void NpyFrameSource_ServesFramesAndRefusesBadFiles()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"eq-frames-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            var data = new byte[3 * 4 * 6 * 3];
            for (int i = 0; i < data.Length; i++) data[i] = (byte)i;
            NpyFile.WriteUInt8(Path.Combine(dir, "rgb.npy"), data, 3, 4, 6, 3);
            using var src = new NpyFrameSource(Path.Combine(dir, "rgb.npy"));
            Assert.That((src.Width, src.Height, src.Format, src.FrameCount), Is.EqualTo((6, 4, FrameFormat.Rgb24, 3)));
            int n = 0;
            while (src.TryReadFrame(out var f)) { Assert.That(f.Span[0], Is.EqualTo((byte)(n * 72))); n++; }
            Assert.That(n, Is.EqualTo(3));
            NpyFile.WriteFloat32(Path.Combine(dir, "f.npy"), new float[8], 2, 2, 2);
            var e = Assert.Throws<BoardsException>(() => new NpyFrameSource(Path.Combine(dir, "f.npy")));
            Assert.That(e!.Message, Does.Contain("frames must be uint8"));
            var missing = Assert.Throws<BoardsException>(() => new NpyFrameSource(Path.Combine(dir, "none.npy")));
            Assert.That(missing!.Message, Does.Contain("none.npy"));
        }
        finally { Directory.Delete(dir, true); }
    }

    [Test]
    public void MissingCamera_IsAOneLineError()
    {
        var e = Assert.Throws<BoardsException>(() => new VideoDeviceFrameSource("/dev/video97", 320, 240, FrameFormat.Yuyv));
        Assert.That(e!.Message, Does.StartWith("camera: /dev/video97 does not exist"));
    }
}
