using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>ONNX Concat: joins inputs of equal rank along one axis; other dimensions must match.</summary>
internal static class ConcatOp
{
    public static int[] InferShape(OpContext c)
    {
        var first = c.Shape(0);
        if (first.Length == 0)
        {
            throw c.Node.Error("cannot concatenate scalars (rank 0)");
        }

        int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis"), first.Length);
        var result = (int[])first.Clone();
        for (int i = 1; i < c.Shapes.Length; i++)
        {
            if (!c.Has(i))
            {
                continue;
            }

            var s = c.Shape(i);
            bool ok = s.Length == first.Length;
            for (int d = 0; ok && d < s.Length; d++)
            {
                ok = d == axis || s[d] == first[d];
            }

            if (!ok)
            {
                throw c.Node.Error($"input shapes {OnnxTensor.FormatShape(first)} and {OnnxTensor.FormatShape(s)} differ outside axis {axis}");
            }

            result[axis] = checked(result[axis] + s[axis]);
        }

        return result;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var outShape = InferShape(c);
        int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis"), outShape.Length);
        var inputs = new List<OnnxTensor>();
        for (int i = 0; i < c.Shapes.Length; i++)
        {
            if (c.Has(i))
            {
                inputs.Add(c.Tensor(i));
            }
        }

        bool isFloat = inputs[0].IsFloat;
        foreach (var t in inputs)
        {
            if (t.IsFloat != isFloat)
            {
                throw c.Node.Error("inputs mix floating and integer types");
            }
        }

        int outer = ShapeMath.Product(outShape, 0, axis);
        int inner = ShapeMath.Product(outShape, axis + 1, outShape.Length);
        return isFloat
            ? OnnxTensor.FromData(outShape, Run(inputs, t => t.FloatData, outShape, axis, outer, inner), null, inputs[0].DataType)
            : OnnxTensor.FromData(outShape, null, Run(inputs, t => t.Int64Data, outShape, axis, outer, inner), inputs[0].DataType);
    }

    private static T[] Run<T>(List<OnnxTensor> inputs, Func<OnnxTensor, T[]> data, int[] outShape, int axis, int outer, int inner)
    {
        var y = new T[OnnxTensor.CountElements(outShape)];
        int outRow = outShape[axis] * inner;
        int offset = 0;
        foreach (var t in inputs)
        {
            var src = data(t);
            int block = t.Shape[axis] * inner;
            for (int o = 0; o < outer; o++)
            {
                Array.Copy(src, o * block, y, (o * outRow) + offset, block);
            }

            offset += block;
        }

        return y;
    }
}
