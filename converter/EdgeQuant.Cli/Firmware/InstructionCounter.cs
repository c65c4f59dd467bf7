using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace EdgeQuant.Cli.Firmware;

/// <summary>What one counted emulator run recorded: the plugin's marks and total, and the console.</summary>
public sealed record CountedRun(long[] Marks, long Total, string Console, double Seconds);

/// <summary>
/// Executed-instruction counts under qemu-system-arm with the TCG counting plugin
/// (<c>firmware/bench/plugin/count.c</c>). The plugin is built with the host C compiler once per
/// source and compiler into the firmware cache. The guest calls a no-inline marker function
/// (<c>eq_bench_mark</c>); the plugin records the count of executed guest instructions every
/// time the marker's first instruction executes, and prints the marks at exit. Counts are exact
/// and repeatable: a translated block adds its instruction count when it starts, qemu ends
/// blocks at branches (so the marker always starts one) and the bench images enable no
/// interrupt, so nothing is counted twice or missed.
/// </summary>
public static class InstructionCounter
{
    /// <summary>The plugin keeps this many marks (MAX_MARKS in count.c); a run needing more is refused up front.</summary>
    public const int MaxMarks = 4096;
    public const string MarkerSymbol = "eq_bench_mark";
    private static readonly TimeSpan ToolTimeout = TimeSpan.FromMinutes(2);

    /// <summary>The plugin's shared library, built on first use: <c>&lt;cache&gt;/plugin-&lt;hash&gt;/libcount.so</c>.</summary>
    public static string BuildPlugin(FirmwareSources sources, Toolchain tools)
    {
        string src = Path.Combine(sources.Root, "bench", "plugin", "count.c");
        if (!File.Exists(src)) throw new UsageException($"{sources.Root}: the qemu counting plugin's source (bench/plugin/count.c) is missing from this firmware folder");
        string cc = tools.HostCc ?? throw new InvalidOperationException("Toolchain.ForCounting supplies the host compiler");
        string[] flags = ["-O2", "-shared", "-fPIC", "-fvisibility=hidden", "-Wall"];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(cc + "\n" + new FileInfo(cc).Length + "\n" + string.Join(" ", flags) + "\n"));
        sha.AppendData(File.ReadAllBytes(src));
        string dir = Path.Combine(FirmwareBuilder.CacheRoot(), "plugin-" + Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant());
        string lib = Path.Combine(dir, "libcount.so");
        if (File.Exists(lib)) return lib;
        string tmp = dir + ".tmp-" + Environment.ProcessId;
        Directory.CreateDirectory(tmp);
        var r = Toolchain.Run(cc, [.. flags, "-o", Path.Combine(tmp, "libcount.so"), src], tmp, ToolTimeout);
        if (r.ExitCode != 0)
        {
            Directory.Delete(tmp, true);
            throw new IOException($"building the qemu counting plugin with {cc} failed: {Tail(r.Stderr + r.Stdout, 300)}");
        }
        try { Directory.Move(tmp, dir); }
        catch (IOException) when (File.Exists(lib)) { Directory.Delete(tmp, true); } // another build won the race
        return lib;
    }

    /// <summary>The address of <paramref name="symbol"/> in <paramref name="elf"/> (Thumb bit cleared), from arm-none-eabi-nm.</summary>
    public static long SymbolAddress(Toolchain tools, string elf, string symbol)
    {
        var r = Toolchain.Run(tools.Nm ?? throw new InvalidOperationException("Toolchain.ForCounting supplies nm"), [elf], null, ToolTimeout);
        if (r.ExitCode != 0) throw new IOException($"arm-none-eabi-nm {Path.GetFileName(elf)} failed: {Tail(r.Stderr, 300)}");
        foreach (string line in r.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 3 && f[2] == symbol && long.TryParse(f[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out long a))
                return a & ~1L;
        }
        throw new IOException($"{Path.GetFileName(elf)} has no symbol {symbol}: the bench image was not linked with its marker");
    }

    /// <summary>
    /// Runs <paramref name="elf"/> on the board under qemu with the plugin watching
    /// <see cref="MarkerSymbol"/>, in <paramref name="workDir"/> (semihosting files are relative to it).
    /// A non-zero exit code or a plugin that did not load is an <see cref="IOException"/> with the console's tail.
    /// </summary>
    public static CountedRun Run(Toolchain tools, Board board, string elf, string plugin, string workDir, TimeSpan timeout)
    {
        long mark = SymbolAddress(tools, elf, MarkerSymbol);
        Directory.CreateDirectory(workDir);
        string marksFile = Path.Combine(workDir, "marks.txt");
        if (File.Exists(marksFile)) File.Delete(marksFile);
        var sw = System.Diagnostics.Stopwatch.StartNew();
        var r = Toolchain.Run(tools.Qemu!,
            ["-M", board.QemuMachine!, "-nographic", "-monitor", "none", "-semihosting", "-kernel", elf,
             "-plugin", string.Create(CultureInfo.InvariantCulture, $"{plugin},mark=0x{mark:x}"), "-d", "plugin", "-D", marksFile],
            workDir, timeout);
        sw.Stop();
        string console = r.Stdout + r.Stderr;
        if (r.TimedOut)
            throw new IOException(string.Create(CultureInfo.InvariantCulture, $"{board.Name} (qemu, counting) did not finish within {timeout.TotalSeconds:F0} s (pass --timeout SECONDS for more)"));
        string log = File.Exists(marksFile) ? File.ReadAllText(marksFile) : "";
        var marks = new List<long>();
        long? total = null;
        foreach (string line in log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var f = line.Split(' ');
            if (f.Length == 3 && f[0] == "eq-mark" && int.TryParse(f[1], CultureInfo.InvariantCulture, out int i) && i == marks.Count
                && long.TryParse(f[2], CultureInfo.InvariantCulture, out long n))
                marks.Add(n);
            else if (f.Length == 2 && f[0] == "eq-total" && long.TryParse(f[1], CultureInfo.InvariantCulture, out long t))
                total = t;
            else if (line.StartsWith("eq-mark overflow", StringComparison.Ordinal))
                throw new IOException($"the counting plugin kept only {MaxMarks} marks; the run needed more (fewer samples)");
        }
        if (total is null)
            throw new IOException($"qemu-system-arm did not report counts from the plugin {Path.GetFileName(plugin)} (a qemu built without TCG plugin support?); exit code {r.ExitCode}: {Tail(console, 300)}");
        if (r.ExitCode != 0)
            throw new IOException($"{board.Name} (qemu) exited with code {r.ExitCode}: {Tail(console, 300)}");
        return new CountedRun(marks.ToArray(), total.Value, console, sw.Elapsed.TotalSeconds);
    }

    private static string Tail(string s, int n)
    {
        s = s.Trim();
        return s.Length <= n ? s : "..." + s[^n..];
    }
}
