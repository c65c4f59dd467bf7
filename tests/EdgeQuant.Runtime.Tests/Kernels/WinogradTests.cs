using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Conv2D's Winograd F(2x2, 3x3) path (Conv2D.Winograd.Avx512.cs) against the reference, byte for byte: every input
/// channel count from 1 (the transform's 32-channel chunks, odd counts whose last pair meets a zero weight), output
/// channel counts that take 16-lane blocks, the packed tails (the last 1-4 channels four tiles per vector, 5-8 two;
/// alone or after 1-4 blocks) and the 9-15 that take a whole block, odd output sizes (partial tiles), padding of 0-2
/// on each side (bands of rows are sub-convolutions with their own padding), batches, fused activations, and the
/// operand extremes where the int32 sums are largest; each for the AVX-512 kernel, the AVX2 one (Conv2D.Winograd.Avx2.cs,
/// 8-channel blocks) and the arm64 one (Conv2D.Winograd.AdvSimd.cs, SMLAL by lane; on x64 through the emulated primitives,
/// natively under tools/arm64-tests). A kernel this CPU lacks reports its cases as not run.
/// </summary>
[TestFixture]
public class WinogradTests
{
    /// <summary>Whole 16-lane blocks and every size of a last, partly padded block: 1-8 of 16 (alone or after 1-4 blocks), 9-12.</summary>
    private static readonly int[] OutputChannels = [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 19, 20, 21, 23, 24, 28, 32, 36, 40, 50, 60, 72];

    /// <summary>The two kernels: the AVX-512 one, and the AVX2 one that CPUs without AVX-512 take.</summary>
    public enum Kernel { Avx512, Avx2, Lanes }

    private static readonly Kernel[] Kernels = [Kernel.Avx512, Kernel.Avx2, Kernel.Lanes];

    private static void Require(Kernel kernel)
    {
        if (kernel == Kernel.Avx512 && !Avx512BW.IsSupported)
            Assert.Ignore("not run: this CPU has no AVX-512BW (or DOTNET_EnableAVX512=0); the AVX2 kernel runs instead");
        if (kernel == Kernel.Avx2 && !Avx2.IsSupported)
            Assert.Ignore("not run: this CPU has no AVX2; the direct kernels run instead");
        if (kernel == Kernel.Lanes && !System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
            Assert.Ignore("not run: no 128-bit vectors");
    }

    private static bool Run(Kernel kernel, FastPathCases.Conv c, PackedFilter pf, ReadOnlySpan<sbyte> input, in Shape4 inShape, Span<sbyte> output, in Shape4 outShape)
        => kernel switch
        {
            Kernel.Avx512 => Conv2D.TryEvalS8WinogradAvx512(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape),
            Kernel.Avx2 => Conv2D.TryEvalS8WinogradAvx2(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape),
            _ => Conv2D.TryEvalS8WinogradLanes(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape),
        };

    /// <summary>Whether this CPU has a Winograd kernel: x64 with AVX2, or arm64 without Dp (the Pi 4 class).</summary>
    private static bool Available => Avx2.IsSupported || (AdvSimd.Arm64.IsSupported && !Dp.IsSupported);

    /// <summary>A random 3x3 stride-1 convolution with the Winograd filter built whatever its Cin (Prepare builds it from Cin 8).</summary>
    private static (FastPathCases.Conv Case, PackedFilter Packed) Case(Random r, int cin, int cout)
    {
        var c = FastPathCases.Conv.Random(r, false, cin, cout, 3, 3);
        c.P.StrideH = c.P.StrideW = c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = r.Next(0, 3);
        c.P.PadBottom = r.Next(0, 3);
        c.P.PadLeft = r.Next(0, 3);
        c.P.PadRight = r.Next(0, 3);
        int h = System.Math.Max(r.Next(1, 18), 3 - c.P.PadTop - c.P.PadBottom), w = System.Math.Max(r.Next(1, 18), 3 - c.P.PadLeft - c.P.PadRight);
        c.In = new Shape4(r.Next(1, 3), h, w, cin);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        c.Out = new Shape4(c.In.D0, h + c.P.PadTop + c.P.PadBottom - 2, w + c.P.PadLeft + c.P.PadRight - 2, cout);
        var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        pf.Winograd = WinogradFilter.Create(c.Weights, cout, cin, pf.Init, pairs: true, lanes: true);
        return (c, pf);
    }

    [Test]
    public void MatchesReference([ValueSource(nameof(Kernels))] Kernel kernel, [ValueSource(nameof(OutputChannels))] int cout)
    {
        Require(kernel);
        var r = new Random(900 + cout);
        int run = 0;
        for (int i = 0; i < 40; i++)
        {
            int cin = i < 8 ? i + 1 : r.Next(1, 80);
            var (c, pf) = Case(r, cin, cout);
            var got = new sbyte[c.Out.FlatSize];
            bool covered = RightRequantTable.Covers(c.M, c.S, c.P.OutputOffset, c.P.ActivationMin, c.P.ActivationMax, pf.MaxAccumulator);
            // The x64 kernels need the exact one-rounding requantization; the arm64 one takes every requantization.
            bool taken = covered || kernel == Kernel.Lanes;
            Assert.That(Run(kernel, c, pf, c.Input, c.In, got, c.Out), Is.EqualTo(taken), c.ToString());
            if (!taken)
                continue;
            run++;
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), () => $"case {i}: element {d}; {c}");
        }
        Assert.That(run, Is.GreaterThanOrEqualTo(30), "cases the exact requantization covers");
    }

    /// <summary>Input and output channels, output height and width, and parts, for every kernel: <see cref="TileRangesWriteTheirTilesOnly"/>.</summary>
    private static readonly (int Cin, int Cout, int H, int W, int Parts)[] TileRangeShapes =
    [
        (16, 20, 14, 14, 2), (28, 20, 14, 14, 3), (20, 28, 14, 14, 5), (24, 4, 7, 7, 2), (32, 36, 9, 13, 4), (17, 72, 28, 28, 3),
        (64, 16, 1, 5, 2),
        (160, 40, 40, 40, 3), // wide rows: one tile row per band of staged rows
    ];

    public static IEnumerable<TestCaseData> TileRangeCases()
    {
        foreach (var kernel in Kernels)
            foreach (var (cin, cout, h, w, parts) in TileRangeShapes)
                yield return new TestCaseData(kernel, cin, cout, h, w, parts);
    }

    /// <summary>
    /// Each kernel on ranges of tiles (how the interpreter's threads split a Winograd convolution): each range writes exactly its tiles'
    /// pixels, each as the whole convolution writes it, and nothing else; ranges that start and end inside tile rows, cross
    /// bands of staged tile rows, single tiles, odd output sizes (partial tiles) and tails. Batch 1 only: a range over a
    /// batch, or outside the tiles, is refused, having written nothing.
    /// </summary>
    [TestCaseSource(nameof(TileRangeCases))]
    public void TileRangesWriteTheirTilesOnly(Kernel kernel, int cin, int cout, int h, int w, int parts)
    {
        Require(kernel);
        var r = new Random(cin * 1000 + cout * 10 + parts);
        var (c, pf) = Case(r, cin, cout);
        c.P.PadTop = c.P.PadBottom = c.P.PadLeft = c.P.PadRight = 1;
        c.In = new Shape4(1, h, w, cin);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        c.Out = new Shape4(1, h, w, cout);
        c.S = FastPathCases.I32(r, cout, -12, -6);
        var want = c.Reference();
        var whole = new sbyte[c.Out.FlatSize];
        Assert.That(Run(kernel, c, pf, c.Input, c.In, whole, c.Out), Is.True, c.ToString());
        Assert.That(FastPathCases.FirstDifference(whole, want), Is.EqualTo(-1), c.ToString());
        // The interpreter's test of whether to split by tiles, where this kernel is the one the dispatcher runs.
        bool dispatched = kernel switch { Kernel.Avx512 => Avx512BW.IsSupported, Kernel.Avx2 => Avx2.IsSupported && !Avx512BW.IsSupported, _ => !Avx2.IsSupported };
        if (dispatched)
            Assert.That(Conv2D.WinogradTakes(c.P, c.In, c.Filter, pf, c.M, c.S, c.Out), Is.True, c.ToString());
        int tiles = Conv2D.WinogradTiles(h, w, out int tw);
        var got = new sbyte[c.Out.FlatSize];
        for (int part = 0; part < parts; part++)
        {
            // Each range on an output of its own, every byte 77 before: what it leaves must still be 77.
            int t0 = tiles * part / parts, t1 = tiles * (part + 1) / parts;
            var alone = new sbyte[c.Out.FlatSize];
            Array.Fill(alone, (sbyte)77);
            Assert.That(RunTiles(kernel, c, pf, c.Input, c.In, alone, c.Out, t0, t1), Is.True);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    int t = y / 2 * tw + x / 2;
                    bool mine = t >= t0 && t < t1;
                    int e0 = (y * w + x) * cout;
                    if (!mine)
                    {
                        bool kept = true;
                        for (int ch = 0; ch < cout; ch++) kept &= alone[e0 + ch] == 77;
                        Assert.That(kept, Is.True, $"tiles {t0}-{t1}: pixel ({y}, {x}) outside the range was written; {c}");
                        continue;
                    }
                    for (int ch = 0; ch < cout; ch++)
                    {
                        Assert.That(alone[e0 + ch], Is.EqualTo(want[e0 + ch]), () => $"tiles {t0}-{t1}: pixel ({y}, {x}) channel {ch}; {c}");
                        got[e0 + ch] = alone[e0 + ch];
                    }
                }
        }
        Assert.That(FastPathCases.FirstDifference(got, want), Is.EqualTo(-1), "every tile written by one range");
        var untouched = new sbyte[c.Out.FlatSize];
        Assert.That(RunTiles(kernel, c, pf, c.Input, c.In, untouched, c.Out, 0, tiles + 1), Is.False);
        Assert.That(RunTiles(kernel, c, pf, c.Input, c.In, untouched, c.Out, 3, 3), Is.False);
        var two = new Shape4(2, h, w, cin);
        Assert.That(RunTiles(kernel, c, pf, new sbyte[two.FlatSize], two, new sbyte[2 * c.Out.FlatSize], new Shape4(2, h, w, cout), 0, 1), Is.False);
        Assert.That(untouched, Is.All.EqualTo((sbyte)0));
    }

    private static bool RunTiles(Kernel kernel, FastPathCases.Conv c, PackedFilter pf, ReadOnlySpan<sbyte> input, in Shape4 inShape,
        Span<sbyte> output, in Shape4 outShape, int t0, int t1)
        => kernel switch
        {
            Kernel.Avx512 => Conv2D.TryEvalS8WinogradAvx512Tiles(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape, t0, t1),
            Kernel.Avx2 => Conv2D.TryEvalS8WinogradAvx2Tiles(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape, t0, t1),
            _ => Conv2D.TryEvalS8WinogradLanesTiles(c.P, input, inShape, c.Filter, pf, c.M, c.S, output, outShape, t0, t1),
        };

    /// <summary>Every operand at an end of the int8 range, up to the largest Cin: the transforms' and the sums' extremes.</summary>
    [TestCase(Kernel.Avx512, 256, 20, -128, -128)]
    [TestCase(Kernel.Avx512, 256, 17, 127, -128)]
    [TestCase(Kernel.Avx512, 255, 33, -128, 127)]
    [TestCase(Kernel.Avx512, 64, 16, 127, 127)]
    [TestCase(Kernel.Avx2, 256, 20, -128, -128)]
    [TestCase(Kernel.Avx2, 256, 17, 127, -128)]
    [TestCase(Kernel.Avx2, 255, 33, -128, 127)]
    [TestCase(Kernel.Avx2, 64, 16, 127, 127)]
    [TestCase(Kernel.Lanes, 256, 20, -128, -128)]
    [TestCase(Kernel.Lanes, 40, 128, 127, -128)] // 16 blocks: their requantizations set up once per call
    [TestCase(Kernel.Lanes, 24, 137, -128, 127)] // 18 blocks: set up per group of tiles
    public void ExtremeOperands(Kernel kernel, int cin, int cout, int x, int weight)
    {
        Require(kernel);
        var r = new Random(cin + cout);
        var (c, pf) = Case(r, cin, cout);
        Array.Fill(c.Input, (sbyte)x);
        // Alternate signs through the filter so that some transformed positions reach |U| = 9 x 128 and others cancel.
        for (int k = 0; k < c.Weights.Length; k++)
            c.Weights[k] = (k / cin) % 3 == 1 ? (sbyte)weight : (sbyte)System.Math.Clamp(-weight, -128, 127);
        c.S = FastPathCases.I32(r, cout, -20, -14);
        pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        pf.Winograd = WinogradFilter.Create(c.Weights, cout, cin, pf.Init, pairs: true, lanes: true);
        var got = new sbyte[c.Out.FlatSize];
        Assert.That(Run(kernel, c, pf, c.Input, c.In, got, c.Out), Is.True, c.ToString());
        Assert.That(FastPathCases.FirstDifference(got, c.Reference()), Is.EqualTo(-1), c.ToString());
    }

    /// <summary>A map so wide that one tile row's four staged input rows pass the stack limit: not taken, and the dispatcher's direct kernels give the reference's bytes.</summary>
    [Test]
    public void VeryWideMapsGoToTheDirectKernels([ValueSource(nameof(Kernels))] Kernel kernel)
    {
        Require(kernel);
        var r = new Random(77);
        var c = FastPathCases.Conv.Random(r, false, 64, 20, 3, 3);
        c.P.StrideH = c.P.StrideW = c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadBottom = c.P.PadLeft = c.P.PadRight = 1;
        c.In = new Shape4(1, 3, 200, 64);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        c.Out = new Shape4(1, 3, 200, 20);
        var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        Assert.That(pf.Winograd is not null, Is.EqualTo(Available));
        pf.Winograd = WinogradFilter.Create(c.Weights, 20, 64, pf.Init, pairs: true, lanes: true);
        Assert.That(RightRequantTable.Covers(c.M, c.S, c.P.OutputOffset, c.P.ActivationMin, c.P.ActivationMax, pf.MaxAccumulator), Is.True,
            "the requantization is covered, so only the width declines the path");
        var narrow = new Shape4(1, 3, 20, 64);
        var narrowOut = new Shape4(1, 3, 20, 20);
        Assert.That(Run(kernel, c, pf, c.Input.AsSpan(0, narrow.FlatSize), narrow, new sbyte[narrowOut.FlatSize], narrowOut),
            Is.True, "the same op on a narrow map takes the path");
        var got = new sbyte[c.Out.FlatSize];
        Assert.That(Run(kernel, c, pf, c.Input, c.In, got, c.Out), Is.False);
        Assert.That(got, Is.All.EqualTo((sbyte)0), "nothing written");
        Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, pf, c.M, c.S, got, c.Out, new sbyte[1 << 20]);
        Assert.That(FastPathCases.FirstDifference(got, c.Reference()), Is.EqualTo(-1), c.ToString());
    }

    /// <summary>
    /// The dispatcher takes the path for the zoo's 3x3 stride-1 shapes (fashion_resnet's 28→20, 20→28 on 14x14) and not below
    /// <see cref="Conv2D.WinogradMinCin"/> input channels (mnist_cnn's 8→16, faster direct), with the reference's bytes either way.
    /// </summary>
    [TestCase(28, 20)]
    [TestCase(20, 28)]
    [TestCase(8, 16)]
    public void DispatcherTakesIt(int cin, int cout)
    {
        var r = new Random(cin * 100 + cout);
        var c = FastPathCases.Conv.Random(r, false, cin, cout, 3, 3);
        c.P.StrideH = c.P.StrideW = c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadBottom = c.P.PadLeft = c.P.PadRight = 1;
        c.P.ActivationMin = c.P.OutputOffset;
        c.In = new Shape4(1, 14, 14, cin);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        c.Out = new Shape4(1, 14, 14, cout);
        var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        Assert.That(pf.Winograd is not null, Is.EqualTo(Available && cin >= Conv2D.WinogradMinCin), "Prepare builds the transformed filter where the path is taken");
        if (pf.Winograd is not null)
        {
            // Only the layout the machine's kernel reads: the x64 pairs, or the Pi 4's per-channel U.
            bool lanes = AdvSimd.Arm64.IsSupported;
            Assert.That(pf.Winograd.U is not null, Is.EqualTo(!lanes), "the x64 pair layout");
            Assert.That(pf.Winograd.ULanes is not null, Is.EqualTo(lanes), "the arm64 per-channel layout");
        }
        var got = new sbyte[c.Out.FlatSize];
        Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, pf, c.M, c.S, got, c.Out, new sbyte[1 << 16]);
        Assert.That(FastPathCases.FirstDifference(got, c.Reference()), Is.EqualTo(-1), c.ToString());
    }
}
