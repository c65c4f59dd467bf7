using System.Runtime.CompilerServices;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Runtime.Kernels;

/// <summary>
/// Read access to a compressed filter (docs/format.md 5.10): the int8 value of element
/// (<c>row</c>, <c>col</c>) of output channel <c>channel</c>, where rows run over dims[0] and
/// columns over the rest (Conv2D [Cout, Kh·Kw·Cin], FullyConnected [Cout, Cin], depthwise one row of
/// Kh·Kw·Cout). Int4 values are the signed nibble; Index4 / Index8 values are
/// <c>codebook[channel / channelsPerGroup][index]</c>. Nothing is expanded: each value is decoded where it is used.
/// </summary>
public readonly ref struct CompressedFilter
{
    public readonly TensorType Type;
    public readonly ReadOnlySpan<byte> Data;
    /// <summary>Int8 [groups, 16 or 256]; empty for Int4.</summary>
    public readonly ReadOnlySpan<sbyte> Codebook;
    /// <summary>Bytes from one row to the next.</summary>
    public readonly int RowBytes;
    public readonly int ChannelsPerGroup;

    /// <param name="type">Int4, Index4 or Index8.</param>
    /// <param name="data">The filter tensor's bytes.</param>
    /// <param name="rowElements">Elements per dims[0] row.</param>
    /// <param name="codebook">The codebook tensor ([groups, size]) or empty for Int4.</param>
    /// <param name="channels">Output channels (Cout), split evenly among the codebook's groups.</param>
    public CompressedFilter(TensorType type, ReadOnlySpan<byte> data, int rowElements, ReadOnlySpan<sbyte> codebook, int channels)
    {
        Type = type;
        Data = data;
        Codebook = codebook;
        RowBytes = type == TensorType.Index8 ? rowElements : CompressedWeights.PackedRowBytes(rowElements);
        int size = CompressedWeights.CodebookSize(type);
        int groups = size == 0 ? 1 : System.Math.Max(1, codebook.Length / size);
        ChannelsPerGroup = System.Math.Max(1, channels / groups);
    }

    /// <summary>The int8 value of element (row, col) belonging to output channel <paramref name="channel"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int At(int row, int col, int channel)
    {
        int pos = row * RowBytes;
        if (Type == TensorType.Index8) return Codebook[(channel / ChannelsPerGroup) * 256 + Data[pos + col]];
        int nibble = (Data[pos + (col >> 1)] >> ((col & 1) << 2)) & 15;
        return Type == TensorType.Int4 ? (nibble ^ 8) - 8 : Codebook[(channel / ChannelsPerGroup) * 16 + nibble];
    }
}
