using NUnit.Framework;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>Every FullyConnected inner-product strategy against the reference, byte for byte.</summary>
public class FullyConnectedFastPathTests
{
    /// <summary>
    /// SdotTiles: the register-blocked SDOT-by-element tiles over the batch rows (Conv2D.RunSdotPointwise), emulated on x64;
    /// VnniTiles: Int8Gemm's VPDPBUSD tiles over quadruplets (Int8Gemm.TryRunQuadsVnni), emulated where AVX2 lacks VNNI.
    /// </summary>
    public enum Strategy { Dispatcher, Avx2, AvxVnni, Sdot, Smull, SdotTiles, VnniTiles }

    [Test]
    public void EveryInnerTailChannelTailAndBatch([Values] Strategy s) => Check(s, 21, cin => 1 + (cin * 7) % 13, 3);

    /// <summary>Cout a multiple of 8 (Int8Gemm's AVX2 kernel with channels in lanes): 4-row tiles and every remainder.</summary>
    [Test]
    public void ChannelsInLanesEveryBatchTile([Values] Strategy s) => Check(s, 22, cin => 8 * (1 + cin % 5), 9);

    /// <summary>Every channel tail of the channels-in-lanes kernel (Cout 1..24: padding lanes 7..0) with every batch tile.</summary>
    [Test]
    public void ChannelsInLanesEveryChannelTail([Values] Strategy s) => Check(s, 23, cin => 1 + cin % 24, 9);

    private static void Check(Strategy s, int seed, Func<int, int> coutOf, int maxBatches)
    {
        bool ok = s switch
        {
            Strategy.Avx2 => Avx2Dot.IsSupported,
            Strategy.AvxVnni => AvxVnniDot.IsSupported,
            Strategy.Sdot => SdotDot.IsSupported,
            Strategy.Smull => SmullDot.IsSupported,
            Strategy.SdotTiles => System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated,
            Strategy.VnniTiles => System.Runtime.Intrinsics.X86.Avx2.IsSupported,
            _ => true,
        };
        if (!ok) Assert.Ignore($"{s} cannot run on this machine (or intrinsics are disabled)");
        var r = new Random(seed);
        for (int cin = 1; cin <= 70; cin++)
        {
            int cout = coutOf(cin), batches = r.Next(1, maxBatches + 1);
            int zp = r.Next(-128, 128);
            var p = new FullyConnectedParams
            {
                InputOffset = -zp, OutputOffset = r.Next(-128, 128), FoldedBiasOffset = -1,
                ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
            };
            var input = FastPathCases.S8(r, batches * cin);
            var filter = FastPathCases.S8(r, cout * cin, r.Next(2) == 0 ? -127 : -128, 127);
            var bias = FastPathCases.I32(r, cout, -50000, 50000);
            var m = FastPathCases.Multipliers(r, cout);
            int typical = (int)System.Math.Round(System.Math.Log2(System.Math.Sqrt(cin) * 74 * 74 / 40.0));
            var sh = FastPathCases.I32(r, cout, -typical - 2, -typical + 3);
            var expected = new sbyte[batches * cout];
            FullyConnected.EvalS8Reference(p, input, batches, cin, filter, cout, bias, m, sh, expected);
            var pf = FullyConnected.Prepare(p, filter, cin, cout, bias);
            var output = new sbyte[batches * cout];
            switch (s)
            {
                case Strategy.Avx2: FullyConnected.EvalS8Fast<Avx2Dot>(p, input, batches, cin, filter, pf, m, sh, output); break;
                case Strategy.AvxVnni: FullyConnected.EvalS8Fast<AvxVnniDot>(p, input, batches, cin, filter, pf, m, sh, output); break;
                case Strategy.Sdot: FullyConnected.EvalS8Fast<SdotDot>(p, input, batches, cin, filter, pf, m, sh, output); break;
                case Strategy.Smull: FullyConnected.EvalS8Fast<SmullDot>(p, input, batches, cin, filter, pf, m, sh, output); break;
                case Strategy.SdotTiles:
                    // Every batch count from 1 (a tile of one row repeated) through 9 (two tiles and a remainder).
                    var quads = PackedFilter.Create(filter, cout, cin, bias, p.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: cin);
                    Conv2D.RunSdotPointwise(input, batches, cin, quads, m, sh, p.OutputOffset, p.ActivationMin, p.ActivationMax, output, cout);
                    break;
                case Strategy.VnniTiles:
                    // Every batch count from 1 (the 1-row tiles) through 9 (two overlapping 4-row tiles and 1-row tiles).
                    var vnni = PackedFilter.Create(filter, cout, cin, bias, p.InputOffset, pad: false, rowTaps: 0, rowTapsS16: false, quadRowTaps: cin);
                    Assert.That(Int8Gemm.TryRunQuadsVnni(ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(input), cin, batches, vnni,
                        m, sh, p.OutputOffset, p.ActivationMin, p.ActivationMax, ref System.Runtime.InteropServices.MemoryMarshal.GetArrayDataReference(output), cout),
                        $"VnniTiles declined cin {cin} cout {cout}");
                    break;
                default: FullyConnected.EvalS8(p, input, batches, cin, filter, cout, bias, m, sh, output); break;
            }
            int d = FastPathCases.FirstDifference(output, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"{s}: cin {cin} cout {cout} batches {batches}: element {d} is {output[d]}, the reference gives {expected[d]}");
        }
    }
}
