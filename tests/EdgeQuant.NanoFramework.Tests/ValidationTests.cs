using EdgeQuant.NanoFramework;
using EdgeQuant.Runtime;

namespace EdgeQuant.NanoFramework.Tests;

/// <summary>
/// The managed reader accepts exactly the blobs the C# reader accepts. Mutated zoo blobs (fixed seeds,
/// CRC recomputed so the mutations reach the structural rules) are loaded by both; a blob both accept is
/// run by both (the C# runtime with its reference kernels) and must give the same bytes.
/// </summary>
public class ValidationTests
{
    [TestCase("mnist_cnn", 1500)]
    [TestCase("quirk_misc_ops", 1500)]
    [TestCase("quirk_unary_mix", 1000)]
    [TestCase("fashion_mobilenet", 500)]
    public void MutatedBlobsGetTheSameVerdictAndTheSameOutputs(string name, int count)
    {
        byte[] original = ZooFiles.Blob(name);
        byte[] inputs = ZooFiles.Inputs(name);
        var rng = new Random(1234 + name.Length);
        int accepted = 0, rejected = 0;
        for (int k = 0; k < count; k++)
        {
            byte[] blob = Mutate(original, rng);
            Exception rtError = null, nfError = null;
            RtModel rt = null;
            NfModel nf = null;
            try { rt = RtModel.Load(blob); } catch (Exception e) { rtError = e; }
            try { nf = new NfModel(blob, ModelEngine.Managed, 256 << 20); } catch (Exception e) { nfError = e; }
            if (rtError != null)
                Assert.That(rtError, Is.InstanceOf<EdgeQuant.Runtime.InvalidModelException>(), $"mutation {k}: the C# reader crashed");
            if (nfError != null)
                Assert.That(nfError, Is.InstanceOf<EdgeQuant.NanoFramework.InvalidModelException>(), $"mutation {k}: the managed reader threw {nfError}");
            Assert.That(nfError == null, Is.EqualTo(rtError == null),
                $"mutation {k}: C# reader {(rtError == null ? "accepts" : "rejects: " + rtError.Message)}; managed reader {(nfError == null ? "accepts" : "rejects: " + nfError.Message)}");
            if (rt == null || nf == null) { rejected++; continue; }
            accepted++;
            if (rt.Inputs.Count != 1 || rt.Tensors[rt.Inputs[0].TensorIndex].Type != EdgeQuant.Runtime.Format.TensorType.Int8) continue;
            var rti = new RtInterpreter(rt, new InterpreterOptions { ReferenceKernelsOnly = true });
            var nfi = new NfInterpreter(nf);
            var input = rti.GetInput(0);
            for (int i = 0; i < input.Length; i++) input[i] = (sbyte)inputs[i % inputs.Length];
            nfi.SetInput(input.ToArray());
            rti.Invoke();
            nfi.Invoke();
            for (int o = 0; o < rt.Outputs.Count; o++)
            {
                if (rt.Tensors[rt.Outputs[o].TensorIndex].Type != EdgeQuant.Runtime.Format.TensorType.Int8) continue;
                var ours = new sbyte[nf.GetOutputBytes(o)];
                nfi.GetOutput(ours, 0, o);
                Assert.That(ours, Is.EqualTo(rti.GetOutput(o).ToArray()), $"mutation {k}: output {o} differs");
            }
        }
        TestContext.Out.WriteLine($"{name}: {accepted} mutated blobs accepted by both and run identically, {rejected} rejected by both");
        Assert.That(accepted, Is.GreaterThan(0), "some mutations must survive validation, or the comparison of outputs tests nothing");
        Assert.That(rejected, Is.GreaterThan(0));
    }

    private static byte[] Mutate(byte[] original, Random rng)
    {
        byte[] b = (byte[])original.Clone();
        int kind = rng.Next(10);
        if (kind == 0)
        {
            // Truncation (blob size fixed up so the reader gets past the header).
            int len = rng.Next(32, b.Length);
            Array.Resize(ref b, len);
            BitConverter.GetBytes((uint)len).CopyTo(b, 8);
        }
        else
        {
            int n = 1 + rng.Next(3);
            for (int i = 0; i < n; i++)
            {
                // Mostly in the structural part of the blob (header, table, records), sometimes anywhere.
                int limit = rng.Next(4) == 0 ? b.Length : Math.Min(b.Length, 1024);
                int pos = 8 + rng.Next(limit - 8);
                if (pos >= 12 && pos < 16) pos = 16;
                switch (rng.Next(4))
                {
                    case 0: b[pos] = (byte)rng.Next(256); break;
                    case 1: b[pos] ^= (byte)(1 << rng.Next(8)); break;
                    case 2: b[pos] = (byte)(b[pos] + (rng.Next(2) == 0 ? 1 : -1)); break;
                    default: b[pos] = rng.Next(2) == 0 ? (byte)0 : (byte)0xFF; break;
                }
            }
        }
        BitConverter.GetBytes(EdgeQuant.Runtime.Format.Crc32.Compute(b.AsSpan(16))).CopyTo(b, 12);
        return b;
    }

    [Test]
    public void ErrorsNameTheProblemAndWhere()
    {
        byte[] blob = ZooFiles.Blob("mnist_cnn");
        var bad = (byte[])blob.Clone();
        bad[0] ^= 0xFF;
        Assert.That(() => new NfModel(bad, ModelEngine.Managed, 1 << 20), Throws.InstanceOf<EdgeQuant.NanoFramework.InvalidModelException>().With.Message.Contains("header, byte 0: magic"));
        bad = (byte[])blob.Clone();
        bad[blob.Length - 1] ^= 1;
        Assert.That(() => new NfModel(bad, ModelEngine.Managed, 1 << 20), Throws.InstanceOf<EdgeQuant.NanoFramework.InvalidModelException>().With.Message.Contains("CRC32 mismatch"));
        Assert.That(() => new NfModel(blob.AsSpan(0, 100).ToArray(), ModelEngine.Managed, 1 << 20), Throws.InstanceOf<EdgeQuant.NanoFramework.InvalidModelException>().With.Message.Contains("blob size field"));
        Assert.That(() => new NfModel(blob, ModelEngine.Managed, 1000), Throws.InstanceOf<EdgeQuant.NanoFramework.InvalidModelException>().With.Message.Contains("exceeds the limit of 1000 bytes"));
        Assert.That(() => new NfModel(null!, ModelEngine.Managed, 1000), Throws.ArgumentNullException);
    }

    [Test]
    public void TheManagedOnlyBuildRefusesTheNativeEngine()
    {
        Assert.That(() => new NfModel(ZooFiles.Blob("digits_mlp")), Throws.Nothing, "the default engine of the managed build is the managed one");
        Assert.That(new NfModel(ZooFiles.Blob("digits_mlp")).Engine, Is.EqualTo(ModelEngine.Managed));
        Assert.That(() => new NfModel(ZooFiles.Blob("digits_mlp"), ModelEngine.Native, 1 << 20), Throws.InstanceOf<NotSupportedException>().With.Message.Contains("no native module"));
    }

    [Test]
    public void BadArgumentsAreRefusedClearly()
    {
        var interp = new NfInterpreter(new NfModel(ZooFiles.Blob("mnist_cnn"), ModelEngine.Managed, 1 << 20));
        Assert.That(() => interp.SetInput(new sbyte[783]), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("784 values"));
        Assert.That(() => interp.SetInput(new sbyte[784], 1, 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => interp.SetInput(new sbyte[784], 0, 1), Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("input 1 does not exist"));
        Assert.That(() => interp.GetOutput(new sbyte[9]), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => interp.SetInput(new float[10]), Throws.ArgumentException.With.Message.Contains("takes 784 values"));
        Assert.That(() => interp.SetInput((sbyte[])null!), Throws.ArgumentNullException);
    }
}
