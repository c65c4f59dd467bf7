using System.Text.Json;
using EdgeQuant.Converter.IO;
using EdgeQuant.Converter.Tests.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// <c>edgequant firmware build / run</c>: bit-exact against <c>edgequant run</c> on host and on an
/// emulated board, the size report, and the user errors (missing tools, a model that does not
/// fit, an unknown board). The board cases need arm-none-eabi-gcc, newlib and qemu-system-arm
/// (installed by .ci/run); without them they are reported as ignored, never as passed.
/// </summary>
[TestFixture]
[NonParallelizable] // one test rewrites PATH for the process
public partial class FirmwareCommandTests
{
    private string _dir = "";
    private static string Repo => RepoRoot();
    private static string Zoo => Path.Combine(Repo, "tests", "zoo");
    private static string Golden => Path.Combine(Zoo, "eqm");

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("edgequant-fw-").FullName;
        // A private object cache: the tests compile the runtime themselves.
        Environment.SetEnvironmentVariable("EDGEQUANT_CACHE_DIR", Path.Combine(_dir, "cache"));
        Environment.SetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR", Path.Combine(Repo, "firmware"));
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        Environment.SetEnvironmentVariable("EDGEQUANT_CACHE_DIR", null);
        Environment.SetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR", null);
        Directory.Delete(_dir, true);
    }

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

    private static void RequireCrossTools()
    {
        foreach (var tool in new[] { "arm-none-eabi-gcc", "qemu-system-arm" })
            if (Firmware.Toolchain.Which(tool) is null) Assert.Ignore($"{tool} is not installed (CI installs it through .ci/run)");
    }

    private static void AssertUserError((int Code, string Out, string Err) r, params string[] mentions)
    {
        Assert.Multiple(() =>
        {
            Assert.That(r.Code, Is.EqualTo(1), "exit code of a user error; stderr: " + r.Err);
            Assert.That(r.Err.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line on stderr: " + r.Err);
            Assert.That(r.Err, Does.StartWith("edgequant: error: "));
            foreach (var m in mentions) Assert.That(r.Err, Does.Contain(m));
        });
    }

    /// <summary>`firmware run` and `edgequant run` on the same .eqm and .npy: the same float32 bytes.</summary>
    private void AssertRunMatches(string board, string model, string input)
    {
        string want = Path.Combine(_dir, $"{board}-{Path.GetFileName(model)}-want.npy");
        string got = Path.Combine(_dir, $"{board}-{Path.GetFileName(model)}-got.npy");
        var r = Run("run", model, "--input", input, "--output", want);
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var f = Run("firmware", "run", model, "--board", board, "--input", input, "--output", got, "--json");
        Assert.That(f.Code, Is.EqualTo(0), f.Err);
        var w = Npy.Read(want);
        var g = Npy.Read(got);
        Assert.That(g.Shape, Is.EqualTo(w.Shape));
        Assert.That(g.Floats, Is.EqualTo(w.Floats), "dequantized outputs must be bit-identical");
        using var j = JsonDocument.Parse(f.Out);
        Assert.That(j.RootElement.GetProperty("samples").GetInt32(), Is.EqualTo(w.Shape[0]));
        if (board != "host") Assert.That(j.RootElement.GetProperty("stack_bytes").GetInt32(), Is.InRange(64, 16384));
    }

    [Test]
    public void RunOnHostIsBitExactToEdgequantRun()
    {
        AssertRunMatches("host", Path.Combine(Golden, "digits_mlp.eqm"), Path.Combine(Zoo, "digits_mlp.test.npy"));
        // NCHW source layout: the CLI transposes in and out exactly as `edgequant run` does.
        AssertRunMatches("host", Path.Combine(Golden, "mnist_cnn.eqm"), Path.Combine(Zoo, "quirks", "fixed_batch1.input.npy"));
    }

    [Test]
    public void RunOnEmulatedM4IsBitExactToEdgequantRun()
    {
        RequireCrossTools();
        AssertRunMatches("mps2-an386", Path.Combine(Golden, "mnist_cnn.eqm"), Path.Combine(Zoo, "quirks", "fixed_batch1.input.npy"));
    }

    /// <summary>fashion_mobilenet converted with --weights int4 (ops 55-57; firmware/tests/golden/README.md).</summary>
    private static string Int4Model => Path.Combine(Repo, "firmware", "tests", "golden", "fashion_mobilenet.int4.eqm");

    [Test]
    public void Int4ModelRunsOnHostBitExactToEdgequantRun()
    {
        AssertRunMatches("host", Int4Model, Path.Combine(Zoo, "fashion_mobilenet.test.npy"));
    }

    [Test]
    public void CompressedWeightOpsAreLinkedOnlyIntoImagesOfModelsUsingThem()
    {
        RequireCrossTools();
        long Code(string model, string dir)
        {
            var r = Run("firmware", "build", model, "--board", "mps2-an386", "-o", Path.Combine(_dir, dir), "--json");
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            using var j = JsonDocument.Parse(r.Out);
            return j.RootElement.GetProperty("code_bytes").GetInt64();
        }
        long int8 = Code(Path.Combine(Golden, "fashion_mobilenet.eqm"), "m4-int8");
        long int4 = Code(Int4Model, "m4-int4");
        // Ops 55-57 measured at about 1.9 KB on the M4 (docs/firmware.md, compressed weights).
        Assert.That(int4 - int8, Is.InRange(1000, 3000), $"int8 image {int8} bytes, int4 image {int4} bytes");
    }

    [Test]
    public void RunWithRawTensorBytesReproducesTheGoldenOutputs()
    {
        string out1 = Path.Combine(_dir, "raw.bin");
        var f = Run("firmware", "run", Path.Combine(Golden, "quirk_nhwc_input.eqm"), "--board", "host",
            "--input", Path.Combine(Golden, "quirk_nhwc_input.input.bin"), "--output", out1);
        Assert.That(f.Code, Is.EqualTo(0), f.Err);
        Assert.That(File.ReadAllBytes(out1), Is.EqualTo(File.ReadAllBytes(Path.Combine(Golden, "quirk_nhwc_input.output.bin"))));

        var first = Run("firmware", "run", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "host",
            "--input", Path.Combine(Golden, "digits_mlp.input.bin"), "--output", out1, "--first", "3");
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        Assert.That(File.ReadAllBytes(out1), Is.EqualTo(File.ReadAllBytes(Path.Combine(Golden, "digits_mlp.output.bin")).AsSpan(0, 30).ToArray()));
    }

    [Test]
    public void BuildReportsSizesAndWritesFlashableImages()
    {
        RequireCrossTools();
        string model = Path.Combine(Golden, "mnist_cnn.eqm");
        string outDir = Path.Combine(_dir, "m4");
        var r = Run("firmware", "build", model, "--board", "mps2-an386", "-o", outDir, "--json");
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var root = j.RootElement;
        long P(string name) => root.GetProperty(name).GetInt64();
        Assert.Multiple(() =>
        {
            foreach (var f in new[] { "firmware.elf", "firmware.bin", "firmware.hex" })
                Assert.That(new FileInfo(Path.Combine(outDir, f)).Length, Is.GreaterThan(P("model_bytes")), f);
            Assert.That(P("model_bytes"), Is.EqualTo(new FileInfo(model).Length));
            // Consistency of the report; the size targets themselves are checked by tools/firmware-boards/check.sh.
            Assert.That(P("code_bytes"), Is.GreaterThan(1024), "runtime and kernels, -Os, on the M4");
            Assert.That(P("image_code_bytes"), Is.GreaterThan(P("code_bytes")));
            Assert.That(P("arena_bytes"), Is.GreaterThanOrEqualTo(7840));
            Assert.That(P("ram_bytes"), Is.GreaterThan(P("arena_bytes")));
            Assert.That(P("runtime_ram_bytes"), Is.InRange(1, P("ram_bytes") - P("arena_bytes")), "runtime RAM beyond the arena");
            Assert.That(P("stack_bytes"), Is.InRange(64, 16384), "stack high-water mark during eq_invoke, within the board's 16 KB stack");
            Assert.That(P("flash_used_bytes"), Is.GreaterThan(P("image_code_bytes") + P("model_bytes")).And.LessThan(P("board_flash_bytes")));
        });
        // The .bin starts with the vector table: initial stack pointer in RAM, reset handler in flash (Thumb bit set).
        var bin = File.ReadAllBytes(Path.Combine(outDir, "firmware.bin"));
        uint sp = BitConverter.ToUInt32(bin, 0), reset = BitConverter.ToUInt32(bin, 4);
        Assert.That(sp, Is.InRange(0x2000_0000u, 0x2040_0000u));
        Assert.That(reset & 1, Is.EqualTo(1u));
        Assert.That(reset, Is.LessThan((uint)bin.Length));
        var hex = File.ReadAllLines(Path.Combine(outDir, "firmware.hex"));
        Assert.That(hex, Has.All.StartWith(":"));
        Assert.That(hex[^1], Is.EqualTo(":00000001FF"));
    }

    [Test]
    public void MissingCrossCompilerNamesTheDebianPackages()
    {
        string empty = Directory.CreateDirectory(Path.Combine(_dir, "empty-path")).FullName;
        string saved = Environment.GetEnvironmentVariable("PATH") ?? "";
        try
        {
            Environment.SetEnvironmentVariable("PATH", empty);
            AssertUserError(Run("firmware", "build", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "mps2-an386", "-o", Path.Combine(_dir, "x")),
                "arm-none-eabi-gcc not found", "gcc-arm-none-eabi", "libnewlib-arm-none-eabi");
        }
        finally { Environment.SetEnvironmentVariable("PATH", saved); }
    }

    [Test]
    public void MissingQemuNamesTheDebianPackage()
    {
        RequireCrossTools();
        // A PATH with the cross compiler and objcopy but no emulator.
        string bin = Directory.CreateDirectory(Path.Combine(_dir, "no-qemu-path")).FullName;
        foreach (var tool in new[] { "arm-none-eabi-gcc", "arm-none-eabi-objcopy" })
            if (!File.Exists(Path.Combine(bin, tool))) File.CreateSymbolicLink(Path.Combine(bin, tool), Firmware.Toolchain.Which(tool)!);
        string saved = Environment.GetEnvironmentVariable("PATH") ?? "";
        try
        {
            Environment.SetEnvironmentVariable("PATH", bin);
            AssertUserError(Run("firmware", "run", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "mps3-an547",
                "--input", Path.Combine(Golden, "digits_mlp.input.bin"), "--output", Path.Combine(_dir, "y.bin")),
                "qemu-system-arm not found", "apt-get install qemu-system-arm");
        }
        finally { Environment.SetEnvironmentVariable("PATH", saved); }
    }

    [Test]
    public void ModelLargerThanTheFlashIsAUserErrorWithTheNumbers()
    {
        RequireCrossTools();
        // A 1024 -> 640 fully connected layer: 655,360 int8 weights, more than the M55 board's 512 KB ITCM.
        const int k = 1024, n = 640;
        var rnd = new Random(8);
        var w = new float[n * k];
        for (int i = 0; i < w.Length; i++) w[i] = (float)(rnd.NextDouble() - 0.5);
        string onnx = Path.Combine(_dir, "big_fc.onnx"), calib = Path.Combine(_dir, "big_fc.calib.npy"), eqm = Path.Combine(_dir, "big_fc.eqm");
        File.WriteAllBytes(onnx, new TestModelBuilder()
            .Input("x", -1, k).Output("y", -1, n)
            .FloatInitializer("w", [n, k], w)
            .FloatInitializer("b", [n], new float[n])
            .Node("Gemm", ["x", "w", "b"], ["y"], "fc", TestModelBuilder.Attr("transB", 1L))
            .ToBytes());
        var x = new float[4 * k];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rnd.NextDouble();
        Npy.WriteFloat32(calib, x, [4, k]);
        Assert.That(Run("convert", onnx, "--calib", calib, "-o", eqm).Code, Is.EqualTo(0));
        long size = new FileInfo(eqm).Length;
        AssertUserError(Run("firmware", "build", eqm, "--board", "mps3-an547", "-o", Path.Combine(_dir, "big")),
            "does not fit mps3-an547's flash", $"{size:N0}", "524,288");
    }

    [Test]
    public void ArenaLargerThanTheRamIsAUserErrorWithTheNumbers()
    {
        RequireCrossTools();
        // Two 300,000-element activations live at once: an arena beyond the M55 board's 512 KB DTCM.
        const int k = 300_000;
        string onnx = Path.Combine(_dir, "wide.onnx"), calib = Path.Combine(_dir, "wide.calib.npy"), eqm = Path.Combine(_dir, "wide.eqm");
        File.WriteAllBytes(onnx, new TestModelBuilder()
            .Input("x", -1, k).Output("y", -1, k)
            .Node("Sigmoid", ["x"], ["y"], "s")
            .ToBytes());
        var x = new float[2 * k];
        for (int i = 0; i < x.Length; i++) x[i] = (i % 13) - 6;
        Npy.WriteFloat32(calib, x, [2, k]);
        var c = Run("convert", onnx, "--calib", calib, "-o", eqm);
        Assert.That(c.Code, Is.EqualTo(0), c.Err);
        AssertUserError(Run("firmware", "build", eqm, "--board", "mps3-an547", "-o", Path.Combine(_dir, "wide")),
            "does not fit mps3-an547's RAM", "arena", "524,288");
    }

    [Test]
    public void OutsideACheckoutTheSourcesCopiedNextToTheToolAreUsed()
    {
        string saved = Directory.GetCurrentDirectory();
        string? env = Environment.GetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR");
        try
        {
            Environment.SetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR", null);
            Directory.SetCurrentDirectory(Path.GetTempPath());
            var s = Firmware.FirmwareSources.Find(null);
            Assert.That(s.Root, Is.EqualTo(Path.Combine(AppContext.BaseDirectory, "firmware")));
            Assert.That(Firmware.Board.List(s.Boards), Is.EqualTo(new[] { "host", "mps2-an385", "mps2-an386", "mps2-an505", "mps3-an547" }));
            Assert.That(s.RuntimeSources().Select(Path.GetFileName), Is.EquivalentTo(
                Firmware.FirmwareSources.Find(Path.Combine(Repo, "firmware")).RuntimeSources().Select(Path.GetFileName)), "the copy holds every runtime source");
            foreach (var f in new[] { "layers.c", "model_bench.c", Path.Combine("plugin", "count.c") })
                Assert.That(File.Exists(Path.Combine(s.Root, "bench", f)), $"the copy holds bench/{f} for firmware bench");
            AssertUserError(Run("firmware", "build", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "host", "--firmware-dir", Path.GetTempPath()),
                "not an EdgeQuant firmware folder");
        }
        finally
        {
            Directory.SetCurrentDirectory(saved);
            Environment.SetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR", env);
        }
    }

    [Test]
    public void UnknownBoardAndBadInputsAreUserErrors()
    {
        AssertUserError(Run("firmware", "build", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "esp32"), "unknown board 'esp32'", "mps2-an386", "mps3-an547");
        AssertUserError(Run("firmware", "run", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "host"), "--input");
        AssertUserError(Run("firmware", "flash", Path.Combine(Golden, "digits_mlp.eqm")), "unknown firmware subcommand");
        string odd = Path.Combine(_dir, "odd.bin");
        File.WriteAllBytes(odd, new byte[65]);
        AssertUserError(Run("firmware", "run", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "host", "--input", odd, "--output", Path.Combine(_dir, "o.bin")),
            "65 bytes", "64 bytes");
        AssertUserError(Run("firmware", "run", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "host", "--input", Path.Combine(Zoo, "mnist_cnn.test.npy"), "--output", Path.Combine(_dir, "o.npy")),
            "does not fit model input");
    }
}
