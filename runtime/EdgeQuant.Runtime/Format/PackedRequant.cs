using System.Buffers.Binary;

namespace EdgeQuant.Runtime.Format;

/// <summary>
/// The packed per-channel record of ops 55-57 (docs/format.md 5.12): for C output channels,
/// <c>bias[C]</c> (int16 or int32), <c>multiplier[C]</c> (u16, the top 16 bits of the Q31 multiplier) and
/// <c>shift[C]</c> (int8), one array after the other, little-endian. It stands for the int32 bias tensor
/// and the int32 multipliers and shifts of ops 50-52 (16 bytes per channel with the filter's float scale,
/// here 5 or 7). The runtime expands it once per model into int32 arrays with integer operations only
/// (<c>multiplier_q31 = m16 &lt;&lt; 15</c>), so every reader derives the same values.
/// </summary>
public static class PackedRequant
{
    /// <summary>Bytes of the record for <paramref name="channels"/> channels with <paramref name="biasBytes"/> (2 or 4) bytes per bias.</summary>
    public static long Bytes(int channels, int biasBytes) => (long)channels * (biasBytes + 3);

    /// <summary>The multiplier a packed u16 stands for: <c>m16 × 2^15</c>, a non-negative Q31 value.</summary>
    public static int Multiplier(ushort m16) => m16 << 15;

    /// <summary>
    /// The Q31 multiplier and shift of <paramref name="multiplier"/>, <paramref name="shift"/> rounded to the 16
    /// bits the record keeps (half away from zero; a mantissa that rounds up to 2^16 becomes 2^15 with the
    /// shift one higher, or the largest mantissa if the shift is already 30). Exactly representable afterwards.
    /// </summary>
    public static (int Multiplier, int Shift) Round16(int multiplier, int shift)
    {
        if (multiplier <= 0) return (0, shift);
        long m = ((long)multiplier + (1 << 14)) >> 15;
        if (m >= 1 << 16)
        {
            if (shift < 30) { m = 1 << 15; shift++; }
            else m = (1 << 16) - 1;
        }
        return ((int)(m << 15), shift);
    }

    /// <summary>The smallest bias width (2 or 4 bytes) that holds every bias exactly.</summary>
    public static int BiasBytesFor(ReadOnlySpan<int> bias)
    {
        foreach (int b in bias) if (b < short.MinValue || b > short.MaxValue) return 4;
        return 2;
    }

    /// <summary>Writes the record. Multipliers must be exactly representable (<see cref="Round16"/>), biases must fit <paramref name="biasBytes"/>.</summary>
    public static byte[] Encode(ReadOnlySpan<int> bias, ReadOnlySpan<int> multipliers, ReadOnlySpan<int> shifts, int biasBytes)
    {
        int c = bias.Length;
        if (multipliers.Length != c || shifts.Length != c) throw new ArgumentException("bias, multipliers and shifts differ in length");
        if (biasBytes is not (2 or 4)) throw new ArgumentOutOfRangeException(nameof(biasBytes), biasBytes, "bias width must be 2 or 4 bytes");
        var bytes = new byte[Bytes(c, biasBytes)];
        var span = bytes.AsSpan();
        for (int i = 0; i < c; i++)
        {
            if (biasBytes == 2)
            {
                if (bias[i] < short.MinValue || bias[i] > short.MaxValue) throw new ArgumentException($"bias {i} ({bias[i]}) does not fit int16");
                BinaryPrimitives.WriteInt16LittleEndian(span.Slice(2 * i), (short)bias[i]);
            }
            else BinaryPrimitives.WriteInt32LittleEndian(span.Slice(4 * i), bias[i]);
            if (multipliers[i] < 0 || (multipliers[i] & 0x7FFF) != 0) throw new ArgumentException($"multiplier {i} ({multipliers[i]}) is not a 16-bit packed value");
            BinaryPrimitives.WriteUInt16LittleEndian(span.Slice(biasBytes * c + 2 * i), (ushort)(multipliers[i] >> 15));
            if (shifts[i] < -31 || shifts[i] > 30) throw new ArgumentException($"shift {i} ({shifts[i]}) is outside [-31, 30]");
            span[(biasBytes + 2) * c + i] = (byte)(sbyte)shifts[i];
        }
        return bytes;
    }

    /// <summary>Expands a record (already bounds-checked) into int32 arrays of <paramref name="bias"/>.Length channels.</summary>
    public static void Decode(ReadOnlySpan<byte> record, int biasBytes, Span<int> bias, Span<int> multipliers, Span<int> shifts)
    {
        int c = bias.Length;
        for (int i = 0; i < c; i++)
        {
            bias[i] = biasBytes == 2 ? BinaryPrimitives.ReadInt16LittleEndian(record.Slice(2 * i)) : BinaryPrimitives.ReadInt32LittleEndian(record.Slice(4 * i));
            multipliers[i] = Multiplier(BinaryPrimitives.ReadUInt16LittleEndian(record.Slice(biasBytes * c + 2 * i)));
            shifts[i] = (sbyte)record[(biasBytes + 2) * c + i];
        }
    }
}
