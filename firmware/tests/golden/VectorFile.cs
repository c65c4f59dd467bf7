namespace EdgeQuant.Firmware.Golden;

/// <summary>
/// vectors.bin, little-endian: "EQGV", u32 version (1), u32 case count; then per case:
/// u32 name length, name (ASCII), u32 blob length, blob, u32 samples, u32 input bytes, inputs
/// (every model input's bytes per sample, samples back to back), u32 output bytes, outputs (same).
/// </summary>
internal static class VectorFile
{
    public static void Write(string path, IReadOnlyList<GoldenCase> cases)
    {
        using var f = new BinaryWriter(File.Create(path));
        f.Write("EQGV"u8);
        f.Write(1u);
        f.Write((uint)cases.Count);
        foreach (var c in cases)
        {
            var name = System.Text.Encoding.ASCII.GetBytes(c.Name);
            f.Write((uint)name.Length);
            f.Write(name);
            f.Write((uint)c.Blob.Length);
            f.Write(c.Blob);
            f.Write((uint)c.Samples);
            f.Write((uint)c.Inputs.Length);
            f.Write(c.Inputs);
            f.Write((uint)c.Outputs.Length);
            f.Write(c.Outputs);
        }
    }
}
