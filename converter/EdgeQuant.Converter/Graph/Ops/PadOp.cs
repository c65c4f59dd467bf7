using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Pad in constant mode. Pads are [x1_begin, x2_begin, ..., x1_end, x2_end, ...]: an
/// attribute before opset 11, a constant input from opset 11 (with optional constant_value and,
/// from opset 18, axes inputs). Negative pads crop.
/// </summary>
internal static class PadOp
{
    public static int[] InferShape(OpContext c) => Prepare(c, out _, out _);

    public static OnnxTensor Evaluate(OpContext c)
    {
        var outShape = Prepare(c, out var begins, out double value);
        var t = c.Tensor(0);
        string mode = c.Node.GetString("mode", "constant");
        if (mode != "constant")
        {
            var maps = new int[t.Rank][];
            for (int d = 0; d < t.Rank; d++) maps[d] = SourceMap(c.Node, t.Shape[d], begins[d], outShape[d], mode);
            return t.IsFloat
                ? OnnxTensor.FromData(outShape, Gather(t.FloatData, t.Shape, maps), null, t.DataType)
                : OnnxTensor.FromData(outShape, null, Gather(t.Int64Data, t.Shape, maps), t.DataType);
        }

        return t.IsFloat
            ? OnnxTensor.FromData(outShape, Run(t.FloatData, t.Shape, outShape, begins, (float)value), null, t.DataType)
            : OnnxTensor.FromData(outShape, null, Run(t.Int64Data, t.Shape, outShape, begins, (long)value), t.DataType);
    }

    /// <summary>
    /// For mode 'reflect' or 'edge': the input index each output index of one axis reads
    /// (reflect mirrors about the border elements without repeating them, edge repeats them).
    /// </summary>
    public static int[] SourceMap(OnnxNode node, int inSize, int before, int outSize, string mode)
    {
        if (mode is not ("reflect" or "edge")) throw node.Error($"attribute mode='{mode}' is not supported; supported: constant, reflect, edge");
        if (mode == "reflect" && inSize == 1 && outSize != 1) throw node.Error("reflect padding of an axis of size 1 is not defined");
        var map = new int[outSize];
        for (int o = 0; o < outSize; o++)
        {
            int i = o - before;
            if (mode == "edge" || inSize == 1) i = Math.Clamp(i, 0, inSize - 1);
            else
            {
                int period = 2 * (inSize - 1);
                i = ((i % period) + period) % period;
                if (i >= inSize) i = period - i;
            }

            map[o] = i;
        }

        return map;
    }

    /// <summary>y[i0, i1, ..] = x[map0[i0], map1[i1], ..] (C order).</summary>
    public static T[] Gather<T>(T[] x, int[] shape, int[][] maps)
    {
        int rank = shape.Length;
        var outShape = maps.Select(m => m.Length).ToArray();
        var y = new T[OnnxTensor.CountElements(outShape)];
        var strides = ShapeMath.Strides(shape);
        var idx = new int[rank];
        for (int o = 0; o < y.Length; o++)
        {
            int src = 0;
            for (int d = 0; d < rank; d++) src += maps[d][idx[d]] * strides[d];
            y[o] = x[src];
            for (int d = rank - 1; d >= 0; d--)
            {
                if (++idx[d] < outShape[d]) break;
                idx[d] = 0;
            }
        }

        return y;
    }

    private static T[] Run<T>(T[] x, int[] shape, int[] outShape, int[] begins, T value)
    {
        var y = new T[OnnxTensor.CountElements(outShape)];
        Array.Fill(y, value);
        int rank = shape.Length;
        if (y.Length == 0 || x.Length == 0)
        {
            return y;
        }

        if (rank == 0)
        {
            y[0] = x[0];
            return y;
        }

        var inStrides = ShapeMath.Strides(shape);
        int inner = outShape[rank - 1];
        int first = Math.Max(0, begins[rank - 1]);
        int end = Math.Min(inner, begins[rank - 1] + shape[rank - 1]);
        var index = new int[rank];
        int outer = y.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int src = 0;
            bool inside = true;
            for (int d = 0; d < rank - 1; d++)
            {
                int i = index[d] - begins[d];
                if ((uint)i >= (uint)shape[d])
                {
                    inside = false;
                    break;
                }

                src += i * inStrides[d];
            }

            if (inside && end > first)
            {
                Array.Copy(x, src + first - begins[rank - 1], y, (o * inner) + first, end - first);
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

    internal static int[] Prepare(OpContext c, out int[] begins, out double value)
    {
        var node = c.Node;
        var x = c.Shape(0);
        int rank = x.Length;
        long[] pads;
        long[]? axes = null;
        if (c.Opset < 11)
        {
            pads = node.GetInts("pads");
            value = node.GetFloat("value", 0f);
        }
        else
        {
            pads = ShapeMath.ReadInts(node, c.Constant(1, "pads"), "pads");
            value = c.Has(2) ? ShapeMath.ReadScalar(node, c.Constant(2, "constant_value"), "constant_value") : 0.0;
            if (c.Has(3))
            {
                axes = ShapeMath.ReadInts(node, c.Constant(3, "axes"), "axes");
            }
        }

        int count = axes?.Length ?? rank;
        if (pads.Length != 2 * count)
        {
            throw node.Error($"pads has {pads.Length} values; expected {2 * count} (begin and end for each of {count} axes)");
        }

        begins = new int[rank];
        var ends = new int[rank];
        for (int i = 0; i < count; i++)
        {
            int axis = axes is null ? i : ShapeMath.NormalizeAxis(node, axes[i], rank, "axes value");
            if (Math.Abs(pads[i]) > int.MaxValue / 4 || Math.Abs(pads[i + count]) > int.MaxValue / 4)
            {
                throw node.Error($"pads [{string.Join(", ", pads)}] are too large");
            }

            begins[axis] = (int)pads[i];
            ends[axis] = (int)pads[i + count];
        }

        var outShape = new int[rank];
        for (int d = 0; d < rank; d++)
        {
            long size = (long)x[d] + begins[d] + ends[d];
            if (size < 0)
            {
                throw node.Error($"pads [{string.Join(", ", pads)}] crop axis {d} of {OnnxTensor.FormatShape(x)} below zero");
            }

            outShape[d] = (int)size;
        }

        return outShape;
    }
}
