using EdgeQuant.Runtime.Tests.TestSupport;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// The zoo end to end on whatever machine runs this assembly: every committed zoo blob
/// (tests/zoo/eqm, produced and pinned on x64 by the converter tests' ZooGoldenTests) is run by the
/// dispatched kernels on its committed input tensors, and every output tensor must equal the
/// committed one byte for byte. On linux-arm64 (tools/arm64-tests) this proves arm64 == x64 for
/// whole models, through the NEON / SDOT paths.
/// </summary>
public class ZooGoldenRuntimeTests
{
    private static string GoldenDir => ZooBlobs.Dir;

    public static IEnumerable<TestCaseData> Models() => ZooBlobs.Names().Select(name => new TestCaseData(name).SetName("Zoo_" + name));

    [TestCaseSource(nameof(Models))]
    public void DispatchedKernelsReproduceTheCommittedOutputs(string name)
    {
        string stem = Path.Combine(GoldenDir, name);
        var model = Model.Load(File.ReadAllBytes(stem + ".eqm"));
        var interp = new Interpreter(model);
        byte[] inputs = File.ReadAllBytes(stem + ".input.bin");
        byte[] expected = File.ReadAllBytes(stem + ".output.bin");
        int inBytes = MemoryMarshal.AsBytes(interp.GetInput()).Length;
        int outBytes = MemoryMarshal.AsBytes(interp.GetOutput()).Length;
        Assert.That(inputs.Length % inBytes, Is.Zero, $"{name}.input.bin holds whole samples of {inBytes} bytes");
        int n = inputs.Length / inBytes;
        Assert.That(n, Is.GreaterThan(0), $"{name}.input.bin is empty");
        Assert.That(expected.Length, Is.EqualTo(n * outBytes), $"{name}.output.bin holds one output of {outBytes} bytes per input sample");
        int mismatched = 0, first = -1, firstByte = -1;
        for (int s = 0; s < n; s++)
        {
            inputs.AsSpan(s * inBytes, inBytes).CopyTo(MemoryMarshal.AsBytes(interp.GetInput()));
            interp.Invoke();
            var got = MemoryMarshal.AsBytes(interp.GetOutput());
            var want = expected.AsSpan(s * outBytes, outBytes);
            int d = got.CommonPrefixLength(want);
            if (d == outBytes) continue;
            if (mismatched++ == 0) (first, firstByte) = (s, d);
        }
        TestContext.Out.WriteLine($"{name}: {n} samples, {inBytes} input and {outBytes} output bytes each, " +
            $"Vector128 accelerated {Vector128.IsHardwareAccelerated}, {RuntimeInformation.ProcessArchitecture}");
        Assert.That(mismatched, Is.Zero,
            () => $"{name}: {mismatched} of {n} samples differ from the committed output; the first is sample {first} at output byte {firstByte}");
    }
}
