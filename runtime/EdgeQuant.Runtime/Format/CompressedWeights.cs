using System.Buffers.Binary;

namespace EdgeQuant.Runtime.Format;

/// <summary>
/// The compressed filter encodings (docs/format.md 5.10 and 5.11): 4-bit weights, codebook
/// indices and sparse rows. Layout helpers shared by the reader, the writer and the kernels.
/// </summary>
public static class CompressedWeights
{
    /// <summary>Entries of a codebook row for <see cref="TensorType.Index4"/> (16) and <see cref="TensorType.Index8"/> (256).</summary>
    public static int CodebookSize(TensorType t) => t == TensorType.Index4 ? 16 : t == TensorType.Index8 ? 256 : 0;

    /// <summary>True for the filter encodings of the compressed and sparse ops.</summary>
    public static bool IsCompressed(TensorType t) => t is TensorType.Int4 or TensorType.Index4 or TensorType.Index8 or TensorType.SparseInt8;

    /// <summary>Bytes of one packed row of <paramref name="rowElements"/> 4-bit values (rows start on a byte).</summary>
    public static int PackedRowBytes(int rowElements) => (rowElements + 1) / 2;

    /// <summary>Bytes of a <see cref="TensorType.SparseInt8"/> tensor with <paramref name="rows"/> rows and <paramref name="nonZeros"/> stored values.</summary>
    public static long SparseBytes(int rows, long nonZeros) => 4L * (rows + 1) + ((2 * nonZeros + 3) & ~3L) + nonZeros;

    /// <summary>Offset of the u16 column array of a sparse tensor.</summary>
    public static int SparseColumnsOffset(int rows) => 4 * (rows + 1);

    /// <summary>Offset of the int8 value array of a sparse tensor.</summary>
    public static int SparseValuesOffset(int rows, int nonZeros) => 4 * (rows + 1) + ((2 * nonZeros + 3) & ~3);

    /// <summary>Largest row length of a sparse tensor (columns are u16).</summary>
    public const int MaxSparseRow = 65536;

    /// <summary>
    /// Checks a <see cref="TensorType.SparseInt8"/> tensor's bytes: row starts from 0, non-decreasing,
    /// ending at the stored count; the length matching that count; columns strictly increasing in
    /// each row and below the row length. Throws <see cref="InvalidModelException"/> naming the first violation.
    /// </summary>
    public static void ValidateSparse(ReadOnlySpan<byte> data, in Shape4 shape, string where)
    {
        int rows = shape.D0;
        long k = (long)shape.D1 * shape.D2 * shape.D3;
        if (k > MaxSparseRow) throw Model.Bad($"{where}: sparse rows of {k} elements exceed {MaxSparseRow} (u16 columns)");
        if (data.Length < 4L * (rows + 1)) throw Model.Bad($"{where}: {data.Length} bytes cannot hold the {rows + 1} row starts of a sparse tensor");
        int prev = BinaryPrimitives.ReadInt32LittleEndian(data);
        if (prev != 0) throw Model.Bad($"{where}: sparse row start 0 is {prev}, must be 0");
        for (int r = 1; r <= rows; r++)
        {
            int s = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(4 * r));
            if (s < prev || s - prev > k) throw Model.Bad($"{where}: sparse row start {r} is {s}, outside [{prev}, {prev + k}]");
            prev = s;
        }
        long nnz = prev;
        if (SparseBytes(rows, nnz) != data.Length)
            throw Model.Bad($"{where}: a sparse tensor of {rows} rows and {nnz} values takes {SparseBytes(rows, nnz)} bytes, the record says {data.Length}");
        var cols = data.Slice(SparseColumnsOffset(rows));
        for (int r = 0; r < rows; r++)
        {
            int s = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(4 * r)), e = BinaryPrimitives.ReadInt32LittleEndian(data.Slice(4 * r + 4));
            int last = -1;
            for (int i = s; i < e; i++)
            {
                int c = BinaryPrimitives.ReadUInt16LittleEndian(cols.Slice(2 * i));
                if (c <= last || c >= k) throw Model.Bad($"{where}: sparse row {r}, value {i - s}: column {c} is not above {last} and below {k}");
                last = c;
            }
        }
    }
}
