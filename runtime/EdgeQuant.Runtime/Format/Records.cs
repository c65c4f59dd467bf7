namespace EdgeQuant.Runtime.Format;

/// <summary>A rank-4 shape; lower ranks are stored left-aligned with trailing 1s ([N, C] is N, C, 1, 1).</summary>
public readonly record struct Shape4(int D0, int D1, int D2, int D3)
{
    public int this[int i] => i switch { 0 => D0, 1 => D1, 2 => D2, _ => D3 };
    public int FlatSize => D0 * D1 * D2 * D3;
    public override string ToString() => $"[{D0}, {D1}, {D2}, {D3}]";
}

/// <summary>A validated tensor record.</summary>
public readonly record struct TensorInfo(
    TensorType Type, int Rank, Shape4 Shape, TensorStorage Storage, int Offset, int ByteLength, int QuantIndex)
{
    public int ElementCount => Shape.FlatSize;

    /// <summary>The dimensions actually used (Rank of them).</summary>
    public int[] Dims()
    {
        var d = new int[Rank];
        for (int i = 0; i < Rank; i++) d[i] = Shape[i];
        return d;
    }

    /// <summary>Bytes per element of the byte-addressed types (int8 and index8 1, int16 2, int32 and float32 4, int64 8); 0 for packed or unknown types.</summary>
    public static int ElementSize(TensorType t) => t switch { TensorType.Int8 or TensorType.Index8 => 1, TensorType.Int16 => 2, TensorType.Int32 => 4, TensorType.Float32 => 4, TensorType.Int64 => 8, _ => 0 };

    /// <summary>True for the element types this reader knows.</summary>
    public static bool IsKnown(TensorType t) => t is TensorType.Int8 or TensorType.Int32 or TensorType.Float32
        or TensorType.Int16 or TensorType.Int64
        or TensorType.Int4 or TensorType.Index4 or TensorType.Index8 or TensorType.SparseInt8;

    /// <summary>
    /// The byte length a tensor of this type and shape must have: elements x size, or for the 4-bit types
    /// dims[0] rows of ceil(row elements / 2) bytes; -1 for <see cref="TensorType.SparseInt8"/>, whose length
    /// depends on its content (docs/format.md 5.11), and for unknown types.
    /// </summary>
    public static long ByteLengthOf(TensorType t, in Shape4 shape)
    {
        long n = (long)shape.D0 * shape.D1 * shape.D2 * shape.D3;
        if (t is TensorType.Int4 or TensorType.Index4) return (long)shape.D0 * ((n / shape.D0 + 1) / 2);
        int es = ElementSize(t);
        return es == 0 ? -1 : n * es;
    }
}

/// <summary>Quantization of a tensor: real = scale * (q - zeroPoint); per-channel along QuantizedDimension when ChannelCount &gt; 1.</summary>
public readonly record struct QuantInfo(int ChannelCount, int ZeroPoint, int ScalesOffset, int QuantizedDimension);

/// <summary>A validated op record. Params and scratch offsets are absolute (blob / arena).</summary>
public readonly record struct OpInfo(
    OpType Type, int InputCount, int OutputCount,
    int Input0, int Input1, int Input2, int Input3, int Output0, int Output1,
    int ParamsOffset, int ParamsBytes, int ScratchOffset, int ScratchBytes)
{
    public int Input(int i) => i switch { 0 => Input0, 1 => Input1, 2 => Input2, 3 => Input3, _ => -1 };
    public int Output(int i) => i switch { 0 => Output0, 1 => Output1, _ => -1 };
}

/// <summary>A model input or output: its tensor, name and the layout of the source model.</summary>
public sealed record ModelIo(string Name, int TensorIndex, SourceLayout Layout);
