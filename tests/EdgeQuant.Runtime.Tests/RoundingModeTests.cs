using System.Runtime.InteropServices;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// The float32 forms of the kernels give the reference's bytes under round-to-nearest-even only. Native code can change
/// a thread's rounding mode (C's fesetround: the MXCSR on x64, the FPCR on arm64); Invoke then refuses with a clear error
/// instead of computing wrong bytes, and runs again once the mode is restored.
/// </summary>
public class RoundingModeTests
{
    [DllImport("libm.so.6", EntryPoint = "fesetround")]
    private static extern int SetRound(int mode);

    /// <summary>glibc's FE_* values: x86-64's are the MXCSR's RC field as the x87 control word has it, arm64's the FPCR's RMode.</summary>
    private static int Mode(string name) => (RuntimeInformation.ProcessArchitecture, name) switch
    {
        (Architecture.X64, "upward") => 0x800,
        (Architecture.X64, "downward") => 0x400,
        (Architecture.X64, "towardzero") => 0xc00,
        (Architecture.Arm64, "upward") => 0x400000,
        (Architecture.Arm64, "downward") => 0x800000,
        (Architecture.Arm64, "towardzero") => 0xc00000,
        _ => -1,
    };

    private static readonly string[] OtherModes = ["upward", "downward", "towardzero"];

    /// <summary>The mode's fesetround value, or the test reported as not run where glibc's fesetround is not there.</summary>
    private static int ModeOrIgnore(string name)
    {
        int mode = Mode(name);
        if (!OperatingSystem.IsLinux() || mode < 0)
            Assert.Ignore("sets the rounding mode through glibc's fesetround (Linux x64 and arm64 only)");
        return mode;
    }

    [TestCaseSource(nameof(OtherModes))]
    public void InvokeRefusesAnotherRoundingModeAndRunsOnceItIsRestored(string name)
    {
        int mode = ModeOrIgnore(name);
        string stem = Path.Combine(AppContext.BaseDirectory, "zoo", "eqm", "fashion_resnet");
        var model = Model.Load(File.ReadAllBytes(stem + ".eqm"));
        byte[] input = File.ReadAllBytes(stem + ".input.bin"), expected = File.ReadAllBytes(stem + ".output.bin");
        var interp = new Interpreter(model);
        var bytes = MemoryMarshal.AsBytes(interp.GetInput());
        input.AsSpan(0, bytes.Length).CopyTo(bytes);
        Exception? caught = null;
        int set;
        // Only the Invoke runs under the other mode; the assertions after the mode is restored.
        set = SetRound(mode);
        try
        {
            interp.Invoke();
        }
        catch (Exception e)
        {
            caught = e;
        }
        finally
        {
            SetRound(0);
        }
        Assert.That(set, Is.Zero, $"fesetround({name}) failed");
        Assert.That(caught, Is.InstanceOf<InvalidOperationException>());
        Assert.That(caught!.Message, Does.Contain("rounding mode").And.Contain("fesetround(FE_TONEAREST)"));
        interp.Invoke();
        var output = MemoryMarshal.AsBytes(interp.GetOutput());
        Assert.That(output.ToArray(), Is.EqualTo(expected.AsSpan(0, output.Length).ToArray()), "after the mode is restored, the committed output");
    }

    [TestCaseSource(nameof(OtherModes))]
    public void TheFloatHelpersRefuseToConvertUnderAnotherModeAndWriteNothing(string name)
    {
        int mode = ModeOrIgnore(name);
        string stem = Path.Combine(AppContext.BaseDirectory, "zoo", "eqm", "mnist_cnn");
        var interp = new Interpreter(Model.Load(File.ReadAllBytes(stem + ".eqm")));
        int n = interp.GetInput().Length, m = interp.GetOutput().Length;
        // Halfway between two codes: quantized under another mode, 28-46% of such values take the other code (measured
        // through Quantize.EvalF32ToS8 on 100,000 of them); dequantizing, about a third of the floats differ.
        var (scale, zeroPoint) = interp.GetInputQuantization();
        var values = new float[n];
        var rng = new Random(7);
        for (int i = 0; i < n; i++) values[i] = (rng.Next(-128, 127) - zeroPoint + 0.5f) * scale;
        interp.GetInput().Clear();
        var outputs = new float[m];
        Array.Fill(outputs, 42f);
        Exception? setFailure = null, getFailure = null;
        int set = SetRound(mode);
        try
        {
            try { interp.SetInput(values); } catch (Exception e) { setFailure = e; }
            try { interp.GetOutput(outputs); } catch (Exception e) { getFailure = e; }
        }
        finally
        {
            SetRound(0);
        }
        Assert.That(set, Is.Zero, $"fesetround({name}) failed");
        Assert.That(setFailure, Is.InstanceOf<InvalidOperationException>().With.Message.Contain("rounding mode"));
        Assert.That(getFailure, Is.InstanceOf<InvalidOperationException>().With.Message.Contain("rounding mode"));
        Assert.That(interp.GetInput().ToArray(), Is.All.EqualTo((sbyte)0), "SetInput wrote under the other mode");
        Assert.That(outputs, Is.All.EqualTo(42f), "GetOutput wrote under the other mode");
        // Restored: both convert, and SetInput gives what a fresh interpreter's SetInput gives.
        interp.SetInput(values);
        interp.GetOutput(outputs);
        var fresh = new Interpreter(Model.Load(File.ReadAllBytes(stem + ".eqm")));
        fresh.SetInput(values);
        Assert.That(interp.GetInput().ToArray(), Is.EqualTo(fresh.GetInput().ToArray()));
        Assert.That(interp.GetInput().ToArray().Distinct().Count(), Is.GreaterThan(10), "the input was quantized");
    }
}
