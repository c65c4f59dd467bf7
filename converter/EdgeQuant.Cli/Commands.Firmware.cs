using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using EdgeQuant.Cli.Firmware;
using EdgeQuant.Converter;
using EdgeQuant.Converter.Evaluation;
using EdgeQuant.Converter.IO;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Cli;

/// <summary>The <c>firmware</c> command group: board images with the C runtime, built with the board's toolchain and run under qemu (or natively for host).</summary>
public static partial class Commands
{
    public static void Firmware(CommandContext c)
    {
        var a = c.Args;
        string sub = a.Positional(0, "firmware subcommand (build, run or bench)");
        switch (sub)
        {
            case "build": FirmwareBuild(c); break;
            case "run": FirmwareRun(c); break;
            case "bench": FirmwareBench(c); break;
            default: throw new UsageException($"unknown firmware subcommand '{sub}'; subcommands: build, run, bench");
        }
    }

    private static void FirmwareBuild(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--board", "-o", "--output", "--json", "--firmware-dir", "--timeout");
        string modelPath = a.Positional(1, "MODEL.eqm");
        var (sources, board) = FirmwareTarget(a);
        var timeout = FirmwareTimeout(a);
        var tools = Toolchain.For(board, needEmulator: !board.IsHost);
        var model = Model.LoadFile(modelPath);
        string outDir = a.Get("-o", "--output") ?? Path.ChangeExtension(modelPath, null) + "." + board.Name;
        var (image, stack) = BuildImage(sources, board, tools, modelPath, model, outDir, timeout);
        var j = new JsonObject { ["model"] = modelPath, ["board"] = board.Name, ["core"] = board.Core };
        AddSizes(j, image, stack, board);
        if (c.Json) { c.Out.WriteLine(j.ToJsonString(Indented)); return; }
        var inv = CultureInfo.InvariantCulture;
        c.Out.WriteLine($"built {board.Name} ({board.Core}) image of {Path.GetFileName(modelPath)} in {image.Directory}: {string.Join(", ", new[] { image.Executable, image.Bin, image.Hex }.Where(f => f is not null).Select(Path.GetFileName))}");
        c.Out.WriteLine(string.Create(inv, $"  code_bytes   {image.CodeBytes,9:N0}  runtime and kernels (.text + .rodata, -Os); whole image {image.ImageCodeBytes:N0} with the board port, runner and C library"));
        c.Out.WriteLine(string.Create(inv, $"  model_bytes  {image.ModelBytes,9:N0}  the blob, in flash"));
        c.Out.WriteLine(string.Create(inv, $"  ram_bytes    {image.RamBytes,9:N0}  static RAM: arena {image.ArenaBytes:N0}, runtime state {image.RuntimeRamBytes:N0}, the rest runner I/O and C library"));
        c.Out.WriteLine(stack is null
            ? "  stack_bytes          -  not measured on host"
            : string.Create(inv, $"  stack_bytes  {stack,9:N0}  high-water mark during eq_invoke (painted stack, measured in qemu)"));
        if (!board.IsHost)
            c.Out.WriteLine(string.Create(inv, $"  board        flash {image.FlashUsedBytes:N0} of {board.FlashBytes:N0} bytes used; RAM {image.RamBytes + board.StackBytes + board.HeapBytes:N0} of {board.RamBytes:N0} (with {board.StackBytes:N0} stack, {board.HeapBytes:N0} heap)"));
    }

    /// <summary>
    /// The image <c>firmware build</c> reports on, and its stack high-water mark during eq_invoke,
    /// measured (not estimated): one inference on the emulated board, input the quantized zero
    /// vector, stack painted. Null on host.
    /// </summary>
    private static (FirmwareImage Image, long? Stack) BuildImage(FirmwareSources sources, Board board, Toolchain tools, string modelPath, Model model, string outDir, TimeSpan timeout)
    {
        var image = new FirmwareBuilder(sources, board, tools).Build(modelPath, outDir);
        long? stack = null;
        if (!board.IsHost)
        {
            var io = new ModelIoCodec(model);
            string work = Path.Combine(image.Directory, "stack-run");
            stack = FirmwareRunner.Run(image, tools, io.QuantizeZeros(), work, timeout).StackBytes;
            Directory.Delete(work, true);
        }
        return (image, stack);
    }

    /// <summary>The size fields of <c>firmware build --json</c>.</summary>
    private static void AddSizes(JsonObject j, FirmwareImage image, long? stack, Board board)
    {
        j["directory"] = image.Directory;
        j["elf"] = image.Executable;
        j["bin"] = image.Bin;
        j["hex"] = image.Hex;
        j["code_bytes"] = image.CodeBytes;
        j["image_code_bytes"] = image.ImageCodeBytes;
        j["model_bytes"] = image.ModelBytes;
        j["ram_bytes"] = image.RamBytes;
        j["arena_bytes"] = image.ArenaBytes;
        j["runtime_ram_bytes"] = image.RuntimeRamBytes;
        j["stack_bytes"] = stack;
        j["flash_used_bytes"] = image.FlashUsedBytes;
        j["board_flash_bytes"] = board.IsHost ? null : board.FlashBytes;
        j["board_ram_bytes"] = board.IsHost ? null : board.RamBytes;
    }

    private static void FirmwareRun(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--board", "--input", "--output", "--json", "--firmware-dir", "--timeout", "--build-dir", "--first");
        string modelPath = a.Positional(1, "MODEL.eqm");
        string input = a.Require("--input", "X.npy (float32, source layout) or X.bin (raw input tensor bytes)");
        a.Require("--output", "Y.npy (dequantized float32) or Y.bin (raw output tensor bytes); NAME=Y.npy for each output wanted of a model with several");
        var (sources, board) = FirmwareTarget(a);
        var timeout = FirmwareTimeout(a);
        var tools = Toolchain.For(board, needEmulator: !board.IsHost);
        var model = Model.LoadFile(modelPath);
        // The firmware harness streams one input tensor per sample.
        if (model.Inputs.Count != 1)
            throw new UsageException($"the model has {model.Inputs.Count} inputs ({string.Join(", ", model.Inputs.Select(i => $"'{i.Name}'"))}); firmware run feeds models with one input");
        var wanted = OutputFiles(a.GetAll("--output"), model.Outputs.Select(o => o.Name).ToList(), out bool named);
        var io = new ModelIoCodec(model, wanted.Select(w => w.Index));

        bool rawIn = IsRaw(input);
        byte[] inBytes;
        if (rawIn)
        {
            inBytes = File.ReadAllBytes(input);
            if (inBytes.Length == 0 || inBytes.Length % io.InputBytes != 0)
                throw new UsageException($"{input}: {inBytes.Length} bytes are not a whole number of samples of the model's input tensor ({io.InputBytes} bytes)");
        }
        else
        {
            inBytes = io.Quantize(ReadSamples(input));
        }
        if (a.Get("--first") is { } firstArg)
        {
            int first = ParseInt(firstArg, "--first", 1, int.MaxValue);
            if ((long)first * io.InputBytes < inBytes.Length) inBytes = inBytes.AsSpan(0, first * io.InputBytes).ToArray();
        }

        string buildDir = a.Get("--build-dir") ?? Directory.CreateTempSubdirectory("edgequant-fw-").FullName;
        bool cleanup = a.Get("--build-dir") is null;
        try
        {
            var image = new FirmwareBuilder(sources, board, tools).Build(modelPath, buildDir);
            var run = FirmwareRunner.Run(image, tools, inBytes, Path.Combine(buildDir, "run"), timeout);
            if (!c.Json)
                c.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ran {run.Samples} samples on {board.Name} in {run.Seconds:F2} s{(board.IsHost ? "" : $" (stack high-water mark {run.StackBytes:N0} bytes)")}"));
            var written = new JsonArray();
            foreach (var (k, output) in wanted)
            {
                bool rawOut = IsRaw(output);
                int[] shape;
                if (rawOut)
                {
                    File.WriteAllBytes(output, io.RawOutput(run.Output, run.Samples, k));
                    shape = [run.Samples, io.OutputBytes(k)];
                }
                else
                {
                    shape = [run.Samples, .. io.OutputSourceShape(k).Skip(1)];
                    Npy.WriteFloat32(output, io.Dequantize(run.Output, run.Samples, k), shape);
                }
                string name = model.Outputs[k].Name;
                written.Add(new JsonObject { ["name"] = name, ["output"] = output, ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()) });
                if (!c.Json)
                    c.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"wrote {output}: {(rawOut ? "raw output tensor bytes" : "float32")} [{string.Join(", ", shape)}]{(model.Outputs.Count > 1 ? $" (output '{name}')" : "")}"));
            }
            if (c.Json)
            {
                var j = new JsonObject
                {
                    ["board"] = board.Name, ["samples"] = run.Samples, ["stack_bytes"] = board.IsHost ? null : run.StackBytes,
                    ["seconds"] = Math.Round(run.Seconds, 3), ["outputs"] = written,
                };
                // The single-output form's fields, as before.
                if (!named) { j["output"] = wanted[0].Path; j["shape"] = written[0]!["shape"]!.DeepClone(); }
                c.Out.WriteLine(j.ToJsonString());
            }
            else if (!named && model.Outputs.Count > 1)
                c.Out.WriteLine($"  the model has {model.Outputs.Count} outputs ({string.Join(", ", model.Outputs.Select(o => o.Name))}); this is the first: --output NAME=Y.npy writes any of them");
        }
        finally
        {
            if (cleanup) Directory.Delete(buildDir, true);
        }
    }

    /// <summary>
    /// <c>firmware bench --layers --board BOARD</c> (issue 8's four reference layers) or
    /// <c>firmware bench MODEL.eqm --board BOARD</c> (per op and per inference): executed
    /// instructions counted under qemu with the TCG plugin, exactly and repeatably.
    /// </summary>
    private static void FirmwareBench(CommandContext c)
    {
        var a = c.Args;
        if (a.Has("--layers"))
        {
            a.AllowOnly("--layers", "--board", "--json", "--firmware-dir", "--timeout", "--opt");
            if (a.Positionals.Count > 1) throw new UsageException($"firmware bench --layers takes no model (got '{a.Positionals[1]}'); use 'firmware bench MODEL.eqm --board BOARD' for a model");
            FirmwareBenchLayers(c);
            return;
        }
        a.AllowOnly("--board", "--json", "--firmware-dir", "--timeout", "--samples", "--input", "--build-dir");
        FirmwareBenchModel(c);
    }

    private static void FirmwareBenchLayers(CommandContext c)
    {
        var a = c.Args;
        var (sources, board) = FirmwareTarget(a);
        string opt = a.Get("--opt") ?? "Os";
        if (opt is not ("Os" or "O2" or "O3"))
            throw new UsageException($"--opt '{opt}' is not supported; supported: Os (as the firmware images are built), O2, O3");
        var tools = Toolchain.ForCounting(board);
        var layers = LayerBench.Run(sources, board, tools, "-" + opt, FirmwareTimeout(a));
        var inv = CultureInfo.InvariantCulture;
        if (c.Json)
        {
            var byKey = new JsonObject();
            foreach (var l in layers)
                byKey[l.Layer] = new JsonObject
                {
                    ["shape"] = l.Shape, ["macs"] = l.Macs, ["instructions"] = l.Instructions,
                    ["instructions_per_mac"] = Math.Round(l.InstructionsPerMac, 4),
                    ["cmsis_nn_v7_instructions_per_mac"] = l.CmsisNn,
                    ["reference_instructions"] = l.ReferenceInstructions,
                    ["reference_instructions_per_mac"] = Math.Round(l.ReferenceInstructionsPerMac, 4),
                    ["stack_bytes"] = l.StackBytes,
                };
            c.Out.WriteLine(new JsonObject
            {
                ["board"] = board.Name, ["core"] = board.Core, ["optimization"] = "-" + opt,
                ["counting"] = "executed guest instructions, qemu TCG plugin firmware/bench/plugin/count.c",
                ["layers"] = byKey,
            }.ToJsonString(Indented));
            return;
        }
        c.Out.WriteLine($"{board.Name} ({board.Core}): issue 8's reference layers, executed instructions under qemu (TCG counting plugin), runtime and kernels at -{opt}");
        c.Out.WriteLine($"  {"layer",-16} {"MACs",9} {"instructions",13} {"instr/MAC",9} {"CMSIS-NN v7",11} {"reference C",11}");
        foreach (var l in layers)
            c.Out.WriteLine(string.Create(inv,
                $"  {l.Layer,-16} {l.Macs,9:N0} {l.Instructions,13:N0} {l.InstructionsPerMac,9:F2} {(l.CmsisNn is { } n ? n.ToString("F2", inv) : "-"),11} {l.ReferenceInstructionsPerMac,11:F2}"));
        c.Out.WriteLine("  instr/MAC of the runtime's dispatcher (the optimized kernel where the core has one; its output checked equal to the reference kernel's);");
        c.Out.WriteLine("  CMSIS-NN v7 as measured on the same emulated core (issue 8; no figure for this core: -); reference C: the plain reference kernel.");
    }

    private static void FirmwareBenchModel(CommandContext c)
    {
        var a = c.Args;
        string modelPath = a.Positional(1, "MODEL.eqm (or --layers)");
        var (sources, board) = FirmwareTarget(a);
        var timeout = FirmwareTimeout(a);
        int? samplesArg = a.Get("--samples") is { } sArg ? ParseInt(sArg, "--samples", 1, 10_000) : null;
        var tools = Toolchain.ForCounting(board);
        var model = Model.LoadFile(modelPath);
        var inT = model.Tensors[model.Inputs[0].TensorIndex];
        int samples = samplesArg ?? 1;
        ModelBench.CheckMarks(model.Ops.Count, samples);

        byte[] input;
        string inputWhat;
        if (a.Get("--input") is { } inputPath)
        {
            var io = new ModelIoCodec(model);
            byte[] all = IsRaw(inputPath) ? File.ReadAllBytes(inputPath) : io.Quantize(ReadSamples(inputPath));
            if (all.Length == 0 || all.Length % io.InputBytes != 0)
                throw new UsageException($"{inputPath}: {all.Length} bytes are not a whole number of samples of the model's input tensor ({io.InputBytes} bytes)");
            int available = all.Length / io.InputBytes;
            if (samplesArg is not null && available < samples)
                throw new UsageException($"{inputPath}: --samples {samples} asks for more samples than the file holds ({available})");
            input = all.AsSpan(0, samples * io.InputBytes).ToArray();
            inputWhat = $"the first {samples} of {inputPath}";
        }
        else
        {
            input = SeededInput(inT, samples, modelPath);
            inputWhat = "seeded pseudo-random input";
        }

        string buildDir = a.Get("--build-dir") ?? Directory.CreateTempSubdirectory("edgequant-fwbench-").FullName;
        bool cleanup = a.Get("--build-dir") is null;
        try
        {
            // The sizes exactly as `firmware build` reports them (its image, its stack run), then the bench image.
            var (image, stack) = BuildImage(sources, board, tools, modelPath, model, Path.Combine(buildDir, "image"), timeout);
            var r = ModelBench.Run(sources, board, tools, modelPath, model, input, Path.Combine(buildDir, "bench"), timeout);
            WriteModelBench(c, modelPath, board, image, stack, r, inputWhat, cleanup);
        }
        finally
        {
            if (cleanup) Directory.Delete(buildDir, true);
        }
    }

    private static void WriteModelBench(CommandContext c, string modelPath, Board board, FirmwareImage image, long? stack, ModelBenchResult r, string inputWhat, bool imageDeleted)
    {
        var inv = CultureInfo.InvariantCulture;
        double? PerMac(double instructions, long macs) => macs > 0 ? Math.Round(instructions / macs, 4) : null;
        if (c.Json)
        {
            var ops = new JsonArray();
            foreach (var o in r.Ops)
                ops.Add(new JsonObject
                {
                    ["index"] = o.Index, ["op"] = o.Type.ToString(), ["macs"] = o.Macs,
                    ["instructions"] = o.Instructions, ["instructions_min"] = o.MinInstructions, ["instructions_max"] = o.MaxInstructions,
                    ["instructions_per_mac"] = PerMac(o.Instructions, o.Macs),
                });
            var j = new JsonObject
            {
                ["model"] = modelPath, ["board"] = board.Name, ["core"] = board.Core, ["samples"] = r.Samples, ["input"] = inputWhat,
                ["counting"] = "executed guest instructions, qemu TCG plugin firmware/bench/plugin/count.c; per op: eq_invoke_op between markers; per inference: eq_invoke between markers; means over the samples",
                ["ops"] = ops,
                ["per_inference"] = new JsonObject
                {
                    ["instructions"] = r.Total, ["instructions_min"] = r.MinTotal, ["instructions_max"] = r.MaxTotal,
                    ["macs"] = r.Macs, ["instructions_per_mac"] = PerMac(r.Total, r.Macs),
                    ["sum_of_ops"] = r.SumOfOps, ["eq_invoke_overhead"] = r.Total - r.SumOfOps,
                },
                ["seconds"] = Math.Round(r.Seconds, 3),
            };
            AddSizes(j, image, stack, board);
            if (imageDeleted) foreach (var k in new[] { "directory", "elf", "bin", "hex" }) j.Remove(k);
            c.Out.WriteLine(j.ToJsonString(Indented));
            return;
        }
        c.Out.WriteLine($"{Path.GetFileName(modelPath)} on {board.Name} ({board.Core}): executed instructions under qemu (TCG counting plugin), {r.Samples} sample{(r.Samples == 1 ? "" : "s")} ({inputWhat}){(r.Samples > 1 ? ", means" : "")}");
        c.Out.WriteLine($"  {"#",3}  {"op",-16} {"MACs",11} {"instructions",14} {"instr/MAC",9}");
        foreach (var o in r.Ops)
            c.Out.WriteLine(string.Create(inv,
                $"  {o.Index,3}  {o.Type,-16} {o.Macs,11:N0} {o.Instructions,14:N0} {(o.Macs > 0 ? (o.Instructions / o.Macs).ToString("F2", inv) : "-"),9}"));
        c.Out.WriteLine(string.Create(inv, $"  {"",3}  {"sum of ops",-16} {r.Macs,11:N0} {r.SumOfOps,14:N0} {(r.Macs > 0 ? (r.SumOfOps / r.Macs).ToString("F2", inv) : "-"),9}"));
        c.Out.WriteLine(string.Create(inv, $"  {"",3}  {"per inference",-16} {r.Macs,11:N0} {r.Total,14:N0} {(r.Macs > 0 ? (r.Total / r.Macs).ToString("F2", inv) : "-"),9}  (one eq_invoke{(r.MinTotal != r.MaxTotal ? $"; {r.MinTotal:N0} to {r.MaxTotal:N0} over the samples" : "")}; {r.Total - r.SumOfOps:+#,0;-#,0;0} vs the sum of ops: eq_invoke's own loop)"));
        c.Out.WriteLine(string.Create(inv, $"  code_bytes {image.CodeBytes:N0}, model_bytes {image.ModelBytes:N0}, ram_bytes {image.RamBytes:N0} (arena {image.ArenaBytes:N0}, runtime state {image.RuntimeRamBytes:N0}), stack_bytes {stack:N0}: as `edgequant firmware build` reports them"));
    }

    /// <summary>
    /// Deterministic input when none is given: int8 bytes uniform over [-128, 127], or float32
    /// values uniform in [-1, 1), from a fixed linear congruential generator, so that the same
    /// model gets the same input (and the same counts) on every run.
    /// </summary>
    private static byte[] SeededInput(TensorInfo t, int samples, string modelPath)
    {
        int n = t.ElementCount * samples;
        uint state = 0x2545F491u;
        uint Next() { state = state * 1664525u + 1013904223u; return state >> 8; }
        switch (t.Type)
        {
            case TensorType.Int8:
            {
                var b = new byte[n];
                for (int i = 0; i < n; i++) b[i] = (byte)Next();
                return b;
            }
            case TensorType.Float32:
            {
                var f = new float[n];
                for (int i = 0; i < n; i++) f[i] = (Next() & 0xFFFF) / 32768f - 1f;
                return MemoryMarshal.AsBytes(f.AsSpan()).ToArray();
            }
            default:
                throw new UsageException($"{modelPath}: input 0 is {t.Type}; pass --input with its samples");
        }
    }

    private static bool IsRaw(string path) => path.EndsWith(".bin", StringComparison.OrdinalIgnoreCase);

    private static (FirmwareSources Sources, Board Board) FirmwareTarget(Args a)
    {
        string boardName = a.Require("--board", "BOARD (mps2-an385, mps2-an386, mps2-an505, mps3-an547 or host)");
        var sources = FirmwareSources.Find(a.Get("--firmware-dir"));
        return (sources, Board.Load(sources.Boards, boardName));
    }

    private static TimeSpan FirmwareTimeout(Args a) => TimeSpan.FromSeconds(ParseInt(a.Get("--timeout") ?? "600", "--timeout", 1, 86_400));

    /// <summary>
    /// The float contract of <c>edgequant run</c> on an .eqm, around raw tensor bytes: inputs are
    /// quantized and outputs dequantized by the C# Interpreter itself (SetInput / GetOutput over
    /// its own arena), so the firmware path and <c>edgequant run</c> share one arithmetic.
    /// </summary>
    private sealed class ModelIoCodec
    {
        private readonly Model _model;
        private readonly byte[] _arena;
        private readonly Interpreter _interp;
        private readonly ModelRunner _shapes;
        // Where each output's bytes start within one sample's outputs (the runners write every output, in output order).
        private readonly int[] _outputStart;

        /// <param name="outputs">The outputs to be read back (none: inputs only): each must be computed (in the arena), not a constant.</param>
        public ModelIoCodec(Model model, IEnumerable<int>? outputs = null)
        {
            _model = model;
            _arena = new byte[Math.Max(model.ArenaBytes, 16)];
            _interp = new Interpreter(model, _arena);
            _shapes = ModelRunner.FromModel(model);
            foreach (int k in outputs ?? [])
                if (model.Tensors[model.Outputs[k].TensorIndex].Storage != TensorStorage.Arena)
                    throw new ConversionException($"the model's output '{model.Outputs[k].Name}' is a constant tensor; nothing to run");
            InputBytes = model.Tensors[model.Inputs[0].TensorIndex].ByteLength;
            _outputStart = new int[model.Outputs.Count + 1];
            for (int k = 0; k < model.Outputs.Count; k++)
                _outputStart[k + 1] = _outputStart[k] + OutputBytes(k);
        }

        public int InputBytes { get; }

        /// <summary>Bytes of output <paramref name="k"/>'s tensor.</summary>
        public int OutputBytes(int k) => _model.Tensors[_model.Outputs[k].TensorIndex].ByteLength;

        public int[] OutputSourceShape(int k) => _shapes.OutputSourceShapes[k];

        public byte[] Quantize(SampleSet data)
        {
            var inIo = _model.Inputs[0];
            data = data.ForInput(_shapes.InputSourceShape, inIo.Name);
            var bytes = new byte[(long)data.Count * InputBytes];
            for (int s = 0; s < data.Count; s++)
            {
                _interp.SetInput(Layouts.ToPhysical(data.Sample(s), _shapes.InputSourceShape, inIo.Layout));
                MemoryMarshal.AsBytes(_interp.GetInput()).CopyTo(bytes.AsSpan(s * InputBytes, InputBytes));
            }
            return bytes;
        }

        /// <summary>One sample whose float values are all zero, quantized.</summary>
        public byte[] QuantizeZeros()
        {
            _interp.SetInput(new float[_model.Tensors[_model.Inputs[0].TensorIndex].ElementCount]);
            return MemoryMarshal.AsBytes(_interp.GetInput()).ToArray();
        }

        /// <summary>Output <paramref name="k"/>'s raw bytes of every sample, back to back, out of the runner's per-sample outputs.</summary>
        public byte[] RawOutput(byte[] raw, int samples, int k)
        {
            int perSample = _outputStart[^1], bytes = OutputBytes(k);
            var result = new byte[(long)samples * bytes];
            for (int s = 0; s < samples; s++)
                raw.AsSpan(s * perSample + _outputStart[k], bytes).CopyTo(result.AsSpan(s * bytes));
            return result;
        }

        /// <summary>Output <paramref name="k"/> of every sample as float32 in its source layout, dequantized by the C# Interpreter.</summary>
        public float[] Dequantize(byte[] raw, int samples, int k)
        {
            var outIo = _model.Outputs[k];
            var t = _model.Tensors[outIo.TensorIndex];
            int perSample = _outputStart[^1];
            var physical = new float[t.ElementCount];
            var result = new float[(long)samples * t.ElementCount];
            for (int s = 0; s < samples; s++)
            {
                raw.AsSpan(s * perSample + _outputStart[k], t.ByteLength).CopyTo(_arena.AsSpan(t.Offset, t.ByteLength));
                _interp.GetOutput(physical, k);
                Layouts.ToSource(physical, _shapes.OutputSourceShapes[k], outIo.Layout).CopyTo(result, s * t.ElementCount);
            }
            return result;
        }
    }
}
