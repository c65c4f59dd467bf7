using System.Diagnostics;
using EdgeQuant.Converter.IO;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Export;

/// <summary>
/// Runs ONNX models with onnxruntime-node through bench/ort/ort_run.js. onnxruntime-node comes
/// from EDGEQUANT_ORT_NODE_MODULES (a node_modules folder holding onnxruntime-node) or else
/// bench/ort/node_modules; node from EDGEQUANT_NODE or else `node` on PATH. A missing install
/// fails the test with the command that installs it.
/// </summary>
internal static class OrtNode
{
    public const string InstallCommand = "cd bench/ort && ONNXRUNTIME_NODE_INSTALL=skip npm install onnxruntime-node@1.30.0";

    private static readonly Lazy<string?> Root = new(FindRoot);

    /// <summary>The repository root (the folder holding EdgeQuant.sln).</summary>
    public static string RepoRoot => Root.Value ?? throw new AssertionException(
        $"repository root (EdgeQuant.sln) not found above {TestContext.CurrentContext.TestDirectory}");

    public static string Zoo => Path.Combine(RepoRoot, "tests", "zoo");

    private static string Script => Path.Combine(RepoRoot, "bench", "ort", "ort_run.js");

    private static string? ExplicitNodeModules => Environment.GetEnvironmentVariable("EDGEQUANT_ORT_NODE_MODULES") is { Length: > 0 } v ? v : null;

    private static string NodeModules => ExplicitNodeModules ?? Path.Combine(RepoRoot, "bench", "ort", "node_modules");

    private static string NodeExecutable => Environment.GetEnvironmentVariable("EDGEQUANT_NODE") is { Length: > 0 } v ? v : "node";

    /// <summary>Fails the test, saying how to install onnxruntime-node, when it is not installed.</summary>
    public static void RequireInstalled()
    {
        string package = Path.Combine(NodeModules, "onnxruntime-node", "package.json");
        if (!File.Exists(package))
            Assert.Fail($"onnxruntime-node is not installed (looked for {package}). Install it with\n    {InstallCommand}\n" +
                "from the repository root, or point EDGEQUANT_ORT_NODE_MODULES at a node_modules folder that holds onnxruntime-node@1.30.0.");
    }

    /// <summary>
    /// Runs <paramref name="model"/> on the first <paramref name="first"/> samples of the float32
    /// .npy <paramref name="input"/> in batches of <paramref name="batch"/> (default: all at once)
    /// and returns the first output, flattened, with its shape. With <paramref name="outputsDir"/>
    /// every output is also written there as &lt;name&gt;.npy (float32).
    /// </summary>
    public static float[] Run(string model, string input, int first, out int[] shape, int? batch = null, string opt = "all", string? outputsDir = null)
    {
        RequireInstalled();
        string output = Path.Combine(Path.GetDirectoryName(model)!, Path.GetFileNameWithoutExtension(model) + $".ort_{opt}.npy");
        var psi = new ProcessStartInfo(NodeExecutable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { Script, "--model", model, "--input", input, "--first", first.ToString(), "--out", output, "--opt", opt })
            psi.ArgumentList.Add(a);
        if (batch is { } b) { psi.ArgumentList.Add("--batch"); psi.ArgumentList.Add(b.ToString()); }
        if (outputsDir is not null) { psi.ArgumentList.Add("--outputs-dir"); psi.ArgumentList.Add(outputsDir); }
        if (ExplicitNodeModules is { } nm) psi.Environment["NODE_PATH"] = nm;
        Process p;
        try
        {
            p = Process.Start(psi) ?? throw new InvalidOperationException("Process.Start returned null");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            Assert.Fail($"cannot start '{NodeExecutable}' ({e.Message}); install Node.js 20+ or set EDGEQUANT_NODE to its path");
            throw;
        }
        using (p)
        {
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                p.Kill(entireProcessTree: true);
                Assert.Fail($"{Script} did not finish within 3 minutes");
            }
            p.WaitForExit();
            if (p.ExitCode != 0)
                Assert.Fail($"{Script} failed (exit code {p.ExitCode}) on {model}:\n{stderr.Result}\n{stdout.Result}");
        }
        var y = Npy.Read(output);
        shape = y.Shape;
        return y.Floats ?? throw new AssertionException($"{output}: expected float32 output");
    }

    private static string? FindRoot()
    {
        for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
            if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return d.FullName;
        return null;
    }
}
