using System.Text.Json;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// A model with several outputs (a detector's scores and boxes) on the firmware: <c>firmware run --output NAME=Y.npy</c>
/// gives each output the bytes <c>edgequant run</c> gives, on host and on an emulated board; the raw form is the C#
/// Interpreter's tensor bytes; <c>firmware bench</c> checks every output against the C# runtime, not only the first.
/// </summary>
public partial class FirmwareCommandTests
{
    [TestCase("host")]
    [TestCase("mps3-an547")]
    public void RunWritesEveryNamedOutputAsEdgequantRunDoes(string board)
    {
        if (board != "host") RequireCrossTools();
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "two-outputs-" + board)).FullName;
        var (_, eqm, data) = RunOutputsTests.TwoOutputModel(dir);
        string P(string name) => Path.Combine(dir, name);
        var want = Run("run", eqm, "--input", data, "--output", $"scores={P("scores.want.npy")}", "--output", $"boxes={P("boxes.want.npy")}");
        Assert.That(want.Code, Is.EqualTo(0), want.Err);

        // The outputs named, in the order given (boxes first), one of them as raw tensor bytes.
        var f = Run("firmware", "run", eqm, "--board", board, "--input", data,
            "--output", $"boxes={P("boxes.npy")}", "--output", $"scores={P("scores.npy")}", "--output", $"boxes={P("boxes.bin")}", "--json");
        AssertUserError(f, "output 'boxes' is named twice");
        f = Run("firmware", "run", eqm, "--board", board, "--input", data, "--output", $"boxes={P("boxes.npy")}", "--output", $"scores={P("scores.npy")}", "--json");
        Assert.That(f.Code, Is.EqualTo(0), f.Err);
        using (var j = JsonDocument.Parse(f.Out))
        {
            var outs = j.RootElement.GetProperty("outputs");
            Assert.That(outs.GetArrayLength(), Is.EqualTo(2));
            Assert.That(outs[0].GetProperty("name").GetString(), Is.EqualTo("boxes"));
            Assert.That(outs[1].GetProperty("name").GetString(), Is.EqualTo("scores"));
            Assert.That(j.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(5));
        }
        foreach (var name in new[] { "scores", "boxes" })
        {
            var w = Npy.Read(P($"{name}.want.npy"));
            var g = Npy.Read(P($"{name}.npy"));
            Assert.That(g.Shape, Is.EqualTo(w.Shape), name);
            Assert.That(g.Floats, Is.EqualTo(w.Floats), $"{name}: dequantized outputs must be bit-identical");
        }
        Assert.That(Npy.Read(P("boxes.npy")).Shape, Is.EqualTo(new[] { 5, 3, 3, 3 }));

        // Raw: the second output's int8 tensor bytes, sample after sample, as the C# Interpreter computes them.
        var raw = Run("firmware", "run", eqm, "--board", board, "--input", data, "--output", $"boxes={P("boxes.bin")}");
        Assert.That(raw.Code, Is.EqualTo(0), raw.Err);
        Assert.That(raw.Out, Does.Contain("raw output tensor bytes").And.Contain("(output 'boxes')"));
        Assert.That(File.ReadAllBytes(P("boxes.bin")), Is.EqualTo(InterpreterOutputBytes(eqm, data, output: 1)));

        // Unnamed: the first output, with a word about the others.
        var first = Run("firmware", "run", eqm, "--board", board, "--input", data, "--output", P("first.npy"));
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        Assert.That(first.Out, Does.Contain("2 outputs").And.Contain("scores, boxes"));
        Assert.That(Npy.Read(P("first.npy")).Floats, Is.EqualTo(Npy.Read(P("scores.want.npy")).Floats));

        AssertUserError(Run("firmware", "run", eqm, "--board", board, "--input", data, "--output", $"labels={P("l.npy")}"),
            "no output 'labels'", "scores, boxes");
    }

    /// <summary>Output <paramref name="output"/>'s int8 bytes of every sample of <paramref name="data"/> (NCHW float32), from the C# Interpreter.</summary>
    private static byte[] InterpreterOutputBytes(string eqm, string data, int output)
    {
        var model = Model.LoadFile(eqm);
        using var interp = new Interpreter(model);
        var x = Npy.Read(data);
        int n = x.Shape[0], c = x.Shape[1], h = x.Shape[2], w = x.Shape[3], size = c * h * w;
        var result = new List<byte>();
        var nhwc = new float[size];
        for (int s = 0; s < n; s++)
        {
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < h; y++)
                    for (int xi = 0; xi < w; xi++)
                        nhwc[(y * w + xi) * c + ci] = x.Floats![s * size + (ci * h + y) * w + xi];
            interp.SetInput(nhwc);
            interp.Invoke();
            foreach (sbyte v in interp.GetOutput(output)) result.Add((byte)v);
        }
        return result.ToArray();
    }

    [Test]
    public void ModelBenchChecksEveryOutputAgainstTheCsharpRuntime()
    {
        RequireCountingTools();
        // "first" = Tanh(x) (no FullyConnected), "second" = Gemm(x): the FullyConnected reaches the second output only.
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "bench-outputs")).FullName;
        var r = new Random(3);
        float[] Rand(int n) => Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray();
        string onnx = Path.Combine(dir, "two.onnx"), eqm = Path.Combine(dir, "two.eqm"), data = Path.Combine(dir, "x.npy");
        File.WriteAllBytes(onnx, new TestModelBuilder()
            .Input("x", -1, 8).Output("first", -1, 8).Output("second", -1, 5)
            .FloatInitializer("w", [8, 5], Rand(40)).FloatInitializer("b", [5], Rand(5))
            .Node("Tanh", ["x"], ["first"], "tanh")
            .Node("Gemm", ["x", "w", "b"], ["second"], "fc")
            .ToBytes());
        Npy.WriteFloat32(data, Rand(4 * 8), [4, 8]);
        var c = Run("convert", onnx, "--calib", data, "-o", eqm);
        Assert.That(c.Code, Is.EqualTo(0), c.Err);

        var good = Run("firmware", "bench", eqm, "--board", "mps2-an386", "--samples", "2", "--input", data, "--json");
        Assert.That(good.Code, Is.EqualTo(0), good.Err);
        // The firmware whose FullyConnected flips a bit (ModelBenchRefusesToCountOutputsThatDifferFromTheCsharpRuntime).
        string fw = SabotagedFirmware();
        AssertUserError(Run("firmware", "bench", eqm, "--board", "mps2-an386", "--samples", "2", "--input", data, "--firmware-dir", fw),
            "output 'second'", "differs from the C# runtime's", "the counts are not reported");
    }

    /// <summary>
    /// The zoo's real detector on the Cortex-M55 board: BlazeFace converted as the Pi pipeline converts it (MSE) plans a
    /// 344,064-byte arena, which fits the board's 512 KB of RAM, and its four outputs on two test frames are the bytes
    /// `edgequant run` gives.
    /// </summary>
    [Test]
    public void BlazeFaceRunsOnTheCortexM55AsTheCsharpRuntimeDoes()
    {
        RequireCrossTools();
        string dir = Directory.CreateDirectory(Path.Combine(_dir, "blazeface")).FullName;
        string P(string name) => Path.Combine(dir, name);
        string zoo = Path.Combine(Zoo, "blazeface");
        var c = Run("convert", Path.Combine(zoo, "face_detection_front_128x128_barracuda.onnx"), "--calib", Path.Combine(zoo, "blazeface.calib.npy"),
            "--method", "mse", "-o", P("blazeface.eqm"));
        Assert.That(c.Code, Is.EqualTo(0), c.Err);
        Assert.That(Model.LoadFile(P("blazeface.eqm")).ArenaBytes, Is.LessThanOrEqualTo(344_064));
        // Two frames as the model takes them: pixel / 127.5 - 1.
        var frames = Npy.Read(Path.Combine(zoo, "blazeface.frames.npy"));
        int per = 128 * 128 * 3;
        Npy.WriteFloat32(P("x.npy"), frames.Int64s!.Take(2 * per).Select(v => v / 127.5f - 1f).ToArray(), [2, 128, 128, 3]);
        string[] names = ["Identity:0", "Identity_1:0", "Identity_2:0", "Identity_3:0"];
        var want = Run(["run", P("blazeface.eqm"), "--input", P("x.npy"), .. names.SelectMany((n, k) => new[] { "--output", $"{n}={P($"want{k}.npy")}" })]);
        Assert.That(want.Code, Is.EqualTo(0), want.Err);
        var got = Run(["firmware", "run", P("blazeface.eqm"), "--board", "mps3-an547", "--input", P("x.npy"),
            .. names.SelectMany((n, k) => new[] { "--output", $"{n}={P($"got{k}.npy")}" })]);
        Assert.That(got.Code, Is.EqualTo(0), got.Err);
        for (int k = 0; k < names.Length; k++)
        {
            var w = Npy.Read(P($"want{k}.npy"));
            var g = Npy.Read(P($"got{k}.npy"));
            Assert.That(g.Shape, Is.EqualTo(w.Shape), names[k]);
            Assert.That(g.Floats, Is.EqualTo(w.Floats), $"{names[k]}: the M55's output must be the C# runtime's");
        }
    }
}
