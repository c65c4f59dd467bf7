using System.Text.Json;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary><c>convert</c> of a QDQ model without --calib, and <c>convert --dynamic</c> (docs/compression.md).</summary>
[TestFixture]
public class CompressionCommandTests
{
    private string _dir = "";
    private static string Zoo => Path.Combine(RepoRoot(), "tests", "zoo");

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("edgequant-cli-compress-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private static string RepoRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return d.FullName;
        throw new DirectoryNotFoundException("EdgeQuant.sln not found above the test directory");
    }

    private static double Accuracy(string model, string name)
    {
        var r = Run("eval", model, "--data", Path.Combine(Zoo, name + ".test.npy"), "--labels", Path.Combine(Zoo, name + ".test_labels.npy"), "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        return j.RootElement.GetProperty("accuracy").GetDouble();
    }

    [Test]
    public void QdqModelConvertsWithoutCalibration()
    {
        string eqm = Path.Combine(_dir, "qat.eqm");
        var r = Run("convert", Path.Combine(Zoo, "mnist_qat.onnx"), "-o", eqm);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(r.Out, Does.Contain("QuantizeLinear/DequantizeLinear"));
        var inspect = Run("inspect", eqm, "--json");
        Assert.That(inspect.Out, Does.Contain("qdq: scales and zero points from the model"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Zoo, "mnist_qat.json")));
        double torch = json.RootElement.GetProperty("torch_qat_int8_accuracy").GetDouble();
        double acc = Accuracy(eqm, "mnist_qat");
        Assert.That(acc <= 1 ? acc * 100 : acc, Is.EqualTo(torch).Within(0.2 + 1e-9));
    }

    [Test]
    public void FloatModelStillNeedsCalibration()
    {
        var r = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "-o", Path.Combine(_dir, "x.eqm"));
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain("--calib"));
    }

    [Test]
    public void DynamicConvertsWithoutCalibrationAndRuns()
    {
        string eqm = Path.Combine(_dir, "dyn.eqm");
        var r = Run("convert", Path.Combine(Zoo, "mnist_cnn.onnx"), "--dynamic", "-o", eqm, "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using (var j = JsonDocument.Parse(r.Out))
        {
            Assert.That(j.RootElement.GetProperty("dynamic").GetBoolean());
            Assert.That(j.RootElement.GetProperty("dynamic_ops").GetInt32(), Is.EqualTo(3));
            Assert.That(j.RootElement.GetProperty("blob_bytes").GetInt32(), Is.EqualTo(new FileInfo(eqm).Length));
        }
        double acc = Accuracy(eqm, "mnist_cnn");
        Assert.That(acc <= 1 ? acc * 100 : acc, Is.GreaterThanOrEqualTo(97.7));
        var inspect = Run("inspect", eqm);
        Assert.That(inspect.Code, Is.EqualTo(0), inspect.Err);
        Assert.That(inspect.Out, Does.Contain("DynamicConv2D").And.Contain("float32"));
        var bench = Run("bench", eqm, "--iterations", "20", "--json");
        Assert.That(bench.Code, Is.EqualTo(0), bench.Err);
        using var b = JsonDocument.Parse(bench.Out);
        Assert.That(b.RootElement.GetProperty("allocated_bytes_per_invoke").GetInt64(), Is.Zero);
    }

    [Test]
    public void DynamicRefusesCalibrationOptions()
    {
        var r = Run("convert", Path.Combine(Zoo, "mnist_cnn.onnx"), "--dynamic", "--calib", Path.Combine(Zoo, "mnist_cnn.calib.npy"), "-o", Path.Combine(_dir, "y.eqm"));
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain("--calib does not apply to --dynamic"));
    }
}
