namespace EdgeQuant.Runtime.Memory;

/// <summary>A buffer to place in the arena: its size and the op steps during which it is live (inclusive).</summary>
public readonly record struct PlanBuffer(int Bytes, int FirstOp, int LastOp);

/// <summary>The result of planning: an offset per buffer, the arena size and its lower bound.</summary>
public sealed record ArenaPlan(int[] Offsets, int ArenaBytes, int LowerBoundBytes);

/// <summary>
/// The arena planner: places every buffer at a 16-byte-aligned offset such that no two buffers whose lifetimes intersect
/// overlap, in as few bytes as it can find. Placement is first fit in an order: each buffer, in turn, takes the lowest
/// offset clear of the buffers placed before it that are live at the same time. The order decides how tight the plan is:
/// <list type="number">
/// <item>largest first (TFLite Micro's greedy planner); a plan that reaches <see cref="LowerBound"/> (the most bytes
/// live at one op) cannot be beaten, and is kept;</item>
/// <item>otherwise also longest-lived first, largest size x lifetime first, and first-used first (the order of the
/// graph), keeping the smallest;</item>
/// <item>then a local search from that order: two random buffers swap places in it, and the swap is kept when the plan
/// is no larger (so the plan drifts along equal sizes too), until the lower bound or a work budget is reached.</item>
/// </list>
/// Greedy-by-size leaves gaps where buffers of different sizes hand over (BlazeFace: 491,520 bytes against a bound of
/// 344,064; fashion_resnet 20,384 against 16,464); every zoo model and BlazeFace reach their bound this way. Deterministic:
/// the search's random numbers come from a fixed seed and its own generator. Runs at conversion time; the result is
/// stored in the blob.
/// </summary>
public static class ArenaPlanner
{
    public const int Alignment = 16;

    /// <summary>
    /// Placements the local search may try, scaled by the model: each costs about n^2 buffer comparisons, and the search
    /// stops after <see cref="SearchBudget"/> comparisons in all (well under a second), or 4,000 placements.
    /// </summary>
    private const long SearchBudget = 400_000_000;

    public static ArenaPlan Plan(IReadOnlyList<PlanBuffer> buffers)
    {
        int n = buffers.Count;
        int bound = LowerBound(buffers);
        var offsets = new int[n];
        var order = Order(buffers, BySize(buffers));
        long best = Place(buffers, order, offsets);
        if (best <= bound)
            return new ArenaPlan(offsets, checked((int)best), bound); // offsets hold that plan
        foreach (var comparison in new[] { ByLifetime(buffers), ByArea(buffers), ByFirstUse(buffers) })
        {
            var o = Order(buffers, comparison);
            long a = Place(buffers, o, offsets);
            if (a < best) { best = a; order = o; }
        }
        // The search: order always holds a plan of `best` bytes (a swap that makes it larger is undone).
        long placements = System.Math.Min(4000, SearchBudget / ((long)n * n));
        var random = new SplitMix(0x45510A7E);
        for (long k = 0; k < placements && best > bound; k++)
        {
            int i = random.Next(n), j = random.Next(n);
            if (i == j) continue;
            (order[i], order[j]) = (order[j], order[i]);
            long a = Place(buffers, order, offsets);
            if (a <= best) best = a;
            else (order[i], order[j]) = (order[j], order[i]);
        }
        // offsets hold the last plan tried, perhaps an undone one: place the kept order again.
        long arena = Place(buffers, order, offsets);
        return new ArenaPlan(offsets, checked((int)arena), bound);
    }

    /// <summary>The arena of the largest-first plan alone (step 1 of <see cref="Plan"/>): what the search starts from.</summary>
    internal static long LargestFirstBytes(IReadOnlyList<PlanBuffer> buffers)
        => Place(buffers, Order(buffers, BySize(buffers)), new int[buffers.Count]);

    /// <summary>First fit in <paramref name="order"/>: each buffer at the lowest offset clear of the live buffers placed before it. Returns the arena size.</summary>
    private static long Place(IReadOnlyList<PlanBuffer> buffers, int[] order, int[] offsets)
    {
        long arena = 0;
        var placed = new List<int>(order.Length);
        var candidates = new List<(int Start, int End)>();
        foreach (int i in order)
        {
            var buf = buffers[i];
            int size = Aligned(buf.Bytes);
            candidates.Clear();
            foreach (int j in placed)
            {
                var o = buffers[j];
                if (o.FirstOp <= buf.LastOp && buf.FirstOp <= o.LastOp)
                    candidates.Add((offsets[j], offsets[j] + Aligned(o.Bytes)));
            }
            candidates.Sort((x, y) => x.Start.CompareTo(y.Start));
            int offset = 0;
            foreach (var (start, end) in candidates)
            {
                if (offset + size <= start) break;
                if (end > offset) offset = end;
            }
            offsets[i] = offset;
            placed.Add(i);
            arena = System.Math.Max(arena, (long)offset + size);
        }
        return arena;
    }

    private static int[] Order(IReadOnlyList<PlanBuffer> buffers, Comparison<int> comparison)
    {
        var order = new int[buffers.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        // Ties by index (Array.Sort is not stable), so every order is deterministic.
        Array.Sort(order, (a, b) => { int c = comparison(a, b); return c != 0 ? c : a.CompareTo(b); });
        return order;
    }

    /// <summary>Largest first; ties by earlier start.</summary>
    private static Comparison<int> BySize(IReadOnlyList<PlanBuffer> b) => (x, y) =>
    {
        int c = Aligned(b[y].Bytes).CompareTo(Aligned(b[x].Bytes));
        return c != 0 ? c : b[x].FirstOp.CompareTo(b[y].FirstOp);
    };

    /// <summary>Longest-lived first; ties by size.</summary>
    private static Comparison<int> ByLifetime(IReadOnlyList<PlanBuffer> b) => (x, y) =>
    {
        int c = (b[y].LastOp - b[y].FirstOp).CompareTo(b[x].LastOp - b[x].FirstOp);
        return c != 0 ? c : Aligned(b[y].Bytes).CompareTo(Aligned(b[x].Bytes));
    };

    /// <summary>Largest bytes x op steps first.</summary>
    private static Comparison<int> ByArea(IReadOnlyList<PlanBuffer> b) => (x, y) =>
        ((long)Aligned(b[y].Bytes) * (b[y].LastOp - b[y].FirstOp + 1)).CompareTo((long)Aligned(b[x].Bytes) * (b[x].LastOp - b[x].FirstOp + 1));

    /// <summary>In the order the graph first uses them; ties by size.</summary>
    private static Comparison<int> ByFirstUse(IReadOnlyList<PlanBuffer> b) => (x, y) =>
    {
        int c = b[x].FirstOp.CompareTo(b[y].FirstOp);
        return c != 0 ? c : Aligned(b[y].Bytes).CompareTo(Aligned(b[x].Bytes));
    };

    /// <summary>SplitMix64: the search's own generator, so a plan never depends on the .NET version's Random.</summary>
    private struct SplitMix(ulong state)
    {
        private ulong _state = state;

        public int Next(int n)
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (int)(z % (ulong)n);
        }
    }

    /// <summary>The largest total of (aligned) bytes live at any one op step.</summary>
    public static int LowerBound(IReadOnlyList<PlanBuffer> buffers)
    {
        int minStep = int.MaxValue, maxStep = int.MinValue;
        foreach (var b in buffers) { minStep = System.Math.Min(minStep, b.FirstOp); maxStep = System.Math.Max(maxStep, b.LastOp); }
        long best = 0;
        for (int t = minStep; t <= maxStep; t++)
        {
            long sum = 0;
            foreach (var b in buffers)
                if (b.FirstOp <= t && t <= b.LastOp) sum += Aligned(b.Bytes);
            best = System.Math.Max(best, sum);
        }
        return checked((int)best);
    }

    private static int Aligned(int bytes) => (bytes + Alignment - 1) & ~(Alignment - 1);
}
