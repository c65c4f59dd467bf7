using System.Runtime;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.Arm;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Kernels;
using EdgeQuant.Runtime.Kernels.Simd;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Kernels;

/// <summary>
/// Which instruction sets this process sees, and which inner-product path the dispatchers really
/// take with them. The choice is observed, not recomputed: in a fresh child process the probe runs
/// the FullyConnected dispatcher once, then calls every strategy directly and counts the methods the
/// JIT compiles for each call (<see cref="JitInfo.GetCompiledMethodCount"/>). Only the strategy the
/// dispatcher already ran needs no compilation.
/// </summary>
[NonParallelizable]
public class InstructionSetDispatchTests
{
    /// <summary>tools/arm64-tests sets this to 1 (cortex-a76, Pi 5) or 0 (cortex-a72, Pi 4).</summary>
    private const string ExpectDpVariable = "EDGEQUANT_EXPECT_DP";
    private const string ProbeMarker = "EDGEQUANT_DISPATCH_PROBE";

    private static string Features() =>
        $"{RuntimeInformation.ProcessArchitecture}: Vector128.IsHardwareAccelerated {Vector128.IsHardwareAccelerated}, " +
        $"AdvSimd.IsSupported {AdvSimd.IsSupported}, AdvSimd.Arm64.IsSupported {AdvSimd.Arm64.IsSupported}, Dp.IsSupported {Dp.IsSupported}, " +
        $"Rdm.IsSupported {Rdm.IsSupported}, Sse41.IsSupported {Sse41.IsSupported}, Avx2.IsSupported {Avx2.IsSupported}, " +
        $"AvxVnni.IsSupported {AvxVnni.IsSupported}, Avx512BW.IsSupported {Avx512BW.IsSupported}";

    [Test]
    public void Arm64SeesTheInstructionSetsOfItsCpu()
    {
        TestContext.Out.WriteLine(Features());
        if (RuntimeInformation.ProcessArchitecture != Architecture.Arm64)
            Assert.Ignore($"not arm64 ({Features()})");
        Assert.Multiple(() =>
        {
            Assert.That(AdvSimd.IsSupported, Is.True, "AdvSimd (NEON) is part of every arm64 CPU");
            Assert.That(AdvSimd.Arm64.IsSupported, Is.True);
            Assert.That(Vector128.IsHardwareAccelerated, Is.True);
            Assert.That(Avx2.IsSupported, Is.False);
        });
        string? expectDp = Environment.GetEnvironmentVariable(ExpectDpVariable);
        if (expectDp is null)
            Assert.Ignore($"{ExpectDpVariable} is not set, so whether this CPU should have the dot product extension is unknown ({Features()})");
        Assert.That(Dp.IsSupported, Is.EqualTo(expectDp == "1"), $"{ExpectDpVariable}={expectDp}: {Features()}");
    }

    /// <summary>Instruction-set switches under which the probe runs, per architecture ("" = none).</summary>
    public static IEnumerable<TestCaseData> Switches()
    {
        yield return new TestCaseData("").SetName("DispatcherTakesTheExpectedPath(all enabled)");
        string[] off = RuntimeInformation.ProcessArchitecture == Architecture.Arm64
            ? ["DOTNET_EnableArm64Dp", "DOTNET_EnableHWIntrinsic"]
            : System.Runtime.Intrinsics.X86.AvxVnni.IsSupported
                ? ["DOTNET_EnableAVXVNNI", "DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic"]
                : ["DOTNET_EnableAVX2", "DOTNET_EnableHWIntrinsic"];
        foreach (var v in off) yield return new TestCaseData(v).SetName($"DispatcherTakesTheExpectedPath({v}=0)");
    }

    [TestCaseSource(nameof(Switches))]
    public void DispatcherTakesTheExpectedPath(string disabled)
    {
        if (ChildTestRun.InChild)
            Assert.Ignore("running inside a child process already");
        if (disabled == "DOTNET_EnableArm64Dp" && !Dp.IsSupported)
            Assert.Ignore("this CPU has no dot product extension: the all-enabled case already covers it");
        // Under qemu the reference-only child costs minutes; tools/arm64-tests runs it in its Cortex-A72 run.
        if (disabled == "DOTNET_EnableHWIntrinsic" && ChildTestRun.Emulated && Dp.IsSupported)
            Assert.Ignore("emulated Cortex-A76 run: the cortex-a72 run of tools/arm64-tests covers DOTNET_EnableHWIntrinsic=0");
        // Tiered compilation as by default (methods start unoptimized, so nothing the dispatcher
        // calls is inlined into it), whatever this process was started with.
        var env = new Dictionary<string, string> { [ProbeMarker] = "1", ["DOTNET_TieredCompilation"] = "1", ["DOTNET_TC_QuickJitForLoops"] = "1" };
        if (disabled.Length > 0) env[disabled] = "0";
        var r = ChildTestRun.Run("FullyQualifiedName~InstructionSetDispatchTests.Probe", env, TimeSpan.FromMinutes(ChildTestRun.Emulated ? 5 : 2));
        Assert.That(r.Failed, Is.EqualTo(0), r.Output);
        Assert.That(r.Passed, Is.EqualTo(1), r.Output);
        foreach (string line in r.Output.Split('\n'))
            if (line.StartsWith("expected ", StringComparison.Ordinal)) TestContext.Out.WriteLine(line.TrimEnd());
    }

    /// <summary>The path the dispatchers must take with the instruction sets this process has (README's dispatch order).</summary>
    private static string ExpectedStrategy() =>
        Avx2.IsSupported ? (AvxVnni.IsSupported ? nameof(AvxVnniDot) : nameof(Avx2Dot))
        : Vector128.IsHardwareAccelerated ? (Dp.IsSupported ? nameof(SdotDot) : nameof(SmullDot))
        : "reference";

    private static long Compiled() => JitInfo.GetCompiledMethodCount(currentThread: true);

    /// <summary>Runs only in the fresh child started by <see cref="DispatcherTakesTheExpectedPath"/>.</summary>
    [Test]
    public void Probe()
    {
        if (Environment.GetEnvironmentVariable(ProbeMarker) != "1")
            Assert.Ignore("runs only in a fresh child process started by DispatcherTakesTheExpectedPath (it needs a JIT that has compiled no kernel yet)");
        var r = new Random(9);
        const int cin = 40, cout = 8, batches = 2;
        var p = new FullyConnectedParams { InputOffset = 3, OutputOffset = -5, FoldedBiasOffset = -1, ActivationMin = -128, ActivationMax = 127 };
        var input = FastPathCases.S8(r, batches * cin);
        var filter = FastPathCases.S8(r, cout * cin, -127, 127);
        var bias = FastPathCases.I32(r, cout, -5000, 5000);
        var m = FastPathCases.Multipliers(r, cout);
        var sh = FastPathCases.I32(r, cout, -9, -6);
        var viaDispatcher = new sbyte[batches * cout];
        var direct = new sbyte[batches * cout];
        var expected = new sbyte[batches * cout];
        FullyConnected.EvalS8Reference(p, input, batches, cin, filter, cout, bias, m, sh, expected);
        FullyConnected.EvalS8(p, input, batches, cin, filter, cout, bias, m, sh, viaDispatcher);
        Assert.That(viaDispatcher, Is.EqualTo(expected), "the dispatcher against the reference");
        var pf = FullyConnected.Prepare(p, filter, cin, cout, bias);
        // The dispatcher again over the prepared filter, twice: what a kernel compiles on first use of a prepared op
        // (its requantization table, then the table's cache check) is then compiled before the count starts.
        for (int i = 0; i < 2; i++)
        {
            FullyConnected.EvalS8(p, input, batches, cin, filter, cout, bias, pf, m, sh, viaDispatcher);
            Assert.That(viaDispatcher, Is.EqualTo(expected), "the dispatcher over the prepared filter against the reference");
        }
        Compiled();

        // Each strategy called directly: explicit instantiations in this method's body (a generic helper
        // would itself need compiling per strategy and spoil the count).
        var jitted = new Dictionary<string, long>();
        long before;
        if (Avx2.IsSupported)
        {
            before = Compiled();
            FullyConnected.EvalS8Fast<Avx2Dot>(p, input, batches, cin, filter, pf, m, sh, direct);
            jitted[nameof(Avx2Dot)] = Compiled() - before;
            Assert.That(direct, Is.EqualTo(expected), nameof(Avx2Dot));
            before = Compiled();
            FullyConnected.EvalS8Fast<AvxVnniDot>(p, input, batches, cin, filter, pf, m, sh, direct);
            jitted[nameof(AvxVnniDot)] = Compiled() - before;
            Assert.That(direct, Is.EqualTo(expected), nameof(AvxVnniDot));
        }
        before = Compiled();
        FullyConnected.EvalS8Fast<SdotDot>(p, input, batches, cin, filter, pf, m, sh, direct);
        jitted[nameof(SdotDot)] = Compiled() - before;
        Assert.That(direct, Is.EqualTo(expected), nameof(SdotDot));
        before = Compiled();
        FullyConnected.EvalS8Fast<SmullDot>(p, input, batches, cin, filter, pf, m, sh, direct);
        jitted[nameof(SmullDot)] = Compiled() - before;
        Assert.That(direct, Is.EqualTo(expected), nameof(SmullDot));

        string want = ExpectedStrategy();
        string report = $"expected {want}; methods compiled per direct call: " + string.Join(", ", jitted.Select(kv => $"{kv.Key} {kv.Value}")) + $" ({Features()})";
        TestContext.Out.WriteLine(report);
        Assert.Multiple(() =>
        {
            foreach (var (strategy, count) in jitted)
            {
                if (strategy == want) Assert.That(count, Is.Zero, $"the dispatcher did not run {strategy}: {report}");
                else Assert.That(count, Is.GreaterThan(0), $"the dispatcher ran {strategy} though {want} was expected: {report}");
            }
        });
    }
}
