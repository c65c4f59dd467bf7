namespace EdgeQuant.Cli.Firmware;

/// <summary>
/// Where the firmware C sources are: the <c>firmware/</c> folder of an EdgeQuant checkout, found
/// at run time from <c>--firmware-dir</c>, the <c>EDGEQUANT_FIRMWARE_DIR</c> environment variable,
/// by walking up from the current directory, and then from the tool's own location. The build
/// copies the sources next to the tool (and so into the tool package), so an installed tool finds
/// its own copy when it is not run inside a checkout.
/// </summary>
public sealed class FirmwareSources
{
    private FirmwareSources(string root) => Root = root;

    /// <summary>The firmware folder (holding include/, src/ and boards/).</summary>
    public string Root { get; }
    public string Boards => Path.Combine(Root, "boards");
    public string Include => Path.Combine(Root, "include");

    /// <summary>The runtime and kernel sources (firmware/src, recursively), sorted for a stable build.</summary>
    public string[] RuntimeSources() => Directory.Exists(Path.Combine(Root, "src"))
        ? Directory.GetFiles(Path.Combine(Root, "src"), "*.c", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToArray()
        : [];

    private static bool Looks(string dir) => File.Exists(Path.Combine(dir, "boards", "common", "startup.c"));

    public static FirmwareSources Find(string? explicitDir)
    {
        if (explicitDir is not null)
        {
            string full = Path.GetFullPath(explicitDir);
            if (!Looks(full)) throw new UsageException($"--firmware-dir {explicitDir}: not an EdgeQuant firmware folder (no boards/common/startup.c)");
            return Require(new FirmwareSources(full));
        }
        if (Environment.GetEnvironmentVariable("EDGEQUANT_FIRMWARE_DIR") is { Length: > 0 } env)
        {
            if (!Looks(env)) throw new UsageException($"EDGEQUANT_FIRMWARE_DIR={env}: not an EdgeQuant firmware folder (no boards/common/startup.c)");
            return Require(new FirmwareSources(Path.GetFullPath(env)));
        }
        foreach (string start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var d = new DirectoryInfo(start); d is not null; d = d.Parent)
            {
                string candidate = Path.Combine(d.FullName, "firmware");
                if (Looks(candidate)) return Require(new FirmwareSources(candidate));
            }
        throw new UsageException("cannot find the EdgeQuant firmware sources (firmware/boards/common/startup.c) above the current directory or the tool; run inside an EdgeQuant checkout, or pass --firmware-dir DIR or set EDGEQUANT_FIRMWARE_DIR");
    }

    private static FirmwareSources Require(FirmwareSources s)
    {
        if (!File.Exists(Path.Combine(s.Include, "edgequant.h")) || s.RuntimeSources().Length == 0)
            throw new UsageException($"{s.Root}: the C runtime (include/edgequant.h and src/*.c) is missing from this firmware folder");
        return s;
    }
}
