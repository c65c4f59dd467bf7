// eq-ab: two builds of EdgeQuant.Runtime (A, the base; B, the change) timed in one process, so that the host's
// drift between processes (on the shared machines here, 20-30% from one process to the next) falls on both alike.
// Each build is loaded into an AssemblyLoadContext of its own; one interpreter per build runs the same blob. After a
// warm-up long enough for tiered compilation (both builds alternating until neither JIT-compiles anything for
// 500 ms), every round times each op (InvokeOp, a block of calls) and then Invoke, on A and B in turn, the order
// flipping every round. Printed: the medians over the rounds and B / A. Both builds' outputs are compared first.
using System.Diagnostics;
using System.Reflection;
using System.Runtime.Loader;

static int Fail(string message)
{
    Console.Error.WriteLine($"eq-ab: {message}");
    return 2;
}

if (args.Length < 3)
    return Fail("usage: eq-ab A/EdgeQuant.Runtime.dll B/EdgeQuant.Runtime.dll MODEL.eqm... [--rounds N] [--threads N] [--ops-only|--invoke-only]");
string[] dlls = [args[0], args[1]];
var models = new List<string>();
int rounds = 21, threads = 1;
bool perOp = true, invoke = true;
for (int i = 2; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--rounds" when i + 1 < args.Length && int.TryParse(args[i + 1], out rounds) && rounds > 0: i++; break;
        case "--threads" when i + 1 < args.Length && int.TryParse(args[i + 1], out threads) && threads is >= 1 and <= 64: i++; break;
        case "--ops-only": invoke = false; break;
        case "--invoke-only": perOp = false; break;
        default:
            if (args[i].StartsWith("--", StringComparison.Ordinal)) return Fail($"unknown or malformed option '{args[i]}'");
            models.Add(args[i]);
            break;
    }
}
foreach (var d in dlls)
    if (!File.Exists(d)) return Fail($"no runtime build at '{d}'");
if (models.Count == 0) return Fail("no model named");
foreach (var m in models)
    if (!File.Exists(m)) return Fail($"no model at '{m}'");

var builds = new Build[2];
for (int v = 0; v < 2; v++)
    builds[v] = new Build(Path.GetFullPath(dlls[v]), "build" + v);
Console.WriteLine($"A = {dlls[0]}\nB = {dlls[1]}\n{rounds} rounds, {threads} thread(s), {Environment.ProcessorCount} CPUs, .NET {Environment.Version}");
foreach (var model in models)
{
    var runs = new Run[2];
    for (int v = 0; v < 2; v++)
        runs[v] = builds[v].Open(Path.GetFullPath(model), threads);
    int ops = runs[0].Ops;
    if (runs[1].Ops != ops) return Fail($"{model}: the builds read {runs[0].Ops} and {runs[1].Ops} ops");
    // The same input (seeded bytes), then the same output from both builds.
    var rnd = new Random(20261206);
    var input = new sbyte[runs[0].InputBytes];
    for (int i = 0; i < input.Length; i++) input[i] = (sbyte)rnd.Next(-128, 128);
    for (int v = 0; v < 2; v++)
    {
        runs[v].SetInput(input);
        runs[v].Invoke();
    }
    if (!runs[0].Output().SequenceEqual(runs[1].Output()))
        return Fail($"{model}: the two builds give different outputs");

    // Warm-up: until neither build JIT-compiles anything for 500 ms (at least 2 s, at most 30 s).
    var warm = Stopwatch.StartNew();
    var quiet = Stopwatch.StartNew();
    long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
    while (warm.ElapsedMilliseconds < 30_000 && (warm.ElapsedMilliseconds < 2000 || quiet.ElapsedMilliseconds < 500))
    {
        for (int v = 0; v < 2; v++)
        {
            for (int k = 0; k < 50; k++) runs[v].Invoke();
            if (perOp)
                for (int o = 0; o < ops; o++)
                    for (int k = 0; k < 20; k++) runs[v].InvokeOp(o);
        }
        long now = System.Runtime.JitInfo.GetCompiledMethodCount();
        if (now != compiled)
        {
            compiled = now;
            quiet.Restart();
        }
    }

    // Block sizes: about 2 ms of each op, 5 ms of Invoke, from one timed call each.
    int rows = (perOp ? ops : 0) + (invoke ? 1 : 0);
    var blocks = new int[rows];
    for (int r = 0; r < rows; r++)
    {
        bool isInvoke = invoke && r == rows - 1;
        var t = Stopwatch.StartNew();
        for (int k = 0; k < 20; k++)
            if (isInvoke) runs[0].Invoke(); else runs[0].InvokeOp(r);
        double us = Math.Max(t.Elapsed.TotalMicroseconds / 20, 0.01);
        blocks[r] = (int)Math.Clamp((isInvoke ? 5000 : 2000) / us, 20, 200_000);
    }
    var times = new List<double>[2, rows];
    for (int v = 0; v < 2; v++)
        for (int r = 0; r < rows; r++) times[v, r] = [];
    var sw = new Stopwatch();
    for (int round = 0; round < rounds; round++)
        for (int r = 0; r < rows; r++)
        {
            bool isInvoke = invoke && r == rows - 1;
            for (int vv = 0; vv < 2; vv++)
            {
                int v = (round & 1) == 0 ? vv : 1 - vv;
                var run = runs[v];
                int n = blocks[r];
                sw.Restart();
                if (isInvoke) for (int k = 0; k < n; k++) run.Invoke();
                else for (int k = 0; k < n; k++) run.InvokeOp(r);
                times[v, r].Add(sw.Elapsed.TotalMicroseconds / n);
                // With threads, the build just timed has workers polling for 2 ms before they block; let them block, or
                // they would take CPU from the other build's block.
                if (threads > 1) Thread.Sleep(5);
            }
        }
    Console.WriteLine($"{Path.GetFileName(model)}: medians over {rounds} rounds (us)");
    Console.WriteLine($"  {"",-24} {"A",9} {"B",9}  {"B / A",6}");
    double sumA = 0, sumB = 0;
    for (int r = 0; r < rows; r++)
    {
        bool isInvoke = invoke && r == rows - 1;
        double a = Median(times[0, r]), b = Median(times[1, r]);
        if (!isInvoke) { sumA += a; sumB += b; }
        string label = isInvoke ? "Invoke" : $"op {r} {runs[0].OpType(r)}";
        Console.WriteLine($"  {label,-24} {a,9:F3} {b,9:F3}  {b / a,6:F3}");
    }
    if (perOp) Console.WriteLine($"  {"sum of op medians",-24} {sumA,9:F3} {sumB,9:F3}  {sumB / sumA,6:F3}");
    foreach (var run in runs) run.Dispose();
}
return 0;

static double Median(List<double> values)
{
    var sorted = values.ToArray();
    Array.Sort(sorted);
    return sorted[sorted.Length / 2];
}

/// <summary>One build of EdgeQuant.Runtime in a load context of its own, reached through reflection.</summary>
sealed class Build
{
    private readonly Type _model, _options, _interpreter;

    public Build(string dll, string name)
    {
        var context = new AssemblyLoadContext(name);
        var assembly = context.LoadFromAssemblyPath(dll);
        _model = assembly.GetType("EdgeQuant.Runtime.Model") ?? throw new InvalidOperationException($"{dll}: no EdgeQuant.Runtime.Model");
        _options = assembly.GetType("EdgeQuant.Runtime.InterpreterOptions") ?? throw new InvalidOperationException($"{dll}: no InterpreterOptions");
        _interpreter = assembly.GetType("EdgeQuant.Runtime.Interpreter") ?? throw new InvalidOperationException($"{dll}: no Interpreter");
    }

    public Run Open(string blob, int threads)
    {
        object model = _model.GetMethod("LoadFile")!.Invoke(null, [blob, null])!;
        object options = Activator.CreateInstance(_options)!;
        _options.GetProperty("Threads")!.SetValue(options, threads);
        object interpreter = _interpreter.GetConstructor([_model, _options])!.Invoke([model, options]);
        return new Run(model, interpreter, _model, _interpreter);
    }
}

/// <summary>One interpreter of one build: delegates bound once, so a timed call is a direct call.</summary>
sealed class Run : IDisposable
{
    private readonly object _interpreter, _model;
    private readonly Type _interpreterType;
    public readonly Action Invoke;
    public readonly Action<int> InvokeOp;
    private readonly Action _dispose;
    public int Ops { get; }
    public int InputBytes { get; }

    public Run(object model, object interpreter, Type modelType, Type interpreterType)
    {
        _model = model;
        _interpreter = interpreter;
        _interpreterType = interpreterType;
        Invoke = interpreterType.GetMethod("Invoke", Type.EmptyTypes)!.CreateDelegate<Action>(interpreter);
        InvokeOp = interpreterType.GetMethod("InvokeOp")!.CreateDelegate<Action<int>>(interpreter);
        _dispose = interpreterType.GetMethod("Dispose")!.CreateDelegate<Action>(interpreter);
        Ops = ((System.Collections.ICollection)modelType.GetProperty("Ops")!.GetValue(model)!).Count;
        InputBytes = Input().Length;
    }

    private Span<sbyte> Input() => ((Func<int, Span<sbyte>>)_interpreterType.GetMethod("GetInput")!.CreateDelegate(typeof(Func<int, Span<sbyte>>), _interpreter))(0);

    public void SetInput(sbyte[] values) => values.CopyTo(Input());

    public sbyte[] Output()
        => ((Func<int, ReadOnlySpan<sbyte>>)_interpreterType.GetMethod("GetOutput", [typeof(int)])!
            .CreateDelegate(typeof(Func<int, ReadOnlySpan<sbyte>>), _interpreter))(0).ToArray();

    public string OpType(int index)
    {
        var ops = (System.Collections.IList)_model.GetType().GetProperty("Ops")!.GetValue(_model)!;
        return ops[index]!.GetType().GetProperty("Type")!.GetValue(ops[index])!.ToString()!;
    }

    public void Dispose() => _dispose();
}
