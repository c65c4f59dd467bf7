using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// InterpreterOptions.Threads: convolutions, pooling and Concatenation split into bands of output rows
/// and Add/Sub split into element ranges give the same bytes as one thread (random geometries: strides, dilations, asymmetric padding, odd heights, more bands
/// than rows would allow), nothing is allocated per Invoke, and workers stop on Dispose.
/// </summary>
[TestFixture]
public class InterpreterThreadsTests
{
    /// <summary>A one-convolution blob with random geometry, large enough to be split.</summary>
    /// <param name="pointwise">A 1x1 Conv2D with unit strides and no padding (split into bands of pixels).</param>
    private static byte[] RandomConv(Rand r, bool depthwise, bool pointwise = false)
    {
        var w = new ModelWriter();
        int cin = r.Int(1, pointwise ? 64 : 24), mult = depthwise ? r.Int(1, 2) : 1;
        int cout = depthwise ? cin * mult : r.Int(1, pointwise ? 150 : 40);
        int kh = r.Int(1, 5), kw = r.Int(1, 5), sh = r.Int(1, 3), sw = r.Int(1, 3), dh = r.Int(1, 2), dw = r.Int(1, 2);
        if (pointwise) kh = kw = sh = sw = 1;
        int pt = r.Int(0, kh - 1), pb = r.Int(0, kh - 1), pl = r.Int(0, kw - 1), pr = r.Int(0, kw - 1);
        int effH = (kh - 1) * dh + 1, effW = (kw - 1) * dw + 1;
        int h = System.Math.Max(r.Int(2, 40), effH), wd = System.Math.Max(r.Int(1, 24), effW);
        int oh = (h + pt + pb - effH) / sh + 1, ow = (wd + pl + pr - effW) / sw + 1;
        var qi = (S: r.Scale(0.01, 0.1), Z: r.Int(-20, 20));
        var qo = (S: r.Scale(0.05, 0.5), Z: r.Int(-20, 20));
        int x = w.AddActivation(TensorType.Int8, [1, h, wd, cin], w.AddQuantization([qi.S], qi.Z));
        int y = w.AddActivation(TensorType.Int8, [1, oh, ow, cout], w.AddQuantization([qo.S], qo.Z));
        int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
        var fscales = r.Scales(cout, 0.002, 0.02);
        int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, r.S8(fdims[0] * kh * kw * fdims[3], -127, 127), w.AddQuantization(fscales, 0, depthwise ? 3 : 0));
        int b = w.AddConstant<int>(TensorType.Int32, [cout], r.I32(cout, -2000, 2000), -1);
        var p = new Conv2DParams
        {
            StrideH = sh, StrideW = sw, DilationH = dh, DilationW = dw,
            PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr, DepthMultiplier = mult,
            InputOffset = -qi.Z, OutputOffset = qo.Z, ActivationMin = r.Bool() ? qo.Z : -128, ActivationMax = 127, FoldedBiasOffset = -1,
        };
        var (m, s) = ConverterMath.PerChannel(qi.S, fscales, qo.S);
        p.MultipliersOffset = w.AddConstantData<int>(m);
        p.ShiftsOffset = w.AddConstantData<int>(s);
        w.AddOp(depthwise ? OpType.DepthwiseConv2D : OpType.Conv2D, [x, f, b], [y], p, depthwise ? 0 : KernelScratch.Conv2DBytes(kh, kw, cin, ow));
        w.AddInput("x", x);
        w.AddOutput("y", y);
        return w.Build();
    }

    private static sbyte[] Run(Model m, sbyte[] input, InterpreterOptions options)
    {
        using var interp = new Interpreter(m, options);
        input.CopyTo(interp.GetInput());
        interp.Invoke();
        return interp.GetOutput().ToArray();
    }

    [TestCase(false, 2)]
    [TestCase(false, 3)]
    [TestCase(false, 4)]
    [TestCase(true, 2)]
    [TestCase(true, 3)]
    [TestCase(true, 4)]
    public void BandsGiveTheSameBytesAsOneThread(bool depthwise, int threads)
    {
        var r = new Rand(depthwise ? 700 + threads : 800 + threads);
        int split = 0, pixels = 0;
        for (int k = 0; k < (depthwise ? 150 : 60); k++)
        {
            var m = Model.Load(RandomConv(r, depthwise));
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            if (probe.ParallelOpCount > 0) split++;
            if (probe.PixelBandOpCount > 0) pixels++;
            var input = r.S8(probe.GetInput().Length);
            var one = Run(m, input, new InterpreterOptions());
            var reference = Run(m, input, new InterpreterOptions { ReferenceKernelsOnly = true, Threads = threads });
            var many = Run(m, input, new InterpreterOptions { Threads = threads });
            Assert.That(many, Is.EqualTo(one), $"case {k}: {threads} threads, fast kernels");
            Assert.That(reference, Is.EqualTo(one), $"case {k}: {threads} threads, reference kernels");
        }
        // Depthwise layers have far fewer MACs per output, so fewer random ones reach MinParallelMacs.
        Assert.That(split, Is.GreaterThan(depthwise ? 8 : 20), "enough of the random cases were large enough to be split");
        TestContext.Out.WriteLine($"{split} split, {pixels} by pixels");
        // Heights that do not divide into the bands are split into ranges of pixels: Conv2D (partial rows over input windows
        // where no rows kernel takes the range), and depthwise where the x64 staged-rows kernel takes the range whole; on
        // other machines depthwise layers keep bands of rows (on one-row windows they measured slower).
        if (!depthwise) Assert.That(pixels, Is.GreaterThan(8), "enough of the split cases were split by pixels");
        else if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.That(pixels, Is.GreaterThan(0), "some of the depthwise split cases were split by pixels");
        else Assert.That(pixels, Is.Zero, "depthwise layers keep bands of rows");
    }

    [TestCase(2)]
    [TestCase(3)]
    public void PointwiseBandsOfPixelsGiveTheSameBytesAsOneThread(int threads)
    {
        var r = new Rand(900 + threads);
        int split = 0;
        for (int k = 0; k < 60; k++)
        {
            var m = Model.Load(RandomConv(r, depthwise: false, pointwise: true));
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            if (probe.ParallelOpCount > 0) split++;
            var input = r.S8(probe.GetInput().Length);
            var one = Run(m, input, new InterpreterOptions());
            var reference = Run(m, input, new InterpreterOptions { ReferenceKernelsOnly = true });
            var many = Run(m, input, new InterpreterOptions { Threads = threads });
            Assert.That(one, Is.EqualTo(reference), $"case {k}: one thread, fast against reference kernels");
            Assert.That(many, Is.EqualTo(one), $"case {k}: {threads} threads in bands of pixels");
        }
        Assert.That(split, Is.GreaterThan(20), "enough of the random cases were large enough to be split");
    }

    [Test]
    public void PointwiseSevenBySevenSplitsByPixels()
    {
        // 7x7 pixels split 25/24 (not 4/3 rows): the same bytes, with the one op split.
        var r = new Rand(77);
        var w = new ModelWriter();
        var qi = (S: 0.05f, Z: 3);
        var qo = (S: 0.2f, Z: -5);
        int x = w.AddActivation(TensorType.Int8, [1, 7, 7, 64], w.AddQuantization([qi.S], qi.Z));
        int y = w.AddActivation(TensorType.Int8, [1, 7, 7, 64], w.AddQuantization([qo.S], qo.Z));
        var fscales = r.Scales(64, 0.002, 0.02);
        int f = w.AddConstant<sbyte>(TensorType.Int8, [64, 1, 1, 64], r.S8(64 * 64, -127, 127), w.AddQuantization(fscales, 0, 0));
        int b = w.AddConstant<int>(TensorType.Int32, [64], r.I32(64, -2000, 2000), -1);
        var p = new Conv2DParams
        {
            StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, DepthMultiplier = 1,
            InputOffset = -qi.Z, OutputOffset = qo.Z, ActivationMin = qo.Z, ActivationMax = 127, FoldedBiasOffset = -1,
        };
        var (m, s) = ConverterMath.PerChannel(qi.S, fscales, qo.S);
        p.MultipliersOffset = w.AddConstantData<int>(m);
        p.ShiftsOffset = w.AddConstantData<int>(s);
        w.AddOp(OpType.Conv2D, [x, f, b], [y], p, 0);
        w.AddInput("x", x);
        w.AddOutput("y", y);
        var model = Model.Load(w.Build());
        using var probe = new Interpreter(model, new InterpreterOptions { Threads = 2 });
        Assert.That(probe.ParallelOpCount, Is.EqualTo(1));
        var input = r.S8(7 * 7 * 64);
        Assert.That(Run(model, input, new InterpreterOptions { Threads = 2 }), Is.EqualTo(Run(model, input, new InterpreterOptions { ReferenceKernelsOnly = true })));
    }

    /// <summary>
    /// A one-op blob of random geometry large enough to be split: Add or Sub of three equal shapes, Max or
    /// Average pooling (random window, strides and asymmetric padding) or a channel Concatenation of two
    /// inputs (one rescaled, one copied), or a Mean over H x W of 16-200 channels (split by channel ranges).
    /// </summary>
    private static byte[] RandomElementOp(Rand r, OpType type)
    {
        var w = new ModelWriter();
        int h = r.Int(2, 40), wd = r.Int(1, 30), c = type == OpType.Mean ? r.Int(16, 200) : r.Int(1, 96);
        var qa = (S: r.Scale(0.02, 0.2), Z: r.Int(-20, 20));
        var qo = (S: r.Scale(0.05, 0.5), Z: r.Int(-20, 20));
        int x = w.AddActivation(TensorType.Int8, [1, h, wd, c], w.AddQuantization([qa.S], qa.Z));
        switch (type)
        {
            case OpType.Add:
            case OpType.Sub:
            {
                var qb = (S: r.Scale(0.02, 0.2), Z: r.Int(-20, 20));
                int b = w.AddActivation(TensorType.Int8, [1, h, wd, c], w.AddQuantization([qb.S], qb.Z));
                int y = w.AddActivation(TensorType.Int8, [1, h, wd, c], w.AddQuantization([qo.S], qo.Z));
                w.AddOp(type, [x, b], [y], ConverterMath.Add(qa.S, qa.Z, qb.S, qb.Z, qo.S, qo.Z, r.Bool() ? qo.Z : -128));
                w.AddInput("a", x);
                w.AddInput("b", b);
                w.AddOutput("y", y);
                break;
            }
            case OpType.Mean:
            {
                int y = w.AddActivation(TensorType.Int8, [1, 1, 1, c], w.AddQuantization([qo.S], qo.Z));
                w.AddOp(OpType.Mean, [x], [y], ConverterMath.Mean(qa.S, qa.Z, qo.S, qo.Z, h * wd));
                w.AddInput("x", x);
                w.AddOutput("y", y);
                break;
            }
            case OpType.MaxPool2D:
            case OpType.AveragePool2D:
            {
                int fh = System.Math.Min(r.Int(1, 4), h), fw = System.Math.Min(r.Int(1, 4), wd), sh = r.Int(1, 3), sw = r.Int(1, 3);
                int pt = r.Int(0, fh - 1), pb = r.Int(0, fh - 1), pl = r.Int(0, fw - 1), pr = r.Int(0, fw - 1);
                int oh = (h + pt + pb - fh) / sh + 1, ow = (wd + pl + pr - fw) / sw + 1;
                int y = w.AddActivation(TensorType.Int8, [1, oh, ow, c], w.AddQuantization([qa.S], qa.Z));
                w.AddOp(type, [x], [y], new PoolParams
                {
                    StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                    ActivationMin = r.Bool() ? qa.Z : -128, ActivationMax = 127,
                });
                w.AddInput("x", x);
                w.AddOutput("y", y);
                break;
            }
            default:
            {
                int c2 = r.Int(1, 40);
                int b = w.AddActivation(TensorType.Int8, [1, h, wd, c2], w.AddQuantization([qo.S], qo.Z));
                int y = w.AddActivation(TensorType.Int8, [1, h, wd, c + c2], w.AddQuantization([qo.S], qo.Z));
                var ra = ConverterMath.ConcatInput(qa.S, qa.Z, qo.S, qo.Z);
                w.AddOp(OpType.Concatenation, [x, b], [y], new ConcatParams
                {
                    Axis = 3, InputCount = 2, OutputOffset = qo.Z, In0Offset = ra.Offset, In0Multiplier = ra.Multiplier, In0Shift = ra.Shift,
                });
                w.AddInput("a", x);
                w.AddInput("b", b);
                w.AddOutput("y", y);
                break;
            }
        }
        return w.Build();
    }

    [TestCase(OpType.Add, 2)]
    [TestCase(OpType.Sub, 3)]
    [TestCase(OpType.MaxPool2D, 2)]
    [TestCase(OpType.AveragePool2D, 3)]
    [TestCase(OpType.Concatenation, 2)]
    [TestCase(OpType.Concatenation, 4)]
    [TestCase(OpType.Mean, 2)]
    [TestCase(OpType.Mean, 3)]
    [TestCase(OpType.Mean, 4)]
    public void SplitElementOpsGiveTheSameBytesAsOneThread(OpType type, int threads)
    {
        var r = new Rand(900 + (int)type * 10 + threads);
        int split = 0;
        for (int k = 0; k < 40; k++)
        {
            var m = Model.Load(RandomElementOp(r, type));
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            if (probe.ParallelOpCount > 0) split++;
            var inputs = new sbyte[m.Inputs.Count][];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = r.S8(probe.GetInput(i).Length);
            var one = RunInputs(m, inputs, new InterpreterOptions());
            var reference = RunInputs(m, inputs, new InterpreterOptions { ReferenceKernelsOnly = true, Threads = threads });
            var many = RunInputs(m, inputs, new InterpreterOptions { Threads = threads });
            Assert.That(many, Is.EqualTo(one), $"case {k}: {type}, {threads} threads, fast kernels");
            Assert.That(reference, Is.EqualTo(one), $"case {k}: {type}, {threads} threads, reference kernels");
        }
        Assert.That(split, Is.GreaterThan(8), "enough of the random cases were large enough to be split");
    }

    /// <summary>A quantized activation of the given NHWC dims with a random scale and zero point.</summary>
    private static (int Tensor, float S, int Z) Activation(ModelWriter w, Rand r, int[] dims)
    {
        var q = (S: r.Scale(0.02, 0.3), Z: r.Int(-20, 20));
        return (w.AddActivation(TensorType.Int8, dims, w.AddQuantization([q.S], q.Z)), q.S, q.Z);
    }

    /// <summary>A Conv2D or DepthwiseConv2D from <paramref name="x"/> (NHWC dims <paramref name="xd"/>) to a new tensor.</summary>
    private static ((int Tensor, float S, int Z) Y, int[] Dims) Convolution(ModelWriter w, Rand r, (int Tensor, float S, int Z) x, int[] xd,
        bool depthwise, int cout, int kh, int kw, int sh, int sw, int pt, int pb, int pl, int pr)
    {
        int cin = xd[3];
        if (depthwise) cout = cin;
        int oh = (xd[1] + pt + pb - kh) / sh + 1, ow = (xd[2] + pl + pr - kw) / sw + 1;
        int[] yd = [1, oh, ow, cout];
        var y = Activation(w, r, yd);
        int[] fdims = depthwise ? [1, kh, kw, cout] : [cout, kh, kw, cin];
        var fscales = r.Scales(cout, 0.002, 0.02);
        int f = w.AddConstant<sbyte>(TensorType.Int8, fdims, r.S8(fdims[0] * kh * kw * fdims[3], -127, 127), w.AddQuantization(fscales, 0, depthwise ? 3 : 0));
        int b = w.AddConstant<int>(TensorType.Int32, [cout], r.I32(cout, -2000, 2000), -1);
        var p = new Conv2DParams
        {
            StrideH = sh, StrideW = sw, DilationH = 1, DilationW = 1, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr, DepthMultiplier = 1,
            InputOffset = -x.Z, OutputOffset = y.Z, ActivationMin = r.Bool() ? y.Z : -128, ActivationMax = 127, FoldedBiasOffset = -1,
        };
        var (m, s) = ConverterMath.PerChannel(x.S, fscales, y.S);
        p.MultipliersOffset = w.AddConstantData<int>(m);
        p.ShiftsOffset = w.AddConstantData<int>(s);
        w.AddOp(depthwise ? OpType.DepthwiseConv2D : OpType.Conv2D, [x.Tensor, f, b], [y.Tensor], p, depthwise ? 0 : KernelScratch.Conv2DBytes(kh, kw, cin, ow));
        return (y, yd);
    }

    /// <summary>
    /// A random chain: a first op (3x3-ish Conv2D with random strides and padding, DepthwiseConv2D, pointwise
    /// Conv2D, or Add) followed by 2-5 ops that read only the pixels they write (pointwise Conv2D, Add/Sub of the
    /// current tensor and an earlier one of the same shape), then sometimes a Mean that ends the chain. The arena
    /// planner reuses memory between them, which is what the chain's overlap check has to see.
    /// </summary>
    private static byte[] RandomChain(Rand r)
    {
        var w = new ModelWriter();
        int h = r.Int(3, 20), wd = r.Int(3, 20), c = r.Int(1, 40);
        int[] xd = [1, h, wd, c];
        var x = Activation(w, r, xd);
        w.AddInput("x", x.Tensor);
        var cur = x;
        int[] cd = xd;
        switch (r.Int(0, 3))
        {
            case 0:
            {
                int kh = r.Int(1, 3), kw = r.Int(1, 3), sh = r.Int(1, 2), sw = r.Int(1, 2);
                (cur, cd) = Convolution(w, r, cur, cd, false, r.Int(1, 48), kh, kw, sh, sw, r.Int(0, kh - 1), r.Int(0, kh - 1), r.Int(0, kw - 1), r.Int(0, kw - 1));
                break;
            }
            case 1:
                (cur, cd) = Convolution(w, r, cur, cd, true, 0, 3, 3, r.Int(1, 2), r.Int(1, 2), 1, 1, 1, 1);
                break;
            case 2:
                (cur, cd) = Convolution(w, r, cur, cd, false, r.Int(1, 64), 1, 1, 1, 1, 0, 0, 0, 0);
                break;
            default:
            {
                var b = Activation(w, r, cd);
                w.AddInput("b", b.Tensor);
                var y = Activation(w, r, cd);
                w.AddOp(OpType.Add, [cur.Tensor, b.Tensor], [y.Tensor], ConverterMath.Add(cur.S, cur.Z, b.S, b.Z, y.S, y.Z, r.Bool() ? y.Z : -128));
                cur = y;
                break;
            }
        }
        var same = new List<((int Tensor, float S, int Z) T, int[] Dims)> { (cur, cd) };
        int steps = r.Int(2, 5);
        for (int k = 0; k < steps; k++)
        {
            var partner = same[r.Int(0, same.Count - 1)];
            if (r.Int(0, 2) > 0 || partner.Dims[3] != cd[3])
            {
                (cur, cd) = Convolution(w, r, cur, cd, false, r.Bool() ? cd[3] : r.Int(1, 64), 1, 1, 1, 1, 0, 0, 0, 0);
            }
            else
            {
                var y = Activation(w, r, cd);
                bool sub = r.Bool();
                w.AddOp(sub ? OpType.Sub : OpType.Add, [cur.Tensor, partner.T.Tensor], [y.Tensor], ConverterMath.Add(cur.S, cur.Z, partner.T.S, partner.T.Z, y.S, y.Z, r.Bool() ? y.Z : -128));
                cur = y;
            }
            same.Add((cur, cd));
        }
        if (r.Bool())
        {
            var y = Activation(w, r, [1, 1, 1, cd[3]]);
            w.AddOp(OpType.Mean, [cur.Tensor], [y.Tensor], ConverterMath.Mean(cur.S, cur.Z, y.S, y.Z, cd[1] * cd[2]));
            cur = y;
        }
        w.AddOutput("y", cur.Tensor);
        return w.Build();
    }

    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void ChainsGiveTheSameBytesAsOneThread(int threads)
    {
        // Each random model runs with the interpreter's own arena (tensors may be moved so chains grow) and over an
        // arena of exactly the planned size (chains end where parts would overlap).
        var r = new Rand(1300 + threads);
        int chained = 0, chainedOps = 0, moved = 0, staged = 0;
        for (int k = 0; k < 80; k++)
        {
            var m = Model.Load(RandomChain(r));
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            // Consecutive chains and split ops run as one job of stages (a wait for every part between two stages).
            staged += probe.StagedRunCount;
            foreach (var (first, last) in probe.Chains())
            {
                chained++;
                chainedOps += last - first + 1;
                for (int i = first; i <= last; i++) Assert.That(probe.ChainStart(i), Is.EqualTo(first), $"case {k}: op {i} runs in the chain from {first}");
                if (last + 1 < m.Ops.Count) Assert.That(probe.ChainStart(last + 1), Is.Not.EqualTo(first));
            }
            var inputs = new sbyte[m.Inputs.Count][];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = r.S8(probe.GetInput(i).Length);
            var reference = RunInputs(m, inputs, new InterpreterOptions { ReferenceKernelsOnly = true });
            var one = RunInputs(m, inputs, new InterpreterOptions());
            var many = RunInputs(m, inputs, new InterpreterOptions { Threads = threads });
            var manyReference = RunInputs(m, inputs, new InterpreterOptions { ReferenceKernelsOnly = true, Threads = threads });
            Assert.That(one, Is.EqualTo(reference), $"case {k}: one thread against the reference kernels");
            Assert.That(many, Is.EqualTo(one), $"case {k}: {threads} threads, fast kernels");
            Assert.That(manyReference, Is.EqualTo(one), $"case {k}: {threads} threads, reference kernels");
            using var exact = new Interpreter(m, new byte[m.ArenaBytes], new InterpreterOptions { Threads = threads });
            for (int i = 0; i < inputs.Length; i++) inputs[i].CopyTo(exact.GetInput(i));
            exact.Invoke();
            Assert.That(exact.GetOutput().ToArray(), Is.EqualTo(one), $"case {k}: {threads} threads over the planned arena");
            if (probe.MovedTensorBytes > 0) moved++;
            // Jobs the workers did not help with make the interpreter run the next ones as whole ops on the caller:
            // the same bytes (here forced for the first chain or split op).
            using var alone = new Interpreter(m, new InterpreterOptions { Threads = threads });
            alone.RunAloneFor(1);
            for (int i = 0; i < inputs.Length; i++) inputs[i].CopyTo(alone.GetInput(i));
            alone.Invoke();
            Assert.That(alone.GetOutput().ToArray(), Is.EqualTo(one), $"case {k}: {threads} threads, first job on the caller alone");
        }
        Assert.That(chained, Is.GreaterThan(20), "enough of the random cases formed chains");
        Assert.That(moved, Is.GreaterThan(3), "enough of the random cases moved a tensor to grow a chain");
        Assert.That(staged, Is.GreaterThan(3), "some of the random cases ran consecutive stages as one job");
        TestContext.Out.WriteLine($"{chained} chains of {chainedOps} ops in 80 random models, {moved} with moved tensors, {staged} runs of stages");
    }

    /// <summary>Whether 3x3 stride-1 convolutions from 16 channels run a Winograd kernel here: x64 with AVX2, arm64 without Dp.</summary>
    private static bool WinogradHere => System.Runtime.Intrinsics.X86.Avx2.IsSupported
        || (System.Runtime.Intrinsics.Arm.AdvSimd.Arm64.IsSupported && !System.Runtime.Intrinsics.Arm.Dp.IsSupported);

    /// <summary>
    /// Winograd convolutions split by ranges of 2x2 tiles (every Winograd kernel: AVX-512, AVX2, arm64 lanes), alone and heading chains: their followers (Add/Sub
    /// with another input, pointwise Conv2D) run over the tiles' pixels, up to three ranges of pixels per part. Random
    /// sizes (odd ones: partial tiles), padding 0-1 on each side, 2-4 threads; the same bytes as one thread and the
    /// reference, with the interpreter's own arena and over the planned arena alone.
    /// </summary>
    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void WinogradTileSplitsGiveTheSameBytesAsOneThread(int threads)
    {
        var r = new Rand(5100 + threads);
        int tileSplit = 0, chained = 0;
        for (int k = 0; k < 30; k++)
        {
            var w = new ModelWriter();
            int[] xd = [1, r.Int(3, 20), r.Int(3, 20), r.Int(16, 48)];
            var x = Activation(w, r, xd);
            w.AddInput("x", x.Tensor);
            var (cur, cd) = Convolution(w, r, x, xd, false, r.Int(1, 48), 3, 3, 1, 1, r.Int(0, 1), r.Int(0, 1), r.Int(0, 1), r.Int(0, 1));
            int followers = r.Int(0, 3);
            for (int f = 0; f < followers; f++)
            {
                if (r.Bool())
                {
                    (cur, cd) = Convolution(w, r, cur, cd, false, r.Int(1, 48), 1, 1, 1, 1, 0, 0, 0, 0);
                    continue;
                }
                var b = Activation(w, r, cd);
                w.AddInput($"b{f}", b.Tensor);
                var y = Activation(w, r, cd);
                w.AddOp(r.Bool() ? OpType.Sub : OpType.Add, [cur.Tensor, b.Tensor], [y.Tensor], ConverterMath.Add(cur.S, cur.Z, b.S, b.Z, y.S, y.Z, r.Bool() ? y.Z : -128));
                cur = y;
            }
            w.AddOutput("y", cur.Tensor);
            var m = Model.Load(w.Build());
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            tileSplit += probe.TileBandOpCount;
            foreach (var (first, last) in probe.Chains())
                if (first == 0) chained++;
            var inputs = new sbyte[m.Inputs.Count][];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = r.S8(probe.GetInput(i).Length);
            var reference = RunInputs(m, inputs, new InterpreterOptions { ReferenceKernelsOnly = true });
            var one = RunInputs(m, inputs, new InterpreterOptions());
            Assert.That(one, Is.EqualTo(reference), $"case {k}: one thread against the reference kernels");
            Assert.That(RunInputs(m, inputs, new InterpreterOptions { Threads = threads }), Is.EqualTo(one), $"case {k}: {threads} threads");
            using var exact = new Interpreter(m, new byte[m.ArenaBytes], new InterpreterOptions { Threads = threads });
            for (int i = 0; i < inputs.Length; i++) inputs[i].CopyTo(exact.GetInput(i));
            exact.Invoke();
            Assert.That(exact.GetOutput().ToArray(), Is.EqualTo(one), $"case {k}: {threads} threads over the planned arena");
            // Op by op too (each split op its own job, InvokeOp): the tile ranges without the chain.
            using var byOp = new Interpreter(m, new InterpreterOptions { Threads = threads });
            for (int j = 0; j < inputs.Length; j++) inputs[j].CopyTo(byOp.GetInput(j));
            for (int j = 0; j < m.Ops.Count; j++) byOp.InvokeOp(j);
            Assert.That(byOp.GetOutput().ToArray(), Is.EqualTo(one), $"case {k}: {threads} threads op by op");
        }
        if (!WinogradHere)
        {
            Assert.That(tileSplit, Is.EqualTo(0));
            Assert.Ignore("no Winograd kernel here (arm64 with Dp keeps the direct SDOT kernels): the convolutions are split by rows (the bytes above still checked)");
        }
        Assert.That(tileSplit, Is.GreaterThan(20), "convolutions split by tiles");
        Assert.That(chained, Is.GreaterThan(5), "tile-split convolutions heading chains");
        TestContext.Out.WriteLine($"{tileSplit} tile-split convolutions in 30 random models, {chained} heading chains");
    }

    [TestCase(2)]
    [TestCase(3)]
    [TestCase(4)]
    public void SevenRowMapsSplitByPixels(int threads)
    {
        // The zoo's 7x7 layers: depthwise 3x3 (pad 1, stride 1 and 2) and a Conv2D 3x3 stride 2 from 14x14, split
        // into balanced ranges of pixels (partial rows) instead of 4/3 rows (depthwise: on x64, where its staged-rows kernel
        // takes a range of pixels whole); the same bytes as one thread and the reference.
        var r = new Rand(4700 + threads);
        (int H, int W, int C, bool Depthwise, int Stride, int Cout)[] layers =
            [(7, 7, 90, true, 1, 0), (7, 7, 150, true, 1, 0), (14, 14, 90, true, 2, 0), (14, 14, 28, false, 2, 60), (13, 9, 20, false, 2, 36), (7, 5, 160, true, 1, 0), (7, 7, 64, false, 1, 64)];
        foreach (var l in layers)
        {
            var w = new ModelWriter();
            int[] xd = [1, l.H, l.W, l.C];
            var x = Activation(w, r, xd);
            w.AddInput("x", x.Tensor);
            var (y, _) = Convolution(w, r, x, xd, l.Depthwise, l.Cout, 3, 3, l.Stride, l.Stride, 1, 1, 1, 1);
            w.AddOutput("y", y.Tensor);
            var m = Model.Load(w.Build());
            using var probe = new Interpreter(m, new InterpreterOptions { Threads = threads });
            Assert.That(probe.ParallelOpCount, Is.EqualTo(1), $"{l}: split");
            // A stride-1 Conv2D from 16 channels runs a Winograd kernel where there is one: split by tiles instead.
            bool tiles = !l.Depthwise && l.Stride == 1 && WinogradHere;
            bool pixels = !tiles && (!l.Depthwise || System.Runtime.Intrinsics.X86.Avx2.IsSupported);
            Assert.That(probe.PixelBandOpCount, Is.EqualTo(pixels ? 1 : 0), $"{l}: split by pixels (Conv2D; depthwise with the x64 staged-rows kernel) or rows");
            Assert.That(probe.TileBandOpCount, Is.EqualTo(tiles ? 1 : 0), $"{l}: split by Winograd tiles");
            var input = r.S8(l.H * l.W * l.C);
            var reference = Run(m, input, new InterpreterOptions { ReferenceKernelsOnly = true });
            Assert.That(Run(m, input, new InterpreterOptions()), Is.EqualTo(reference), $"{l}: one thread");
            Assert.That(Run(m, input, new InterpreterOptions { Threads = threads }), Is.EqualTo(reference), $"{l}: {threads} threads");
            Assert.That(Run(m, input, new InterpreterOptions { Threads = threads, ReferenceKernelsOnly = true }), Is.EqualTo(reference), $"{l}: {threads} threads, reference kernels");
        }
    }

    [Test]
    public void AChainStopsBeforeAnOpWritingBytesAnotherPartStillReads()
    {
        // x (8 ch) -> A: 1x1 to 64 ch -> B: 1x1 to 8 ch -> C: 1x1 to 32 ch. C's output may take A's bytes (A is dead
        // after B), but at 32 instead of 64 bytes per pixel: part 1 of C would overwrite bytes part 0 of B reads.
        var r = new Rand(31);
        var w = new ModelWriter();
        int[] xd = [1, 16, 16, 8];
        var x = Activation(w, r, xd);
        w.AddInput("x", x.Tensor);
        var (a, ad) = Convolution(w, r, x, xd, false, 64, 1, 1, 1, 1, 0, 0, 0, 0);
        var (b, bd) = Convolution(w, r, a, ad, false, 8, 1, 1, 1, 1, 0, 0, 0, 0);
        var (c, _) = Convolution(w, r, b, bd, false, 32, 1, 1, 1, 1, 0, 0, 0, 0);
        w.AddOutput("y", c.Tensor);
        var m = Model.Load(w.Build());
        var ta = m.Tensors[a.Tensor];
        var tc = m.Tensors[c.Tensor];
        Assume.That(tc.Offset < ta.Offset + ta.ByteLength && ta.Offset < tc.Offset + tc.ByteLength, "the planner put C's output over A's");
        var input = r.S8(16 * 16 * 8);
        var expected = Run(m, input, new InterpreterOptions { ReferenceKernelsOnly = true });
        // Over the caller's arena (exactly the planned bytes) the chain must end before C.
        using (var own = new Interpreter(m, new byte[m.ArenaBytes], new InterpreterOptions { Threads = 2 }))
        {
            Assert.That(own.Chains().ToArray(), Is.EqualTo(new[] { (0, 1) }), "A and B chained, C not");
            input.CopyTo(own.GetInput());
            own.Invoke();
            Assert.That(own.GetOutput().ToArray(), Is.EqualTo(expected));
        }
        // With its own arena the interpreter moves C's output to bytes of its own, after the planned arena.
        using var moved = new Interpreter(m, new InterpreterOptions { Threads = 2 });
        Assert.That(moved.Chains().ToArray(), Is.EqualTo(new[] { (0, 2) }), "C joins the chain once its output is moved");
        Assert.That(moved.MovedTensorBytes, Is.GreaterThanOrEqualTo(tc.ByteLength));
        input.CopyTo(moved.GetInput());
        moved.Invoke();
        Assert.That(moved.GetOutput().ToArray(), Is.EqualTo(expected));
    }

    private static sbyte[] RunInputs(Model m, sbyte[][] inputs, InterpreterOptions options)
    {
        using var interp = new Interpreter(m, options);
        for (int i = 0; i < inputs.Length; i++) inputs[i].CopyTo(interp.GetInput(i));
        interp.Invoke();
        return interp.GetOutput().ToArray();
    }

    [Test]
    public void SampleChainAgreesAndAllocatesNothingPerInvoke()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var input = new Rand(9).S8(new Interpreter(m).GetInput().Length);
        var one = Run(m, input, new InterpreterOptions());
        using var interp = new Interpreter(m, new InterpreterOptions { Threads = 2 });
        input.CopyTo(interp.GetInput());
        for (int i = 0; i < 20; i++) interp.Invoke();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) interp.Invoke();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(interp.GetOutput().ToArray(), Is.EqualTo(one));
        Assert.That(allocated, Is.Zero, "bytes allocated by 200 invokes with 2 threads");
        Assert.That(ProcessAllocation.Least(() => { for (int i = 0; i < 200; i++) interp.Invoke(); }), Is.Zero,
            "bytes allocated by the whole process (the worker too) over 200 invokes with 2 threads");
        interp.RunAloneFor(Interpreter.SoloJobs);
        before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 200; i++) interp.Invoke();
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, "bytes allocated by 200 invokes with the jobs on the caller alone");
    }

    [TestCase("fashion_mobilenetv2", 2)]
    [TestCase("fashion_mobilenetv2", 3)]
    [TestCase("fashion_resnet", 2)]
    [TestCase("fashion_resnet", 4)]
    public void ZooModelsWithChainsAgreeAndAllocateNothingPerInvoke(string name, int threads)
    {
        // The two largest zoo models: chains, pixel ranges, a split Mean; their pinned golden output, and no allocation.
        var (m, input, golden) = LoadZoo(name);
        using var interp = new Interpreter(m, new InterpreterOptions { Threads = threads });
        Assert.That(interp.Chains().Count(), Is.GreaterThanOrEqualTo(2), "chains formed");
        Assert.That(interp.StagedRunCount, Is.GreaterThanOrEqualTo(1), "consecutive chains and split ops run as one job of stages");
        Assert.That(interp.ThreadBytes, Is.GreaterThan(interp.MovedTensorBytes), "ThreadBytes: the moved tensors and every part's scratch");
        Assert.That(new Interpreter(m).ThreadBytes, Is.Zero, "one thread holds the planned arena only");
        int inLen = interp.GetInput().Length, outLen = interp.GetOutput().Length;
        int n = input.Length / inLen;
        Assert.That(n, Is.GreaterThan(0));
        for (int k = 0; k < n; k++)
        {
            input.AsSpan(k * inLen, inLen).CopyTo(interp.GetInput());
            interp.Invoke();
            Assert.That(interp.GetOutput().ToArray(), Is.EqualTo(golden.AsSpan(k * outLen, outLen).ToArray()), $"sample {k}: the pinned golden output");
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 300; i++)
        {
            input.AsSpan(0, inLen).CopyTo(interp.GetInput());
            interp.Invoke();
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero, $"bytes allocated by 300 invokes with {threads} threads");
        // Ten invokes per try (a few milliseconds): 300 of the larger model took longer than the test host's own period
        // of allocation (168 bytes every 50-100 ms) when another test project ran beside this one, so every try was hit.
        long all = ProcessAllocation.Least(() =>
        {
            for (int i = 0; i < 10; i++)
            {
                input.AsSpan(0, inLen).CopyTo(interp.GetInput());
                interp.Invoke();
            }
        });
        Assert.That(all, Is.Zero, $"bytes allocated by the whole process (the workers too) over 10 invokes with {threads} threads, the least of 20 tries");
        Assert.That(interp.GetOutput().ToArray(), Is.EqualTo(golden.AsSpan(0, outLen).ToArray()));
    }

    /// <summary>
    /// A staged run whose workers never come (held by the test): at the first stage's end the caller claims every slot
    /// no worker has claimed and runs its parts, through every stage; the pinned golden bytes, and again once the
    /// workers are back.
    /// </summary>
    [TestCase("fashion_resnet", 2)]
    [TestCase("fashion_mobilenetv2", 3)]
    public void StagedRunsFinishOnTheCallerWhenNoWorkerComes(string name, int threads)
    {
        var (m, input, golden) = LoadZoo(name);
        using var interp = new Interpreter(m, new InterpreterOptions { Threads = threads });
        Assert.That(interp.StagedRunCount, Is.GreaterThanOrEqualTo(1));
        var pool = interp.Pool!;
        int inLen = interp.GetInput().Length, outLen = interp.GetOutput().Length;
        int n = System.Math.Min(input.Length / inLen, 20);
        foreach (bool held in new[] { true, false, true })
        {
            pool.Held = held;
            long claims = pool.CallerClaims;
            for (int k = 0; k < n; k++)
            {
                interp.RunAloneFor(0); // hand every job out, however many went unhelped
                input.AsSpan(k * inLen, inLen).CopyTo(interp.GetInput());
                interp.Invoke();
                Assert.That(interp.GetOutput().ToArray(), Is.EqualTo(golden.AsSpan(k * outLen, outLen).ToArray()), $"held {held}, sample {k}");
            }
            if (held)
                Assert.That(pool.CallerClaims - claims, Is.GreaterThanOrEqualTo((long)n * interp.StagedRunCount * (threads - 1)),
                    "the caller claimed every worker's slot of every staged run");
        }
    }

    /// <summary>A zoo model with its committed input samples and the golden outputs pinned for them.</summary>
    private static (Model Model, sbyte[] Input, sbyte[] Golden) LoadZoo(string name)
    {
        string stem = Path.Combine(AppContext.BaseDirectory, "zoo", "eqm", name);
        return (Model.Load(File.ReadAllBytes(stem + ".eqm")),
            MemoryMarshal.Cast<byte, sbyte>(File.ReadAllBytes(stem + ".input.bin")).ToArray(),
            MemoryMarshal.Cast<byte, sbyte>(File.ReadAllBytes(stem + ".output.bin")).ToArray());
    }

    [Test]
    public void ThreadCountOutsideOneToSixtyFourIsRejected()
    {
        var m = Model.Load(SampleModels.VisionChain());
        Assert.Throws<ArgumentOutOfRangeException>(() => new Interpreter(m, new InterpreterOptions { Threads = 0 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => new Interpreter(m, new InterpreterOptions { Threads = 65 }));
    }

    [Test]
    public void DisposeStopsTheWorkers()
    {
        var m = Model.Load(RandomConvLargeEnough());
        var interp = new Interpreter(m, new InterpreterOptions { Threads = 3 });
        Assert.That(interp.ParallelOpCount, Is.EqualTo(1));
        interp.Invoke();
        interp.Dispose();
        interp.Dispose();
        Assert.Throws<ObjectDisposedException>(() => interp.Invoke());
    }

    private static byte[] RandomConvLargeEnough()
    {
        var r = new Rand(4242);
        while (true)
        {
            var blob = RandomConv(r, depthwise: false);
            using var probe = new Interpreter(Model.Load(blob), new InterpreterOptions { Threads = 3 });
            if (probe.ParallelOpCount == 1) return blob;
        }
    }
}
