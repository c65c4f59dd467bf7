using System.Diagnostics;
using System.Runtime.Intrinsics.X86;
using EdgeQuant.Runtime;

namespace EdgeQuant.Cli;

/// <summary>Single-threaded latency measurement of an interpreter: warm-up, then timed invokes.</summary>
public static class Benchmark
{
    public readonly record struct Result(double MedianUs, double P99Us, long AllocatedBytesPerInvoke);

    public static Result Measure(Model model, int iterations, bool reference)
    {
        var interp = new Interpreter(model, new InterpreterOptions { ReferenceKernelsOnly = reference });
        var input = interp.GetInput();
        var rng = new Random(1);
        for (int i = 0; i < input.Length; i++) input[i] = (sbyte)rng.Next(-128, 128);
        // Warm up for at least half a second: tiered compilation promotes hot methods to optimized
        // code only after a delay, so a short warm-up would time tier-0 code.
        long warmStart = Stopwatch.GetTimestamp();
        for (int i = 0; i < Math.Max(5, iterations / 10) || Stopwatch.GetElapsedTime(warmStart).TotalMilliseconds < 500; i++) interp.Invoke();
        // Allocation is measured on an untimed loop, so the timing code itself is not counted.
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < iterations; i++) interp.Invoke();
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var times = new double[iterations];
        for (int i = 0; i < iterations; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            interp.Invoke();
            times[i] = Stopwatch.GetElapsedTime(t0).TotalMicroseconds;
        }
        Array.Sort(times);
        return new Result(times[iterations / 2], times[Math.Min(iterations - 1, (int)Math.Ceiling(iterations * 0.99) - 1)], allocated / iterations);
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
