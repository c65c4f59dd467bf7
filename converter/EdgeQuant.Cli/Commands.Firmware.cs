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
        string sub = a.Positional(0, "firmware subcommand (build or run)");
        switch (sub)
        {
            case "build": FirmwareBuild(c); break;
            case "run": FirmwareRun(c); break;
            default: throw new UsageException($"unknown firmware subcommand '{sub}'; subcommands: build, run");
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
        var image = new FirmwareBuilder(sources, board, tools).Build(modelPath, outDir);

        // The stack high-water mark is measured, not estimated: one inference on the emulated
        // board (input: the quantized zero vector) with the stack painted.
        long? stack = null;
        if (!board.IsHost)
        {
            var io = new ModelIoCodec(model);
            string work = Path.Combine(image.Directory, "stack-run");
            stack = FirmwareRunner.Run(image, tools, io.QuantizeZeros(), work, timeout).StackBytes;
            Directory.Delete(work, true);
        }

        var j = new JsonObject
        {
            ["model"] = modelPath, ["board"] = board.Name, ["core"] = board.Core, ["directory"] = image.Directory,
            ["elf"] = image.Executable, ["bin"] = image.Bin, ["hex"] = image.Hex,
            ["code_bytes"] = image.CodeBytes, ["image_code_bytes"] = image.ImageCodeBytes, ["model_bytes"] = image.ModelBytes,
            ["ram_bytes"] = image.RamBytes, ["arena_bytes"] = image.ArenaBytes, ["runtime_ram_bytes"] = image.RuntimeRamBytes,
            ["stack_bytes"] = stack, ["flash_used_bytes"] = image.FlashUsedBytes,
            ["board_flash_bytes"] = board.IsHost ? null : board.FlashBytes, ["board_ram_bytes"] = board.IsHost ? null : board.RamBytes,
        };
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

    private static void FirmwareRun(CommandContext c)
    {
        var a = c.Args;
        a.AllowOnly("--board", "--input", "--output", "--json", "--firmware-dir", "--timeout", "--build-dir", "--first");
        string modelPath = a.Positional(1, "MODEL.eqm");
        string input = a.Require("--input", "X.npy (float32, source layout) or X.bin (raw input tensor bytes)");
        string output = a.Require("--output", "Y.npy (dequantized float32) or Y.bin (raw output tensor bytes)");
        var (sources, board) = FirmwareTarget(a);
        var timeout = FirmwareTimeout(a);
        var tools = Toolchain.For(board, needEmulator: !board.IsHost);
        var model = Model.LoadFile(modelPath);
        var io = new ModelIoCodec(model);

        bool rawIn = IsRaw(input), rawOut = IsRaw(output);
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
            int[] shape;
            if (rawOut)
            {
                File.WriteAllBytes(output, run.Output);
                shape = [run.Samples, io.OutputBytes];
            }
            else
            {
                var y = io.Dequantize(run.Output, run.Samples);
                shape = new[] { run.Samples }.Concat(io.OutputSourceShape.Skip(1)).ToArray();
                Npy.WriteFloat32(output, y, shape);
            }
            if (c.Json)
                c.Out.WriteLine(new JsonObject
                {
                    ["output"] = output, ["board"] = board.Name, ["samples"] = run.Samples, ["stack_bytes"] = board.IsHost ? null : run.StackBytes,
                    ["seconds"] = Math.Round(run.Seconds, 3), ["shape"] = new JsonArray(shape.Select(d => (JsonNode)d).ToArray()),
                }.ToJsonString());
            else
                c.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"ran {run.Samples} samples on {board.Name} in {run.Seconds:F2} s{(board.IsHost ? "" : $" (stack high-water mark {run.StackBytes:N0} bytes)")}; wrote {output}: {(rawOut ? "raw output tensor bytes" : "float32")} [{string.Join(", ", shape)}]"));
        }
        finally
        {
            if (cleanup) Directory.Delete(buildDir, true);
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
        private readonly TensorInfo _out;

        public ModelIoCodec(Model model)
        {
            _model = model;
            _arena = new byte[Math.Max(model.ArenaBytes, 16)];
            _interp = new Interpreter(model, _arena);
            _shapes = ModelRunner.FromModel(model);
            _out = model.Tensors[model.Outputs[0].TensorIndex];
            if (_out.Storage != TensorStorage.Arena) throw new ConversionException($"the model's output '{model.Outputs[0].Name}' is a constant tensor; nothing to run");
            InputBytes = model.Tensors[model.Inputs[0].TensorIndex].ByteLength;
            OutputBytes = _out.ByteLength;
        }

        public int InputBytes { get; }
        public int OutputBytes { get; }
        public int[] OutputSourceShape => _shapes.OutputSourceShape;

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

        public float[] Dequantize(byte[] raw, int samples)
        {
            var outIo = _model.Outputs[0];
            var physical = new float[_out.ElementCount];
            var result = new float[(long)samples * _out.ElementCount];
            for (int s = 0; s < samples; s++)
            {
                raw.AsSpan(s * OutputBytes, OutputBytes).CopyTo(_arena.AsSpan(_out.Offset, _out.ByteLength));
                _interp.GetOutput(physical);
                Layouts.ToSource(physical, _shapes.OutputSourceShape, outIo.Layout).CopyTo(result, s * _out.ElementCount);
            }
            return result;
        }
    }
}
