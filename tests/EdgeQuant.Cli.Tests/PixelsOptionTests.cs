using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>`edgequant convert --pixels`: the camera normalization stored in the blob's metadata.</summary>
[TestFixture]
public class PixelsOptionTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("edgequant-pixels-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static string Zoo(string f)
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return Path.Combine(d.FullName, "tests", "zoo", f);
        throw new DirectoryNotFoundException("EdgeQuant.sln not found above the test directory");
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void Convert_WithPixels_StoresThem_AndInspectShowsThem()
    {
        string output = Path.Combine(_dir, "mnist.eqm");
        var r = Run("convert", Zoo("mnist_cnn.onnx"), "--calib", Zoo("mnist_cnn.calib.npy"), "-o", output, "--pixels", "0.1307,0.3081");
        Assert.That(r.Code, Is.Zero, r.Err);
        var model = Model.LoadFile(output);
        Assert.That(model.Metadata["pixels"], Is.EqualTo("mean=0.1307;std=0.3081"));
        Assert.That(model.PixelNormalization!.Mean[0], Is.EqualTo(0.1307f));
        var inspect = Run("inspect", output);
        Assert.That(inspect.Out, Does.Contain("pixels: mean=0.1307;std=0.3081"));
    }

    [TestCase("0.1,0.2,0.3", "found 3 values")]
    [TestCase("0.1,x", "'x' is not a number")]
    [TestCase("0.485,0.456,0.406,0.229,0.224,0.225", "3 channels")]
    public void Convert_WithBadPixels_IsAOneLineUserError(string pixels, string mention)
    {
        var r = Run("convert", Zoo("mnist_cnn.onnx"), "--calib", Zoo("mnist_cnn.calib.npy"), "-o", Path.Combine(_dir, "bad.eqm"), "--pixels", pixels);
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain(mention));
        Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
    }
}
