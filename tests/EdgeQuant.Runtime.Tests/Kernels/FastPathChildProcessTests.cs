using System.Diagnostics;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Re-runs every *FastPathTests class of this assembly in a child `dotnet test` with one
/// instruction-set family disabled, so the dispatchers' lower tiers (SSE4.1 through the Vector128
/// primitives, then the reference) are exercised on an AVX2 machine.
/// </summary>
[NonParallelizable]
public partial class FastPathChildProcessTests
{
    private const string ChildMarker = "EDGEQUANT_FASTPATH_CHILD";

    [GeneratedRegex(@"Failed:\s+(\d+), Passed:\s+(\d+), Skipped:\s+(\d+), Total:\s+(\d+)")]
    private static partial Regex Summary();

    [TestCase("DOTNET_EnableAVX512F")]
    [TestCase("DOTNET_EnableAVX2")]
    [TestCase("DOTNET_EnableHWIntrinsic")]
    public void FastPathTestsPassWithAnInstructionSetDisabled(string variable)
    {
        if (Environment.GetEnvironmentVariable(ChildMarker) == "1")
            Assert.Ignore("running inside a child process already");
        string dll = typeof(FastPathChildProcessTests).Assembly.Location;
        string work = Directory.CreateTempSubdirectory("edgequant-child-").FullName;
        try
        {
            var psi = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
            {
                WorkingDirectory = work,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string a in new[] { "test", dll, "--nologo", "--filter", "FullyQualifiedName~FastPathTests&FullyQualifiedName!~ChildProcess&FullyQualifiedName!~SpeedReport" })
                psi.ArgumentList.Add(a);
            psi.Environment[variable] = "0";
            psi.Environment[ChildMarker] = "1";
            using var child = Process.Start(psi)!;
            var stderr = child.StandardError.ReadToEndAsync();
            string stdout = child.StandardOutput.ReadToEnd();
            if (!child.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                child.Kill(entireProcessTree: true);
                Assert.Fail($"the child with {variable}=0 did not finish in 3 minutes");
            }
            var m = Summary().Match(stdout);
            Assert.That(m.Success, Is.True, $"no summary from the child with {variable}=0:\n{stdout}\n{stderr.Result}");
            TestContext.Out.WriteLine($"{variable}=0: failed {m.Groups[1].Value}, passed {m.Groups[2].Value}, skipped {m.Groups[3].Value}, total {m.Groups[4].Value}");
            Assert.That(child.ExitCode, Is.EqualTo(0), stdout);
            Assert.That(int.Parse(m.Groups[1].Value), Is.EqualTo(0), stdout);
            Assert.That(int.Parse(m.Groups[2].Value), Is.GreaterThan(0), stdout);
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
