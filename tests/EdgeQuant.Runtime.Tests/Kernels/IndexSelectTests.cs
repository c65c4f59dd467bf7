using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>IndexSelect by hand: the definition output[i] = input[t0, t1, t2, t3] or the fill value.</summary>
public class IndexSelectTests
{
    [Test]
    public void SelectsReordersAndFillsByHand()
    {
        // input [1, 1, 2, 3] = [[1, 2, 3], [4, 5, 6]]; rows (1, -1, 0), columns (2, 0): a reversed,
        // zero-filled, column-picked copy.
        sbyte[] input = [1, 2, 3, 4, 5, 6];
        var output = new sbyte[6];
        var p = new IndexSelectParams { FillValue = -7 };
        IndexSelect.EvalS8Reference(p, input, new(1, 1, 2, 3), output, new(1, 1, 3, 2), [0], [0], [1, -1, 0], [2, 0]);
        Assert.That(output, Is.EqualTo(new sbyte[] { 6, 4, -7, -7, 3, 1 }));
        Array.Clear(output);
        IndexSelect.EvalS8(p, input, new(1, 1, 2, 3), output, new(1, 1, 3, 2), [0], [0], [1, -1, 0], [2, 0]);
        Assert.That(output, Is.EqualTo(new sbyte[] { 6, 4, -7, -7, 3, 1 }));
    }

    [Test]
    public void ContiguousRowsAreBlockCopiesByHand()
    {
        // A slice of columns 1..2 of every row, and a fill row: the dispatcher's block-copy path.
        sbyte[] input = [1, 2, 3, 4, 5, 6];
        var output = new sbyte[6];
        IndexSelect.EvalS8(new IndexSelectParams { FillValue = 9 }, input, new(1, 1, 2, 3), output, new(1, 1, 3, 2), [0], [0], [0, -1, 1], [1, 2]);
        Assert.That(output, Is.EqualTo(new sbyte[] { 2, 3, 9, 9, 5, 6 }));
    }
}

/// <summary>The IndexSelect dispatcher against the reference on random tables, contiguous runs of every length and fills.</summary>
public class IndexSelectFastPathTests
{
    [Test]
    public void RandomTablesMatchTheReference()
    {
        var r = new Random(77);
        for (int trial = 0; trial < 300; trial++)
        {
            var inShape = new Shape4(r.Next(1, 3), r.Next(1, 5), r.Next(1, 6), r.Next(1, 40));
            var outShape = new Shape4(r.Next(1, 3), r.Next(1, 5), r.Next(1, 7), r.Next(1, 40));
            int[] Table(int n, int dim, bool run)
            {
                var t = new int[n];
                int start = r.Next(-1, dim);
                for (int i = 0; i < n; i++) t[i] = run ? (start < 0 || start + i >= dim ? -1 : start + i) : r.Next(-1, dim);
                return t;
            }
            bool contiguous = r.Next(2) == 0 && outShape.D3 <= inShape.D3;
            int[] t3 = contiguous ? Enumerable.Range(r.Next(0, inShape.D3 - outShape.D3 + 1), outShape.D3).ToArray() : Table(outShape.D3, inShape.D3, false);
            var t0 = Table(outShape.D0, inShape.D0, false);
            var t1 = Table(outShape.D1, inShape.D1, r.Next(2) == 0);
            var t2 = Table(outShape.D2, inShape.D2, false);
            var input = FastPathCases.S8(r, inShape.FlatSize);
            var p = new IndexSelectParams { FillValue = r.Next(-128, 128) };
            var expected = new sbyte[outShape.FlatSize];
            var got = new sbyte[outShape.FlatSize];
            IndexSelect.EvalS8Reference(p, input, inShape, expected, outShape, t0, t1, t2, t3);
            IndexSelect.EvalS8(p, input, inShape, got, outShape, t0, t1, t2, t3);
            Assert.That(got, Is.EqualTo(expected), $"trial {trial}: {inShape} -> {outShape}, contiguous {contiguous}");
        }
    }
}
