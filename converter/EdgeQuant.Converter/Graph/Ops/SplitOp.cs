using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Split: parts of the input along <c>axis</c> (default 0), sized by <c>split</c> (an
/// attribute before opset 13, an input from 13), else equal parts (opset 18 <c>num_outputs</c>:
/// ceil(dim / n) each, the last one smaller). The importer turns a node with k outputs into k
/// single-output Split nodes (<see cref="Expand"/>), each marked with the index of its part, so
/// every later stage sees single-output nodes.
/// </summary>
internal static class SplitOp
{
    /// <summary>Attribute naming the part a single-output Split node computes.</summary>
    public const string PartAttribute = "edgequant_part";

    /// <summary>Attribute holding the original number of outputs.</summary>
    public const string CountAttribute = "edgequant_parts";

    /// <summary>One node per (present) output, in output order.</summary>
    public static IEnumerable<OnnxNode> Expand(OnnxNode node)
    {
        int count = node.Outputs.Count;
        for (int k = 0; k < count; k++)
        {
            if (node.Outputs[k].Length == 0) continue;
            var attributes = node.Attributes.Values.Where(a => a.Name is not (PartAttribute or CountAttribute)).ToList();
            attributes.Add(OnnxAttribute.FromInt(PartAttribute, k));
            attributes.Add(OnnxAttribute.FromInt(CountAttribute, count));
            yield return new OnnxNode(count == 1 ? node.Name : $"{node.Name}:{k}", node.OpType, node.Inputs, [node.Outputs[k]], attributes);
        }
    }

    public static int[] InferShape(OpContext c)
    {
        var (axis, start, length) = Part(c);
        var shape = (int[])c.Shape(0).Clone();
        shape[axis] = length;
        _ = start;
        return shape;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var (axis, start, length) = Part(c);
        var t = c.FloatTensor(0);
        var maps = new int[t.Rank][];
        for (int d = 0; d < t.Rank; d++)
        {
            int n = d == axis ? length : t.Shape[d], off = d == axis ? start : 0;
            maps[d] = new int[n];
            for (int i = 0; i < n; i++) maps[d][i] = off + i;
        }

        return OnnxTensor.FromFloats(maps.Select(m => m.Length).ToArray(), PadOp.Gather(t.FloatData, t.Shape, maps));
    }

    /// <summary>Axis, first index and length of the part this node computes.</summary>
    public static (int Axis, int Start, int Length) Part(OpContext c)
    {
        var node = c.Node;
        var x = c.ShapeOfRank(0, 1, int.MaxValue, "input");
        int axis = ShapeMath.NormalizeAxis(node, node.GetInt("axis", 0), x.Length);
        int part = (int)node.GetInt(PartAttribute, 0);
        int count = (int)node.GetInt(CountAttribute, 1);
        int dim = x[axis];
        long[]? split = c.Opset < 13 ? node.GetIntsOrNull("split") : c.Has(1) ? ShapeMath.ReadInts(node, c.Constant(1, "split"), "split") : null;
        var sizes = new int[count];
        if (split is not null)
        {
            if (split.Length != count) throw node.Error($"split has {split.Length} values for {count} outputs");
            if (split.Any(s => s < 0) || split.Sum() != dim) throw node.Error($"split [{string.Join(", ", split)}] does not add up to dimension {dim} of axis {axis}");
            for (int k = 0; k < count; k++) sizes[k] = (int)split[k];
        }
        else if (node.HasAttribute("num_outputs"))
        {
            int n = (int)node.GetInt("num_outputs");
            if (n != count) throw node.Error($"num_outputs={n} but the node has {count} outputs");
            int each = (dim + n - 1) / n;
            for (int k = 0; k < count; k++) sizes[k] = Math.Max(0, Math.Min(each, dim - (k * each)));
        }
        else
        {
            if (dim % count != 0) throw node.Error($"dimension {dim} of axis {axis} does not split into {count} equal parts");
            Array.Fill(sizes, dim / count);
        }

        int start = 0;
        for (int k = 0; k < part; k++) start += sizes[k];
        if (sizes[part] < 1) throw node.Error($"output {part} would be empty");
        return (axis, start, sizes[part]);
    }
}
