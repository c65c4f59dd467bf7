using System.Buffers.Binary;

namespace EdgeQuant.Runtime.Format;

/// <summary>
/// The packed per-row record of LstmPacked and GruPacked (ops 25, 26; docs/format.md 6.3.1). For N = D × G × H
/// gate rows, one array after the other, little-endian: <c>bias[D][2][G×H]</c> (int16, Q3.12: the input part's
/// then the recurrent part's bias of each direction, added after the part's rescale), <c>input_multiplier[N]</c>
/// and <c>recurrent_multiplier[N]</c> (u16, the Q31 multiplier is <c>m16 &lt;&lt; 15</c>), <c>input_shift[N]</c> and
/// <c>recurrent_shift[N]</c> (int8). 10 bytes per row. The runtime expands it once per model with integer
/// operations only, so every reader derives the same values.
/// </summary>
public static class PackedRecurrent
{
    /// <summary>Bytes of the record for <paramref name="rows"/> gate rows (all directions).</summary>
    public static long Bytes(int rows) => 10L * rows;

    /// <summary>Writes the record. Multipliers must be 16-bit packed values (<see cref="PackedRequant.Round16"/>), biases int16, shifts in [-31, 30].</summary>
    public static byte[] Encode(ReadOnlySpan<int> bias, ReadOnlySpan<int> inputMultipliers, ReadOnlySpan<int> inputShifts,
        ReadOnlySpan<int> recurrentMultipliers, ReadOnlySpan<int> recurrentShifts)
    {
        int n = inputMultipliers.Length;
        if (bias.Length != 2 * n || inputShifts.Length != n || recurrentMultipliers.Length != n || recurrentShifts.Length != n)
            throw new ArgumentException("the record needs 2N biases and N multipliers and shifts per part");
        var bytes = new byte[Bytes(n)];
        var span = bytes.AsSpan();
        for (int i = 0; i < 2 * n; i++)
        {
            if (bias[i] < short.MinValue || bias[i] > short.MaxValue) throw new ArgumentException($"bias {i} ({bias[i]}) does not fit int16");
            BinaryPrimitives.WriteInt16LittleEndian(span.Slice(2 * i), (short)bias[i]);
        }
        for (int i = 0; i < n; i++)
        {
            Write(span, 4 * n, 8 * n, i, inputMultipliers[i], inputShifts[i]);
            Write(span, 6 * n, 9 * n, i, recurrentMultipliers[i], recurrentShifts[i]);
        }
        return bytes;

        static void Write(Span<byte> span, int multAt, int shiftAt, int i, int multiplier, int shift)
        {
            if (multiplier < 0 || (multiplier & 0x7FFF) != 0) throw new ArgumentException($"multiplier {i} ({multiplier}) is not a 16-bit packed value");
            if (shift < -31 || shift > 30) throw new ArgumentException($"shift {i} ({shift}) is outside [-31, 30]");
            BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(multAt + (2 * i)), (ushort)(multiplier >> 15));
            span[shiftAt + i] = (byte)(sbyte)shift;
        }
    }

    /// <summary>Expands a record (already bounds-checked) of <paramref name="rows"/> rows into int32 arrays.</summary>
    public static void Decode(ReadOnlySpan<byte> record, int rows, Span<int> bias, Span<int> inputMultipliers, Span<int> inputShifts,
        Span<int> recurrentMultipliers, Span<int> recurrentShifts)
    {
        for (int i = 0; i < 2 * rows; i++) bias[i] = BinaryPrimitives.ReadInt16LittleEndian(record.Slice(2 * i));
        for (int i = 0; i < rows; i++)
        {
            inputMultipliers[i] = PackedRequant.Multiplier(BinaryPrimitives.ReadUInt16LittleEndian(record.Slice((4 * rows) + (2 * i))));
            recurrentMultipliers[i] = PackedRequant.Multiplier(BinaryPrimitives.ReadUInt16LittleEndian(record.Slice((6 * rows) + (2 * i))));
            inputShifts[i] = (sbyte)record[(8 * rows) + i];
            recurrentShifts[i] = (sbyte)record[(9 * rows) + i];
        }
    }
}
