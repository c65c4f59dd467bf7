using NUnit.Framework;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// The Mean fast path against the reference, byte for byte: every channel count to 40, maps past the 255 pixels its
/// int16 sums hold (extreme inputs that fill them), wide channel counts, and channel ranges (one thread's share).
/// </summary>
public class MeanFastPathTests
{
    [Test]
    public void EveryChannelTail([Values] bool dispatcher)
    {
        var r = new Random(41);
        // 1-40: every tail of the 16-channel steps; 63-140: the 64-channel steps of the 512-bit form and their tails.
        foreach (int c in Enumerable.Range(1, 40).Concat([63, 64, 65, 79, 88, 100, 120, 127, 128, 129, 140]))
        {
            var shape = new Shape4(r.Next(1, 3), r.Next(1, 9), r.Next(1, 9), c);
            int hw = shape.D1 * shape.D2;
            var p = new MeanParams
            {
                InputOffset = -r.Next(-128, 128), OutputOffset = r.Next(-128, 128),
                Multiplier = FastPathCases.Multipliers(r, 1)[0],
                Shift = -(int)System.Math.Ceiling(System.Math.Log2(hw)) + r.Next(-2, 3),
            };
            var input = FastPathCases.S8(r, shape.FlatSize);
            var expected = new sbyte[shape.D0 * c];
            var output = new sbyte[shape.D0 * c];
            Mean.EvalS8Reference(p, input, shape, expected);
            if (dispatcher) Mean.EvalS8(p, input, shape, output);
            else Mean.EvalS8Vector128(p, input, shape, output);
            Assert.That(output, Is.EqualTo(expected), $"shape {shape}");
        }
    }

    /// <summary>Parameters for a mean over <paramref name="hw"/> pixels (a multiplier near 1/hw, as the converter makes).</summary>
    private static MeanParams Params(Random r, int hw) => new()
    {
        InputOffset = -r.Next(-128, 128), OutputOffset = r.Next(-128, 128),
        Multiplier = FastPathCases.Multipliers(r, 1)[0],
        Shift = -(int)System.Math.Ceiling(System.Math.Log2(hw)) + r.Next(-2, 3),
    };

    [TestCase(16, 16, 24)]   // 256 pixels: one past the int16 run
    [TestCase(17, 17, 40)]   // 289
    [TestCase(15, 17, 16)]   // 255: exactly one run
    [TestCase(32, 32, 20)]   // 1,024: four runs and a partial one
    [TestCase(40, 40, 150)]  // 1,600 pixels, wide channels with a 6-channel overlap step
    [TestCase(7, 7, 120)]    // fashion_mobilenetv2's
    public void LargeMapsAndExtremeInputs(int h, int w, int c)
    {
        var r = new Random(h * 1000 + w * 10 + c);
        var shape = new Shape4(2, h, w, c);
        foreach (sbyte fill in new sbyte[] { -128, 127, 0 })
        {
            // -128 and 127 everywhere fill the int16 sums to their bound; 0 with random values is the ordinary case.
            var input = fill == 0 ? FastPathCases.S8(r, shape.FlatSize) : Enumerable.Repeat(fill, shape.FlatSize).ToArray();
            var p = Params(r, h * w);
            p.InputOffset = fill == -128 ? 128 : fill == 127 ? -127 : p.InputOffset;
            var expected = new sbyte[2 * c];
            var output = new sbyte[2 * c];
            Mean.EvalS8Reference(p, input, shape, expected);
            Mean.EvalS8Vector128(p, input, shape, output);
            Assert.That(output, Is.EqualTo(expected), $"{shape}, inputs {(fill == 0 ? "random" : fill.ToString())}");
            if (fill != 0)
                Assert.That(expected.Distinct().Count(), Is.EqualTo(1), "a constant input has one mean");
        }
    }

    [Test]
    public void ChannelRangesWriteOnlyTheirChannels()
    {
        var r = new Random(77);
        for (int n = 0; n < 60; n++)
        {
            int c = r.Next(1, 160);
            var shape = new Shape4(1, r.Next(1, 20), r.Next(1, 20), c);
            var p = Params(r, shape.D1 * shape.D2);
            var input = FastPathCases.S8(r, shape.FlatSize);
            var expected = new sbyte[c];
            Mean.EvalS8Reference(p, input, shape, expected);
            int c0 = r.Next(0, c), c1 = r.Next(c0 + 1, c + 1);
            var output = Enumerable.Repeat((sbyte)99, c).ToArray();
            Mean.EvalS8Vector128(p, input, shape, output, c0, c1);
            for (int ch = 0; ch < c; ch++)
                Assert.That(output[ch], Is.EqualTo(ch >= c0 && ch < c1 ? expected[ch] : (sbyte)99), $"{shape}, range [{c0}, {c1}), channel {ch}");
        }
    }
}
