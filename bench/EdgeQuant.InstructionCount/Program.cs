using System.Runtime.InteropServices;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

// eq-count MODEL.eqm INPUT.bin INVOKES [--per-op]  |  eq-count --macs MODEL.eqm [--per-op]
//
// The workload of bench/count.sh. Sets the model's input to the first sample of INPUT.bin (raw int8
// input tensors back to back, as tests/zoo/eqm/<name>.input.bin), runs every op once (compiling
// everything), then brackets INVOKES Invokes between two marks: getppid system calls, which the
// counting plugin (bench/arm64/count_threads.c, syscall=...) turns into snapshots of the calling
// thread's instruction count. With --per-op, each op k is then run INVOKES times on its own
// (InvokeOp) between two more marks. Prints the output's checksum so the work cannot be skipped.
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
if (args.Length is < 3 or > 4 || !int.TryParse(args[2], out int invokes) || invokes < 1 || (args.Length == 4 && args[3] != "--per-op"))
{
    Console.Error.WriteLine("usage: eq-count MODEL.eqm INPUT.bin INVOKES [--per-op] | eq-count --macs MODEL.eqm [--per-op]");
    return 1;
}
bool perOp = args.Length == 4;
var model = Model.LoadFile(args[0]);
using var interp = new Interpreter(model);
var input = interp.GetInput();
var bytes = File.ReadAllBytes(args[1]);
if (bytes.Length < input.Length)
{
    Console.Error.WriteLine($"{args[1]}: {bytes.Length} bytes, the model's input tensor needs {input.Length}");
    return 1;
}
for (int i = 0; i < input.Length; i++)
    input[i] = (sbyte)bytes[i];
interp.Invoke();
for (int k = 0; k < model.Ops.Count; k++)
    interp.InvokeOp(k);
Mark();
Mark();
Mark();
for (int i = 0; i < invokes; i++)
    interp.Invoke();
Mark();
if (perOp)
    for (int k = 0; k < model.Ops.Count; k++)
    {
        Mark();
        for (int i = 0; i < invokes; i++)
            interp.InvokeOp(k);
        Mark();
    }
int sum = 0;
foreach (sbyte v in interp.GetOutput())
    sum = sum * 31 + v;
Console.WriteLine($"invokes {invokes} ops {model.Ops.Count} output-checksum {sum}");
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
