using System.Diagnostics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Not a test: prints the best-of-rounds time of the x64 one-input-channel stem (Conv2D.Cin1.Avx2.cs) against the
/// widened-rows path, and of the depthwise kernel, on the zoo's layer shapes. Run explicitly:
/// dotnet test -c Release --filter Name~StemDepthwiseSpeedReport.
/// </summary>
[Explicit("prints a speed report; timing, not correctness")]
public class StemDepthwiseSpeedReport
{
    private static double Best(Action run)
    {
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalMilliseconds < 300) run();
        double best = double.MaxValue;
        for (int k = 0; k < 30; k++)
        {
            sw.Restart();
            for (int i = 0; i < 50; i++) run();
            best = System.Math.Min(best, sw.Elapsed.TotalSeconds / 50);
        }
        return best * 1e6;
    }

    private static FastPathCases.Conv Case(bool depthwise, int h, int cin, int cout, int stride)
    {
        var r = new Random(1);
        var c = FastPathCases.Conv.Random(r, depthwise, cin, cout, 3, 3);
        c.P.StrideH = c.P.StrideW = stride; c.P.DilationH = c.P.DilationW = 1;
        c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 1;
        c.P.ActivationMin = -128; c.P.ActivationMax = 127;
        c.In = new Shape4(1, h, h, cin);
        int oh = (h - 1) / stride + 1;
        c.Out = new Shape4(1, oh, oh, depthwise ? cin : cout);
        c.Input = FastPathCases.S8(r, c.In.FlatSize);
        return c;
    }

    [Test]
    public void Report()
    {
        // Twice: the first pass also brings every path to tier-1 code.
        for (int pass = 0; pass < 2; pass++)
            Pass(pass);
    }

    private static void Pass(int pass)
    {
        var stem = Case(false, 28, 1, 16, 1);
        var pf = Conv2D.Prepare(stem.P, stem.Weights, stem.Filter, stem.Bias);
        var o = new sbyte[stem.Out.FlatSize];
        double rows = Best(() => Conv2D.TryEvalS8RowsAvx2(stem.P, stem.Input, stem.In, stem.Filter, pf, stem.M, stem.S, o, stem.Out));
        double cin1 = Best(() => Conv2D.TryEvalS8Cin1Avx2(stem.P, stem.Input, stem.In, stem.Filter, pf, stem.M, stem.S, o, stem.Out));
        if (pass == 1) TestContext.Out.WriteLine($"stem 28x28 1->16: widened rows {rows:F2} us, cin1 {cin1:F2} us");
        foreach (int n in new[] { 1764, 3136, 3920 })
        {
            var r = new Random(n);
            var ep = new ElementwiseParams
            {
                Input1Offset = 3, Input2Offset = -7, OutputOffset = 5, LeftShift = 20,
                Input1Multiplier = FastPathCases.Multipliers(r, 1)[0], Input1Shift = -1,
                Input2Multiplier = FastPathCases.Multipliers(r, 1)[0], Input2Shift = 0,
                OutputMultiplier = FastPathCases.Multipliers(r, 1)[0], OutputShift = -19, ActivationMin = -128, ActivationMax = 127,
            };
            var a = FastPathCases.S8(r, n);
            var bb = FastPathCases.S8(r, n);
            var y = new sbyte[n];
            var shape = new Shape4(1, 1, 1, n);
            var table = Elementwise.PrepareAddTable(ep, false, shape, shape, shape)!;
            double tt = Best(() => Elementwise.AddS8Table(table, a, bb, y));
            double tv = Best(() => Elementwise.AddS8(ep, a, shape, bb, shape, y, shape, false));
            if (pass == 1) TestContext.Out.WriteLine($"add {n}: table {tt:F2} us, vector {tv:F2} us");
        }
        foreach (var (h, ch, s) in new[] { (28, 16, 2), (7, 64, 1), (14, 90, 1), (28, 36, 2), (7, 150, 1) })
        {
            var d = Case(true, h, ch, ch, s);
            var dp = DepthwiseConv2D.Prepare(d.P, d.Weights, d.Filter, d.Bias)!;
            var od = new sbyte[d.Out.FlatSize];
            double t = Best(() => DepthwiseConv2D.TryEvalS8RowsAvx2(d.P, d.Input, d.In, d.Filter, dp, d.M, d.S, od, d.Out));
            if (pass == 1) TestContext.Out.WriteLine($"depthwise {h}x{h}x{ch} stride {s}: {t:F2} us ({d.Out.FlatSize / t / 1000:F2} outputs/ns)");
        }
    }
}
