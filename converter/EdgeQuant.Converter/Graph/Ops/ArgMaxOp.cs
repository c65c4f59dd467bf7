using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX ArgMax: the int64 index of the largest value along <c>axis</c> (default 0), keeping the
/// axis as 1 when <c>keepdims</c> (default 1); of equal largest values the first, or the last when
/// <c>select_last_index</c> (opset 12) is 1. A NaN counts as larger than every number (as numpy's argmax).
/// </summary>
internal static class ArgMaxOp
{
    public static int[] InferShape(OpContext c)
    {
        var x = c.ShapeOfRank(0, 1, int.MaxValue, "data");
        int axis = Axis(c, x.Length);
        bool keep = c.Node.GetInt("keepdims", 1) != 0;
        var result = new List<int>(x.Length);
        for (int d = 0; d < x.Length; d++)
        {
            if (d != axis) result.Add(x[d]);
            else if (keep) result.Add(1);
        }

        return result.ToArray();
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var t = c.Tensor(0);
        var shape = t.Shape;
        int axis = Axis(c, shape.Length);
        bool last = c.Node.GetInt("select_last_index", 0) != 0;
        int outer = 1, inner = 1, n = shape[axis];
        for (int d = 0; d < axis; d++) outer *= shape[d];
        for (int d = axis + 1; d < shape.Length; d++) inner *= shape[d];
        if (n < 1) throw c.Node.Error($"axis {axis} of the input {OnnxTensor.FormatShape(shape)} is empty; ArgMax needs at least one value");
        var y = new long[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int baseIndex = (o * n * inner) + i;
                int best = 0;
                double bestValue = t.GetAsDouble(baseIndex);
                for (int k = 1; k < n && !double.IsNaN(bestValue); k++)
                {
                    double v = t.GetAsDouble(baseIndex + (k * inner));
                    if (double.IsNaN(v) || v > bestValue || (last && v == bestValue))
                    {
                        best = k;
                        bestValue = v;
                    }
                }

                y[(o * inner) + i] = best;
            }
        }

        return OnnxTensor.FromInt64s(InferShape(c), y);
    }

    /// <summary>The reduced axis, normalized to [0, rank).</summary>
    public static int Axis(OpContext c, int rank) => ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", 0), rank, "axis");
}
