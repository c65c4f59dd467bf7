using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Cli.Firmware;

/// <summary>One reference layer of issue 8 as counted on a board.</summary>
/// <param name="Instructions">Executed instructions of the runtime's dispatcher (the optimized kernel when the core has one).</param>
/// <param name="ReferenceInstructions">Executed instructions of the reference kernel on the same data.</param>
/// <param name="CmsisNn">CMSIS-NN v7's instructions per MAC on this core, from the issue's table (null: the table has no column for it).</param>
public sealed record LayerFigure(string Layer, string Shape, long Macs, long Instructions, long ReferenceInstructions, long StackBytes, double? CmsisNn)
{
    public double InstructionsPerMac => (double)Instructions / Macs;
    public double ReferenceInstructionsPerMac => (double)ReferenceInstructions / Macs;
}

/// <summary>
/// <c>edgequant firmware bench --layers</c>: the four reference layers of issue 8
/// (<c>firmware/bench/layers.c</c>: per-channel int8, input offset 128, output offset -128, random
/// data, the converter's folded bias and planned scratch) linked with the runtime's objects for a
/// board, run under qemu with the counting plugin. The image is cached like the runtime objects.
/// </summary>
public static partial class LayerBench
{
    /// <summary>The layers, in the order layers.c runs them: key, shape, MACs.</summary>
    public static readonly (string Key, string Shape, long Macs)[] Layers =
    [
        ("conv3x3", "3x3 conv, 14x14x16 to 32, pad 1", 903_168),
        ("conv1x1", "1x1 conv, 14x14x32 to 64", 401_408),
        ("depthwise3x3", "depthwise 3x3, 14x14x32, pad 1", 56_448),
        ("fully_connected", "fully connected 256 to 64", 16_384),
    ];

    /// <summary>
    /// CMSIS-NN v7's executed instructions per MAC, measured on the same emulated cores (issue 8's
    /// table, in the order of <see cref="Layers"/>). The table has no Cortex-M33 column.
    /// </summary>
    public static double[]? CmsisNnV7(string core) => core switch
    {
        "Cortex-M3" => [3.06, 3.67, 9.78, 3.53],
        "Cortex-M4" => [2.14, 2.71, 8.74, 2.08],
        "Cortex-M55" => [0.33, 0.61, 2.69, 0.53],
        _ => null,
    };

    [GeneratedRegex(@"^region (\d+) (\S+) (opt|ref) macs=(\d+) match=([01]) stack=(\d+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RegionLine();

    public static LayerFigure[] Run(FirmwareSources sources, Board board, Toolchain tools, string optimization, TimeSpan timeout)
    {
        string layers = Path.Combine(sources.Root, "bench", "layers.c");
        if (!File.Exists(layers)) throw new UsageException($"{sources.Root}: the layer bench (bench/layers.c) is missing from this firmware folder");
        string plugin = InstructionCounter.BuildPlugin(sources, tools);
        string elf = CachedImage(sources, board, tools, optimization, layers);
        string work = Directory.CreateTempSubdirectory("edgequant-layers-").FullName;
        try
        {
            var run = InstructionCounter.Run(tools, board, elf, plugin, work, timeout);
            var regions = RegionLine().Matches(run.Console);
            var m = run.Marks;
            if (m.Length != 2 + 2 * regions.Count || regions.Count != 2 * Layers.Length)
                throw new IOException($"the layer bench on {board.Name} printed {regions.Count} regions and the plugin recorded {m.Length} marks; expected {2 * Layers.Length} and {2 + 4 * Layers.Length}");
            long calibration = m[1] - m[0];
            var cmsis = CmsisNnV7(board.Core);
            var result = new LayerFigure[Layers.Length];
            for (int l = 0; l < Layers.Length; l++)
            {
                Match opt = regions[2 * l], rf = regions[2 * l + 1];
                var (key, shape, macs) = Layers[l];
                if (opt.Groups[2].Value != key || opt.Groups[3].Value != "opt" || rf.Groups[2].Value != key || rf.Groups[3].Value != "ref"
                    || long.Parse(opt.Groups[4].Value, CultureInfo.InvariantCulture) != macs)
                    throw new IOException($"the layer bench's region {2 * l} is '{opt.Value.Trim()}', expected layer {key} with {macs} MACs");
                if (opt.Groups[5].Value != "1")
                    throw new IOException($"{key} on {board.Name}: the runtime's kernel and the reference kernel wrote different bytes");
                long Region(int i) => m[2 * i + 3] - m[2 * i + 2] - calibration;
                result[l] = new LayerFigure(key, shape, macs, Region(2 * l), Region(2 * l + 1),
                    long.Parse(opt.Groups[6].Value, CultureInfo.InvariantCulture), cmsis?[l]);
            }
            return result;
        }
        finally { Directory.Delete(work, true); }
    }

    /// <summary>The layer bench image for the board and optimization, from the cache when its inputs are unchanged.</summary>
    private static string CachedImage(FirmwareSources sources, Board board, Toolchain tools, string optimization, string layers)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes($"{tools.Cc}\n{new FileInfo(tools.Cc).Length}\n{optimization}\n{board.CFlags}\n{board.MemoryLd()}\n"));
        var inputs = new[] { "include", "src", Path.Combine("boards", "common") }
            .SelectMany(d => Directory.GetFiles(Path.Combine(sources.Root, d), "*", SearchOption.AllDirectories))
            .Append(layers).Order(StringComparer.Ordinal);
        foreach (string f in inputs)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(sources.Root, f) + "\n"));
            sha.AppendData(File.ReadAllBytes(f));
        }
        string dir = Path.Combine(FirmwareBuilder.CacheRoot(), $"layers-{board.Name}{optimization}-{Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant()}");
        string elf = Path.Combine(dir, "layers.elf");
        if (File.Exists(elf)) return elf;
        string tmp = dir + ".tmp-" + Environment.ProcessId;
        if (Directory.Exists(tmp)) Directory.Delete(tmp, true);
        new FirmwareBuilder(sources, board, tools, optimization).BuildProgram([layers], tmp, "layers");
        try { Directory.Move(tmp, dir); }
        catch (IOException) when (File.Exists(elf)) { Directory.Delete(tmp, true); } // another build won the race
        return elf;
    }
}

/// <summary>One op of a model as counted on a board, over the benched samples.</summary>
/// <param name="Instructions">Mean executed instructions of <c>eq_invoke_op</c> over the samples.</param>
public sealed record OpFigure(int Index, OpType Type, long Macs, double Instructions, long MinInstructions, long MaxInstructions)
{
    public double? InstructionsPerMac => Macs > 0 ? Instructions / Macs : null;
}

/// <summary>What <see cref="ModelBench.Run"/> counted.</summary>
/// <param name="Total">Mean executed instructions of one whole <c>eq_invoke</c>.</param>
/// <param name="SumOfOps">Mean over the samples of the sum of the per-op counts.</param>
public sealed record ModelBenchResult(OpFigure[] Ops, double Total, long MinTotal, long MaxTotal, double SumOfOps, long Macs, int Samples, double Seconds, byte[] Output);

/// <summary>
/// <c>edgequant firmware bench MODEL.eqm</c>: the model's image with the bench runner
/// (<c>firmware/bench/model_bench.c</c>) in place of the board runner, under qemu with the
/// counting plugin. Each sample runs the ops one by one (<c>eq_invoke_op</c>, each between two
/// markers) and then, on the same input, one whole <c>eq_invoke</c> between two markers.
/// A region's count is the difference of its marks minus an empty region's (the marker calls).
/// </summary>
public static partial class ModelBench
{
    [GeneratedRegex(@"^eq_bench: ops=(\d+) samples=(\d+)", RegexOptions.Multiline)]
    private static partial Regex ResultLine();
    [GeneratedRegex(@"^eq_bench: error: (.*)$", RegexOptions.Multiline)]
    private static partial Regex ErrorLine();

    /// <summary>Marks a run of <paramref name="samples"/> samples of a model of <paramref name="ops"/> ops records.</summary>
    public static long MarksNeeded(int ops, int samples) => 2 + (long)samples * (2L * ops + 2);

    /// <summary>
    /// Counts of a wrong computation are worthless: the board's outputs must be the C# runtime's
    /// bytes for the same input bytes (the raw tensors, whatever their element type).
    /// </summary>
    private static void CheckAgainstCsharpRuntime(Model model, byte[] input, byte[] output, Board board)
    {
        var inT = model.Tensors[model.Inputs[0].TensorIndex];
        var arena = new byte[Math.Max(16, model.ArenaBytes)];
        using var interp = new Interpreter(model, arena);
        int samples = input.Length / inT.ByteLength, perSample = FirmwareBuilder.AllOutputBytes(model);
        for (int s = 0; s < samples; s++)
        {
            input.AsSpan(s * inT.ByteLength, inT.ByteLength).CopyTo(arena.AsSpan(inT.Offset, inT.ByteLength));
            interp.Invoke();
            int at = s * perSample;
            for (int k = 0; k < model.Outputs.Count; k++)
            {
                var outT = model.Tensors[model.Outputs[k].TensorIndex];
                var want = OutputBytes(model, outT, model.Outputs[k].TensorIndex, arena);
                var got = output.AsSpan(at, outT.ByteLength);
                at += outT.ByteLength;
                int i = want.CommonPrefixLength(got);
                if (i < want.Length)
                    throw new IOException($"{board.Name}: output '{model.Outputs[k].Name}' of sample {s} differs from the C# runtime's at byte {i} ({got[i]} against {want[i]}); the counts are not reported");
            }
        }
    }

    /// <summary>An output's bytes after an Invoke over <paramref name="arena"/> (a constant output's from the blob).</summary>
    private static ReadOnlySpan<byte> OutputBytes(Model model, TensorInfo t, int tensorIndex, byte[] arena)
        => t.Storage == TensorStorage.Arena ? arena.AsSpan(t.Offset, t.ByteLength) : model.GetConstantBytes(tensorIndex);

    /// <summary>Refuses, before anything is built, a run that would need more marks than the plugin keeps.</summary>
    public static void CheckMarks(int ops, int samples)
    {
        if (MarksNeeded(ops, samples) > InstructionCounter.MaxMarks)
            throw new UsageException($"{samples} samples of a {ops}-op model need {MarksNeeded(ops, samples)} marks, the counting plugin keeps {InstructionCounter.MaxMarks}: use at most {(InstructionCounter.MaxMarks - 2) / (2 * ops + 2)} samples");
    }

    public static ModelBenchResult Run(FirmwareSources sources, Board board, Toolchain tools, string modelPath, Model model,
        byte[] input, string buildDir, TimeSpan timeout)
    {
        string runner = Path.Combine(sources.Root, "bench", "model_bench.c");
        if (!File.Exists(runner)) throw new UsageException($"{sources.Root}: the model bench runner (bench/model_bench.c) is missing from this firmware folder");
        int inBytes = model.Tensors[model.Inputs[0].TensorIndex].ByteLength, outBytes = FirmwareBuilder.AllOutputBytes(model);
        if (input.Length == 0 || input.Length % inBytes != 0)
            throw new UsageException($"{input.Length} input bytes are not a whole number of samples of {inBytes} bytes (the model's input tensor)");
        int samples = input.Length / inBytes, ops = model.Ops.Count;
        CheckMarks(ops, samples);
        string plugin = InstructionCounter.BuildPlugin(sources, tools);
        var image = new FirmwareBuilder(sources, board, tools).Build(modelPath, buildDir, runner,
            [$"-DEQ_BENCH_INPUT_BYTES={inBytes}", $"-DEQ_BENCH_OUTPUT_BYTES={outBytes}"]);
        string work = Path.Combine(buildDir, "run");
        Directory.CreateDirectory(work);
        File.WriteAllBytes(Path.Combine(work, "input.bin"), input);
        var run = InstructionCounter.Run(tools, board, image.Executable, plugin, work, timeout);
        if (ErrorLine().Match(run.Console) is { Success: true } e) throw new IOException($"{board.Name} (qemu): {e.Groups[1].Value.Trim()}");
        var r = ResultLine().Match(run.Console);
        if (!r.Success || int.Parse(r.Groups[1].Value, CultureInfo.InvariantCulture) != ops || int.Parse(r.Groups[2].Value, CultureInfo.InvariantCulture) != samples)
            throw new IOException($"the bench runner on {board.Name} did not report {ops} ops and {samples} samples: {run.Console.Trim()}");
        var m = run.Marks;
        if (m.Length != MarksNeeded(ops, samples))
            throw new IOException($"the counting plugin recorded {m.Length} marks, expected {MarksNeeded(ops, samples)} for {samples} samples of {ops} ops");
        string outPath = Path.Combine(work, "output.bin");
        byte[] output = File.Exists(outPath) ? File.ReadAllBytes(outPath) : [];
        if (output.Length != (long)samples * outBytes)
            throw new IOException($"the bench runner wrote {output.Length} output bytes, expected {(long)samples * outBytes}");

        CheckAgainstCsharpRuntime(model, input, output, board);

        long calibration = m[1] - m[0];
        var perOp = new long[ops][];
        var totals = new long[samples];
        long sumOfOps = 0;
        for (int k = 0; k < ops; k++) perOp[k] = new long[samples];
        for (int s = 0; s < samples; s++)
        {
            long b = 2 + (long)s * (2L * ops + 2);
            for (int k = 0; k < ops; k++)
            {
                perOp[k][s] = m[b + 2 * k + 1] - m[b + 2 * k] - calibration;
                sumOfOps += perOp[k][s];
            }
            totals[s] = m[b + 2 * ops + 1] - m[b + 2 * ops] - calibration;
        }
        var figures = new OpFigure[ops];
        long macs = 0;
        for (int k = 0; k < ops; k++)
        {
            long opMacs = Benchmark.Macs(model, model.Ops[k]);
            macs += opMacs;
            figures[k] = new OpFigure(k, model.Ops[k].Type, opMacs, (double)perOp[k].Sum() / samples, perOp[k].Min(), perOp[k].Max());
        }
        return new ModelBenchResult(figures, (double)totals.Sum() / samples, totals.Min(), totals.Max(), (double)sumOfOps / samples, macs, samples, run.Seconds, output);
    }
}
