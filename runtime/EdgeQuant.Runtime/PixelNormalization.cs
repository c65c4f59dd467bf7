using System.Globalization;

namespace EdgeQuant.Runtime;

/// <summary>
/// How a camera pixel becomes the model's float input: x = (pixel / 255 - Mean[c]) / Std[c], per
/// channel c. Stored in the blob's metadata under <see cref="MetadataKey"/> by
/// <c>edgequant convert --pixels</c> (docs/format.md, section 5.9.1).
/// </summary>
public sealed class PixelNormalization
{
    /// <summary>The metadata key: value <c>mean=M0[,M1,M2];std=S0[,S1,S2]</c>, invariant-culture floats.</summary>
    public const string MetadataKey = "pixels";

    private readonly float[] _mean;
    private readonly float[] _std;

    /// <summary>Per-channel means, 1 or 3 values (one value applies to every channel).</summary>
    public ReadOnlySpan<float> Mean => _mean;
    /// <summary>Per-channel standard deviations, as many as <see cref="Mean"/>, each positive and finite.</summary>
    public ReadOnlySpan<float> Std => _std;
    /// <summary>1 or 3.</summary>
    public int ChannelCount => _mean.Length;

    /// <summary>x = pixel / 255: mean 0, std 1, one channel.</summary>
    public static PixelNormalization Identity { get; } = new([0f], [1f]);

    /// <exception cref="ArgumentException">Counts differ, are not 1 or 3, or a value is not finite (std not positive).</exception>
    public PixelNormalization(ReadOnlySpan<float> mean, ReadOnlySpan<float> std)
    {
        if (mean.Length != std.Length || (mean.Length != 1 && mean.Length != 3))
            throw new ArgumentException($"pixel normalization needs 1 or 3 means and as many stds, got {mean.Length} and {std.Length}");
        for (int c = 0; c < mean.Length; c++)
        {
            if (!float.IsFinite(mean[c])) throw new ArgumentException($"pixel mean {c} is {mean[c]}; it must be finite");
            if (!(std[c] > 0) || !float.IsFinite(std[c])) throw new ArgumentException($"pixel std {c} is {std[c]}; it must be positive and finite");
        }
        _mean = mean.ToArray();
        _std = std.ToArray();
    }

    /// <summary>Mean of channel <paramref name="channel"/> (a single value applies to every channel).</summary>
    public float MeanOf(int channel) => _mean.Length == 1 ? _mean[0] : _mean[channel];
    /// <summary>Std of channel <paramref name="channel"/> (a single value applies to every channel).</summary>
    public float StdOf(int channel) => _std.Length == 1 ? _std[0] : _std[channel];

    /// <summary>The float value pixel <paramref name="pixel"/> (0..255) of channel <paramref name="channel"/> stands for, computed in float32 exactly as written: (pixel / 255f - mean) / std.</summary>
    public float Normalize(int pixel, int channel) => (pixel / 255f - MeanOf(channel)) / StdOf(channel);

    /// <summary>
    /// Parses the command-line form: comma-separated means then stds, 2 values (gray: MEAN,STD) or
    /// 6 (RGB: M0,M1,M2,S0,S1,S2).
    /// </summary>
    /// <exception cref="FormatException">The text is not 2 or 6 invariant-culture numbers.</exception>
    public static PixelNormalization ParseArgument(string text)
    {
        var parts = SplitTrimmed(text, ',');
        if (parts.Length != 2 && parts.Length != 6)
            throw new FormatException($"--pixels '{text}': expected MEAN,STD (2 values, gray) or M0,M1,M2,S0,S1,S2 (6 values, RGB), found {parts.Length} values");
        var v = new float[parts.Length];
        for (int i = 0; i < v.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out v[i]))
                throw new FormatException($"--pixels '{text}': value {i + 1} '{parts[i]}' is not a number");
        int n = v.Length / 2;
        try { return new PixelNormalization(v.AsSpan(0, n), v.AsSpan(n)); }
        catch (ArgumentException e) { throw new FormatException($"--pixels '{text}': {e.Message}", e); }
    }

    /// <summary>The metadata value: <c>mean=0.1307;std=0.3081</c> (round-trip float text).</summary>
    public string ToMetadataValue() => $"mean={Join(_mean)};std={Join(_std)}";

    /// <summary>Parses a metadata value written by <see cref="ToMetadataValue"/>.</summary>
    /// <exception cref="FormatException">The value is malformed; the message quotes it.</exception>
    public static PixelNormalization ParseMetadataValue(string value)
    {
        var halves = SplitTrimmed(value, ';');
        if (halves.Length != 2 || !halves[0].StartsWith("mean=", StringComparison.Ordinal) || !halves[1].StartsWith("std=", StringComparison.Ordinal))
            throw new FormatException($"metadata '{MetadataKey}' = '{value}': expected 'mean=M[,M,M];std=S[,S,S]'");
        var mean = Floats(halves[0]["mean=".Length..], value);
        var std = Floats(halves[1]["std=".Length..], value);
        try { return new PixelNormalization(mean, std); }
        catch (ArgumentException e) { throw new FormatException($"metadata '{MetadataKey}' = '{value}': {e.Message}", e); }
    }

    // string.Split with TrimEntries is not in netstandard2.1.
    private static string[] SplitTrimmed(string text, char separator)
    {
        var parts = text.Split(separator);
        for (int i = 0; i < parts.Length; i++) parts[i] = parts[i].Trim();
        return parts;
    }

    private static float[] Floats(string list, string whole)
    {
        var parts = SplitTrimmed(list, ',');
        var r = new float[parts.Length];
        for (int i = 0; i < r.Length; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i]))
                throw new FormatException($"metadata '{MetadataKey}' = '{whole}': '{parts[i]}' is not a number");
        return r;
    }

    private static string Join(float[] v)
    {
        var s = new string[v.Length];
        for (int i = 0; i < v.Length; i++) s[i] = v[i].ToString("R", CultureInfo.InvariantCulture);
        return string.Join(",", s);
    }
}
