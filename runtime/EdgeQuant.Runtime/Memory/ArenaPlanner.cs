namespace EdgeQuant.Runtime.Memory;

/// <summary>A buffer to place in the arena: its size and the op steps during which it is live (inclusive).</summary>
public readonly record struct PlanBuffer(int Bytes, int FirstOp, int LastOp);

/// <summary>The result of planning: an offset per buffer, the arena size and its lower bound.</summary>
public sealed record ArenaPlan(int[] Offsets, int ArenaBytes, int LowerBoundBytes);

/// <summary>
/// Greedy-by-size arena planner (as in TFLite Micro's greedy planner): buffers are placed
/// largest first, each at the lowest 16-byte-aligned offset that does not overlap a placed
/// buffer whose lifetime intersects its own. Runs at conversion time; the result is stored in the blob.
/// </summary>
public static class ArenaPlanner
{
    public const int Alignment = 16;

    public static ArenaPlan Plan(IReadOnlyList<PlanBuffer> buffers)
    {
        int n = buffers.Count;
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        // Largest first; ties by earlier start, then index, so the plan is deterministic.
        Array.Sort(order, (a, b) =>
        {
            int c = Aligned(buffers[b].Bytes).CompareTo(Aligned(buffers[a].Bytes));
            if (c != 0) return c;
            c = buffers[a].FirstOp.CompareTo(buffers[b].FirstOp);
            return c != 0 ? c : a.CompareTo(b);
        });
        var offsets = new int[n];
        var placed = new List<int>(n);
        long arena = 0;
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
        return new ArenaPlan(offsets, checked((int)arena), LowerBound(buffers));
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
