using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class ElementwiseTests
{
    private static sbyte[] Add(ElementwiseParams p, sbyte[] a, Shape4 sa, sbyte[] b, Shape4 sb, Shape4 so, bool sub = false, bool reference = false)
    {
        var y = new sbyte[so.FlatSize];
        if (reference) Elementwise.AddS8Reference(p, a, sa, b, sb, y, so, sub);
        else Elementwise.AddS8(p, a, sa, b, sb, y, so, sub);
        return y;
    }

    private static sbyte[] Mul(ElementwiseParams p, sbyte[] a, Shape4 sa, sbyte[] b, Shape4 sb, Shape4 so, bool reference = false)
    {
        var y = new sbyte[so.FlatSize];
        if (reference) Elementwise.MulS8Reference(p, a, sa, b, sb, y, so);
        else Elementwise.MulS8(p, a, sa, b, sb, y, so);
        return y;
    }

    [Test]
    public void UnitScaleAddIsIntegerAdditionWithSaturation()
    {
        var p = ConverterMath.Add(1f, 0, 1f, 0, 1f, 0);
        Assert.Multiple(() =>
        {
            // The converter's parameters for equal scales: inputs x 0.5 after the 2^20 shift, output x 2^-19.
            Assert.That((p.LeftShift, p.Input1Multiplier, p.Input1Shift, p.OutputMultiplier, p.OutputShift), Is.EqualTo((20, 1 << 30, 0, 1 << 30, -18)));
            Assert.That(Add(p, [3, -100, 100, -128], new(1, 1, 1, 4), [4, -100, 100, 0], new(1, 1, 1, 4), new(1, 1, 1, 4)),
                Is.EqualTo(new sbyte[] { 7, -128, 127, -128 }));
            Assert.That(Add(p, [3, -100, 100, -128], new(1, 1, 1, 4), [4, -100, 100, 0], new(1, 1, 1, 4), new(1, 1, 1, 4), sub: true),
                Is.EqualTo(new sbyte[] { -1, 0, 0, -128 }));
        });
    }

    [Test]
    public void ZeroPointsAndScales()
    {
        // a: scale 0.5 zp 2; b: scale 0.25 zp -4; out: scale 1 zp 10. a=6 -> 2.0, b=0 -> 1.0, sum 3.0 -> 13.
        var p = ConverterMath.Add(0.5f, 2, 0.25f, -4, 1f, 10);
        Assert.That(Add(p, [6], new(1, 1, 1, 1), [0], new(1, 1, 1, 1), new(1, 1, 1, 1)), Is.EqualTo(new sbyte[] { 13 }));
        Assert.That(Add(p, [6], new(1, 1, 1, 1), [0], new(1, 1, 1, 1), new(1, 1, 1, 1), sub: true), Is.EqualTo(new sbyte[] { 11 }));
    }

    [Test]
    public void BroadcastRepeatsSizeOneDimensions()
    {
        var p = ConverterMath.Add(1f, 0, 1f, 0, 1f, 0);
        sbyte[] a = [1, 2, 3, 4];
        Assert.That(Add(p, a, new(1, 2, 2, 1), [10], new(1, 1, 1, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 11, 12, 13, 14 }));
        Assert.That(Add(p, a, new(1, 2, 2, 1), [10, 20], new(1, 2, 1, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 11, 12, 23, 24 }));
        Assert.That(Add(p, a, new(1, 2, 2, 1), [10, 20], new(1, 1, 2, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 11, 22, 13, 24 }));
        // Both operands broadcast: [2, 1] + [1, 2] -> [2, 2].
        Assert.That(Add(p, [1, 2], new(1, 2, 1, 1), [10, 20], new(1, 1, 2, 1), new(1, 2, 2, 1)), Is.EqualTo(new sbyte[] { 11, 21, 12, 22 }));
    }

    [Test]
    public void MulOfUnitProductScale()
    {
        var p = ConverterMath.Mul(0.5f, 0, 0.5f, 0, 0.25f, 0);
        Assert.That(Mul(p, [3, -5, 20, -20], new(1, 1, 1, 4), [4, 6, 20, 20], new(1, 1, 1, 4), new(1, 1, 1, 4)), Is.EqualTo(new sbyte[] { 12, -30, 127, -128 }));
        var q = ConverterMath.Mul(0.5f, 1, 0.5f, -1, 0.5f, 3);
        // (5-1)*0.5 * (3+1)*0.5 = 4.0 -> 8 + 3.
        Assert.That(Mul(q, [5], new(1, 1, 1, 1), [3], new(1, 1, 1, 1), new(1, 1, 1, 1)), Is.EqualTo(new sbyte[] { 11 }));
    }

    [Test]
    public void ActivationRangeClamps()
    {
        var p = ConverterMath.Add(1f, 0, 1f, 0, 1f, 0, actMin: 0, actMax: 6);
        Assert.That(Add(p, [-3, 3, 5], new(1, 1, 1, 3), [1, 1, 5], new(1, 1, 1, 3), new(1, 1, 1, 3)), Is.EqualTo(new sbyte[] { 0, 4, 6 }));
    }

    private static (Shape4 A, Shape4 B, Shape4 Out) RandomBroadcast(Rand r)
    {
        Span<int> o = stackalloc int[4], a = stackalloc int[4], b = stackalloc int[4];
        for (int d = 0; d < 4; d++)
        {
            o[d] = r.Int(1, 5);
            a[d] = r.Int(0, 2) == 0 ? 1 : o[d];
            b[d] = r.Int(0, 2) == 0 ? 1 : o[d];
        }
        return (new(a[0], a[1], a[2], a[3]), new(b[0], b[1], b[2], b[3]), new(o[0], o[1], o[2], o[3]));
    }

    private static int Index(Shape4 s, int d0, int d1, int d2, int d3) =>
        (((s.D0 == 1 ? 0 : d0) * s.D1 + (s.D1 == 1 ? 0 : d1)) * s.D2 + (s.D2 == 1 ? 0 : d2)) * s.D3 + (s.D3 == 1 ? 0 : d3);

    private static double[] Real(sbyte[] a, Shape4 sa, float s1, int z1, sbyte[] b, Shape4 sb, float s2, int z2, Shape4 so, Func<double, double, double> f)
    {
        var y = new double[so.FlatSize];
        int i = 0;
        for (int d0 = 0; d0 < so.D0; d0++)
            for (int d1 = 0; d1 < so.D1; d1++)
                for (int d2 = 0; d2 < so.D2; d2++)
                    for (int d3 = 0; d3 < so.D3; d3++, i++)
                        y[i] = f((a[Index(sa, d0, d1, d2, d3)] - z1) * (double)s1, (b[Index(sb, d0, d1, d2, d3)] - z2) * (double)s2);
        return y;
    }

    [TestCase(OpType.Add)]
    [TestCase(OpType.Sub)]
    [TestCase(OpType.Mul)]
    public void RandomBroadcastMatchesFloatSimulationWithinOneLsb(OpType op)
    {
        var r = new Rand(4000 + (int)op);
        Func<double, double, double> f = op switch { OpType.Add => (x, y) => x + y, OpType.Sub => (x, y) => x - y, _ => (x, y) => x * y };
        for (int i = 0; i < 300; i++)
        {
            var (sa, sb, so) = RandomBroadcast(r);
            float s1 = r.Scale(0.01, 0.5), s2 = i % 7 == 0 ? s1 : r.Scale(0.01, 0.5);
            int z1 = r.Int(-60, 60), z2 = r.Int(-60, 60);
            var a = r.S8(sa.FlatSize);
            var b = r.S8(sb.FlatSize);
            var real = Real(a, sa, s1, z1, b, sb, s2, z2, so, f);
            var (sOut, zOut) = ConverterMath.Choose(real.Min() * 0.9, real.Max() * 0.9);
            int actMin = r.Int(0, 3) == 0 ? zOut : -128;
            var p = op == OpType.Mul ? ConverterMath.Mul(s1, z1, s2, z2, sOut, zOut, actMin) : ConverterMath.Add(s1, z1, s2, z2, sOut, zOut, actMin);
            var expected = real.Select(v => ConverterMath.Quantize(v, sOut, zOut, actMin, 127)).ToArray();
            var y = op == OpType.Mul ? Mul(p, a, sa, b, sb, so) : Add(p, a, sa, b, sb, so, op == OpType.Sub);
            Lsb.AssertWithin(y, expected, 1, $"{op} case {i}: {sa} and {sb} to {so}");
            var yr = op == OpType.Mul ? Mul(p, a, sa, b, sb, so, reference: true) : Add(p, a, sa, b, sb, so, op == OpType.Sub, reference: true);
            Assert.That(y, Is.EqualTo(yr), $"{op} case {i}: dispatch vs reference");
        }
    }
}
