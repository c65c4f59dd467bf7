using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.Arm;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Re-runs every *FastPathTests class of this assembly (and the dispatch probe, which checks the
/// path the dispatcher then takes) in a child process with one instruction-set family disabled,
/// so the dispatchers' lower tiers are exercised: on x64, AVX-VNNI machines fall to the VPMADDWD kernels, AVX-512
/// machines to the AVX2 ones, AVX2 machines to SSE4.1 through
/// the Vector128 primitives, then to the reference; on arm64, a CPU with the dot product
/// extension (Cortex-A76, Pi 5) falls to the SMULL/SADALP paths, then to the reference.
/// </summary>
[NonParallelizable]
public class FastPathChildProcessTests
{
    private const string Filter = "FullyQualifiedName~FastPathTests&FullyQualifiedName!~ChildProcess&FullyQualifiedName!~SpeedReport"
        + "|FullyQualifiedName~InstructionSetDispatchTests.Probe";

    /// <summary>The instruction-set switches that matter on the architecture running the tests.</summary>
    public static IEnumerable<TestCaseData> Variables()
    {
        if (RuntimeInformation.ProcessArchitecture == Architecture.Arm64)
        {
            yield return new TestCaseData("DOTNET_EnableArm64Dp");
            yield return new TestCaseData("DOTNET_EnableHWIntrinsic");
        }
        else
        {
            // .NET 10 reads DOTNET_EnableAVX512 (DOTNET_EnableAVX512F=0 leaves Avx512BW.IsSupported true there).
            yield return new TestCaseData("DOTNET_EnableAVXVNNI");
            yield return new TestCaseData("DOTNET_EnableAVX512");
            yield return new TestCaseData("DOTNET_EnableAVX2");
            yield return new TestCaseData("DOTNET_EnableHWIntrinsic");
        }
    }

    /// <summary>Every kernel test of this assembly (not only the fast-path classes).</summary>
    private const string KernelFilter = "FullyQualifiedName~EdgeQuant.Runtime.Tests.Kernels&FullyQualifiedName!~ChildProcess&FullyQualifiedName!~SpeedReport";

    /// <summary>
    /// Every kernel test again with tiered compilation off, so each kernel runs as the JIT fully optimizes it: in the
    /// main run most kernels execute as Tier-0 code, which a few calls per case never promote, while an inference loop
    /// runs the optimized code. The two differ where the JIT's optimizer or encoder is wrong: .NET 10.0.12 mis-encodes
    /// VBROADCASTI64X4 with a folded displacement (see <see cref="JitEncodingTests"/>), which only the optimized
    /// Winograd kernel hit, and the main run passed. About 20 s on a 2-core x64 machine.
    /// </summary>
    [Test]
    public void KernelTestsPassFullyOptimized()
    {
        if (ChildTestRun.InChild)
            Assert.Ignore("running inside a child process already");
        // Under qemu every kernel test fully optimized takes about three minutes per CPU model (171 s on cortex-a76 against 99 s
        // tiered, where the JIT's optimizing passes are emulated too). Both emulated runs (tools/arm64-tests) run the fast-path
        // classes fully optimized instead: the SIMD kernels, the A76's SDOT paths and the A72's SMULL/SADALP paths (the Pi 4's
        // code), about 100 s each. Run by hand, both emulated CPUs pass every kernel test fully optimized.
        var r = ChildTestRun.Emulated
            ? ChildTestRun.Run(Filter, new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }, TimeSpan.FromMinutes(15))
            : ChildTestRun.Run(KernelFilter, new Dictionary<string, string> { ["DOTNET_TieredCompilation"] = "0" }, TimeSpan.FromMinutes(5));
        TestContext.Out.WriteLine($"DOTNET_TieredCompilation=0: failed {r.Failed}, passed {r.Passed}, skipped {r.Skipped}, total {r.Total}");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Output);
        Assert.That(r.Failed, Is.EqualTo(0), r.Output);
        Assert.That(r.Passed, Is.GreaterThan(ChildTestRun.Emulated ? 500 : 1000), r.Output);
    }

    [TestCaseSource(nameof(Variables))]
    public void FastPathTestsPassWithAnInstructionSetDisabled(string variable)
    {
        if (ChildTestRun.InChild)
            Assert.Ignore("running inside a child process already");
        if (variable == "DOTNET_EnableAVXVNNI" && !System.Runtime.Intrinsics.X86.AvxVnni.IsSupported)
            Assert.Ignore("this CPU has no AVX-VNNI: the main run already takes the VPMADDWD paths");
        if (variable == "DOTNET_EnableAVX512" && !System.Runtime.Intrinsics.X86.Avx512BW.IsSupported)
            Assert.Ignore("this CPU has no AVX-512: the main run already takes the AVX2 paths");
        if (variable == "DOTNET_EnableArm64Dp" && !Dp.IsSupported)
            Assert.Ignore("this CPU has no dot product extension: the main run already takes the non-Dp paths");
        // Under qemu every case costs minutes; tools/arm64-tests runs the suite as a Cortex-A76 and a Cortex-A72 at the same
        // time, so each child runs in one of them: Dp=0 in neither (the A72's main run takes the non-Dp paths), and
        // HWIntrinsic=0, where both CPUs run the same code (no AdvSimd, no Dp), in the A76 run, since the A72 run is the
        // longer one (no SDOT: more instructions per kernel). Both carry the fully optimized child (KernelTestsPassFullyOptimized).
        if (ChildTestRun.Emulated && variable == "DOTNET_EnableArm64Dp")
            Assert.Ignore("emulated Cortex-A76 run: the cortex-a72 run of tools/arm64-tests takes the non-Dp paths in its main run");
        if (ChildTestRun.Emulated && variable == "DOTNET_EnableHWIntrinsic" && !Dp.IsSupported)
            Assert.Ignore("emulated Cortex-A72 run: the cortex-a76 run of tools/arm64-tests covers DOTNET_EnableHWIntrinsic=0 (the same code on both CPUs)");
        // Emulated arm64 runs every kernel 10-50x slower than native.
        var timeout = TimeSpan.FromMinutes(ChildTestRun.Emulated ? 15 : 3);
        var r = ChildTestRun.Run(Filter, new Dictionary<string, string> { [variable] = "0" }, timeout);
        TestContext.Out.WriteLine($"{variable}=0: failed {r.Failed}, passed {r.Passed}, skipped {r.Skipped}, total {r.Total}");
        Assert.That(r.ExitCode, Is.EqualTo(0), r.Output);
        Assert.That(r.Failed, Is.EqualTo(0), r.Output);
        Assert.That(r.Passed, Is.GreaterThan(0), r.Output);
    }
}
