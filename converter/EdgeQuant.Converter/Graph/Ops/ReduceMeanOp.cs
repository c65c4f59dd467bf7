using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX ReduceMean: the mean over <c>axes</c> (an attribute before opset 18, an optional constant
/// input from 18; all axes when absent), keeping reduced axes as 1 when <c>keepdims</c> (default 1).
/// Exporters emit it for global average pooling (PyTorch <c>x.mean((2, 3))</c>, TensorFlow's
/// GlobalAveragePooling2D over NHWC axes 1 and 2). ReduceSum and ReduceMax share the axes rules
/// (ReduceSum takes axes as an input from opset 13, the others from 18) and differ only in the reduction.
/// </summary>
internal static class ReduceMeanOp
{
    public static int[] InferShape(OpContext c)
    {
        var shape = c.Shape(0);
        var reduced = Axes(c, shape.Length);
        bool keep = c.Node.GetInt("keepdims", 1) != 0;
        var result = new List<int>();
        for (int d = 0; d < shape.Length; d++)
        {
            if (!reduced[d]) result.Add(shape[d]);
            else if (keep) result.Add(1);
        }
        return result.ToArray();
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var shape = c.Shape(0);
        var x = c.FloatTensor(0).FloatData;
        var reduced = Axes(c, shape.Length);
        var outShape = InferShape(c);
        var keptShape = new int[shape.Length];
        for (int d = 0; d < shape.Length; d++) keptShape[d] = reduced[d] ? 1 : shape[d];
        var keptStrides = ShapeMath.Strides(keptShape);
        int outCount = OnnxTensor.CountElements(outShape);
        bool max = c.Node.OpType == "ReduceMax";
        var sum = new double[outCount];
        if (max) Array.Fill(sum, double.NegativeInfinity);
        int count = 1;
        for (int d = 0; d < shape.Length; d++) if (reduced[d]) count *= shape[d];
        var idx = new int[shape.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int o = 0;
            for (int d = 0; d < shape.Length; d++) if (!reduced[d]) o += idx[d] * keptStrides[d];
            if (!max) sum[o] += x[i];
            else if (x[i] > sum[o] || float.IsNaN(x[i])) sum[o] = x[i];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }
        var y = new float[outCount];
        for (int i = 0; i < outCount; i++) y[i] = (float)(c.Node.OpType == "ReduceMean" ? sum[i] / count : sum[i]);
        return OnnxTensor.FromFloats(outShape, y);
    }

    /// <summary>The opset from which the op takes its axes as an input rather than an attribute.</summary>
    public static int AxesInputOpset(string opType) => opType == "ReduceSum" ? 13 : 18;

    /// <summary>Which axes are reduced.</summary>
    public static bool[] Axes(OpContext c, int rank)
    {
        long[]? axes = c.Opset >= AxesInputOpset(c.Node.OpType)
            ? (c.Has(1) ? c.Constant(1, "axes").Int64s ?? throw c.Node.Error("axes must be int64") : null)
            : c.Node.GetIntsOrNull("axes");
        var reduced = new bool[rank];
        if (axes is null || axes.Length == 0)
        {
            if (c.Node.GetInt("noop_with_empty_axes", 0) != 0) return reduced;
            Array.Fill(reduced, true);
            return reduced;
        }
        foreach (long a in axes)
        {
            int axis = ShapeMath.NormalizeAxis(c.Node, a, rank, "axes");
            if (reduced[axis]) throw c.Node.Error($"axis {a} appears twice in axes");
            reduced[axis] = true;
        }
        return reduced;
    }
}
