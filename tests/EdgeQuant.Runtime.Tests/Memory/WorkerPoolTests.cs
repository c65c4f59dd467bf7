using EdgeQuant.Runtime.Memory;
using EdgeQuant.Runtime.Tests.TestSupport;
using NUnit.Framework;

namespace EdgeQuant.Runtime.Tests.Memory;

/// <summary>
/// WorkerPool: every part of every job runs exactly once, whichever thread claims it (also with more parts than
/// threads and with one part), a worker that never gets to a job costs nothing but time (the caller runs the
/// unclaimed parts), a failing part is reported once all parts are done, and Run allocates nothing.
/// </summary>
[TestFixture]
public class WorkerPoolTests
{
    private sealed class CountingJob(int maxParts) : IParallelJob
    {
        public readonly int[] Runs = new int[maxParts];
        public int Parts;
        public int Caller;
        public int OnCaller;
        public int PartZeroElsewhere;
        public int FailPart = -1;
        public long SpinTicks;

        public void RunPart(int part, int parts)
        {
            if (parts != Parts) throw new InvalidOperationException($"parts {parts}, expected {Parts}");
            Interlocked.Increment(ref Runs[part]);
            if (Environment.CurrentManagedThreadId == Caller) Interlocked.Increment(ref OnCaller);
            else if (part == 0) Interlocked.Increment(ref PartZeroElsewhere);
            if (SpinTicks > 0)
                for (long end = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks; System.Diagnostics.Stopwatch.GetTimestamp() < end;) { }
            if (part == FailPart) throw new FormatException("part failed");
        }
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void EveryPartRunsExactlyOnce(int workers)
    {
        using var pool = new WorkerPool(workers);
        var job = new CountingJob(64) { Caller = Environment.CurrentManagedThreadId };
        var r = new Random(5 + workers);
        for (int k = 0; k < 3000; k++)
        {
            job.Parts = r.Next(1, 17);
            Array.Clear(job.Runs);
            pool.Run(job, job.Parts);
            for (int p = 0; p < 64; p++)
                Assert.That(job.Runs[p], Is.EqualTo(p < job.Parts ? 1 : 0), $"job {k}: part {p} of {job.Parts}");
        }
    }

    /// <summary>
    /// Jobs whose part count rises from one to the next (1, 4, 1, 4, ...), many thousands of them, on more threads
    /// than CPUs here: a worker still in the previous job's claim loop must never claim a part beyond that job's count
    /// as a part of the next job (which ran that part twice and left the caller waiting for ever). Run on a thread of
    /// its own, so a hang fails the test instead of the run.
    /// </summary>
    [Test]
    public void RisingPartCountsNeverRunAPartTwice()
    {
        using var pool = new WorkerPool(3);
        var job = new CountingJob(8);
        string? failure = null;
        int jobs = 0;
        var t = new Thread(() =>
        {
            job.Caller = Environment.CurrentManagedThreadId;
            try
            {
                for (int k = 0; k < 100_000 && failure is null; k++, jobs++)
                {
                    job.Parts = (k & 1) == 0 ? 1 : 4;
                    Array.Clear(job.Runs);
                    pool.Run(job, job.Parts);
                    for (int p = 0; p < 8; p++)
                        if (job.Runs[p] != (p < job.Parts ? 1 : 0))
                        {
                            failure = $"job {k}: part {p} of {job.Parts} ran {job.Runs[p]} times";
                            break;
                        }
                }
            }
            catch (Exception e)
            {
                failure = e.ToString();
            }
        }) { IsBackground = true };
        t.Start();
        Assert.That(t.Join(TimeSpan.FromSeconds(120)), Is.True, $"the jobs finished (stuck after {jobs})");
        Assert.That(failure, Is.Null);
        Assert.That(jobs, Is.EqualTo(100_000));
    }

    [Test]
    public void TheCallerRunsThePartsABusyWorkerDoesNotClaim()
    {
        // The part the worker claims blocks until the caller has run all the others: the job finishes only
        // because the caller claims every part the worker cannot (without claiming it would wait for 5 s and fail).
        using var pool = new WorkerPool(1);
        for (int k = 0; k < 20; k++)
        {
            var slow = new SlowWorkerJob(8, Environment.CurrentManagedThreadId);
            pool.Run(slow, 8);
            Assert.That(slow.Runs, Is.All.EqualTo(1), $"job {k}");
            Assert.That(slow.OnCaller, Is.GreaterThanOrEqualTo(7), $"job {k}: the caller ran the parts the busy worker could not claim");
        }
    }

    /// <summary>The first part a worker claims blocks until the caller has run all the others (or a second passed).</summary>
    private sealed class SlowWorkerJob(int parts, int caller) : IParallelJob
    {
        public readonly int[] Runs = new int[parts];
        public int OnCaller;

        public void RunPart(int part, int n)
        {
            Interlocked.Increment(ref Runs[part]);
            if (Environment.CurrentManagedThreadId == caller)
            {
                Interlocked.Increment(ref OnCaller);
                return;
            }
            var start = DateTime.UtcNow;
            while (Volatile.Read(ref OnCaller) < n - 1 && DateTime.UtcNow - start < TimeSpan.FromSeconds(5)) Thread.Yield();
        }
    }

    /// <summary>
    /// Part 0 is the caller's in every job (published as claimed): a split op's first rows, and a staged run's slot 0,
    /// stay on one thread from call to call. Before, a worker polling the job word sometimes claimed part 0 first
    /// (about a third of the calls of one op on the Zen 5 host).
    /// </summary>
    [TestCase(1)]
    [TestCase(3)]
    public void PartZeroAlwaysRunsOnTheCaller(int workers)
    {
        using var pool = new WorkerPool(workers);
        // Parts of a few microseconds, as a split op's: long enough for a polling worker to claim some.
        var job = new CountingJob(8) { Caller = Environment.CurrentManagedThreadId, SpinTicks = System.Diagnostics.Stopwatch.Frequency / 250_000 };
        int helped = 0;
        pool.Wake();
        // 5000 jobs, and more (up to 10 s) until the workers have helped with 100: on a busy machine they may get no CPU for a while.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        for (int k = 0; k < 5000 || (helped < 100 && DateTime.UtcNow < deadline); k++)
        {
            job.Parts = 1 + k % 4;
            if (pool.Run(job, job.Parts)) helped++;
        }
        Assert.That(job.PartZeroElsewhere, Is.Zero, "jobs whose part 0 ran on a worker");
        Assert.That(helped, Is.GreaterThan(0), "the workers ran some parts (else the test shows nothing)");
    }

    /// <summary>A part 0 that claims the other parts with TryClaim and runs them itself (a staged run's stealing).</summary>
    private sealed class ClaimingJob(WorkerPool pool, int caller) : IParallelJob
    {
        public readonly int[] Runs = new int[4];
        public int Claimed;
        public string? Error;

        public void RunPart(int part, int parts)
        {
            Interlocked.Increment(ref Runs[part]);
            if (part != 0) return;
            if (Environment.CurrentManagedThreadId != caller) Error ??= "part 0 ran on a worker";
            if (pool.TryClaim(0)) Error ??= "TryClaim(0) took the part the caller is running";
            for (int q = 1; q < parts; q++)
                if (pool.TryClaim(q))
                {
                    Claimed++;
                    Interlocked.Increment(ref Runs[q]);
                }
            if (pool.TryClaim(parts)) Error ??= "TryClaim took a part past the job's count";
        }
    }

    [Test]
    public void TryClaimTakesOnlyUnclaimedPartsOnce()
    {
        // Workers held: the caller claims every other part, and Run reports that no worker helped.
        using var pool = new WorkerPool(2);
        var job = new ClaimingJob(pool, Environment.CurrentManagedThreadId);
        pool.Held = true;
        for (int k = 0; k < 200; k++)
        {
            int parts = 1 + k % 4;
            Array.Clear(job.Runs);
            job.Claimed = 0;
            Assert.That(pool.Run(job, parts), Is.False, $"job {k}: no worker ran a part");
            Assert.That(job.Claimed, Is.EqualTo(parts - 1), $"job {k}");
            Assert.That(job.Runs.Take(parts), Is.All.EqualTo(1), $"job {k}");
        }
        // Workers live: whoever claims a part first runs it, once; Run says whether a worker got any.
        pool.Held = false;
        int stolen = 0, byWorkers = 0;
        for (int k = 0; k < 5000; k++)
        {
            int parts = 2 + k % 3;
            Array.Clear(job.Runs);
            job.Claimed = 0;
            bool helped = pool.Run(job, parts);
            Assert.That(job.Runs.Take(parts), Is.All.EqualTo(1), $"job {k}: every part once");
            Assert.That(helped, Is.EqualTo(job.Claimed < parts - 1), $"job {k}: Run's report against the parts the caller claimed");
            stolen += job.Claimed;
            if (helped) byWorkers++;
        }
        Assert.That(job.Error, Is.Null);
        TestContext.Out.WriteLine($"5000 jobs: {stolen} parts claimed by the caller's part 0, {byWorkers} jobs helped by a worker");
    }

    [Test]
    public void AFailingPartIsReportedAfterTheOthersFinish()
    {
        using var pool = new WorkerPool(2);
        var job = new CountingJob(6) { Parts = 6, Caller = Environment.CurrentManagedThreadId, FailPart = 4 };
        var e = Assert.Throws<InvalidOperationException>(() => pool.Run(job, 6));
        Assert.That(e!.InnerException, Is.TypeOf<FormatException>());
        Assert.That(job.Runs, Is.All.EqualTo(1));
        // The pool still works afterwards.
        job.FailPart = -1;
        Array.Clear(job.Runs);
        pool.Run(job, 6);
        Assert.That(job.Runs, Is.All.EqualTo(1));
    }

    [Test]
    public void RunAllocatesNothing()
    {
        using var pool = new WorkerPool(1);
        var job = new CountingJob(4) { Parts = 4, Caller = Environment.CurrentManagedThreadId };
        for (int i = 0; i < 100; i++) pool.Run(job, 4);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) pool.Run(job, 4);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        Assert.That(ProcessAllocation.Least(() => { for (int i = 0; i < 1000; i++) pool.Run(job, 4); }), Is.Zero, "the worker's allocations too");
    }
}
