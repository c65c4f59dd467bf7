using System.Text.Json;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// `edgequant run --output NAME=Y.npy`: a model with several outputs (a detector's scores and boxes) gives any of them, the
/// float ONNX model and the int8 blob alike; `--output Y.npy` stays the first output; unknown or unnamed extra outputs are
/// user errors naming the outputs there are.
/// </summary>
[TestFixture]
public class RunOutputsTests
{
    private string _dir = "";

    [OneTimeSetUp]
    public void Setup() => _dir = Directory.CreateTempSubdirectory("edgequant-run-outputs-").FullName;

    [OneTimeTearDown]
    public void TearDown() => Directory.Delete(_dir, true);

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    private (string Onnx, string Eqm, string Data) TwoOutputModel() => TwoOutputModel(_dir);

    /// <summary>
    /// In <paramref name="dir"/>: input [N, 2, 6, 6] -> Conv (4 channels) -> Relu -> "scores"; input -> Conv (3 channels,
    /// stride 2) -> "boxes"; converted, and 5 samples. Also used by the firmware run tests.
    /// </summary>
    internal static (string Onnx, string Eqm, string Data) TwoOutputModel(string dir)
    {
        var r = new Random(5);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        string onnx = Path.Combine(dir, "two.onnx"), eqm = Path.Combine(dir, "two.eqm"), data = Path.Combine(dir, "x.npy");
        File.WriteAllBytes(onnx, new TestModelBuilder()
            .Input("input", -1, 2, 6, 6).Output("scores", -1, 4, 6, 6).Output("boxes", -1, 3, 3, 3)
            .FloatInitializer("w1", [4, 2, 3, 3], Rand(72)).FloatInitializer("b1", [4], Rand(4))
            .FloatInitializer("w2", [3, 2, 3, 3], Rand(54)).FloatInitializer("b2", [3], Rand(3))
            .Node("Conv", ["input", "w1", "b1"], ["c1"], "conv1", TestModelBuilder.Attr("pads", [1L, 1L, 1L, 1L]))
            .Node("Relu", ["c1"], ["scores"], "relu")
            .Node("Conv", ["input", "w2", "b2"], ["boxes"], "conv2", TestModelBuilder.Attr("pads", [1L, 1L, 1L, 1L]), TestModelBuilder.Attr("strides", [2L, 2L]))
            .ToBytes());
        Npy.WriteFloat32(data, Rand(5 * 72), [5, 2, 6, 6]);
        var c = Run("convert", onnx, "--calib", data, "-o", eqm);
        Assert.That(c.Code, Is.EqualTo(0), c.Err);
        return (onnx, eqm, data);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void NamedOutputsAreWrittenEach(bool quantized)
    {
        var (onnx, eqm, data) = TwoOutputModel();
        string model = quantized ? eqm : onnx;
        string scores = Path.Combine(_dir, $"scores{quantized}.npy"), boxes = Path.Combine(_dir, $"boxes{quantized}.npy"), first = Path.Combine(_dir, $"first{quantized}.npy");
        var r = Run("run", model, "--input", data, "--output", $"boxes={boxes}", "--output", $"scores={scores}", "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using (var j = JsonDocument.Parse(r.Out))
        {
            var outs = j.RootElement.GetProperty("outputs");
            Assert.That(outs.GetArrayLength(), Is.EqualTo(2));
            Assert.That(outs[0].GetProperty("name").GetString(), Is.EqualTo("boxes"));
            Assert.That(outs[1].GetProperty("name").GetString(), Is.EqualTo("scores"));
        }
        Assert.That(Npy.Read(scores).Shape, Is.EqualTo(new[] { 5, 4, 6, 6 }));
        Assert.That(Npy.Read(boxes).Shape, Is.EqualTo(new[] { 5, 3, 3, 3 }));
        // The unnamed form is the first output, and says there are more.
        var f = Run("run", model, "--input", data, "--output", first);
        Assert.That(f.Code, Is.EqualTo(0), f.Err);
        Assert.That(f.Out, Does.Contain("2 outputs").And.Contain("scores, boxes"));
        Assert.That(Npy.Read(first).Floats, Is.EqualTo(Npy.Read(scores).Floats));
        // The boxes really are the second output: not the scores' values, and (int8) close to the float model's.
        Assert.That(Npy.Read(boxes).Floats!.Take(27), Is.Not.EqualTo(Npy.Read(scores).Floats!.Take(27)));
        if (quantized)
        {
            string floatBoxes = Path.Combine(_dir, "boxes_float.npy");
            Assert.That(Run("run", onnx, "--input", data, "--output", $"boxes={floatBoxes}").Code, Is.EqualTo(0));
            var want = Npy.Read(floatBoxes).Floats!;
            var got = Npy.Read(boxes).Floats!;
            double err = want.Zip(got, (a, b) => Math.Abs(a - b)).Max(), range = want.Max() - want.Min();
            Assert.That(err, Is.LessThan(range / 30), "the int8 boxes follow the float model's");
        }
    }

    [Test]
    public void UnknownOrUnnamedOutputsAreUserErrors()
    {
        var (_, eqm, data) = TwoOutputModel();
        var unknown = Run("run", eqm, "--input", data, "--output", $"nope={Path.Combine(_dir, "n.npy")}");
        Assert.That(unknown.Code, Is.EqualTo(1));
        Assert.That(unknown.Err, Does.Contain("no output 'nope'").And.Contain("scores, boxes"));
        var twice = Run("run", eqm, "--input", data, "--output", Path.Combine(_dir, "a.npy"), "--output", Path.Combine(_dir, "b.npy"));
        Assert.That(twice.Code, Is.EqualTo(1));
        Assert.That(twice.Err, Does.Contain("NAME=Y.npy"));
        var same = Run("run", eqm, "--input", data, "--output", $"boxes={Path.Combine(_dir, "a.npy")}", "--output", $"boxes={Path.Combine(_dir, "b.npy")}");
        Assert.That(same.Code, Is.EqualTo(1));
        Assert.That(same.Err, Does.Contain("named twice"));
    }
}
