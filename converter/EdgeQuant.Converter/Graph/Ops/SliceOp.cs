using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Slice: starts, ends, axes and steps are attributes before opset 10 and (constant)
/// inputs from opset 10. Negative starts/ends count from the end; values are clamped as the
/// spec says ([0, dim] for positive steps, [-1, dim - 1] for negative ones).
/// </summary>
internal static class SliceOp
{
    public static int[] InferShape(OpContext c) => Prepare(c).OutShape;

    public static OnnxTensor Evaluate(OpContext c)
    {
        var (outShape, starts, steps) = Prepare(c);
        var t = c.Tensor(0);
        return t.IsFloat
            ? OnnxTensor.FromData(outShape, Run(t.FloatData, t.Shape, outShape, starts, steps), null, t.DataType)
            : OnnxTensor.FromData(outShape, null, Run(t.Int64Data, t.Shape, outShape, starts, steps), t.DataType);
    }

    private static T[] Run<T>(T[] x, int[] shape, int[] outShape, int[] starts, int[] steps)
    {
        var y = new T[OnnxTensor.CountElements(outShape)];
        if (y.Length == 0)
        {
            return y;
        }

        int rank = shape.Length;
        if (rank == 0)
        {
            y[0] = x[0];
            return y;
        }

        var strides = ShapeMath.Strides(shape);
        var index = new int[rank];
        int inner = outShape[rank - 1];
        int outer = y.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int src = starts[rank - 1];
            for (int d = 0; d < rank - 1; d++)
            {
                src += (starts[d] + (index[d] * steps[d])) * strides[d];
            }

            for (int j = 0; j < inner; j++)
            {
                y[(o * inner) + j] = x[src + (j * steps[rank - 1])];
            }

            for (int d = rank - 2; d >= 0; d--)
            {
                if (++index[d] < outShape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return y;
    }

    internal static (int[] OutShape, int[] Starts, int[] Steps) Prepare(OpContext c)
    {
        var node = c.Node;
        var x = c.Shape(0);
        int rank = x.Length;
        long[] starts, ends;
        long[]? axes, steps = null;
        if (c.Opset < 10)
        {
            starts = node.GetInts("starts");
            ends = node.GetInts("ends");
            axes = node.GetIntsOrNull("axes");
        }
        else
        {
            starts = ShapeMath.ReadInts(node, c.Constant(1, "starts"), "starts");
            ends = ShapeMath.ReadInts(node, c.Constant(2, "ends"), "ends");
            axes = c.Has(3) ? ShapeMath.ReadInts(node, c.Constant(3, "axes"), "axes") : null;
            steps = c.Has(4) ? ShapeMath.ReadInts(node, c.Constant(4, "steps"), "steps") : null;
        }

        if (ends.Length != starts.Length || (axes is not null && axes.Length != starts.Length) || (steps is not null && steps.Length != starts.Length))
        {
            throw node.Error("starts, ends, axes and steps must have the same length");
        }

        var outShape = (int[])x.Clone();
        var begin = new int[rank];
        var stride = new int[rank];
        Array.Fill(stride, 1);
        var seen = new bool[rank];
        for (int i = 0; i < starts.Length; i++)
        {
            int axis = axes is null ? i : ShapeMath.NormalizeAxis(node, axes[i], rank, "axes value");
            if (axis >= rank || seen[axis])
            {
                throw node.Error($"axis {axis} is out of range or repeated");
            }

            seen[axis] = true;
            long step = steps is null ? 1 : steps[i];
            if (step == 0 || step > int.MaxValue || step < -int.MaxValue)
            {
                throw node.Error($"step {step} is not valid");
            }

            long dim = x[axis];
            long s = starts[i], e = ends[i];
            if (s < 0)
            {
                s += dim;
            }

            if (e < 0)
            {
                e += dim;
            }

            long count;
            if (step > 0)
            {
                s = Math.Clamp(s, 0, dim);
                e = Math.Clamp(e, 0, dim);
                count = e > s ? (e - s + step - 1) / step : 0;
            }
            else
            {
                s = Math.Clamp(s, 0, dim - 1);
                e = Math.Clamp(e, -1, dim - 1);
                count = s > e ? (s - e + (-step) - 1) / (-step) : 0;
            }

            outShape[axis] = (int)count;
            begin[axis] = (int)Math.Max(s, 0);
            stride[axis] = (int)step;
        }

        return (outShape, begin, stride);
    }
}
