using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The x64 one-input-channel Conv2D (Conv2D.Cin1.Avx2.cs), the x64 depthwise over row pairs
/// (DepthwiseConv2D.Rows.Avx2.cs) and their in-register requantizers (ChannelRequantizer.Avx2.cs) against the
/// reference, byte for byte: odd channel counts (every rest of the 16- and 8-channel groups), strides, dilations,
/// paddings, activation bounds, per-channel multipliers with left and right shifts, int.MinValue multipliers. On an
/// AVX-512 machine the 512-bit groups run here and the AVX2 ones in FastPathChildProcessTests' child with
/// DOTNET_EnableAVX512=0 (and the reverse is not possible); without AVX2 the paths report themselves as not taken and
/// the tests check that.
/// </summary>
public class StemDepthwiseFastPathTests
{
    /// <summary>Every rest of the 16- and 8-channel groups, and channel counts of real stems and heads (4, 12, 20, 24, 28, 44, 60, 108, ...).</summary>
    private static readonly int[] Channels = [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 23, 24, 25, 28, 31, 33, 36, 40, 41, 44, 60, 90, 108, 112, 116, 150];

    /// <summary>Multipliers and shifts as converters make them, plus left shifts (up to 4) and some int.MinValue multipliers.</summary>
    private static void WildRequantization(Random r, FastPathCases.Conv c)
    {
        for (int i = 0; i < c.M.Length; i++)
        {
            if (r.Next(3) == 0)
                c.S[i] = r.Next(0, 5);
            if (r.Next(12) == 0)
                c.M[i] = int.MinValue;
            else if (r.Next(12) == 0)
                c.M[i] = r.Next(int.MinValue, int.MaxValue); // any int32: the arithmetic is defined for every multiplier
        }
        if (r.Next(3) == 0)
            for (int i = 0; i < c.Bias.Length; i++)
                c.Bias[i] = r.Next(int.MinValue / 2, int.MaxValue / 2); // large accumulators: saturation, wrapping offsets
    }

    private static void CheckStem(FastPathCases.Conv c, string what)
    {
        var packed = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        var got = new sbyte[c.Out.FlatSize];
        bool ran = Conv2D.TryEvalS8Cin1Avx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, got, c.Out);
        Assert.That(ran, Is.EqualTo(Avx2.IsSupported), $"{what}: {c}");
        var expected = c.Reference();
        if (ran)
        {
            int d = FastPathCases.FirstDifference(got, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"{what}: element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
        }
        // The dispatcher as the interpreter calls it.
        var viaDispatch = new sbyte[c.Out.FlatSize];
        Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, viaDispatch, c.Out);
        int e = FastPathCases.FirstDifference(viaDispatch, expected);
        Assert.That(e, Is.EqualTo(-1), () => $"{what} (dispatcher): element {e}; {c}");
    }

    private static void CheckDepthwise(FastPathCases.Conv c, string what)
    {
        var packed = DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        var got = new sbyte[c.Out.FlatSize];
        bool ran = packed is not null && DepthwiseConv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, got, c.Out);
        Assert.That(ran, Is.EqualTo(Avx2.IsSupported), $"{what}: {c}");
        if (!ran) return;
        var expected = c.Reference();
        int d = FastPathCases.FirstDifference(got, expected);
        Assert.That(d, Is.EqualTo(-1), () => $"{what}: element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
    }

    [Test]
    public void OneInputChannelEveryChannelRest([ValueSource(nameof(Channels))] int cout)
    {
        var r = new Random(900 + cout);
        for (int i = 0; i < 12; i++)
        {
            // 1..5 x 1..5 taps (odd tap counts end in a zero weight), strides 1-2, dilations 1-2, paddings.
            var c = FastPathCases.Conv.Random(r, false, 1, cout, r.Next(1, 6), r.Next(1, 6));
            if (i % 3 == 0)
                WildRequantization(r, c);
            CheckStem(c, $"case {i}");
        }
    }

    /// <summary>
    /// The VPDPBUSD form (Conv2D.Cin1.Vnni.cs; emulated without AVX-VNNI) where it runs: Kw &lt;= 4, no horizontal dilation,
    /// parameters the exact 16-lane requantization covers. True when it ran, and then its bytes equal the reference's.
    /// </summary>
    private static bool CheckStemVnni(FastPathCases.Conv c, string what)
    {
        if (!Avx512BW.IsSupported)
            return false;
        // Packed with the kernel rows' quadruplets whatever this machine has (Conv2D.Prepare builds them with AVX-VNNI only).
        var packed = Runtime.Kernels.Simd.PackedFilter.Create(c.Weights, c.Filter.D0, c.Filter.D1 * c.Filter.D2, c.Bias, c.P.InputOffset, pad: false,
            rowTaps: 0, rowTapsS16: false, quadRowTaps: c.Filter.D2);
        var got = new sbyte[c.Out.FlatSize];
        got.AsSpan().Fill(99);
        if (!Conv2D.TryEvalS8Cin1Vnni(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, got, c.Out))
        {
            Assert.That(got, Is.All.EqualTo((sbyte)99), $"{what}: nothing written when declined");
            return false;
        }
        var expected = c.Reference();
        int d = FastPathCases.FirstDifference(got, expected);
        Assert.That(d, Is.EqualTo(-1), () => $"{what} (VPDPBUSD): element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
        return true;
    }

    [Test]
    public void OneInputChannelVnniEveryChannelRest([ValueSource(nameof(Channels))] int cout)
    {
        if (!Avx512BW.IsSupported) Assert.Ignore("not run: the VPDPBUSD one-channel kernel needs AVX-512BW (its 16-lane requantization)");
        var r = new Random(1900 + cout);
        int ran = 0;
        for (int i = 0; i < 30; i++)
        {
            // 1..6 x 1..4 taps (a kernel row's quadruplet runs past Kw against zero weights), strides 1-2, vertical dilations
            // 1-2, paddings; a third with requantizations the exact form does not cover (the kernel declines them).
            FastPathCases.Conv c;
            do c = FastPathCases.Conv.Random(r, false, 1, cout, r.Next(1, 7), r.Next(1, 5));
            while (c.P.DilationW != 1 && c.Filter.D2 > 1);
            if (i % 3 == 0)
                WildRequantization(r, c);
            if (CheckStemVnni(c, $"case {i}"))
                ran++;
        }
        // (Some random shifts are left shifts, which the exact form declines.)
        Assert.That(ran, Is.GreaterThanOrEqualTo(8), "cases run");
    }

    [Test]
    public void OneInputChannelStemShapes([Values(1, 2, 3)] int stride, [Values(4, 8, 12, 16, 20, 24, 28, 32)] int cout)
    {
        // The zoo's stems (28x28, 3x3, pad 1) and larger images, stride 3 taking the scalar gather, batch 2.
        var r = new Random(950 + 10 * stride + cout);
        foreach (int size in new[] { 28, 33, 64 })
        {
            var c = FastPathCases.Conv.Random(r, false, 1, cout, 3, 3);
            c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
            c.In = new Shape4(2, size, size, 1);
            int o = (size + 2 - 3) / stride + 1;
            c.Out = new Shape4(2, o, o, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            if (size == 33)
                WildRequantization(r, c);
            CheckStem(c, $"{size}x{size}");
            bool ran = CheckStemVnni(c, $"{size}x{size}");
            if (size != 33) // (33x33 has requantizations the exact form may not cover)
                Assert.That(ran, Is.EqualTo(Avx512BW.IsSupported), $"{size}x{size}: the VPDPBUSD form ran");
        }
    }

    /// <summary>
    /// Below 16 channels the kernel stores each pixel's 16 bytes whole, running into the next pixels: into an output span
    /// followed by other bytes (the next tensor, or another thread's band), nothing past the span is written and the span
    /// holds the reference's bytes.
    /// </summary>
    [Test]
    public void OneInputChannelWritesNothingPastItsOutput([Values(9, 10, 12, 15)] int cout, [Values(1, 2)] int stride, [Values(false, true)] bool relu)
    {
        var r = new Random(970 + cout + 100 * stride);
        var c = FastPathCases.Conv.Random(r, false, 1, cout, 3, 3);
        if (relu)
            ReluRequantization(r, c, 0); // (the AVX2 kernel of both 8-channel groups at once)
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.In = new Shape4(1, 13, 11, 1);
        c.Out = new Shape4(1, (13 - 1) / stride + 1, (11 - 1) / stride + 1, cout);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        var packed = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        var buffer = new sbyte[c.Out.FlatSize + 64];
        buffer.AsSpan().Fill(99);
        if (!Conv2D.TryEvalS8Cin1Avx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, buffer.AsSpan(0, c.Out.FlatSize), c.Out))
            Assert.Ignore("not run: the one-channel kernel needs AVX2");
        Assert.That(buffer.AsSpan(c.Out.FlatSize).ToArray(), Is.All.EqualTo((sbyte)99), "bytes past the output");
        Assert.That(FastPathCases.FirstDifference(buffer.AsSpan(0, c.Out.FlatSize).ToArray(), c.Reference()), Is.EqualTo(-1));
    }

    [Test]
    public void OneInputChannelTooLargeForTheStackIsLeftToTheOtherPaths()
    {
        // 400 x 400 does not fit the staging limit: the kernel declines, the dispatcher still gives the reference's bytes.
        var r = new Random(960);
        var c = FastPathCases.Conv.Random(r, false, 1, 8, 3, 3);
        c.P.StrideH = c.P.StrideW = 1; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.In = new Shape4(1, 400, 400, 1);
        c.Out = new Shape4(1, 400, 400, 8);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        var packed = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        Assert.That(Conv2D.TryEvalS8Cin1Avx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, new sbyte[c.Out.FlatSize], c.Out), Is.False);
        var viaDispatch = new sbyte[c.Out.FlatSize];
        Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, viaDispatch, c.Out);
        Assert.That(FastPathCases.FirstDifference(viaDispatch, c.Reference()), Is.EqualTo(-1));
    }

    [Test]
    public void DepthwiseEveryChannelRestWithLeftShifts([ValueSource(nameof(Channels))] int channels)
    {
        var r = new Random(1000 + channels);
        for (int i = 0; i < 10; i++)
        {
            // Random kernels 1..4 x 1..4 (the generic body) and 3x3 (the unrolled one), strides and dilations 1-2, paddings.
            var c = i % 2 == 0
                ? FastPathCases.Conv.Random(r, true, channels, 0, 3, 3)
                : FastPathCases.Conv.Random(r, true, channels, 0, r.Next(1, 5), r.Next(1, 5));
            WildRequantization(r, c);
            CheckDepthwise(c, $"case {i}");
        }
    }

    [Test]
    public void DepthwiseZooShapes([Values(16, 32, 36, 64, 90, 150)] int channels, [Values(1, 2)] int stride)
    {
        var r = new Random(1100 + channels + stride);
        foreach (int size in new[] { 7, 14, 28 })
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, 3, 3);
            c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = 1;
            c.P.PadBottom = c.P.PadRight = stride == 1 ? 1 : 0;
            c.In = new Shape4(1, size, size, channels);
            int o = (size + c.P.PadTop + c.P.PadBottom - 3) / stride + 1;
            c.Out = new Shape4(1, o, o, channels);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            CheckDepthwise(c, $"{size}x{size}");
        }
    }

    [Test]
    public void DepthwiseTooLargeForTheRingIsLeftToTheOtherPaths()
    {
        // 2 pair rows (stride 1) of 1200 x 8 int32 exceed the 64 KB ring: the kernel declines, the dispatcher still gives the reference's bytes.
        var r = new Random(1200);
        var c = FastPathCases.Conv.Random(r, true, 8, 0, 3, 3);
        c.P.StrideH = c.P.StrideW = 1; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.In = new Shape4(1, 3, 1200, 8);
        c.Out = new Shape4(1, 3, 1200, 8);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        var packed = DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        if (packed is not null)
            Assert.That(DepthwiseConv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, new sbyte[c.Out.FlatSize], c.Out), Is.False);
        var viaDispatch = new sbyte[c.Out.FlatSize];
        DepthwiseConv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, packed, c.M, c.S, viaDispatch, c.Out);
        Assert.That(FastPathCases.FirstDifference(viaDispatch, c.Reference()), Is.EqualTo(-1));
    }

    /// <summary>
    /// Requantization as a converter makes it for a layer with a fused ReLU / ReLU6: positive multipliers, right shifts
    /// only, the lower bound at (or above) the output zero point: the ops whose 3x3 groups take FoldedRequantizer512 on
    /// AVX-512 (bias and doubling folded into 64-bit constants; with bounds [-128, 127] and zero point -128 also the
    /// byte clamps skipped). <paramref name="kind"/>: 0 lower bound = zero point, upper 127; 1 zero point -128 and the
    /// whole int8 range; 2 a ReLU6-like upper bound and a lower bound above the zero point; 3 large biases.
    /// </summary>
    private static void ReluRequantization(Random r, FastPathCases.Conv c, int kind)
    {
        for (int i = 0; i < c.S.Length; i++)
            c.S[i] = System.Math.Min(c.S[i], -1);
        c.P.OutputOffset = kind == 1 ? -128 : r.Next(-128, 100);
        c.P.ActivationMin = kind == 2 ? c.P.OutputOffset + r.Next(0, 20) : c.P.OutputOffset;
        c.P.ActivationMax = kind == 2 ? System.Math.Max(c.P.ActivationMin, r.Next(0, 128)) : 127;
        if (kind == 3)
            for (int i = 0; i < c.Bias.Length; i++)
                c.Bias[i] = r.Next(-(1 << 22), 1 << 22);
    }

    /// <summary>
    /// A 3x3 layer (a one-input-channel stem, or a depthwise layer when <paramref name="depthwise"/>) on a square map of
    /// <paramref name="size"/>, unit dilation, random padding of 0 or 1 per side, batch 1 or 2, with
    /// <see cref="ReluRequantization"/> of <paramref name="kind"/>.
    /// </summary>
    private static FastPathCases.Conv ReluLayer(Random r, bool depthwise, int inChannels, int outChannels, int size, int stride, int kind)
    {
        var c = FastPathCases.Conv.Random(r, depthwise, inChannels, depthwise ? 0 : outChannels, 3, 3);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = r.Next(0, 2);
        c.P.PadBottom = c.P.PadRight = r.Next(0, 2);
        c.In = new Shape4(1 + size % 2, size, size, inChannels);
        int oh = (size + c.P.PadTop + c.P.PadBottom - 3) / stride + 1, ow = (size + c.P.PadLeft + c.P.PadRight - 3) / stride + 1;
        c.Out = new Shape4(c.In.D0, oh, ow, outChannels);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        ReluRequantization(r, c, kind);
        return c;
    }

    [Test]
    public void OneInputChannelReluLayers([Values(16, 17, 20, 24, 32, 36, 41)] int cout, [Values(0, 1, 2, 3)] int kind)
    {
        var r = new Random(1400 + 10 * cout + kind);
        foreach (int size in new[] { 5, 28, 33, 64 })
            foreach (int stride in new[] { 1, 2 })
                CheckStem(ReluLayer(r, false, 1, cout, size, stride, kind), $"{size}x{size} stride {stride}");
    }

    /// <summary>
    /// The AVX2 stem's folded groups below 16 channels: 8 (one 8-lane group), 9-12 (8 + 4 lanes), 13-15 (8 + 8, lanes past
    /// Cout stored into the next pixel). Their purpose is the x64 kernels; elsewhere the reference under emulation costs
    /// minutes, so they report themselves as not run (arm64's stem kernel runs OneInputChannelReluLayers).
    /// </summary>
    [Test]
    public void OneInputChannelReluLayersBelowSixteenChannels([Values(8, 9, 10, 12, 13, 15)] int cout, [Values(0, 1, 2, 3)] int kind)
    {
        if (!Avx2.IsSupported)
            Assert.Ignore("not run: these counts are for the AVX2 stem kernel's groups; this CPU has no AVX2");
        OneInputChannelReluLayers(cout, kind);
    }

    [Test]
    public void OneInputChannelDispatchOnAvx2AloneTakesTheStemKernelWhereTheBiasFolds()
    {
        // With AVX-512 the one-channel kernels take every stem; with AVX2 alone only stride 1, 8 or more channels and a
        // requantization whose bias folds (a fused ReLU): elsewhere the widened-rows and Winograd paths measured faster.
        var r = new Random(1450);
        var relu = ReluLayer(r, false, 1, 16, 28, 1, 0);
        var packed = Conv2D.Prepare(relu.P, relu.Weights, relu.Filter, relu.Bias);
        Assert.That(Conv2D.Cin1Avx2Preferred(relu.P, relu.In, relu.Out, packed, relu.M, relu.S), Is.EqualTo(Avx2.IsSupported), "ReLU, stride 1, 16 channels");
        var few = ReluLayer(r, false, 1, 4, 28, 1, 0);
        Assert.That(Conv2D.Cin1Avx2Preferred(few.P, few.In, few.Out, Conv2D.Prepare(few.P, few.Weights, few.Filter, few.Bias), few.M, few.S),
            Is.EqualTo(Avx512BW.IsSupported), "ReLU, stride 1, 4 channels");
        var strided = ReluLayer(r, false, 1, 16, 28, 2, 0);
        Assert.That(Conv2D.Cin1Avx2Preferred(strided.P, strided.In, strided.Out, Conv2D.Prepare(strided.P, strided.Weights, strided.Filter, strided.Bias),
            strided.M, strided.S), Is.EqualTo(Avx512BW.IsSupported), "ReLU, stride 2");
        relu.P.ActivationMin = -128;
        relu.P.OutputOffset = 5;
        Assert.That(Conv2D.Cin1Avx2Preferred(relu.P, relu.In, relu.Out, Conv2D.Prepare(relu.P, relu.Weights, relu.Filter, relu.Bias), relu.M, relu.S),
            Is.EqualTo(Avx512BW.IsSupported), "no ReLU");
        CheckStem(relu, "no ReLU, through the dispatcher");
    }

    [Test]
    public void DepthwiseReluLayers([Values(16, 20, 32, 36, 41, 64, 90, 150)] int channels, [Values(0, 1, 2, 3)] int kind)
    {
        var r = new Random(1500 + 10 * channels + kind);
        foreach (int size in new[] { 7, 8, 14, 28 })
            foreach (int stride in new[] { 1, 2 })
                CheckDepthwise(ReluLayer(r, true, channels, channels, size, stride, kind), $"{size}x{size} stride {stride}");
    }

    /// <summary>
    /// The AVX2 depthwise groups' folded forms below 16 channels: one 8-lane group (8), and 8 lanes plus a 4-lane rest (10,
    /// 12). x64 only, as <see cref="OneInputChannelReluLayersBelowSixteenChannels"/> (the AVX2 kernel declines elsewhere).
    /// </summary>
    [Test]
    public void DepthwiseReluLayersBelowSixteenChannels([Values(8, 10, 12)] int channels, [Values(0, 1, 2, 3)] int kind)
    {
        if (!Avx2.IsSupported)
            Assert.Ignore("not run: these counts are for the AVX2 depthwise kernel's groups; this CPU has no AVX2");
        DepthwiseReluLayers(channels, kind);
    }

    [Test]
    public void DepthwiseLayersStagedInSeveralBlocks([Values(9, 20, 36, 64, 90)] int channels)
    {
        // Maps whose staged pair rows exceed the 64 KB stack limit run in blocks of output rows (a pair row shared by two
        // blocks is staged once): stride 1 (even and odd pairing), stride 2, vertical dilation 2 (every padded row a key),
        // 3x3 and 5x3 kernels, with both the general and the ReLU requantization.
        var r = new Random(1600 + channels);
        int i = 0;
        foreach (var (stride, dilation, kh) in new[] { (1, 1, 3), (2, 1, 3), (1, 2, 3), (1, 1, 5), (2, 1, 5), (3, 1, 3) })
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, kh, 3);
            c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = dilation; c.P.DilationW = 1;
            c.P.PadTop = c.P.PadBottom = (kh - 1) * dilation / 2;
            c.P.PadLeft = c.P.PadRight = 1;
            int h = 40 + r.Next(0, 3), w = 2400 / channels + r.Next(0, 5);
            c.In = new Shape4(1, h, w, channels);
            int oh = (h + c.P.PadTop + c.P.PadBottom - ((kh - 1) * dilation + 1)) / stride + 1, ow = (w + 2 - 3) / stride + 1;
            c.Out = new Shape4(1, oh, ow, channels);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            if (i++ % 2 == 0)
                ReluRequantization(r, c, i % 4);
            else
                WildRequantization(r, c);
            CheckDepthwise(c, $"{h}x{w} stride {stride} dilation {dilation} {kh}x3");
        }
    }

    /// <summary>Edge accumulators and operands for the requantizers, every shift from -31 to 30.</summary>
    private static IEnumerable<(int Acc, int M, int S)> RequantizationCases()
    {
        var r = new Random(1300);
        int[] accs = [0, 1, -1, int.MaxValue, int.MinValue, int.MinValue + 1, 1 << 30, -(1 << 30), 12345, -12345];
        int[] ms = [int.MinValue, int.MaxValue, 1 << 30, (1 << 30) + 1, 0, 1, -1, 1518500250];
        for (int s = -31; s <= 30; s++)
        {
            foreach (int a in accs)
                foreach (int m in ms)
                    yield return (a, m, s);
            for (int i = 0; i < 200; i++)
                yield return (r.Next(int.MinValue, int.MaxValue) >> r.Next(0, 31), r.Next(int.MinValue, int.MaxValue), s);
        }
    }

    [Test]
    public void RequantizersEqualQuantMath([Values(-128, -5)] int min, [Values(127, 90)] int max, [Values(-128, 0, 37, 255)] int offset)
    {
        if (!Avx2.IsSupported)
            Assert.Ignore("not run: no AVX2 (the requantizers are AVX2 / AVX-512 code)");
        var cases = RequantizationCases().ToArray();
        var acc = new int[16];
        var m = new int[16];
        var s = new int[16];
        for (int start = 0; start < cases.Length; start += 16)
        {
            for (int l = 0; l < 16; l++)
                (acc[l], m[l], s[l]) = cases[(start + l) % cases.Length];
            var expected = new sbyte[16];
            for (int l = 0; l < 16; l++)
                expected[l] = (sbyte)System.Math.Clamp(QuantMath.MultiplyByQuantizedMultiplier(acc[l], m[l], s[l]) + offset, min, max);
            var lo = new ChannelRequantizer256(Vector256.Create(m.AsSpan(0, 8)), Vector256.Create(s.AsSpan(0, 8)), offset, min, max)
                .Apply(Vector256.Create(acc.AsSpan(0, 8)));
            for (int l = 0; l < 8; l++)
                Assert.That(lo.GetElement(l), Is.EqualTo(expected[l]), $"256-bit: acc {acc[l]} m {m[l]} shift {s[l]}");
            var q0 = new ChannelRequantizer256(Vector256.Create(m.AsSpan(0, 8)), Vector256.Create(s.AsSpan(0, 8)), offset, min, max);
            var q1 = new ChannelRequantizer256(Vector256.Create(m.AsSpan(8, 8)), Vector256.Create(s.AsSpan(8, 8)), offset, min, max);
            var both = q0.Apply(Vector256.Create(acc.AsSpan(0, 8)), q1, Vector256.Create(acc.AsSpan(8, 8)));
            for (int l = 0; l < 16; l++)
                Assert.That(both.GetElement(l), Is.EqualTo(expected[l]), $"256-bit pair: acc {acc[l]} m {m[l]} shift {s[l]}");
            if (Avx512BW.IsSupported)
            {
                var wide = new ChannelRequantizer512(Vector512.Create(m.AsSpan()), Vector512.Create(s.AsSpan()), offset, min, max)
                    .Apply(Vector512.Create(acc.AsSpan()));
                for (int l = 0; l < 16; l++)
                    Assert.That(wide.GetElement(l), Is.EqualTo(expected[l]), $"512-bit: acc {acc[l]} m {m[l]} shift {s[l]}");
            }
        }
        if (!Avx512BW.IsSupported)
            TestContext.Out.WriteLine("512-bit requantizer not run: no AVX-512BW (or DOTNET_EnableAVX512=0)");
    }
}
