using NUnit.Framework;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The float32 requantization (<see cref="FloatRequant"/>): where it is found for a channel it must give the reference's
/// byte for every accumulator of the channel's range, checked here over the whole range, not only at the points the proof
/// uses; the 8-lane form must equal the scalar one; and the AVX2 GEMM must take it and still give the reference's bytes.
/// </summary>
public class FloatRequantTests
{
    /// <summary>Requantization parameters as the converter makes them: a multiplier in [2^30, 2^31), a right shift, bounds.</summary>
    private static (int M, int Shift, int Offset, int Min, int Max, int Bound) Draw(Random r)
    {
        int m = (1 << 30) + r.Next(0, int.MaxValue - (1 << 30));
        int shift = -r.Next(1, 16);
        int offset = r.Next(-128, 128);
        int min = -128, max = 127;
        switch (r.Next(4))
        {
            case 0: min = offset; break; // ReLU
            case 1: min = offset; max = System.Math.Min(127, offset + r.Next(1, 200)); break; // ReLU6-like
        }
        // Accumulator ranges from a few output steps to far past the 256 levels (most of it then clamps).
        int bound = r.Next(3) switch { 0 => r.Next(1, 2000), 1 => r.Next(2000, 1 << 16), _ => r.Next(1 << 16, 1 << 19) };
        return (m, shift, offset, min, max, bound);
    }

    [Test]
    public void AFitIsTheReferenceOnEveryAccumulatorOfItsRange()
    {
        var r = new Random(2026_12_07);
        // Every accumulator of every fitted range: about 10^8 evaluations. Emulated arm64 (qemu in CI) checks the first fifth.
        int fitted = 0, twoC = 0, cases = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 400 : 80;
        for (int i = 0; i < cases; i++)
        {
            var (m, shift, o, min, max, bound) = Draw(r);
            if (!FloatRequant.TryFit(m, shift, o, min, max, bound, out float s, out float cn, out float cp))
                continue;
            fitted++;
            if (cn != cp) twoC++;
            for (int x = -bound; x <= bound; x++)
            {
                int expected = FloatRequant.Reference(x, m, shift, o, min, max);
                int got = FloatRequant.Float(x, s, x < 0 ? cn : cp, min, max);
                if (got != expected)
                    Assert.Fail($"case {i} (M {m}, shift {shift}, offset {o}, [{min}, {max}], bound {bound}): x = {x} gives {got}, the reference {expected}");
            }
        }
        TestContext.Out.WriteLine($"{fitted} of {cases} fitted, {twoC} of them with c by sign");
        // Not vacuous: most channels of real layers fit (the zoo's: all but a few per hundred).
        Assert.That(fitted, Is.GreaterThan(cases * 3 / 4));
        Assert.That(twoC, Is.GreaterThan(0), "the sign term of layers without a fused ReLU needs two c");
    }

    /// <summary>Small shifts put exact ties of the reference's two roundings in every few accumulators.</summary>
    [Test]
    public void FitsHoldThroughTheReferencesTies([Values(-1, -2, -3)] int shift)
    {
        var r = new Random(shift + 100);
        for (int i = 0; i < 50; i++)
        {
            int m = (1 << 30) + r.Next(0, 1 << 12) * (1 << 18); // few low bits: ties land on integers
            int o = r.Next(-20, 20), bound = r.Next(10, 600);
            if (!FloatRequant.TryFit(m, shift, o, -128, 127, bound, out float s, out float cn, out float cp))
                continue;
            for (int x = -bound; x <= bound; x++)
                Assert.That(FloatRequant.Float(x, s, x < 0 ? cn : cp, -128, 127), Is.EqualTo(FloatRequant.Reference(x, m, shift, o, -128, 127)),
                    $"M {m}, offset {o}, x = {x}");
        }
    }

    [Test]
    public void NothingIsFittedOutsideTheFormsConditions()
    {
        Assert.That(FloatRequant.TryFit(-5, -8, 0, -128, 127, 1000, out _, out _, out _), Is.False, "negative multiplier");
        Assert.That(FloatRequant.TryFit(0, -8, 0, -128, 127, 1000, out _, out _, out _), Is.False, "zero multiplier");
        Assert.That(FloatRequant.TryFit(1 << 30, 2, 0, -128, 127, 1000, out _, out _, out _), Is.False, "left shift");
        Assert.That(FloatRequant.TryFit(1 << 30, -8, 0, -128, 127, 1 << 24, out _, out _, out _), Is.False, "accumulators past float32's integers");
        // A block holding one channel that cannot fit keeps the exact form; the other block still fits.
        int[] m = new int[16], sh = new int[16];
        long[] bounds = new long[16];
        for (int c = 0; c < 16; c++) { m[c] = (1 << 30) + 12345 * c; sh[c] = -9; bounds[c] = 40_000; }
        bounds[3] = 1 << 23;
        var t = FloatRequantTable.Build(m, sh, 5, -128, 127, bounds);
        Assert.That(t.Mode[0], Is.EqualTo(FloatRequantTable.BlockMode.Exact));
        Assert.That(t.Mode[1], Is.Not.EqualTo(FloatRequantTable.BlockMode.Exact));
    }

    [Test]
    public void TheEightLaneFormIsTheScalarOne([Values] bool doubled)
    {
        if (!Fma.IsSupported || !Avx2.IsSupported)
            Assert.Ignore("needs AVX2 and FMA (not run on this machine)");
        var r = new Random(doubled ? 7 : 8);
        for (int round = 0; round < 40; round++)
        {
            int[] m = new int[8], sh = new int[8];
            long[] bounds = new long[8];
            var (_, _, o, min, max, _) = Draw(r);
            for (int c = 0; c < 8; c++)
            {
                var d = Draw(r);
                (m[c], sh[c], bounds[c]) = (d.M, d.Shift, d.Bound);
            }
            var t = FloatRequantTable.Build(m, sh, o, min, max, bounds);
            if (t.Mode[0] == FloatRequantTable.BlockMode.Exact)
                continue;
            var q = new FloatRequantizer256(t, 0, doubled);
            var x = new int[8];
            for (int i = 0; i < 2000; i++)
            {
                for (int c = 0; c < 8; c++)
                    x[c] = (int)(r.NextInt64(-bounds[c], bounds[c] + 1) * (doubled ? 2 : 1));
                var y = q.Apply(Vector256.Create(x));
                for (int c = 0; c < 8; c++)
                {
                    int acc = doubled ? x[c] / 2 : x[c];
                    Assert.That(System.Math.Clamp(y.GetElement(c), min, max), Is.EqualTo(FloatRequant.Reference(acc, m[c], sh[c], o, min, max)),
                        $"lane {c}, accumulator {acc}");
                }
            }
        }
    }

    /// <summary>
    /// The AVX2 GEMM (1x1 layers, FullyConnected) takes the float form where it is proven and gives the reference's bytes:
    /// with and without a fused ReLU (one c, c by sign), Cout with whole and partial blocks.
    /// </summary>
    [Test]
    public void TheAvx2GemmTakesItAndGivesTheReferenceBytes([Values(8, 20, 36, 90)] int cout, [Values] bool relu)
    {
        if (!Fma.IsSupported || !Avx2.IsSupported || Avx512BW.IsSupported || AvxVnni.IsSupported)
            Assert.Ignore("the float form serves the AVX2 GEMM on machines without AVX-512 (not run on this machine)");
        var r = new Random(cout * 2 + (relu ? 1 : 0));
        int cin = 16 + cout % 7, rows = 37;
        var (p, input, filter, bias, m, sh, expected) = TrainedLayer(r, rows, cin, cout, relu);
        var pf = FullyConnected.Prepare(p, filter, cin, cout, bias);
        var output = new sbyte[rows * cout];
        FullyConnected.EvalS8(p, input, rows, cin, filter, cout, bias, pf, m, sh, output);
        Assert.That(output, Is.EqualTo(expected));
        var ft = GemmFloatForm(pf!);
        Assert.That(ft.Mode, Does.Not.All.EqualTo(FloatRequantTable.BlockMode.Exact), "no block of this layer took the float form");
        if (!relu)
            Assert.That(ft.Mode, Does.Contain(FloatRequantTable.BlockMode.SignC));
    }
    /// <summary>
    /// A FullyConnected layer as training leaves them (weights mostly small, one per channel near the int8 limits; right
    /// shifts of 8-12), with or without a fused ReLU, its input rows and the reference's output.
    /// </summary>
    private static (FullyConnectedParams P, sbyte[] Input, sbyte[] Filter, int[] Bias, int[] M, int[] S, sbyte[] Expected) TrainedLayer(
        Random r, int rows, int cin, int cout, bool relu)
    {
        int zp = r.Next(-128, 128), outZp = r.Next(-100, 100);
        var p = new FullyConnectedParams
        {
            InputOffset = -zp, OutputOffset = outZp, FoldedBiasOffset = -1,
            ActivationMin = relu ? outZp : -128, ActivationMax = 127,
        };
        var input = FastPathCases.S8(r, rows * cin);
        var filter = FastPathCases.S8(r, cout * cin, -40, 40);
        for (int i = 0; i < cout; i++) filter[i * cin + r.Next(cin)] = (sbyte)(r.Next(2) == 0 ? -127 : 127);
        var bias = FastPathCases.I32(r, cout, -5000, 5000);
        var m = FastPathCases.Multipliers(r, cout);
        var sh = FastPathCases.I32(r, cout, -12, -8);
        var expected = new sbyte[rows * cout];
        FullyConnected.EvalS8Reference(p, input, rows, cin, filter, cout, bias, m, sh, expected);
        return (p, input, filter, bias, m, sh, expected);
    }

    /// <summary>The float form a GEMM kernel took: the one kept with the filter's exact table, which the kernel must have asked for.</summary>
    private static FloatRequantTable GemmFloatForm(PackedFilter pf)
    {
        Assert.That(pf.RightRequant?.FloatFormAsked, Is.True, "the GEMM did not ask for the float form");
        var ft = pf.RightRequant!.FloatForm(pf.ChannelBounds);
        Assert.That(ft, Is.Not.Null, "no channel of this layer has the float form");
        return ft!;
    }

    /// <summary>
    /// The x64 depthwise rows (3x3 stride 1 and 2, and 5x5; AVX2's 8-channel groups, AVX-512's 16-channel ones) take it and give
    /// the reference's bytes: on AVX2 with a fused ReLU the 3x3 body's folded form (sums without the bias,
    /// <see cref="FloatRequantTable.Folded"/>), else the whole accumulators.
    /// </summary>
    [Test]
    public void TheDepthwiseRowsTakeItAndGiveTheReferenceBytes([Values(3, 5)] int k, [Values(1, 2)] int stride, [Values] bool relu)
    {
        if (!Fma.IsSupported || !Avx2.IsSupported)
            Assert.Ignore("the float form serves the x64 depthwise rows (not run on this machine: no AVX2 and FMA)");
        var r = new Random(k * 10 + stride * 2 + (relu ? 1 : 0));
        int tookFloat = 0;
        foreach (int channels in new[] { 8, 20, 36, 90 })
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, k, k);
            c.P.StrideH = c.P.StrideW = stride;
            c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = k / 2;
            c.P.ActivationMin = relu ? c.P.OutputOffset : -128;
            c.P.ActivationMax = 127;
            int h = r.Next(k, 12), w = r.Next(k, 15);
            c.In = new Runtime.Format.Shape4(1, h, w, channels);
            c.Out = new Runtime.Format.Shape4(1, (h - 1) / stride + 1, (w - 1) / stride + 1, channels);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            // Trained layers' weights: mostly small, a few near the int8 limits; right shifts only (the float form's domain).
            c.Weights = FastPathCases.S8(r, c.Filter.FlatSize, -50, 50);
            c.S = FastPathCases.I32(r, channels, -10, -6);
            var pf = DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias)!;
            var output = new sbyte[c.Out.FlatSize];
            Assert.That(DepthwiseConv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, output, c.Out), Is.True);
            Assert.That(output, Is.EqualTo(c.Reference()), $"{channels} channels");
            // The AVX2 3x3 body folds the bias under a fused ReLU; the AVX-512 groups (16 channels, 8 twice for a rest) keep it.
            var exact = pf.RightRequant!;
            bool folded = k == 3 && relu && !Avx512BW.IsSupported;
            Assert.That(folded ? exact.FloatFormFoldedAsked : exact.FloatFormAsked, Is.True, $"{channels} channels: the kernel built no float table");
            // A built table is kept only where some channel has the form.
            if ((folded ? exact.BuiltFloatFormFolded : exact.BuiltFloatForm) is { Any: true }) tookFloat++;
        }
        Assert.That(tookFloat, Is.GreaterThan(0), "no layer took the float form");
    }

    /// <summary>
    /// The AVX2 one-input-channel stem's 8-channel groups (machines without AVX-512: Conv2D.Cin1.Avx2.cs, 8 channels and from
    /// 17) take it and give the reference's bytes, folded under a fused ReLU, else on the accumulators, at strides 1 and 2.
    /// </summary>
    [Test]
    public void TheAvx2StemTakesItAndGivesTheReferenceBytes([Values(1, 2)] int stride, [Values] bool relu)
    {
        if (!Fma.IsSupported || !Avx2.IsSupported || Avx512BW.IsSupported)
            Assert.Ignore("the float form of the AVX2 stem, which machines without AVX-512 run (not run on this machine)");
        var r = new Random(500 + stride * 2 + (relu ? 1 : 0));
        int tookFloat = 0;
        foreach (int cout in new[] { 8, 20, 24, 36 })
        {
            var c = FastPathCases.Conv.Random(r, false, 1, cout, 3, 3);
            c.P.StrideH = c.P.StrideW = stride;
            c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadBottom = c.P.PadLeft = c.P.PadRight = 1;
            c.P.ActivationMin = relu ? c.P.OutputOffset : -128;
            c.P.ActivationMax = 127;
            int h = r.Next(6, 30), w = r.Next(6, 30);
            c.In = new Shape4(1, h, w, 1);
            c.Out = new Shape4(1, (h - 1) / stride + 1, (w - 1) / stride + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            c.Weights = FastPathCases.S8(r, c.Filter.FlatSize, -60, 60);
            c.Bias = FastPathCases.I32(r, cout, -3000, 3000);
            c.S = FastPathCases.I32(r, cout, -9, -6);
            var packed = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8Cin1Avx2(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, got, c.Out), Is.True, c.ToString());
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), $"{cout} channels: element {d}; {c}");
            var exact = packed.RightRequant!;
            Assert.That(relu ? exact.FloatFormFoldedAsked : exact.FloatFormAsked, Is.True, $"{cout} channels: the kernel built no float table");
            if ((relu ? exact.BuiltFloatFormFolded : exact.BuiltFloatForm) is { } ft && ft.RangeMode(0, cout) != FloatRequantTable.BlockMode.Exact)
                tookFloat++;
        }
        Assert.That(tookFloat, Is.GreaterThan(1), "fewer than two layers took the float form");
    }

    /// <summary>The 16-lane form (16 channels from any channel, 8 channels twice, 4 channels four times) equals the scalar one.</summary>
    [Test]
    public void TheSixteenLaneFormsAreTheScalarOne([Values] bool doubled)
    {
        if (!Fma.IsSupported || !Avx512F.IsSupported)
            Assert.Ignore("needs AVX-512F and FMA (not run on this machine)");
        var r = new Random(doubled ? 17 : 18);
        int checkedVectors = 0;
        for (int round = 0; round < 60; round++)
        {
            // 21 channels: 16 from channel 0, 1 or 5 (any channel), 8 twice from 13, 4 four times from 17.
            const int cout = 21;
            int[] m = new int[cout], sh = new int[cout];
            long[] bounds = new long[cout];
            var (_, _, o, min, max, _) = Draw(r);
            for (int c = 0; c < cout; c++)
            {
                var d = Draw(r);
                (m[c], sh[c], bounds[c]) = (d.M, d.Shift, System.Math.Min(d.Bound, 4000));
            }
            var t = FloatRequantTable.Build(m, sh, o, min, max, bounds);
            int from = round % 3 == 0 ? 0 : round % 3 == 1 ? 1 : 5;
            var forms = new List<(FloatRequantizer512 Q, int[] Lane)>();
            if (t.RangeMode(from, 16) != FloatRequantTable.BlockMode.Exact)
                forms.Add((new FloatRequantizer512(t, from, doubled), Enumerable.Range(from, 16).ToArray()));
            if (t.RangeMode(13, 8) != FloatRequantTable.BlockMode.Exact)
                forms.Add((FloatRequantizer512.Twice8(t, 13, doubled), Enumerable.Range(0, 16).Select(l => 13 + l % 8).ToArray()));
            if (t.RangeMode(17, 4) != FloatRequantTable.BlockMode.Exact)
                forms.Add((FloatRequantizer512.Four4(t, 17, doubled), Enumerable.Range(0, 16).Select(l => 17 + l % 4).ToArray()));
            var x = new int[16];
            foreach (var (q, lane) in forms)
            {
                checkedVectors++;
                for (int i = 0; i < 500; i++)
                {
                    for (int l = 0; l < 16; l++)
                    {
                        long b = bounds[lane[l]];
                        x[l] = (int)((i < 2 ? (i == 0 ? -b : b) : r.NextInt64(-b, b + 1)) * (doubled ? 2 : 1));
                    }
                    var y = q.Apply(Vector512.Create(x));
                    for (int l = 0; l < 16; l++)
                    {
                        int c = lane[l], acc = doubled ? x[l] / 2 : x[l];
                        Assert.That(System.Math.Clamp(y.GetElement(l), min, max), Is.EqualTo(FloatRequant.Reference(acc, m[c], sh[c], o, min, max)),
                            $"lane {l} (channel {c}), accumulator {acc}");
                    }
                }
            }
        }
        Assert.That(checkedVectors, Is.GreaterThan(60), "too few fitted vectors to check");
    }

    /// <summary>
    /// The short-K VPDPBUSD kernel (AVX-512; emulated without AVX-VNNI) takes the float form where it is proven and gives the
    /// reference's bytes: in its 16-channel tiles, its two-rows rest (K &gt; 16 or 5-8 channels) and its four-rows rest, with and
    /// without a fused ReLU.
    /// </summary>
    [Test]
    public void TheShortKVnniKernelTakesItAndGivesTheReferenceBytes([Values(4, 8, 20, 36, 90)] int cout, [Values(12, 16, 20, 36)] int k, [Values] bool relu)
    {
        if (!Fma.IsSupported || !Avx512BW.IsSupported)
            Assert.Ignore("the float form of the AVX-512 kernels (not run on this machine: no AVX-512BW)");
        var r = new Random(cout * 100 + k * 2 + (relu ? 1 : 0));
        // A channel fits or not by where its thresholds fall (FloatRequant): draw layers until one has a tile that takes the
        // float form; every draw's bytes must be the reference's.
        int floatTiles = 0;
        for (int draw = 0; draw < 8 && floatTiles == 0; draw++)
        {
            int rows = 45;
            var (p, input, filter, bias, m, sh, expected) = TrainedLayer(r, rows, k, cout, relu);
            var output = new sbyte[rows * cout + 64];
            var pf = PackedFilter.Create(filter, cout, k, bias, p.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: k);
            Assert.That(Int8Gemm.TryRunSmallKVnni(ref MemoryMarshal.GetArrayDataReference(input), k, rows, pf, m, sh, p.OutputOffset,
                p.ActivationMin, p.ActivationMax, ref MemoryMarshal.GetArrayDataReference(output), cout), Is.True);
            int d = FastPathCases.FirstDifference(output.AsSpan(0, rows * cout), expected);
            Assert.That(d, Is.EqualTo(-1), $"draw {draw}: element {d}");
            Assert.That(output.AsSpan(rows * cout).ToArray(), Is.All.EqualTo((sbyte)0), "stored past the last row");
            Assert.That(pf.RightRequant?.FloatFormAsked, Is.True, "the kernel did not ask for the float form");
            if (pf.RightRequant!.FloatForm(pf.ChannelBounds) is not { } ft)
                continue; // no channel of this draw fits
            // The kernels' tiles: 16 channels while more than 8 remain, then the rest.
            for (int j = 0; j < cout; j += 16)
                if (ft.RangeMode(j, System.Math.Min(16, cout - j)) != FloatRequantTable.BlockMode.Exact)
                    floatTiles++;
            if (floatTiles > 0 && !relu)
                Assert.That(Enumerable.Range(0, cout).Any(c => ft.RangeMode(c, 1) == FloatRequantTable.BlockMode.SignC), Is.True, "no channel takes c by sign");
        }
        Assert.That(floatTiles, Is.GreaterThan(0), "no tile took the float form in 8 draws");
    }

    /// <summary>
    /// The one-input-channel VPDPBUSD convolution (stems: 3x3 and 1x3 kernels, strides 1 and 2; emulated without AVX-VNNI) shares
    /// the short-K kernel's tiles: it takes the float form and gives the reference's bytes.
    /// </summary>
    [Test]
    public void TheOneInputChannelVnniStemTakesItAndGivesTheReferenceBytes([Values(3, 1)] int kh, [Values(1, 2)] int stride, [Values] bool relu)
    {
        if (!Fma.IsSupported || !Avx512BW.IsSupported)
            Assert.Ignore("the float form of the AVX-512 kernels (not run on this machine: no AVX-512BW)");
        var r = new Random(kh * 10 + stride * 2 + (relu ? 1 : 0));
        int tookFloat = 0;
        foreach (int cout in new[] { 4, 12, 16, 20, 36 })
        {
            var c = FastPathCases.Conv.Random(r, false, 1, cout, kh, 3);
            c.P.StrideH = c.P.StrideW = stride;
            c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadBottom = kh / 2;
            c.P.PadLeft = c.P.PadRight = 1;
            c.P.ActivationMin = relu ? c.P.OutputOffset : -128;
            c.P.ActivationMax = 127;
            int h = r.Next(6, 20), w = r.Next(6, 20);
            c.In = new Shape4(1, h, w, 1);
            c.Out = new Shape4(1, (h + 2 * (kh / 2) - kh) / stride + 1, (w + 2 - 3) / stride + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            c.Weights = FastPathCases.S8(r, c.Filter.FlatSize, -60, 60);
            c.Bias = FastPathCases.I32(r, cout, -3000, 3000);
            c.S = FastPathCases.I32(r, cout, -9, -6);
            var packed = PackedFilter.Create(c.Weights, cout, kh * 3, c.Bias, c.P.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: 3);
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8Cin1Vnni(c.P, c.Input, c.In, c.Filter, packed, c.M, c.S, got, c.Out), Is.True, c.ToString());
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), $"{cout} channels: element {d}; {c}");
            Assert.That(packed.RightRequant?.FloatFormAsked, Is.True, "the kernel did not ask for the float form");
            if (packed.RightRequant!.FloatForm(packed.ChannelBounds) is { } ft
                && Enumerable.Range(0, (cout + 15) / 16).Any(t => ft.RangeMode(16 * t, System.Math.Min(16, cout - 16 * t)) != FloatRequantTable.BlockMode.Exact))
                tookFloat++;
        }
        Assert.That(tookFloat, Is.GreaterThan(0), "no layer took the float form");
    }
}
