using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

public class TransposeTests
{
    [Test]
    public void SwapsHeightAndWidth()
    {
        // [1, 2, 3, 1] -> [1, 3, 2, 1].
        var y = new sbyte[6];
        Transpose.EvalS8(new TransposeParams { Perm0 = 0, Perm1 = 2, Perm2 = 1, Perm3 = 3 }, [1, 2, 3, 4, 5, 6], new(1, 2, 3, 1), y, new(1, 3, 2, 1));
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void NhwcToNchw()
    {
        // [1, 1, 2, 3] (two pixels of three channels) -> [1, 3, 1, 2].
        var y = new sbyte[6];
        Transpose.EvalS8(new TransposeParams { Perm0 = 0, Perm1 = 3, Perm2 = 1, Perm3 = 2 }, [1, 2, 3, 4, 5, 6], new(1, 1, 2, 3), y, new(1, 3, 1, 2));
        Assert.That(y, Is.EqualTo(new sbyte[] { 1, 4, 2, 5, 3, 6 }));
    }

    [Test]
    public void EveryPermutationMatchesIndexDefinition()
    {
        var r = new Rand(9001);
        var perms = new List<int[]>();
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 4; c++)
                    for (int d = 0; d < 4; d++)
                        if (new HashSet<int> { a, b, c, d }.Count == 4) perms.Add([a, b, c, d]);
        Assert.That(perms, Has.Count.EqualTo(24));
        foreach (var perm in perms)
            for (int trial = 0; trial < 5; trial++)
            {
                int[] d = [r.Int(1, 3), r.Int(1, 4), r.Int(1, 5), r.Int(1, 6)];
                var si = new Shape4(d[0], d[1], d[2], d[3]);
                var so = new Shape4(d[perm[0]], d[perm[1]], d[perm[2]], d[perm[3]]);
                var x = r.S8(si.FlatSize);
                var y = new sbyte[so.FlatSize];
                Transpose.EvalS8(new TransposeParams { Perm0 = perm[0], Perm1 = perm[1], Perm2 = perm[2], Perm3 = perm[3] }, x, si, y, so);
                int k = 0;
                var idx = new int[4];
                for (idx[0] = 0; idx[0] < so.D0; idx[0]++)
                    for (idx[1] = 0; idx[1] < so.D1; idx[1]++)
                        for (idx[2] = 0; idx[2] < so.D2; idx[2]++)
                            for (idx[3] = 0; idx[3] < so.D3; idx[3]++, k++)
                            {
                                var src = new int[4];
                                for (int i = 0; i < 4; i++) src[perm[i]] = idx[i];
                                sbyte expected = x[((src[0] * si.D1 + src[1]) * si.D2 + src[2]) * si.D3 + src[3]];
                                if (y[k] != expected) Assert.Fail($"perm [{string.Join(",", perm)}] in {si}: output {k} is {y[k]}, expected {expected}");
                            }
            }
    }
}
