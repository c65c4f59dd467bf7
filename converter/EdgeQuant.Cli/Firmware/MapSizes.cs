using System.Globalization;
using System.Text.RegularExpressions;

namespace EdgeQuant.Cli.Firmware;

/// <summary>
/// Sizes read from a GNU ld map file ("Linker script and memory map" part): output sections,
/// and the input sections that came from the runtime's objects (those under one folder).
/// </summary>
public sealed partial class MapSizes
{
    /// <summary>Code and read-only data from the runtime objects.</summary>
    public long RuntimeCode { get; private set; }
    /// <summary>.data/.bss from the runtime objects.</summary>
    public long RuntimeRam { get; private set; }
    /// <summary>The runner's model and interpreter state (input sections .bss.eq_state*).</summary>
    public long StateRam { get; private set; }
    /// <summary>Output sections holding code and read-only data (.text, .rodata, exception tables), the model excluded.</summary>
    public long ImageCode { get; private set; }
    public long ModelSection { get; private set; }
    /// <summary>Output sections .data and .bss.</summary>
    public long StaticRam { get; private set; }
    public long DataLoad { get; private set; }

    [GeneratedRegex(@"^(\.\S+)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)(\s+load address 0x[0-9a-f]+)?\s*$")]
    private static partial Regex OutputSection();
    [GeneratedRegex(@"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s*$")]
    private static partial Regex AddressSizeOnly();
    [GeneratedRegex(@"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")]
    private static partial Regex InputSection();
    [GeneratedRegex(@"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*)$")]
    private static partial Regex AddressSizeFile();
    [GeneratedRegex(@"^ (\.\S+|COMMON)\s*$")]
    private static partial Regex InputSectionNameOnly();
    [GeneratedRegex(@"^(\.\S+)\s*$")]
    private static partial Regex OutputSectionNameOnly();

    public static MapSizes Parse(string map, string runtimeObjDir)
    {
        var r = new MapSizes();
        var lines = map.Split('\n');
        int start = Array.FindIndex(lines, l => l.StartsWith("Linker script and memory map", StringComparison.Ordinal));
        if (start < 0) throw new IOException("the linker map has no 'Linker script and memory map' part");
        for (int i = start + 1; i < lines.Length; i++)
        {
            string line = lines[i].TrimEnd('\r');
            Match m;
            string? outName = null;
            long outSize = 0;
            if ((m = OutputSection().Match(line)).Success) { outName = m.Groups[1].Value; outSize = Hex(m.Groups[3].Value); }
            else if ((m = OutputSectionNameOnly().Match(line)).Success && i + 1 < lines.Length && AddressSizeOnly().Match(lines[i + 1].TrimEnd('\r')) is { Success: true } n)
            {
                outName = m.Groups[1].Value;
                outSize = Hex(n.Groups[2].Value);
                i++;
            }
            if (outName is not null)
            {
                r.AddOutput(outName, outSize);
                continue;
            }

            string? inName = null, file = null;
            long inSize = 0;
            if ((m = InputSection().Match(line)).Success) { inName = m.Groups[1].Value; inSize = Hex(m.Groups[3].Value); file = m.Groups[4].Value.Trim(); }
            else if ((m = InputSectionNameOnly().Match(line)).Success && i + 1 < lines.Length && AddressSizeFile().Match(lines[i + 1].TrimEnd('\r')) is { Success: true } f)
            {
                inName = m.Groups[1].Value;
                inSize = Hex(f.Groups[2].Value);
                file = f.Groups[3].Value.Trim();
                i++;
            }
            if (inName is null || file is null) continue;
            bool runtime = file.StartsWith(runtimeObjDir, StringComparison.Ordinal);
            if (inName.StartsWith(".bss.eq_state", StringComparison.Ordinal)) r.StateRam += inSize;
            else if (runtime && (inName.StartsWith(".text", StringComparison.Ordinal) || inName.StartsWith(".rodata", StringComparison.Ordinal))) r.RuntimeCode += inSize;
            else if (runtime && (inName.StartsWith(".data", StringComparison.Ordinal) || inName.StartsWith(".bss", StringComparison.Ordinal) || inName == "COMMON")) r.RuntimeRam += inSize;
        }
        return r;
    }

    private void AddOutput(string name, long size)
    {
        switch (name)
        {
            case ".text" or ".rodata" or ".ARM.exidx" or ".ARM.extab" or ".init" or ".fini" or ".plt" or ".plt.got" or ".eh_frame" or ".eh_frame_hdr":
                ImageCode += size;
                break;
            case ".eq_model":
                ModelSection += size;
                break;
            case ".data":
                StaticRam += size;
                DataLoad += size;
                break;
            case ".bss":
                StaticRam += size;
                break;
        }
    }

    private static long Hex(string s) => long.Parse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture);
}
