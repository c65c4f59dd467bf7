using System.Buffers.Binary;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// mutations.bin: mutated blobs as explicit recipes, with the C# reader's verdict and, for the
/// blobs it accepts, a CRC-32 of the outputs of one invoke, so the C reader and interpreter can be
/// held to the same answers. Little-endian: "EQMV", u32 version (1), u32 source count, then per
/// source u32 name length + name ("golden:<case>" or "zoo:<file>"); u32 mutation count, then per
/// mutation:
///   u16 source, u8 flags (1: recompute the CRC, 2: write the new length into blob_size),
///   u8 edit count, u32 new length (the source truncated or kept), edit count x (u32 offset, u8 value)
///   applied after truncation (offsets below the new length), then the CRC and size fix-ups;
///   u8 accepted (1/0), u8 section (the failing rule's section: 0 header, 1..9 section kinds,
///   100 section table; 255 when accepted), u8 ran (1: invoked, 0: not run because the arena
///   exceeds 1 MiB), u32 CRC-32 of every output's bytes after one invoke (0 if not run).
/// A quarter of the mutations draw on the recurrent and compressed-weight cases (<see cref="IsFocus"/>).
/// Inputs for the invoke: byte j of the model inputs' bytes (in input order, concatenated) is
/// (7 j + 3) mod 256; the arena starts zeroed.
/// </summary>
internal static class Mutations
{
    public const int MaxRunArena = 1 << 20;

    public static int Write(string path, IReadOnlyList<(string Name, byte[] Blob)> sources, int count, int seed)
    {
        var r = new Random(seed);
        using var f = new BinaryWriter(File.Create(path));
        f.Write("EQMV"u8);
        f.Write(1u);
        f.Write((uint)sources.Count);
        foreach (var (name, _) in sources)
        {
            var n = System.Text.Encoding.ASCII.GetBytes(name);
            f.Write((uint)n.Length);
            f.Write(n);
        }
        f.Write((uint)count);
        int firstZoo = 0;
        while (firstZoo < sources.Count && !sources[firstZoo].Name.StartsWith("zoo:", StringComparison.Ordinal)) firstZoo++;
        var focus = new List<int>();
        for (int k = 0; k < sources.Count; k++)
            if (IsFocus(sources[k].Name)) focus.Add(k);
        int accepted = 0;
        uint[] interesting = [0, 1, 2, 3, 4, 15, 16, 17, 31, 32, 64, 127, 128, 255, 256, 1023, 1024, 4096, 65535, 65536, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFE, 0x01000000, 0x01000001];
        for (int i = 0; i < count; i++)
        {
            // A quarter of the mutations edit a recurrent or compressed-weight blob (their reader rules are the
            // longest); the rest a zoo blob or any golden case, half and half.
            int src = focus.Count > 0 && r.Next(4) == 0 ? focus[r.Next(focus.Count)]
                : r.Next(2) == 0 && firstZoo < sources.Count ? firstZoo + r.Next(sources.Count - firstZoo) : r.Next(Math.Max(firstZoo, 1));
            var orig = sources[src].Blob;
            int kind = r.Next(10);
            int newLen = orig.Length;
            byte flags = 1;
            var edits = new List<(int Offset, byte Value)>();
            if (kind <= 5 || kind == 9)
            {
                int n = 1 + r.Next(4);
                for (int e = 0; e < n; e++)
                {
                    int off = r.Next(2) == 0 ? r.Next(16, Math.Min(orig.Length, 1024)) : r.Next(16, orig.Length);
                    edits.Add((off, (byte)r.Next(256)));
                }
                if (kind == 9) flags = 0;
            }
            else if (kind <= 7)
            {
                int limit = Math.Min(orig.Length, r.Next(2) == 0 ? 1024 : orig.Length) / 4;
                int off = 4 * r.Next(4, Math.Max(5, limit));
                uint v = r.Next(3) == 0 ? (uint)r.Next(-300, 300) : interesting[r.Next(interesting.Length)];
                for (int b = 0; b < 4 && off + b < orig.Length; b++) edits.Add((off + b, (byte)(v >> (8 * b))));
            }
            else
            {
                newLen = r.Next(orig.Length);
                flags = (byte)(r.Next(2) == 0 ? 3 : r.Next(3));
            }
            var blob = Apply(orig, newLen, flags, edits);
            f.Write((ushort)src);
            f.Write(flags);
            f.Write((byte)edits.Count);
            f.Write((uint)newLen);
            foreach (var (off, v) in edits)
            {
                f.Write((uint)off);
                f.Write(v);
            }
            Model? model = null;
            byte section = 255;
            try
            {
                model = Model.Load(blob);
            }
            catch (InvalidModelException ex)
            {
                section = SectionOf(ex.Message);
            }
            f.Write((byte)(model is null ? 0 : 1));
            f.Write(section);
            if (model is null || model.ArenaBytes > MaxRunArena)
            {
                f.Write((byte)0);
                f.Write(0u);
                continue;
            }
            accepted++;
            f.Write((byte)1);
            f.Write(RunCrc(model));
        }
        return accepted;
    }

    /// <summary>Recurrent (ops 23-26) and compressed-weight (ops 50-57) sources, by case name.</summary>
    private static bool IsFocus(string name)
    {
        string n = name.StartsWith("golden:", StringComparison.Ordinal) ? name["golden:".Length..] : "";
        return n.StartsWith("lstm_", StringComparison.Ordinal) || n.StartsWith("gru_", StringComparison.Ordinal)
            || n.Contains("_compressed_", StringComparison.Ordinal) || n.Contains("_sparse_", StringComparison.Ordinal)
            || n.StartsWith("zoo_digits_", StringComparison.Ordinal) || n.EndsWith("_int4", StringComparison.Ordinal)
            || n.EndsWith("_sparse", StringComparison.Ordinal);
    }

    /// <summary>The recipe applied to a source blob (the C test does the same).</summary>
    public static byte[] Apply(byte[] orig, int newLen, byte flags, List<(int Offset, byte Value)> edits)
    {
        var blob = orig.AsSpan(0, newLen).ToArray();
        foreach (var (off, v) in edits)
            if (off < blob.Length) blob[off] = v;
        if ((flags & 2) != 0 && blob.Length >= 12) BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(8), (uint)blob.Length);
        if ((flags & 1) != 0 && blob.Length >= 16) BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), Crc32.Compute(blob.AsSpan(16)));
        return blob;
    }

    private static uint RunCrc(Model model)
    {
        var it = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = true });
        long j = 0;
        for (int k = 0; k < model.Inputs.Count; k++)
        {
            var span = it.GetInput(k);
            for (int e = 0; e < span.Length; e++, j++) span[e] = (sbyte)(byte)((7 * j + 3) & 0xFF);
        }
        it.Invoke();
        var all = new List<byte>();
        for (int k = 0; k < model.Outputs.Count; k++)
            foreach (var v in it.GetOutput(k)) all.Add((byte)v);
        return Crc32.Compute(all.ToArray());
    }

    /// <summary>The section a reader message names: "header, ..." 0, "section table entry ..." 100, "section Kind ..." the kind.</summary>
    private static byte SectionOf(string message)
    {
        const string prefix = "Invalid EdgeQuant model: ";
        string m = message.StartsWith(prefix, StringComparison.Ordinal) ? message[prefix.Length..] : message;
        if (m.StartsWith("section table entry", StringComparison.Ordinal)) return 100;
        if (!m.StartsWith("section ", StringComparison.Ordinal)) return 0;
        string word = new string(m["section ".Length..].TakeWhile(char.IsLetter).ToArray());
        return Enum.TryParse<SectionKind>(word, out var kind) ? (byte)kind : (byte)254;
    }
}
