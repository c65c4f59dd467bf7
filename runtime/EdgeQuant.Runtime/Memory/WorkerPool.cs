using System.Diagnostics;

namespace EdgeQuant.Runtime.Memory;

/// <summary>
/// A fixed set of worker threads created once, running one "job" at a time with the caller's
/// thread: <see cref="Run"/> publishes a job, each worker runs its part, and the caller runs part 0
/// and waits for the rest. Nothing is allocated per job. Workers spin for a short while after a
/// job (the next op of the same Invoke usually follows within microseconds) and then block until
/// the next one, so an idle interpreter costs no CPU.
/// </summary>
internal sealed class WorkerPool : IDisposable
{
    /// <summary>Spin iterations (each a short pause) a worker waits for the next job before it blocks.</summary>
    private const int SpinIterations = 20_000;

    /// <summary>Short pauses the caller spins for the workers' parts before it starts yielding.</summary>
    private const int CallerSpinIterations = 20_000;

    private readonly Thread[] _threads;
    private readonly object _gate = new();
    private IParallelJob? _job;
    private int _generation;
    private int _pending;
    // Workers blocked (or about to block) in Monitor.Wait: Run takes the lock to wake them only when there are any.
    private int _sleepers;
    private volatile bool _stopping;
    private Exception? _failure;

    /// <param name="workers">Threads besides the caller's (at least 1).</param>
    public WorkerPool(int workers)
    {
        Debug.Assert(workers >= 1);
        _threads = new Thread[workers];
        for (int i = 0; i < workers; i++)
        {
            int part = i + 1;
            _threads[i] = new Thread(() => WorkerLoop(part))
            {
                IsBackground = true,
                Name = $"EdgeQuant worker {part}",
            };
            _threads[i].Start();
        }
    }

    /// <summary>Number of parts a job is split into: the workers plus the caller.</summary>
    public int Parts => _threads.Length + 1;

    /// <summary>Runs <paramref name="job"/> on every part (the caller runs part 0) and returns when all are done.</summary>
    public void Run(IParallelJob job)
    {
        if (_stopping) throw new ObjectDisposedException(nameof(WorkerPool));
        _job = job;
        _failure = null;
        Volatile.Write(ref _pending, _threads.Length);
        Interlocked.Increment(ref _generation);
        // A worker counts itself a sleeper before it re-checks the generation (both interlocked), so either it
        // sees this job or this read sees it and the pulse wakes it; spinning workers need no lock here.
        if (Volatile.Read(ref _sleepers) != 0)
            lock (_gate) Monitor.PulseAll(_gate);

        Exception? own = null;
        try
        {
            job.RunPart(0, Parts);
        }
        catch (Exception e)
        {
            own = e;
        }

        // The parts are balanced and microseconds long: spin (no yield, which on a busy machine can give the core
        // away for a whole time slice) for a while, then yield, never Sleep(1) (a whole timer tick).
        for (int i = 0; Volatile.Read(ref _pending) != 0 && i < CallerSpinIterations; i++)
            Thread.SpinWait(4);
#if NETSTANDARD2_1
        // netstandard2.1 has no SpinOnce(sleep1Threshold): yield instead of ever sleeping a timer tick.
        while (Volatile.Read(ref _pending) != 0) Thread.Yield();
#else
        var spin = new SpinWait();
        while (Volatile.Read(ref _pending) != 0) spin.SpinOnce(sleep1Threshold: -1);
#endif
        _job = null;
        if (own is not null) throw own;
        if (_failure is { } f) throw new InvalidOperationException("a worker thread failed", f);
    }

    private void WorkerLoop(int part)
    {
        // Jobs are counted from 0 at construction: a job published before this thread first runs is still seen as new.
        int seen = 0;
        while (true)
        {
            int spins = 0;
            int g;
            while ((g = Volatile.Read(ref _generation)) == seen)
            {
                if (_stopping) return;
                if (spins++ < SpinIterations)
                {
                    Thread.SpinWait(8);
                    continue;
                }
                lock (_gate)
                {
                    Interlocked.Increment(ref _sleepers);
                    if (Volatile.Read(ref _generation) == seen && !_stopping) Monitor.Wait(_gate);
                    Interlocked.Decrement(ref _sleepers);
                }
            }
            seen = g;
            if (_stopping) return;
            try
            {
                _job!.RunPart(part, Parts);
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
            }
            Interlocked.Decrement(ref _pending);
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

/// <summary>Work split into parts: part <c>i</c> of <c>parts</c> is run by one thread.</summary>
internal interface IParallelJob
{
    void RunPart(int part, int parts);
}
