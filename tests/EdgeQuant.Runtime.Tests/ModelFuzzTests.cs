using System.Buffers.Binary;
using EdgeQuant.Runtime.Format;
using EdgeQuant.Runtime.Tests.Golden;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests;

/// <summary>
/// Mutation fuzzing of the reader. Loading any byte string must either succeed or throw
/// <see cref="InvalidModelException"/>; a blob that loads must run without any exception
/// (validation is the only check: kernels trust what it accepted). Fixed seeds: a failure prints
/// the case seed, and <see cref="Mutate"/> with that seed reproduces the blob.
/// </summary>
public class ModelFuzzTests
{
    private const int BaseSeed = 0x5EED;
    /// <summary>Cases per CI run; set EDGEQUANT_FUZZ_CASES for a longer local run.</summary>
    private static readonly int Cases = int.TryParse(Environment.GetEnvironmentVariable("EDGEQUANT_FUZZ_CASES"), out int n) ? n : 60_000;
    private static readonly int[] Extremes = [0, -1, 1, 2, 4, 15, 16, 17, 255, 256, 4096, 65536, 1 << 24, int.MaxValue, int.MinValue, 0x7FFFFFF0, -16, -128, 127, 128];

    private sealed record Subject(string Name, byte[] Blob, (int Start, int End)[] Structured);

    private static List<Subject> Subjects()
    {
        var list = new List<(string, byte[])>(SampleModels.All())
        {
            ("golden_conv_fc", GoldenModel.Build()),
            ("concat", OneOpModels.Concatenation().Blob),
            ("softmax", OneOpModels.Softmax().Blob),
            ("depthwise", OneOpModels.Conv(depthwise: true).Blob),
            ("dequantize", OneOpModels.Dequantize().Blob),
            ("argmax", OneOpModels.ArgMax().Blob),
            ("lstm", OneOpModels.Recurrent(lstm: true).Blob),
            ("gru", OneOpModels.Recurrent(lstm: false).Blob),
            ("lstm-int4", OneOpModels.RecurrentPacked(lstm: true).Blob),
            ("gru-int4", OneOpModels.RecurrentPacked(lstm: false).Blob),
            ("dynamic_conv", OneOpModels.DynamicConv().Blob),
            ("dynamic_depthwise", OneOpModels.DynamicConv(depthwise: true).Blob),
            ("dynamic_fc", OneOpModels.DynamicFullyConnected().Blob),
            ("dynamic_float_ops", OneOpModels.DynamicChain()),
            ("conv_int4", CompressedModels.Build(3, CompressedModels.Kind.Conv2D, TensorType.Int4).Blob),
            ("depthwise_index4", CompressedModels.Build(4, CompressedModels.Kind.Depthwise, TensorType.Index4).Blob),
            ("fc_index8", CompressedModels.Build(5, CompressedModels.Kind.FullyConnected, TensorType.Index8, 2).Blob),
            ("conv_sparse", CompressedModels.Build(6, CompressedModels.Kind.Conv2D, TensorType.SparseInt8).Blob),
            ("fc_sparse", CompressedModels.Build(7, CompressedModels.Kind.FullyConnected, TensorType.SparseInt8).Blob),
            ("depthwise_s16", OneOpModels.ConvS16(depthwise: true).Blob),
            ("conv_f32", OneOpModels.ConvF32().Blob),
            ("requantize_to_s16", OneOpModels.Requantize(toS16: true).Blob),
            ("conv_int4_packed", CompressedModels.Build(8, CompressedModels.Kind.Conv2D, TensorType.Int4, packed: true).Blob),
            ("depthwise_index4_packed", CompressedModels.Build(9, CompressedModels.Kind.Depthwise, TensorType.Index4, packed: true).Blob),
            ("fc_index8_packed", CompressedModels.Build(10, CompressedModels.Kind.FullyConnected, TensorType.Index8, 2, tweakBias: b => Array.ConvertAll(b, v => v * 3000), packed: true).Blob),
        };
        var subjects = new List<Subject>();
        foreach (var (name, blob) in list)
        {
            // Everything except the constant data: header, table and records, where a flipped bit changes meaning.
            int cs = Blob.SectionStart(blob, SectionKind.ConstantData), ce = cs + Blob.SectionLength(blob, SectionKind.ConstantData);
            subjects.Add(new Subject(name, blob, [(0, cs), (ce, blob.Length)]));
        }
        return subjects;
    }

    /// <summary>Applies one to three random mutations; returns the mutated copy and a description.</summary>
    private static (byte[] Blob, string What) Mutate(Subject s, Random r)
    {
        var b = (byte[])s.Blob.Clone();
        var what = new List<string>();
        int count = r.Next(4) == 0 ? r.Next(2, 4) : 1;
        for (int k = 0; k < count; k++)
        {
            int kind = r.Next(13);
            if (kind >= 10)
            {
                try
                {
                    what.Add(StructureAware(b, r));
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentOutOfRangeException or IndexOutOfRangeException)
                {
                    what.Add("structure-aware change skipped (records already broken)");
                }
            }
            else if (kind <= 2)
            {
                int n = r.Next(1, 9);
                for (int i = 0; i < n && b.Length > 0; i++)
                {
                    int pos = kind == 0 ? r.Next(b.Length) : Structured(s, r, b.Length);
                    b[pos] = (byte)r.Next(256);
                }
                what.Add($"{n} random bytes{(kind == 0 ? "" : " in records")}");
            }
            else if (kind <= 6)
            {
                int pos = Structured(s, r, b.Length) & ~3;
                if (pos + 4 > b.Length) continue;
                int value = r.Next(3) switch
                {
                    0 => Extremes[r.Next(Extremes.Length)],
                    1 => r.Next(-300, 300),
                    _ => BinaryPrimitives.ReadInt32LittleEndian(b.AsSpan(Structured(s, r, b.Length - 4) & ~3)),
                };
                BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(pos), value);
                what.Add($"int32 at {pos} = {value}");
            }
            else if (kind == 7)
            {
                int pos = Structured(s, r, b.Length) & ~1;
                if (pos + 2 > b.Length) continue;
                ushort value = (ushort)(r.Next(2) == 0 ? r.Next(0, 24) : r.Next(65536));
                BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(pos), value);
                what.Add($"uint16 at {pos} = {value}");
            }
            else if (kind == 8)
            {
                int len = r.Next(b.Length + 1);
                b = b[..len];
                what.Add($"truncated to {len}");
            }
            else
            {
                int extra = r.Next(1, 65);
                var tail = new byte[extra];
                r.NextBytes(tail);
                b = [.. b, .. tail];
                what.Add($"extended by {extra}");
            }
            // Usually keep the size field consistent, so mutations get past the first check.
            if (b.Length >= 12 && r.Next(4) != 0) BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), b.Length);
        }
        return (b, string.Join(", ", what));
    }

    /// <summary>A change that keeps records self-consistent, so it reaches op validation, dataflow checks and the kernels.</summary>
    private static string StructureAware(byte[] b, Random r)
    {
        int tensors = Blob.I32(b, Blob.EntryOf(b, SectionKind.Tensors) + 12);
        int ops = Blob.I32(b, Blob.EntryOf(b, SectionKind.Ops) + 12);
        int quants = Blob.I32(b, Blob.EntryOf(b, SectionKind.Quantization) + 12);
        switch (r.Next(6))
        {
            case 0:
            {
                // Reshape a tensor, keeping its byte length consistent.
                int t = Blob.Tensor(b, r.Next(tensors));
                int rank = b[t + 1], dim = r.Next(System.Math.Max(rank, 1));
                Blob.SetI32(b, t + 4 + 4 * dim, r.Next(1, 9));
                long n = 1;
                for (int k = 0; k < 4; k++) n *= Blob.I32(b, t + 4 + 4 * k);
                Blob.SetI32(b, t + 24, (int)(n * TensorInfo.ElementSize((TensorType)b[t])));
                return $"tensor {(t - Blob.SectionStart(b, SectionKind.Tensors)) / 32} dim {dim} resized";
            }
            case 1:
            {
                int t = Blob.Tensor(b, r.Next(tensors));
                Blob.SetI32(b, t + 20, 16 * r.Next(0, 64));
                return $"tensor {(t - Blob.SectionStart(b, SectionKind.Tensors)) / 32} moved";
            }
            case 2:
            {
                int o = Blob.Op(b, r.Next(ops));
                int slot = r.Next(6);
                Blob.SetI32(b, o + 4 + 4 * slot, r.Next(-1, tensors));
                return $"op {(o - Blob.SectionStart(b, SectionKind.Ops)) / 48} slot {slot} rewired";
            }
            case 3:
            {
                int o = Blob.Op(b, r.Next(ops));
                Blob.SetU16(b, o, (ushort)r.Next(1, 20));
                return $"op {(o - Blob.SectionStart(b, SectionKind.Ops)) / 48} retyped";
            }
            case 4:
            {
                int o = Blob.Op(b, r.Next(ops));
                int len = Blob.I32(b, o + 32);
                if (len < 4) return "no params";
                int field = Blob.SectionStart(b, SectionKind.OpParams) + Blob.I32(b, o + 28) + 4 * r.Next(len / 4);
                if (field < 0 || field + 4 > b.Length) return "params out of range";
                Blob.SetI32(b, field, r.Next(-3, 10));
                return $"op {(o - Blob.SectionStart(b, SectionKind.Ops)) / 48} params field changed";
            }
            default:
            {
                if (quants == 0) return "no quantization";
                int q = Blob.Quant(b, r.Next(quants));
                Blob.SetI32(b, q + 4 * r.Next(4), r.Next(-2, 5));
                return "quantization field changed";
            }
        }
    }

    private static int Structured(Subject s, Random r, int limit)
    {
        var (start, end) = s.Structured[r.Next(3) == 0 ? 1 : 0];
        end = System.Math.Min(end, limit);
        if (end <= start) return r.Next(System.Math.Max(limit, 1));
        return r.Next(start, end);
    }

    [Test]
    public void MutatedBlobsLoadOrThrowInvalidModelExceptionAndRunIfTheyLoad()
    {
        var subjects = Subjects();
        var failures = new List<string>();
        var loaded = new int[subjects.Count];
        var loadedWithCrc = new int[subjects.Count];
        var cases = new int[subjects.Count];
        var input = new Random(1);
        var start = DateTime.UtcNow;
        int baseSeed = int.TryParse(Environment.GetEnvironmentVariable("EDGEQUANT_FUZZ_SEED"), out int bs) ? bs : BaseSeed;
        for (int i = 0; i < Cases && failures.Count < 20; i++)
        {
            int seed = baseSeed + i;
            var r = new Random(seed);
            int si = i % subjects.Count;
            var s = subjects[si];
            var (blob, what) = Mutate(s, r);
            cases[si]++;
            foreach (bool skipCrc in new[] { true, false })
            {
                Model? m = null;
                try
                {
                    m = Model.Load(blob, new ModelLoadOptions { SkipCrc = skipCrc, MaxArenaBytes = 16 << 20 });
                }
                catch (InvalidModelException)
                {
                }
                catch (Exception e)
                {
                    failures.Add($"seed {seed} ({s.Name}: {what}; SkipCrc={skipCrc}): Model.Load threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                    continue;
                }
                if (m is null) continue;
                if (skipCrc) loaded[si]++; else loadedWithCrc[si]++;
                if (!skipCrc) continue; // Same bytes, same model: already run.
                try
                {
                    var interp = new Interpreter(m);
                    for (int k = 0; k < m.Inputs.Count; k++)
                        input.NextBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(interp.GetInput(k)));
                    interp.Invoke();
                    for (int k = 0; k < m.Outputs.Count; k++)
                        _ = interp.GetOutput(k).Length;
                }
                catch (Exception e)
                {
                    failures.Add($"seed {seed} ({s.Name}: {what}): the blob loaded but running it threw {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
                }
            }
        }
        double seconds = (DateTime.UtcNow - start).TotalSeconds;
        for (int k = 0; k < subjects.Count; k++)
            TestContext.Out.WriteLine($"{subjects[k].Name,-16} {cases[k],6} cases, {loaded[k],6} loaded with SkipCrc (and ran), {loadedWithCrc[k],5} loaded with the CRC check");
        TestContext.Out.WriteLine($"total {cases.Sum()} cases, {loaded.Sum()} loaded with SkipCrc, {loadedWithCrc.Sum()} with the CRC check, {seconds:F1} s");
        if (failures.Count > 0)
            Assert.Fail($"{failures.Count} failing case(s):\n" + string.Join("\n\n", failures));
    }

    [Test]
    public void RandomBytesBehindAValidHeaderAreRejected()
    {
        var r = new Random(BaseSeed - 1);
        for (int i = 0; i < 2000; i++)
        {
            var b = new byte[r.Next(32, 600)];
            r.NextBytes(b);
            BinaryPrimitives.WriteUInt32LittleEndian(b, ModelFormat.Magic);
            BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(4), 1);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), b.Length);
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(16), r.Next(1, 12));
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(20), 32);
            Blob.FixCrc(b);
            try
            {
                Model.Load(b);
            }
            catch (InvalidModelException)
            {
                continue;
            }
            catch (Exception e)
            {
                Assert.Fail($"case {i}: {e.GetType().Name}: {e.Message}");
            }
        }
    }
}
