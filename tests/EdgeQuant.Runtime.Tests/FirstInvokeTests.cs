using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Tests.TestSupport;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// The interpreter builds what its kernels keep for each op (requantization tables, their float32 forms, Winograd
/// filters) at construction, so the very first <see cref="Interpreter.Invoke"/> allocates nothing, as the README's
/// example says; before, it allocated 3-220 KB on the zoo models. Each try loads the blob afresh (the model's prepared
/// data is built on its first interpreter), so every try measures a first Invoke.
/// </summary>
public class FirstInvokeTests
{
    private static string ZooDir => ZooBlobs.Dir;

    public static IEnumerable<TestCaseData> Blobs() => ZooBlobs.Names().Select(name => new TestCaseData(name));

    [TestCaseSource(nameof(Blobs))]
    public void TheFirstInvokeAllocatesNothingAndGivesTheCommittedOutput(string name)
    {
        string stem = Path.Combine(ZooDir, name);
        byte[] blob = File.ReadAllBytes(stem + ".eqm"), inputs = File.ReadAllBytes(stem + ".input.bin"), expected = File.ReadAllBytes(stem + ".output.bin");
        byte[]? output = null;
        // The least over three fresh interpreters: ours would show in every try; a tier-up compiled on this thread in one.
        long allocated = CallerAllocationOfFirstInvoke(() =>
        {
            var interp = new Interpreter(Model.Load(blob));
            var input = MemoryMarshal.AsBytes(interp.GetInput());
            Assert.That(input.IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "the input is zero after construction");
            inputs.AsSpan(0, input.Length).CopyTo(input);
            return interp;
        }, interp => output = MemoryMarshal.AsBytes(interp.GetOutput()).ToArray());
        Assert.That(allocated, Is.Zero, $"{name}: bytes allocated by the first Invoke");
        Assert.That(output, Is.EqualTo(expected.AsSpan(0, output!.Length).ToArray()), $"{name}: the first Invoke's output is the committed one");
    }

    [TestCase("fashion_resnet", 2)]
    [TestCase("fashion_mobilenetv2", 3)]
    public void TheFirstInvokeWithThreadsAllocatesNothingOnAnyThread(string name, int threads)
    {
        string stem = Path.Combine(ZooDir, name);
        byte[] blob = File.ReadAllBytes(stem + ".eqm"), inputs = File.ReadAllBytes(stem + ".input.bin"), expected = File.ReadAllBytes(stem + ".output.bin");
        var made = new List<Interpreter>();
        try
        {
            // Construction (outside the measured run) starts the workers and runs the graph once through them.
            long least = long.MaxValue;
            for (int t = 0; t < 5 && least > 0; t++)
            {
                var interp = new Interpreter(Model.Load(blob), new InterpreterOptions { Threads = threads });
                made.Add(interp);
                Assert.That(interp.StagedRunCount, Is.GreaterThanOrEqualTo(1), "the split ops run as staged jobs");
                var input = MemoryMarshal.AsBytes(interp.GetInput());
                inputs.AsSpan(0, input.Length).CopyTo(input);
                long before = GC.GetTotalAllocatedBytes(precise: true);
                interp.Invoke();
                least = System.Math.Min(least, GC.GetTotalAllocatedBytes(precise: true) - before);
                var output = MemoryMarshal.AsBytes(interp.GetOutput());
                Assert.That(output.ToArray(), Is.EqualTo(expected.AsSpan(0, output.Length).ToArray()), $"{name}: the first Invoke's output with {threads} threads");
            }
            Assert.That(least, Is.Zero, $"{name}: bytes the whole process allocated in a first Invoke with {threads} threads (least of {made.Count})");
        }
        finally
        {
            foreach (var i in made) i.Dispose();
        }
    }

    [Test]
    public void ACallersArenaIsZeroAfterConstructionAndWorksAsBefore()
    {
        string stem = Path.Combine(ZooDir, "fashion_resnet");
        var model = Model.Load(File.ReadAllBytes(stem + ".eqm"));
        byte[] inputs = File.ReadAllBytes(stem + ".input.bin"), expected = File.ReadAllBytes(stem + ".output.bin");
        var arena = new byte[model.ArenaBytes + 100];
        arena.AsSpan().Fill(0xA5);
        var interp = new Interpreter(model, arena);
        Assert.That(arena.AsSpan().IndexOfAnyExcept((byte)0), Is.EqualTo(-1), "the caller's arena is all zeros after construction");
        var input = MemoryMarshal.AsBytes(interp.GetInput());
        inputs.AsSpan(0, input.Length).CopyTo(input);
        interp.Invoke();
        var output = MemoryMarshal.AsBytes(interp.GetOutput());
        Assert.That(output.ToArray(), Is.EqualTo(expected.AsSpan(0, output.Length).ToArray()));
    }

    /// <summary>Reference-kernel interpreters skip the construction run: their kernels keep nothing, so the first Invoke allocates nothing anyway.</summary>
    [TestCaseSource(nameof(Blobs))]
    public void AReferenceInterpreterAllocatesNothingOnItsFirstInvokeEither(string name)
    {
        byte[] blob = File.ReadAllBytes(Path.Combine(ZooDir, name + ".eqm"));
        long allocated = CallerAllocationOfFirstInvoke(() => new Interpreter(Model.Load(blob), new InterpreterOptions { ReferenceKernelsOnly = true }), _ => { });
        Assert.That(allocated, Is.Zero, $"{name}: bytes allocated by a reference interpreter's first Invoke");
    }

    /// <summary>The least, over three interpreters from <paramref name="make"/>, of the bytes this thread allocated in their first Invoke.</summary>
    private static long CallerAllocationOfFirstInvoke(Func<Interpreter> make, Action<Interpreter> after)
    {
        long least = long.MaxValue;
        for (int t = 0; t < 3 && least > 0; t++)
        {
            var interp = make();
            long before = GC.GetAllocatedBytesForCurrentThread();
            interp.Invoke();
            least = System.Math.Min(least, GC.GetAllocatedBytesForCurrentThread() - before);
            after(interp);
        }
        return least;
    }
}
