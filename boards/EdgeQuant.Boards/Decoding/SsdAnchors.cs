namespace EdgeQuant.Boards.Decoding;

/// <summary>
/// The anchor options of an SSD-style detector, with the semantics of MediaPipe's
/// SsdAnchorsCalculator (the generator BlazeFace was trained with). Layers that share a stride
/// share one feature map; each layer adds one anchor per aspect ratio plus, when
/// <see cref="InterpolatedScaleAspectRatio"/> &gt; 0, one of scale √(s·s_next).
/// </summary>
public sealed record SsdAnchorOptions
{
    public required int InputWidth { get; init; }
    public required int InputHeight { get; init; }
    public required int NumLayers { get; init; }
    public required float MinScale { get; init; }
    public required float MaxScale { get; init; }
    public required int[] Strides { get; init; }
    public float[] AspectRatios { get; init; } = [1f];
    public float AnchorOffsetX { get; init; } = 0.5f;
    public float AnchorOffsetY { get; init; } = 0.5f;
    public float InterpolatedScaleAspectRatio { get; init; } = 1f;
    public bool FixedAnchorSize { get; init; }
    public bool ReduceBoxesInLowestLayer { get; init; }

    /// <summary>BlazeFace short-range (front camera, 128x128): 896 anchors.</summary>
    public static SsdAnchorOptions BlazeFaceFront { get; } = new()
    {
        InputWidth = 128, InputHeight = 128, NumLayers = 4, MinScale = 0.1484375f, MaxScale = 0.75f,
        Strides = [8, 16, 16, 16], FixedAnchorSize = true,
    };
}

/// <summary>One anchor: centre and size, normalized to the input (0..1).</summary>
public readonly record struct Anchor(float XCenter, float YCenter, float Width, float Height);

/// <summary>Anchor generation.</summary>
public static class SsdAnchors
{
    /// <summary>Generates the anchors in the order the detector's outputs use (layer group, row, column, anchor).</summary>
    /// <exception cref="ArgumentException">Inconsistent options.</exception>
    public static Anchor[] Generate(SsdAnchorOptions o)
    {
        if (o.Strides.Length != o.NumLayers) throw new ArgumentException($"{o.Strides.Length} strides for {o.NumLayers} layers");
        if (o.NumLayers < 1 || o.InputWidth < 1 || o.InputHeight < 1) throw new ArgumentException("anchor options need at least one layer and a positive input size");
        var anchors = new List<Anchor>();
        int layer = 0;
        while (layer < o.NumLayers)
        {
            var ratios = new List<float>();
            var scales = new List<float>();
            int last = layer;
            while (last < o.NumLayers && o.Strides[last] == o.Strides[layer])
            {
                float scale = Scale(o.MinScale, o.MaxScale, last, o.NumLayers);
                if (last == 0 && o.ReduceBoxesInLowestLayer)
                {
                    ratios.Add(1f); scales.Add(0.1f);
                    ratios.Add(2f); scales.Add(scale);
                    ratios.Add(0.5f); scales.Add(scale);
                }
                else
                {
                    foreach (var r in o.AspectRatios) { ratios.Add(r); scales.Add(scale); }
                    if (o.InterpolatedScaleAspectRatio > 0)
                    {
                        float next = last == o.NumLayers - 1 ? 1f : Scale(o.MinScale, o.MaxScale, last + 1, o.NumLayers);
                        ratios.Add(o.InterpolatedScaleAspectRatio);
                        scales.Add(MathF.Sqrt(scale * next));
                    }
                }
                last++;
            }
            int stride = o.Strides[layer];
            int fh = (o.InputHeight + stride - 1) / stride, fw = (o.InputWidth + stride - 1) / stride;
            for (int y = 0; y < fh; y++)
                for (int x = 0; x < fw; x++)
                    for (int a = 0; a < ratios.Count; a++)
                    {
                        float sr = MathF.Sqrt(ratios[a]);
                        float w = o.FixedAnchorSize ? 1f : scales[a] * sr, h = o.FixedAnchorSize ? 1f : scales[a] / sr;
                        anchors.Add(new Anchor((x + o.AnchorOffsetX) / fw, (y + o.AnchorOffsetY) / fh, w, h));
                    }
            layer = last;
        }
        return anchors.ToArray();
    }

    private static float Scale(float min, float max, int index, int count) =>
        count == 1 ? (min + max) * 0.5f : min + (max - min) * index / (count - 1f);
}
