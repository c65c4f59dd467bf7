using System.Text.Json;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>convert's compression options: accepted values reach the blob, bad ones are one-line usage errors.</summary>
[TestFixture]
public class CompressionCliTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("edgequant-cli-compress-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static string Zoo
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return Path.Combine(d.FullName, "tests", "zoo");
            throw new DirectoryNotFoundException("EdgeQuant.sln not found above the test directory");
        }
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private string[] Convert(string output, params string[] extra)
        => ["convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", Path.Combine(_dir, output), .. extra];

    [TestCase("int4", "FullyConnectedCompressedPacked", "int4")]
    [TestCase("codebook4", "FullyConnectedCompressedPacked", "index4")]
    [TestCase("codebook8", "FullyConnectedCompressedPacked", "index8")]
    public void WeightsOptionWritesTheEncoding(string weights, string op, string type)
    {
        var r = Run(Convert(weights + ".eqm", "--weights", weights, "--rounding", "adaptive"));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var i = Run("inspect", Path.Combine(_dir, weights + ".eqm"), "--json");
        using var j = JsonDocument.Parse(i.Out);
        var ops = j.RootElement.GetProperty("ops").EnumerateArray().Select(o => o.GetProperty("type").GetString()).ToList();
        var types = j.RootElement.GetProperty("tensors").EnumerateArray().Select(t => t.GetProperty("type").GetString()).ToList();
        Assert.That(ops, Has.Member(op));
        Assert.That(types, Has.Member(type));
        var e = Run("eval", Path.Combine(_dir, weights + ".eqm"), "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "digits_mlp.test_labels.npy"), "--json");
        using var ej = JsonDocument.Parse(e.Out);
        Assert.That(ej.RootElement.GetProperty("accuracy").GetDouble(), Is.GreaterThan(0.95));
    }

    [Test]
    public void SparseOptionChoosesTheStorageOfPrunedLayers()
    {
        // digits_mlp's batch-1 fully-connected layers are faster dense at 80% (the cost model, --sparse auto);
        // --sparse always stores them as sparse rows, --sparse never keeps them dense.
        var auto = Run(Convert("auto.eqm", "--prune", "0.8"));
        Assert.That(auto.Code, Is.EqualTo(0), auto.Err);
        Assert.That(Run("inspect", Path.Combine(_dir, "auto.eqm"), "--json").Out, Does.Not.Contain("Sparse"));
        var r = Run(Convert("sparse.eqm", "--prune", "0.8", "--sparse", "always"));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var i = Run("inspect", Path.Combine(_dir, "sparse.eqm"), "--json");
        Assert.That(i.Out, Does.Contain("FullyConnectedSparse").And.Contain("sparseint8"));
        var d = Run(Convert("dense.eqm", "--prune", "0.8", "--sparse", "never"));
        Assert.That(d.Code, Is.EqualTo(0), d.Err);
        Assert.That(Run("inspect", Path.Combine(_dir, "dense.eqm"), "--json").Out, Does.Not.Contain("Sparse"));
    }

    [Test]
    public void QdqAndDynamicConversionsRefuseCompressionOptions()
    {
        var q = Run("convert", Path.Combine(Zoo, "mnist_qat.onnx"), "-o", Path.Combine(_dir, "qat.eqm"), "--weights", "int4");
        Assert.That(q.Code, Is.EqualTo(1));
        Assert.That(q.Err, Does.Contain("QuantizeLinear/DequantizeLinear nodes fix its quantization"));
        var d = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--dynamic", "-o", Path.Combine(_dir, "dyn.eqm"), "--prune", "0.5");
        Assert.That(d.Code, Is.EqualTo(1));
        Assert.That(d.Err, Does.Contain("not to --dynamic"));
    }

    [TestCase(new[] { "--weights", "int3" }, "--weights int3")]
    [TestCase(new[] { "--rounding", "up" }, "--rounding up")]
    [TestCase(new[] { "--prune", "1.5" }, "--prune 1.5")]
    [TestCase(new[] { "--structured" }, "--structured needs --prune")]
    [TestCase(new[] { "--prune", "0.5", "--sparse", "sometimes" }, "--sparse sometimes")]
    [TestCase(new[] { "--sparse", "always" }, "--sparse applies to unstructured pruning")]
    public void BadCompressionOptionsAreUsageErrors(string[] extra, string mention)
    {
        var r = Run(Convert("bad.eqm", extra));
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain(mention));
        Assert.That(r.Err, Does.Not.Contain("   at "));
    }
}
