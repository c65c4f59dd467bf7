using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The paths for few channels: Conv2D with a short inner product (stems, Kh x Kw x Cin &lt;= 64,
/// vectorised over output channels; with AVX2 the widened-rows path, also for larger K) and MaxPool with C &lt; 16 (staged rows). Through the public
/// dispatchers, byte for byte against the reference on random shapes, borders and parameters.
/// </summary>
[TestFixture]
public class SmallChannelFastPathTests
{
    [Test]
    public void SmallKConvolutionMatchesReference([Values(4, 8, 12, 16, 24, 32, 5)] int cout)
    {
        var r = new Random(100 + cout);
        for (int i = 0; i < 40; i++)
        {
            int cin = r.Next(1, 8), kh = r.Next(1, 4), kw = r.Next(2, 4);
            if (kh * kw * cin > Conv2D.SmallKLimit) cin = 1;
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, kw);
            var expected = new sbyte[c.Out.FlatSize];
            var got = new sbyte[c.Out.FlatSize];
            Conv2D.EvalS8Reference(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, expected, c.Out);
            Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, got, c.Out);
            Assert.That(got, Is.EqualTo(expected), $"case {i}: in {c.In} filter {c.Filter} stride {c.P.StrideH}x{c.P.StrideW} dilation {c.P.DilationH}x{c.P.DilationW} pads {c.P.PadTop},{c.P.PadLeft},{c.P.PadBottom},{c.P.PadRight}");
        }
    }

    [Test]
    public void WidenedRowsPathMatchesReference([Values(8, 16, 24, 40, 1, 3, 5, 12, 20, 28, 60)] int cout)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            Assert.Ignore("AVX2 is not available (or intrinsics are disabled)");
        var r = new Random(200 + cout);
        // Kw x Cin from 2 to 69 covers odd and even row lengths (the odd last pair reads one spare element),
        // K below and above the small-K limit, image widths giving 4-pixel tiles and every remainder.
        for (int i = 0; i < 60; i++)
        {
            int cin = r.Next(1, 24), kh = r.Next(1, 4), kw = r.Next(2, 4);
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, kw);
            if (c.P.DilationW != 1)
            {
                c.P.DilationW = 1;
                c.Out = new Shape4(c.Out.D0, c.Out.D1, (c.In.D2 + c.P.PadLeft + c.P.PadRight - kw) / c.P.StrideW + 1, cout);
            }
            var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out), Is.True, c.ToString());
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), () => $"case {i}: element {d}; {c}");
        }
    }

    /// <summary>
    /// The arm64 widened-rows path (SMLAL by lane, <see cref="Conv2D.TryEvalS8RowsLanes"/>), which the
    /// dispatcher takes on arm64; on x64 it runs through the emulated lane primitives. Every channel tail
    /// (8-channel groups), row tap counts giving every 8-tap remainder (zero-padded groups), 4-pixel tiles and
    /// 1-3 remaining pixels, 1x1 and Kh x Kw, whole-image staging and a ring of rows.
    /// </summary>
    [Test]
    public void LanesRowsPathMatchesReference([Values(1, 3, 5, 8, 12, 16, 20, 28, 60)] int cout)
    {
        if (!System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated)
            Assert.Ignore("Vector128 is not accelerated (intrinsics disabled)");
        var r = new Random(900 + cout);
        for (int i = 0; i < 40; i++)
        {
            // Every fifth case 1x1 (the Pi 4 takes pointwise convolutions on this path too).
            int cin = r.Next(1, 24), kh = i % 5 == 0 ? 1 : r.Next(1, 4), kw = i % 5 == 0 ? 1 : r.Next(2, 4);
            var c = FastPathCases.Conv.Random(r, false, cin, cout, kh, kw);
            if (c.P.DilationW != 1)
            {
                c.P.DilationW = 1;
                c.Out = new Shape4(c.Out.D0, c.Out.D1, (c.In.D2 + c.P.PadLeft + c.P.PadRight - kw) / c.P.StrideW + 1, cout);
            }
            if (i == 39)
            {
                // Too large to stage whole: the Kh rows of each output row.
                c.In = new Shape4(1, 70, 70, cin);
                c.P.StrideH = c.P.StrideW = 1; c.P.DilationH = 1;
                c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
                c.Out = new Shape4(1, 70 + 2 - kh + 1, 70 + 2 - kw + 1, cout);
                c.Input = FastPathCases.S8(r, c.In.FlatSize);
            }
            var pf = Runtime.Kernels.Simd.PackedFilter.Create(c.Weights, cout, kh * kw * cin, c.Bias, c.P.InputOffset, pad: true, rowTaps: kw * cin, rowTapsS16: true);
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8RowsLanes(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out), Is.True, c.ToString());
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), () => $"case {i}: element {d}; {c}");
        }
    }

    [Test]
    public void WidenedRowsPathStagesRowByRowOnALargeImage([Values(1, 2)] int stride)
    {
        if (!System.Runtime.Intrinsics.X86.Avx2.IsSupported)
            Assert.Ignore("AVX2 is not available (or intrinsics are disabled)");
        // 96 x 96 x 3 padded is too large to stage whole: the path widens the Kh rows of each output row.
        var r = new Random(300 + stride);
        var c = FastPathCases.Conv.Random(r, false, 3, 16, 3, 3);
        c.In = new Shape4(1, 96, 96, 3);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.Out = new Shape4(1, (96 - 1) / stride + 1, (96 - 1) / stride + 1, 16);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
        var got = new sbyte[c.Out.FlatSize];
        Assert.That(Conv2D.TryEvalS8RowsAvx2(c.P, c.Input, c.In, c.Filter, pf, c.M, c.S, got, c.Out), Is.True);
        int d = FastPathCases.FirstDifference(got, c.Reference());
        Assert.That(d, Is.EqualTo(-1), () => $"element {d}; {c}");
    }

    [Test]
    public void StemOnAnImageSizedInputMatchesReference()
    {
        var r = new Random(7);
        foreach (var (cin, cout) in new[] { (1, 8), (1, 16), (3, 16), (3, 32), (1, 12), (12, 28), (3, 20) })
        {
            var c = FastPathCases.Conv.Random(r, false, cin, cout, 3, 3);
            c.In = new Shape4(1, 28, 28, cin);
            c.P.StrideH = c.P.StrideW = 1; c.P.DilationH = c.P.DilationW = 1;
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
            c.Out = new Shape4(1, 28, 28, cout);
            c.Input = new sbyte[c.In.FlatSize];
            r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(c.Input.AsSpan()));
            var expected = new sbyte[c.Out.FlatSize];
            var got = new sbyte[c.Out.FlatSize];
            Conv2D.EvalS8Reference(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, expected, c.Out);
            Conv2D.EvalS8(c.P, c.Input, c.In, c.Weights, c.Filter, c.Bias, c.M, c.S, got, c.Out);
            Assert.That(got, Is.EqualTo(expected), $"{cin} -> {cout}");
        }
    }

    [Test]
    public void MaxPoolWithFewChannelsMatchesReference([Range(1, 15)] int channels)
    {
        var r = new Random(channels);
        for (int i = 0; i < 20; i++)
        {
            int fh = r.Next(1, 4), fw = r.Next(1, 4), sh = r.Next(1, 3), sw = r.Next(1, 3);
            int pt = r.Next(0, fh), pb = r.Next(0, fh), pl = r.Next(0, fw), pr = r.Next(0, fw);
            int h = System.Math.Max(r.Next(1, 30), fh), w = System.Math.Max(r.Next(1, 30), fw);
            var p = new PoolParams
            {
                StrideH = sh, StrideW = sw, FilterH = fh, FilterW = fw, PadTop = pt, PadLeft = pl, PadBottom = pb, PadRight = pr,
                ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
            };
            var inShape = new Shape4(r.Next(1, 3), h, w, channels);
            var outShape = new Shape4(inShape.D0, (h + pt + pb - fh) / sh + 1, (w + pl + pr - fw) / sw + 1, channels);
            var input = new sbyte[inShape.FlatSize];
            r.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(input.AsSpan()));
            var expected = new sbyte[outShape.FlatSize];
            var got = new sbyte[outShape.FlatSize];
            Pooling.MaxS8Reference(p, input, inShape, expected, outShape);
            Pooling.MaxS8(p, input, inShape, got, outShape);
            Assert.That(got, Is.EqualTo(expected), $"case {i}: in {inShape} window {fh}x{fw} stride {sh}x{sw}");
        }
    }
}
