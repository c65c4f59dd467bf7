using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Cli;

/// <summary>Single-threaded latency measurement of an interpreter: warm-up, then timed invokes.</summary>
public static class Benchmark
{
    /// <summary>Median, 99th percentile and fastest of the timed invokes (the fastest: what an unpreempted run takes on a shared machine).</summary>
    /// <remarks><c>ThreadBytes</c>: what the interpreter holds for its threads beyond the planned arena (<see cref="Interpreter.ThreadBytes"/>).</remarks>
    public readonly record struct Result(double MedianUs, double P99Us, long AllocatedBytesPerInvoke, double MinUs = 0, int ThreadBytes = 0);

    /// <summary>
    /// Bytes allocated per Invoke over <paramref name="iterations"/> untimed invokes (so the timing code itself is not
    /// counted): by this thread with one thread; with more, by every thread of the process (the workers run parts of
    /// each Invoke, and their allocations are not the caller's), the least of three loops, since another thread of the
    /// host process may allocate during one of them while an allocation per Invoke shows in all three.
    /// </summary>
    private static long AllocatedBytesPerInvoke(Interpreter interp, int iterations, int threads)
    {
        long least = long.MaxValue;
        for (int t = 0; t < (threads > 1 ? 3 : 1) && least > 0; t++)
        {
            long before = threads > 1 ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < iterations; i++) interp.Invoke();
            long after = threads > 1 ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();
            least = Math.Min(least, after - before);
        }
        return least / iterations;
    }

    public static Result Measure(Model model, int iterations, bool reference, int threads = 1)
    {
        using var interp = WarmedUp(model, iterations, new InterpreterOptions { ReferenceKernelsOnly = reference, Threads = threads });
        long allocated = AllocatedBytesPerInvoke(interp, iterations, threads);
        var times = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            interp.Invoke();
            times[i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
        }
        Array.Sort(times);
        return new Result(times[iterations / 2], times[Math.Min(iterations - 1, (int)Math.Ceiling(iterations * 0.99) - 1)], allocated, times[0],
            interp.ThreadBytes);
    }

    /// <summary>One op's share of an inference: median time over the timed invokes, and its multiply-accumulates.
    /// <paramref name="Winograd"/>: a 3x3 convolution on the Winograd F(2x2, 3x3) path, whose products are 16/36 of its MACs.</summary>
    public readonly record struct OpTiming(int Index, OpType Type, double MedianUs, long Macs, bool Winograd = false);

    /// <summary>
    /// Per-op profile: after the same warm-up as <see cref="Measure"/>, every timed invoke runs the
    /// ops one by one (<see cref="Interpreter.InvokeOp"/>, so each reads what the op before it
    /// wrote) with a timestamp around each; the median per op over the invokes is reported. The
    /// timestamps add tens of nanoseconds per op, so the sum slightly exceeds a plain Invoke.
    /// </summary>
    public static OpTiming[] MeasurePerOp(Model model, int iterations)
    {
        using var interp = WarmedUp(model, iterations, new InterpreterOptions());
        int ops = model.Ops.Count;
        // The op-by-op calls are their own code path (InvokeOp, and whatever Invoke inlined): warm it up as long
        // again, or the first timed invokes run tier-0 code and inflate the late ops' medians.
        long warmStart = Stopwatch.GetTimestamp();
        while (Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 500)
            for (int k = 0; k < ops; k++) interp.InvokeOp(k);
        var times = new double[ops][];
        for (int k = 0; k < ops; k++) times[k] = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            for (int k = 0; k < ops; k++)
            {
                long t0 = Stopwatch.GetTimestamp();
                interp.InvokeOp(k);
                // Raw ticks: a TimeSpan would round every op to 0.1 us.
                times[k][i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
            }
        }
        var result = new OpTiming[ops];
        for (int k = 0; k < ops; k++)
        {
            Array.Sort(times[k]);
            result[k] = new OpTiming(k, model.Ops[k].Type, times[k][iterations / 2], Macs(model, model.Ops[k]), interp.UsesWinograd(k));
        }
        return result;
    }

    /// <summary>
    /// Per-op medians of several models measured in alternating rounds (model 0, 1, ..., then again), so that
    /// a change of the machine's load touches all of them alike: each interpreter is warmed up once, each
    /// round times <paramref name="iterations"/> op-by-op invokes per model, and the median over rounds of the
    /// per-round medians is returned, per model and op (microseconds).
    /// </summary>
    public static double[][] MeasurePerOpAlternating(IReadOnlyList<Model> models, int iterations, int rounds)
    {
        var interps = new Interpreter[models.Count];
        try
        {
            for (int k = 0; k < models.Count; k++) interps[k] = WarmedUp(models[k], iterations, new InterpreterOptions());
            var perRound = new double[models.Count][][];
            for (int k = 0; k < models.Count; k++)
            {
                perRound[k] = new double[models[k].Ops.Count][];
                for (int o = 0; o < perRound[k].Length; o++) perRound[k][o] = new double[rounds];
            }
            var times = new double[iterations];
            for (int r = 0; r < rounds; r++)
                for (int k = 0; k < models.Count; k++)
                    for (int o = 0; o < models[k].Ops.Count; o++)
                    {
                        for (int i = 0; i < iterations; i++)
                        {
                            long t0 = Stopwatch.GetTimestamp();
                            interps[k].InvokeOp(o);
                            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
                        }
                        Array.Sort(times);
                        perRound[k][o][r] = times[iterations / 2];
                    }
            var result = new double[models.Count][];
            for (int k = 0; k < models.Count; k++)
            {
                result[k] = new double[models[k].Ops.Count];
                for (int o = 0; o < result[k].Length; o++)
                {
                    Array.Sort(perRound[k][o]);
                    result[k][o] = perRound[k][o][rounds / 2];
                }
            }
            return result;
        }
        finally
        {
            foreach (var it in interps) it?.Dispose();
        }
    }

    /// <summary>One op with one and with N threads: the median over rounds of each round's median, and how many parts the N-thread interpreter splits it into.</summary>
    public readonly record struct ThreadsOpTiming(int Index, OpType Type, int Parts, double OneUs, double ManyUs, long Macs, int ChainStart);

    /// <summary>Per-op and whole-Invoke medians of a 1-thread and an N-thread interpreter measured in alternating rounds, and the N-thread allocation.</summary>
    /// <remarks>
    /// <see cref="RoundRatioMedian"/>: the median over rounds of a round's 1-thread median / N-thread median, a paired
    /// comparison (both measured in the same fraction of a second, in interleaved blocks) that a change of the machine's
    /// load between rounds does not move; <see cref="RoundRatioLow"/> and <see cref="RoundRatioHigh"/> the lowest and highest.
    /// </remarks>
    public readonly record struct ThreadsProfile(ThreadsOpTiming[] Ops, double OneInvokeUs, double ManyInvokeUs, double OneMinUs, double ManyMinUs,
        long AllocatedBytesPerInvoke, double RoundRatioMedian, double RoundRatioLow, double RoundRatioHigh);

    /// <summary>
    /// A 1-thread and a <paramref name="threads"/>-thread interpreter of the same model in one process, warmed up
    /// alike, then <paramref name="rounds"/> rounds; each round times <paramref name="iterations"/> plain Invokes of
    /// each interpreter (in blocks of 50, the interpreters alternating block by block), then <paramref name="iterations"/> op-by-op invokes of each (a timestamp
    /// around every <see cref="Interpreter.InvokeOp"/>, the ops in order, so each reads what the op before it wrote
    /// and the workers see the real gaps between ops). Op by op, each split op is its own job: the chains a plain
    /// Invoke runs as one job (<see cref="Interpreter.ChainStart"/>) show only in the Invoke figures. Every figure is the median over rounds of a round's median,
    /// so a change of the machine's load touches both interpreters alike.
    /// </summary>
    public static ThreadsProfile MeasurePerOpThreads(Model model, int iterations, int threads, int rounds)
    {
        using var one = WarmedUp(model, iterations, new InterpreterOptions());
        using var many = WarmedUp(model, iterations, new InterpreterOptions { Threads = threads });
        int ops = model.Ops.Count;
        Interpreter[] pair = [one, many];
        foreach (var it in pair)
        {
            long warmStart = Stopwatch.GetTimestamp();
            while (Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 300)
                for (int k = 0; k < ops; k++) it.InvokeOp(k);
        }
        long allocated = AllocatedBytesPerInvoke(many, iterations, threads);

        var invokeRounds = new double[2][];
        var minimum = new[] { double.MaxValue, double.MaxValue };
        var opRounds = new double[2][][];
        for (int s = 0; s < 2; s++)
        {
            invokeRounds[s] = new double[rounds];
            opRounds[s] = new double[ops][];
            for (int k = 0; k < ops; k++) opRounds[s][k] = new double[rounds];
        }
        var times = new[] { new double[iterations], new double[iterations] };
        var ratios = new double[rounds];
        var opTimes = new double[ops][];
        for (int k = 0; k < ops; k++) opTimes[k] = new double[iterations];
        // Invokes in blocks of InvokeBlock, the two interpreters alternating block by block (the first of each pair of
        // blocks flipping), so both see the same stretch of the machine's load within a round.
        const int InvokeBlock = 50;
        for (int r = 0; r < rounds; r++)
        {
            for (int from = 0, b = 0; from < iterations; from += InvokeBlock, b++)
            {
                int count = Math.Min(InvokeBlock, iterations - from);
                for (int q = 0; q < 2; q++)
                {
                    int s = (b & 1) == 0 ? q : 1 - q;
                    var it = pair[s];
                    for (int i = from; i < from + count; i++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        it.Invoke();
                        times[s][i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
                    }
                }
            }
            for (int s = 0; s < 2; s++)
            {
                Array.Sort(times[s]);
                invokeRounds[s][r] = times[s][iterations / 2];
                minimum[s] = Math.Min(minimum[s], times[s][0]);
            }
            ratios[r] = invokeRounds[0][r] / invokeRounds[1][r];
            for (int s = 0; s < 2; s++)
            {
                var it = pair[s];
                for (int i = 0; i < iterations; i++)
                    for (int k = 0; k < ops; k++)
                    {
                        long t0 = Stopwatch.GetTimestamp();
                        it.InvokeOp(k);
                        opTimes[k][i] = (Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency;
                    }
                for (int k = 0; k < ops; k++)
                {
                    Array.Sort(opTimes[k]);
                    opRounds[s][k][r] = opTimes[k][iterations / 2];
                }
            }
        }
        static double Median(double[] v) { Array.Sort(v); return v[v.Length / 2]; }
        var result = new ThreadsOpTiming[ops];
        for (int k = 0; k < ops; k++)
            result[k] = new ThreadsOpTiming(k, model.Ops[k].Type, many.OpParts(k), Median(opRounds[0][k]), Median(opRounds[1][k]), Macs(model, model.Ops[k]), many.ChainStart(k));
        double low = ratios.Min(), high = ratios.Max();
        return new ThreadsProfile(result, Median(invokeRounds[0]), Median(invokeRounds[1]), minimum[0], minimum[1], allocated, Median(ratios), low, high);
    }

    /// <summary>
    /// An interpreter with a random input, warmed up for at least half a second and until the JIT has compiled no method
    /// for a quarter of a second (at most 20 s): tiered compilation promotes hot methods to optimized code only after a
    /// delay, and does it on a background thread. On a 2-core machine that thread takes one of the two cores, so a
    /// 2-thread interpreter timed while it runs shares one core between its threads (measured: mnv2 at 100-150 us a
    /// run instead of 20 us, after a fixed half-second warm-up).
    /// </summary>
    private static Interpreter WarmedUp(Model model, int iterations, InterpreterOptions options)
    {
        var interp = new Interpreter(model, options);
        var input = interp.GetInput();
        var rng = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (sbyte)rng.Next(-128, 128);
        WarmUp(interp.Invoke, Math.Max(5, iterations / 10));
        return interp;
    }

    /// <summary>
    /// Runs <paramref name="run"/> at least <paramref name="minRuns"/> times and 500 ms, then until no method was compiled
    /// during the last 250 ms (<see cref="System.Runtime.JitInfo.GetCompiledMethodCount"/>), for at most 20 s.
    /// </summary>
    private static void WarmUp(Action run, int minRuns)
    {
        long start = Stopwatch.GetTimestamp(), quietSince = start;
        long compiled = System.Runtime.JitInfo.GetCompiledMethodCount();
        for (int i = 0; ; i++)
        {
            run();
            long now = Stopwatch.GetTimestamp();
            long c = System.Runtime.JitInfo.GetCompiledMethodCount();
            if (c != compiled)
            {
                compiled = c;
                quietSince = now;
            }
            double total = Stopwatch.GetElapsedTime(start, now).TotalMilliseconds;
            if (i + 1 >= minRuns && total >= 500 && Stopwatch.GetElapsedTime(quietSince, now).TotalMilliseconds >= 250)
                return;
            if (total >= 20_000)
                return;
        }
    }

    /// <summary>Multiply-accumulates of an op: convolutions and fully connected layers; 0 for the rest.</summary>
    public static long Macs(Model model, in OpInfo op)
    {
        var t = model.Tensors;
        switch (op.Type)
        {
            case OpType.Conv2D:
            case OpType.DynamicConv2D:
            case OpType.Conv2DCompressed:
            case OpType.Conv2DSparse:
            case OpType.Conv2DCompressedPacked:
            case OpType.Conv2DS16:
            case OpType.Conv2DF32:
            {
                var f = t[op.Input1].Shape; // [Cout, Kh, Kw, Cin]
                return (long)t[op.Output0].ElementCount * f[1] * f[2] * f[3];
            }
            case OpType.DepthwiseConv2D:
            case OpType.DynamicDepthwiseConv2D:
            case OpType.DepthwiseConv2DCompressed:
            case OpType.DepthwiseConv2DCompressedPacked:
            case OpType.DepthwiseConv2DS16:
            case OpType.DepthwiseConv2DF32:
            {
                var f = t[op.Input1].Shape; // [1, Kh, Kw, Cout]
                return (long)t[op.Output0].ElementCount * f[1] * f[2];
            }
            case OpType.FullyConnected:
            case OpType.DynamicFullyConnected:
            case OpType.FullyConnectedCompressed:
            case OpType.FullyConnectedSparse:
            case OpType.FullyConnectedCompressedPacked:
            case OpType.FullyConnectedS16:
            case OpType.FullyConnectedF32:
            {
                var f = t[op.Input1].Shape; // [Cout, Cin]
                return (long)t[op.Output0].ElementCount * f[1];
            }
            default:
                return 0;
        }
    }

    public static string Hardware()
    {
        var isa = Avx512BW.IsSupported ? "AVX-512BW" : Avx2.IsSupported ? "AVX2" : "scalar";
        if (AvxVnni.IsSupported) isa += "+AVX-VNNI";
        return $"{System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture}, {isa}, .NET {Environment.Version}";
    }
}

/// <summary>Finds the bundled model zoo (tests/zoo) from the working directory or the tool's location.</summary>
public static class Zoo
{
    public static string? Find()
    {
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            var d = new DirectoryInfo(start);
            while (d is not null)
            {
                var z = Path.Combine(d.FullName, "tests", "zoo");
                if (File.Exists(Path.Combine(z, "mnist_cnn.onnx"))) return z;
                d = d.Parent;
            }
        }
        return null;
    }
}
