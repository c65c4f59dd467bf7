using System.Runtime.InteropServices;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// InterpreterOptions.PreserveInputs: the arena plan of every zoo model reuses its input's bytes once the input's last
/// reader has run, so an interpreter with its own arena keeps the inputs on bytes of their own: a second Invoke on the
/// same input gives the same, committed output, with one thread and with two. Over the planned arena alone (the
/// option off, or a caller-provided arena) the input must be written before every Invoke, and then gives it too.
/// </summary>
public class InterpreterInputsTests
{
    private static string GoldenDir => Path.Combine(AppContext.BaseDirectory, "zoo", "eqm");

    public static IEnumerable<TestCaseData> Models() => ZooGoldenRuntimeTests.Models();

    private static (Model Model, byte[] Input, byte[] Output) Load(string name)
    {
        string stem = Path.Combine(GoldenDir, name);
        return (Model.Load(File.ReadAllBytes(stem + ".eqm")), File.ReadAllBytes(stem + ".input.bin"), File.ReadAllBytes(stem + ".output.bin"));
    }

    [TestCaseSource(nameof(Models))]
    public void InvokeLeavesTheInputAsWritten(string name)
    {
        var (model, inputs, expected) = Load(name);
        foreach (int threads in new[] { 1, 2 })
        {
            using var interp = new Interpreter(model, new InterpreterOptions { Threads = threads });
            int inBytes = MemoryMarshal.AsBytes(interp.GetInput()).Length, outBytes = MemoryMarshal.AsBytes(interp.GetOutput()).Length;
            Assert.That(interp.PreservedInputBytes, Is.GreaterThanOrEqualTo(inBytes), $"{name}, {threads} threads: the input's bytes after the planned arena");
            var input = inputs.AsSpan(0, inBytes).ToArray();
            input.CopyTo(MemoryMarshal.AsBytes(interp.GetInput()));
            for (int k = 0; k < 3; k++)
            {
                interp.Invoke();
                Assert.That(MemoryMarshal.AsBytes(interp.GetOutput()).ToArray(), Is.EqualTo(expected.AsSpan(0, outBytes).ToArray()),
                    $"{name}, {threads} threads: Invoke {k + 1} on the input written once");
                Assert.That(MemoryMarshal.AsBytes(interp.GetInput()).ToArray(), Is.EqualTo(input), $"{name}, {threads} threads: the input after Invoke {k + 1}");
            }
        }
    }

    [TestCaseSource(nameof(Models))]
    public void ThePlannedArenaAloneNeedsTheInputWrittenEachTime(string name)
    {
        var (model, inputs, expected) = Load(name);
        using var off = new Interpreter(model, new InterpreterOptions { PreserveInputs = false });
        using var caller = new Interpreter(model, new byte[model.ArenaBytes]);
        foreach (var interp in new[] { off, caller })
        {
            Assert.That(interp.PreservedInputBytes, Is.Zero);
            int inBytes = MemoryMarshal.AsBytes(interp.GetInput()).Length, outBytes = MemoryMarshal.AsBytes(interp.GetOutput()).Length;
            int n = System.Math.Min(inputs.Length / inBytes, 3);
            for (int s = 0; s < n; s++)
            {
                inputs.AsSpan(s * inBytes, inBytes).CopyTo(MemoryMarshal.AsBytes(interp.GetInput()));
                interp.Invoke();
                Assert.That(MemoryMarshal.AsBytes(interp.GetOutput()).ToArray(), Is.EqualTo(expected.AsSpan(s * outBytes, outBytes).ToArray()), $"{name}, sample {s}");
            }
        }
    }
}
