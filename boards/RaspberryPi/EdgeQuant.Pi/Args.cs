using System.Globalization;
using EdgeQuant.Boards;

namespace EdgeQuant.Pi;

/// <summary>The command line: a command, then --name value options and --flags.</summary>
internal sealed class Args
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);
    private static readonly HashSet<string> Flags = ["--help", "--verbose", "--json"];

    public string? Command { get; }

    public Args(string[] args)
    {
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-')) Command = args[i++];
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (!a.StartsWith("--", StringComparison.Ordinal)) throw new UsageException($"unexpected argument '{a}'");
            if (Flags.Contains(a)) { _flags.Add(a); continue; }
            if (i + 1 >= args.Length) throw new UsageException($"{a} needs a value");
            _options[a] = args[++i];
        }
    }

    public bool Has(string flag) => _flags.Contains(flag);
    public string? Get(string name) => _options.TryGetValue(name, out var v) ? v : null;
    public string Require(string name, string what) => Get(name) ?? throw new UsageException($"missing {name} {what}");

    public int Int(string name, int dflt, int min, int max)
    {
        var s = Get(name);
        if (s is null) return dflt;
        int v;
        bool ok = s.StartsWith("0x", StringComparison.OrdinalIgnoreCase)
            ? int.TryParse(s.AsSpan(2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out v)
            : int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out v);
        if (!ok || v < min || v > max) throw new UsageException($"{name} '{s}' must be an integer in {min}..{max}");
        return v;
    }

    public int? OptionalInt(string name, int min, int max) => Get(name) is null ? null : Int(name, 0, min, max);

    public float[]? Floats(string name, int count)
    {
        var s = Get(name);
        if (s is null) return null;
        var parts = s.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Length != count) throw new UsageException($"{name} needs {count} comma-separated values, got {parts.Length}");
        var r = new float[count];
        for (int i = 0; i < count; i++)
            if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out r[i])) throw new UsageException($"{name}: '{parts[i]}' is not a number");
        return r;
    }

    public void AllowOnly(params string[] names)
    {
        foreach (var k in _options.Keys)
            if (Array.IndexOf(names, k) < 0) throw new UsageException($"unknown option {k} for '{Command}'");
    }
}

/// <summary>A command-line mistake: exit code 1 with a one-line message.</summary>
internal sealed class UsageException(string message) : Exception(message);
