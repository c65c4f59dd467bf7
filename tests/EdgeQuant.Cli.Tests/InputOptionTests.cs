using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// Data options of run, eval and convert: NAME=FILE.npy once per input for models with several
/// inputs, static input shapes read as one sample, and per-command --help.
/// </summary>
[TestFixture]
public class InputOptionTests
{
    private static readonly float[] Weights = [0.5f, -0.3f, 0.2f, 0.1f, 0.9f, -0.6f, -0.4f, 0.3f, 0.7f, 0.8f, -0.2f, 0.05f];
    private string _dir = "";
    private string _two = "", _static = "", _a = "", _b = "", _labels = "";
    private float[] _aData = [], _bData = [];

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("edgequant-inputs-").FullName;
        _two = Path.Combine(_dir, "two.onnx");
        File.WriteAllBytes(_two, new TestModelBuilder()
            .Input("a", -1, 4).Input("b", -1, 4).Output("y", -1, 3)
            .FloatInitializer("w", [4, 3], Weights)
            .Node("Add", ["a", "b"], ["s"])
            .Node("Relu", ["s"], ["r"])
            .Node("MatMul", ["r", "w"], ["y"]).ToBytes());
        _static = Path.Combine(_dir, "static.onnx");
        File.WriteAllBytes(_static, new TestModelBuilder()
            .Input("x", 3, 4, 5).Output("y", 3, 4, 5)
            .Node("Sigmoid", ["x"], ["y"]).ToBytes());
        var rng = new Random(7);
        _aData = Enumerable.Range(0, 20 * 4).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _bData = Enumerable.Range(0, 20 * 4).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        _a = Path.Combine(_dir, "a.npy");
        _b = Path.Combine(_dir, "b.npy");
        Npy.WriteFloat32(_a, _aData, [20, 4]);
        Npy.WriteFloat32(_b, _bData, [20, 4]);
        _labels = Path.Combine(_dir, "labels.npy");
        Npy.WriteInt64(_labels, Enumerable.Range(0, 20).Select(i => (long)(i % 3)).ToArray(), [20]);
    }

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Test]
    public void Run_TwoInputs_ByName_InAnyOrder()
    {
        string y = Path.Combine(_dir, "y_two.npy");
        var r = Run("run", _two, "--input", $"b={_b}", "--input", $"a={_a}", "--output", y);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var output = Npy.Read(y);
        Assert.That(output.Shape, Is.EqualTo(new[] { 20, 3 }));
        for (int s = 0; s < 20; s++)
            for (int o = 0; o < 3; o++)
            {
                double expected = 0;
                for (int k = 0; k < 4; k++) expected += Math.Max(0, _aData[s * 4 + k] + _bData[s * 4 + k]) * Weights[k * 3 + o];
                Assert.That(output.Floats![s * 3 + o], Is.EqualTo(expected).Within(1e-5));
            }
    }

    [Test]
    public void ConvertEvalRun_TwoInputs_Int8()
    {
        string eqm = Path.Combine(_dir, "two.eqm"), y = Path.Combine(_dir, "y_two_int8.npy");
        var c = Run("convert", _two, "--calib", $"a={_a}", "--calib", $"b={_b}", "-o", eqm);
        Assert.That(c.Code, Is.EqualTo(0), c.Err);
        Assert.That(c.Out, Does.Contain("calibrated on 20 samples"));
        var e = Run("eval", eqm, "--data", $"a={_a}", "--data", $"b={_b}", "--labels", _labels, "--reference", _two);
        Assert.That(e.Code, Is.EqualTo(0), e.Err);
        Assert.That(e.Out, Does.Contain("on 20 samples").And.Contain("top-1 agreement"));
        var r = Run("run", eqm, "--input", $"a={_a}", "--input", $"b={_b}", "--output", y);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        Assert.That(Npy.Read(y).Shape, Is.EqualTo(new[] { 20, 3 }));
    }

    [Test]
    public void TwoInputs_WrongData_IsAUserErrorNamingTheInputs()
    {
        string y = Path.Combine(_dir, "y_err.npy");
        var unnamed = Run("run", _two, "--input", _a, "--output", y);
        Assert.That(unnamed.Code, Is.EqualTo(1));
        Assert.That(unnamed.Err, Does.Contain("2 inputs").And.Contain("'a' [1, 4]").And.Contain("'b' [1, 4]").And.Contain("NAME=FILE.npy"));

        var wrongName = Run("run", _two, "--input", $"a={_a}", "--input", $"c={_b}", "--output", y);
        Assert.That(wrongName.Code, Is.EqualTo(1));
        Assert.That(wrongName.Err, Does.Contain("no input 'c'").And.Contain("'a' [1, 4], 'b' [1, 4]"));

        var missing = Run("convert", _two, "--calib", $"a={_a}");
        Assert.That(missing.Code, Is.EqualTo(1));
        Assert.That(missing.Err, Does.Contain("no data for model input 'b'"));

        var noFile = Run("run", _two, "--input", "a=", "--output", y);
        Assert.That(noFile.Code, Is.EqualTo(1));
        Assert.That(noFile.Err, Does.Contain("NAME=FILE.npy"));
        Assert.That(File.Exists(y), Is.False);
    }

    [Test]
    public void Run_StaticInputShape_ExactDataIsOneInvocation()
    {
        var x = Enumerable.Range(0, 60).Select(i => (i - 30) / 10f).ToArray();
        string xPath = Path.Combine(_dir, "x345.npy"), y = Path.Combine(_dir, "y345.npy");
        Npy.WriteFloat32(xPath, x, [3, 4, 5]);
        var r = Run("run", _static, "--input", xPath, "--output", y);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var output = Npy.Read(y);
        Assert.That(output.Shape, Is.EqualTo(new[] { 3, 4, 5 }));
        for (int i = 0; i < 60; i++) Assert.That(output.Floats![i], Is.EqualTo(1 / (1 + Math.Exp(-x[i]))).Within(1e-6));

        string eqm = Path.Combine(_dir, "static.eqm");
        Assert.That(Run("convert", _static, "--calib", xPath, "-o", eqm).Code, Is.EqualTo(0));
        string x2 = Path.Combine(_dir, "x2345.npy"), y2 = Path.Combine(_dir, "y2345.npy");
        Npy.WriteFloat32(x2, [.. x, .. x], [2, 3, 4, 5]);
        var r2 = Run("run", eqm, "--input", x2, "--output", y2);
        Assert.That(r2.Code, Is.EqualTo(0), r2.Err);
        var out2 = Npy.Read(y2);
        Assert.That(out2.Shape, Is.EqualTo(new[] { 2, 3, 4, 5 }), "[K, static shape] is K invocations");
        for (int i = 0; i < 120; i++) Assert.That(out2.Floats![i], Is.EqualTo(output.Floats![i % 60]).Within(0.01));

        var bad = Run("run", _static, "--input", _a, "--output", y2);
        Assert.That(bad.Code, Is.EqualTo(1));
        Assert.That(bad.Err, Does.Contain("[20, 4]").And.Contain("[3, 4, 5]").And.Contain("not a batch"));
    }

    [Test]
    public void FirmwareRun_TwoInputs_IsRefusedNamingThem()
    {
        string eqm = Path.Combine(_dir, "two_fw.eqm");
        Assert.That(Run("convert", _two, "--calib", $"a={_a}", "--calib", $"b={_b}", "-o", eqm).Code, Is.EqualTo(0));
        string firmware = "";
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) { firmware = Path.Combine(d.FullName, "firmware"); break; }
        var r = Run("firmware", "run", eqm, "--board", "host", "--firmware-dir", firmware, "--input", _a, "--output", Path.Combine(_dir, "fw_y.npy"));
        Assert.That(r.Code, Is.EqualTo(1), r.Err);
        Assert.That(r.Err, Does.Contain("2 inputs ('a', 'b')").And.Contain("one input"));
    }

    [TestCase("run", "--input X.npy | NAME=X.npy")]
    [TestCase("eval", "--data X.npy | NAME=X.npy")]
    [TestCase("convert", "--calib X.npy | NAME=X.npy")]
    [TestCase("inspect", "edgequant inspect MODEL.eqm")]
    [TestCase("bench", "edgequant bench MODEL.eqm")]
    public void HelpPerCommand(string command, string mention)
    {
        var r = Run(command, "--help");
        Assert.That(r.Code, Is.EqualTo(0));
        Assert.That(r.Out, Does.Contain(mention));
        Assert.That(r.Out, Does.Not.Contain("edgequant demo"), "only the command's own help");
    }
}
