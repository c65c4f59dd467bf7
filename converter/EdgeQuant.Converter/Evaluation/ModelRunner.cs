using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Evaluation;

/// <summary>
/// Runs a float ONNX model (with the float reference executor) or an int8 .eqm blob (with the
/// interpreter) over samples in the source model's layout, one data set per model input, and
/// returns the first output of every sample in the source layout, concatenated (<see cref="RunOutputs"/>: any outputs).
/// </summary>
public sealed class ModelRunner
{
    private readonly OnnxFloatExecutor? _float;
    private readonly Model? _model;

    private ModelRunner(OnnxFloatExecutor? f, Model? m, string[] inputNames, int[][] inputShapes, string[] outputNames, int[][] outputShapes)
    {
        _float = f;
        _model = m;
        InputNames = inputNames;
        InputSourceShapes = inputShapes;
        OutputNames = outputNames;
        OutputSourceShapes = outputShapes;
    }

    public bool IsQuantized => _model is not null;
    /// <summary>The first input's shape in the source layout (batch 1).</summary>
    public int[] InputSourceShape => InputSourceShapes[0];
    /// <summary>Every input's name, in model order.</summary>
    public IReadOnlyList<string> InputNames { get; }
    /// <summary>Every input's shape in the source layout (batch 1), in model order.</summary>
    public IReadOnlyList<int[]> InputSourceShapes { get; }
    /// <summary>One sample's first output shape in the source layout (batch 1).</summary>
    public int[] OutputSourceShape => OutputSourceShapes[0];
    /// <summary>Every output's name, in model order.</summary>
    public IReadOnlyList<string> OutputNames { get; }
    /// <summary>Every output's shape for one sample in the source layout (batch 1), in model order.</summary>
    public IReadOnlyList<int[]> OutputSourceShapes { get; }

    /// <summary>The first input's name in the model.</summary>
    public string InputName => InputNames[0];

    /// <summary>Opens an .onnx (float) or .eqm (int8) file, chosen by content.</summary>
    public static ModelRunner Open(string path)
    {
        byte[] head = new byte[4];
        using (var f = File.OpenRead(path)) f.ReadExactly(head.AsSpan(0, (int)Math.Min(4, f.Length)));
        if (System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(head) == ModelFormat.Magic)
            return FromModel(Model.LoadFile(path));
        return FromLoaded(ModelConverter.Load(path));
    }

    public static ModelRunner FromLoaded(LoadedModel m)
        => new(new OnnxFloatExecutor(m.Onnx), null,
            m.Ir.Inputs.Select(t => m.Ir.IoNames[t]).ToArray(),
            m.Ir.Inputs.Select(t => m.Ir.SourceShapes[t]).ToArray(),
            m.Ir.Outputs.Select(t => m.Ir.IoNames[t]).ToArray(),
            m.Ir.Outputs.Select(t => m.Ir.SourceShapes[t]).ToArray());

    public static ModelRunner FromModel(Model m)
        => new(null, m,
            m.Inputs.Select(i => i.Name).ToArray(),
            m.Inputs.Select(i => Layouts.SourceShape(m.Tensors[i.TensorIndex].Dims(), i.Layout)).ToArray(),
            m.Outputs.Select(o => o.Name).ToArray(),
            m.Outputs.Select(o => Layouts.SourceShape(m.Tensors[o.TensorIndex].Dims(), o.Layout)).ToArray());

    /// <summary><paramref name="data"/> as samples of this model's only input (see <see cref="SampleSet.ForInput"/>).</summary>
    public SampleSet Fit(SampleSet data) => Fit(ModelInputs.Single(data))[0];

    /// <summary>The data for each input, in model order, fitted to the inputs (see <see cref="ModelInputs.Fit"/>).</summary>
    public IReadOnlyList<SampleSet> Fit(ModelInputs data) => data.Fit(InputNames, InputSourceShapes);

    /// <summary>
    /// The shape of <see cref="Run(ModelInputs, Action{int, int}?)"/>'s result for <paramref name="fitted"/> (the first input's fitted data):
    /// [N, output without its batch] for a batched input, the output's own shape for data given in
    /// exactly a static input's shape, [N, output...] otherwise.
    /// </summary>
    public int[] OutputShape(SampleSet fitted) => OutputShape(fitted, 0);

    /// <summary>As <see cref="OutputShape(SampleSet)"/> for output <paramref name="output"/> (<see cref="RunOutputs"/>).</summary>
    public int[] OutputShape(SampleSet fitted, int output)
    {
        var shape = OutputSourceShapes[output];
        if (fitted.IsSingleStaticSample) return (int[])shape.Clone();
        if (SampleSet.HasBatchDimension(InputSourceShape) && shape.Length > 0 && shape[0] == 1)
            return [fitted.Count, .. shape[1..]];
        return [fitted.Count, .. shape];
    }

    /// <summary>
    /// Runs every sample of the data (one set per input, fitted to the inputs first) and returns, for each output index in
    /// <paramref name="outputs"/> (model order, <see cref="OutputNames"/>), that output of every sample back to back in the
    /// source layout.
    /// </summary>
    public float[][] RunOutputs(ModelInputs inputs, IReadOnlyList<int> outputs, Action<int, int>? progress = null)
    {
        foreach (int o in outputs)
            if ((uint)o >= (uint)OutputNames.Count)
                throw new ArgumentOutOfRangeException(nameof(outputs), o, $"the model has {OutputNames.Count} outputs");
        var sets = Fit(inputs);
        var data = sets[0];
        var sizes = outputs.Select(o => OutputSourceShapes[o].Aggregate(1, (a, b) => a * b)).ToArray();
        var result = sizes.Select(n => new float[data.Count * n]).ToArray();
        if (_float is not null)
        {
            // One invocation per sample, every value kept: the outputs are read by name.
            for (int s = 0; s < data.Count; s++)
            {
                var feeds = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
                for (int k = 0; k < sets.Count; k++)
                    feeds[InputNames[k]] = OnnxTensor.FromFloats(InputSourceShapes[k], sets[k].Sample(s).ToArray());
                var values = _float.RunAll(feeds);
                for (int j = 0; j < outputs.Count; j++)
                    values[OutputNames[outputs[j]]].ToFloatArray().CopyTo(result[j], s * sizes[j]);
                progress?.Invoke(s + 1, data.Count);
            }
            return result;
        }
        var interp = new Interpreter(_model!);
        var physical = sizes.Select(n => new float[n]).ToArray();
        for (int s = 0; s < data.Count; s++)
        {
            for (int k = 0; k < sets.Count; k++)
                interp.SetInput(Layouts.ToPhysical(sets[k].Sample(s), InputSourceShapes[k], _model!.Inputs[k].Layout), k);
            interp.Invoke();
            for (int j = 0; j < outputs.Count; j++)
            {
                interp.GetOutput(physical[j], outputs[j]);
                Layouts.ToSource(physical[j], OutputSourceShapes[outputs[j]], _model!.Outputs[outputs[j]].Layout).CopyTo(result[j], s * sizes[j]);
            }
            if ((s + 1) % 50 == 0 || s + 1 == data.Count) progress?.Invoke(s + 1, data.Count);
        }
        return result;
    }

    /// <summary>Runs every sample of <paramref name="data"/> (fitted to the only input first) and returns the outputs back to back.</summary>
    public float[] Run(SampleSet data, Action<int, int>? progress = null) => Run(ModelInputs.Single(data), progress);

    /// <summary>Runs every sample of the data (one set per input, fitted to the inputs first) and returns the outputs back to back.</summary>
    public float[] Run(ModelInputs inputs, Action<int, int>? progress = null)
    {
        if (_float is null || InputNames.Count > 1 || !SampleSet.HasBatchDimension(InputSourceShape))
            return RunOutputs(inputs, [0], progress)[0];
        // A float model with one batched input: several samples per invocation.
        var data = Fit(inputs)[0];
        int outSize = 1;
        foreach (int d in OutputSourceShape) outSize *= d;
        var result = new float[data.Count * outSize];
        const int chunk = 50;
        for (int s = 0; s < data.Count; s += chunk)
        {
            int n = Math.Min(chunk, data.Count - s);
            var y = _float.RunBatched(data.Data.AsSpan(s * data.SampleSize, n * data.SampleSize), n);
            y.CopyTo(result, s * outSize);
            progress?.Invoke(s + n, data.Count);
        }
        return result;
    }
}
