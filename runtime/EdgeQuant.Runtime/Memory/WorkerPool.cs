using System.Diagnostics;
using System.Runtime.InteropServices;

namespace EdgeQuant.Runtime.Memory;

/// <summary>
/// A fixed set of worker threads created once, running one "job" at a time with the caller's thread.
/// <see cref="Run"/> publishes a job of N parts with part 0 the caller's; the workers, and the caller once
/// its part 0 is done, claim the others one at a time (a compare-and-swap on one word holding the job's
/// number and the next unclaimed part) until none is left, and the caller returns when every claimed part
/// is done. So a worker that is slow to wake, or descheduled by a busy machine, costs nothing: the caller
/// runs the parts nobody claimed instead of waiting. Nothing is allocated per job. Workers poll for the
/// next job for a while (the next op of the same Invoke usually follows within microseconds) and then
/// block until the next one, so an idle interpreter costs no CPU.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>How long a worker polls for the next job before it blocks (the ops of one Invoke follow within microseconds).</summary>
    private static readonly long SpinTicks = Stopwatch.Frequency / 500; // 2 ms

    /// <summary>
    /// Polls (each one normalized pause, tens of nanoseconds) between two yields, for the worker waiting for a job
    /// and the caller waiting for the claimed parts. On a busy machine the scheduler may put the caller and a
    /// worker on one CPU: a thread that only spun would then hold the CPU the other needs for up to a time slice
    /// (measured: 2 threads slower than 1); a yield every few microseconds hands it over, and costs a system
    /// call that returns at once when no other thread is waiting for the CPU.
    /// </summary>
    private const int PollsPerYield = 128;

    /// <summary>
    /// <see cref="Shared.State"/> is (job number &lt;&lt; <see cref="NumberShift"/>) | (part count &lt;&lt; <see cref="CountShift"/>) |
    /// next unclaimed part: one word, so a claim (a compare-and-swap of it) is of a part of the job the word describes.
    /// The part count lives in the word, not in a field of its own: a worker still in the previous job's claim loop
    /// that read the new job's count from a field before the new state was published could claim a part of the old
    /// state beyond the old count, run it as the new job's part, and count it done twice (the caller, waiting for
    /// Done == parts, then waited for ever).
    /// </summary>
    private const int PartBits = 16;

    private const int CountShift = 16;

    private const int NumberShift = 32;

    private const long PartMask = (1L << PartBits) - 1;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private Shared _shared;
    private volatile bool _stopping;
    private Exception? _failure;

    // The caller's alone: the last job's number, and the parts it took with TryClaim in the current job.
    private long _number;
    private int _stolen;

    /// <summary>
    /// The words the threads write while a job runs, each on its own cache line, so a worker's claim does not
    /// evict the line the caller polls for completion (and the reverse).
    /// </summary>
    [StructLayout(LayoutKind.Explicit, Size = 256)]
    private struct Shared
    {
        /// <summary>(job number &lt;&lt; NumberShift) | (parts &lt;&lt; CountShift) | next unclaimed part.</summary>
        [FieldOffset(64)] public long State;

        /// <summary>Parts of the current job finished.</summary>
        [FieldOffset(128)] public int Done;

        /// <summary>Workers blocked (or about to block) in Monitor.Wait: Run takes the lock to wake them only when there are any.</summary>
        [FieldOffset(192)] public int Sleepers;
    }

    /// <param name="workers">Threads besides the caller's (at least 1).</param>
    public WorkerPool(int workers)
    {
        Debug.Assert(workers >= 1);
        _threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            _threads[i] = new Thread(WorkerLoop)
            {
                IsBackground = true,
                Name = $"EdgeQuant worker {i + 1}",
            };
            _threads[i].Start();
        }
    }

    /// <summary>Parts the caller has taken with <see cref="TryClaim"/> since the pool was created (for tests).</summary>
    internal long CallerClaims;

    /// <summary>For tests: while set, the workers pass every job by, so the caller claims (and runs) every part.</summary>
    internal volatile bool Held;

    /// <summary>Threads that run a job's parts: the workers plus the caller.</summary>
    public int Threads => _threads.Length + 1;

    /// <summary>
    /// Runs parts 0 to <paramref name="parts"/> - 1 of <paramref name="job"/>, each once, and returns when all are done:
    /// true when a worker ran any part. Part 0 is the caller's: the job is published with it already claimed, so the
    /// caller starts it at once, with no locked instruction before it (a compare-and-swap of the line the workers poll
    /// waits for that line to come back from the worker's core, about half a microsecond on hosts whose cores are far
    /// apart, and a worker would sometimes win part 0, so that the rows of a split op changed threads from one call to
    /// the next). The other parts go to whichever thread claims them first; the caller claims what is left after part 0.
    /// </summary>
    public bool Run(IParallelJob job, int parts)
    {
        if (_stopping) throw new ObjectDisposedException(nameof(WorkerPool));
        Debug.Assert(parts >= 1 && parts <= PartMask);
        _job = job;
        _failure = null;
        _stolen = 0;
        Volatile.Write(ref _shared.Done, 0);
        long number = ++_number;
        // Publishing the new number and count with part 1 next is what starts the job (the writes above come first: on
        // x64 and arm64 a release store keeps them before it).
        Volatile.Write(ref _shared.State, (number << NumberShift) | ((long)parts << CountShift) | 1);
        // A worker counts itself a sleeper before it re-checks the state, so either it sees this job or this read sees it
        // and the pulse wakes it. (Without a full fence between the store above and this read, the read may come first
        // and miss a worker that is just going to sleep: that worker sleeps through this job, whose parts the caller then
        // claims itself, and the next job's read finds it.)
        if (Volatile.Read(ref _shared.Sleepers) != 0)
            lock (_gate) Monitor.PulseAll(_gate);

        RunClaimed(0, parts);
        int own = 1 + ClaimAndRun(number, countDone: false) + _stolen;

        // The parts are microseconds long: poll, with a yield now and then (never Sleep(1), a whole timer tick), so a
        // worker that claimed a part and shares this CPU gets to finish it. Only the workers count their parts done.
        for (int i = 1; Volatile.Read(ref _shared.Done) < parts - own; i++)
            Pause(i);
        _job = null;
        if (_failure is { } f)
            throw f is InvalidOperationException or ArgumentException ? f : new InvalidOperationException("a part of a split op failed", f);
        return own < parts;
    }

    /// <summary>
    /// For the caller, while one of its parts runs: claims part <paramref name="part"/> of the current job if no thread
    /// has claimed it and it is the next unclaimed one (parts are claimed in order), and true. The caller then runs it
    /// inside the part it is running (a staged job's slot that no worker has taken).
    /// </summary>
    public bool TryClaim(int part)
    {
        long s = Volatile.Read(ref _shared.State);
        if ((int)(s & PartMask) != part || part >= (int)((s >> CountShift) & PartMask)) return false;
        if (Interlocked.CompareExchange(ref _shared.State, s + 1, s) != s) return false;
        _stolen++;
        CallerClaims++;
        return true;
    }

    /// <summary>Poll <paramref name="i"/> (from 1) of a wait for other threads: a normalized pause, and a yield every <see cref="PollsPerYield"/> polls.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    internal static void Pause(int i)
    {
        if (i % PollsPerYield == 0) Thread.Yield();
        else Thread.SpinWait(1);
    }

    /// <summary>
    /// Claims and runs parts of job <paramref name="number"/> until none is left (or that job is over); returns how many
    /// it ran. A worker counts each part done (<paramref name="countDone"/>); the caller knows its own.
    /// </summary>
    private int ClaimAndRun(long number, bool countDone)
    {
        int ran = 0;
        while (true)
        {
            long s = Volatile.Read(ref _shared.State);
            if (s >> NumberShift != number) return ran;
            int part = (int)(s & PartMask), parts = (int)((s >> CountShift) & PartMask);
            if (part >= parts) return ran;
            if (Interlocked.CompareExchange(ref _shared.State, s + 1, s) != s) continue;
            // The part is ours, of the job the state describes: that job cannot end (and _job cannot change) before
            // the part is counted done.
            RunClaimed(part, parts);
            if (countDone) Interlocked.Increment(ref _shared.Done);
            ran++;
        }
    }

    private void RunClaimed(int part, int parts)
    {
        try
        {
            _job!.RunPart(part, parts);
        }
        catch (Exception e)
        {
            // Recorded before the part is counted, so the caller sees it once every part is done.
            Interlocked.CompareExchange(ref _failure, e, null);
        }
    }

    /// <summary>Wakes blocked workers so that they poll again (for about 2 ms) before jobs come: waking takes longer than a small job.</summary>
    public void Wake()
    {
        if (Volatile.Read(ref _shared.Sleepers) != 0)
            lock (_gate) Monitor.PulseAll(_gate);
    }

    private void WorkerLoop()
    {
        // Jobs are numbered from 1: a job published before this thread first runs is still seen as new.
        long seen = 0;
        while (true)
        {
            int polls = 0;
            long since = Stopwatch.GetTimestamp();
            long number;
            while ((number = Volatile.Read(ref _shared.State) >> NumberShift) == seen)
            {
                if (_stopping) return;
                if (++polls % PollsPerYield != 0)
                {
                    Thread.SpinWait(1);
                    continue;
                }
                if (Stopwatch.GetTimestamp() - since < SpinTicks)
                {
                    Thread.Yield();
                    continue;
                }
                lock (_gate)
                {
                    Interlocked.Increment(ref _shared.Sleepers);
                    if (Volatile.Read(ref _shared.State) >> NumberShift == seen && !_stopping) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _shared.Sleepers);
                }
                // Woken (by a job, or by Wake ahead of one): poll afresh.
                polls = 0;
                since = Stopwatch.GetTimestamp();
            }
            seen = number;
            if (_stopping) return;
            if (!Held) ClaimAndRun(number, countDone: true);
        }
    }

    public void Dispose()
    {
        if (_stopping) return;
        _stopping = true;
        lock (_gate) Monitor.PulseAll(_gate);
        foreach (var t in _threads) t.Join();
    }
}

/// <summary>Work split into parts: <see cref="RunPart"/> runs part <c>part</c> of <c>parts</c>, on any thread.</summary>
internal interface IParallelJob
{
    void RunPart(int part, int parts);
}
