using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

// eq-count MODEL.eqm INPUT.bin OUTPUT.bin INVOKES [--per-op]  |  eq-count --macs MODEL.eqm [--per-op]
//
// The workload of bench/count.sh. Sets the model's input to the first sample of INPUT.bin (raw int8
// input tensors back to back, as tests/zoo/eqm/<name>.input.bin), runs every op once (compiling
// everything), then brackets INVOKES Invokes between two marks: getppid system calls, which the
// counting plugin (bench/arm64/count_threads.c, syscall=...) turns into snapshots of the calling
// thread's instruction count. With --per-op, each op k is then run INVOKES times on its own
// (InvokeOp) between two more marks. The output must equal the first sample of OUTPUT.bin (the zoo's
// golden outputs, produced by the x64 runtime) byte for byte, else the run fails: every count is of a
// run that computed the right answer on that CPU.
// --macs prints the model's multiply-accumulates (total, or per op: index, type, MACs).
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
var got = interp.GetOutput();
if (golden.Length < got.Length)
{
    Console.Error.WriteLine($"{args[2]}: {golden.Length} bytes, the model's output tensor has {got.Length}");
    return 1;
}
for (int i = 0; i < got.Length; i++)
    if ((sbyte)golden[i] != got[i])
    {
        Console.Error.WriteLine($"output byte {i} is {got[i]}, the golden output has {(sbyte)golden[i]}: this CPU's kernels are not bit-exact");
        return 2;
    }
Console.WriteLine($"invokes {invokes} ops {model.Ops.Count}: output equals the golden output ({got.Length} bytes)");
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
