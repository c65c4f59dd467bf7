using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>ArgMax by hand: ties, select_last_index, every axis of a rank-4 view.</summary>
public class ArgMaxTests
{
    [Test]
    public void FirstOrLastOfEqualMaximaAlongEachAxis()
    {
        // [1, 1, 2, 4]: rows [3, 9, 9, -1] and [-5, -5, -7, -5].
        sbyte[] x = [3, 9, 9, -1, -5, -5, -7, -5];
        var shape = new Shape4(1, 1, 2, 4);
        var y = new sbyte[2];
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 3, OutputOffset = 0 }, x, shape, y);
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 0 }));
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 3, SelectLastIndex = 1, OutputOffset = 0 }, x, shape, y);
        Assert.That(y, Is.EqualTo(new sbyte[] { 2, 3 }));
        var y4 = new sbyte[4];
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 2, OutputOffset = -128 }, x, shape, y4);
        Assert.That(y4, Is.EqualTo(new sbyte[] { -128, -128, -128, -128 }));
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 2, SelectLastIndex = 1, OutputOffset = -128 }, x, shape, y4);
        // Column 3: -1 against -5 picks row 0; the others are strict too.
        Assert.That(y4, Is.EqualTo(new sbyte[] { -128, -128, -128, -128 }));
        var y8 = new sbyte[8];
        ArgMax.EvalS8Reference(new ArgMaxParams { Axis = 0, OutputOffset = 7 }, x, shape, y8);
        Assert.That(y8, Is.EqualTo(new sbyte[] { 7, 7, 7, 7, 7, 7, 7, 7 }));
    }

    [Test]
    public void InvokeAllocatesNothing()
    {
        var interp = new Interpreter(Model.Load(OneOpModels.ArgMax().Blob));
        interp.GetInput().Fill(3);
        for (int i = 0; i < 10; i++) interp.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 1000; i++) interp.Invoke(); }), Is.Zero);
    }
}

/// <summary>The ArgMax fast path against the reference, byte for byte: every axis, both tie rules, every tail, few distinct values (many ties).</summary>
public class ArgMaxFastPathTests
{
    [Test]
    public void EveryAxisTailAndTieRule([Values] bool dispatcher)
    {
        var r = new Random(23);
        for (int trial = 0; trial < 400; trial++)
        {
            var shape = new Shape4(r.Next(1, 3), r.Next(1, 40), r.Next(1, 5), r.Next(1, 40));
            int axis = r.Next(4);
            if (shape[axis] > 256) continue;
            var p = new ArgMaxParams { Axis = axis, SelectLastIndex = r.Next(2), OutputOffset = -128 };
            int lo = r.Next(2) == 0 ? -128 : 120;
            var x = FastPathCases.S8(r, shape.FlatSize, lo, lo == 120 ? 127 : 127);
            int outCount = shape.FlatSize / shape[axis];
            var expected = new sbyte[outCount];
            var got = new sbyte[outCount];
            ArgMax.EvalS8Reference(p, x, shape, expected);
            if (dispatcher) ArgMax.EvalS8(p, x, shape, got);
            else ArgMax.EvalS8Vector128(p, x, shape, got);
            Assert.That(got, Is.EqualTo(expected), $"trial {trial}: shape {shape}, axis {axis}, last {p.SelectLastIndex}");
        }
    }

    [Test]
    public void LongRowsUpTo256()
    {
        var r = new Random(29);
        foreach (int n in new[] { 15, 16, 17, 31, 32, 33, 100, 255, 256 })
            foreach (int last in new[] { 0, 1 })
            {
                var shape = new Shape4(3, n, 1, 1);
                var p = new ArgMaxParams { Axis = 1, SelectLastIndex = last, OutputOffset = -128 };
                var x = FastPathCases.S8(r, shape.FlatSize, 100, 127);
                var expected = new sbyte[3];
                var got = new sbyte[3];
                ArgMax.EvalS8Reference(p, x, shape, expected);
                ArgMax.EvalS8Vector128(p, x, shape, got);
                Assert.That(got, Is.EqualTo(expected), $"n {n}, last {last}");
                var wide = new Shape4(1, n, 17, 1);
                var xw = FastPathCases.S8(r, wide.FlatSize, 100, 127);
                var ew = new sbyte[17];
                var gw = new sbyte[17];
                ArgMax.EvalS8Reference(p, xw, wide, ew);
                ArgMax.EvalS8Vector128(p, xw, wide, gw);
                Assert.That(gw, Is.EqualTo(ew), $"strided n {n}, last {last}");
            }
    }
}
