namespace EdgeQuant.Boards.Decoding;

/// <summary>A detection: box corners normalized to the model input (0..1), score 0..1, and up to <see cref="SsdDecoder.MaxKeypoints"/> keypoints.</summary>
public struct Detection
{
    public float XMin, YMin, XMax, YMax, Score;
    public int KeypointCount;
    /// <summary>Keypoints as x0, y0, x1, y1, ... (normalized).</summary>
    public KeypointBuffer Keypoints;

    public readonly float Area => MathF.Max(0, XMax - XMin) * MathF.Max(0, YMax - YMin);

    /// <summary>Intersection over union of two boxes (0 when either is empty).</summary>
    public static float IoU(in Detection a, in Detection b)
    {
        float ix = MathF.Min(a.XMax, b.XMax) - MathF.Max(a.XMin, b.XMin);
        float iy = MathF.Min(a.YMax, b.YMax) - MathF.Max(a.YMin, b.YMin);
        if (ix <= 0 || iy <= 0) return 0;
        float inter = ix * iy, union = a.Area + b.Area - inter;
        return union > 0 ? inter / union : 0;
    }
}

/// <summary>Inline storage for 8 keypoints (16 floats), so detections are plain values.</summary>
[System.Runtime.CompilerServices.InlineArray(16)]
public struct KeypointBuffer
{
    private float _element0;
}

/// <summary>Non-maximum suppression variants.</summary>
public enum NmsMode
{
    /// <summary>Keep the best box, drop boxes overlapping it by more than the threshold.</summary>
    Hard,
    /// <summary>MediaPipe's weighted NMS: boxes overlapping the best one are merged into it, weighted by score (the best score is kept).</summary>
    Weighted,
}

/// <summary>Decoder settings, with MediaPipe's TensorsToDetections meaning.</summary>
public sealed record SsdDecoderOptions
{
    /// <summary>Values per anchor in the box tensor: 4 box values (x centre, y centre, w, h) then 2 per keypoint.</summary>
    public int NumCoords { get; init; } = 16;
    public int NumKeypoints { get; init; } = 6;
    /// <summary>Box values are divided by these (the input size for BlazeFace), then scaled by the anchor size.</summary>
    public float XScale { get; init; } = 128f;
    public float YScale { get; init; } = 128f;
    public float WScale { get; init; } = 128f;
    public float HScale { get; init; } = 128f;
    /// <summary>Raw scores are clipped to ±this before the sigmoid.</summary>
    public float ScoreClippingThreshold { get; init; } = 100f;
    public float MinScore { get; init; } = 0.5f;
    public float IoUThreshold { get; init; } = 0.3f;
    public NmsMode Nms { get; init; } = NmsMode.Weighted;
    public int MaxDetections { get; init; } = 16;

    public static SsdDecoderOptions BlazeFace { get; } = new();
}

/// <summary>
/// Anchor-based box decoding with non-maximum suppression for SSD-style detectors such as
/// BlazeFace. Every buffer is made at construction; <see cref="Decode"/> allocates nothing.
/// </summary>
/// <remarks>
/// For anchor a and raw box r: x = r0 / XScale · a.w + a.x, y = r1 / YScale · a.h + a.y,
/// w = r2 / WScale · a.w, h = r3 / HScale · a.h, keypoint k = (r[4+2k] / XScale · a.w + a.x,
/// r[5+2k] / YScale · a.h + a.y); score = sigmoid(clamp(raw, ±ScoreClippingThreshold)).
/// </remarks>
public sealed class SsdDecoder
{
    public const int MaxKeypoints = 8;
    private readonly Anchor[] _anchors;
    private readonly SsdDecoderOptions _o;
    private readonly Detection[] _candidates;
    private readonly int[] _order;
    private readonly float[] _orderScore;
    private readonly bool[] _used;

    public int AnchorCount => _anchors.Length;
    public SsdDecoderOptions Options => _o;

    public SsdDecoder(Anchor[] anchors, SsdDecoderOptions options)
    {
        ArgumentNullException.ThrowIfNull(anchors);
        ArgumentNullException.ThrowIfNull(options);
        if (options.NumKeypoints > MaxKeypoints || options.NumCoords < 4 + 2 * options.NumKeypoints)
            throw new ArgumentException($"{options.NumCoords} coordinates cannot hold 4 box values and {options.NumKeypoints} keypoints (at most {MaxKeypoints})");
        _anchors = anchors;
        _o = options;
        _candidates = new Detection[anchors.Length];
        _order = new int[anchors.Length];
        _orderScore = new float[anchors.Length];
        _used = new bool[anchors.Length];
    }

    /// <summary>
    /// Decodes raw outputs: <paramref name="boxes"/> [anchors, NumCoords], <paramref name="scores"/>
    /// [anchors] (logits). Writes at most <c>Math.Min(results.Length, MaxDetections)</c> detections,
    /// best first, and returns their count.
    /// </summary>
    public int Decode(ReadOnlySpan<float> boxes, ReadOnlySpan<float> scores, Span<Detection> results)
    {
        int n = _anchors.Length, nc = _o.NumCoords;
        if (boxes.Length != n * nc || scores.Length != n)
            throw new BoardsException($"detector: outputs of {boxes.Length} box values and {scores.Length} scores do not match {n} anchors x {nc} coordinates");
        int count = 0;
        float clip = _o.ScoreClippingThreshold;
        for (int i = 0; i < n; i++)
        {
            float raw = Math.Clamp(scores[i], -clip, clip);
            float s = 1f / (1f + MathF.Exp(-raw));
            if (s < _o.MinScore) continue;
            var a = _anchors[i];
            var r = boxes.Slice(i * nc, nc);
            float xc = r[0] / _o.XScale * a.Width + a.XCenter;
            float yc = r[1] / _o.YScale * a.Height + a.YCenter;
            float w = r[2] / _o.WScale * a.Width, h = r[3] / _o.HScale * a.Height;
            ref var d = ref _candidates[count];
            d.XMin = xc - w / 2; d.XMax = xc + w / 2; d.YMin = yc - h / 2; d.YMax = yc + h / 2;
            d.Score = s;
            d.KeypointCount = _o.NumKeypoints;
            for (int k = 0; k < _o.NumKeypoints; k++)
            {
                d.Keypoints[2 * k] = r[4 + 2 * k] / _o.XScale * a.Width + a.XCenter;
                d.Keypoints[2 * k + 1] = r[5 + 2 * k] / _o.YScale * a.Height + a.YCenter;
            }
            _order[count] = count;
            _orderScore[count] = -s;
            count++;
        }
        // Best first; equal scores keep anchor order (stable through the index tie-break below).
        SortByScore(count);
        return Suppress(count, results);
    }

    private void SortByScore(int count)
    {
        for (int i = 1; i < count; i++)
        {
            int idx = _order[i];
            float key = _orderScore[i];
            int j = i - 1;
            while (j >= 0 && _orderScore[j] > key) { _order[j + 1] = _order[j]; _orderScore[j + 1] = _orderScore[j]; j--; }
            _order[j + 1] = idx;
            _orderScore[j + 1] = key;
        }
    }

    private int Suppress(int count, Span<Detection> results)
    {
        int max = Math.Min(results.Length, _o.MaxDetections), written = 0;
        Array.Clear(_used, 0, count);
        for (int i = 0; i < count && written < max; i++)
        {
            if (_used[i]) continue;
            ref var best = ref _candidates[_order[i]];
            _used[i] = true;
            if (_o.Nms == NmsMode.Hard)
            {
                for (int j = i + 1; j < count; j++)
                    if (!_used[j] && Detection.IoU(best, _candidates[_order[j]]) > _o.IoUThreshold) _used[j] = true;
                results[written++] = best;
                continue;
            }
            // Weighted: average the best box with every box overlapping it, by score.
            float total = best.Score;
            var merged = best;
            merged.XMin *= total; merged.YMin *= total; merged.XMax *= total; merged.YMax *= total;
            for (int k = 0; k < 2 * best.KeypointCount; k++) merged.Keypoints[k] *= total;
            for (int j = i + 1; j < count; j++)
            {
                if (_used[j]) continue;
                ref var other = ref _candidates[_order[j]];
                if (Detection.IoU(best, other) <= _o.IoUThreshold) continue;
                _used[j] = true;
                float s = other.Score;
                total += s;
                merged.XMin += s * other.XMin; merged.YMin += s * other.YMin; merged.XMax += s * other.XMax; merged.YMax += s * other.YMax;
                for (int k = 0; k < 2 * best.KeypointCount; k++) merged.Keypoints[k] += s * other.Keypoints[k];
            }
            merged.XMin /= total; merged.YMin /= total; merged.XMax /= total; merged.YMax /= total;
            for (int k = 0; k < 2 * best.KeypointCount; k++) merged.Keypoints[k] /= total;
            merged.Score = best.Score;
            results[written++] = merged;
        }
        return written;
    }
}
