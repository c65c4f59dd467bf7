using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter;

/// <summary>
/// Samples as float32 in the source model's own layout: shape [N, ...] where ... is one
/// sample's shape. What one sample is follows the model input as declared: when its first
/// dimension is dynamic or 1 it is the batch, and a sample is the input without it (data
/// [N, C, H, W] for an input [batch, C, H, W]); any other fully static input shape is one
/// sample as a whole (data [3, 4, 5] for an input [3, 4, 5] is one invocation, data
/// [K, 3, 4, 5] is K of them). <see cref="ForInput"/> puts data in the [N, sample...] form.
/// </summary>
public sealed class SampleSet
{
    public SampleSet(float[] data, int[] shape, string origin)
    {
        if (shape.Length < 1) throw new ConversionException($"{origin}: data must have a leading sample dimension, got a scalar");
        long n = 1;
        foreach (int d in shape) n *= d;
        if (n != data.Length) throw new ConversionException($"{origin}: shape [{string.Join(", ", shape)}] does not match {data.Length} values");
        Data = data;
        Shape = shape;
        Origin = origin;
    }

    public float[] Data { get; }
    public int[] Shape { get; }
    public string Origin { get; }
    public int Count => Shape[0];
    public int SampleSize => Count == 0 ? 0 : Data.Length / Count;

    /// <summary>True when data given in exactly a static input's shape was read as one sample (outputs are then written without a sample dimension).</summary>
    public bool IsSingleStaticSample { get; private init; }

    public ReadOnlySpan<float> Sample(int i) => Data.AsSpan(i * SampleSize, SampleSize);

    /// <summary>
    /// True when the first dimension of an input's source shape (batch 1 for a dynamic batch)
    /// is the batch: it is 1 (a dynamic first dimension is lowered as 1) or the input is a scalar.
    /// </summary>
    public static bool HasBatchDimension(int[] sourceShape) => sourceShape.Length == 0 || sourceShape[0] == 1;

    /// <summary>
    /// This data as samples of a model input whose source shape (batch 1) is
    /// <paramref name="sourceShape"/>: [N, sourceShape[1..]] when the first dimension is the batch,
    /// otherwise [N, sourceShape...] (data of exactly <paramref name="sourceShape"/> is one sample).
    /// The message of a mismatch names both shapes and the input.
    /// </summary>
    public SampleSet ForInput(int[] sourceShape, string inputName)
    {
        int[] sample = HasBatchDimension(sourceShape) && sourceShape.Length > 0 ? sourceShape[1..] : sourceShape;
        SampleSet result = this;
        if (!HasBatchDimension(sourceShape) && Shape.AsSpan().SequenceEqual(sourceShape))
        {
            result = new SampleSet(Data, [1, .. sourceShape], Origin) { IsSingleStaticSample = true };
        }
        else if (!Shape.AsSpan(1).SequenceEqual(sample))
        {
            string want = HasBatchDimension(sourceShape)
                ? $"[N, {string.Join(", ", sample)}] (the input's first dimension is the batch)"
                : $"[{string.Join(", ", sourceShape)}] (one invocation; the input's shape is static, so its first dimension is not a batch) or [K, {string.Join(", ", sourceShape)}] (K invocations)";
            throw new ConversionException($"{Origin}: data of shape [{string.Join(", ", Shape)}] does not fit model input '{inputName}' of shape [{string.Join(", ", sourceShape)}]; expected {want} in the model's own layout");
        }

        if (result.Count == 0) throw new ConversionException($"{Origin}: holds no samples");
        return result;
    }

    /// <summary>Checks that the data fits the model input (see <see cref="ForInput"/>); the message names both shapes.</summary>
    public void CheckFits(int[] sourceShape, string inputName) => ForInput(sourceShape, inputName);

    /// <summary>All samples converted to the model's physical (NHWC) input order.</summary>
    public List<float[]> ToPhysical(LoadedModel model)
    {
        var set = ForInput(model.InputSourceShape, model.Ir.IoNames[model.Input]);
        var list = new List<float[]>(set.Count);
        for (int i = 0; i < set.Count; i++) list.Add(Layouts.ToPhysical(set.Sample(i), model.InputSourceShape, model.InputLayout));
        return list;
    }
}

/// <summary>Conversions between a source model's layout and the runtime's NHWC.</summary>
public static class Layouts
{
    /// <summary>One sample in source order (its logical shape, batch included) to physical order.</summary>
    public static float[] ToPhysical(ReadOnlySpan<float> sample, int[] logical, SourceLayout layout)
    {
        var r = new float[sample.Length];
        if (layout != SourceLayout.Nchw) { sample.CopyTo(r); return r; }
        int n = logical[0], c = logical[1], h = logical[2], w = logical[3], image = c * h * w;
        for (int b = 0; b < n; b++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        r[b * image + (y * w + x) * c + ci] = sample[b * image + (ci * h + y) * w + x];
        return r;
    }

    /// <summary>One sample in physical order back to source order.</summary>
    public static float[] ToSource(ReadOnlySpan<float> physical, int[] logical, SourceLayout layout)
    {
        var r = new float[physical.Length];
        if (layout != SourceLayout.Nchw) { physical.CopyTo(r); return r; }
        int n = logical[0], c = logical[1], h = logical[2], w = logical[3], image = c * h * w;
        for (int b = 0; b < n; b++)
            for (int ci = 0; ci < c; ci++)
                for (int y = 0; y < h; y++)
                    for (int x = 0; x < w; x++)
                        r[b * image + (ci * h + y) * w + x] = physical[b * image + (y * w + x) * c + ci];
        return r;
    }

    /// <summary>The source-layout shape (batch 1) of a runtime tensor shape.</summary>
    public static int[] SourceShape(int[] physical, SourceLayout layout)
        => layout == SourceLayout.Nchw ? [physical[0], physical[3], physical[1], physical[2]] : (int[])physical.Clone();
}
