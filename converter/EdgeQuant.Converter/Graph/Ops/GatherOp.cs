using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Gather: picks slices of data along axis by integer indices (negative indices count from
/// the end). Output shape is data[..axis] + indices.shape + data[axis+1..].
/// </summary>
internal static class GatherOp
{
    public static int[] InferShape(OpContext c)
    {
        var data = c.ShapeOfRank(0, 1, int.MaxValue, "data");
        var indices = c.Shape(1);
        int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", 0), data.Length);
        return [.. data[..axis], .. indices, .. data[(axis + 1)..]];
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var data = c.Tensor(0);
        var indexTensor = c.Tensor(1);
        if (indexTensor.IsFloat)
        {
            throw c.Node.Error($"indices must be integers; got {OnnxDataTypes.Name(indexTensor.DataType)}");
        }

        var outShape = InferShape(c);
        int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", 0), data.Rank);
        int dim = data.Shape[axis];
        var indices = new int[indexTensor.ElementCount];
        for (int i = 0; i < indices.Length; i++)
        {
            long v = indexTensor.Int64Data[i];
            if (v < -dim || v >= dim)
            {
                throw c.Node.Error($"index {v} is out of range for axis {axis} of size {dim}");
            }

            indices[i] = (int)(v < 0 ? v + dim : v);
        }

        int outer = ShapeMath.Product(data.Shape, 0, axis);
        int inner = ShapeMath.Product(data.Shape, axis + 1, data.Rank);
        return data.IsFloat
            ? OnnxTensor.FromData(outShape, Run(data.FloatData, indices, outer, dim, inner), null, data.DataType)
            : OnnxTensor.FromData(outShape, null, Run(data.Int64Data, indices, outer, dim, inner), data.DataType);
    }

    private static T[] Run<T>(T[] data, int[] indices, int outer, int dim, int inner)
    {
        var y = new T[outer * indices.Length * inner];
        int dst = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (int idx in indices)
            {
                Array.Copy(data, ((o * dim) + idx) * inner, y, dst, inner);
                dst += inner;
            }
        }

        return y;
    }
}
