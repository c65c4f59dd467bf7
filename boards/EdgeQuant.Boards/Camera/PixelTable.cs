using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Math;

namespace EdgeQuant.Boards.Camera;

/// <summary>
/// Normalization folded into quantization: for each channel, the int8 code of every pixel value
/// 0..255, computed once per pipeline as the runtime quantizes the float
/// x = (pixel / 255 - mean) / std (<see cref="PixelNormalization.Normalize"/>), so a table lookup
/// gives exactly the bytes <see cref="Interpreter.SetInput"/> would write for that float image.
/// For a float32-input model (one that starts with a Quantize op) the table holds the floats
/// themselves and the model's own Quantize does the rest, so the result is exact by construction.
/// </summary>
public sealed class PixelTable
{
    private readonly sbyte[]? _codes;
    private readonly float[]? _floats;

    /// <summary>Channels (1 or 3).</summary>
    public int Channels { get; }
    /// <summary>True when the table holds float32 values (float-input model) instead of int8 codes.</summary>
    public bool IsFloat => _floats is not null;

    private PixelTable(int channels, sbyte[]? codes, float[]? floats)
    {
        Channels = channels;
        _codes = codes;
        _floats = floats;
    }

    /// <summary>int8 codes for an input quantized with <paramref name="scale"/> and <paramref name="zeroPoint"/>.</summary>
    public static PixelTable ForInt8(PixelNormalization normalization, int channels, float scale, int zeroPoint)
    {
        var t = new sbyte[channels * 256];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < 256; p++)
                t[c * 256 + p] = QuantMath.QuantizeS8(normalization.Normalize(p, c), scale, zeroPoint);
        return new PixelTable(channels, t, null);
    }

    /// <summary>float32 values for a float-input model.</summary>
    public static PixelTable ForFloat32(PixelNormalization normalization, int channels)
    {
        var t = new float[channels * 256];
        for (int c = 0; c < channels; c++)
            for (int p = 0; p < 256; p++)
                t[c * 256 + p] = normalization.Normalize(p, c);
        return new PixelTable(channels, null, t);
    }

    /// <summary>The 256 int8 codes of channel <paramref name="channel"/>.</summary>
    public ReadOnlySpan<sbyte> Codes(int channel) => (_codes ?? throw new InvalidOperationException("this table holds float32 values")).AsSpan(channel * 256, 256);

    /// <summary>The 256 float32 values of channel <paramref name="channel"/>.</summary>
    public ReadOnlySpan<float> Floats(int channel) => (_floats ?? throw new InvalidOperationException("this table holds int8 codes")).AsSpan(channel * 256, 256);
}
