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
        // Largest first: the 17-byte buffer (32 aligned) at 0, then the two 1-byte buffers.
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
            for (int i = 0; i < n; i++)
            {
                Assert.That(plan.Offsets[i] % ArenaPlanner.Alignment, Is.Zero);
                Assert.That(plan.Offsets[i] + buffers[i].Bytes, Is.LessThanOrEqualTo(plan.ArenaBytes));
                for (int j = i + 1; j < n; j++)
                {
                    bool live = buffers[i].FirstOp <= buffers[j].LastOp && buffers[j].FirstOp <= buffers[i].LastOp;
                    bool overlap = plan.Offsets[i] < plan.Offsets[j] + buffers[j].Bytes && plan.Offsets[j] < plan.Offsets[i] + buffers[i].Bytes;
                    Assert.That(live && overlap, Is.False, $"trial {trial}: buffers {i} and {j} overlap while both are live");
                }
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
