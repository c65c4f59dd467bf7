using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class PadTests
{
    [Test]
    public void PadsHeightBeforeAndWidthAfter()
    {
        var p = new PadParams { Before1 = 1, After2 = 1, PadValue = -5 };
        var y = new sbyte[6];
        Pad.EvalS8(p, [1, 2], new(1, 1, 2, 1), y, new(1, 2, 3, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { -5, -5, -5, 1, 2, -5 }));
    }

    [Test]
    public void PadsChannelsAndBatch()
    {
        var p = new PadParams { Before0 = 1, Before3 = 1, After3 = 2, PadValue = 3 };
        var y = new sbyte[8];
        Pad.EvalS8(p, [7], new(1, 1, 1, 1), y, new(2, 1, 1, 4));
        Assert.That(y, Is.EqualTo(new sbyte[] { 3, 3, 3, 3, 3, 7, 3, 3 }));
    }

    [Test]
    public void RandomPaddingMatchesIndexDefinition()
    {
        var r = new Rand(8001);
        for (int i = 0; i < 200; i++)
        {
            var si = new Shape4(r.Int(1, 3), r.Int(1, 5), r.Int(1, 5), r.Int(1, 5));
            int[] before = [r.Int(0, 2), r.Int(0, 3), r.Int(0, 3), r.Int(0, 3)];
            int[] after = [r.Int(0, 2), r.Int(0, 3), r.Int(0, 3), r.Int(0, 3)];
            var so = new Shape4(si.D0 + before[0] + after[0], si.D1 + before[1] + after[1], si.D2 + before[2] + after[2], si.D3 + before[3] + after[3]);
            var p = new PadParams
            {
                Before0 = before[0], Before1 = before[1], Before2 = before[2], Before3 = before[3],
                After0 = after[0], After1 = after[1], After2 = after[2], After3 = after[3], PadValue = r.Int(-128, 127),
            };
            var x = r.S8(si.FlatSize);
            var y = new sbyte[so.FlatSize];
            Pad.EvalS8(p, x, si, y, so);
            int k = 0;
            for (int a = 0; a < so.D0; a++)
                for (int b = 0; b < so.D1; b++)
                    for (int c = 0; c < so.D2; c++)
                        for (int d = 0; d < so.D3; d++, k++)
                        {
                            int ia = a - before[0], ib = b - before[1], ic = c - before[2], id = d - before[3];
                            bool inside = ia >= 0 && ia < si.D0 && ib >= 0 && ib < si.D1 && ic >= 0 && ic < si.D2 && id >= 0 && id < si.D3;
                            sbyte expected = inside ? x[((ia * si.D1 + ib) * si.D2 + ic) * si.D3 + id] : (sbyte)p.PadValue;
                            if (y[k] != expected) Assert.Fail($"case {i}: output {k} is {y[k]}, expected {expected}");
                        }
        }
    }
}
