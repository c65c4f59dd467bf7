using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.TestSupport;
using static EdgeQuant.Runtime.Tests.ModelTests;

namespace EdgeQuant.Runtime.Tests.Format;

/// <summary>
/// The folded-bias rule (docs/format.md 5.4, 8.4): a Conv2D / DepthwiseConv2D / FullyConnected
/// record (and ops 50-54) whose <c>folded_bias_offset</c> is not -1 must hold exactly
/// <c>bias[oc] + input_offset × Σ filter[oc]</c> in wrapping int32 arithmetic, because the C
/// firmware's DSP/MVE kernels add it in place of the input offset. The expected folds here are
/// computed by the test builder in 64-bit arithmetic, independently of the reader.
/// </summary>
public class FoldedBiasValidationTests
{
    private static readonly (CompressedModels.Kind Kind, TensorType Encoding, OpType Op, OpType Dense)[] Cases =
    [
        (CompressedModels.Kind.Conv2D, TensorType.Int4, OpType.Conv2DCompressed, OpType.Conv2D),
        (CompressedModels.Kind.Depthwise, TensorType.Index4, OpType.DepthwiseConv2DCompressed, OpType.DepthwiseConv2D),
        (CompressedModels.Kind.Depthwise, TensorType.Int4, OpType.DepthwiseConv2DCompressed, OpType.DepthwiseConv2D),
        (CompressedModels.Kind.FullyConnected, TensorType.Index8, OpType.FullyConnectedCompressed, OpType.FullyConnected),
        (CompressedModels.Kind.Conv2D, TensorType.SparseInt8, OpType.Conv2DSparse, OpType.Conv2D),
        (CompressedModels.Kind.FullyConnected, TensorType.SparseInt8, OpType.FullyConnectedSparse, OpType.FullyConnected),
    ];

    private static int[] Wrap(long[] exact) => Array.ConvertAll(exact, v => unchecked((int)v));

    private static int[] Clamp(long[] exact) => Array.ConvertAll(exact, v => (int)System.Math.Clamp(v, int.MinValue, int.MaxValue));

    [Test]
    public void TheRightFoldLoads()
    {
        int depthMultipliers = 0;
        for (int seed = 0; seed < 12; seed++)
            foreach (var (kind, enc, op, dense) in Cases)
            {
                var c = CompressedModels.Build(500 + seed, kind, enc, foldedBias: Wrap);
                Assert.DoesNotThrow(() => Model.Load(c.Blob), $"{op}: {c.Name}");
                var m = Model.Load(c.DenseBlob);
                Assert.That(m.Ops[0].Type, Is.EqualTo(dense));
                if (dense == OpType.DepthwiseConv2D && m.ReadParams<Conv2DParams>(m.Ops[0]).DepthMultiplier > 1) depthMultipliers++;
            }
        Assert.That(depthMultipliers, Is.GreaterThan(0), "some depthwise cases have a depth multiplier above 1");
    }

    [Test]
    public void OneWrongEntryIsRejectedNamingItsOpAndChannel()
    {
        for (int seed = 0; seed < 6; seed++)
            foreach (var (kind, enc, op, dense) in Cases)
            {
                int wrong = -1;
                var c = CompressedModels.Build(600 + seed, kind, enc, foldedBias: exact =>
                {
                    var f = Wrap(exact);
                    wrong = f.Length / 2;
                    f[wrong] = unchecked(f[wrong] + (seed % 2 == 0 ? 1 : -65536));
                    return f;
                });
                Rejects(c.Blob, "section Ops, record 0 (byte ", $"({op})", $"folded bias entry {wrong} (constant offset ", "but bias + input_offset x sum(filter)");
                Rejects(c.DenseBlob, "section Ops, record 0 (byte ", $"({dense})", $"folded bias entry {wrong} ");
            }
    }

    /// <summary>
    /// Near the int32 limits the fold wraps exactly as the reference accumulator does; a saturated
    /// fold would make the firmware's fast kernels differ from the reference, so it is rejected.
    /// </summary>
    [Test]
    public void TheFoldWrapsLikeTheAccumulator()
    {
        int overflowing = 0;
        foreach (var (kind, enc, op, dense) in Cases)
            foreach (int limit in new[] { int.MaxValue - 3, int.MinValue + 3 })
            {
                bool overflows = false;
                Func<int[], int[]> extreme = b => Array.ConvertAll(b, _ => limit);
                var wrapped = CompressedModels.Build(700, kind, enc, tweakBias: extreme, foldedBias: exact =>
                {
                    overflows = Array.Exists(exact, v => v is > int.MaxValue or < int.MinValue);
                    return Wrap(exact);
                });
                Assert.DoesNotThrow(() => Model.Load(wrapped.Blob), $"{op}, bias {limit}");
                Assert.DoesNotThrow(() => Model.Load(wrapped.DenseBlob), $"{dense}, bias {limit}");
                if (!overflows) continue;
                overflowing++;
                var clamped = CompressedModels.Build(700, kind, enc, tweakBias: extreme, foldedBias: Clamp);
                Rejects(clamped.Blob, $"({op})", "folded bias entry ");
                Rejects(clamped.DenseBlob, $"({dense})", "folded bias entry ");
            }
        Assert.That(overflowing, Is.GreaterThanOrEqualTo(Cases.Length / 2), "enough cases overflow int32 to test the wrap");
    }

    private static string ZooDir => Path.Combine(AppContext.BaseDirectory, "zoo", "eqm");

    /// <summary>
    /// Every zoo blob (written by the converter, which folds the bias of every dense Conv2D,
    /// DepthwiseConv2D and FullyConnected) passes the rule; one changed entry in any of its folds,
    /// with the CRC fixed, is rejected naming that op.
    /// </summary>
    [Test]
    public void ZooBlobsPassAndAChangedZooFoldIsRejected()
    {
        var blobs = Directory.GetFiles(ZooDir, "*.eqm").Order(StringComparer.Ordinal).ToArray();
        Assert.That(blobs, Has.Length.GreaterThanOrEqualTo(13));
        int folds = 0;
        foreach (var path in blobs)
        {
            byte[] blob = File.ReadAllBytes(path);
            var m = Model.Load(blob);
            for (int i = 0; i < m.Ops.Count; i++)
            {
                var op = m.Ops[i];
                int fo = op.Type switch
                {
                    OpType.Conv2D or OpType.DepthwiseConv2D => m.ReadParams<Conv2DParams>(op).FoldedBiasOffset,
                    OpType.FullyConnected => m.ReadParams<FullyConnectedParams>(op).FoldedBiasOffset,
                    _ => -1,
                };
                if (fo == -1) continue;
                folds++;
                int cout = m.Tensors[op.Output0].Shape[m.Tensors[op.Output0].Rank - 1];
                int k = (folds * 7) % cout;
                var bad = (byte[])blob.Clone();
                int at = Blob.Constant(bad, fo + 4 * k);
                Blob.SetI32(bad, at, Blob.I32(bad, at) ^ (1 << (folds % 31)));
                Rejects(Blob.FixCrc(bad), $"section Ops, record {i} (byte ", $"({op.Type})", $"folded bias entry {k} ");
            }
        }
        Assert.That(folds, Is.GreaterThanOrEqualTo(blobs.Length), "the zoo's dense ops carry folded biases");
    }
}
