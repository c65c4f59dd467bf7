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
    public List<float[]> ToPhysical(LoadedModel model) => ModelInputs.Single(this).ToPhysical(model);
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

/// <summary>
/// Data for the inputs of a model: one <see cref="SampleSet"/> per input, given by input name
/// (or one unnamed set for a model with one input). <see cref="Fit"/> matches them to the model's
/// inputs and says clearly what does not match, naming the model's inputs.
/// </summary>
public sealed class ModelInputs
{
    private readonly List<(string? Name, SampleSet Data)> _sets;

    /// <summary>Data sets, each named after the model input it feeds (null: the only input).</summary>
    public ModelInputs(IEnumerable<(string? Name, SampleSet Data)> sets)
    {
        _sets = sets.ToList();
        if (_sets.Count == 0) throw new ConversionException("no input data given");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, data) in _sets)
        {
            if (name is null && _sets.Count > 1) throw new ConversionException($"{data.Origin}: with several data files, each must name its model input (NAME=FILE.npy)");
            if (name is not null && !seen.Add(name)) throw new ConversionException($"data for input '{name}' is given twice");
        }
    }

    /// <summary>One unnamed data set, for a model with one input.</summary>
    public static ModelInputs Single(SampleSet data) => new([(null, data)]);

    /// <summary>The data sets as given.</summary>
    public IReadOnlyList<(string? Name, SampleSet Data)> Sets => _sets;

    /// <summary>
    /// The data for each model input, in model input order, each fitted to its input's source
    /// shape (see <see cref="SampleSet.ForInput"/>); all must hold the same number of samples.
    /// </summary>
    /// <param name="names">The model's input names, in order.</param>
    /// <param name="sourceShapes">Each input's source-layout shape (batch 1).</param>
    public IReadOnlyList<SampleSet> Fit(IReadOnlyList<string> names, IReadOnlyList<int[]> sourceShapes)
    {
        string Describe() => string.Join(", ", names.Select((n, i) => $"'{n}' [{string.Join(", ", sourceShapes[i])}]"));
        var result = new SampleSet[names.Count];
        if (_sets.Count == 1 && _sets[0].Name is null)
        {
            if (names.Count != 1)
                throw new ConversionException($"the model has {names.Count} inputs ({Describe()}); give one data file per input, each as NAME=FILE.npy");
            result[0] = _sets[0].Data.ForInput(sourceShapes[0], names[0]);
            return result;
        }

        foreach (var (name, data) in _sets)
        {
            int i = IndexOf(names, name!);
            if (i < 0) throw new ConversionException($"{data.Origin}: the model has no input '{name}'; its inputs: {Describe()}");
            result[i] = data.ForInput(sourceShapes[i], names[i]);
        }

        var missing = names.Where((n, i) => result[i] is null).ToList();
        if (missing.Count > 0)
            throw new ConversionException($"no data for model input{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing.Select(m => $"'{m}'"))}; the model's inputs: {Describe()}; give one data file per input, each as NAME=FILE.npy");
        for (int i = 1; i < result.Length; i++)
        {
            if (result[i].Count != result[0].Count)
                throw new ConversionException($"input '{names[0]}' has {result[0].Count} samples ({result[0].Origin}) but input '{names[i]}' has {result[i].Count} ({result[i].Origin}); every input needs the same number of samples");
        }

        return result;
    }

    /// <summary>All samples in the model's physical order: each sample is every input's values back to back, in model input order.</summary>
    public List<float[]> ToPhysical(LoadedModel model)
    {
        var inputs = model.Ir.Inputs;
        var fitted = Fit(inputs.Select(t => model.Ir.IoNames[t]).ToList(), inputs.Select(t => model.Ir.SourceShapes[t]).ToList());
        var list = new List<float[]>(fitted[0].Count);
        for (int s = 0; s < fitted[0].Count; s++)
        {
            if (inputs.Count == 1)
            {
                list.Add(Layouts.ToPhysical(fitted[0].Sample(s), model.Ir.SourceShapes[inputs[0]], model.Ir.Layouts[inputs[0]]));
                continue;
            }

            var sample = new float[model.Ir.InputElementCount];
            int offset = 0;
            for (int k = 0; k < inputs.Count; k++)
            {
                var physical = Layouts.ToPhysical(fitted[k].Sample(s), model.Ir.SourceShapes[inputs[k]], model.Ir.Layouts[inputs[k]]);
                physical.CopyTo(sample, offset);
                offset += physical.Length;
            }

            list.Add(sample);
        }

        return list;
    }

    private static int IndexOf(IReadOnlyList<string> names, string name)
    {
        for (int i = 0; i < names.Count; i++)
        {
            if (names[i] == name) return i;
        }

        return -1;
    }
}
