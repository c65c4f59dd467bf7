using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Converter;
using EdgeQuant.Converter.IO;
using EdgeQuant.Runtime;

// edgequant-bench-timer MODEL.eqm SAMPLES.npy [--samples K] [--warmup-ms MS]
//
// Loads the model and the first K samples (float32, in the source model's layout, as the QDQ
// ONNX export takes them), warms the interpreter up, prints "ready {json}" and then answers
// commands on stdin, one per line:
//   run N   -> N timed inferences, cycling through the samples; prints "times us1 us2 ..."
//   quit    -> exits
// One inference is what the exported ONNX model's run does: quantize the float input,
// Invoke, dequantize the float output. Single-threaded, allocation-free after warm-up.

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: edgequant-bench-timer MODEL.eqm SAMPLES.npy [--samples K] [--warmup-ms MS]");
    return 1;
}
int count = 100, warmupMs = 3000;
for (int i = 2; i + 1 < args.Length; i += 2)
{
    if (args[i] == "--samples") count = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    else if (args[i] == "--warmup-ms") warmupMs = int.Parse(args[i + 1], CultureInfo.InvariantCulture);
    else { Console.Error.WriteLine($"unknown option {args[i]}"); return 1; }
}

var model = Model.LoadFile(args[0]);
var io = model.Inputs[0];
var logical = Layouts.SourceShape(model.Tensors[io.TensorIndex].Dims(), io.Layout);
var npy = Npy.Read(args[1]);
var floats = npy.Floats ?? throw new InvalidDataException($"{args[1]}: expected float32 samples");
int per = floats.Length / npy.Shape[0];
count = Math.Min(count, npy.Shape[0]);
var inputs = new float[count][];
for (int i = 0; i < count; i++) inputs[i] = Layouts.ToPhysical(floats.AsSpan(i * per, per), logical, io.Layout);

var interp = new Interpreter(model);
var output = new float[interp.GetOutput().Length];
int next = 0;
void Infer()
{
    interp.SetInput(inputs[next]);
    interp.Invoke();
    interp.GetOutput(output);
    if (++next == count) next = 0;
}

// Warm up long enough for tiered compilation (and PGO) to settle on the optimized code.
var sw = Stopwatch.StartNew();
long warm = 0;
while (sw.ElapsedMilliseconds < warmupMs) { Infer(); warm++; }
string isa = Avx512BW.IsSupported ? "AVX-512BW" : Avx2.IsSupported ? "AVX2" : System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported ? "AdvSimd" : "scalar";
if (AvxVnni.IsSupported) isa += "+AVX-VNNI";
Console.Out.WriteLine($"ready {{\"warmup_runs\":{warm},\"isa\":\"{isa}\",\"dotnet\":\"{Environment.Version}\",\"arena_bytes\":{model.ArenaBytes}}}");
Console.Out.Flush();

var times = new double[1];
string? line;
while ((line = Console.In.ReadLine()) is not null)
{
    var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    if (parts.Length == 0) continue;
    if (parts[0] == "quit") break;
    if (parts[0] != "run" || parts.Length != 2 || !int.TryParse(parts[1], out int n) || n < 1)
    {
        Console.Out.WriteLine($"error unknown command '{line}'");
        Console.Out.Flush();
        continue;
    }
    if (times.Length < n) times = new double[n];
    for (int i = 0; i < n; i++)
    {
        long t0 = Stopwatch.GetTimestamp();
        Infer();
        times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
    }
    var text = new System.Text.StringBuilder("times");
    for (int i = 0; i < n; i++) text.Append(' ').Append(times[i].ToString("F3", CultureInfo.InvariantCulture));
    Console.Out.WriteLine(text.ToString());
    Console.Out.Flush();
}
return 0;
