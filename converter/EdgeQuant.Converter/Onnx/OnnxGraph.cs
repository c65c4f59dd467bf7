namespace EdgeQuant.Converter.Onnx;

/// <summary>A graph input or output: name, element type and shape.</summary>
public sealed class OnnxValueInfo
{
    /// <summary>Creates a value description.</summary>
    public OnnxValueInfo(string name, int[] shape, OnnxDataType elementType = OnnxDataType.Float, bool isShapeKnown = true)
    {
        Name = name;
        Shape = shape;
        ElementType = elementType;
        IsShapeKnown = isShapeKnown;
    }

    /// <summary>Value name.</summary>
    public string Name { get; set; }

    /// <summary>Dimensions; -1 marks a dynamic (symbolic or unknown) dimension.</summary>
    public int[] Shape { get; set; }

    /// <summary>Element type declared by the model.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>False when the model declares no shape (then <see cref="Shape"/> is empty).</summary>
    public bool IsShapeKnown { get; set; }

    /// <inheritdoc />
    public override string ToString() => $"{Name}: {OnnxDataTypes.Name(ElementType)}{(IsShapeKnown ? OnnxTensor.FormatShape(Shape) : "[unknown]")}";
}

/// <summary>
/// An imported ONNX graph. Passes in <c>EdgeQuant.Converter.Graph</c> rewrite it in place.
/// Value names are unique (SSA); every node input is a graph input, an initializer or the
/// output of an earlier node in <see cref="Nodes"/>.
/// </summary>
public sealed class OnnxGraph
{
    /// <summary>Creates a graph.</summary>
    public OnnxGraph(int opset)
    {
        Opset = opset;
        SourceOpset = opset;
    }

    /// <summary>Nodes in topological order.</summary>
    public List<OnnxNode> Nodes { get; } = [];

    /// <summary>Constant tensors by value name (model initializers, plus folded constants after simplification).</summary>
    public Dictionary<string, OnnxTensor> Initializers { get; } = new(StringComparer.Ordinal);

    /// <summary>Runtime inputs (initializers listed as inputs by old exporters are excluded).</summary>
    public List<OnnxValueInfo> Inputs { get; } = [];

    /// <summary>Graph outputs in model order; the first is what executors return.</summary>
    public List<OnnxValueInfo> Outputs { get; } = [];

    /// <summary>
    /// Shapes of every value (inputs, initializers, node outputs) for one batch size, filled by
    /// <c>GraphPasses.InferShapes</c>. Empty until then.
    /// </summary>
    public Dictionary<string, int[]> Shapes { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Version of the default ONNX operator set the nodes follow (7..21): models declaring opset 1
    /// to 6 are brought to the opset-7 form at import (see <see cref="SourceOpset"/>).
    /// </summary>
    public int Opset { get; }

    /// <summary>The default-domain opset the model declares (1..21); equal to <see cref="Opset"/> from 7 on.</summary>
    public int SourceOpset { get; init; }

    /// <summary>The model's IR version (0 when not declared).</summary>
    public long IrVersion { get; init; }

    /// <summary>The exporter that wrote the model, for example "pytorch".</summary>
    public string ProducerName { get; init; } = "";

    /// <summary>The exporter's version.</summary>
    public string ProducerVersion { get; init; } = "";

    /// <summary>The graph's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The node producing <paramref name="valueName"/>, or null for inputs, initializers and unknown names.</summary>
    public OnnxNode? Producer(string valueName)
    {
        foreach (var node in Nodes)
        {
            if (node.Outputs.Contains(valueName))
            {
                return node;
            }
        }

        return null;
    }

    /// <summary>Nodes reading <paramref name="valueName"/>, in graph order (a node appears once even if it reads the value twice).</summary>
    public IReadOnlyList<OnnxNode> Consumers(string valueName)
    {
        var result = new List<OnnxNode>();
        if (valueName.Length == 0)
        {
            return result;
        }

        foreach (var node in Nodes)
        {
            if (node.Inputs.Contains(valueName))
            {
                result.Add(node);
            }
        }

        return result;
    }

    /// <summary>True when <paramref name="name"/> is an initializer (a constant known at conversion time).</summary>
    public bool IsConstant(string name) => Initializers.ContainsKey(name);

    /// <summary>True when <paramref name="name"/> is a graph input.</summary>
    public bool IsGraphInput(string name) => Inputs.Exists(i => i.Name == name);

    /// <summary>True when <paramref name="name"/> is a graph output.</summary>
    public bool IsGraphOutput(string name) => Outputs.Exists(o => o.Name == name);

    /// <summary>Returns <paramref name="baseName"/>, or it with a numeric suffix, such that no value or node uses it yet.</summary>
    public string MakeUniqueName(string baseName)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var i in Inputs)
        {
            used.Add(i.Name);
        }

        foreach (var o in Outputs)
        {
            used.Add(o.Name);
        }

        foreach (var k in Initializers.Keys)
        {
            used.Add(k);
        }

        foreach (var n in Nodes)
        {
            used.Add(n.Name);
            used.UnionWith(n.Outputs);
            used.UnionWith(n.Inputs);
        }

        if (!used.Contains(baseName))
        {
            return baseName;
        }

        for (int k = 1; ; k++)
        {
            string candidate = $"{baseName}_{k}";
            if (!used.Contains(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Replaces every use of value <paramref name="from"/> as a node input with <paramref name="to"/>.</summary>
    public void ReplaceUses(string from, string to)
    {
        foreach (var node in Nodes)
        {
            for (int i = 0; i < node.Inputs.Count; i++)
            {
                if (node.Inputs[i] == from)
                {
                    node.Inputs[i] = to;
                }
            }
        }
    }

    /// <summary>
    /// Orders <see cref="Nodes"/> so that every node comes after the producers of its inputs,
    /// keeping the existing order where it already is valid. Throws <see cref="ConversionException"/>
    /// for undefined inputs, values produced twice and cycles.
    /// </summary>
    public void SortTopologically()
    {
        var producerIndex = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int n = 0; n < Nodes.Count; n++)
        {
            foreach (var output in Nodes[n].Outputs)
            {
                if (output.Length == 0)
                {
                    continue;
                }

                if (Initializers.ContainsKey(output) || IsGraphInput(output))
                {
                    throw Nodes[n].Error($"output '{output}' has the same name as a graph input or initializer");
                }

                if (!producerIndex.TryAdd(output, n))
                {
                    throw Nodes[n].Error($"output '{output}' is also produced by {Nodes[producerIndex[output]].Description}");
                }
            }
        }

        var pending = new int[Nodes.Count];
        var dependents = new List<int>[Nodes.Count];
        for (int n = 0; n < Nodes.Count; n++)
        {
            dependents[n] = [];
        }

        for (int n = 0; n < Nodes.Count; n++)
        {
            foreach (var input in Nodes[n].Inputs)
            {
                if (input.Length == 0 || Initializers.ContainsKey(input) || IsGraphInput(input))
                {
                    continue;
                }

                if (!producerIndex.TryGetValue(input, out int p))
                {
                    throw Nodes[n].Error($"input '{input}' is not a graph input, an initializer or the output of any node");
                }

                pending[n]++;
                dependents[p].Add(n);
            }
        }

        // Kahn's algorithm with a min-heap on the original index keeps already-sorted graphs unchanged.
        var ready = new PriorityQueue<int, int>();
        for (int n = 0; n < Nodes.Count; n++)
        {
            if (pending[n] == 0)
            {
                ready.Enqueue(n, n);
            }
        }

        var sorted = new List<OnnxNode>(Nodes.Count);
        while (ready.TryDequeue(out int n, out _))
        {
            sorted.Add(Nodes[n]);
            foreach (int d in dependents[n])
            {
                if (--pending[d] == 0)
                {
                    ready.Enqueue(d, d);
                }
            }
        }

        if (sorted.Count != Nodes.Count)
        {
            for (int n = 0; n < Nodes.Count; n++)
            {
                if (pending[n] > 0)
                {
                    throw Nodes[n].Error("the graph has a cycle through this node");
                }
            }
        }

        Nodes.Clear();
        Nodes.AddRange(sorted);
    }

    /// <summary>
    /// A copy that can be rewritten without affecting this graph. Nodes, lists and maps are new;
    /// tensors are shared (they are immutable by convention).
    /// </summary>
    public OnnxGraph Clone()
    {
        var copy = new OnnxGraph(Opset)
        {
            SourceOpset = SourceOpset,
            IrVersion = IrVersion,
            ProducerName = ProducerName,
            ProducerVersion = ProducerVersion,
            Name = Name,
        };
        foreach (var n in Nodes)
        {
            copy.Nodes.Add(n.Clone());
        }

        foreach (var (k, v) in Initializers)
        {
            copy.Initializers[k] = v;
        }

        foreach (var i in Inputs)
        {
            copy.Inputs.Add(new OnnxValueInfo(i.Name, (int[])i.Shape.Clone(), i.ElementType, i.IsShapeKnown));
        }

        foreach (var o in Outputs)
        {
            copy.Outputs.Add(new OnnxValueInfo(o.Name, (int[])o.Shape.Clone(), o.ElementType, o.IsShapeKnown));
        }

        foreach (var (k, v) in Shapes)
        {
            copy.Shapes[k] = v;
        }

        return copy;
    }
}
