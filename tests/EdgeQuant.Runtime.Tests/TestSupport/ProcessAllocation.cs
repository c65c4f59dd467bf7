namespace EdgeQuant.Runtime.Tests.TestSupport;

/// <summary>
/// Bytes allocated by every thread of the process, for code that runs on worker threads too (the interpreter's
/// workers): <see cref="GC.GetAllocatedBytesForCurrentThread"/> sees only the caller's allocations.
/// </summary>
internal static class ProcessAllocation
{
    /// <summary>
    /// The fewest bytes the whole process allocated over <paramref name="tries"/> runs of <paramref name="run"/>
    /// (<see cref="GC.GetTotalAllocatedBytes"/>, precise). The least over several tries, because another thread of the
    /// test host may allocate during one of them; an allocation in <paramref name="run"/> itself shows in every try.
    /// Twenty tries, stopping at the first that allocates nothing: the host allocates now and then (168 bytes every
    /// 50-100 ms was measured while nothing of ours ran, more in the first second of a test run), and five tries of a
    /// few milliseconds each were sometimes all hit. Keep <paramref name="run"/> to a few milliseconds even on a loaded
    /// machine: a run longer than that period is hit in every try.
    /// </summary>
    public static long Least(Action run, int tries = 20) => LeastOf(() => GC.GetTotalAllocatedBytes(precise: true), run, tries);

    /// <summary>The least growth of <paramref name="allocated"/> over up to <paramref name="tries"/> runs, stopping at the first that adds nothing.</summary>
    internal static long LeastOf(Func<long> allocated, Action run, int tries)
    {
        long least = long.MaxValue;
        for (int t = 0; t < tries && least > 0; t++)
        {
            long before = allocated();
            run();
            least = System.Math.Min(least, allocated() - before);
        }
        return least;
    }
}

/// <summary>
/// Bytes allocated on the calling thread by <paramref name="run"/>, the least over a few tries: an allocation of ours in
/// <paramref name="run"/> shows in every try, while the runtime's own one-time work on the calling thread (a method's
/// tier-up or on-stack replacement compiled there) shows in one at most. Seen once under qemu-aarch64 -cpu cortex-a72 with
/// the Cortex-A76 suite running beside it: 5,496 bytes in one loop of 1,000 invokes of a model that allocates nothing
/// in the next.
/// </summary>
internal static class CallerAllocation
{
    public static long Least(Action run, int tries = 3) => ProcessAllocation.LeastOf(GC.GetAllocatedBytesForCurrentThread, run, tries);
}
