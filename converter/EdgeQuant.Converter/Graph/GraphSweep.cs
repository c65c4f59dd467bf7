using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph;

/// <summary>
/// One pass over a graph for concrete input shapes that computes the shape of every value and
/// the value of every node whose inputs are all known at conversion time (initializers, Constant
/// outputs, and Shape of a value whose shape is known). The graph is not modified.
/// </summary>
internal sealed class GraphSweep
{
    private GraphSweep()
    {
    }

    /// <summary>Shape of every value: graph inputs, initializers and node outputs.</summary>
    public Dictionary<string, int[]> Shapes { get; } = new(StringComparer.Ordinal);

    /// <summary>Initializers plus every folded node output.</summary>
    public Dictionary<string, OnnxTensor> Constants { get; } = new(StringComparer.Ordinal);

    /// <summary>Nodes whose outputs were computed (folded) rather than just shaped.</summary>
    public HashSet<OnnxNode> FoldedNodes { get; } = [];

    public static GraphSweep Run(OnnxGraph graph, IReadOnlyDictionary<string, int[]> inputShapes)
    {
        var sweep = new GraphSweep();
        foreach (var input in graph.Inputs)
        {
            sweep.Shapes[input.Name] = inputShapes[input.Name];
        }

        foreach (var (name, tensor) in graph.Initializers)
        {
            sweep.Shapes[name] = tensor.Shape;
            sweep.Constants[name] = tensor;
        }

        foreach (var node in graph.Nodes)
        {
            var shapes = new int[]?[node.Inputs.Count];
            var values = new OnnxTensor?[node.Inputs.Count];
            bool allKnown = true;
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                string name = node.Inputs[i];
                if (name.Length == 0)
                {
                    continue;
                }

                if (!sweep.Shapes.TryGetValue(name, out var shape))
                {
                    throw node.Error($"input '{name}' is not defined before this node");
                }

                shapes[i] = shape;
                values[i] = sweep.Constants.GetValueOrDefault(name);
                allKnown &= values[i] is not null;
            }

            var context = new OpContext(node, graph.Opset, shapes, values);
            if (allKnown || node.OpType == "Shape")
            {
                var value = OnnxOps.Evaluate(context);
                sweep.Constants[node.Outputs[0]] = value;
                sweep.Shapes[node.Outputs[0]] = value.Shape;
                sweep.FoldedNodes.Add(node);
            }
            else
            {
                sweep.Shapes[node.Outputs[0]] = OnnxOps.InferShape(context);
            }
        }

        return sweep;
    }

    /// <summary>
    /// Concrete input shapes for a batch size: a dynamic first dimension becomes
    /// <paramref name="batchSize"/>, fixed dimensions are kept, and any other dynamic
    /// dimension is an error.
    /// </summary>
    public static Dictionary<string, int[]> InputShapes(OnnxGraph graph, int batchSize)
    {
        if (batchSize < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batch size must be at least 1");
        }

        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var input in graph.Inputs)
        {
            var shape = (int[])input.Shape.Clone();
            for (int d = 0; d < shape.Length; d++)
            {
                if (shape[d] >= 0)
                {
                    continue;
                }

                if (d != 0)
                {
                    throw new ConversionException(
                        $"graph input '{input.Name}' {OnnxTensor.FormatShape(input.Shape)} has a dynamic dimension at index {d}; supported: only the first (batch) dimension may be dynamic. Re-export with fixed sizes for the other dimensions");
                }

                shape[d] = batchSize;
            }

            result[input.Name] = shape;
        }

        return result;
    }
}
