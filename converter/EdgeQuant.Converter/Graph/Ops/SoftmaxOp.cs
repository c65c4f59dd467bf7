using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Softmax. From opset 13 it normalizes along one axis (default -1). Before opset 13 the
/// input is viewed as 2-D [prod(dims[..axis]), prod(dims[axis..])] (default axis 1) and each
/// row is normalized, so several trailing axes are normalized together. LogSoftmax follows the
/// same axis rules: x − max − log(Σ exp(x − max)).
/// </summary>
internal static class SoftmaxOp
{
    public static int[] InferShape(OpContext c)
    {
        Layout(c, out _, out _, out _);
        return c.Shape(0);
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        Layout(c, out int outer, out int dim, out int inner);
        var x = c.FloatTensor(0).FloatData;
        var y = new float[x.Length];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                int start = (o * dim * inner) + i;
                float max = float.NegativeInfinity;
                for (int d = 0; d < dim; d++)
                {
                    max = Math.Max(max, x[start + (d * inner)]);
                }

                double sum = 0;
                for (int d = 0; d < dim; d++)
                {
                    float e = MathF.Exp(x[start + (d * inner)] - max);
                    y[start + (d * inner)] = e;
                    sum += e;
                }

                if (c.Node.OpType == "LogSoftmax")
                {
                    float log = (float)Math.Log(sum);
                    for (int d = 0; d < dim; d++)
                    {
                        y[start + (d * inner)] = x[start + (d * inner)] - max - log;
                    }

                    continue;
                }

                float scale = (float)(1.0 / sum);
                for (int d = 0; d < dim; d++)
                {
                    y[start + (d * inner)] *= scale;
                }
            }
        }

        return OnnxTensor.FromFloats(c.Shape(0), y);
    }

    private static void Layout(OpContext c, out int outer, out int dim, out int inner)
    {
        var shape = c.Shape(0);
        int rank = shape.Length;
        if (c.Opset < 13)
        {
            long axisAttr = c.Node.GetInt("axis", 1);
            int axis = rank == 0 ? 0 : ShapeMath.NormalizeAxis(c.Node, axisAttr, rank);
            outer = ShapeMath.Product(shape, 0, axis);
            dim = ShapeMath.Product(shape, axis, rank);
            inner = 1;
        }
        else
        {
            if (rank == 0)
            {
                throw c.Node.Error("input must have rank at least 1");
            }

            int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", -1), rank);
            outer = ShapeMath.Product(shape, 0, axis);
            dim = shape[axis];
            inner = ShapeMath.Product(shape, axis + 1, rank);
        }
    }
}
