using EdgeQuant.Boards.Decoding;
using NUnit.Framework;

namespace EdgeQuant.Boards.Tests.Decoding;

public class DecodingTests
{
    [Test]
    public void TopK_BestFirst_TiesToTheLowerIndex()
    {
        float[] s = [0.1f, 0.9f, 0.3f, 0.9f, -2f, 0.5f];
        Span<int> top = stackalloc int[3];
        Assert.That(TopK.Select(s, top), Is.EqualTo(3));
        Assert.That(top.ToArray(), Is.EqualTo(new[] { 1, 3, 5 }));
        Span<int> all = stackalloc int[10];
        Assert.That(TopK.Select(s, all), Is.EqualTo(6));
        Assert.That(all[..6].ToArray(), Is.EqualTo(new[] { 1, 3, 5, 2, 0, 4 }));
        sbyte[] q = [-5, 7, 7, 100, -128];
        Span<int> two = stackalloc int[2];
        TopK.Select(q, two);
        Assert.That(two.ToArray(), Is.EqualTo(new[] { 3, 1 }));
        Assert.That(TopK.ArgMax(s), Is.EqualTo(1));
    }

    [Test]
    public void TopK_MatchesASortOnRandomVectors()
    {
        var rng = new Random(4);
        for (int trial = 0; trial < 200; trial++)
        {
            int n = rng.Next(1, 40), k = rng.Next(1, 8);
            var s = new float[n];
            for (int i = 0; i < n; i++) s[i] = rng.Next(10); // many ties
            var expected = Enumerable.Range(0, n).OrderByDescending(i => s[i]).ThenBy(i => i).Take(k).ToArray();
            var got = new int[k];
            int m = TopK.Select(s, got);
            Assert.That(got[..m], Is.EqualTo(expected));
        }
    }

    [Test]
    public void BlazeFaceAnchors_896_OnTheTwoFeatureMaps()
    {
        var a = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        Assert.That(a.Length, Is.EqualTo(896));
        // Stride 8: 16x16 cells with 2 anchors each (one aspect ratio + the interpolated one).
        Assert.That(a[0], Is.EqualTo(new Anchor(0.5f / 16, 0.5f / 16, 1, 1)));
        Assert.That(a[1], Is.EqualTo(a[0]));
        Assert.That(a[2], Is.EqualTo(new Anchor(1.5f / 16, 0.5f / 16, 1, 1)));
        Assert.That(a[511], Is.EqualTo(new Anchor(15.5f / 16, 15.5f / 16, 1, 1)));
        // Stride 16 (three layers): 8x8 cells with 6 anchors each.
        Assert.That(a[512], Is.EqualTo(new Anchor(0.5f / 8, 0.5f / 8, 1, 1)));
        Assert.That(a[517], Is.EqualTo(a[512]));
        Assert.That(a[518].XCenter, Is.EqualTo(1.5f / 8));
        Assert.That(a[895], Is.EqualTo(new Anchor(7.5f / 8, 7.5f / 8, 1, 1)));
    }

    [Test]
    public void AnchorSizes_WithoutFixedSize_FollowTheScales()
    {
        var o = new SsdAnchorOptions { InputWidth = 64, InputHeight = 64, NumLayers = 2, MinScale = 0.2f, MaxScale = 0.8f, Strides = [32, 64], AspectRatios = [1f, 4f] };
        var a = SsdAnchors.Generate(o);
        Assert.That(a.Length, Is.EqualTo(2 * 2 * 3 + 1 * 3));
        Assert.That(a[0].Width, Is.EqualTo(0.2f).Within(1e-6));
        Assert.That(a[1].Width, Is.EqualTo(0.4f).Within(1e-6));   // 0.2 * sqrt(4)
        Assert.That(a[1].Height, Is.EqualTo(0.1f).Within(1e-6));
        Assert.That(a[2].Width, Is.EqualTo(MathF.Sqrt(0.2f * 0.8f)).Within(1e-6));
        Assert.That(a[12 + 2].Width, Is.EqualTo(MathF.Sqrt(0.8f * 1f)).Within(1e-6));
    }

    private static (float[] Boxes, float[] Scores) Raw(Anchor[] anchors, params (int Anchor, float Dx, float Dy, float W, float H, float Logit)[] hits)
    {
        var boxes = new float[anchors.Length * 16];
        var scores = new float[anchors.Length];
        Array.Fill(scores, -10f);
        foreach (var h in hits)
        {
            boxes[h.Anchor * 16] = h.Dx; boxes[h.Anchor * 16 + 1] = h.Dy; boxes[h.Anchor * 16 + 2] = h.W; boxes[h.Anchor * 16 + 3] = h.H;
            for (int k = 0; k < 6; k++) { boxes[h.Anchor * 16 + 4 + 2 * k] = h.Dx + k; boxes[h.Anchor * 16 + 5 + 2 * k] = h.Dy; }
            scores[h.Anchor] = h.Logit;
        }
        return (boxes, scores);
    }

    [Test]
    public void Decode_BoxesKeypointsAndSigmoidScores()
    {
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        var dec = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace);
        var (boxes, scores) = Raw(anchors, (0, 12.8f, -6.4f, 32f, 64f, 2f));
        var res = new Detection[4];
        Assert.That(dec.Decode(boxes, scores, res), Is.EqualTo(1));
        var d = res[0];
        float xc = 0.5f / 16 + 0.1f, yc = 0.5f / 16 - 0.05f;
        Assert.That(d.XMin, Is.EqualTo(xc - 0.125f).Within(1e-6));
        Assert.That(d.XMax, Is.EqualTo(xc + 0.125f).Within(1e-6));
        Assert.That(d.YMin, Is.EqualTo(yc - 0.25f).Within(1e-6));
        Assert.That(d.Score, Is.EqualTo(1 / (1 + MathF.Exp(-2f))).Within(1e-6));
        Assert.That(d.KeypointCount, Is.EqualTo(6));
        Assert.That(d.Keypoints[2], Is.EqualTo(xc + 1 / 128f).Within(1e-6));
    }

    [Test]
    public void HardNms_KeepsTheBestOfOverlappingBoxes_AndSeparateOnes()
    {
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        var dec = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace with { Nms = NmsMode.Hard });
        // Anchors 0 and 1 share a centre: two overlapping boxes; anchor 300 is far away.
        var (boxes, scores) = Raw(anchors, (0, 0, 0, 30, 30, 1f), (1, 1, 1, 30, 30, 3f), (300, 0, 0, 20, 20, 0.5f));
        var res = new Detection[8];
        int n = dec.Decode(boxes, scores, res);
        Assert.That(n, Is.EqualTo(2));
        Assert.That(res[0].Score, Is.EqualTo(1 / (1 + MathF.Exp(-3f))).Within(1e-6));
        Assert.That(res[1].XMin, Is.EqualTo(anchors[300].XCenter - 10 / 128f).Within(1e-6));
        Assert.That(Detection.IoU(res[0], res[1]), Is.Zero);
    }

    [Test]
    public void WeightedNms_AveragesOverlappingBoxesByScore()
    {
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        var dec = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace);
        var (boxes, scores) = Raw(anchors, (0, 0, 0, 30, 30, 1f), (1, 2, 0, 30, 30, 1f));
        var res = new Detection[8];
        Assert.That(dec.Decode(boxes, scores, res), Is.EqualTo(1));
        float x0 = anchors[0].XCenter - 15 / 128f;
        Assert.That(res[0].XMin, Is.EqualTo(x0 + 1 / 128f).Within(1e-6)); // mean of the two equal-score boxes
        Assert.That(res[0].Score, Is.EqualTo(1 / (1 + MathF.Exp(-1f))).Within(1e-6));
    }

    [Test]
    public void Decode_AllocatesNothing_AndRefusesMismatchedOutputs()
    {
        var anchors = SsdAnchors.Generate(SsdAnchorOptions.BlazeFaceFront);
        var dec = new SsdDecoder(anchors, SsdDecoderOptions.BlazeFace);
        var (boxes, scores) = Raw(anchors, (0, 0, 0, 30, 30, 1f), (1, 2, 0, 30, 30, 1f), (600, 0, 0, 9, 9, 4f));
        var res = new Detection[8];
        dec.Decode(boxes, scores, res);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 100; i++) dec.Decode(boxes, scores, res);
        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
        var e = Assert.Throws<BoardsException>(() => dec.Decode(boxes.AsSpan(16), scores, res));
        Assert.That(e!.Message, Does.Contain("do not match 896 anchors x 16 coordinates"));
    }
}
