using EdgeQuant.Runtime.Tests.TestSupport;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests;

/// <summary>Several interpreters share one model's weights and prepared fast-path data; only arenas are per interpreter.</summary>
[TestFixture]
public class SharedModelTests
{
    [Test]
    public void PreparedFilterDataIsBuiltOnceAndShared()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var first = new Interpreter(m);
        var prepared = m.PreparedFilters();
        Assert.That(prepared.Any(p => p is not null), Is.True, "the sample model has convolutions with fast-path data");
        long before = GC.GetAllocatedBytesForCurrentThread();
        var second = new Interpreter(m);
        long cost = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.That(m.PreparedFilters(), Is.SameAs(prepared));
        // The second interpreter pays for its arena and small per-op tables, not for another copy of the packed weights.
        Assert.That(cost, Is.LessThan(m.ArenaBytes + 4096 + 64L * m.Ops.Count + 64L * m.Tensors.Count));
        var rnd = new Random(3);
        for (int i = 0; i < first.GetInput().Length; i++) first.GetInput()[i] = second.GetInput()[i] = (sbyte)rnd.Next(-128, 128);
        first.Invoke();
        second.Invoke();
        Assert.That(second.GetOutput().ToArray(), Is.EqualTo(first.GetOutput().ToArray()));
    }

    [Test]
    public void InterpretersOnSeveralThreadsAgree()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var input = new sbyte[new Interpreter(m).GetInput().Length];
        new Random(5).NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(input.AsSpan()));
        var reference = new Interpreter(m, new InterpreterOptions { ReferenceKernelsOnly = true });
        input.CopyTo(reference.GetInput());
        reference.Invoke();
        var expected = reference.GetOutput().ToArray();
        var results = new sbyte[4][];
        Parallel.For(0, 4, t =>
        {
            var interp = new Interpreter(m);
            sbyte[] last = [];
            for (int k = 0; k < 50; k++)
            {
                input.CopyTo(interp.GetInput());
                interp.Invoke();
                last = interp.GetOutput().ToArray();
            }
            results[t] = last;
        });
        foreach (var r in results) Assert.That(r, Is.EqualTo(expected));
    }
}
