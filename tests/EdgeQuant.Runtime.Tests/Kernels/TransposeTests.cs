using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class TransposeTests
{
    private static readonly int[][] Permutations = AllPermutations();

    private static int[][] AllPermutations()
    {
        var all = new List<int[]>();
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 4; c++)
                    for (int d = 0; d < 4; d++)
                        if (a != b && a != c && a != d && b != c && b != d && c != d)
                            all.Add([a, b, c, d]);
        return [.. all];
    }

    private static Shape4 Permuted(Shape4 s, int[] perm) => new(s[perm[0]], s[perm[1]], s[perm[2]], s[perm[3]]);

    [Test]
    public void SwapsTheTwoDimsOfAnImuWindow()
    {
        // [1, 2, 3, 1] -> [1, 3, 2, 1]: rows become columns.
        var p = new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 };
        var y = new sbyte[6];
        Transpose.EvalS8(p, [1, 2, 3, 4, 5, 6], new(1, 2, 3, 1), y, new(1, 3, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void EveryPermutationOfRandomShapesMatchesTheDefinition()
    {
        var r = new Rand(8101);
        int cases = 0;
        foreach (var perm in Permutations)
            for (int i = 0; i < 40; i++)
            {
                // Dims of 1 (dropped by the reduction) as often as not; up to 70 so that the 4-byte gather steps and tails both occur.
                int Dim() => r.Int(0, 2) == 0 ? 1 : r.Int(2, r.Int(0, 3) == 0 ? 70 : 9);
                var si = new Shape4(Dim(), Dim(), Dim(), Dim());
                var so = Permuted(si, perm);
                var p = new TransposeParams { Perm0 = perm[0], Perm1 = perm[1], Perm2 = perm[2], Perm3 = perm[3] };
                var x = r.S8(si.FlatSize);
                var expected = new sbyte[so.FlatSize + 8];
                var actual = new sbyte[so.FlatSize + 8];
                expected.AsSpan(so.FlatSize).Fill(99);
                actual.AsSpan(so.FlatSize).Fill(99);
                Transpose.EvalS8Reference(p, x, si, expected, so);
                Transpose.EvalS8(p, x, si, actual, so);
                Assert.That(actual, Is.EqualTo(expected), $"{si} by [{string.Join(", ", perm)}]");
                cases++;
            }
        Assert.That(cases, Is.EqualTo(24 * 40));
    }

    [Test]
    public void RejectsARecordThatIsNotAPermutationOfTheShapes()
    {
        var x = new sbyte[24];
        var y = new sbyte[24];
        var repeated = new TransposeParams { Perm0 = 0, Perm1 = 3, Perm2 = 3, Perm3 = 1 };
        Assert.That(() => Transpose.EvalS8(repeated, x, new(1, 2, 3, 4), y, new(1, 4, 4, 2)),
            Throws.ArgumentException.With.Message.Contains("by [0, 3, 3, 1]"));
        var swap = new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 };
        Assert.That(() => Transpose.EvalS8(swap, x, new(1, 2, 3, 4), y, new(1, 2, 3, 4)),
            Throws.ArgumentException.With.Message.Contains("[1, 2, 3, 4] to [1, 2, 3, 4]"));
        Assert.That(() => Transpose.EvalS8(swap, x, new(1, 2, 3, 4), y.AsSpan(0, 23), new(1, 3, 2, 4)),
            Throws.ArgumentException.With.Message.Contains("23 output elements"));
    }
}
