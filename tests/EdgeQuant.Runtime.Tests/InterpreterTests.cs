using System.Runtime.InteropServices;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.Golden;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests;

public class InterpreterTests
{
    private static IEnumerable<OpType> OneOpCases() => OneOpModels.All().Select(c => c.Op);

    /// <summary>Fills every input with random data: random bytes for int8, real values for float32.</summary>
    private static List<byte[]> FillInputs(Interpreter interp, Rand r)
    {
        var m = interp.Model;
        var inputs = new List<byte[]>();
        for (int k = 0; k < m.Inputs.Count; k++)
        {
            var bytes = MemoryMarshal.AsBytes(interp.GetInput(k));
            if (m.Tensors[m.Inputs[k].TensorIndex].Type == TensorType.Float32)
            {
                var f = MemoryMarshal.Cast<byte, float>(bytes);
                for (int i = 0; i < f.Length; i++) f[i] = (float)(r.Double() * 20 - 10);
            }
            else
            {
                r.Fill(bytes);
            }
            inputs.Add(bytes.ToArray());
        }
        return inputs;
    }

    private static byte[] OutputBytes(Interpreter interp, int index = 0) => MemoryMarshal.AsBytes(interp.GetOutput(index)).ToArray();

    [TestCaseSource(nameof(OneOpCases))]
    public void OneOpModelEqualsTheKernelCalledDirectly(OpType op)
    {
        var c = OneOpModels.All().Single(x => x.Op == op);
        var model = Model.Load(c.Blob);
        Assert.That(model.Ops.Single().Type, Is.EqualTo(c.Op));
        var r = new Rand(40 + (int)c.Op);
        foreach (bool reference in new[] { false, true })
        {
            var interp = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = reference });
            for (int trial = 0; trial < 5; trial++)
            {
                var inputs = FillInputs(interp, r);
                interp.Invoke();
                Assert.That(OutputBytes(interp), Is.EqualTo(c.Direct(inputs)), $"{c.Op}, trial {trial}, reference kernels only: {reference}");
            }
        }
    }

    [Test]
    public void EveryOpCodeHasAOneOpCase()
    {
        var covered = OneOpModels.All().Select(c => c.Op).ToHashSet();
        Assert.That(covered, Is.EquivalentTo(Enum.GetValues<OpType>()));
    }

    [Test]
    public void ReferenceKernelsOnlyGivesTheSameBytes()
    {
        var r = new Rand(50);
        foreach (var (name, blob) in SampleModels.All())
        {
            var m = Model.Load(blob);
            var fast = new Interpreter(m);
            var reference = new Interpreter(m, new InterpreterOptions { ReferenceKernelsOnly = true });
            for (int trial = 0; trial < 5; trial++)
            {
                var inputs = FillInputs(fast, r);
                for (int k = 0; k < inputs.Count; k++) inputs[k].CopyTo(MemoryMarshal.AsBytes(reference.GetInput(k)));
                fast.Invoke();
                reference.Invoke();
                for (int o = 0; o < m.Outputs.Count; o++)
                    Assert.That(OutputBytes(fast, o), Is.EqualTo(OutputBytes(reference, o)), $"{name} output {o}");
            }
        }
    }

    [Test]
    public void InvokeAllocatesNothing()
    {
        foreach (var (name, blob) in SampleModels.All())
        {
            var interp = new Interpreter(Model.Load(blob));
            FillInputs(interp, new Rand(51));
            for (int i = 0; i < 20; i++) interp.Invoke();
            long allocated = CallerAllocation.Least(() => { for (int i = 0; i < 1000; i++) interp.Invoke(); });
            Assert.That(allocated, Is.Zero, $"{name}: {allocated} bytes allocated by 1000 invokes");
        }
    }

    [Test]
    public void CallerProvidedArenaGivesTheSameResultAndStaysInsideTheModelsBytes()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var own = new Interpreter(m);
        var buffer = new byte[m.ArenaBytes + 100];
        Array.Fill(buffer, (byte)0xAB);
        var arena = buffer.AsMemory(37, m.ArenaBytes); // deliberately unaligned
        var provided = new Interpreter(m, arena);
        var r = new Rand(52);
        for (int trial = 0; trial < 3; trial++)
        {
            var inputs = FillInputs(own, r);
            inputs[0].CopyTo(MemoryMarshal.AsBytes(provided.GetInput()));
            own.Invoke();
            provided.Invoke();
            Assert.That(OutputBytes(provided), Is.EqualTo(OutputBytes(own)));
            Assert.That(OutputBytes(provided, 1), Is.EqualTo(OutputBytes(own, 1)));
        }
        Assert.That(buffer[..37], Has.All.EqualTo((byte)0xAB), "bytes before the arena");
        Assert.That(buffer[(37 + m.ArenaBytes)..], Has.All.EqualTo((byte)0xAB), "bytes after the arena");
        Assert.That(MemoryMarshal.AsBytes(provided.GetInput()).Overlaps(arena.Span), Is.True, "inputs are views into the caller's arena");
    }

    [Test]
    public void ArenaSmallerThanTheModelNeedsIsRefused()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var e = Assert.Throws<ArgumentException>(() => new Interpreter(m, new byte[m.ArenaBytes - 1]))!;
        Assert.That(e.ParamName, Is.EqualTo("arena"));
        Assert.Throws<ArgumentNullException>(() => new Interpreter(null!));
    }

    [Test]
    public void TwoInterpretersSharingOneModelAreIndependent()
    {
        var m = Model.Load(SampleModels.Mix());
        var a = new Interpreter(m);
        var b = new Interpreter(m);
        var r = new Rand(53);
        for (int trial = 0; trial < 5; trial++)
        {
            var ia = FillInputs(a, r);
            var ib = FillInputs(b, r);
            a.Invoke();
            b.Invoke();
            var solo = new Interpreter(m);
            for (int k = 0; k < ia.Count; k++) ia[k].CopyTo(MemoryMarshal.AsBytes(solo.GetInput(k)));
            solo.Invoke();
            for (int o = 0; o < m.Outputs.Count; o++)
                Assert.That(OutputBytes(a, o), Is.EqualTo(OutputBytes(solo, o)), $"trial {trial} output {o}");
            for (int k = 0; k < ib.Count; k++) ib[k].CopyTo(MemoryMarshal.AsBytes(solo.GetInput(k)));
            solo.Invoke();
            for (int o = 0; o < m.Outputs.Count; o++)
                Assert.That(OutputBytes(b, o), Is.EqualTo(OutputBytes(solo, o)), $"trial {trial} output {o}");
        }
    }

    [Test]
    public void InterpretersSharingOneModelRunConcurrently()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var results = new byte[2][];
        var expected = new byte[2][];
        for (int t = 0; t < 2; t++)
        {
            var solo = new Interpreter(m);
            FillInputs(solo, new Rand(60 + t));
            solo.Invoke();
            expected[t] = OutputBytes(solo);
        }
        Parallel.For(0, 2, t =>
        {
            var interp = new Interpreter(m);
            FillInputs(interp, new Rand(60 + t));
            for (int i = 0; i < 300; i++) interp.Invoke();
            results[t] = OutputBytes(interp);
        });
        Assert.That(results, Is.EqualTo(expected));
    }

    [Test]
    public void InvokeOpStepByStepEqualsInvoke()
    {
        var m = Model.Load(SampleModels.VisionChain());
        var whole = new Interpreter(m);
        var steps = new Interpreter(m);
        var inputs = FillInputs(whole, new Rand(54));
        inputs[0].CopyTo(MemoryMarshal.AsBytes(steps.GetInput()));
        whole.Invoke();
        for (int i = 0; i < m.Ops.Count; i++) steps.InvokeOp(i);
        Assert.That(OutputBytes(steps), Is.EqualTo(OutputBytes(whole)));
        // Intermediate tensors can be inspected right after the op that writes them.
        var check = new Interpreter(m);
        inputs[0].CopyTo(MemoryMarshal.AsBytes(check.GetInput()));
        check.InvokeOp(0);
        Assert.That(check.GetTensorS8(m.Ops[0].Output0).Length, Is.EqualTo(m.Tensors[m.Ops[0].Output0].ByteLength));
    }

    [Test]
    public void SetInputAndGetOutputFloatHelpersRoundTrip()
    {
        // A Reshape model: int8 in, the same bytes out, one quantization (scale 0.1, zero point 4).
        var c = OneOpModels.Reshape();
        var interp = new Interpreter(Model.Load(c.Blob));
        Assert.That(interp.GetInputQuantization(), Is.EqualTo((0.1f, 4)));
        Assert.That(interp.GetOutputQuantization(), Is.EqualTo((0.1f, 4)));
        var values = new float[24];
        for (int i = 0; i < values.Length; i++) values[i] = (i - 12) * 0.1f;
        interp.SetInput(values);
        interp.Invoke();
        var back = new float[24];
        interp.GetOutput(back);
        for (int i = 0; i < values.Length; i++) Assert.That(back[i], Is.EqualTo(values[i]).Within(1e-6), $"grid value {i}");
        Assert.That(interp.GetInput()[0], Is.EqualTo((sbyte)(-12 + 4)), "the input is quantized: -1.2 / 0.1 + 4");

        // Values between grid points come back within half a step; out-of-range values saturate.
        var r = new Rand(55);
        for (int i = 0; i < values.Length; i++) values[i] = (float)(r.Double() * 20 - 10);
        values[0] = 1000f;
        values[1] = -1000f;
        interp.SetInput(values);
        interp.Invoke();
        interp.GetOutput(back);
        Assert.That(back[0], Is.EqualTo((127 - 4) * 0.1f).Within(1e-5));
        Assert.That(back[1], Is.EqualTo((-128 - 4) * 0.1f).Within(1e-5));
        for (int i = 2; i < values.Length; i++)
        {
            bool inRange = values[i] >= (-128 - 4) * 0.1 && values[i] <= (127 - 4) * 0.1;
            if (inRange) Assert.That(back[i], Is.EqualTo(values[i]).Within(0.05 + 1e-6), $"value {i}");
        }
    }

    [Test]
    public void FloatHelpersCopyFloat32InputsAndOutputs()
    {
        // The boundary model starts with Quantize and ends with Dequantize: float32 IO tensors.
        var m = Model.Load(SampleModels.Boundary());
        var interp = new Interpreter(m);
        var x = new float[12];
        for (int i = 0; i < x.Length; i++) x[i] = i * 0.37f - 2f;
        interp.SetInput(x);
        Assert.That(MemoryMarshal.Cast<sbyte, float>(interp.GetInput()).ToArray(), Is.EqualTo(x), "float32 input is copied, not quantized");
        interp.Invoke();
        var y = new float[6];
        interp.GetOutput(y);
        Assert.That(y, Is.EqualTo(MemoryMarshal.Cast<sbyte, float>(interp.GetOutput()).ToArray()));
        Assert.That(y, Has.All.Matches<float>(v => float.IsFinite(v)));
        Assert.Throws<InvalidOperationException>(() => interp.GetInputQuantization());
        Assert.Throws<InvalidOperationException>(() => interp.GetOutputQuantization());
    }

    [Test]
    public void FloatHelpersCheckLengths()
    {
        var interp = new Interpreter(Model.Load(OneOpModels.Reshape().Blob));
        Assert.Throws<ArgumentException>(() => interp.SetInput(new float[23]));
        Assert.Throws<ArgumentException>(() => interp.GetOutput(new float[25]));
    }

    [Test]
    public void GoldenModelIsDeterministicAcrossInvokes()
    {
        var interp = new Interpreter(Model.Load(GoldenModel.Build()));
        GoldenModel.Input().CopyTo(interp.GetInput());
        interp.Invoke();
        var first = OutputBytes(interp);
        for (int i = 0; i < 3; i++)
        {
            GoldenModel.Input().CopyTo(interp.GetInput());
            interp.Invoke();
            Assert.That(OutputBytes(interp), Is.EqualTo(first));
        }
    }
}
