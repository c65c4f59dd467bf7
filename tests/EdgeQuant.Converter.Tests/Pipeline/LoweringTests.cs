using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Ir;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// The lowered NHWC graph computes what the ONNX graph computes: the IR float executor against
/// the ONNX float executor on the zoo and on exporter-quirk models (NHWC inputs, fixed batch,
/// shape sub-graphs, odd paddings, assorted ops), and the int8 blob tracks float on each.
/// </summary>
[TestFixture]
public class LoweringTests
{
    public static IEnumerable<TestCaseData> AllModels()
    {
        foreach (var m in ZooConversionTests.Models)
            yield return new TestCaseData(Path.Combine("tests", "zoo", m + ".onnx"), Path.Combine("tests", "zoo", m + ".test.npy")).SetName("Zoo_" + m);
        // Every exporter-quirk model in the zoo (nhwc_input, fixed_batch1, shape_subgraph, odd_padding,
        // pad_subgraph, misc_ops, mlp_softmax, mean_squeeze, tf_global_pool, and any added later).
        var quirks = Directory.GetFiles(RepoPaths.Quirks, "*.onnx").Select(Path.GetFileNameWithoutExtension).Order(StringComparer.Ordinal).ToList();
        if (quirks.Count < 10) throw new InvalidOperationException($"expected the zoo's exporter-quirk models in {RepoPaths.Quirks}");
        foreach (var q in quirks)
            yield return new TestCaseData(Path.Combine("tests", "zoo", "quirks", q + ".onnx"), Path.Combine("tests", "zoo", "quirks", q + ".input.npy")).SetName("Quirk_" + q);
    }

    [TestCaseSource(nameof(AllModels))]
    public void LoweredGraphMatchesOnnxSemantics(string model, string data)
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.RepoRoot!, model));
        var samples = ZooConversionTests.Samples(Path.Combine(RepoPaths.RepoRoot!, data));
        var onnx = new OnnxFloatExecutor(loaded.Onnx);
        var exec = new IrExecutor(loaded.Ir);
        var outShape = loaded.Ir.SourceShapes[loaded.Output];
        int n = Math.Min(samples.Count, 50);
        double worst = 0;
        for (int s = 0; s < n; s++)
        {
            var want = onnx.RunBatched(samples.Sample(s), 1);
            var phys = Layouts.ToPhysical(samples.Sample(s), loaded.InputSourceShape, loaded.InputLayout);
            var got = Layouts.ToSource(exec.Run(phys)[loaded.Output], outShape, loaded.Ir.Layouts[loaded.Output]);
            float scale = Math.Max(1f, want.Max(MathF.Abs));
            for (int i = 0; i < want.Length; i++) worst = Math.Max(worst, Math.Abs(want[i] - got[i]) / scale);
        }
        Assert.That(worst, Is.LessThan(1e-4), "max |lowered - onnx| relative to max |onnx|");
    }

    [TestCaseSource(nameof(AllModels))]
    public void Int8BlobTracksFloat(string model, string data)
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.RepoRoot!, model));
        var samples = ZooConversionTests.Samples(Path.Combine(RepoPaths.RepoRoot!, data));
        var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 4 });
        var m = Model.Load(result.Blob);
        var want = Evaluation.ModelRunner.FromLoaded(loaded).Run(samples);
        var got = Evaluation.ModelRunner.FromModel(m).Run(samples);
        double sqnr = Metrics.SqnrDb(want, got);
        TestContext.Out.WriteLine($"{model}: output SQNR {sqnr:F1} dB, ops: {string.Join(" ", m.Ops.Select(o => o.Type))}");
        Assert.That(sqnr, Is.GreaterThan(20), "int8 output SQNR against float, dB");
    }

    [Test]
    public void GlobalPoolingWrittenAsReduceMeanBecomesMean()
    {
        foreach (var q in new[] { "mean_squeeze", "tf_global_pool" })
        {
            var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Quirks, q + ".onnx"));
            var types = loaded.Ir.Ops.Select(o => o.Type).ToList();
            Assert.That(types, Has.Member(OpType.Mean), q);
            Assert.That(types, Has.No.Member(OpType.Transpose), q + ": the NHWC Transposes only relabel layouts");
        }
    }

    [Test]
    public void NhwcInputModelNeedsNoTransposeOp()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Quirks, "nhwc_input.onnx"));
        Assert.That(loaded.InputLayout, Is.EqualTo(SourceLayout.AsIs), "the model already takes NHWC");
        Assert.That(loaded.Ir.Ops.Select(o => o.Type), Has.No.Member(OpType.Transpose), "the input Transpose only relabels the layout");
    }

    [Test]
    public void FlattenBeforeGemmPermutesWeightsInsteadOfData()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "mnist_cnn.onnx"));
        Assert.That(loaded.InputLayout, Is.EqualTo(SourceLayout.Nchw));
        Assert.That(loaded.Ir.Ops.Select(o => o.Type), Has.No.Member(OpType.Transpose));
    }

    [Test]
    public void BatchNormAndActivationsAreFolded()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Zoo, "fashion_mobilenet.onnx"));
        var types = loaded.Ir.Ops.Select(o => o.Type).ToList();
        Assert.That(types, Has.No.Member(OpType.Lookup), "ReLU6 clamps fused into their producers");
        Assert.That(types.Count(t => t is OpType.Conv2D or OpType.DepthwiseConv2D), Is.EqualTo(9), "nine convolutions, BatchNorms folded into them");
        Assert.That(loaded.Ir.Ops.Count(o => o.FusedActivation == "Relu6"), Is.EqualTo(8));
    }

    [Test]
    public void OddPaddingIsFoldedIntoConvolution()
    {
        var loaded = ModelConverter.Load(Path.Combine(RepoPaths.Quirks, "odd_padding.onnx"));
        var convs = loaded.Ir.Ops.Where(o => o.Type == OpType.Conv2D).ToList();
        Assert.That(convs.Any(c => c.PadTop != c.PadBottom || c.PadLeft != c.PadRight), Is.True, "an asymmetric padding reached a convolution");
    }
}
