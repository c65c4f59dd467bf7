using System.Text.Json;
using EdgeQuant.Runtime;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// <c>edgequant firmware bench</c>: both forms on the M4 and the M55 (the layer bench and a small
/// zoo model), their structure, run-to-run determinism, the per-op counts against the
/// per-inference count, the sizes against <c>firmware build</c>, and the user errors. Shares the
/// fixture (and its private object cache) with the other firmware command tests.
/// </summary>
public partial class FirmwareCommandTests
{
    /// <summary>
    /// eq_invoke's own instructions beyond its ops (its argument checks, loop and calls, less the
    /// bench runner's per-op call sequence): docs/firmware.md documents at most 32 + 16 per op
    /// (measured 15 + 10 per op at -Os on every board).
    /// </summary>
    private static long MaxInvokeOverhead(int ops) => 32 + 16L * ops;

    private static readonly Dictionary<string, (long Macs, double M4, double M55)> IssueLayers = new()
    {
        ["conv3x3"] = (903_168, 2.14, 0.33),
        ["conv1x1"] = (401_408, 2.71, 0.61),
        ["depthwise3x3"] = (56_448, 8.74, 2.69),
        ["fully_connected"] = (16_384, 2.08, 0.53),
    };

    private static void RequireCountingTools()
    {
        RequireCrossTools();
        if (Firmware.Toolchain.Which("arm-none-eabi-nm") is null) Assert.Ignore("arm-none-eabi-nm is not installed (CI installs it through .ci/run)");
        if (Firmware.Toolchain.Which("cc") is null && Firmware.Toolchain.Which("gcc") is null && Firmware.Toolchain.Which("clang") is null)
            Assert.Ignore("no host C compiler for the qemu counting plugin");
    }

    [TestCase("mps2-an386", "Cortex-M4")]
    [TestCase("mps3-an547", "Cortex-M55")]
    public void LayerBenchCountsTheIssueLayersDeterministically(string board, string core)
    {
        RequireCountingTools();
        var first = Run("firmware", "bench", "--layers", "--board", board, "--json");
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        var second = Run("firmware", "bench", "--layers", "--board", board, "--json");
        Assert.That(second.Code, Is.EqualTo(0), second.Err);
        Assert.That(second.Out, Is.EqualTo(first.Out), "the same counts run to run");

        using var j = JsonDocument.Parse(first.Out);
        var root = j.RootElement;
        Assert.That(root.GetProperty("board").GetString(), Is.EqualTo(board));
        Assert.That(root.GetProperty("core").GetString(), Is.EqualTo(core));
        Assert.That(root.GetProperty("optimization").GetString(), Is.EqualTo("-Os"));
        var layers = root.GetProperty("layers");
        Assert.That(layers.EnumerateObject().Select(p => p.Name), Is.EqualTo(IssueLayers.Keys), "keyed as issue 8, in its order");
        Assert.Multiple(() =>
        {
            foreach (var (key, want) in IssueLayers)
            {
                var l = layers.GetProperty(key);
                long macs = l.GetProperty("macs").GetInt64(), n = l.GetProperty("instructions").GetInt64(), rn = l.GetProperty("reference_instructions").GetInt64();
                Assert.That(macs, Is.EqualTo(want.Macs), key);
                Assert.That(n, Is.GreaterThan(0), key);
                Assert.That(l.GetProperty("instructions_per_mac").GetDouble(), Is.EqualTo((double)n / macs).Within(1e-4), key);
                Assert.That(l.GetProperty("cmsis_nn_v7_instructions_per_mac").GetDouble(), Is.EqualTo(core == "Cortex-M4" ? want.M4 : want.M55), key);
                // Both cores have optimized kernels for all four layers: fewer instructions than the plain loop nest.
                Assert.That(rn, Is.GreaterThan(n), key + ": the reference kernel");
                Assert.That(l.GetProperty("stack_bytes").GetInt64(), Is.InRange(1, 16384), key);
            }
        });

        var text = Run("firmware", "bench", "--layers", "--board", board);
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        foreach (var key in IssueLayers.Keys)
            Assert.That(text.Out, Does.Contain(key));
    }

    [TestCase("mps2-an386", "digits_mlp", 3)]
    [TestCase("mps3-an547", "mnist_cnn", 1)]
    public void ModelBenchCountsEveryOpAndTheInferenceDeterministically(string board, string name, int samples)
    {
        RequireCountingTools();
        string model = Path.Combine(Golden, name + ".eqm");
        string[] args = ["firmware", "bench", model, "--board", board, "--samples", samples.ToString(), "--input", Path.Combine(Golden, name + ".input.bin"), "--json"];
        var first = Run(args);
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        var second = Run(args);
        Assert.That(second.Code, Is.EqualTo(0), second.Err);

        using var j1 = JsonDocument.Parse(first.Out);
        using var j2 = JsonDocument.Parse(second.Out);
        var root = j1.RootElement;
        var ops = root.GetProperty("ops").EnumerateArray().ToArray();
        var inference = root.GetProperty("per_inference");
        Assert.That(j2.RootElement.GetProperty("ops").GetRawText(), Is.EqualTo(root.GetProperty("ops").GetRawText()), "per-op counts run to run");
        Assert.That(j2.RootElement.GetProperty("per_inference").GetRawText(), Is.EqualTo(inference.GetRawText()), "per-inference counts run to run");

        var m = Model.LoadFile(model);
        Assert.That(root.GetProperty("samples").GetInt32(), Is.EqualTo(samples));
        Assert.That(ops, Has.Length.EqualTo(m.Ops.Count));
        double sum = 0;
        long macs = 0;
        Assert.Multiple(() =>
        {
            for (int k = 0; k < ops.Length; k++)
            {
                var o = ops[k];
                Assert.That(o.GetProperty("index").GetInt32(), Is.EqualTo(k));
                Assert.That(o.GetProperty("op").GetString(), Is.EqualTo(m.Ops[k].Type.ToString()));
                long opMacs = o.GetProperty("macs").GetInt64();
                Assert.That(opMacs, Is.EqualTo(Benchmark.Macs(m, m.Ops[k])));
                double n = o.GetProperty("instructions").GetDouble();
                Assert.That(n, Is.GreaterThan(0), $"op {k}");
                Assert.That(n, Is.InRange(o.GetProperty("instructions_min").GetInt64(), o.GetProperty("instructions_max").GetInt64()), $"op {k}: mean within min..max");
                if (opMacs > 0) Assert.That(o.GetProperty("instructions_per_mac").GetDouble(), Is.EqualTo(n / opMacs).Within(1e-4));
                else Assert.That(o.GetProperty("instructions_per_mac").ValueKind, Is.EqualTo(JsonValueKind.Null));
                sum += n;
                macs += opMacs;
            }
        });
        double total = inference.GetProperty("instructions").GetDouble();
        Assert.That(inference.GetProperty("sum_of_ops").GetDouble(), Is.EqualTo(sum).Within(1e-6));
        Assert.That(inference.GetProperty("macs").GetInt64(), Is.EqualTo(macs));
        Assert.That(total - sum, Is.InRange(0, MaxInvokeOverhead(ops.Length)), "the per-op counts add up to one eq_invoke within its documented loop overhead");
        Assert.That(inference.GetProperty("eq_invoke_overhead").GetDouble(), Is.EqualTo(total - sum).Within(1e-6));

        // The sizes are those `firmware build` reports for the same model and board.
        var b = Run("firmware", "build", model, "--board", board, "-o", Path.Combine(_dir, $"bench-build-{board}-{name}"), "--json");
        Assert.That(b.Code, Is.EqualTo(0), b.Err);
        using var jb = JsonDocument.Parse(b.Out);
        foreach (var field in new[] { "code_bytes", "image_code_bytes", "model_bytes", "ram_bytes", "arena_bytes", "runtime_ram_bytes", "stack_bytes", "flash_used_bytes" })
            Assert.That(root.GetProperty(field).GetInt64(), Is.EqualTo(jb.RootElement.GetProperty(field).GetInt64()), field);
    }

    [Test]
    public void ModelBenchWithoutInputUsesTheSameSeededInputEveryRun()
    {
        RequireCountingTools();
        string model = Path.Combine(Golden, "quirk_mlp_softmax.eqm");
        var first = Run("firmware", "bench", model, "--board", "mps2-an386", "--samples", "2", "--json");
        Assert.That(first.Code, Is.EqualTo(0), first.Err);
        var second = Run("firmware", "bench", model, "--board", "mps2-an386", "--samples", "2", "--json");
        Assert.That(second.Code, Is.EqualTo(0), second.Err);
        using var j1 = JsonDocument.Parse(first.Out);
        using var j2 = JsonDocument.Parse(second.Out);
        Assert.That(j2.RootElement.GetProperty("ops").GetRawText(), Is.EqualTo(j1.RootElement.GetProperty("ops").GetRawText()));
        Assert.That(j1.RootElement.GetProperty("input").GetString(), Does.Contain("seeded"));
        var text = Run("firmware", "bench", model, "--board", "mps2-an386");
        Assert.That(text.Code, Is.EqualTo(0), text.Err);
        Assert.That(text.Out, Does.Contain("per inference").And.Contain("Softmax").And.Contain("stack_bytes"));
    }

    [Test]
    public void ModelBenchRefusesToCountOutputsThatDifferFromTheCsharpRuntime()
    {
        RequireCountingTools();
        string fw = SabotagedFirmware();
        AssertUserError(Run("firmware", "bench", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "mps2-an386", "--firmware-dir", fw),
            "differs from the C# runtime's", "the counts are not reported");
    }

    /// <summary>
    /// A copy of the firmware (once per fixture) whose FullyConnected dispatcher flips one output bit after the real kernel.
    /// </summary>
    private string SabotagedFirmware()
    {
        string fw = Path.Combine(_dir, "sabotaged-firmware");
        if (Directory.Exists(fw)) return fw;
        foreach (var f in Directory.GetFiles(Path.Combine(Repo, "firmware"), "*", SearchOption.AllDirectories))
        {
            string rel = Path.GetRelativePath(Path.Combine(Repo, "firmware"), f);
            if (rel.StartsWith("build", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(fw, rel))!);
            File.Copy(f, Path.Combine(fw, rel), true);
        }
        string fc = Path.Combine(fw, "src", "kernels", "fully_connected_s8.c");
        var definition = new System.Text.RegularExpressions.Regex(@"\bvoid eq_fully_connected_s8\(const eq_fc_params \*p\)\s*\{");
        string src = File.ReadAllText(fc);
        Assert.That(definition.IsMatch(src), "the dispatcher eq_fully_connected_s8 is defined in fully_connected_s8.c");
        File.WriteAllText(fc, definition.Replace(src, """
            static void eq_fc_unsabotaged(const eq_fc_params *p);
            void eq_fully_connected_s8(const eq_fc_params *p)
            {
                eq_fc_unsabotaged(p);
                p->output[0] ^= 1;
            }
            static void eq_fc_unsabotaged(const eq_fc_params *p)
            {
            """, 1));
        return fw;
    }

    [Test]
    public void BenchUserErrors()
    {
        string model = Path.Combine(Golden, "digits_mlp.eqm");
        AssertUserError(Run("firmware", "bench", model, "--board", "host"), "instruction counting needs a qemu board", "mps2-an386");
        AssertUserError(Run("firmware", "bench", "--layers", "--board", "host"), "instruction counting needs a qemu board");
        AssertUserError(Run("firmware", "bench", "--layers", model, "--board", "mps2-an386"), "takes no model");
        AssertUserError(Run("firmware", "bench", "--layers", "--board", "mps2-an386", "--opt", "O9"), "--opt 'O9'");
        AssertUserError(Run("firmware", "bench", model, "--board", "mps2-an386", "--samples", "0"), "--samples");
        AssertUserError(Run("firmware", "bench", "--board", "mps2-an386"), "MODEL.eqm");
        RequireCountingTools();
        // digits_mlp has 2 ops: 6 marks per sample, the plugin keeps 4096.
        AssertUserError(Run("firmware", "bench", model, "--board", "mps2-an386", "--samples", "700"), "marks", "at most 682 samples");
        AssertUserError(Run("firmware", "bench", model, "--board", "mps2-an386", "--samples", "600", "--input", Path.Combine(Golden, "digits_mlp.input.bin")),
            "more samples than the file holds (540)");
    }

    [Test]
    public void MissingNmOrPluginCompilerNamesTheDebianPackage()
    {
        RequireCountingTools();
        // The cross compiler, objcopy and qemu, but neither arm-none-eabi-nm nor a host C compiler.
        string bin = Directory.CreateDirectory(Path.Combine(_dir, "no-host-cc-path")).FullName;
        foreach (var tool in new[] { "arm-none-eabi-gcc", "arm-none-eabi-objcopy", "qemu-system-arm" })
            if (!File.Exists(Path.Combine(bin, tool))) File.CreateSymbolicLink(Path.Combine(bin, tool), Firmware.Toolchain.Which(tool)!);
        string nm = Firmware.Toolchain.Which("arm-none-eabi-nm")!, nmLink = Path.Combine(bin, "arm-none-eabi-nm");
        if (File.Exists(nmLink)) File.Delete(nmLink);
        string saved = Environment.GetEnvironmentVariable("PATH") ?? "";
        try
        {
            Environment.SetEnvironmentVariable("PATH", bin);
            AssertUserError(Run("firmware", "bench", "--layers", "--board", "mps2-an386"), "arm-none-eabi-nm not found", "binutils-arm-none-eabi");
            File.CreateSymbolicLink(nmLink, nm);
            AssertUserError(Run("firmware", "bench", Path.Combine(Golden, "digits_mlp.eqm"), "--board", "mps2-an386"),
                "no host C compiler", "counting plugin", "apt-get install gcc");
        }
        finally { Environment.SetEnvironmentVariable("PATH", saved); }
    }

    [Test]
    public void HelpShowsBothBenchForms()
    {
        var r = Run("--help");
        Assert.That(r.Code, Is.EqualTo(0));
        Assert.That(r.Out, Does.Contain("edgequant firmware bench --layers --board BOARD"));
        Assert.That(r.Out, Does.Contain("edgequant firmware bench MODEL.eqm --board BOARD [--samples N]"));
    }
}
