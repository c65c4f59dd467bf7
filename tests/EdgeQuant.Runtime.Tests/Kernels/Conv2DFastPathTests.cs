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
    public enum Strategy { Dispatcher, Avx2, AvxVnni, Sdot, Smull }

    private static bool Run(Strategy s, FastPathCases.Conv c, PackedFilter pf, sbyte[] output, sbyte[] scratch) => s switch
    {
        Strategy.Avx2 => Conv2D.TryEvalS8Fast<Avx2Dot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.AvxVnni => Conv2D.TryEvalS8Fast<AvxVnniDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.Sdot => Conv2D.TryEvalS8Fast<SdotDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        Strategy.Smull => Conv2D.TryEvalS8Fast<SmullDot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, output, c.Out, scratch),
        _ => Dispatch(c, pf, output, scratch),
    };

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
        if (s != Strategy.Dispatcher)
            Assert.That(ran, Is.EqualTo(direct || bytes >= pf.KPadded), $"{s} declined {c}");
        if (!ran) return;
        var expected = c.Reference();
        int d = FastPathCases.FirstDifference(output, expected);
        Assert.That(d, Is.EqualTo(-1), () => $"{s}: element {d} is {output[d]}, the reference gives {expected[d]}; {c}");
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
    public void ChannelsInLanesKernelEveryTail([Values(Strategy.Dispatcher, Strategy.Avx2)] Strategy s, [Values(8, 16, 24, 40, 1, 2, 3, 4, 5, 6, 7, 12, 20, 28, 60)] int cout)
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
