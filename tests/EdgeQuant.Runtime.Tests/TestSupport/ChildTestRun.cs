using System.Diagnostics;
using System.Text.RegularExpressions;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// Runs a filtered subset of this test assembly in a child process with extra environment
/// variables (e.g. an instruction set disabled). Works in both ways this assembly is run:
/// under `dotnet test` (VSTest; the child is `dotnet test this.dll`) and as the self-contained
/// Microsoft.Testing.Platform executable of tests/EdgeQuant.Runtime.Tests.Arm64 (the child is the
/// executable itself). Under qemu-aarch64 (tools/arm64-tests) EDGEQUANT_QEMU holds the emulator
/// command line (e.g. "qemu-aarch64 -cpu cortex-a76 -L /usr/aarch64-linux-gnu"); the child is
/// started through it, since the host cannot execute an arm64 binary by itself.
/// </summary>
internal static partial class ChildTestRun
{
    /// <summary>Set to 1 in every child, so tests that spawn children do not recurse.</summary>
    public const string ChildMarker = "EDGEQUANT_FASTPATH_CHILD";

    public const string QemuVariable = "EDGEQUANT_QEMU";

    public sealed record Result(int Failed, int Passed, int Skipped, int Total, int ExitCode, string Output);

    public static bool InChild => Environment.GetEnvironmentVariable(ChildMarker) == "1";

    public static bool Emulated => !string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(QemuVariable));

    [GeneratedRegex(@"Failed:\s+(\d+), Passed:\s+(\d+), Skipped:\s+(\d+), Total:\s+(\d+)")]
    private static partial Regex VsTestSummary();

    [GeneratedRegex(@"total:\s+(\d+)\s+failed:\s+(\d+)\s+succeeded:\s+(\d+)\s+skipped:\s+(\d+)")]
    private static partial Regex PlatformSummary();

    /// <summary>
    /// True when this process is the test executable (Microsoft.Testing.Platform: this assembly is
    /// the entry assembly) rather than a VSTest host. <paramref name="exe"/> is the executable's path
    /// (not Environment.ProcessPath, which names qemu when emulated).
    /// </summary>
    private static bool IsTestExecutable(out string exe)
    {
        string assembly = typeof(ChildTestRun).Assembly.GetName().Name!;
        exe = Path.Combine(AppContext.BaseDirectory, assembly);
        return System.Reflection.Assembly.GetEntryAssembly()?.GetName().Name == assembly;
    }

    /// <summary>
    /// Runs the tests matching <paramref name="filter"/> (VSTest filter syntax, which both runners
    /// accept) with <paramref name="environment"/> added; fails the calling test if the child
    /// produced no summary or did not finish within <paramref name="timeout"/>.
    /// </summary>
    public static Result Run(string filter, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        string work = Directory.CreateTempSubdirectory("edgequant-child-").FullName;
        try
        {
            var args = new List<string>();
            string program;
            if (IsTestExecutable(out string exe))
            {
                string[] qemu = (Environment.GetEnvironmentVariable(QemuVariable) ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
                program = qemu.Length > 0 ? qemu[0] : exe;
                if (qemu.Length > 0) { args.AddRange(qemu.Skip(1)); args.Add(exe); }
                args.AddRange(["--filter", filter, "--progress", "off", "--no-ansi", "--results-directory", work]);
            }
            else
            {
                program = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";
                args.AddRange(["test", typeof(ChildTestRun).Assembly.Location, "--nologo", "--filter", filter]);
            }
            var psi = new ProcessStartInfo(program)
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in args) psi.ArgumentList.Add(a);
            foreach (var (k, v) in environment) psi.Environment[k] = v;
            psi.Environment[ChildMarker] = "1";
            string described = string.Join(" ", environment.Select(kv => $"{kv.Key}={kv.Value}"));
            using var child = Process.Start(psi)!;
            var stderr = child.StandardError.ReadToEndAsync();
            var stdoutTask = child.StandardOutput.ReadToEndAsync();
            if (!child.WaitForExit(timeout))
            {
                child.Kill(entireProcessTree: true);
                Assert.Fail($"the child with {described} did not finish in {timeout.TotalMinutes} minutes");
            }
            string stdout = stdoutTask.Result;
            var m = VsTestSummary().Match(stdout);
            if (m.Success)
                return new Result(int.Parse(m.Groups[1].Value), int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value),
                    int.Parse(m.Groups[4].Value), child.ExitCode, stdout);
            m = PlatformSummary().Match(stdout);
            if (m.Success)
                return new Result(int.Parse(m.Groups[2].Value), int.Parse(m.Groups[3].Value), int.Parse(m.Groups[4].Value),
                    int.Parse(m.Groups[1].Value), child.ExitCode, stdout);
            Assert.Fail($"no test summary from the child ({program} {string.Join(" ", args)}) with {described}:\n{stdout}\n{stderr.Result}");
            return null!;
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
