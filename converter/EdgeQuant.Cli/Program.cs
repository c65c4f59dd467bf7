using EdgeQuant.Converter;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli;

/// <summary>The `edgequant` command line. Exit codes: 0 success, 1 user error (one line on stderr), 2 internal error.</summary>
public static class Program
{
    public const string Usage = """
        edgequant - convert float ONNX models to calibrated int8 .eqm blobs and run them

        usage:
          edgequant demo [--model NAME] [--zoo DIR] [--json]
          edgequant convert MODEL.onnx --calib X.npy|NAME=X.npy... [-o OUT.eqm] [--method minmax|percentile|entropy|mse] [--per-tensor] [--report R.json] [--labels FILE] [--pixels MEAN,STD|M0,M1,M2,S0,S1,S2] [--json]
                [--weights int8|int4|codebook4|codebook8] [--rounding nearest|adaptive] [--prune SPARSITY [--structured]]
          edgequant convert MODEL.qdq.onnx [-o OUT.eqm] (a QDQ model carries its quantization: --calib optional)
          edgequant convert MODEL.onnx --dynamic [-o OUT.eqm] [--per-tensor] [--labels FILE] [--json] (no calibration)
          edgequant compress-sweep MODEL.onnx --calib X.npy --data X.npy --labels Y.npy [--iterations N] [--rounds N] [--pruning-only] [--sparsities F,F,...] [--json]
          edgequant report MODEL.onnx --calib X.npy --data X.npy --labels Y.npy -o REPORT.html [--json] [--configs LIST] [--samples N] [--calib-samples N]
                [--iterations N] [--sqnr-samples N] [--choose CONFIG] [--budget POINTS]
          edgequant eval MODEL.onnx|MODEL.eqm --data X.npy|NAME=X.npy... --labels Y.npy [--reference MODEL.onnx] [--json]
          edgequant run MODEL.onnx|MODEL.eqm --input X.npy|NAME=X.npy... --output Y.npy|NAME=Y.npy... [--json]
          edgequant inspect MODEL.eqm [--json]
          edgequant bench MODEL.eqm [--iterations N] [--threads N] [--per-op [--rounds N]] [--json]
            --per-op --threads N: each op's median with 1 and N threads, alternating in rounds (default 5)
          edgequant export-onnx MODEL.eqm [-o OUT.qdq.onnx] [--batch dynamic|1] [--activations int8|uint8] [--json]
          edgequant firmware build MODEL.eqm --board BOARD [-o DIR] [--json]
          edgequant firmware run MODEL.eqm --board BOARD --input X.npy|X.bin --output Y.npy|Y.bin|NAME=Y.npy... [--json]
          edgequant firmware bench --layers --board BOARD [--opt Os|O2|O3] [--json]
          edgequant firmware bench MODEL.eqm --board BOARD [--samples N] [--input X.npy|X.bin] [--json]
            boards: mps2-an385 (M3), mps2-an386 (M4), mps2-an505 (M33), mps3-an547 (M55), host;
            options: --firmware-dir DIR (the C sources; default: found above the current directory),
            --timeout SECONDS (emulator run, default 600), --build-dir DIR (run, bench: keep the images there),
            --first N (run: only the first N samples), --output NAME=Y.npy|NAME=Y.bin (run: that output, repeatable, as for `run`)
            bench: executed instructions, counted exactly under qemu by a TCG plugin (emulated boards only).
              --layers: issue 8's four reference layers (conv3x3, conv1x1, depthwise3x3, fully_connected),
              MACs, instructions and instructions per MAC beside CMSIS-NN v7's figure for the core;
              --opt: the kernels' optimization (default Os, as the images). MODEL.eqm: per op (index,
              type, MACs, instructions, instructions per MAC) and per inference, plus the sizes of
              `firmware build`; N samples (default 1) from --input, else seeded pseudo-random input.

        options common to every command: --verbose (stack traces on errors), --help
        data files are NumPy .npy, float32, in the source model's own layout; labels int64 [N].
        An input whose first dimension is dynamic (or 1) is batched: data [N, ...] is N samples. Any
        other static input shape is one sample: data of exactly that shape is one invocation, and
        [K, shape...] is K. A model with several inputs takes one file per input, each given as
        NAME=FILE.npy (repeat the option: --input a=A.npy --input b=B.npy).
        `edgequant COMMAND --help` describes one command.
        """;

    public static int Main(string[] args)
    {
        var stdout = Console.Out;
        var stderr = Console.Error;
        return Run(args, stdout, stderr);
    }

    /// <summary>Runs a command with the given writers (tests call this directly).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        bool verbose = args.Contains("--verbose");
        try
        {
            var a = new Args(args.Where(x => x != "--verbose").ToArray());
            if (a.Command is not null && a.Has("--help") && CommandHelp.For(a.Command) is { } help)
            {
                stdout.Write(help);
                return 0;
            }
            if (a.Command is null || a.Has("--help") || a.Command is "help" or "-h")
            {
                stdout.Write(Usage);
                return a.Command is null && !a.Has("--help") ? 1 : 0;
            }
            var ctx = new CommandContext(a, stdout, stderr);
            switch (a.Command)
            {
                case "convert": Commands.Convert(ctx); break;
                case "eval": Commands.Eval(ctx); break;
                case "run": Commands.RunModel(ctx); break;
                case "inspect": Commands.Inspect(ctx); break;
                case "bench": Commands.Bench(ctx); break;
                case "demo": Commands.Demo(ctx); break;
                case "export-onnx": Commands.ExportOnnx(ctx); break;
                case "firmware": Commands.Firmware(ctx); break;
                case "compress-sweep": Commands.CompressSweep(ctx); break;
                case "report": Commands.Report(ctx); break;
                default: throw new UsageException($"unknown command '{a.Command}'; commands: demo, convert, eval, run, inspect, bench, export-onnx, firmware, compress-sweep, report (see --help)");
            }
            return 0;
        }
        catch (Exception e) when (e is UsageException or ConversionException or InvalidModelException or FileNotFoundException or DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"edgequant: error: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            return 1;
        }
        catch (Exception e)
        {
            stderr.WriteLine($"edgequant: internal error: {e.GetType().Name}: {e.Message}");
            if (verbose) stderr.WriteLine(e);
            else stderr.WriteLine("(run with --verbose for the stack trace, and please report it)");
            return 2;
        }
    }
}

/// <summary>A mistake in the command line.</summary>
public sealed class UsageException(string message) : Exception(message);

/// <summary>Parsed arguments: a command, positionals, and --options with or without values.</summary>
public sealed class Args
{
    private static readonly HashSet<string> Flags = ["--json", "--per-tensor", "--dynamic", "--help", "--verbose", "--reference-kernels", "--per-op", "--layers", "--structured", "--mixed-precision", "--pruning-only"];
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _repeated = new(StringComparer.Ordinal);
    private readonly HashSet<string> _flags = new(StringComparer.Ordinal);

    public Args(string[] args)
    {
        int i = 0;
        if (args.Length > 0 && !args[0].StartsWith('-')) Command = args[i++];
        for (; i < args.Length; i++)
        {
            string a = args[i];
            if (a.StartsWith('-') && a.Length > 1 && !double.TryParse(a, out _))
            {
                if (Flags.Contains(a)) { _flags.Add(a); continue; }
                if (i + 1 >= args.Length) throw new UsageException($"option {a} needs a value");
                _options[a] = args[++i];
                if (!_repeated.TryGetValue(a, out var list)) _repeated[a] = list = [];
                list.Add(args[i]);
            }
            else Positionals.Add(a);
        }
    }

    public string? Command { get; }
    public List<string> Positionals { get; } = [];
    public bool Has(string flag) => _flags.Contains(flag);
    public string? Get(string name, string? alias = null) => _options.TryGetValue(name, out var v) ? v : alias is not null && _options.TryGetValue(alias, out v) ? v : null;
    /// <summary>Every value of an option that may be repeated (--input a=A.npy --input b=B.npy), in order; empty when absent.</summary>
    public IReadOnlyList<string> GetAll(string name) => _repeated.TryGetValue(name, out var v) ? v : [];

    public string Require(string name, string what) => Get(name) ?? throw new UsageException($"missing {name} {what}");

    public string Positional(int i, string what) => i < Positionals.Count ? Positionals[i] : throw new UsageException($"missing {what}");

    public void AllowOnly(params string[] names)
    {
        foreach (var k in _options.Keys)
            if (!names.Contains(k)) throw new UsageException($"unknown option {k} for '{Command}'");
        foreach (var k in _flags)
            if (!names.Contains(k) && k != "--help") throw new UsageException($"unknown option {k} for '{Command}'");
    }
}

/// <summary>What a command needs: its arguments and where to write.</summary>
public sealed record CommandContext(Args Args, TextWriter Out, TextWriter Err)
{
    public bool Json => Args.Has("--json");

    /// <summary>A progress bar on stderr when it is a terminal and output is not JSON.</summary>
    public Action<int, int>? Progress(string label)
    {
        if (Json || Console.IsErrorRedirected || !ReferenceEquals(Err, Console.Error)) return null;
        int last = -1;
        return (done, total) =>
        {
            int pct = total == 0 ? 100 : done * 100 / total;
            if (pct == last && done != total) return;
            last = pct;
            int width = 30, fill = pct * width / 100;
            Err.Write($"\r{label,-12} [{new string('#', fill)}{new string('.', width - fill)}] {done}/{total}");
            if (done == total) Err.WriteLine();
        };
    }
}
