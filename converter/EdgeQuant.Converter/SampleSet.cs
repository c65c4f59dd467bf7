using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter;

/// <summary>
/// Samples as float32 in the source model's own layout: shape [N, ...] where ... is one
/// sample's shape (the model input without its batch dimension).
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

    public ReadOnlySpan<float> Sample(int i) => Data.AsSpan(i * SampleSize, SampleSize);

    /// <summary>Checks that one sample has the model input's shape (batch excluded); the message names both shapes.</summary>
    public void CheckFits(int[] sourceShape, string inputName)
    {
        if (sourceShape.Length > 0 && sourceShape[0] > 1)
            throw new ConversionException($"model input '{inputName}' has shape [{string.Join(", ", sourceShape)}] with its first dimension fixed at {sourceShape[0]}; EdgeQuant treats the first dimension as the batch and runs one sample at a time: export the model with a dynamic first dimension (or batch 1)");
        var want = sourceShape.Skip(1).ToArray();
        var got = Shape.Skip(1).ToArray();
        if (!want.AsSpan().SequenceEqual(got))
            throw new ConversionException($"{Origin}: data of shape [{string.Join(", ", Shape)}] does not fit model input '{inputName}' of shape [N, {string.Join(", ", want)}]; expected [N, {string.Join(", ", want)}] in the model's own layout");
        if (Count == 0) throw new ConversionException($"{Origin}: holds no samples");
    }

    /// <summary>All samples converted to the model's physical (NHWC) input order.</summary>
    public List<float[]> ToPhysical(LoadedModel model)
    {
        CheckFits(model.InputSourceShape, model.Ir.IoNames[model.Input]);
        var list = new List<float[]>(Count);
        for (int i = 0; i < Count; i++) list.Add(Layouts.ToPhysical(Sample(i), model.InputSourceShape, model.InputLayout));
        return list;
    }
}

/// <summary>Conversions between a source model's layout and the runtime's NHWC.</summary>
public static class Layouts
{
    /// <summary>One sample in source order (logical shape, batch 1) to physical order.</summary>
    public static float[] ToPhysical(ReadOnlySpan<float> sample, int[] logical, SourceLayout layout)
    {
        var r = new float[sample.Length];
        if (layout != SourceLayout.Nchw) { sample.CopyTo(r); return r; }
        int c = logical[1], h = logical[2], w = logical[3];
        for (int ci = 0; ci < c; ci++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    r[(y * w + x) * c + ci] = sample[(ci * h + y) * w + x];
        return r;
    }

    /// <summary>One sample in physical order back to source order.</summary>
    public static float[] ToSource(ReadOnlySpan<float> physical, int[] logical, SourceLayout layout)
    {
        var r = new float[physical.Length];
        if (layout != SourceLayout.Nchw) { physical.CopyTo(r); return r; }
        int c = logical[1], h = logical[2], w = logical[3];
        for (int ci = 0; ci < c; ci++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    r[(ci * h + y) * w + x] = physical[(y * w + x) * c + ci];
        return r;
    }

    /// <summary>The source-layout shape (batch 1) of a runtime tensor shape.</summary>
    public static int[] SourceShape(int[] physical, SourceLayout layout)
        => layout == SourceLayout.Nchw ? [physical[0], physical[3], physical[1], physical[2]] : (int[])physical.Clone();
}
