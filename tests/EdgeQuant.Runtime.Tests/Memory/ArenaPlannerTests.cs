using EdgeQuant.Runtime.Memory;
using EdgeQuant.Runtime.Tests.TestSupport;

namespace EdgeQuant.Runtime.Tests.Memory;

public class ArenaPlannerTests
{
    [Test]
    public void EmptyPlanIsEmpty()
    {
        var plan = ArenaPlanner.Plan([]);
        Assert.That((plan.Offsets.Length, plan.ArenaBytes, plan.LowerBoundBytes), Is.EqualTo((0, 0, 0)));
    }

    [Test]
    public void DisjointLifetimesShareOffsetZero()
    {
        var plan = ArenaPlanner.Plan([new(32, 0, 1), new(32, 2, 3)]);
        Assert.That(plan.Offsets, Is.EqualTo(new[] { 0, 0 }));
        Assert.That(plan.ArenaBytes, Is.EqualTo(32));
        Assert.That(plan.LowerBoundBytes, Is.EqualTo(32));
    }

    [Test]
    public void TouchingLifetimesOverlap()
    {
        // Lifetimes are inclusive: a buffer last used by op 1 is still live while op 1 writes its output.
        var plan = ArenaPlanner.Plan([new(32, 0, 1), new(16, 1, 2)]);
        Assert.That(plan.Offsets, Is.EqualTo(new[] { 0, 32 }));
        Assert.That(plan.ArenaBytes, Is.EqualTo(48));
    }

    [Test]
    public void SizesAreRoundedUpToSixteenBytes()
    {
        var plan = ArenaPlanner.Plan([new(1, 0, 0), new(1, 0, 0), new(17, 0, 0)]);
        // Largest first (which meets the bound here, so it is kept): the 17-byte buffer (32 aligned) at 0, then the two 1-byte buffers.
        Assert.That(plan.Offsets, Is.EqualTo(new[] { 32, 48, 0 }));
        Assert.That(plan.ArenaBytes, Is.EqualTo(64));
        Assert.That(plan.LowerBoundBytes, Is.EqualTo(64));
    }

    [Test]
    public void ChainReusesTheFirstBufferForTheThird()
    {
        // A -> B -> C: A and C are never live together.
        var plan = ArenaPlanner.Plan([new(100, 0, 1), new(200, 1, 2), new(100, 2, 3)]);
        Assert.That(plan.Offsets, Is.EqualTo(new[] { 208, 0, 208 }));
        Assert.That(plan.ArenaBytes, Is.EqualTo(320));
        Assert.That(plan.LowerBoundBytes, Is.EqualTo(320));
    }

    [Test]
    public void SmallBufferFillsAGapBetweenLiveBuffers()
    {
        // A [0,96) live 0..3; B [96,176) live 0..1; C [176,240) live 1..3. D (48 bytes, live 2..3)
        // overlaps A and C in time but not B, so it takes B's bytes between them.
        var plan = ArenaPlanner.Plan([new(96, 0, 3), new(80, 0, 1), new(64, 1, 3), new(48, 2, 3)]);
        Assert.That(plan.Offsets, Is.EqualTo(new[] { 0, 96, 176, 96 }));
        Assert.That(plan.ArenaBytes, Is.EqualTo(240));
        Assert.That(plan.LowerBoundBytes, Is.EqualTo(240));
    }

    [Test]
    public void LowerBoundIsTheLargestLiveSum()
    {
        Assert.That(ArenaPlanner.LowerBound([new(16, -1, 0), new(32, 0, 0), new(48, 1, 1), new(1, 1, 5)]), Is.EqualTo(64));
    }

    [Test]
    public void RandomLifetimesNeverOverlapWhileLive()
    {
        var r = new Rand(21);
        for (int trial = 0; trial < 300; trial++)
        {
            int n = r.Int(1, 40);
            int steps = r.Int(1, 30);
            var buffers = new PlanBuffer[n];
            for (int i = 0; i < n; i++)
            {
                int first = r.Int(-1, steps);
                int last = r.Int(first, System.Math.Min(steps + 1, first + r.Int(0, 8)));
                buffers[i] = new PlanBuffer(r.Int(1, 3000), first, last);
            }
            var plan = ArenaPlanner.Plan(buffers);
            Assert.That(plan.ArenaBytes, Is.GreaterThanOrEqualTo(plan.LowerBoundBytes), $"trial {trial}");
            Assert.That(plan.LowerBoundBytes, Is.EqualTo(ArenaPlanner.LowerBound(buffers)));
            AssertValid(buffers, plan, $"trial {trial}");
        }
    }

    /// <summary>The buffers of the zoo's quirk_odd_padding and fashion_resnet blobs (bytes, first op, last op).</summary>
    private static readonly PlanBuffer[] OddPadding =
        [new(784, -1, 0), new(784, 0, 1), new(572, 1, 2), new(168, 2, 3), new(36, 3, 5), new(10, 5, 6), new(128, 0, 0), new(384, 1, 1)];

    private static readonly PlanBuffer[] ResNet =
    [
        new(784, -1, 0), new(9408, 0, 1), new(5488, 1, 4), new(3920, 2, 3), new(5488, 3, 4), new(5488, 4, 5), new(2940, 5, 7),
        new(1372, 6, 8), new(2940, 7, 8), new(4312, 8, 9), new(88, 9, 11), new(10, 11, 12), new(128, 0, 0), new(896, 1, 1),
        new(2048, 2, 2), new(1536, 3, 3), new(1792, 5, 5),
    ];

    [Test]
    public void HandoversLargestFirstLeavesOpenAreClosed()
    {
        // Largest first leaves gaps where buffers of different sizes hand over; the other orders and the search close them.
        foreach (var (buffers, largestFirst, bound) in new[] { (OddPadding, 1952, 1744), (ResNet, 20384, 16464) })
        {
            Assert.That(ArenaPlanner.LargestFirstBytes(buffers), Is.EqualTo(largestFirst));
            var plan = ArenaPlanner.Plan(buffers);
            Assert.That((plan.ArenaBytes, plan.LowerBoundBytes), Is.EqualTo((bound, bound)));
            AssertValid(buffers, plan, "");
        }
    }

    [Test]
    public void RandomPlansAreNeverLargerThanLargestFirst()
    {
        var r = new Rand(7);
        int better = 0;
        for (int trial = 0; trial < 200; trial++)
        {
            int n = r.Int(2, 30), steps = r.Int(1, 20);
            var buffers = new PlanBuffer[n];
            for (int i = 0; i < n; i++)
            {
                int first = r.Int(-1, steps);
                buffers[i] = new PlanBuffer(r.Int(1, 5000), first, r.Int(first, System.Math.Min(steps + 1, first + r.Int(0, 6))));
            }
            var plan = ArenaPlanner.Plan(buffers);
            long largestFirst = ArenaPlanner.LargestFirstBytes(buffers);
            Assert.That(plan.ArenaBytes, Is.LessThanOrEqualTo(largestFirst), $"trial {trial}");
            AssertValid(buffers, plan, $"trial {trial}");
            if (plan.ArenaBytes < largestFirst) better++;
        }
        TestContext.Out.WriteLine($"{better} of 200 random plans smaller than largest first");
        Assert.That(better, Is.GreaterThan(0), "the search finds something on random lifetimes");
    }

    /// <summary>Aligned offsets inside the arena, and no two buffers overlapping while both are live.</summary>
    private static void AssertValid(PlanBuffer[] buffers, ArenaPlan plan, string what)
    {
        for (int i = 0; i < buffers.Length; i++)
        {
            Assert.That(plan.Offsets[i] % ArenaPlanner.Alignment, Is.Zero, what);
            Assert.That(plan.Offsets[i] + buffers[i].Bytes, Is.LessThanOrEqualTo(plan.ArenaBytes), what);
            for (int j = i + 1; j < buffers.Length; j++)
            {
                bool live = buffers[i].FirstOp <= buffers[j].LastOp && buffers[j].FirstOp <= buffers[i].LastOp;
                bool overlap = plan.Offsets[i] < plan.Offsets[j] + buffers[j].Bytes && plan.Offsets[j] < plan.Offsets[i] + buffers[i].Bytes;
                Assert.That(live && overlap, Is.False, $"{what}: buffers {i} and {j} overlap while both are live");
            }
        }
    }

    [Test]
    public void PlanIsDeterministic()
    {
        PlanBuffer[] buffers = [new(64, 0, 3), new(64, 1, 2), new(64, 0, 0), new(64, 3, 4)];
        Assert.That(ArenaPlanner.Plan(buffers).Offsets, Is.EqualTo(ArenaPlanner.Plan(buffers).Offsets));
    }
}
