using System.Buffers.Binary;

namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// The few fields of ONNX's TensorProto (onnx.proto) that the conformance tests need, read
/// with a minimal protobuf decoder: dims = 1 (int64, packed or not), data_type = 2,
/// float_data = 4, int32_data = 5, int64_data = 7, raw_data = 9. Other fields are skipped.
/// </summary>
internal sealed class TensorProto
{
    public const int Float = 1, UInt8 = 2, Int8 = 3, Int32 = 6, Int64 = 7;

    public List<long> Dims { get; } = new();
    public int DataType { get; private set; }
    public List<float> FloatData { get; } = new();
    public List<long> Int32Data { get; } = new();
    public List<long> Int64Data { get; } = new();
    public byte[] RawData { get; private set; } = [];

    public long ElementCount
    {
        get { long n = 1; foreach (long d in Dims) n *= d; return n; }
    }

    public static TensorProto Parse(ReadOnlySpan<byte> pb)
    {
        var t = new TensorProto();
        int pos = 0;
        while (pos < pb.Length)
        {
            ulong key = Varint(pb, ref pos);
            int field = (int)(key >> 3), wire = (int)(key & 7);
            switch (field, wire)
            {
                case (1, 0): t.Dims.Add((long)Varint(pb, ref pos)); break;
                case (1, 2): foreach (ulong v in PackedVarints(pb, ref pos)) t.Dims.Add((long)v); break;
                case (2, 0): t.DataType = (int)Varint(pb, ref pos); break;
                case (4, 5): t.FloatData.Add(BinaryPrimitives.ReadSingleLittleEndian(pb.Slice(pos, 4))); pos += 4; break;
                case (4, 2):
                {
                    var bytes = LengthDelimited(pb, ref pos);
                    for (int i = 0; i + 4 <= bytes.Length; i += 4) t.FloatData.Add(BinaryPrimitives.ReadSingleLittleEndian(bytes.Slice(i)));
                    break;
                }
                case (5, 0): t.Int32Data.Add((int)Varint(pb, ref pos)); break;
                case (5, 2): foreach (ulong v in PackedVarints(pb, ref pos)) t.Int32Data.Add((int)v); break;
                case (7, 0): t.Int64Data.Add((long)Varint(pb, ref pos)); break;
                case (7, 2): foreach (ulong v in PackedVarints(pb, ref pos)) t.Int64Data.Add((long)v); break;
                case (9, 2): t.RawData = LengthDelimited(pb, ref pos).ToArray(); break;
                default: Skip(pb, ref pos, wire); break;
            }
        }
        return t;
    }

    public static TensorProto Load(string path) => Parse(File.ReadAllBytes(path));

    /// <summary>The values as doubles, from whichever field holds them.</summary>
    public double[] Values()
    {
        long n = ElementCount;
        var v = new double[n];
        if (RawData.Length > 0)
        {
            for (int i = 0; i < n; i++)
                v[i] = DataType switch
                {
                    Float => BinaryPrimitives.ReadSingleLittleEndian(RawData.AsSpan(4 * i)),
                    UInt8 => RawData[i],
                    Int8 => (sbyte)RawData[i],
                    Int32 => BinaryPrimitives.ReadInt32LittleEndian(RawData.AsSpan(4 * i)),
                    Int64 => BinaryPrimitives.ReadInt64LittleEndian(RawData.AsSpan(8 * i)),
                    _ => throw new NotSupportedException($"TensorProto data type {DataType}"),
                };
            return v;
        }
        for (int i = 0; i < n; i++)
            v[i] = DataType switch
            {
                Float => FloatData[i],
                UInt8 or Int8 or Int32 => Int32Data[i],
                Int64 => Int64Data[i],
                _ => throw new NotSupportedException($"TensorProto data type {DataType}"),
            };
        return v;
    }

    private static ulong Varint(ReadOnlySpan<byte> s, ref int pos)
    {
        ulong v = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            byte b = s[pos++];
            v |= (ulong)(b & 0x7F) << shift;
            if ((b & 0x80) == 0) return v;
        }
        throw new InvalidDataException("varint longer than 10 bytes");
    }

    private static ReadOnlySpan<byte> LengthDelimited(ReadOnlySpan<byte> s, ref int pos)
    {
        int len = checked((int)Varint(s, ref pos));
        var bytes = s.Slice(pos, len);
        pos += len;
        return bytes;
    }

    private static List<ulong> PackedVarints(ReadOnlySpan<byte> s, ref int pos)
    {
        var bytes = LengthDelimited(s, ref pos);
        var list = new List<ulong>();
        int p = 0;
        while (p < bytes.Length) list.Add(Varint(bytes, ref p));
        return list;
    }

    private static void Skip(ReadOnlySpan<byte> s, ref int pos, int wire)
    {
        switch (wire)
        {
            case 0: Varint(s, ref pos); break;
            case 1: pos += 8; break;
            case 2: LengthDelimited(s, ref pos); break;
            case 5: pos += 4; break;
            default: throw new InvalidDataException($"unsupported protobuf wire type {wire}");
        }
    }
}
