using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// ReduceMean over any axes but the batch, lowered to the Mean op on an [N, R, 1, K] view:
/// against the definition written out here, lowered vs float, int8 vs float.
/// </summary>
[TestFixture]
public class ReduceMeanAxesTests
{
    [TestCase(new[] { 6, 9 }, new long[] { 1 }, 1)]
    [TestCase(new[] { 6, 9 }, new long[] { 1 }, 0)]
    [TestCase(new[] { 6, 9 }, new long[] { 2 }, 1)]
    [TestCase(new[] { 6, 9 }, new long[] { 1, 2 }, 0)]
    [TestCase(new[] { 6, 9 }, new long[] { -2 }, 0)]
    [TestCase(new[] { 7 }, new long[] { 1 }, 1)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 1 }, 1)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 1 }, 0)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 3 }, 0)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 1, 3 }, 1)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 1, 2, 3 }, 0)]
    [TestCase(new[] { 3, 4, 5 }, new long[] { 2 }, 1)]
    public void ReduceMeanMatchesDefinitionLowersAndQuantizes(int[] dims, long[] axes, int keepdims)
    {
        int rank = dims.Length + 1;
        var reduced = axes.Select(a => (int)(a < 0 ? a + rank : a)).ToHashSet();
        int[] full = [1, .. dims];
        var outDims = Enumerable.Range(0, rank).Where(d => keepdims != 0 || !reduced.Contains(d)).Select(d => reduced.Contains(d) ? 1 : full[d]).ToArray();
        long[] inShape = [-1, .. dims.Select(d => (long)d)];
        long[] outShape = [-1, .. outDims.Skip(1).Select(d => (long)d)];
        var bytes = new TestModelBuilder()
            .Input("input", inShape).Output("out", outShape)
            .FloatInitializer("k", [1], 3f)
            .Node("Mul", ["input", "k"], ["x"], "scale")
            .Node("ReduceMean", ["x"], ["out"], "mean", Attr("axes", axes), Attr("keepdims", (long)keepdims))
            .ToBytes();
        string tag = $"{rank}_{string.Join("_", axes)}_{keepdims}";
        string path = Path.Combine(Path.GetTempPath(), $"eq_reducemean_{tag}_{Environment.ProcessId}.onnx");
        File.WriteAllBytes(path, bytes);
        LoadedModel loaded;
        try
        {
            loaded = ModelConverter.Load(path);
        }
        finally
        {
            File.Delete(path);
        }

        int n = 24, per = dims.Aggregate(1, (p, d) => p * d);
        int outPer = outDims.Aggregate(1, (p, d) => p * d);
        var r = new Random(rank * 100 + (int)axes.Sum() * 10 + keepdims);
        var data = Enumerable.Range(0, n * per).Select(_ => (float)(r.NextDouble() * 2 - 1 + 0.3)).ToArray();
        var want = new float[n * outPer];
        var counts = new int[n * outPer];
        var idx = new int[rank];
        var sums = new double[n * outPer];
        for (int s = 0; s < n; s++)
        {
            for (int i = 0; i < per; i++)
            {
                int rem = i;
                for (int d = rank - 1; d >= 1; d--) { idx[d] = rem % full[d]; rem /= full[d]; }
                int o = 0;
                for (int d = 1; d < rank; d++) if (!reduced.Contains(d)) o = o * full[d] + idx[d];
                sums[s * outPer + o] += 3.0 * data[s * per + i];
                counts[s * outPer + o]++;
            }
        }
        for (int i = 0; i < want.Length; i++) want[i] = (float)(sums[i] / counts[i]);

        var samples = new SampleSet(data, [n, .. dims], "random");
        var onnx = new OnnxFloatExecutor(loaded.Onnx).RunBatched(data, n);
        Assert.That(onnx.Length, Is.EqualTo(want.Length));
        for (int i = 0; i < want.Length; i++) Assert.That(onnx[i], Is.EqualTo(want[i]).Within(1e-5), $"float executor, element {i}");

        Assert.That(loaded.Ir.Ops.Count(o => o.Type == OpType.Mean), Is.EqualTo(1));
        var exec = new IrExecutor(loaded.Ir);
        var source = loaded.Ir.SourceShapes[loaded.Output];
        for (int s = 0; s < n; s++)
        {
            var got = Layouts.ToSource(exec.Run(Layouts.ToPhysical(samples.Sample(s), loaded.InputSourceShape, loaded.InputLayout))[loaded.Output], source, loaded.Ir.Layouts[loaded.Output]);
            for (int i = 0; i < outPer; i++) Assert.That(got[i], Is.EqualTo(want[s * outPer + i]).Within(1e-5), $"lowered graph, sample {s} element {i}");
        }

        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 2 });
        var int8 = Evaluation.ModelRunner.FromModel(Model.Load(result.Blob)).Run(samples);
        Assert.That(Metrics.SqnrDb(want, int8), Is.GreaterThan(30), "int8 mean against float, dB");
    }
}
