using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace EdgeQuant.Cli;

/// <summary>
/// The int8 multiply-accumulate peak of the instruction the runtime's x64 kernels are built on, measured on
/// this core in this process, so <c>bench --per-op</c> can print each op's share of it.
/// <para>
/// The yardstick: the reference's product is int32 sums of exact int8 x int8 products. VPMADDUBSW cannot
/// give that for any int8 operands (its int16 pair sums saturate) and .NET 10 exposes no 512-bit VNNI;
/// without the VEX AVX-VNNI (absent on Zen 4) the x64 kernels widen to int16 and use
/// VPMADDWD (2 MACs per int32 lane) + VPADDD. The peak is that pair at the widest width the kernels use
/// here (256-bit with AVX2; also 512-bit with AVX-512BW, the better of the two kept): 8 independent
/// accumulator chains, short bursts, the best burst kept (the rate of an unpreempted core).
/// tools/peak/peak_vpmaddwd.c measures the same in C, plus the exact |x| x sign(x)w VPMADDUBSW form,
/// which is slower on the machines of this kind.
/// </para>
/// <para>
/// Where the CPU has AVX-VNNI (Zen 5 among the machines of this kind), the big convolutions run VPDPBUSD (256-bit, 32
/// MACs with the accumulation, exact on biased activations), and the small-K ones still VPMADDWD: the peak is then the
/// better of VPDPBUSD's and VPMADDWD's, so no op is measured against a yardstick lower than the fastest instruction here.
/// </para>
/// </summary>
public static class PeakMeter
{
    public readonly record struct Peak(string Instruction, double GmacsPerSecond);

    /// <summary>The measured peak, or null on a machine whose kernels have no measured yardstick here (no AVX2).</summary>
    public static Peak? Measure()
    {
        if (!Avx2.IsSupported)
            return null;
        double g256 = Best(static n => Chains256(n), 16);
        if (!Avx512BW.IsSupported)
            return new Peak("VPMADDWD+VPADDD 256-bit", g256);
        double g512 = Best(static n => Chains512(n), 32);
        var peak = g512 > g256 ? new Peak("VPMADDWD+VPADDD 512-bit", g512) : new Peak("VPMADDWD+VPADDD 256-bit", g256);
        if (AvxVnni.IsSupported)
        {
            double vnni = Best(static n => ChainsVnni(n), 32);
            if (vnni > peak.GmacsPerSecond)
                peak = new Peak("VPDPBUSD 256-bit (AVX-VNNI)", vnni);
        }
        return peak;
    }

    private const int Iterations = 4000, Bursts = 2000;

    // Small non-zero int16 values: 4 places x 3 operands of up to 32 elements (512-bit), and one vector's slack.
    private static readonly short[] Operands = CreateOperands();

    private static short[] CreateOperands()
    {
        var a = new short[4 * 32 + 3 * 32];
        for (int i = 0; i < a.Length; i++) a[i] = (short)(i % 7 - 3);
        return a;
    }

    private static double Best(Func<int, int> run, int macsPerInstruction)
    {
        run(Iterations); // compiled and warm before timing
        double best = 0;
        long start = Stopwatch.GetTimestamp();
        for (int b = 0; b < Bursts || (best == 0 && Stopwatch.GetElapsedTime(start).TotalSeconds < 2); b++)
        {
            long t0 = Stopwatch.GetTimestamp();
            run(Iterations);
            double s = (Stopwatch.GetTimestamp() - t0) / (double)Stopwatch.Frequency;
            if (s > 0) best = System.Math.Max(best, Iterations * 8.0 * macsPerInstruction / s / 1e9);
        }
        return best;
    }

    // The returned lane keeps the accumulators live; the operands come from the argument so nothing is folded.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call: no tier-0 code timed
    private static int Chains256(int n)
    {
        ref short o = ref MemoryMarshal.GetArrayDataReference(Operands);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            // Operands loaded per iteration from a varying place (as the kernels' broadcast loads), so none is hoisted.
            ref short p = ref Unsafe.Add(ref o, (i & 3) * 16);
            var x = Vector256.LoadUnsafe(ref p);
            var y = Vector256.LoadUnsafe(ref p, 16);
            var z = Vector256.LoadUnsafe(ref p, 32);
            a0 += Avx2.MultiplyAddAdjacent(x, y);
            a1 += Avx2.MultiplyAddAdjacent(x, z);
            a2 += Avx2.MultiplyAddAdjacent(y, z);
            a3 += Avx2.MultiplyAddAdjacent(y, y);
            a4 += Avx2.MultiplyAddAdjacent(z, z);
            a5 += Avx2.MultiplyAddAdjacent(x, x);
            a6 += Avx2.MultiplyAddAdjacent(z, y);
            a7 += Avx2.MultiplyAddAdjacent(y, x);
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7).ToScalar();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call: no tier-0 code timed
    private static int ChainsVnni(int n)
    {
        ref short o = ref MemoryMarshal.GetArrayDataReference(Operands);
        Vector256<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            // As Chains256: operands loaded per iteration from a varying place; VPDPBUSD accumulates in place (no VPADDD).
            ref short p = ref Unsafe.Add(ref o, (i & 3) * 16);
            var x = Vector256.LoadUnsafe(ref p).AsByte();
            var y = Vector256.LoadUnsafe(ref p, 16).AsSByte();
            var z = Vector256.LoadUnsafe(ref p, 32).AsSByte();
            a0 = AvxVnni.MultiplyWideningAndAdd(a0, x, y);
            a1 = AvxVnni.MultiplyWideningAndAdd(a1, x, z);
            a2 = AvxVnni.MultiplyWideningAndAdd(a2, y.AsByte(), z);
            a3 = AvxVnni.MultiplyWideningAndAdd(a3, y.AsByte(), y);
            a4 = AvxVnni.MultiplyWideningAndAdd(a4, z.AsByte(), z);
            a5 = AvxVnni.MultiplyWideningAndAdd(a5, x, x.AsSByte());
            a6 = AvxVnni.MultiplyWideningAndAdd(a6, z.AsByte(), y);
            a7 = AvxVnni.MultiplyWideningAndAdd(a7, y.AsByte(), x.AsSByte());
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7).ToScalar();
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)] // fully optimized from the first call: no tier-0 code timed
    private static int Chains512(int n)
    {
        ref short o = ref MemoryMarshal.GetArrayDataReference(Operands);
        Vector512<int> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default;
        for (int i = 0; i < n; i++)
        {
            // Operands loaded per iteration from a varying place (as the kernels' broadcast loads), so none is hoisted.
            ref short p = ref Unsafe.Add(ref o, (i & 3) * 32);
            var x = Vector512.LoadUnsafe(ref p);
            var y = Vector512.LoadUnsafe(ref p, 32);
            var z = Vector512.LoadUnsafe(ref p, 64);
            a0 += Avx512BW.MultiplyAddAdjacent(x, y);
            a1 += Avx512BW.MultiplyAddAdjacent(x, z);
            a2 += Avx512BW.MultiplyAddAdjacent(y, z);
            a3 += Avx512BW.MultiplyAddAdjacent(y, y);
            a4 += Avx512BW.MultiplyAddAdjacent(z, z);
            a5 += Avx512BW.MultiplyAddAdjacent(x, x);
            a6 += Avx512BW.MultiplyAddAdjacent(z, y);
            a7 += Avx512BW.MultiplyAddAdjacent(y, x);
        }
        return (a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7).ToScalar();
    }

    /// <summary>
    /// How much faster <paramref name="threads"/> threads get through independent work than one thread, on this machine now:
    /// each thread runs the same register-only multiply-add loop (the widest VPMADDWD form here; a scalar mix where there is
    /// no AVX2), nothing shared, started together; one thread alone and all together alternate for
    /// <paramref name="rounds"/> rounds of about 20 ms each, and the median over rounds of threads x (one thread's time /
    /// the slowest thread's time together) is returned. This is the ceiling for any split of an Invoke measured in the
    /// same minute. On a virtual machine it is not a constant: measured on the 2-vCPU machines of this kind, from 1.5 to 2.0,
    /// changing from one process to the next (the host decides what else runs beside each vCPU).
    /// </summary>
    public static double ThreadCeiling(int threads, int rounds = 5)
    {
        Func<int, int> work = Avx512BW.IsSupported ? static n => Chains512(n) : Avx2.IsSupported ? static n => Chains256(n) : static n => ScalarChains(n);
        work(Iterations);
        // Iterations for about 20 ms on one thread.
        int n = Iterations;
        while (true)
        {
            long t0 = Stopwatch.GetTimestamp();
            work(n);
            if (Stopwatch.GetElapsedTime(t0).TotalMilliseconds >= 20 || n > 1 << 28) break;
            n *= 2;
        }
        var ratios = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            work(n);
            double one = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            using var start = new Barrier(threads);
            var times = new double[threads];
            var others = new Thread[threads - 1];
            for (int i = 1; i < threads; i++)
            {
                int k = i;
                others[i - 1] = new Thread(() => times[k] = Timed(work, n, start));
                others[i - 1].Start();
            }
            times[0] = Timed(work, n, start);
            foreach (var t in others) t.Join();
            ratios[r] = threads * one / times.Max();
        }
        Array.Sort(ratios);
        return ratios[rounds / 2];
    }

    private static double Timed(Func<int, int> work, int n, Barrier start)
    {
        start.SignalAndWait();
        long t0 = Stopwatch.GetTimestamp();
        work(n);
        return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int ScalarChains(int n)
    {
        uint a = 1, b = 2, c = 3, d = 4;
        for (int i = 0; i < n; i++)
        {
            a = a * 1664525 + 1013904223;
            b = b * 22695477 + 1;
            c = c * 69069 + 12345;
            d = d * 134775813 + 1;
        }
        return (int)(a ^ b ^ c ^ d);
    }

    /// <summary>
    /// The round trip of one cache line between two threads, in nanoseconds (median of 5 rounds of 20,000 hand-overs): how
    /// long data one core wrote takes to reach another. A split Invoke pays it wherever an op reads rows the other thread
    /// wrote; on a virtual machine it depends on where the host put the two vCPUs (measured on the machines of this kind:
    /// 90-125 ns in some processes, 370-430 ns in others, and a 2-thread Invoke of fashion_mobilenetv2 then 30 us instead of 20.5).
    /// </summary>
    public static double CrossCoreRoundTripNs(int rounds = 5)
    {
        const int HandOvers = 20_000;
        var line = new long[32]; // the word at 8: its own cache line, whatever the array's alignment
        var results = new double[rounds];
        for (int r = 0; r < rounds; r++)
        {
            Volatile.Write(ref line[8], 0);
            var other = new Thread(() =>
            {
                for (long i = 0; i < HandOvers; i++)
                {
                    while (Volatile.Read(ref line[8]) != 2 * i + 1) { }
                    Volatile.Write(ref line[8], 2 * i + 2);
                }
            });
            other.Start();
            // Both threads spinning before the clock starts.
            Volatile.Write(ref line[8], 1);
            while (Volatile.Read(ref line[8]) != 2) { }
            long t0 = Stopwatch.GetTimestamp();
            for (long i = 1; i < HandOvers; i++)
            {
                Volatile.Write(ref line[8], 2 * i + 1);
                while (Volatile.Read(ref line[8]) != 2 * i + 2) { }
            }
            results[r] = Stopwatch.GetElapsedTime(t0).TotalNanoseconds / (HandOvers - 1);
            other.Join();
        }
        Array.Sort(results);
        return results[rounds / 2];
    }
}
