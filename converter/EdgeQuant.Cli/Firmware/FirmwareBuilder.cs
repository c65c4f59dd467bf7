using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli.Firmware;

/// <summary>What <see cref="FirmwareBuilder.Build"/> produced and measured.</summary>
public sealed class FirmwareImage
{
    public required Board Board { get; init; }
    public required string Directory { get; init; }
    /// <summary>The ELF (mps boards) or native executable (host).</summary>
    public required string Executable { get; init; }
    public string? Bin { get; init; }
    public string? Hex { get; init; }
    /// <summary>Code and read-only data of the runtime and kernels (firmware/src) linked into the image.</summary>
    public long CodeBytes { get; init; }
    /// <summary>The whole image's code and read-only data (runtime, board port, runner, C library), model excluded.</summary>
    public long ImageCodeBytes { get; init; }
    public long ModelBytes { get; init; }
    /// <summary>Static RAM of the image (.data + .bss), arena included; heap and stack reservations excluded.</summary>
    public long RamBytes { get; init; }
    public long ArenaBytes { get; init; }
    /// <summary>Static RAM of the runtime itself: its own .data/.bss plus the model and interpreter state the runner holds.</summary>
    public long RuntimeRamBytes { get; init; }
    /// <summary>Flash the image occupies (code, model, .data load image).</summary>
    public long FlashUsedBytes { get; init; }
    public int InputBytes { get; init; }
    /// <summary>Bytes one sample's outputs take: every output's raw tensor, in output order, as the runners write them.</summary>
    public int OutputBytes { get; init; }
}

/// <summary>
/// Builds a board image for one model: the runtime (firmware/src, compiled once per board and
/// source hash into a cache), the board port (firmware/boards/common or host), the runner
/// (firmware/boards/runner) with the arena sized from the blob, and the blob itself in flash
/// (section .eq_model, through the assembler's .incbin). Sizes come from the linker map.
/// <paramref name="optimization"/> is the C compiler's optimization flag for everything (the
/// images use -Os; the layer bench can ask for -O2).
/// </summary>
public sealed class FirmwareBuilder(FirmwareSources sources, Board board, Toolchain tools, string optimization = "-Os")
{
    private static readonly TimeSpan CompileTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Builds the image of <paramref name="modelPath"/> in <paramref name="outDir"/>: with the board
    /// runner, or with <paramref name="runner"/> (another main with the board runner's contract:
    /// the blob as <c>eq_model_blob</c>, the arena size as <c>EQ_RUNNER_ARENA_BYTES</c>) compiled
    /// with <paramref name="runnerDefines"/> added.
    /// </summary>
    public FirmwareImage Build(string modelPath, string outDir, string? runner = null, IReadOnlyList<string>? runnerDefines = null)
    {
        byte[] blob = File.ReadAllBytes(modelPath);
        var model = Model.Load(blob);
        // The compressed-weight ops 55-57 (about 1.9 KB of code on the M4; 50-52 also EQ_WITH_COMPRESSED_ARRAYS) join the image only for a model
        // that uses them: the 24 KB M4 code budget is defined for the int8 runtime (docs/firmware.md).
        // The same for the mixed-precision ops 60-72 (EQ_WITH_MIXED_PRECISION, int16 and float layers) and the
        // dynamic-quantization ops 40-46 (EQ_WITH_DYNAMIC_OPS), the sparse ops 53-54 (EQ_WITH_SPARSE_WEIGHTS) and the
        // recurrent ops 23-26 (EQ_WITH_RECURRENT; the
        // int4 ones 25-26 also need the int4 element type of EQ_WITH_COMPRESSED_WEIGHTS).
        withCompressedWeights = false;
        withMixedPrecision = false;
        withDynamicOps = false;
        withRecurrent = false;
        withSparseWeights = false;
        withCompressedArrays = false;
        foreach (var op in model.Ops)
        {
            if ((int)op.Type is >= 23 and <= 26)
                withRecurrent = true;
            if ((int)op.Type is 25 or 26)
                withCompressedWeights = true;
            if ((int)op.Type is (>= 50 and <= 52) or (>= 55 and <= 57))
                withCompressedWeights = true;
            if ((int)op.Type is >= 50 and <= 52)
                withCompressedArrays = true;
            if ((int)op.Type is 53 or 54)
                withSparseWeights = true;
            if ((int)op.Type is >= 60 and <= 72)
                withMixedPrecision = true;
            if ((int)op.Type is >= 40 and <= 46)
                withDynamicOps = true;
        }
        long arena = Math.Max(16, (model.ArenaBytes + 15) & ~15L);
        Directory.CreateDirectory(outDir);
        outDir = Path.GetFullPath(outDir);
        CheckFits(modelPath, blob.Length, arena);

        string modelCopy = Path.Combine(outDir, "model.eqm");
        if (!Path.GetFullPath(modelPath).Equals(modelCopy, StringComparison.Ordinal)) File.WriteAllBytes(modelCopy, blob);
        File.WriteAllText(Path.Combine(outDir, "model.S"), """
            /* Generated by edgequant firmware build: the model blob, read in place from flash. */
                .section .eq_model, "a"
                .balign 16
                .global eq_model_blob
            eq_model_blob:
                .incbin "model.eqm"
                .global eq_model_blob_end
            eq_model_blob_end:

            """ + (board.IsHost ? "    .section .note.GNU-stack, \"\", %progbits\n" : ""));

        var runtimeObjs = RuntimeObjects();
        var objs = new List<string>(runtimeObjs);
        string objDir = Path.Combine(outDir, "obj");
        Directory.CreateDirectory(objDir);
        var portSources = board.IsHost
            ? new[] { Path.Combine(sources.Boards, "host", "board_host.c") }
            : new[] { Path.Combine(sources.Boards, "common", "startup.c"), Path.Combine(sources.Boards, "common", "stack.c") };
        foreach (string src in portSources) objs.Add(Compile(src, objDir, []));
        objs.Add(Compile(Path.Combine(sources.Root, "tools", "eq_run_io_stdio.c"), objDir, []));
        objs.Add(Compile(runner ?? Path.Combine(sources.Boards, "runner", "board_runner.c"), objDir,
            [string.Create(CultureInfo.InvariantCulture, $"-DEQ_RUNNER_ARENA_BYTES={arena}"), .. runnerDefines ?? []]));
        objs.Add(Compile(Path.Combine(outDir, "model.S"), objDir, ["-Wa,-I," + outDir]));

        string exe = Path.Combine(outDir, board.IsHost ? "firmware" : "firmware.elf");
        string map = Path.Combine(outDir, "firmware.map");
        var link = new List<string>(Flags());
        if (!board.IsHost)
        {
            File.WriteAllText(Path.Combine(outDir, "memory.ld"), board.MemoryLd());
            link.AddRange(["--specs=rdimon.specs", "-nostartfiles", "-L", outDir, "-T", Path.Combine(sources.Boards, "common", "cortex-m.ld")]);
        }
        link.AddRange(["-Wl,--gc-sections", "-Wl,-Map=" + map, "-o", exe]);
        link.AddRange(objs);
        var r = Toolchain.Run(tools.Cc, link, outDir, CompileTimeout);
        if (r.ExitCode != 0) throw LinkError(r.Stderr + r.Stdout, modelPath, blob.Length, arena);

        string? bin = null, hex = null;
        if (!board.IsHost)
        {
            bin = Path.Combine(outDir, "firmware.bin");
            hex = Path.Combine(outDir, "firmware.hex");
            foreach (var (fmt, file) in new[] { ("binary", bin), ("ihex", hex) })
            {
                var o = Toolchain.Run(tools.Objcopy!, ["-O", fmt, exe, file], outDir, CompileTimeout);
                if (o.ExitCode != 0) throw new IOException($"arm-none-eabi-objcopy -O {fmt} failed: {FirstLines(o.Stderr)}");
            }
        }

        var sizes = MapSizes.Parse(File.ReadAllText(map), RuntimeObjDir);
        int inT = model.Inputs[0].TensorIndex;
        return new FirmwareImage
        {
            Board = board, Directory = outDir, Executable = exe, Bin = bin, Hex = hex,
            CodeBytes = sizes.RuntimeCode, ImageCodeBytes = sizes.ImageCode, ModelBytes = blob.Length,
            RamBytes = sizes.StaticRam, ArenaBytes = arena, RuntimeRamBytes = sizes.RuntimeRam + sizes.StateRam,
            FlashUsedBytes = sizes.ImageCode + sizes.ModelSection + sizes.DataLoad,
            InputBytes = model.Tensors[inT].ByteLength, OutputBytes = AllOutputBytes(model),
        };
    }

    /// <summary>
    /// Links a program without a model (the layer bench): the runtime's objects (the cached ones,
    /// at this builder's optimization), the board port and <paramref name="programSources"/>, into
    /// <paramref name="outDir"/>/<paramref name="name"/>.elf. Mps boards only.
    /// </summary>
    public string BuildProgram(IReadOnlyList<string> programSources, string outDir, string name)
    {
        if (board.IsHost) throw new UsageException("this program runs on the emulated boards only, not on host");
        Directory.CreateDirectory(outDir);
        outDir = Path.GetFullPath(outDir);
        var objs = new List<string>(RuntimeObjects());
        string objDir = Path.Combine(outDir, "obj");
        Directory.CreateDirectory(objDir);
        foreach (string src in new[] { Path.Combine(sources.Boards, "common", "startup.c"), Path.Combine(sources.Boards, "common", "stack.c") }.Concat(programSources))
            objs.Add(Compile(src, objDir, []));
        string exe = Path.Combine(outDir, name + ".elf");
        File.WriteAllText(Path.Combine(outDir, "memory.ld"), board.MemoryLd());
        var link = new List<string>(Flags()) { "--specs=rdimon.specs", "-nostartfiles", "-L", outDir, "-T", Path.Combine(sources.Boards, "common", "cortex-m.ld"),
            "-Wl,--gc-sections", "-Wl,-Map=" + Path.Combine(outDir, name + ".map"), "-o", exe };
        link.AddRange(objs);
        var r = Toolchain.Run(tools.Cc, link, outDir, CompileTimeout);
        if (r.ExitCode != 0) throw new IOException($"linking {name} for {board.Name} failed: {FirstLines(r.Stderr + r.Stdout)}");
        return exe;
    }

    /// <summary>Bytes of all of <paramref name="model"/>'s outputs together: what the runners write per sample.</summary>
    public static int AllOutputBytes(Model model) => model.Outputs.Sum(o => model.Tensors[o.TensorIndex].ByteLength);

    /// <summary>Refuses a model that cannot fit the board before compiling anything.</summary>
    private void CheckFits(string modelPath, long modelBytes, long arena)
    {
        if (board.IsHost) return;
        if (modelBytes > board.FlashBytes)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(modelPath)} does not fit {board.Name}'s flash: the model alone is {modelBytes:N0} bytes, the board has {board.FlashBytes:N0} bytes of flash"));
        long ram = arena + board.StackBytes + board.HeapBytes;
        if (ram > board.RamBytes)
            throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                $"{Path.GetFileName(modelPath)} does not fit {board.Name}'s RAM: arena {arena:N0} + stack {board.StackBytes:N0} + C library heap {board.HeapBytes:N0} = {ram:N0} bytes, the board has {board.RamBytes:N0} bytes of RAM"));
    }

    private Exception LinkError(string output, string modelPath, long modelBytes, long arena)
    {
        var m = Regex.Match(output, @"region `(\w+)' overflowed by (\d+) bytes");
        if (m.Success)
        {
            bool flash = m.Groups[1].Value == "FLASH";
            long over = long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
            return new UsageException(flash
                ? string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(modelPath)} does not fit {board.Name}'s flash: model {modelBytes:N0} bytes + code exceed the {board.FlashBytes:N0} bytes of flash by {over:N0} bytes")
                : string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(modelPath)} does not fit {board.Name}'s RAM: arena {arena:N0} + stack {board.StackBytes:N0} + heap {board.HeapBytes:N0} + static data exceed the {board.RamBytes:N0} bytes of RAM by {over:N0} bytes"));
        }
        return new IOException($"linking the {board.Name} image failed: {FirstLines(output)}");
    }

    /// <summary>Compile ops 55-57 in (EQ_WITH_COMPRESSED_WEIGHTS): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withCompressedWeights = true;

    /// <summary>Compile ops 60-72 in (EQ_WITH_MIXED_PRECISION): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withMixedPrecision = true;

    /// <summary>Compile ops 40-46 in (EQ_WITH_DYNAMIC_OPS): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withDynamicOps = true;

    /// <summary>Compile ops 50-52 in (EQ_WITH_COMPRESSED_ARRAYS, with EQ_WITH_COMPRESSED_WEIGHTS): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withCompressedArrays = true;

    /// <summary>Compile ops 53-54 in (EQ_WITH_SPARSE_WEIGHTS): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withSparseWeights = true;

    /// <summary>Compile ops 23-26 in (EQ_WITH_RECURRENT): set per model by <see cref="Build"/>; programs without a model keep them.</summary>
    private bool withRecurrent = true;

    private string[] Flags()
    {
        var f = new List<string> { "-std=c99", optimization, "-ffp-contract=off", "-ffunction-sections", "-fdata-sections", "-Wall", "-Wextra" };
        if (!withCompressedWeights) f.Add("-DEQ_WITH_COMPRESSED_WEIGHTS=0");
        if (!withMixedPrecision) f.Add("-DEQ_WITH_MIXED_PRECISION=0");
        if (!withDynamicOps) f.Add("-DEQ_WITH_DYNAMIC_OPS=0");
        if (!withRecurrent) f.Add("-DEQ_WITH_RECURRENT=0");
        if (!withSparseWeights) f.Add("-DEQ_WITH_SPARSE_WEIGHTS=0");
        if (!withCompressedArrays) f.Add("-DEQ_WITH_COMPRESSED_ARRAYS=0");
        f.AddRange(board.CFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries));
        return f.ToArray();
    }

    private string RuntimeObjDir { get; set; } = "";

    /// <summary>
    /// The runtime's objects for this board, from the cache when the sources, headers, flags and
    /// compiler are unchanged (a hash of all of them names the cache folder).
    /// </summary>
    private List<string> RuntimeObjects()
    {
        var srcs = sources.RuntimeSources();
        var headers = Directory.GetFiles(sources.Root, "*.h", SearchOption.AllDirectories)
            .Where(h => h.StartsWith(sources.Include, StringComparison.Ordinal) || h.StartsWith(Path.Combine(sources.Root, "src"), StringComparison.Ordinal))
            .Order(StringComparer.Ordinal);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData(Encoding.UTF8.GetBytes(tools.Cc + "\n" + new FileInfo(tools.Cc).Length + "\n" + string.Join(" ", Flags()) + "\n"));
        foreach (string f in srcs.Concat(headers))
        {
            sha.AppendData(Encoding.UTF8.GetBytes(Path.GetRelativePath(sources.Root, f) + "\n"));
            sha.AppendData(File.ReadAllBytes(f));
        }
        string key = Convert.ToHexString(sha.GetHashAndReset())[..16].ToLowerInvariant();
        string dir = Path.Combine(CacheRoot(), $"{board.Name}-{key}");
        RuntimeObjDir = dir;
        var objs = srcs.Select(s => Path.Combine(dir, ObjName(s))).ToList();
        if (File.Exists(Path.Combine(dir, "complete"))) return objs;

        string tmp = dir + ".tmp-" + Environment.ProcessId;
        Directory.CreateDirectory(tmp);
        var errors = new List<string>();
        Parallel.ForEach(srcs, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, src =>
        {
            try { Compile(src, tmp, []); }
            catch (IOException e) { lock (errors) errors.Add(e.Message); }
        });
        if (errors.Count > 0)
        {
            Directory.Delete(tmp, true);
            throw new IOException(errors[0]);
        }
        File.WriteAllText(Path.Combine(tmp, "complete"), string.Join("\n", srcs) + "\n");
        try { Directory.Move(tmp, dir); }
        catch (IOException) when (File.Exists(Path.Combine(dir, "complete"))) { Directory.Delete(tmp, true); } // another build won the race
        return objs;
    }

    private string ObjName(string src)
    {
        string rel = Path.GetRelativePath(sources.Root, src);
        return rel.Replace(Path.DirectorySeparatorChar, '_').Replace('.', '_') + ".o";
    }

    /// <summary>The cache folder: <c>$EDGEQUANT_CACHE_DIR/firmware</c>, else <c>$XDG_CACHE_HOME/edgequant/firmware</c> (default ~/.cache).</summary>
    internal static string CacheRoot()
    {
        if (Environment.GetEnvironmentVariable("EDGEQUANT_CACHE_DIR") is { Length: > 0 } c) return Path.Combine(c, "firmware");
        string xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } x ? x
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        return Path.Combine(xdg, "edgequant", "firmware");
    }

    private string Compile(string src, string objDir, string[] extra)
    {
        string obj = Path.Combine(objDir, ObjName(src));
        var args = new List<string>(Flags())
        {
            "-I", sources.Include, "-I", Path.Combine(sources.Root, "src"), "-I", Path.Combine(sources.Root, "src", "kernels"),
            "-I", Path.Combine(sources.Root, "tools"), "-I", Path.Combine(sources.Boards, "common"),
        };
        // As firmware/CMakeLists.txt: optimized kernel files, when present, announce themselves to the dispatch.
        if (sources.RuntimeSources().Any(f => f.EndsWith("_dsp.c", StringComparison.Ordinal))) args.Add("-DEQ_WITH_DSP_KERNELS=1");
        if (sources.RuntimeSources().Any(f => f.EndsWith("_mve.c", StringComparison.Ordinal))) args.Add("-DEQ_WITH_MVE_KERNELS=1");
        args.AddRange(extra);
        args.AddRange(["-c", src, "-o", obj]);
        var r = Toolchain.Run(tools.Cc, args, objDir, CompileTimeout);
        if (r.ExitCode != 0) throw new IOException($"compiling {Path.GetRelativePath(sources.Root, src)} for {board.Name} failed: {FirstLines(r.Stderr + r.Stdout)}");
        return obj;
    }

    private static string FirstLines(string s)
    {
        var lines = s.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var errs = lines.Where(l => l.Contains("error", StringComparison.OrdinalIgnoreCase)).Take(3).ToArray();
        return string.Join(" | ", errs.Length > 0 ? errs : lines.Take(3));
    }
}
