using System.Buffers.Binary;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>Reads and patches fields of an .eqm blob in place, for tests that tamper with records.</summary>
internal static class Blob
{
    public static int I32(byte[] blob, int pos) => BinaryPrimitives.ReadInt32LittleEndian(blob.AsSpan(pos));
    public static void SetI32(byte[] blob, int pos, int value) => BinaryPrimitives.WriteInt32LittleEndian(blob.AsSpan(pos), value);
    public static void SetU16(byte[] blob, int pos, ushort value) => BinaryPrimitives.WriteUInt16LittleEndian(blob.AsSpan(pos), value);

    public static int SectionCount(byte[] blob) => I32(blob, 16);
    public static int TableOffset(byte[] blob) => I32(blob, 20);

    /// <summary>Byte position of the section table entry describing <paramref name="kind"/>.</summary>
    public static int EntryOf(byte[] blob, SectionKind kind)
    {
        int table = TableOffset(blob);
        for (int s = 0; s < SectionCount(blob); s++)
        {
            int e = table + s * ModelFormat.SectionEntrySizeInBytes;
            if (I32(blob, e) == (int)kind) return e;
        }
        throw new InvalidOperationException($"no {kind} section");
    }

    /// <summary>Byte position of the start of section <paramref name="kind"/>.</summary>
    public static int SectionStart(byte[] blob, SectionKind kind) => I32(blob, EntryOf(blob, kind) + 4);
    public static int SectionLength(byte[] blob, SectionKind kind) => I32(blob, EntryOf(blob, kind) + 8);

    /// <summary>Byte position of record <paramref name="index"/> of a fixed-size record section.</summary>
    public static int Record(byte[] blob, SectionKind kind, int index, int recordSize) => SectionStart(blob, kind) + index * recordSize;

    public static int Tensor(byte[] blob, int index) => Record(blob, SectionKind.Tensors, index, RecordSizes.Tensor);
    public static int Op(byte[] blob, int index) => Record(blob, SectionKind.Ops, index, RecordSizes.Op);
    public static int Quant(byte[] blob, int index) => Record(blob, SectionKind.Quantization, index, RecordSizes.Quantization);

    /// <summary>Byte position of op <paramref name="index"/>'s parameter record.</summary>
    public static int Params(byte[] blob, int opIndex) => SectionStart(blob, SectionKind.OpParams) + I32(blob, Op(blob, opIndex) + 28);

    /// <summary>Byte position of a constant-data offset.</summary>
    public static int Constant(byte[] blob, int constOffset) => SectionStart(blob, SectionKind.ConstantData) + constOffset;

    /// <summary>Rewrites the CRC so tampering reaches the check under test.</summary>
    public static byte[] FixCrc(byte[] blob)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(blob.AsSpan(12), Crc32.Compute(blob.AsSpan(ModelFormat.CrcStart)));
        return blob;
    }

    /// <summary>Rewrites the size field and the CRC after a blob was resized.</summary>
    public static byte[] FixSizeAndCrc(byte[] blob)
    {
        SetI32(blob, 8, blob.Length);
        return FixCrc(blob);
    }
}
