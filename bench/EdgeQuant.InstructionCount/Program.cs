using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

// eq-count MODEL.eqm INPUT.bin OUTPUT.bin INVOKES [--per-op]  |  eq-count --macs MODEL.eqm [--per-op]
//   |  eq-count --golden MODEL.eqm SAMPLE.f32 INPUT.bin OUTPUT.bin
//
// The workload of bench/count.sh. Sets the model's input to the first sample of INPUT.bin (raw int8
// input tensors back to back, as tests/zoo/eqm/<name>.input.bin), runs every op once (compiling
// everything), then brackets INVOKES Invokes between two marks: getppid system calls, which the
// counting plugin (bench/arm64/count_threads.c, syscall=...) turns into snapshots of the calling
// thread's instruction count. With --per-op, each op k is then run INVOKES times on its own
// (InvokeOp) between two more marks. Every output must equal the first sample of OUTPUT.bin (the zoo's
// golden outputs, produced by the x64 runtime) byte for byte, else the run fails: every count is of a
// run that computed the right answer on that CPU.
// --macs prints the model's multiply-accumulates (total, or per op: index, type, MACs).
// --golden MODEL.eqm SAMPLE.f32 INPUT.bin OUTPUT.bin: for a model without committed golden files (BlazeFace): sets the
// input from one float32 sample (raw little-endian, the blob's input layout) by SetInput, and writes the int8 input tensor
// and every output tensor (back to back, in order) as this build computes them: run on x64, the golden output.
if (args.Length == 5 && args[0] == "--golden")
{
    var m = Model.LoadFile(args[1]);
    using var gi = new Interpreter(m);
    var raw = File.ReadAllBytes(args[2]);
    var floats = MemoryMarshal.Cast<byte, float>(raw);
    if (raw.Length % 4 != 0 || floats.Length != gi.GetInput().Length)
    {
        Console.Error.WriteLine($"{args[2]}: {raw.Length} bytes, the model's input takes {gi.GetInput().Length} float32 values");
        return 1;
    }
    gi.SetInput(floats);
    File.WriteAllBytes(args[3], MemoryMarshal.AsBytes(gi.GetInput()).ToArray());
    gi.Invoke();
    using var outputs = new MemoryStream();
    for (int o = 0; o < m.Outputs.Count; o++)
        outputs.Write(MemoryMarshal.AsBytes(gi.GetOutput(o)));
    File.WriteAllBytes(args[4], outputs.ToArray());
    return 0;
}
if (args.Length >= 2 && args[0] == "--macs")
{
    var m = Model.LoadFile(args[1]);
    long total = 0;
    for (int k = 0; k < m.Ops.Count; k++)
    {
        long macs = Macs(m, m.Ops[k]);
        total += macs;
        if (args.Length > 2 && args[2] == "--per-op")
            Console.WriteLine($"{k} {m.Ops[k].Type} {macs}");
    }
    if (args.Length == 2)
        Console.WriteLine(total);
    return 0;
}
if (args.Length is < 4 or > 5 || !int.TryParse(args[3], out int invokes) || invokes < 1 || (args.Length == 5 && args[4] != "--per-op"))
{
    Console.Error.WriteLine("usage: eq-count MODEL.eqm INPUT.bin OUTPUT.bin INVOKES [--per-op] | eq-count --macs MODEL.eqm [--per-op]");
    return 1;
}
bool perOp = args.Length == 5;
var model = Model.LoadFile(args[0]);
using var interp = new Interpreter(model);
var input = interp.GetInput();
var bytes = File.ReadAllBytes(args[1]);
if (bytes.Length < input.Length)
{
    Console.Error.WriteLine($"{args[1]}: {bytes.Length} bytes, the model's input tensor needs {input.Length}");
    return 1;
}
// The planner may reuse the input tensor's bytes for later tensors, so every inference sets its input
// again (a copy of the int8 input tensor, as an application's SetInput does; a few dozen instructions).
var sample = new sbyte[input.Length];
for (int i = 0; i < sample.Length; i++)
    sample[i] = (sbyte)bytes[i];
sample.CopyTo(input);
interp.Invoke();
for (int k = 0; k < model.Ops.Count; k++)
    interp.InvokeOp(k);
Mark();
Mark();
Mark();
for (int i = 0; i < invokes; i++)
{
    sample.CopyTo(interp.GetInput());
    interp.Invoke();
}
Mark();
if (perOp)
    for (int k = 0; k < model.Ops.Count; k++)
    {
        Mark();
        for (int i = 0; i < invokes; i++)
            interp.InvokeOp(k);
        Mark();
    }
sample.CopyTo(interp.GetInput());
interp.Invoke();
var golden = File.ReadAllBytes(args[2]);
// Every output, back to back in order (the zoo's models have one; BlazeFace four).
int at = 0;
for (int o = 0; o < model.Outputs.Count; o++)
{
    var got = interp.GetOutput(o);
    if (golden.Length < at + got.Length)
    {
        Console.Error.WriteLine($"{args[2]}: {golden.Length} bytes, the model's outputs up to {o} have {at + got.Length}");
        return 1;
    }
    for (int i = 0; i < got.Length; i++)
        if ((sbyte)golden[at + i] != got[i])
        {
            Console.Error.WriteLine($"output {o} byte {i} is {got[i]}, the golden output has {(sbyte)golden[at + i]}: this CPU's kernels are not bit-exact");
            return 2;
        }
    at += got.Length;
}
Console.WriteLine($"invokes {invokes} ops {model.Ops.Count}: every output equals the golden output ({at} bytes)");
return 0;

// Marks 0 and 1 (back to back) measure the mark itself; 2 and 3 bracket the Invokes; then two per op.
static void Mark() => Native.getppid();

static long Macs(Model model, in OpInfo op)
{
    var t = model.Tensors;
    return op.Type switch
    {
        OpType.Conv2D => (long)t[op.Output0].ElementCount * t[op.Input1].Shape[1] * t[op.Input1].Shape[2] * t[op.Input1].Shape[3],
        OpType.DepthwiseConv2D => (long)t[op.Output0].ElementCount * t[op.Input1].Shape[1] * t[op.Input1].Shape[2],
        OpType.FullyConnected => (long)t[op.Output0].ElementCount * t[op.Input1].Shape[1],
        _ => 0,
    };
}

internal static partial class Native
{
    [LibraryImport("libc.so.6")]
    internal static partial int getppid();
}
