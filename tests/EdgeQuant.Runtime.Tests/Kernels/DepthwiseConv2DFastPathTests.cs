using NUnit.Framework;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>The DepthwiseConv2D fast paths against the reference, byte for byte.</summary>
public class DepthwiseConv2DFastPathTests
{
    /// <summary>
    /// Lanes: the arm64 widened multiply-accumulate over staged rows; Sdot: the Pi 5 SDOT over quadruplet rows (both on x64
    /// through the emulated primitives, Sdot on the Cortex-A72 through SMULL/SADALP).
    /// </summary>
    public enum Path { Dispatcher, Avx2, Vector128, Rows, PreparedDispatcher, Lanes, Sdot }

    private static void Check(Path path, FastPathCases.Conv c)
    {
        var output = new sbyte[c.Out.FlatSize];
        bool ran = path switch
        {
            Path.Avx2 => DepthwiseConv2D.TryEvalS8Avx2(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, output, c.Out),
            Path.Vector128 => DepthwiseConv2D.TryEvalS8Vector128(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, output, c.Out),
            Path.Rows => DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias) is { } pf
                && DepthwiseConv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, output, c.Out),
            Path.Lanes => DepthwiseConv2D.PrepareLanes(c.P, c.Weights, c.Filter, c.Bias, force: true) is { } lf
                && DepthwiseConv2D.TryEvalS8RowsLanes(c.P, c.Input, c.In, c.Filter, lf, c.M, c.S, output, c.Out),
            Path.Sdot => DepthwiseConv2D.PrepareLanes(c.P, c.Weights, c.Filter, c.Bias, force: true) is { } sf
                && DepthwiseConv2D.TryEvalS8RowsSdot(c.P, c.Input, c.In, c.Filter, sf, c.M, c.S, output, c.Out),
            Path.PreparedDispatcher => DispatchPrepared(c, output),
            _ => Dispatch(c, output),
        };
        if (path == Path.Sdot) // Kw <= 4 and every channel shifting right (the staging fits for every case here)
            Assert.That(ran, Is.EqualTo(c.P.DepthMultiplier == 1 && c.Filter.D2 <= 4
                && Runtime.Kernels.Simd.BlockRequantization.OpAllRight(c.S, c.P.OutputOffset)), $"{path} on {c}");
        else if (path == Path.Lanes)
            Assert.That(ran, Is.EqualTo(c.P.DepthMultiplier == 1), $"{path} on {c}"); // every channel count, tails in-vector
        else if (path == Path.Rows)
            Assert.That(ran, Is.EqualTo(System.Runtime.Intrinsics.X86.Avx2.IsSupported && c.P.DepthMultiplier == 1), $"{path} on {c}"); // every channel count, tails in-vector
        else if (path != Path.Dispatcher && path != Path.PreparedDispatcher)
            Assert.That(ran, Is.EqualTo(c.P.DepthMultiplier == 1 || (path == Path.Vector128 && c.P.DepthMultiplier <= 16)), $"{path} on {c}");
        if (!ran) return;
        var expected = c.Reference();
        int d = FastPathCases.FirstDifference(output, expected);
        Assert.That(d, Is.EqualTo(-1), () => $"{path}: element {d} is {output[d]}, the reference gives {expected[d]}; {c}");
    }

    private static bool Dispatch(FastPathCases.Conv c, sbyte[] output)
    {
        DepthwiseConv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, output, c.Out);
        return true;
    }

    /// <summary>As the interpreter calls it: with the per-op data prepared once.</summary>
    private static bool DispatchPrepared(FastPathCases.Conv c, sbyte[] output)
    {
        DepthwiseConv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias),
            c.M, c.S, output, c.Out);
        return true;
    }

    private static void Require(Path path)
    {
        if ((path == Path.Avx2 || path == Path.Rows) && !System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("no AVX2");
        if ((path == Path.Lanes || path == Path.Sdot) && !System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) Assert.Ignore("Vector128 is not accelerated (intrinsics disabled)");
    }

    [Test]
    public void StagedRowsEveryChannelBlockAndTapCount([Values(Path.Rows, Path.PreparedDispatcher, Path.Lanes, Path.Sdot)] Path path, [Values(8, 16, 24, 40, 64)] int channels)
    {
        Require(path);
        var r = new Random(34 + channels);
        // 16- and 8-channel blocks; 1..16 taps (odd counts pair the last tap with zeros); strides, dilations, pads.
        for (int i = 0; i < 30; i++)
            Check(path, FastPathCases.Conv.Random(r, true, channels, 0, r.Next(1, 5), r.Next(1, 5)));
        // 3x3 has an unrolled body.
        for (int i = 0; i < 15; i++)
            Check(path, FastPathCases.Conv.Random(r, true, channels, 0, 3, 3));
    }

    /// <summary>
    /// Kernels past 4 taps a side, as real exports have them: 5x5 (MobileNetV3, EfficientNet), 1-row kernels over time
    /// series (an IMU model's 1x5, 1x7), 5x1 and 7x7; the general body's two-pixel and one-pixel steps, any channel count.
    /// </summary>
    [Test]
    public void StagedRowsWideKernels([Values(Path.Rows, Path.PreparedDispatcher, Path.Lanes, Path.Sdot)] Path path, [Values(8, 16, 20, 36)] int channels)
    {
        Require(path);
        var r = new Random(77 + channels);
        foreach (var (kh, kw) in new[] { (5, 5), (1, 5), (1, 7), (5, 1), (7, 7), (3, 5), (2, 6) })
            for (int i = 0; i < 4; i++)
                Check(path, FastPathCases.Conv.Random(r, true, channels, 0, kh, kw));
    }

    /// <summary>
    /// The x64 staged-rows kernel on a range of output pixels (one thread's share of a split op): partial first and last
    /// rows, single pixels, halves, random ranges; 3x3 and other kernels, strides, dilations, pads and channel counts with
    /// 16- and 8-lane groups and overlapping rests. Every pixel of the range equals the reference, nothing else is written.
    /// </summary>
    [Test]
    public void StagedRowsTakeARangeOfPixels([Values(8, 20, 36, 90)] int channels)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported) Assert.Ignore("no AVX2: the x64 staged-rows kernel does not run here");
        var r = new Random(4400 + channels);
        int ranges = 0;
        for (int i = 0; i < 24; i++)
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, i % 3 == 0 ? r.Next(1, 5) : 3, i % 3 == 0 ? r.Next(1, 5) : 3);
            c.In = new Runtime.Format.Shape4(1, c.In.D1, c.In.D2, c.In.D3);
            c.Out = new Runtime.Format.Shape4(1, c.Out.D1, c.Out.D2, c.Out.D3);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            var expected = c.Reference();
            var pf = DepthwiseConv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias)!;
            int total = c.Out.D1 * c.Out.D2, w = c.Out.D2;
            var list = new List<(int, int)> { (0, total), (0, (total + 1) / 2), ((total + 1) / 2, total), (0, 1), (total - 1, total),
                (System.Math.Min(w / 2, total - 1), System.Math.Min(w + w / 2 + 1, total)) };
            for (int k = 0; k < 4; k++)
            {
                int a = r.Next(0, total), b = r.Next(a + 1, total + 1);
                list.Add((a, b));
            }
            foreach (var (p0, p1) in list)
            {
                if (p1 <= p0) continue;
                var got = new sbyte[c.Out.FlatSize];
                got.AsSpan().Fill(99);
                Assert.That(DepthwiseConv2D.TryEvalS8Pixels(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out, p0, p1), Is.True, $"pixels [{p0}, {p1}) of {c}");
                ranges++;
                for (int e = 0; e < got.Length; e++)
                {
                    int pixel = e / channels;
                    sbyte want = pixel >= p0 && pixel < p1 ? expected[e] : (sbyte)99;
                    if (got[e] != want)
                        Assert.Fail($"pixels [{p0}, {p1}): byte {e} (pixel {pixel}) is {got[e]}, expected {want}; {c}");
                }
            }
        }
        Assert.That(ranges, Is.GreaterThanOrEqualTo(200), "ranges run");
    }

    [Test]
    public void StagedRows3x3WithLeftOrZeroShifts([Values(Path.Rows, Path.PreparedDispatcher, Path.Lanes, Path.Sdot)] Path path, [Values(8, 13, 36)] int channels)
    {
        Require(path);
        // Usual 3x3 layers shift every channel right (the short requantization); a channel with shift 0 or a left shift takes
        // the general block requantization, for the whole op.
        var r = new Random(50 + channels);
        for (int i = 0; i < 12; i++)
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, 3, 3);
            c.S[r.Next(channels)] = r.Next(0, 3);
            if (i % 3 == 0)
                c.P.OutputOffset = 0;
            Check(path, c);
        }
    }

    [Test]
    public void StagedRows3x3WideRowsEveryTail([Values(Path.PreparedDispatcher, Path.Lanes, Path.Sdot)] Path path, [Values(1, 2)] int stride, [Values(16, 90)] int channels)
    {
        Require(path);
        // Rows of 4-pixel tiles and every tail of 1-3 pixels, unit and doubled stride and dilation, channel counts of the zoo.
        var r = new Random(60 + stride + channels);
        for (int width = 4; width <= 19; width += 1)
        {
            var c = FastPathCases.Conv.Random(r, true, channels, 0, 3, 3);
            int dil = r.Next(1, 3);
            c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = dil;
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = dil;
            int h = r.Next(3, 7);
            c.In = new Runtime.Format.Shape4(1, h, width, channels);
            c.Out = new Runtime.Format.Shape4(1, (h - 1) / stride + 1, (width - 1) / stride + 1, channels);
            c.Input = FastPathCases.S8(r, c.In.FlatSize);
            Check(path, c);
        }
    }

    [Test]
    public void StagedRowsRowByRowOnALargeImage([Values(Path.Rows, Path.PreparedDispatcher, Path.Lanes, Path.Sdot)] Path path, [Values(1, 2)] int stride)
    {
        Require(path);
        // 48 x 48 x 32 padded is too large to stage whole: the paths copy the Kh rows of each output row (Lanes: a ring of them).
        var r = new Random(40 + stride);
        var c = FastPathCases.Conv.Random(r, true, 32, 0, 3, 3);
        c.In = new Runtime.Format.Shape4(1, 48, 48, 32);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.Out = new Runtime.Format.Shape4(1, (48 - 1) / stride + 1, (48 - 1) / stride + 1, 32);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        Check(path, c);
    }

    [Test]
    public void EveryChannelTail([Values] Path path)
    {
        Require(path);
        var r = new Random(31);
        // Channels 1..33 cover every tail of the 16-channel steps.
        for (int c = 1; c <= 33; c++)
            Check(path, FastPathCases.Conv.Random(r, true, c, 0, r.Next(1, 4), r.Next(1, 4)));
    }

    [Test]
    public void RandomShapesWithDepthMultipliers([Values] Path path)
    {
        Require(path);
        var r = new Random(32);
        for (int i = 0; i < 60; i++)
            Check(path, FastPathCases.Conv.Random(r, true, r.Next(1, 40), 0, r.Next(1, 5), r.Next(1, 5), maxMultiplier: 3));
    }

    [Test]
    public void DepthMultipliersEveryChannelTail([Values] Path path, [Values(2, 3, 5, 16, 17)] int multiplier)
    {
        Require(path);
        var r = new Random(33 + multiplier);
        // Output channels Cin x m cover every residue of oc0 % m and the 16-channel tails; m = 17 is past the gather table.
        for (int cin = 1; cin <= 12; cin++)
        {
            var c = FastPathCases.Conv.Random(r, true, cin, 0, r.Next(1, 4), r.Next(1, 4), maxMultiplier: 1);
            c = FastPathCases.Conv.WithDepthMultiplier(r, c, multiplier);
            Check(path, c);
        }
    }
}
