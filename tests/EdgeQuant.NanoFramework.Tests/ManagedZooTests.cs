using System.Diagnostics;
using EdgeQuant.NanoFramework;

namespace EdgeQuant.NanoFramework.Tests;

/// <summary>
/// The managed fallback reproduces the C# runtime's bytes on every zoo model and every committed test
/// sample (tests/zoo/eqm/*.output.bin), and describes each model as the C# runtime does.
/// </summary>
public class ManagedZooTests
{
    public static IEnumerable<string> Models() => ZooFiles.Names();

    [TestCaseSource(nameof(Models))]
    public void EverySampleMatchesTheGoldenOutputs(string name)
    {
        var model = new NfModel(ZooFiles.Blob(name), ModelEngine.Managed, 1 << 20);
        var interp = new NfInterpreter(model);
        Assert.That(model.InputCount, Is.EqualTo(1));
        int inBytes = model.GetInputBytes(0), outBytes = model.GetOutputBytes(0);
        byte[] inputs = ZooFiles.Inputs(name), expected = ZooFiles.Outputs(name);
        Assert.That(inputs.Length % inBytes, Is.Zero, "input.bin is whole samples");
        int samples = inputs.Length / inBytes;
        Assert.That(expected.Length, Is.EqualTo(samples * outBytes), "output.bin has one output per input sample");

        sbyte[] input = (sbyte[])(Array)inputs;
        var actual = new sbyte[samples * outBytes];
        var sw = Stopwatch.StartNew();
        for (int s = 0; s < samples; s++)
        {
            interp.SetInput(input, s * inBytes, 0);
            interp.Invoke();
            interp.GetOutput(actual, s * outBytes, 0);
        }
        sw.Stop();
        TestContext.Out.WriteLine($"{name}: {samples} samples in {sw.Elapsed.TotalMilliseconds:F0} ms ({sw.Elapsed.TotalMilliseconds * 1000 / samples:F0} us per sample, managed fallback on .NET)");
        for (int s = 0; s < samples; s++)
            for (int i = 0; i < outBytes; i++)
                if ((byte)actual[s * outBytes + i] != expected[s * outBytes + i])
                    Assert.Fail($"{name}: sample {s}, output byte {i}: managed fallback {actual[s * outBytes + i]}, C# runtime {(sbyte)expected[s * outBytes + i]}");
    }

    [TestCaseSource(nameof(Models))]
    public void DescribesTheModelAsTheCSharpRuntimeDoes(string name)
    {
        byte[] blob = ZooFiles.Blob(name);
        var nf = new NfModel(blob, ModelEngine.Managed, 1 << 20);
        var rt = RtModel.Load(blob);
        var rti = new RtInterpreter(rt);
        Assert.That(nf.ArenaBytes, Is.EqualTo(rt.ArenaBytes));
        Assert.That(nf.InputCount, Is.EqualTo(rt.Inputs.Count));
        Assert.That(nf.OutputCount, Is.EqualTo(rt.Outputs.Count));
        for (int i = 0; i < nf.InputCount; i++)
        {
            var t = rt.Tensors[rt.Inputs[i].TensorIndex];
            Assert.That(nf.GetInputBytes(i), Is.EqualTo(t.ByteLength));
            Assert.That(nf.GetInputType(i), Is.EqualTo((int)t.Type));
            var (scale, zp) = rti.GetInputQuantization(i);
            Assert.That(nf.GetInputScale(i), Is.EqualTo(scale));
            Assert.That(nf.GetInputZeroPoint(i), Is.EqualTo(zp));
        }
        for (int i = 0; i < nf.OutputCount; i++)
        {
            var t = rt.Tensors[rt.Outputs[i].TensorIndex];
            Assert.That(nf.GetOutputBytes(i), Is.EqualTo(t.ByteLength));
            var (scale, zp) = rti.GetOutputQuantization(i);
            Assert.That(nf.GetOutputScale(i), Is.EqualTo(scale));
            Assert.That(nf.GetOutputZeroPoint(i), Is.EqualTo(zp));
        }
    }

    [Test]
    public void InvokeAllocatesNothing()
    {
        var model = new NfModel(ZooFiles.Blob("mnist_cnn"), ModelEngine.Managed, 1 << 20);
        var interp = new NfInterpreter(model);
        var input = new sbyte[model.GetInputBytes(0)];
        var output = new sbyte[model.GetOutputBytes(0)];
        interp.SetInput(input);
        interp.Invoke();
        interp.GetOutput(output);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int k = 0; k < 3; k++)
        {
            interp.SetInput(input);
            interp.Invoke();
            interp.GetOutput(output);
        }
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
