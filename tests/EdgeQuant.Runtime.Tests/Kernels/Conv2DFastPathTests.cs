using NUnit.Framework;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Every Conv2D inner-product strategy against the reference, byte for byte. The arm64 strategies
/// (SDOT, SMULL/SADALP) and AVX-VNNI run here through their exact emulated primitives.
/// </summary>
public class Conv2DFastPathTests
{
    /// <summary>
    /// SdotTiles: the register-blocked SDOT-by-element tiles over staged rows (Conv2D.Sdot.AdvSimd.cs), emulated on x64;
    /// SdotCin1: the one-channel-image kernel over quadruplet rows (Conv2D.Cin1.Sdot.AdvSimd.cs), which SdotTiles takes first;
    /// LanesCin1: its SMLAL-by-lane form for a 3x3 filter (the Pi 4's), which the widened-rows path takes first;
    /// VnniRows: the VPDPBUSD tiles over biased byte rows (Conv2D.Rows.Vnni.cs), every Kh x Kw including 1x1;
    /// VnniGemm: the same tiles over 1x1 pixels staged 4 at a time (Int8Gemm.TryRunQuadsVnni). Both emulated where AVX2 lacks VNNI.
    /// </summary>
    public enum Strategy { Dispatcher, Avx2, AvxVnni, Sdot, Smull, SdotTiles, SdotCin1, LanesCin1, VnniRows, VnniGemm }

    private static bool Run(Strategy s, FastPathCases.Conv c, PackedFilter pf, sbyte[] output, sbyte[] scratch) => s switch
    {
        Strategy.Avx2 => Conv2D.TryEvalS8Fast<Avx2Dot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.AvxVnni => Conv2D.TryEvalS8Fast<AvxVnniDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.Sdot => Conv2D.TryEvalS8Fast<SdotDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.Smull => Conv2D.TryEvalS8Fast<SmullDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.SdotTiles => Conv2D.TryEvalS8RowsSdot(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, output, c.Out),
        Strategy.SdotCin1 => Conv2D.TryEvalS8Cin1Sdot(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, output, c.Out),
        Strategy.LanesCin1 => Conv2D.TryEvalS8Cin1Lanes(c.P, c.Input, c.In, c.Filter, LanesOf(c), c.M, c.S, output, c.Out),
        Strategy.VnniRows => Conv2D.TryEvalS8RowsVnni(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, output, c.Out),
        Strategy.VnniGemm => VnniGemmCovers(c) && Int8Gemm.TryRunQuadsVnni(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(c.Input), c.In.D3,
            c.In.D0 * c.In.D1 * c.In.D2, QuadsOf(c), c.M, c.S, c.P.OutputOffset, c.P.ActivationMin, c.P.ActivationMax,
            ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(output), c.Out.D3),
        _ => Dispatch(c, pf, output, scratch),
    };

    /// <summary>A 1x1 convolution without padding at unit strides: its pixels are the GEMM's rows, in place.</summary>
    private static bool VnniGemmCovers(FastPathCases.Conv c) => c.Filter.D1 == 1 && c.Filter.D2 == 1
        && c.P.PadTop + c.P.PadLeft + c.P.PadBottom + c.P.PadRight == 0 && c.P.StrideH == 1 && c.P.StrideW == 1;

    /// <summary>The filter packed for the SDOT tiles, as Conv2D.Prepare does where Dp is supported.</summary>
    internal static PackedFilter QuadsOf(FastPathCases.Conv c) => PackedFilter.Create(c.Weights, c.Filter.D0, c.Filter.D1 * c.Filter.D2 * c.Filter.D3,
        c.Bias, c.P.InputOffset, pad: true, rowTaps: 0, rowTapsS16: false, quadRowTaps: c.Filter.D2 * c.Filter.D3);

    /// <summary>The filter packed for the widened-rows (SMLAL by lane) path, as Conv2D.Prepare does on arm64.</summary>
    internal static PackedFilter LanesOf(FastPathCases.Conv c) => PackedFilter.Create(c.Weights, c.Filter.D0, c.Filter.D1 * c.Filter.D2 * c.Filter.D3,
        c.Bias, c.P.InputOffset, pad: true, rowTaps: c.Filter.D2 * c.Filter.D3, rowTapsS16: true);

    private static bool Dispatch(FastPathCases.Conv c, PackedFilter pf, sbyte[] output, sbyte[] scratch)
    {
        Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, pf, c.M, c.S, output, c.Out, scratch);
        return true;
    }

    private static void RequireSupported(Strategy s)
    {
        bool ok = s switch
        {
            Strategy.Avx2 => Avx2Dot.IsSupported,
            Strategy.AvxVnni => AvxVnniDot.IsSupported,
            Strategy.Sdot => SdotDot.IsSupported,
            Strategy.Smull => SmullDot.IsSupported,
            Strategy.SdotTiles or Strategy.SdotCin1 or Strategy.LanesCin1 => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
            Strategy.VnniRows or Strategy.VnniGemm => System.Runtime.Intrinsics.X86.Avx2.IsSupported,
            _ => true,
        };
        if (!ok) Assert.Ignore($"{s} cannot run on this machine (or intrinsics are disabled)");
    }

    private static void Check(Strategy s, FastPathCases.Conv c, int scratchPixels = -1)
    {
        var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        int bytes = scratchPixels < 0
            ? KernelScratch.Conv2DBytes(c.Filter.D1, c.Filter.D2, c.In.D3, c.Out.D2)
            : scratchPixels * pf.KPadded;
        var scratch = new sbyte[bytes];
        var output = new sbyte[c.Out.FlatSize];
        bool ran = Run(s, c, pf, output, scratch);
        bool direct = c.Filter.D1 == 1 && c.Filter.D2 == 1 && c.P.PadTop + c.P.PadLeft + c.P.PadBottom + c.P.PadRight == 0;
        if (s == Strategy.SdotTiles)
            Assert.That(ran, Is.EqualTo(c.Filter.D2 == 1 || c.P.DilationW == 1 || Cin1Covers(c) || c.In.D3 % 4 == 0), $"{s} on {c}");
        else if (s == Strategy.SdotCin1)
            Assert.That(ran, Is.EqualTo(Cin1Covers(c)), $"{s} on {c}");
        else if (s == Strategy.LanesCin1)
            Assert.That(ran, Is.EqualTo(Cin1Covers(c) && c.Filter.D1 == 3 && c.Filter.D2 == 3), $"{s} on {c}");
        else if (s == Strategy.VnniRows)
            Assert.That(ran, Is.EqualTo(VnniRowsCovers(c)), $"{s} on {c}");
        else if (s == Strategy.VnniGemm)
            Assert.That(ran, Is.EqualTo(VnniGemmCovers(c)), $"{s} on {c}");
        else if (s != Strategy.Dispatcher)
            Assert.That(ran, Is.EqualTo(direct || bytes >= pf.KPadded), $"{s} declined {c}");
        if (!ran) return;
        var expected = c.Reference();
        int d = FastPathCases.FirstDifference(output, expected);
        Assert.That(d, Is.EqualTo(-1), () => $"{s}: element {d} is {output[d]}, the reference gives {expected[d]}; {c}");
    }

    /// <summary>
    /// What <see cref="Conv2D.TryEvalS8RowsVnni"/> takes: no horizontal dilation (or one kernel column), or one kernel row
    /// whose columns hold whole quadruplets of taps (Cin a multiple of 4).
    /// </summary>
    private static bool VnniRowsCovers(FastPathCases.Conv c)
        => c.P.DilationW == 1 || c.Filter.D2 == 1 || (c.Filter.D1 == 1 && c.In.D3 % 4 == 0);

    /// <summary>
    /// Dilated one-row convolutions (temporal convolutions over sensor windows: [1, 1, T, C] with a 1 x Kw kernel) on the
    /// rows paths, which walk the kernel columns as runs of Cin taps DilationW pixels apart: VPDPBUSD tiles for Cin a
    /// multiple of 4, VPMADDWD tiles for even Cin; every stride, padding and channel tail, against the reference.
    /// </summary>
    [Test]
    public void DilatedOneRowConvolutionsOnTheRowsPaths([Values(4, 6, 8, 12, 20, 32, 5)] int cin)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("the x64 rows paths need AVX2");
        var r = new Random(900 + cin);
        int checkedVnni = 0, checkedPairs = 0;
        for (int i = 0; i < 30; i++)
        {
            int kw = 2 + i % 4, cout = new[] { 8, 16, 20, 32, 36, 3 }[i % 6];
            var c = FastPathCases.Conv.Random(r, false, cin, cout, 1, kw);
            c.P.DilationW = 2 + r.Next(3);
            c.P.DilationH = 1;
            int effW = (kw - 1) * c.P.DilationW + 1;
            int w = System.Math.Max(r.Next(1, 40), effW - c.P.PadLeft - c.P.PadRight);
            c.In = new Runtime.Format.Shape4(c.In.D0, 1, w, cin);
            c.P.PadTop = c.P.PadBottom = 0;
            c.Out = new Runtime.Format.Shape4(c.In.D0, 1, (w + c.P.PadLeft + c.P.PadRight - effW) / c.P.StrideW + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();

            var got = new sbyte[c.Out.FlatSize];
            bool ran = Conv2D.TryEvalS8RowsVnni(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, got, c.Out);
            Assert.That(ran, Is.EqualTo(cin % 4 == 0), $"VPDPBUSD rows on {c}");
            if (ran)
            {
                Assert.That(got, Is.EqualTo(expected), $"VPDPBUSD rows on {c}");
                checkedVnni++;
            }

            got = new sbyte[c.Out.FlatSize];
            ran = Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias), c.M, c.S, got, c.Out);
            Assert.That(ran, Is.EqualTo(cin % 2 == 0), $"VPMADDWD rows on {c}");
            if (ran)
            {
                Assert.That(got, Is.EqualTo(expected), $"VPMADDWD rows on {c}");
                checkedPairs++;
            }
        }
        Assert.That(checkedVnni, Is.EqualTo(cin % 4 == 0 ? 30 : 0));
        Assert.That(checkedPairs, Is.EqualTo(cin % 2 == 0 ? 30 : 0));
    }

    /// <summary>
    /// The x64 rows paths with the whole image staged run 4-pixel tiles over the image's pixels in order, a tile running on
    /// into the next output row: output widths 1-7 and 14 (tiles across 1-3 row ends, several rows inside one tile), images
    /// of more pixels than one chunk of accumulators (4096 / CoutPadded: 128 pixels at 32 channels, 64 at 64) with a last
    /// chunk of 1-3 pixels (the last 4 recomputed), strides 1-2 and batches of 2; and an image too large to stage whole (per
    /// output row). Both the VPDPBUSD and the VPMADDWD tiles, against the reference.
    /// </summary>
    [Test]
    public void RowsPathsTilesRunOnAcrossOutputRows([Values(1, 2, 3, 5, 7, 14)] int outW, [Values(12, 28, 60)] int cout)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("the x64 rows paths need AVX2");
        var r = new Random(950 + 7 * outW + cout);
        int chunk = 4096 / ((cout + 7) & ~7);
        // Heights: one row (a tile over several rows when outW < 4), a few rows, and about one and two chunks plus 1-3 pixels.
        foreach (int outH in new[] { 1, 3, (chunk + 1) / outW + 1, (2 * chunk + 3) / outW + 1 })
        {
            int stride = 1 + (outH + outW) % 2, cin = new[] { 4, 12, 28 }[(outH + cout) % 3];
            var c = FastPathCases.Conv.Random(r, false, cin, cout, 3, 3);
            c.P.StrideH = c.P.StrideW = stride;
            c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = 1;
            c.P.PadBottom = c.P.PadRight = 0;
            int h = (outH - 1) * stride + 2, w = (outW - 1) * stride + 2;
            c.In = new Runtime.Format.Shape4(2, h, w, cin);
            c.Out = new Runtime.Format.Shape4(2, outH, outW, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8RowsVnni(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, got, c.Out), $"VPDPBUSD rows on {c}");
            int d = FastPathCases.FirstDifference(got, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"VPDPBUSD rows: element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
            got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias), c.M, c.S, got, c.Out),
                $"VPMADDWD rows on {c}");
            d = FastPathCases.FirstDifference(got, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"VPMADDWD rows: element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
        }
    }

    /// <summary>
    /// A thread's share of an op as a range of output pixels (Conv2D.TryEvalS8Pixels and the rows kernels under it): the
    /// range's bytes equal the reference's, nothing else is written; ranges of 1-3 pixels, ranges starting and ending in
    /// the middle of rows, the whole image, and the two halves of the zoo's 7x7 split (25/24 pixels).
    /// </summary>
    [Test]
    public void RowsPathsTakeARangeOfPixels([Values(7, 14, 5)] int outW, [Values(12, 28, 60)] int cout)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("the x64 rows paths need AVX2");
        var r = new Random(990 + outW + cout);
        int outH = outW == 5 ? 3 : outW;
        int total = outH * outW, done = 0;
        foreach (int stride in new[] { 1, 2 })
        {
            int cin = stride == 1 ? 12 : 28;
            var c = FastPathCases.Conv.Random(r, false, cin, cout, 3, 3);
            c.P.StrideH = c.P.StrideW = stride;
            c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
            int h = (outH - 1) * stride + 1, w = (outW - 1) * stride + 1;
            c.In = new Runtime.Format.Shape4(1, h, w, cin);
            c.Out = new Runtime.Format.Shape4(1, outH, outW, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();
            var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
            var ranges = new List<(int, int)> { (0, total), (0, (total + 1) / 2), ((total + 1) / 2, total), (0, 1), (total - 3, total), (2, 5) };
            for (int k = 0; k < 6; k++)
            {
                int a = r.Next(0, total), b = r.Next(a + 1, total + 1);
                ranges.Add((a, b));
            }
            foreach (var (p0, p1) in ranges)
                foreach (bool vnni in new[] { true, false })
                {
                    var got = new sbyte[c.Out.FlatSize];
                    got.AsSpan().Fill(99);
                    bool ran = vnni
                        ? Conv2D.TryEvalS8RowsVnni(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, got, c.Out, p0, p1)
                        : Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out, p0, p1);
                    if (!ran)
                    {
                        // Declined only where the image cannot be staged whole (the int16 rows of a 27x27x28 input), writing nothing.
                        Assert.That(vnni, Is.False, $"VPDPBUSD rows declined pixels [{p0}, {p1}) of {c}");
                        Assert.That(got, Is.All.EqualTo((sbyte)99), "nothing written when declined");
                        continue;
                    }
                    done++;
                    for (int i = 0; i < got.Length; i++)
                    {
                        int pixel = i / cout;
                        sbyte want = pixel >= p0 && pixel < p1 ? expected[i] : (sbyte)99;
                        if (got[i] != want)
                            Assert.Fail($"{(vnni ? "VPDPBUSD" : "VPMADDWD")} rows, pixels [{p0}, {p1}): byte {i} (pixel {pixel}) is {got[i]}, expected {want}; {c}");
                    }
                }
        }
        Assert.That(done, Is.GreaterThanOrEqualTo(36), "ranges run");
    }

    /// <summary>
    /// Colour stems (2 or 3 input channels, 3x3 and 5x5, strides 1 and 2: BlazeFace's is 5x5 stride 2, 3 -> 24), which the
    /// dispatcher gives the VPDPBUSD rows with AVX-VNNI (a kernel row's Kw x Cin taps read as quadruplets in place): small
    /// random images and a 64x64 one on every x64 strategy, and the thread split's ranges of pixels (halves).
    /// </summary>
    [Test]
    public void ColourStemsOnTheRowsPaths([Values(2, 3)] int cin, [Values(3, 5)] int k, [Values(1, 2)] int stride)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("the x64 rows paths need AVX2");
        var r = new Random(1700 + cin * 100 + k * 10 + stride);
        foreach (int cout in new[] { 24, 16, 32, 12 })
            foreach (int size in new[] { 9, 64 })
            {
                var c = FastPathCases.Conv.Random(r, false, cin, cout, k, k);
                c.P.StrideH = c.P.StrideW = stride;
                c.P.DilationH = c.P.DilationW = 1;
                int pad = k / 2, h = size + r.Next(2), w = size;
                c.P.PadTop = c.P.PadLeft = pad - (stride == 2 ? 1 : 0);
                c.P.PadBottom = c.P.PadRight = pad;
                c.In = new Runtime.Format.Shape4(1, h, w, cin);
                c.Out = new Runtime.Format.Shape4(1, (h + c.P.PadTop + c.P.PadBottom - k) / stride + 1, (w + c.P.PadLeft + c.P.PadRight - k) / stride + 1, cout);
                c.Input = FastPathCases.S8(r, c.In.FlatSize);
                Check(Strategy.Dispatcher, c);
                Check(Strategy.VnniRows, c);
                Check(Strategy.Avx2, c);
                var expected = c.Reference();
                int total = c.Out.D1 * c.Out.D2, half = (total + 1) / 2;
                var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
                var got = new sbyte[c.Out.FlatSize];
                foreach (var (p0, p1) in new[] { (0, half), (half, total) })
                    if (!Conv2D.TryEvalS8Pixels(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out, p0, p1))
                        Assert.Fail($"pixels [{p0}, {p1}) declined: {c}");
                int d = FastPathCases.FirstDifference(got, expected);
                Assert.That(d, Is.EqualTo(-1), () => $"pixel halves: element {d} is {got[d]}, the reference gives {expected[d]}; {c}");
            }
    }

    /// <summary>
    /// A 3x3 convolution on an image too large to stage whole (the rows paths then stage the Kh rows of each output row and
    /// tile each output row on its own), against the reference on both x64 rows paths.
    /// </summary>
    [Test]
    public void RowsPathsStagePerOutputRowOnALargeImage([Values(1, 2)] int stride)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("the x64 rows paths need AVX2");
        var r = new Random(980 + stride);
        var c = FastPathCases.Conv.Random(r, false, 24, 20, 3, 3);
        c.In = new Runtime.Format.Shape4(1, 70, 71, 24);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.Out = new Runtime.Format.Shape4(1, (70 - 1) / stride + 1, (71 - 1) / stride + 1, 20);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        var expected = c.Reference();
        var got = new sbyte[c.Out.FlatSize];
        Assert.That(Conv2D.TryEvalS8RowsVnni(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, got, c.Out), $"VPDPBUSD rows on {c}");
        Assert.That(FastPathCases.FirstDifference(got, expected), Is.EqualTo(-1), $"VPDPBUSD rows on {c}");
        got = new sbyte[c.Out.FlatSize];
        Assert.That(Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias), c.M, c.S, got, c.Out),
            $"VPMADDWD rows on {c}");
        Assert.That(FastPathCases.FirstDifference(got, expected), Is.EqualTo(-1), $"VPMADDWD rows on {c}");
    }

    /// <summary>
    /// Horizontally dilated convolutions on the arm64 tiles, whose tap runs become the Kh x Kw taps: the SDOT tiles (Pi 5)
    /// for Cin a multiple of 4, the SMLAL-by-lane tiles (Pi 4) for Cin a multiple of 8; Kh 1-3, Kw 2-4, dilations 2-3 in
    /// width and 1-2 in height, strides, paddings, batches and channel tails, against the reference. On x64 both run through
    /// the portable Vector128 primitives.
    /// </summary>
    [Test]
    public void DilatedConvolutionsOnTheArm64Tiles([Values(4, 8, 12, 16, 24, 6)] int cin)
    {
        RequireSupported(Strategy.SdotTiles);
        var r = new Random(950 + cin);
        for (int i = 0; i < 24; i++)
        {
            int kh = 1 + i % 3, kw = 2 + (i / 3) % 3, cout = new[] { 8, 16, 20, 3, 36 }[i % 5];
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, kw);
            c.P.DilationW = 2 + r.Next(2);
            int effW = (kw - 1) * c.P.DilationW + 1, effH = (kh - 1) * c.P.DilationH + 1;
            int w = System.Math.Max(r.Next(1, 24), effW - c.P.PadLeft - c.P.PadRight);
            int h = System.Math.Max(c.In.D1, effH - c.P.PadTop - c.P.PadBottom);
            c.In = new Runtime.Format.Shape4(c.In.D0, h, w, cin);
            c.Out = new Runtime.Format.Shape4(c.In.D0, (h + c.P.PadTop + c.P.PadBottom - effH) / c.P.StrideH + 1,
                (w + c.P.PadLeft + c.P.PadRight - effW) / c.P.StrideW + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();

            var got = new sbyte[c.Out.FlatSize];
            bool ran = Conv2D.TryEvalS8RowsSdot(c.P, c.Input, c.In, c.Filter, QuadsOf(c), c.M, c.S, got, c.Out);
            Assert.That(ran, Is.EqualTo(cin % 4 == 0), $"SDOT tiles on {c}");
            if (ran) Assert.That(got, Is.EqualTo(expected), $"SDOT tiles on {c}");

            got = new sbyte[c.Out.FlatSize];
            ran = Conv2D.TryEvalS8RowsLanes(c.P, c.Input, c.In, c.Filter, LanesOf(c), c.M, c.S, got, c.Out);
            Assert.That(ran, Is.EqualTo(cin % 8 == 0), $"SMLAL-by-lane tiles on {c}");
            if (ran) Assert.That(got, Is.EqualTo(expected), $"SMLAL-by-lane tiles on {c}");
        }
    }

    /// <summary>
    /// The SMLAL-by-lane tiles (the Pi 4's convolutions) where the output pixels are contiguous in the staged image
    /// (Kw = 1 at unit stride: every 1x1 layer): one call runs every whole tile of 8 pixels of a block, the rest as
    /// 4-pixel tiles. Pixel counts 1-120 (whole tiles, and 1-7 left over), blocks of 1-4 channels (no upper halves),
    /// channel tails, input channels that leave a remainder of taps, Kh 1-3, left and right shifts.
    /// </summary>
    [Test]
    public void LanesTilesOverContiguousPixels([Values(8, 16, 20, 3)] int cin)
    {
        RequireSupported(Strategy.SdotTiles);
        var r = new Random(1250 + cin);
        int[] couts = [1, 4, 5, 8, 12, 16, 20, 36];
        for (int i = 0; i < 40; i++)
        {
            int cout = couts[i % couts.Length], kh = 1 + (i / couts.Length) % 3;
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, 1);
            if (i % 3 == 0)
            {
                // Some channels shifting left or not at all: blocks without the all-right form (Random's shifts are all
                // right shifts at these tap counts).
                for (int ch = 0; ch < cout; ch++)
                    if (r.Next(2) == 0)
                        c.S[ch] = r.Next(0, 2);
            }
            c.P.StrideH = 1;
            c.P.StrideW = 1;
            c.P.DilationW = 1;
            c.P.PadLeft = c.P.PadRight = 0;
            int h = 1 + r.Next(10), w = 1 + r.Next(12);
            if (i % 10 == 9) (h, w) = (14, 14); // 196 pixels: 24 tiles and 4 left
            int effH = (kh - 1) * c.P.DilationH + 1;
            h = System.Math.Max(h, effH - c.P.PadTop - c.P.PadBottom);
            c.In = new Runtime.Format.Shape4(c.In.D0, h, w, cin);
            c.Out = new Runtime.Format.Shape4(c.In.D0, (h + c.P.PadTop + c.P.PadBottom - effH) / c.P.StrideH + 1, w, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();
            var got = new sbyte[c.Out.FlatSize];
            bool ran = Conv2D.TryEvalS8RowsLanes(c.P, c.Input, c.In, c.Filter, LanesOf(c), c.M, c.S, got, c.Out);
            Assert.That(ran, Is.True, $"SMLAL-by-lane tiles on {c}");
            Assert.That(got, Is.EqualTo(expected), $"SMLAL-by-lane tiles on {c}");
        }
    }

    /// <summary>
    /// The SMLAL-by-lane tiles where the widened padded image does not fit the staging area but several output rows'
    /// input rows do: chunks of output rows, each staged and run as one sequence of pixels (the rows two chunks share
    /// widened again). 1x1 layers like fashion_mobilenetv2's 90→20 on 14x14, and Kh x Kw up to 3x3 with strides 1-2,
    /// vertical dilation, padding and batches of 1-2; every case checks that it ran in chunks (2 or more rows, fewer
    /// than the image's).
    /// </summary>
    [Test]
    public void LanesChunksOfRows([Values(24, 40, 90)] int cin)
    {
        RequireSupported(Strategy.SdotTiles);
        var r = new Random(1350 + cin);
        int[] couts = [4, 8, 20, 36];
        int run = 0;
        for (int i = 0; i < 60 && run < 12; i++)
        {
            int cout = couts[i % couts.Length], kh = 1 + r.Next(3), kw = 1 + r.Next(3);
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, kw);
            if (i % 3 == 0)
                for (int ch = 0; ch < cout; ch++)
                    if (r.Next(2) == 0)
                        c.S[ch] = r.Next(0, 2);
            c.P.StrideH = 1 + r.Next(2);
            c.P.StrideW = 1 + r.Next(2);
            c.P.DilationW = 1;
            c.P.DilationH = 1 + r.Next(2);
            int effH = (kh - 1) * c.P.DilationH + 1;
            int h = 10 + r.Next(20), w = 10 + r.Next(20);
            if (i % 4 == 0)
                (h, w, kh, kw) = (14, 14, 1, 1);
            if (kh == 1 && kw == 1)
            {
                c = FastPathCases.Conv.Random(r, false, cin, cout, 1, 1);
                c.P.StrideH = c.P.StrideW = c.P.DilationH = c.P.DilationW = 1;
                c.P.PadTop = c.P.PadBottom = c.P.PadLeft = c.P.PadRight = 0;
                effH = 1;
            }
            h = System.Math.Max(h, effH - c.P.PadTop - c.P.PadBottom);
            w = System.Math.Max(w, kw - c.P.PadLeft - c.P.PadRight);
            c.In = new Runtime.Format.Shape4(1 + r.Next(2), h, w, cin);
            int outH = (h + c.P.PadTop + c.P.PadBottom - effH) / c.P.StrideH + 1, outW = (w + c.P.PadLeft + c.P.PadRight - kw) / c.P.StrideW + 1;
            c.Out = new Runtime.Format.Shape4(c.In.D0, outH, outW, cout);
            int span = (outW - 1) * c.P.StrideW + kw;
            int chunk = Conv2D.LanesChunkRows(outH, outW, c.P.StrideH, effH, (long)span * cin);
            if (chunk < 2 || chunk >= outH)
                continue;
            run++;
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8RowsLanes(c.P, c.Input, c.In, c.Filter, LanesOf(c), c.M, c.S, got, c.Out), Is.True, $"SMLAL-by-lane tiles on {c}");
            Assert.That(got, Is.EqualTo(expected), $"SMLAL-by-lane tiles in chunks of {chunk} rows on {c}");
        }
        Assert.That(run, Is.GreaterThanOrEqualTo(6), "cases that run in chunks");
    }

    /// <summary>
    /// What <see cref="Conv2D.TryEvalS8Cin1Sdot"/> takes: one input channel, Kw &lt;= 4, 4 columns' taps within 16 bytes, the
    /// image staged whole, every channel shifting right.
    /// </summary>
    private static bool Cin1Covers(FastPathCases.Conv c)
    {
        int kh = c.Filter.D1, kw = c.Filter.D2;
        long paddedH = (long)(c.Out.D1 - 1) * c.P.StrideH + (long)(kh - 1) * c.P.DilationH + 1;
        return c.In.D3 == 1 && kw <= 4 && 3 * c.P.StrideW + (kw - 1) * c.P.DilationW < 16 && paddedH * ((c.Out.D2 + 3) / 4 * 16) <= 32768
            && BlockRequantization.OpAllRight(c.S, c.P.OutputOffset);
    }

    [Test]
    public void SdotCin1EveryShape([Values(1, 3, 4, 8, 12, 16, 17, 24, 32)] int cout)
    {
        RequireSupported(Strategy.SdotCin1);
        var r = new Random(700 + cout);
        // Kh 1..5 (3: the weights-in-registers row), Kw 1..4, strides 1..4 and dilations 1..3 (within the 16-byte
        // gather, else declined), every padding, widths giving 1..3 pixels past the last whole group, batches of 1-2.
        for (int i = 0; i < 40; i++)
        {
            int kh = 1 + i % 5, kw = 1 + (i / 5) % 4;
            var c = FastPathCases.Conv.Random(r, false, 1, cout, kh, kw);
            c.P.StrideW = 1 + r.Next(4);
            c.P.DilationW = 1 + r.Next(3);
            c.P.StrideH = 1 + r.Next(3);
            c.P.DilationH = 1 + r.Next(2);
            int w = r.Next(1, 19), effW = (kw - 1) * c.P.DilationW + 1, effH = (kh - 1) * c.P.DilationH + 1;
            w = System.Math.Max(w, effW - c.P.PadLeft - c.P.PadRight);
            int h = System.Math.Max(c.In.D1, effH - c.P.PadTop - c.P.PadBottom);
            c.In = new Runtime.Format.Shape4(c.In.D0, h, w, 1);
            c.Out = new Runtime.Format.Shape4(c.In.D0, (h + c.P.PadTop + c.P.PadBottom - effH) / c.P.StrideH + 1,
                (w + c.P.PadLeft + c.P.PadRight - effW) / c.P.StrideW + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            Check(Strategy.SdotCin1, c);
            Check(Strategy.SdotTiles, c);
            Check(Strategy.LanesCin1, c);
        }
    }

    [Test]
    public void LanesCin1EveryShape([Values(1, 3, 4, 5, 8, 12, 16, 17, 24, 32)] int cout)
    {
        RequireSupported(Strategy.LanesCin1);
        var r = new Random(800 + cout);
        // 3x3 only (else declined): strides 1..4, dilations 1..3, every padding, widths with 1..3 pixels past the last
        // group, blocks of 1..4 real channels (no upper halves) and of 5..8.
        for (int i = 0; i < 24; i++)
        {
            var c = FastPathCases.Conv.Random(r, false, 1, cout, 3, 3);
            c.P.StrideW = 1 + r.Next(4);
            c.P.DilationW = 1 + r.Next(3);
            int w = r.Next(1, 19), effW = 2 * c.P.DilationW + 1, effH = 2 * c.P.DilationH + 1;
            w = System.Math.Max(w, effW - c.P.PadLeft - c.P.PadRight);
            int h = System.Math.Max(c.In.D1, effH - c.P.PadTop - c.P.PadBottom);
            c.In = new Runtime.Format.Shape4(c.In.D0, h, w, 1);
            c.Out = new Runtime.Format.Shape4(c.In.D0, (h + c.P.PadTop + c.P.PadBottom - effH) / c.P.StrideH + 1,
                (w + c.P.PadLeft + c.P.PadRight - effW) / c.P.StrideW + 1, cout);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            Check(Strategy.LanesCin1, c);
        }
    }

    [Test]
    public void SdotCin1DeclinesAChannelWithoutARightShift([Values(0, 1, 3)] int shift)
    {
        RequireSupported(Strategy.SdotCin1);
        var r = new Random(770 + shift);
        var c = FastPathCases.Conv.Random(r, false, 1, 12, 3, 3);
        c.S[r.Next(c.S.Length)] = shift;
        Check(Strategy.SdotCin1, c);
        Check(Strategy.LanesCin1, c);
        Check(Strategy.SdotTiles, c);
    }

    [Test]
    public void SdotCin1DeclinesAnImageTooLargeToStage()
    {
        RequireSupported(Strategy.SdotCin1);
        // 200 x 200 padded: 202 quadruplet rows of 800 bytes exceed the stack limit; the general tiles take it.
        var r = new Random(760);
        var c = FastPathCases.Conv.Random(r, false, 1, 16, 3, 3);
        c.In = new Runtime.Format.Shape4(1, 200, 200, 1);
        c.P.StrideH = c.P.StrideW = 1; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.Out = new Runtime.Format.Shape4(1, 200, 200, 16);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        Check(Strategy.SdotCin1, c);
        Check(Strategy.SdotTiles, c);
    }

    [Test]
    public void PointwiseEveryInnerTailAndChannelTail([Values] Strategy s)
    {
        RequireSupported(s);
        var r = new Random(11);
        // Cin 1..33 covers every tail of the 16- and 32-byte steps; Cout 1..9 every channel tail of the 4-channel tiles.
        for (int cin = 1; cin <= 33; cin++)
        {
            var c = FastPathCases.Conv.Random(r, false, cin, 1 + cin % 9, 1, 1);
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 0;
            c.Out = new(c.In.D0, (c.In.D1 - 1) / c.P.StrideH + 1, (c.In.D2 - 1) / c.P.StrideW + 1, c.Out.D3);
            Check(s, c);
        }
    }

    [Test]
    public void ThreeByThreeEveryInnerTail([Values] Strategy s)
    {
        RequireSupported(s);
        var r = new Random(12);
        // K = 9 x Cin: 9, 18, ..., 297 hits every residue modulo 16 and 32.
        for (int cin = 1; cin <= 33; cin++)
            Check(s, FastPathCases.Conv.Random(r, false, cin, r.Next(1, 10), 3, 3));
    }

    [Test]
    public void ChannelsInLanesKernelEveryTail([Values(Strategy.Dispatcher, Strategy.Avx2, Strategy.VnniRows, Strategy.VnniGemm)] Strategy s, [Values(8, 16, 24, 40, 1, 2, 3, 4, 5, 6, 7, 12, 20, 28, 52, 60, 90)] int cout)
    {
        RequireSupported(s);
        var r = new Random(16 + cout);
        // With AVX2 every Cout takes Int8Gemm's VPMADDWD kernel (a Cout not a multiple of 8 in-vector over
        // padding lanes): odd and even K, 4-row tiles and 1..3 remaining rows (image widths 1..9), 16- and
        // 8-channel blocks, every channel tail; 1x1 in place and 3x3 widened rows.
        for (int cin = 1; cin <= 33; cin++)
        {
            var c = FastPathCases.Conv.Random(r, false, cin, cout, 1, 1);
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 0;
            c.Out = new(c.In.D0, (c.In.D1 - 1) / c.P.StrideH + 1, (c.In.D2 - 1) / c.P.StrideW + 1, cout);
            Check(s, c);
            Check(s, FastPathCases.Conv.Random(r, false, 1 + cin % 11, cout, 3, 3));
        }
    }

    [Test]
    public void SdotTilesEveryChannelTailAndPixelTail([Values(1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 20, 28, 36, 60)] int cout)
    {
        RequireSupported(Strategy.SdotTiles);
        var r = new Random(500 + cout);
        // 8-channel blocks and every channel tail; kernel rows of 1..4 quadruplets past each 16-byte step (Kw x Cin
        // up to 3 x 21); image widths giving 4-pixel tiles and 1..3 remaining pixels; 1x1 in place (its last pixels
        // from a copy) and staged; strides, pads, dilations (vertical only: a dilated kernel row is declined).
        for (int i = 0; i < 24; i++)
        {
            int cin = 1 + i % 21, k = i % 3 == 0 ? 1 : 3;
            var c = FastPathCases.Conv.Random(r, false, cin, cout, k, k);
            if (i % 6 == 0)
            {
                c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 0;
                c.P.StrideH = c.P.StrideW = 1;
                c.Out = new(c.In.D0, c.In.D1, c.In.D2, cout);
            }
            Check(Strategy.SdotTiles, c);
        }
    }

    [Test]
    public void SdotTilesStageARingOfRowsOnALargeImage([Values(1, 2)] int stride)
    {
        RequireSupported(Strategy.SdotTiles);
        // 64 x 64 x 12 padded is too large to stage whole: a ring of the Kh rows each output row reads.
        var r = new Random(600 + stride);
        var c = FastPathCases.Conv.Random(r, false, 12, 20, 3, 3);
        c.In = new Runtime.Format.Shape4(1, 64, 64, 12);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.Out = new Runtime.Format.Shape4(1, (64 - 1) / stride + 1, (64 - 1) / stride + 1, 20);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        Check(Strategy.SdotTiles, c);
    }

    [Test]
    public void RandomShapes([Values] Strategy s)
    {
        RequireSupported(s);
        var r = new Random(13);
        for (int i = 0; i < 60; i++)
            Check(s, FastPathCases.Conv.Random(r, false, r.Next(1, 20), r.Next(1, 12), r.Next(1, 5), r.Next(1, 5)));
    }

    [Test]
    public void SmallScratchRunsInChunks([Values(Strategy.Avx2, Strategy.AvxVnni, Strategy.Sdot, Strategy.Smull)] Strategy s, [Values(0, 1, 3)] int pixels)
    {
        RequireSupported(s);
        var r = new Random(14 + pixels);
        for (int i = 0; i < 10; i++)
            Check(s, FastPathCases.Conv.Random(r, false, r.Next(1, 12), r.Next(1, 9), 3, 2), pixels);
    }

    [Test]
    public void ConvenienceOverloadMatchesTheReference()
    {
        var r = new Random(15);
        for (int i = 0; i < 20; i++)
        {
            var c = FastPathCases.Conv.Random(r, false, r.Next(1, 20), r.Next(1, 12), r.Next(1, 4), r.Next(1, 4));
            var output = new sbyte[c.Out.FlatSize];
            Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, output, c.Out);
            Assert.That(output, Is.EqualTo(c.Reference()), c.ToString());
        }
    }
}
