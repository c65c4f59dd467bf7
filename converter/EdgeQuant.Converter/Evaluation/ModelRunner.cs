using EdgeQuant.Converter.Graph;
using EdgeQuant.Runtime;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Evaluation;

/// <summary>
/// Runs a float ONNX model (with the float reference executor) or an int8 .eqm blob (with the
/// interpreter) over a sample set in the source model's layout, and returns the first output of
/// every sample in the source layout, concatenated.
/// </summary>
public sealed class ModelRunner
{
    private readonly OnnxFloatExecutor? _float;
    private readonly Model? _model;

    private ModelRunner(OnnxFloatExecutor? f, Model? m, int[] inputShape, int[] outputShape)
    {
        _float = f;
        _model = m;
        InputSourceShape = inputShape;
        OutputSourceShape = outputShape;
    }

    public bool IsQuantized => _model is not null;
    /// <summary>One sample's input shape in the source layout (batch 1).</summary>
    public int[] InputSourceShape { get; }
    /// <summary>One sample's output shape in the source layout (batch 1).</summary>
    public int[] OutputSourceShape { get; }

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
        => new(new OnnxFloatExecutor(m.Onnx), null, m.InputSourceShape, m.Ir.SourceShapes[m.Output]);

    public static ModelRunner FromModel(Model m)
    {
        var i = m.Inputs[0];
        var o = m.Outputs[0];
        return new(null, m, Layouts.SourceShape(m.Tensors[i.TensorIndex].Dims(), i.Layout), Layouts.SourceShape(m.Tensors[o.TensorIndex].Dims(), o.Layout));
    }

    /// <summary>The input's name in the model.</summary>
    public string InputName => _model?.Inputs[0].Name ?? _float!.Input.Name;

    /// <summary><paramref name="data"/> as samples of this model's input (see <see cref="SampleSet.ForInput"/>).</summary>
    public SampleSet Fit(SampleSet data) => data.ForInput(InputSourceShape, InputName);

    /// <summary>
    /// The shape of <see cref="Run"/>'s result for <paramref name="fitted"/> (from <see cref="Fit"/>):
    /// [N, output without its batch] for a batched input, the output's own shape for data given in
    /// exactly a static input's shape, [N, output...] otherwise.
    /// </summary>
    public int[] OutputShape(SampleSet fitted)
    {
        if (fitted.IsSingleStaticSample) return (int[])OutputSourceShape.Clone();
        if (SampleSet.HasBatchDimension(InputSourceShape) && OutputSourceShape.Length > 0 && OutputSourceShape[0] == 1)
            return [fitted.Count, .. OutputSourceShape[1..]];
        return [fitted.Count, .. OutputSourceShape];
    }

    /// <summary>Runs every sample of <paramref name="data"/> (fitted to the input first) and returns the outputs back to back.</summary>
    public float[] Run(SampleSet data, Action<int, int>? progress = null)
    {
        data = Fit(data);
        int outSize = 1;
        foreach (int d in OutputSourceShape) outSize *= d;
        var result = new float[data.Count * outSize];
        if (_float is not null && !SampleSet.HasBatchDimension(InputSourceShape))
        {
            // A static input shape: each sample is one whole invocation.
            for (int s = 0; s < data.Count; s++)
            {
                _float.Run(data.Sample(s), InputSourceShape).CopyTo(result, s * outSize);
                progress?.Invoke(s + 1, data.Count);
            }
            return result;
        }
        if (_float is not null)
        {
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
        var interp = new Interpreter(_model!);
        var inIo = _model!.Inputs[0];
        var outIo = _model.Outputs[0];
        var outPhysical = new float[outSize];
        for (int s = 0; s < data.Count; s++)
        {
            interp.SetInput(Layouts.ToPhysical(data.Sample(s), InputSourceShape, inIo.Layout));
            interp.Invoke();
            interp.GetOutput(outPhysical);
            Layouts.ToSource(outPhysical, OutputSourceShape, outIo.Layout).CopyTo(result, s * outSize);
            if ((s + 1) % 50 == 0 || s + 1 == data.Count) progress?.Invoke(s + 1, data.Count);
        }
        return result;
    }
}
