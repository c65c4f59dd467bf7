using System.Buffers.Binary;
using System.Text;

namespace EdgeQuant.Boards;

/// <summary>A NumPy .npy array read whole (little-endian, C order): uint8, float32, float64 or int64.</summary>
public sealed class NpyFile
{
    /// <summary>'u1', 'f4', 'f8' or 'i8'.</summary>
    public string Type { get; }
    public int[] Shape { get; }
    /// <summary>The raw payload bytes.</summary>
    public byte[] Data { get; }

    private NpyFile(string type, int[] shape, byte[] data) { Type = type; Shape = shape; Data = data; }

    /// <exception cref="BoardsException">Missing, unreadable or unsupported file; the message names it.</exception>
    public static NpyFile Read(string path)
    {
        byte[] b;
        try { b = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new BoardsException($"{path}: {e.Message}", e); }
        if (b.Length < 10 || b[0] != 0x93 || b[1] != (byte)'N' || b[2] != (byte)'U') throw new BoardsException($"{path} is not a .npy file");
        int major = b[6];
        int hl = major == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(b.AsSpan(8)) : (int)BinaryPrimitives.ReadUInt32LittleEndian(b.AsSpan(8));
        int hs = major == 1 ? 10 : 12;
        if (hs + hl > b.Length) throw new BoardsException($"{path}: truncated .npy header");
        string h = Encoding.ASCII.GetString(b, hs, hl);
        if (h.Contains("'fortran_order': True", StringComparison.Ordinal)) throw new BoardsException($"{path}: Fortran-order arrays are not supported");
        string type = h.Contains("'|u1'", StringComparison.Ordinal) || h.Contains("'<u1'", StringComparison.Ordinal) ? "u1"
            : h.Contains("'<f4'", StringComparison.Ordinal) ? "f4" : h.Contains("'<f8'", StringComparison.Ordinal) ? "f8"
            : h.Contains("'<i8'", StringComparison.Ordinal) ? "i8"
            : throw new BoardsException($"{path}: unsupported dtype in header {h.Trim()}; expected uint8, float32, float64 or int64");
        int open = h.IndexOf('(') + 1, close = h.IndexOf(')');
        if (open <= 0 || close < open) throw new BoardsException($"{path}: no shape in header");
        var dims = h[open..close].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var shape = new int[dims.Length];
        long count = 1;
        for (int i = 0; i < dims.Length; i++)
        {
            if (!int.TryParse(dims[i], out shape[i]) || shape[i] < 0) throw new BoardsException($"{path}: bad dimension '{dims[i]}'");
            count *= shape[i];
        }
        int es = type switch { "u1" => 1, "f4" => 4, _ => 8 };
        int start = hs + hl;
        if (b.Length - start != count * es) throw new BoardsException($"{path}: payload of {b.Length - start} bytes does not match shape ({string.Join(", ", shape)}) of {type}");
        return new NpyFile(type, shape, b[start..]);
    }

    /// <summary>The values as float32 (from f4 or f8).</summary>
    public float[] ToFloat32(string what)
    {
        if (Type == "f4")
        {
            var r = new float[Data.Length / 4];
            for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadSingleLittleEndian(Data.AsSpan(4 * i));
            return r;
        }
        if (Type == "f8")
        {
            var r = new float[Data.Length / 8];
            for (int i = 0; i < r.Length; i++) r[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(Data.AsSpan(8 * i));
            return r;
        }
        throw new BoardsException($"{what} must be float32, found {Type}");
    }

    /// <summary>The values as int64.</summary>
    public long[] ToInt64(string what)
    {
        if (Type != "i8") throw new BoardsException($"{what} must be int64, found {Type}");
        var r = new long[Data.Length / 8];
        for (int i = 0; i < r.Length; i++) r[i] = BinaryPrimitives.ReadInt64LittleEndian(Data.AsSpan(8 * i));
        return r;
    }

    /// <summary>Writes a uint8 array (for tools and tests).</summary>
    public static void WriteUInt8(string path, ReadOnlySpan<byte> data, params int[] shape) => Write(path, "|u1", data, shape);

    /// <summary>Writes a float32 array.</summary>
    public static void WriteFloat32(string path, ReadOnlySpan<float> data, params int[] shape)
    {
        var bytes = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
        Write(path, "<f4", bytes, shape);
    }

    private static void Write(string path, string descr, ReadOnlySpan<byte> data, int[] shape)
    {
        string dims = shape.Length == 1 ? $"{shape[0]}," : string.Join(", ", shape);
        string header = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}";
        int total = 10 + header.Length + 1;
        header = header.PadRight(header.Length + (64 - total % 64) % 64) + "\n";
        using var f = File.Create(path);
        f.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0]);
        Span<byte> len = stackalloc byte[2];
        BinaryPrimitives.WriteUInt16LittleEndian(len, (ushort)header.Length);
        f.Write(len);
        f.Write(Encoding.ASCII.GetBytes(header));
        f.Write(data);
    }
}
