using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph;

/// <summary>What <see cref="GraphPasses.Simplify"/> changed.</summary>
/// <param name="FoldedNodes">Nodes replaced by initializers (constant folding).</param>
/// <param name="RewrittenReshapes">Reshapes whose batch-dependent shape sub-graph was replaced by a constant shape.</param>
/// <param name="RemovedPassThroughNodes">Identity, Dropout and Cast-to-float nodes removed.</param>
/// <param name="FoldedBatchNorms">BatchNormalization nodes folded into the preceding Conv, Gemm or MatMul.</param>
/// <param name="RemovedDeadNodes">Nodes removed because nothing used their outputs.</param>
public sealed record SimplifyResult(int FoldedNodes, int RewrittenReshapes, int RemovedPassThroughNodes, int FoldedBatchNorms, int RemovedDeadNodes);

/// <summary>
/// Graph rewrites run after import. <see cref="Simplify"/> runs them all in order; each is
/// also callable on its own. All rewrite the graph in place and keep its results unchanged
/// (up to float rounding where BatchNormalization is folded).
/// </summary>
public static class GraphPasses
{
    /// <summary>
    /// Folds constants (including shape sub-graphs), removes pass-through nodes, folds
    /// BatchNormalization into the preceding Conv/Gemm/MatMul, removes dead nodes, checks that
    /// only compute ops remain and fills <see cref="OnnxGraph.Shapes"/> for batch size 1.
    /// </summary>
    public static SimplifyResult Simplify(OnnxGraph graph)
    {
        DropZeroInitialStates(graph);
        int folded = FoldConstants(graph, out int reshapes);
        int passThrough = RemovePassThroughNodes(graph);
        int batchNorms = FoldBatchNormalization(graph);
        int dead = RemoveDeadNodes(graph);
        ValidateRuntimeNodes(graph);
        InferShapes(graph, 1);
        return new SimplifyResult(folded, reshapes, passThrough, batchNorms, dead);
    }

    /// <summary>
    /// LSTM / GRU initial states made by ConstantOfShape with value 0 or by Expand of a zero constant (PyTorch's export
    /// builds them from the batch size: Shape, Gather, Concat, then ConstantOfShape, or Expand when the batch size is
    /// fixed) are the default zero state: the
    /// input is dropped, and with it the batch-dependent shape arithmetic. Returns how many were dropped.
    /// </summary>
    public static int DropZeroInitialStates(OnnxGraph graph)
    {
        int dropped = 0;
        foreach (var node in graph.Nodes)
        {
            if (!RecurrentOps.Handles(node.OpType)) continue;
            for (int i = 5; i <= (node.OpType == "LSTM" ? 6 : 5); i++)
            {
                if (!node.HasInput(i) || !IsZeroFill(graph, graph.Producer(node.Inputs[i]))) continue;
                node.Inputs[i] = "";
                dropped++;
            }
        }

        if (dropped > 0) RemoveDeadNodes(graph);
        return dropped;
    }

    /// <summary>
    /// Whether <paramref name="producer"/> makes a tensor of zeros whatever its shape inputs: ConstantOfShape with value 0
    /// (or none), or Expand of a constant all-zero tensor (torch's export at a fixed batch size: a [2, 1, H] zero Constant
    /// expanded to [2, N, H]).
    /// </summary>
    private static bool IsZeroFill(OnnxGraph graph, OnnxNode? producer)
    {
        switch (producer?.OpType)
        {
            case "ConstantOfShape":
                var value = producer.GetTensorOrNull("value");
                return value is null || (value.ElementCount == 1 && value.GetAsDouble(0) == 0);
            case "Expand":
                OnnxTensor? source = null;
                if (graph.Initializers.TryGetValue(producer.Inputs[0], out var initializer)) source = initializer;
                else if (graph.Producer(producer.Inputs[0]) is { OpType: "Constant" } constant) source = Ops.ConstantOps.ConstantValue(constant);
                if (source is null || source.ElementCount == 0) return false;
                for (int k = 0; k < source.ElementCount; k++)
                {
                    if (source.GetAsDouble(k) != 0) return false;
                }

                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Fills <see cref="OnnxGraph.Shapes"/> with the shape of every value for
    /// <paramref name="batchSize"/> (used for a dynamic first input dimension; fixed dimensions
    /// are kept). Throws <see cref="ConversionException"/> naming the node when shapes do not fit.
    /// </summary>
    public static void InferShapes(OnnxGraph graph, int batchSize)
    {
        var sweep = GraphSweep.Run(graph, GraphSweep.InputShapes(graph, batchSize));
        bool dynamicBatch = graph.Inputs.Exists(i => i.Shape.Length > 0 && i.Shape[0] < 0);
        foreach (var output in graph.Outputs)
        {
            if (!output.IsShapeKnown || !sweep.Shapes.TryGetValue(output.Name, out var inferred))
            {
                continue;
            }

            bool matches = inferred.Length == output.Shape.Length;
            for (int d = 0; matches && d < inferred.Length; d++)
            {
                matches = output.Shape[d] < 0 || (d == 0 && dynamicBatch) || output.Shape[d] == inferred[d];
            }

            if (!matches)
            {
                throw new ConversionException(
                    $"graph output '{output.Name}' is declared as {OnnxTensor.FormatShape(output.Shape)} but the graph computes {OnnxTensor.FormatShape(inferred)} for batch size {batchSize}");
            }
        }

        graph.Shapes.Clear();
        foreach (var (name, shape) in sweep.Shapes)
        {
            graph.Shapes[name] = shape;
        }
    }

    /// <summary>
    /// Evaluates every node whose inputs are all known at conversion time and replaces it by an
    /// initializer. Shape of a value is known when its shape is static; a value computed from the
    /// dynamic batch dimension (x.view(x.size(0), -1) in PyTorch) may only feed a Reshape's shape,
    /// which is then replaced by a constant shape valid for any batch ([-1, ...] or [0, ...]).
    /// Returns the number of folded nodes.
    /// </summary>
    public static int FoldConstants(OnnxGraph graph) => FoldConstants(graph, out _);

    /// <inheritdoc cref="FoldConstants(OnnxGraph)"/>
    public static int FoldConstants(OnnxGraph graph, out int rewrittenReshapes)
    {
        rewrittenReshapes = 0;

        // Fold at two batch sizes: values that differ depend on the batch size.
        bool dynamicBatch = graph.Inputs.Exists(i => i.Shape.Length > 0 && i.Shape[0] < 0);
        var sweepA = GraphSweep.Run(graph, GraphSweep.InputShapes(graph, 2));
        var sweepB = dynamicBatch ? GraphSweep.Run(graph, GraphSweep.InputShapes(graph, 3)) : sweepA;

        var batchDependent = new HashSet<string>(StringComparer.Ordinal);
        var folded = new HashSet<OnnxNode>();
        foreach (var node in graph.Nodes)
        {
            if (!sweepA.FoldedNodes.Contains(node))
            {
                continue;
            }

            string output = node.Outputs[0];
            var a = sweepA.Constants[output];
            if (sweepB.Constants.TryGetValue(output, out var b) && a.ContentEquals(b))
            {
                folded.Add(node);
            }
            else
            {
                batchDependent.Add(output);
            }
        }

        foreach (var node in folded)
        {
            graph.Initializers[node.Outputs[0]] = sweepA.Constants[node.Outputs[0]];
        }

        graph.Nodes.RemoveAll(folded.Contains);

        foreach (var node in graph.Nodes)
        {
            if (sweepA.FoldedNodes.Contains(node))
            {
                continue;
            }

            for (int i = 0; i < node.Inputs.Count; i++)
            {
                string input = node.Inputs[i];
                if (!batchDependent.Contains(input))
                {
                    continue;
                }

                if (node.OpType != "Reshape" || i != 1)
                {
                    throw node.Error(
                        $"input '{input}' is computed from the dynamic batch size (through Shape); supported: batch-dependent values only as the shape input of Reshape. Re-export with a fixed batch size or without reading x.size(0)");
                }

                var target = BatchIndependentReshapeTarget(
                    node,
                    sweepA.Shapes[node.Inputs[0]],
                    ShapeMath.ReadInts(node, sweepA.Constants[input], "shape"),
                    sweepB.Shapes[node.Inputs[0]],
                    ShapeMath.ReadInts(node, sweepB.Constants[input], "shape"));
                string name = graph.MakeUniqueName($"{node.Name}_shape");
                graph.Initializers[name] = OnnxTensor.Vector(target);
                node.Inputs[1] = name;
                rewrittenReshapes++;
            }
        }

        foreach (var output in graph.Outputs)
        {
            if (batchDependent.Contains(output.Name))
            {
                throw new ConversionException(
                    $"graph output '{output.Name}' is computed from the dynamic batch size (through Shape); supported: outputs computed from the input data");
            }
        }

        RemoveDeadNodes(graph);
        return folded.Count;
    }

    /// <summary>
    /// Removes Identity, Dropout (inference) and Cast-to-FLOAT nodes on runtime data by wiring
    /// their consumers to their input. Cast of runtime data to any other type is an error.
    /// Returns the number of nodes removed.
    /// </summary>
    public static int RemovePassThroughNodes(OnnxGraph graph)
    {
        int removed = 0;
        foreach (var node in graph.Nodes.ToArray())
        {
            if (node.OpType == "Cast")
            {
                long to = node.GetInt("to");
                if (graph.IsConstant(node.Inputs[0]))
                {
                    continue;
                }

                if (to != (long)OnnxDataType.Float)
                {
                    throw node.Error(
                        $"casts runtime data to {OnnxDataTypes.Name((int)to)}; supported: Cast of runtime data to FLOAT only (other casts must fold to constants)");
                }
            }
            else if (node.OpType is not ("Identity" or "Dropout"))
            {
                continue;
            }

            string input = node.Inputs[0];
            string output = node.Outputs[0];
            if (!graph.IsGraphOutput(output))
            {
                graph.Nodes.Remove(node);
                graph.ReplaceUses(output, input);
                removed++;
                continue;
            }

            var producer = graph.Producer(input);
            if (producer is not null && !graph.IsGraphOutput(input))
            {
                // The pass-through feeds a graph output: let the producer write that name directly.
                producer.Outputs[producer.Outputs.IndexOf(input)] = output;
                graph.Nodes.Remove(node);
                graph.ReplaceUses(input, output);
                removed++;
            }
            else if (node.OpType != "Identity")
            {
                graph.Nodes[graph.Nodes.IndexOf(node)] = new OnnxNode(node.Name, "Identity", [input], [output]);
            }
        }

        return removed;
    }

    /// <summary>Folds BatchNormalization into the preceding Conv, Gemm or MatMul where possible (see <see cref="BatchNormFolding"/>).</summary>
    public static int FoldBatchNormalization(OnnxGraph graph) => BatchNormFolding.Run(graph);

    /// <summary>
    /// Removes nodes whose outputs reach no graph output, then initializers no node reads.
    /// Returns the number of nodes removed.
    /// </summary>
    public static int RemoveDeadNodes(OnnxGraph graph)
    {
        var live = new HashSet<string>(StringComparer.Ordinal);
        foreach (var o in graph.Outputs)
        {
            live.Add(o.Name);
        }

        var keep = new bool[graph.Nodes.Count];
        for (int n = graph.Nodes.Count - 1; n >= 0; n--)
        {
            var node = graph.Nodes[n];
            if (!node.Outputs.Exists(live.Contains))
            {
                continue;
            }

            keep[n] = true;
            foreach (var input in node.Inputs)
            {
                live.Add(input);
            }
        }

        int removed = 0;
        var kept = new List<OnnxNode>(graph.Nodes.Count);
        for (int n = 0; n < graph.Nodes.Count; n++)
        {
            if (keep[n])
            {
                kept.Add(graph.Nodes[n]);
            }
            else
            {
                removed++;
            }
        }

        graph.Nodes.Clear();
        graph.Nodes.AddRange(kept);
        foreach (var name in graph.Initializers.Keys.ToArray())
        {
            if (!live.Contains(name))
            {
                graph.Initializers.Remove(name);
            }
        }

        return removed;
    }

    /// <summary>
    /// Checks that every remaining node is a compute op: constant-subgraph ops (Shape, Gather,
    /// Slice, ...) that did not fold depend on runtime data and are rejected.
    /// </summary>
    public static void ValidateRuntimeNodes(OnnxGraph graph)
    {
        foreach (var node in graph.Nodes)
        {
            if (!OnnxSupport.IsConstantSubgraphOp(node.OpType))
            {
                continue;
            }

            string runtimeInput = node.Inputs.Find(i => i.Length > 0 && !graph.IsConstant(i)) ?? "";
            throw node.Error(
                $"its result depends on runtime data (input '{runtimeInput}'), so it cannot be folded to a constant; {node.OpType} is supported only where it folds (shape and index computations). Ops supported on runtime data: {string.Join(", ", OnnxSupport.ComputeOps)}");
        }
    }

    /// <summary>
    /// A Reshape target that gives the same result as the batch-dependent one at every batch
    /// size: static dims stay, the one dim that follows the batch becomes -1 (or several become
    /// 0 where they copy the input dimension at the same index).
    /// </summary>
    private static long[] BatchIndependentReshapeTarget(OnnxNode node, int[] dataA, long[] targetA, int[] dataB, long[] targetB)
    {
        bool allowZero = node.GetInt("allowzero", 0) != 0;
        var outA = ReshapeOps.ReshapeShape(node, dataA, targetA, allowZero);
        var outB = ReshapeOps.ReshapeShape(node, dataB, targetB, allowZero);
        if (outA.Length != outB.Length)
        {
            throw node.Error("the rank of its output changes with the batch size; supported: a fixed output rank");
        }

        var varying = new List<int>();
        var target = new long[outA.Length];
        for (int i = 0; i < outA.Length; i++)
        {
            target[i] = outA[i];
            if (outA[i] != outB[i])
            {
                varying.Add(i);
            }
        }

        if (varying.Count == 1)
        {
            target[varying[0]] = -1;
        }
        else if (varying.Count > 1)
        {
            int inferred = 0;
            foreach (int i in varying)
            {
                if (!allowZero && i < dataA.Length && i < dataB.Length && dataA[i] == outA[i] && dataB[i] == outB[i])
                {
                    target[i] = 0;
                }
                else
                {
                    target[i] = -1;
                    inferred++;
                }
            }

            if (inferred > 1)
            {
                throw node.Error(
                    $"its target shape depends on the batch size in {inferred} dimensions ([{string.Join(", ", targetA)}] at batch 2); supported: at most one such dimension");
            }
        }

        var checkA = ReshapeOps.ReshapeShape(node, dataA, target, allowZero);
        var checkB = ReshapeOps.ReshapeShape(node, dataB, target, allowZero);
        if (!checkA.AsSpan().SequenceEqual(outA) || !checkB.AsSpan().SequenceEqual(outB))
        {
            throw node.Error($"its batch-dependent target shape [{string.Join(", ", targetA)}] (at batch 2) has no batch-independent equivalent");
        }

        return target;
    }
}
