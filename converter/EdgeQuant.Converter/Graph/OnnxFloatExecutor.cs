using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph;

/// <summary>
/// A plain float32 reference executor with ONNX semantics (NCHW layouts as the model defines
/// them) for every supported op, including the constant-subgraph ops, so it runs a graph before
/// or after <see cref="GraphPasses.Simplify"/>. It is the float baseline that quantized results
/// are compared against; it favours clarity over speed.
/// </summary>
/// <remarks>Runs keep no state in the instance, so one executor can serve several threads.</remarks>
public sealed class OnnxFloatExecutor
{
    private const int MaxSamplesPerRun = 64;

    private readonly Dictionary<string, int> _lastUse = new(StringComparer.Ordinal);
    private readonly HashSet<string> _keep = new(StringComparer.Ordinal);

    /// <summary>Prepares to run <paramref name="graph"/>. The graph must not be changed afterwards.</summary>
    public OnnxFloatExecutor(OnnxGraph graph)
    {
        Graph = graph;
        if (graph.Inputs.Count == 0 || graph.Outputs.Count == 0)
        {
            throw new ConversionException("the graph needs at least one input and one output to be executed");
        }

        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            foreach (var input in graph.Nodes[n].Inputs)
            {
                if (input.Length > 0)
                {
                    _lastUse[input] = n;
                }
            }
        }

        foreach (var output in graph.Outputs)
        {
            _keep.Add(output.Name);
        }
    }

    /// <summary>The graph being executed.</summary>
    public OnnxGraph Graph { get; }

    /// <summary>The first graph input, the one <see cref="Run(ReadOnlySpan{float}, int[])"/> feeds.</summary>
    public OnnxValueInfo Input => Graph.Inputs[0];

    /// <summary>
    /// Runs the graph on one input tensor (C order, shape <paramref name="inputShape"/>, which
    /// must match the declared input shape; a dynamic first dimension accepts any batch size)
    /// and returns the first graph output.
    /// </summary>
    public float[] Run(ReadOnlySpan<float> input, int[] inputShape) => Run(input, inputShape, out _);

    /// <inheritdoc cref="Run(ReadOnlySpan{float}, int[])"/>
    /// <param name="input">Input values in C order.</param>
    /// <param name="inputShape">Shape of <paramref name="input"/>.</param>
    /// <param name="outputShape">Shape of the returned output.</param>
    public float[] Run(ReadOnlySpan<float> input, int[] inputShape, out int[] outputShape)
    {
        var values = Execute(SingleInput(input, inputShape), keepAll: false);
        string name = Graph.Outputs[0].Name;
        var output = values[name];
        outputShape = output.Shape;

        // Never hand out an initializer's own array.
        return output.IsFloat && !Graph.Initializers.ContainsKey(name) ? output.FloatData : output.ToFloatArray();
    }

    /// <summary>
    /// Runs the graph and returns every value by name: inputs, initializers and every node
    /// output (for debugging and for comparing intermediate results).
    /// </summary>
    public IReadOnlyDictionary<string, OnnxTensor> RunAll(ReadOnlySpan<float> input, int[] inputShape) =>
        Execute(SingleInput(input, inputShape), keepAll: true);

    /// <summary>Runs the graph with a tensor for each graph input and returns every value by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> RunAll(IReadOnlyDictionary<string, OnnxTensor> inputs)
    {
        foreach (var info in Graph.Inputs)
        {
            if (!inputs.TryGetValue(info.Name, out var t))
            {
                throw new ConversionException($"no value given for graph input '{info.Name}'");
            }

            CheckShape(info, t.Shape);
        }

        return Execute(inputs, keepAll: true);
    }

    /// <summary>
    /// Runs <paramref name="sampleCount"/> samples stored back to back in <paramref name="data"/>
    /// (each shaped like the input without its first dimension) and returns the first output of
    /// every sample, concatenated. A model with a dynamic batch runs several samples at a time;
    /// a model exported with a fixed batch B runs B samples at a time.
    /// </summary>
    public float[] RunBatched(ReadOnlySpan<float> data, int sampleCount) => RunBatched(data, sampleCount, out _);

    /// <inheritdoc cref="RunBatched(ReadOnlySpan{float}, int)"/>
    /// <param name="data">Samples in C order, back to back.</param>
    /// <param name="sampleCount">Number of samples in <paramref name="data"/>.</param>
    /// <param name="outputShape">Shape of the result: [sampleCount, per-sample output dims...].</param>
    public float[] RunBatched(ReadOnlySpan<float> data, int sampleCount, out int[] outputShape)
    {
        var declared = Input.Shape;
        if (declared.Length == 0)
        {
            throw new ConversionException($"graph input '{Input.Name}' is a scalar; it has no batch dimension to run samples along");
        }

        if (sampleCount < 1)
        {
            throw new ConversionException($"sample count must be at least 1; got {sampleCount}");
        }

        var sampleShape = declared[1..];
        foreach (int d in sampleShape)
        {
            if (d < 0)
            {
                throw new ConversionException(
                    $"graph input '{Input.Name}' {OnnxTensor.FormatShape(declared)} has dynamic dimensions beyond the batch; the per-sample shape is unknown");
            }
        }

        int sampleSize = OnnxTensor.CountElements(sampleShape);
        if ((long)sampleSize * sampleCount != data.Length)
        {
            throw new ConversionException(
                $"input data has {data.Length} values; expected {sampleCount} samples of {OnnxTensor.FormatShape(sampleShape)} = {(long)sampleSize * sampleCount} values for input '{Input.Name}' {OnnxTensor.FormatShape(declared)}");
        }

        bool dynamicBatch = declared[0] < 0;
        int chunk = dynamicBatch ? Math.Min(MaxSamplesPerRun, sampleCount) : declared[0];
        if (!dynamicBatch && (chunk < 1 || sampleCount % chunk != 0))
        {
            throw new ConversionException(
                $"graph input '{Input.Name}' has a fixed batch of {declared[0]}; the sample count {sampleCount} must be a multiple of it");
        }

        float[]? result = null;
        int[] perSample = [];
        int perSampleSize = 0;
        for (int start = 0; start < sampleCount; start += chunk)
        {
            int count = Math.Min(chunk, sampleCount - start);
            var output = Run(data.Slice(start * sampleSize, count * sampleSize), [count, .. sampleShape], out var shape);
            int[] thisPerSample;
            if (shape.Length > 0 && shape[0] == count)
            {
                thisPerSample = shape[1..];
            }
            else if (count == 1)
            {
                thisPerSample = shape;
            }
            else
            {
                throw new ConversionException(
                    $"the first output {OnnxTensor.FormatShape(shape)} does not have the batch ({count}) as its first dimension; run samples one at a time with Run");
            }

            if (result is null)
            {
                perSample = thisPerSample;
                perSampleSize = OnnxTensor.CountElements(perSample);
                if ((long)perSampleSize * sampleCount > int.MaxValue)
                {
                    throw new ConversionException($"{sampleCount} outputs of {OnnxTensor.FormatShape(perSample)} do not fit in one array");
                }

                result = new float[perSampleSize * sampleCount];
            }
            else if (!perSample.AsSpan().SequenceEqual(thisPerSample))
            {
                throw new ConversionException($"the output shape per sample changed between batches ({OnnxTensor.FormatShape(perSample)} vs {OnnxTensor.FormatShape(thisPerSample)})");
            }

            output.AsSpan().CopyTo(result.AsSpan(start * perSampleSize));
        }

        outputShape = [sampleCount, .. perSample];
        return result!;
    }

    private Dictionary<string, OnnxTensor> SingleInput(ReadOnlySpan<float> input, int[] inputShape)
    {
        if (Graph.Inputs.Count != 1)
        {
            throw new ConversionException(
                $"the graph has {Graph.Inputs.Count} inputs ({string.Join(", ", Graph.Inputs.Select(i => i.Name))}); use RunAll with a value for each");
        }

        CheckShape(Input, inputShape);
        int count = OnnxTensor.CountElements(inputShape);
        if (count != input.Length)
        {
            throw new ConversionException(
                $"input '{Input.Name}': shape {OnnxTensor.FormatShape(inputShape)} needs {count} values but {input.Length} were given");
        }

        return new Dictionary<string, OnnxTensor>(StringComparer.Ordinal)
        {
            [Input.Name] = OnnxTensor.FromFloats((int[])inputShape.Clone(), input.ToArray()),
        };
    }

    private static void CheckShape(OnnxValueInfo info, int[] shape)
    {
        bool ok = shape.Length == info.Shape.Length;
        for (int d = 0; ok && d < shape.Length; d++)
        {
            ok = shape[d] >= 0 && (info.Shape[d] < 0 ? shape[d] >= 1 : info.Shape[d] == shape[d]);
        }

        if (!ok)
        {
            throw new ConversionException(
                $"input '{info.Name}' has the wrong shape: expected {OnnxTensor.FormatShape(info.Shape)} (? = any size), got {OnnxTensor.FormatShape(shape)}");
        }
    }

    private Dictionary<string, OnnxTensor> Execute(IReadOnlyDictionary<string, OnnxTensor> inputs, bool keepAll)
    {
        var values = new Dictionary<string, OnnxTensor>(Graph.Initializers, StringComparer.Ordinal);
        foreach (var (name, tensor) in inputs)
        {
            values[name] = tensor;
        }

        for (int n = 0; n < Graph.Nodes.Count; n++)
        {
            var node = Graph.Nodes[n];
            var context = OnnxOps.ForEvaluation(node, Graph.Opset, name =>
                values.TryGetValue(name, out var v) ? v : throw node.Error($"input '{name}' has no value (the graph is not in topological order)"));
            values[node.Outputs[0]] = OnnxOps.Evaluate(context);

            if (keepAll)
            {
                continue;
            }

            // Drop intermediate values after their last use to bound memory on large batches.
            foreach (var input in node.Inputs)
            {
                if (input.Length > 0 && _lastUse.GetValueOrDefault(input, -1) == n && !_keep.Contains(input) && !Graph.Initializers.ContainsKey(input))
                {
                    values.Remove(input);
                }
            }
        }

        return values;
    }
}
