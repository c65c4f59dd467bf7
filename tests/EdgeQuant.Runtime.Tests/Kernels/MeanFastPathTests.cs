using NUnit.Framework;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>The Mean fast path against the reference, byte for byte.</summary>
public class MeanFastPathTests
{
    [Test]
    public void EveryChannelTail([Values] bool dispatcher)
    {
        var r = new Random(41);
        for (int c = 1; c <= 40; c++)
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
}
