using System.Reflection;
using System.Runtime.Versioning;
using EdgeQuant.Runtime;

namespace EdgeQuant.Runtime.NetStandard.Tests;

/// <summary>
/// The netstandard2.1 runtime (what Meadow and other .NET Standard platforms load) reproduces the
/// committed zoo golden outputs (tests/zoo/eqm, made by the net10.0 runtime) on every model and every
/// sample, allocating nothing per invoke.
/// </summary>
public class ZooEndToEndTests
{
    internal static string GoldenDir
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d != null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "tests", "zoo", "eqm");
                if (Directory.Exists(candidate)) return candidate;
            }
            throw new DirectoryNotFoundException("tests/zoo/eqm not found above " + TestContext.CurrentContext.TestDirectory);
        }
    }

    public static IEnumerable<string> Models()
    {
        var names = Directory.GetFiles(GoldenDir, "*.eqm").Select(f => Path.GetFileNameWithoutExtension(f)!).Order(StringComparer.Ordinal).ToList();
        if (names.Count < 13) throw new InvalidOperationException($"expected 13 golden blobs in {GoldenDir}, found {names.Count}");
        return names;
    }

    [Test]
    public void TheRuntimeUnderTestIsTheNetStandardBuild()
    {
        var tfm = typeof(Model).Assembly.GetCustomAttribute<TargetFrameworkAttribute>();
        Assert.That(tfm?.FrameworkName, Is.EqualTo(".NETStandard,Version=v2.1"));
        Assert.That(typeof(Model).Assembly.GetType("EdgeQuant.Runtime.Kernels.Simd.Int8Gemm"), Is.Null, "no SIMD kernels in this build");
    }

    [TestCaseSource(nameof(Models))]
    public void EverySampleMatchesTheGoldenOutputs(string name)
    {
        var model = Model.LoadFile(Path.Combine(GoldenDir, name + ".eqm"));
        var interp = new Interpreter(model);
        byte[] inputs = File.ReadAllBytes(Path.Combine(GoldenDir, name + ".input.bin"));
        byte[] expected = File.ReadAllBytes(Path.Combine(GoldenDir, name + ".output.bin"));
        int inBytes = interp.GetInput().Length, outBytes = interp.GetOutput().Length;
        int samples = inputs.Length / inBytes;
        Assert.That(samples * inBytes, Is.EqualTo(inputs.Length));
        Assert.That(samples * outBytes, Is.EqualTo(expected.Length));
        var actual = new byte[expected.Length];
        for (int s = 0; s < samples; s++)
        {
            inputs.AsSpan(s * inBytes, inBytes).CopyTo(System.Runtime.InteropServices.MemoryMarshal.AsBytes(interp.GetInput()));
            interp.Invoke();
            System.Runtime.InteropServices.MemoryMarshal.AsBytes(interp.GetOutput()).CopyTo(actual.AsSpan(s * outBytes));
        }
        for (int i = 0; i < expected.Length; i++)
            if (actual[i] != expected[i])
                Assert.Fail($"{name}: sample {i / outBytes}, output byte {i % outBytes}: netstandard2.1 runtime {(sbyte)actual[i]}, golden {(sbyte)expected[i]}");
    }

    [TestCaseSource(nameof(Models))]
    public void InvokeAllocatesNothing(string name)
    {
        var model = Model.LoadFile(Path.Combine(GoldenDir, name + ".eqm"));
        var interp = new Interpreter(model);
        var values = new float[interp.GetInput().Length];
        var outputs = new float[interp.GetOutput().Length];
        interp.SetInput(values);
        interp.Invoke();
        interp.GetOutput(outputs.AsSpan());
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 3; k++)
        {
            interp.SetInput(values);
            interp.Invoke();
            interp.GetOutput(outputs.AsSpan());
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }

    [Test]
    public void MalformedBlobsAreRejectedWithTheSectionNamed()
    {
        byte[] blob = File.ReadAllBytes(Path.Combine(GoldenDir, "mnist_cnn.eqm"));
        var bad = (byte[])blob.Clone();
        bad[^1] ^= 1;
        Assert.That(() => Model.Load(bad), Throws.InstanceOf<InvalidModelException>().With.Message.Contains("CRC32 mismatch"));
        Assert.That(() => Model.Load(blob.AsMemory(0, 100)), Throws.InstanceOf<InvalidModelException>().With.Message.Contains("blob size field"));
        Assert.That(() => Model.Load(blob, new ModelLoadOptions { MaxArenaBytes = 1000 }), Throws.InstanceOf<InvalidModelException>().With.Message.Contains("MaxArenaBytes"));
    }
}
