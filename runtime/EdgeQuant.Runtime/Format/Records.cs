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

    public static int ElementSize(TensorType t) => t switch { TensorType.Int8 => 1, TensorType.Int32 => 4, TensorType.Float32 => 4, _ => 0 };
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
