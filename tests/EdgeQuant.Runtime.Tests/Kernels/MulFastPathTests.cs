using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Math;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>Mul's Vector128 path against the reference: broadcasts, every tail of the 16-element step, both shift signs.</summary>
[TestFixture]
public class MulFastPathTests
{
    private static Shape4 Broadcast(Random r, Shape4 s) => r.Next(4) switch
    {
        0 => s,
        1 => new Shape4(1, 1, 1, 1),
        2 => new Shape4(s.D0, 1, 1, s.D3),
        _ => new Shape4(r.Next(2) == 0 ? 1 : s.D0, r.Next(2) == 0 ? 1 : s.D1, r.Next(2) == 0 ? 1 : s.D2, r.Next(2) == 0 ? 1 : s.D3),
    };

    [Test]
    public void RandomShapesBroadcastsAndTails([Values] bool viaDispatcher)
    {
        if (!System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated) Assert.Ignore("no Vector128 acceleration");
        var r = new Random(viaDispatcher ? 71 : 72);
        for (int i = 0; i < 100; i++)
        {
            var outShape = new Shape4(r.Next(1, 3), r.Next(1, 4), r.Next(1, 4), i < 40 ? i + 1 : r.Next(1, 70));
            var aShape = Broadcast(r, outShape);
            var bShape = r.Next(3) == 0 ? outShape : Broadcast(r, outShape);
            if (r.Next(2) == 0) (aShape, bShape) = (bShape, aShape);
            // Real multipliers from 2^-14 to 4: shifts of both signs, as a converter produces them.
            var (m, s) = QuantMath.QuantizeMultiplier(System.Math.Pow(2, r.NextDouble() * 16 - 14));
            var p = new ElementwiseParams
            {
                Input1Offset = r.Next(-127, 129), Input2Offset = r.Next(-127, 129), OutputOffset = r.Next(-128, 128),
                OutputMultiplier = m, OutputShift = s,
                ActivationMin = r.Next(3) == 0 ? r.Next(-128, 0) : -128, ActivationMax = r.Next(3) == 0 ? r.Next(0, 128) : 127,
            };
            var a = FastPathCases.S8(r, aShape.FlatSize);
            var b = FastPathCases.S8(r, bShape.FlatSize);
            var expected = new sbyte[outShape.FlatSize];
            var output = new sbyte[outShape.FlatSize];
            Elementwise.MulS8Reference(p, a, aShape, b, bShape, expected, outShape);
            if (viaDispatcher) Elementwise.MulS8(p, a, aShape, b, bShape, output, outShape);
            else Elementwise.EvalRows<Elementwise.Vector128MulRow>(p, a, aShape, b, bShape, output, outShape, subtract: false);
            int d = FastPathCases.FirstDifference(output, expected);
            Assert.That(d, Is.EqualTo(-1), () => $"a {aShape} b {bShape} out {outShape} shift {s}: element {d} is {output[d]}, the reference gives {expected[d]}");
        }
    }
}
