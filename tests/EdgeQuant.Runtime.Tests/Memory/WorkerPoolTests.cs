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
        public int FailPart = -1;

        public void RunPart(int part, int parts)
        {
            if (parts != Parts) throw new InvalidOperationException($"parts {parts}, expected {Parts}");
            Interlocked.Increment(ref Runs[part]);
            if (Environment.CurrentManagedThreadId == Caller) Interlocked.Increment(ref OnCaller);
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
