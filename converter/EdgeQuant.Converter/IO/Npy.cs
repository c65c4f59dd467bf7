using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace EdgeQuant.Converter.IO;

/// <summary>
/// A dense array read from or written to a NumPy .npy file, in C order. Floating data
/// (&lt;f4, &lt;f8) is held as float32 in <see cref="Floats"/>; integer data (&lt;i8, &lt;i4,
/// |i1, |u1) as int64 in <see cref="Int64s"/>. Exactly one of the two is non-null.
/// </summary>
public sealed class NpyArray
{
    /// <summary>Wraps float32 data (not copied).</summary>
    public NpyArray(int[] shape, float[] floats, string dtype = "<f4")
    {
        CheckCount(shape, floats.Length);
        Shape = shape;
        Floats = floats;
        Dtype = dtype;
    }

    /// <summary>Wraps int64 data (not copied).</summary>
    public NpyArray(int[] shape, long[] int64s, string dtype = "<i8")
    {
        CheckCount(shape, int64s.Length);
        Shape = shape;
        Int64s = int64s;
        Dtype = dtype;
    }

    /// <summary>Dimensions, outermost first; empty for a 0-d array.</summary>
    public int[] Shape { get; }

    /// <summary>Values of a floating array, otherwise null.</summary>
    public float[]? Floats { get; }

    /// <summary>Values of an integer array, otherwise null.</summary>
    public long[]? Int64s { get; }

    /// <summary>The dtype of the file this came from (for example "&lt;f8"); "&lt;f4" or "&lt;i8" for arrays made in memory.</summary>
    public string Dtype { get; }

    /// <summary>Number of elements.</summary>
    public int ElementCount => Floats?.Length ?? Int64s!.Length;

    /// <summary>The values as float32 (a new array for integer data, the same array for float data).</summary>
    public float[] ToFloatArray()
    {
        if (Floats is not null)
        {
            return Floats;
        }

        var result = new float[Int64s!.Length];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = Int64s[i];
        }

        return result;
    }

    private static void CheckCount(int[] shape, int length)
    {
        long count = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException("dimensions must be non-negative", nameof(shape));
            }

            count *= d;
        }

        if (count != length)
        {
            throw new ArgumentException($"shape needs {count} values, got {length}", nameof(shape));
        }
    }
}

/// <summary>
/// Reader and writer for NumPy .npy files (format versions 1.0, 2.0 and 3.0). Reads
/// little-endian &lt;f4, &lt;f8 (converted to float32), &lt;i8, &lt;i4, |i1 and |u1 in C order;
/// writes &lt;f4 and &lt;i8. Every malformed file raises <see cref="ConversionException"/>
/// naming the file and the problem.
/// </summary>
public static class Npy
{
    /// <summary>Supported dtypes, for error messages.</summary>
    public const string SupportedDtypes = "<f4, <f8, <i8, <i4, |i1, |u1";

    private const int MaxHeaderLength = 1 << 20;
    private static readonly byte[] Magic = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y'];

    /// <summary>Reads the .npy file at <paramref name="path"/>.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (info.Exists && info.Length > int.MaxValue)
            {
                throw new ConversionException($"'{path}': the file is {info.Length} bytes; supported: .npy files up to 2 GiB");
            }

            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new ConversionException($"'{path}': file not found", e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new ConversionException($"'{path}': file not found (the directory does not exist)", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConversionException($"'{path}': cannot read the file: {e.Message}", e);
        }

        return Read(bytes, path);
    }

    /// <summary>Parses .npy bytes; <paramref name="sourceName"/> names the data in errors.</summary>
    public static NpyArray Read(ReadOnlySpan<byte> bytes, string sourceName = "<memory>")
    {
        if (bytes.Length < Magic.Length || !bytes[..Magic.Length].SequenceEqual(Magic))
        {
            throw Error(sourceName, "not a NumPy .npy file (it does not start with \\x93NUMPY)");
        }

        if (bytes.Length < 10)
        {
            throw Error(sourceName, "the file is truncated inside the preamble");
        }

        int major = bytes[6];
        int minor = bytes[7];
        int lengthSize = major switch
        {
            1 => 2,
            2 or 3 => 4,
            _ => throw Error(sourceName, $"format version {major}.{minor} is not supported; supported: 1.0, 2.0, 3.0"),
        };

        if (bytes.Length < 8 + lengthSize)
        {
            throw Error(sourceName, "the file is truncated inside the header length");
        }

        long headerLength = lengthSize == 2
            ? BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..])
            : BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
        if (headerLength > MaxHeaderLength)
        {
            throw Error(sourceName, $"the header claims {headerLength} bytes; a valid header is at most {MaxHeaderLength}");
        }

        int headerStart = 8 + lengthSize;
        if (bytes.Length < headerStart + headerLength)
        {
            throw Error(sourceName, $"the file is truncated: the header needs {headerLength} bytes but only {bytes.Length - headerStart} follow");
        }

        var headerBytes = bytes.Slice(headerStart, (int)headerLength);
        string header;
        try
        {
            header = major == 3
                ? new UTF8Encoding(false, true).GetString(headerBytes)
                : Encoding.Latin1.GetString(headerBytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new ConversionException($"'{sourceName}': the header is not valid UTF-8", e);
        }

        var (descr, fortranOrder, shape) = ParseHeader(header, sourceName);
        if (fortranOrder)
        {
            throw Error(sourceName, "the array is stored in Fortran (column-major) order; supported: C order (save with np.ascontiguousarray)");
        }

        var (kind, itemSize) = ParseDescr(descr, sourceName);
        long count = 1;
        foreach (long d in shape)
        {
            count *= d;
            if (count > int.MaxValue)
            {
                throw Error(sourceName, $"shape ({string.Join(", ", shape)}) has more than {int.MaxValue} elements; supported: at most 2^31 - 1");
            }
        }

        long dataStart = headerStart + headerLength;
        long dataBytes = bytes.Length - dataStart;
        long needed = count * itemSize;
        if (dataBytes != needed)
        {
            throw Error(
                sourceName,
                dataBytes < needed
                    ? $"the file is truncated: shape ({string.Join(", ", shape)}) of {descr} needs {needed} data bytes but only {dataBytes} follow the header"
                    : $"the file has {dataBytes - needed} bytes after the data of shape ({string.Join(", ", shape)}) of {descr}");
        }

        var dims = new int[shape.Count];
        for (int i = 0; i < dims.Length; i++)
        {
            dims[i] = (int)shape[i];
        }

        var data = bytes[(int)dataStart..];
        int n = (int)count;
        switch (kind)
        {
            case 'f' when itemSize == 4:
                {
                    var values = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        values[i] = BinaryPrimitives.ReadSingleLittleEndian(data[(i * 4)..]);
                    }

                    return new NpyArray(dims, values, descr);
                }

            case 'f':
                {
                    var values = new float[n];
                    for (int i = 0; i < n; i++)
                    {
                        values[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(data[(i * 8)..]);
                    }

                    return new NpyArray(dims, values, descr);
                }

            default:
                {
                    var values = new long[n];
                    for (int i = 0; i < n; i++)
                    {
                        values[i] = (kind, itemSize) switch
                        {
                            ('i', 8) => BinaryPrimitives.ReadInt64LittleEndian(data[(i * 8)..]),
                            ('i', 4) => BinaryPrimitives.ReadInt32LittleEndian(data[(i * 4)..]),
                            ('i', _) => (sbyte)data[i],
                            _ => data[i],
                        };
                    }

                    return new NpyArray(dims, values, descr);
                }
        }
    }

    /// <summary>Writes float32 data as a version 1.0 .npy file with dtype &lt;f4.</summary>
    public static void WriteFloat32(string path, ReadOnlySpan<float> data, int[] shape) => WriteFile(path, EncodeFloat32(data, shape));

    /// <summary>Writes int64 data as a version 1.0 .npy file with dtype &lt;i8.</summary>
    public static void WriteInt64(string path, ReadOnlySpan<long> data, int[] shape) => WriteFile(path, EncodeInt64(data, shape));

    /// <summary>Writes an array (&lt;f4 for float data, &lt;i8 for integer data).</summary>
    public static void Write(string path, NpyArray array) => WriteFile(path, Encode(array));

    /// <summary>The .npy bytes of an array (&lt;f4 for float data, &lt;i8 for integer data).</summary>
    public static byte[] Encode(NpyArray array) =>
        array.Floats is not null ? EncodeFloat32(array.Floats, array.Shape) : EncodeInt64(array.Int64s!, array.Shape);

    /// <summary>The .npy bytes of float32 data.</summary>
    public static byte[] EncodeFloat32(ReadOnlySpan<float> data, int[] shape)
    {
        var bytes = Preamble("<f4", shape, data.Length, 4, out int offset);
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(offset + (i * 4)), data[i]);
        }

        return bytes;
    }

    /// <summary>The .npy bytes of int64 data.</summary>
    public static byte[] EncodeInt64(ReadOnlySpan<long> data, int[] shape)
    {
        var bytes = Preamble("<i8", shape, data.Length, 8, out int offset);
        for (int i = 0; i < data.Length; i++)
        {
            BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(offset + (i * 8)), data[i]);
        }

        return bytes;
    }

    private static byte[] Preamble(string descr, int[] shape, int count, int itemSize, out int dataOffset)
    {
        long expected = 1;
        foreach (int d in shape)
        {
            if (d < 0)
            {
                throw new ArgumentException("dimensions must be non-negative", nameof(shape));
            }

            expected *= d;
        }

        if (expected != count)
        {
            throw new ArgumentException($"shape ({string.Join(", ", shape)}) needs {expected} values, got {count}", nameof(shape));
        }

        string shapeText = shape.Length == 1
            ? $"({shape[0].ToString(CultureInfo.InvariantCulture)},)"
            : $"({string.Join(", ", shape.Select(d => d.ToString(CultureInfo.InvariantCulture)))})";
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shapeText}, }}";

        // Pad with spaces so the data starts on a 64-byte boundary; the header ends with '\n'.
        int unpadded = 10 + dict.Length + 1;
        int padding = (64 - (unpadded % 64)) % 64;
        string header = dict + new string(' ', padding) + "\n";
        if (header.Length > ushort.MaxValue)
        {
            throw new ArgumentException("the shape has too many dimensions for a version 1.0 header", nameof(shape));
        }

        dataOffset = 10 + header.Length;
        var bytes = new byte[dataOffset + ((long)count * itemSize)];
        Magic.CopyTo(bytes, 0);
        bytes[6] = 1;
        bytes[7] = 0;
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(8), (ushort)header.Length);
        Encoding.ASCII.GetBytes(header, bytes.AsSpan(10));
        return bytes;
    }

    private static void WriteFile(string path, byte[] bytes)
    {
        try
        {
            File.WriteAllBytes(path, bytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConversionException($"'{path}': cannot write the file: {e.Message}", e);
        }
    }

    private static (char Kind, int ItemSize) ParseDescr(string descr, string sourceName)
    {
        if (descr.Length == 3)
        {
            char order = descr[0];
            string type = descr[1..];
            bool singleByte = type is "i1" or "u1";
            if (order == '>' && !singleByte)
            {
                throw Error(sourceName, $"dtype '{descr}' is big-endian; supported: {SupportedDtypes}");
            }

            if (order is '<' or '|' or '=' or '>')
            {
                switch (type)
                {
                    case "f4":
                        return ('f', 4);
                    case "f8":
                        return ('f', 8);
                    case "i8":
                        return ('i', 8);
                    case "i4":
                        return ('i', 4);
                    case "i1":
                        return ('i', 1);
                    case "u1":
                        return ('u', 1);
                }
            }
        }

        throw Error(sourceName, $"dtype '{descr}' is not supported; supported: {SupportedDtypes}");
    }

    private static (string Descr, bool FortranOrder, List<long> Shape) ParseHeader(string header, string sourceName)
    {
        object? parsed;
        try
        {
            var parser = new PythonLiteralParser(header);
            parsed = parser.ParseValue();
            parser.ExpectEnd();
        }
        catch (FormatException e)
        {
            throw new ConversionException($"'{sourceName}': the header is not a Python dict literal ({e.Message})", e);
        }

        if (parsed is not Dictionary<string, object?> dict)
        {
            throw Error(sourceName, "the header is not a Python dict");
        }

        if (!dict.TryGetValue("descr", out var descr))
        {
            throw Error(sourceName, "the header has no 'descr' key");
        }

        if (descr is not string descrText)
        {
            throw Error(sourceName, $"'descr' is a structured or non-string dtype; supported: {SupportedDtypes}");
        }

        if (!dict.TryGetValue("fortran_order", out var fortran) || fortran is not bool fortranOrder)
        {
            throw Error(sourceName, "the header has no boolean 'fortran_order' key");
        }

        if (!dict.TryGetValue("shape", out var shapeValue) || shapeValue is not List<object?> shapeItems)
        {
            throw Error(sourceName, "the header has no tuple 'shape' key");
        }

        var shape = new List<long>(shapeItems.Count);
        foreach (var item in shapeItems)
        {
            if (item is not long d || d < 0)
            {
                throw Error(sourceName, $"'shape' must hold non-negative integers; got {item ?? "None"}");
            }

            if (d > int.MaxValue)
            {
                throw Error(sourceName, $"shape dimension {d} is larger than {int.MaxValue}");
            }

            shape.Add(d);
        }

        return (descrText, fortranOrder, shape);
    }

    private static ConversionException Error(string sourceName, string message) => new($"'{sourceName}': {message}");

    /// <summary>
    /// Parses the Python literal subset .npy headers use: dicts, tuples, lists, strings, integers,
    /// True, False and None. Throws <see cref="FormatException"/> on anything else.
    /// </summary>
    private sealed class PythonLiteralParser(string text)
    {
        private const int MaxDepth = 32;
        private int _pos;
        private int _depth;

        public object? ParseValue()
        {
            SkipSpace();
            if (_pos >= text.Length)
            {
                throw new FormatException("unexpected end of header");
            }

            if (++_depth > MaxDepth)
            {
                throw new FormatException("nesting too deep");
            }

            try
            {
                char c = text[_pos];
                return c switch
                {
                    '{' => ParseDict(),
                    '(' => ParseSequence(')'),
                    '[' => ParseSequence(']'),
                    '\'' or '"' => ParseString(),
                    _ when c == '-' || char.IsAsciiDigit(c) => ParseInteger(),
                    _ => ParseWord(),
                };
            }
            finally
            {
                _depth--;
            }
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos != text.Length)
            {
                throw new FormatException($"unexpected '{text[_pos]}' at offset {_pos}");
            }
        }

        private Dictionary<string, object?> ParseDict()
        {
            _pos++;
            var dict = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                SkipSpace();
                if (Peek() == '}')
                {
                    _pos++;
                    return dict;
                }

                if (ParseValue() is not string key)
                {
                    throw new FormatException("dict keys must be strings");
                }

                SkipSpace();
                Expect(':');
                dict[key] = ParseValue();
                SkipSpace();
                if (Peek() == ',')
                {
                    _pos++;
                }
                else if (Peek() != '}')
                {
                    throw new FormatException($"expected ',' or '}}' at offset {_pos}");
                }
            }
        }

        private List<object?> ParseSequence(char close)
        {
            _pos++;
            var items = new List<object?>();
            while (true)
            {
                SkipSpace();
                if (Peek() == close)
                {
                    _pos++;
                    return items;
                }

                items.Add(ParseValue());
                SkipSpace();
                if (Peek() == ',')
                {
                    _pos++;
                }
                else if (Peek() != close)
                {
                    throw new FormatException($"expected ',' or '{close}' at offset {_pos}");
                }
            }
        }

        private string ParseString()
        {
            char quote = text[_pos++];
            var sb = new StringBuilder();
            while (true)
            {
                if (_pos >= text.Length)
                {
                    throw new FormatException("unterminated string");
                }

                char c = text[_pos++];
                if (c == quote)
                {
                    return sb.ToString();
                }

                if (c == '\\')
                {
                    if (_pos >= text.Length)
                    {
                        throw new FormatException("unterminated string");
                    }

                    c = text[_pos++];
                }

                sb.Append(c);
            }
        }

        private long ParseInteger()
        {
            int start = _pos;
            if (text[_pos] == '-')
            {
                _pos++;
            }

            while (_pos < text.Length && char.IsAsciiDigit(text[_pos]))
            {
                _pos++;
            }

            if (!long.TryParse(text.AsSpan(start, _pos - start), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value))
            {
                throw new FormatException($"invalid integer '{text[start.._pos]}'");
            }

            // Python 2 long literals (written by old numpy versions) end in L.
            if (_pos < text.Length && text[_pos] is 'L' or 'l')
            {
                _pos++;
            }

            return value;
        }

        private object? ParseWord()
        {
            int start = _pos;
            while (_pos < text.Length && char.IsAsciiLetter(text[_pos]))
            {
                _pos++;
            }

            return text[start.._pos] switch
            {
                "True" => true,
                "False" => false,
                "None" => null,
                "" => throw new FormatException($"unexpected '{text[start]}' at offset {start}"),
                var word => throw new FormatException($"unexpected '{word}' at offset {start}"),
            };
        }

        private void SkipSpace()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }

        private char Peek() => _pos < text.Length ? text[_pos] : throw new FormatException("unexpected end of header");

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw new FormatException($"expected '{c}' at offset {_pos}");
            }

            _pos++;
        }
    }
}
