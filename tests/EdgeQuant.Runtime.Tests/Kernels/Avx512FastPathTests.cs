using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The AVX-512 (Avx512BW) tiles of the channels-in-lanes kernels (Int8Gemm.Avx512.cs) against the
/// reference, byte for byte: 1x1 convolutions and FullyConnected through Int8Gemm, 3x3 and other
/// Kh x Kw through Conv2D's widened rows, with channel counts that take 32-channel tiles, a 16-channel
/// tile, the 24- and 40-channel tiles (512-bit + 256-bit accumulators), the AVX2 8-channel tile with padding lanes, 4-row tiles (overlapping ones at a row count not a multiple of 4) and single rows. On a CPU without
/// AVX-512 (or with DOTNET_EnableAVX512=0) these report themselves as not run; the same kernels'
/// AVX2 tiles are covered by Conv2DFastPathTests and SmallChannelFastPathTests there.
/// </summary>
[TestFixture]
public class Avx512FastPathTests
{
    private static readonly int[] Channels = [8, 16, 24, 32, 36, 40, 48, 60, 64, 72, 88, 90, 104, 120, 150];

    private static void RequireAvx512()
    {
        if (!Avx512BW.IsSupported)
            Assert.Ignore("not run: this CPU has no AVX-512BW (or DOTNET_EnableAVX512=0); the AVX2 tiles run instead");
    }

    [Test]
    public void PointwiseConvolutionTiles([ValueSource(nameof(Channels))] int cout)
    {
        RequireAvx512();
        var r = new Random(500 + cout);
        for (int i = 0; i < 12; i++)
        {
            var c = FastPathCases.Conv.Random(r, false, r.Next(1, 160), cout, 1, 1);
            c.P.PadTop = c.P.PadLeft = c.P.PadBottom = c.P.PadRight = 0;
            c.Out = new Shape4(c.In.D0, (c.In.D1 - 1) / c.P.StrideH + 1, (c.In.D2 - 1) / c.P.StrideW + 1, cout);
            var pf = Conv2D.Prepare(c.P, c.Weights, c.Filter, c.Bias);
            var got = new sbyte[c.Out.FlatSize];
            Assert.That(Conv2D.TryEvalS8Fast<Avx2Dot>(c.P, c.Input, c.In, c.Weights, c.Filter, pf, c.M, c.S, got, c.Out, []), Is.True);
            int d = FastPathCases.FirstDifference(got, c.Reference());
            Assert.That(d, Is.EqualTo(-1), () => $"case {i}: element {d}; {c}");
        }
    }

    [Test]
    public void WidenedRowsTiles([ValueSource(nameof(Channels))] int cout)
    {
        RequireAvx512();
        var r = new Random(600 + cout);
        for (int i = 0; i < 12; i++)
        {
            int cin = r.Next(1, 40), kh = r.Next(1, 4), kw = r.Next(2, 4);
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

    [Test]
    public void FullyConnectedTiles([ValueSource(nameof(Channels))] int cout)
    {
        RequireAvx512();
        var r = new Random(700 + cout);
        for (int batches = 1; batches <= 9; batches++)
        {
            int cin = r.Next(1, 200), zp = r.Next(-128, 128);
            var p = new FullyConnectedParams
            {
                InputOffset = -zp, OutputOffset = r.Next(-128, 128), FoldedBiasOffset = -1,
                ActivationMin = -128, ActivationMax = r.Next(2) == 0 ? 127 : r.Next(0, 128),
            };
            var x = FastPathCases.S8(r, batches * cin);
            var w = FastPathCases.S8(r, cout * cin);
            var bias = FastPathCases.I32(r, cout, -50000, 50000);
            var m = FastPathCases.Multipliers(r, cout);
            var s = FastPathCases.I32(r, cout, -12, -6);
            var expected = new sbyte[batches * cout];
            var got = new sbyte[batches * cout];
            FullyConnected.EvalS8Reference(p, x, batches, cin, w, cout, bias, m, s, expected);
            var pf = FullyConnected.Prepare(p, w, cin, cout, bias);
            FullyConnected.EvalS8Fast<Avx2Dot>(p, x, batches, cin, w, pf, m, s, got);
            Assert.That(got, Is.EqualTo(expected), $"batches {batches}, Cin {cin}, Cout {cout}");
        }
    }
}
