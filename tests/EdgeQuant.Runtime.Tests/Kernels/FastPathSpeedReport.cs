using System.Diagnostics;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Not a test: prints the achieved speed of the fast kernels against the reference on the layer
/// shapes of tests/zoo/fashion_mobilenet.onnx (stem Conv 1->16 3x3 on 28x28, pointwise 64->64 on
/// 7x7, ...). Run explicitly: dotnet test -c Release --filter Name~SpeedReport.
/// </summary>
[Explicit("prints a speed report; timing, not correctness")]
public class FastPathSpeedReport
{
    private static double BestSeconds(Action run)
    {
        // Warm up past tiered compilation (tier 0, OSR, background tier 1) before timing.
        var sw = Stopwatch.StartNew();
        while (sw.Elapsed.TotalMilliseconds < 400) run();
        int reps = 1;
        sw.Restart();
        while (sw.Elapsed.TotalMilliseconds < 20) { run(); reps++; }
        reps = System.Math.Max(1, (int)(reps * 60 / System.Math.Max(1, sw.Elapsed.TotalMilliseconds)));
        double best = double.MaxValue;
        for (int k = 0; k < 5; k++)
        {
            sw.Restart();
            for (int i = 0; i < reps; i++) run();
            best = System.Math.Min(best, sw.Elapsed.TotalSeconds / reps);
        }
        return best;
    }

    private static void Line(string name, double macs, double reference, double fast, string path)
    {
        string rate = macs > 0 ? $"  {macs / reference / 1e9,6:F2} -> {macs / fast / 1e9,6:F2} GMAC/s" : "";
        TestContext.Out.WriteLine($"{name,-44} reference {reference * 1e6,9:F1} us  {path,-16} {fast * 1e6,8:F1} us  x{reference / fast,5:F1}{rate}");
    }

    private static void Conv(string name, int h, int w, int cin, int cout, int k, int stride, int pad)
    {
        var r = new Random(1);
        int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
        var p = new Conv2DParams
        {
            StrideH = stride, StrideW = stride, DilationH = 1, DilationW = 1, PadTop = pad, PadLeft = pad, PadBottom = pad, PadRight = pad,
            InputOffset = 128, OutputOffset = -128, ActivationMin = -128, ActivationMax = 127, DepthMultiplier = 1, FoldedBiasOffset = -1,
        };
        var inS = new Shape4(1, h, w, cin);
        var fS = new Shape4(cout, k, k, cin);
        var oS = new Shape4(1, oh, ow, cout);
        var input = FastPathCases.S8(r, inS.FlatSize);
        var filter = FastPathCases.S8(r, fS.FlatSize, -127, 127);
        var bias = FastPathCases.I32(r, cout, -1000, 1000);
        var m = FastPathCases.Multipliers(r, cout);
        var s = FastPathCases.I32(r, cout, -10, -8);
        var output = new sbyte[oS.FlatSize];
        var pf = Conv2D.Prepare(p, filter, fS, bias);
        var scratch = new sbyte[KernelScratch.Conv2DBytes(k, k, cin, ow)];
        double macs = (double)oh * ow * cout * k * k * cin;
        double reference = BestSeconds(() => Conv2D.EvalS8Reference(p, input, inS, filter, fS, bias, m, s, output, oS));
        double fast = BestSeconds(() => Conv2D.EvalS8(p, input, inS, filter, fS, bias, pf, m, s, output, oS, scratch));
        Line($"Conv2D {name}", macs, reference, fast, "dispatcher");
        double v128 = BestSeconds(() => Conv2D.TryEvalS8Fast<SmullDot>(p, input, inS, filter, fS, pf, m, s, output, oS, scratch));
        Line($"Conv2D {name}", macs, reference, v128, "Vector128 smull");
        double vnni = BestSeconds(() => Conv2D.TryEvalS8Fast<AvxVnniDot>(p, input, inS, filter, fS, pf, m, s, output, oS, scratch));
        Line($"Conv2D {name}", macs, reference, vnni, System.Runtime.Intrinsics.X86.AvxVnni.IsSupported ? "AVX-VNNI" : "VNNI emulated");
    }

    [Test]
    public void Report()
    {
        TestContext.Out.WriteLine($"AVX2 {System.Runtime.Intrinsics.X86.Avx2.IsSupported}, AVX-VNNI {System.Runtime.Intrinsics.X86.AvxVnni.IsSupported}, AVX-512BW {System.Runtime.Intrinsics.X86.Avx512BW.IsSupported}");
        Conv("stem 1->16 3x3 p1 on 28x28", 28, 28, 1, 16, 3, 1, 1);
        Conv("pointwise 64->64 on 7x7", 7, 7, 64, 64, 1, 1, 0);
        Conv("pointwise 16->32 on 14x14", 14, 14, 16, 32, 1, 1, 0);
        Conv("3x3 32->32 p1 on 14x14", 14, 14, 32, 32, 3, 1, 1);

        var r = new Random(2);
        {
            var p = new Conv2DParams { StrideH = 1, StrideW = 1, DilationH = 1, DilationW = 1, PadTop = 1, PadLeft = 1, PadBottom = 1, PadRight = 1, InputOffset = 128, OutputOffset = -128, ActivationMin = -128, ActivationMax = 127, DepthMultiplier = 1 };
            var inS = new Shape4(1, 7, 7, 64);
            var fS = new Shape4(1, 3, 3, 64);
            var input = FastPathCases.S8(r, inS.FlatSize);
            var filter = FastPathCases.S8(r, fS.FlatSize);
            var bias = FastPathCases.I32(r, 64, -1000, 1000);
            var m = FastPathCases.Multipliers(r, 64);
            var s = FastPathCases.I32(r, 64, -10, -8);
            var output = new sbyte[inS.FlatSize];
            double macs = 49.0 * 64 * 9;
            double reference = BestSeconds(() => DepthwiseConv2D.EvalS8Reference(p, input, inS, filter, fS, bias, m, s, output, inS));
            Line("DepthwiseConv2D 3x3 64ch on 7x7", macs, reference, BestSeconds(() => DepthwiseConv2D.EvalS8(p, input, inS, filter, fS, bias, m, s, output, inS)), "dispatcher");
            Line("DepthwiseConv2D 3x3 64ch on 7x7", macs, reference, BestSeconds(() => DepthwiseConv2D.TryEvalS8Vector128(p, input, inS, filter, fS, bias, m, s, output, inS)), "Vector128");
        }
        foreach (var (cin, cout) in new[] { (64, 10), (256, 128) })
        {
            var p = new FullyConnectedParams { InputOffset = 128, OutputOffset = 0, ActivationMin = -128, ActivationMax = 127 };
            var input = FastPathCases.S8(r, cin);
            var filter = FastPathCases.S8(r, cin * cout, -127, 127);
            var bias = FastPathCases.I32(r, cout, -1000, 1000);
            var m = FastPathCases.Multipliers(r, cout);
            var s = FastPathCases.I32(r, cout, -10, -8);
            var output = new sbyte[cout];
            var pf = FullyConnected.Prepare(p, filter, cin, cout, bias);
            double reference = BestSeconds(() => FullyConnected.EvalS8Reference(p, input, 1, cin, filter, cout, bias, m, s, output));
            Line($"FullyConnected {cin}->{cout}", cin * cout, reference, BestSeconds(() => FullyConnected.EvalS8(p, input, 1, cin, filter, cout, bias, pf, m, s, output)), "dispatcher");
            Line($"FullyConnected {cin}->{cout}", cin * cout, reference, BestSeconds(() => FullyConnected.EvalS8Fast<SmullDot>(p, input, 1, cin, filter, pf, m, s, output)), "Vector128 smull");
        }
        {
            var shape = new Shape4(1, 7, 7, 64);
            var p = new ElementwiseParams { Input1Offset = 3, Input2Offset = -5, OutputOffset = 1, LeftShift = 20, Input1Multiplier = 1 << 30, Input1Shift = 0, Input2Multiplier = 1 << 30, Input2Shift = 0, OutputMultiplier = 1 << 30, OutputShift = -19, ActivationMin = -128, ActivationMax = 127 };
            var a = FastPathCases.S8(r, shape.FlatSize);
            var b = FastPathCases.S8(r, shape.FlatSize);
            var o = new sbyte[shape.FlatSize];
            double reference = BestSeconds(() => Elementwise.AddS8Reference(p, a, shape, b, shape, o, shape, false));
            Line("Add 7x7x64", 0, reference, BestSeconds(() => Elementwise.AddS8(p, a, shape, b, shape, o, shape, false)), "dispatcher");
            Line("Add 7x7x64", 0, reference, BestSeconds(() => Elementwise.EvalRows<Elementwise.Vector128AddRow>(p, a, shape, b, shape, o, shape, false)), "Vector128");
            var mp = new MeanParams { InputOffset = 3, OutputOffset = 0, Multiplier = 1 << 30, Shift = -5 };
            var mo = new sbyte[64];
            reference = BestSeconds(() => Mean.EvalS8Reference(mp, a, shape, mo));
            Line("Mean 7x7x64", 0, reference, BestSeconds(() => Mean.EvalS8(mp, a, shape, mo)), "Vector128");
        }
        {
            var inS = new Shape4(1, 14, 14, 32);
            var outS = new Shape4(1, 7, 7, 32);
            var p = new PoolParams { StrideH = 2, StrideW = 2, FilterH = 2, FilterW = 2, ActivationMin = -128, ActivationMax = 127 };
            var a = FastPathCases.S8(r, inS.FlatSize);
            var o = new sbyte[outS.FlatSize];
            double reference = BestSeconds(() => Pooling.MaxS8Reference(p, a, inS, o, outS));
            Line("MaxPool 2x2/2 14x14x32", 0, reference, BestSeconds(() => Pooling.MaxS8(p, a, inS, o, outS)), "Vector256/128");
            reference = BestSeconds(() => Pooling.AverageS8Reference(p, a, inS, o, outS));
            Line("AveragePool 2x2/2 14x14x32", 0, reference, BestSeconds(() => Pooling.AverageS8(p, a, inS, o, outS)), "Vector128");
        }
    }
}
