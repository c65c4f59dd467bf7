using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;
using Kind = EdgeQuant.Runtime.Tests.TestSupport.CompressedModels.Kind;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Ops 50-57 on random shapes (odd channel counts, every chunk tail, padding, strides, batches):
/// the compressed reference equals the plain int8 reference on the decoded filter, and the fast
/// paths equal the reference, byte for byte. FastPathChildProcessTests re-runs this class with
/// AVX2 / all intrinsics disabled.
/// </summary>
public class CompressedKernelsFastPathTests
{
    public static IEnumerable<TestCaseData> Cases()
    {
        int seed = 1000;
        foreach (var kind in new[] { Kind.Conv2D, Kind.Depthwise, Kind.FullyConnected })
            foreach (var enc in new[] { TensorType.Int4, TensorType.Index4, TensorType.Index8, TensorType.SparseInt8 })
            {
                if (kind == Kind.Depthwise && enc == TensorType.SparseInt8) continue;
                for (int i = 0; i < 6; i++)
                    yield return new TestCaseData(seed++, kind, enc, i % 3 == 2 ? 2 : 1, false).SetName($"{kind}_{enc}_{i}");
                // Ops 55-57: the same kernels behind the packed per-channel record; odd cases get int32 biases.
                if (enc == TensorType.SparseInt8) continue;
                for (int i = 0; i < 4; i++)
                    yield return new TestCaseData(seed++, kind, enc, i % 3 == 2 ? 2 : 1, true).SetName($"{kind}_{enc}_packed_{i}");
            }
    }

    [TestCaseSource(nameof(Cases))]
    public void CompressedEqualsDenseAndFastEqualsReference(int seed, Kind kind, TensorType encoding, int groups, bool packed)
    {
        Func<int[], int[]>? wide = packed && seed % 2 == 1 ? b => Array.ConvertAll(b, v => v * 3000) : null;
        var c = CompressedModels.Build(seed, kind, encoding, groups, tweakBias: wide, packed: packed);
        var r = new Rand(seed + 1);
        for (int trial = 0; trial < 3; trial++)
        {
            var input = new byte[c.InputBytes];
            r.Fill(input);
            var dense = CompressedModels.Run(c.DenseBlob, input, reference: true);
            var reference = CompressedModels.Run(c.Blob, input, reference: true);
            var fast = CompressedModels.Run(c.Blob, input, reference: false);
            Assert.That(reference, Is.EqualTo(dense), $"{c.Name}: compressed reference vs int8 reference");
            Assert.That(fast, Is.EqualTo(reference), $"{c.Name}: fast path vs reference");
        }
    }

    /// <summary>
    /// Depthwise with an even channel count that is not a multiple of 16 (fashion_mobilenetv2's 36, 90, 150):
    /// whole 16-channel blocks in registers, the rest one channel at a time; both equal the reference.
    /// </summary>
    [TestCase(TensorType.Int4)]
    [TestCase(TensorType.Index4)]
    public void DepthwiseWithATailOfChannelsEqualsTheReference(TensorType encoding)
    {
        int tails = 0;
        for (int seed = 2000; seed < 2060; seed++)
        {
            var c = CompressedModels.Build(seed, Kind.Depthwise, encoding, packed: seed % 2 == 0);
            var dims = c.Name[(c.Name.IndexOf("filter [", StringComparison.Ordinal) + 8)..];
            int cout = int.Parse(dims[..dims.IndexOf(']')].Split(',')[3]);
            if (cout % 2 == 0 && cout % 16 != 0 && cout > 16) tails++;
            var input = new byte[c.InputBytes];
            new Rand(seed).Fill(input);
            Assert.That(CompressedModels.Run(c.Blob, input, reference: false), Is.EqualTo(CompressedModels.Run(c.Blob, input, reference: true)), c.Name);
        }
        Assert.That(tails, Is.GreaterThanOrEqualTo(5), "cases with whole blocks and a tail");
    }

    [TestCase(false)]
    [TestCase(true)]
    public void InvokeAllocatesNothing(bool packed)
    {
        var c = CompressedModels.Build(77, Kind.Conv2D, TensorType.Index4, packed: packed);
        using var it = new Interpreter(Model.Load(c.Blob));
        it.Invoke();
        Assert.That(CallerAllocation.Least(() => { for (int i = 0; i < 10; i++) it.Invoke(); }), Is.Zero);
    }
}
