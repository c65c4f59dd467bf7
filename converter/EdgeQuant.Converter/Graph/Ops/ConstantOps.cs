using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>Ops that create values from attributes or shapes: Constant, ConstantOfShape, Range and Shape.</summary>
internal static class ConstantOps
{
    /// <summary>Limit on tensors made from shape data, so a corrupt model cannot exhaust memory.</summary>
    private const int MaxGeneratedElements = 100_000_000;

    public static int[] InferShape(OpContext c) => c.Node.OpType switch
    {
        "Constant" => ConstantValue(c.Node).Shape,
        "ConstantOfShape" => ConstantOfShapeShape(c),
        "Range" => [RangeCount(c)],
        _ => [ShapeRange(c.Node, c.Shape(0).Length).Count],
    };

    public static OnnxTensor Evaluate(OpContext c)
    {
        switch (c.Node.OpType)
        {
            case "Constant":
                return ConstantValue(c.Node);
            case "ConstantOfShape":
                {
                    var shape = ConstantOfShapeShape(c);
                    var value = c.Node.GetTensorOrNull("value");
                    int n = OnnxTensor.CountElements(shape);
                    if (value is null || value.IsFloat)
                    {
                        var data = new float[n];
                        Array.Fill(data, value is null ? 0f : value.FloatData[0]);
                        return OnnxTensor.FromData(shape, data, null, value?.DataType ?? OnnxDataType.Float);
                    }

                    var ints = new long[n];
                    Array.Fill(ints, value.Int64Data[0]);
                    return OnnxTensor.FromInt64s(shape, ints, value.DataType);
                }

            case "Range":
                {
                    int count = RangeCount(c);
                    var start = c.Tensor(0);
                    var delta = c.Tensor(2);
                    if (start.IsFloat)
                    {
                        var data = new float[count];
                        float s = start.FloatData[0], d = delta.FloatData[0];
                        for (int i = 0; i < count; i++)
                        {
                            data[i] = s + (i * d);
                        }

                        return OnnxTensor.FromData([count], data, null, start.DataType);
                    }

                    var ints = new long[count];
                    long si = start.Int64Data[0], di = delta.Int64Data[0];
                    for (int i = 0; i < count; i++)
                    {
                        ints[i] = si + (i * di);
                    }

                    return OnnxTensor.FromInt64s([count], ints, start.DataType);
                }

            default:
                {
                    var shape = c.Shape(0);
                    var (first, count) = ShapeRange(c.Node, shape.Length);
                    var dims = new long[count];
                    for (int i = 0; i < count; i++)
                    {
                        dims[i] = shape[first + i];
                    }

                    return OnnxTensor.FromInt64s([dims.Length], dims);
                }
        }
    }

    /// <summary>The value of a Constant node, from whichever value attribute it has.</summary>
    public static OnnxTensor ConstantValue(OnnxNode node)
    {
        if (node.HasAttribute("value"))
        {
            return node.GetTensor("value");
        }

        if (node.HasAttribute("value_float"))
        {
            return OnnxTensor.Scalar(node.GetFloat("value_float"));
        }

        if (node.HasAttribute("value_floats"))
        {
            return OnnxTensor.Vector(node.GetFloats("value_floats"));
        }

        if (node.HasAttribute("value_int"))
        {
            return OnnxTensor.Scalar(node.GetInt("value_int"));
        }

        if (node.HasAttribute("value_ints"))
        {
            return OnnxTensor.Vector(node.GetInts("value_ints"));
        }

        throw node.Error("has no supported value attribute");
    }

    private static int[] ConstantOfShapeShape(OpContext c)
    {
        var dims = ShapeMath.ReadInts(c.Node, c.Constant(0, "shape"), "shape");
        var shape = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            shape[i] = ShapeMath.ToDim(c.Node, dims[i], "a dimension of the output");
        }

        if (OnnxTensor.CountElements(shape) > MaxGeneratedElements)
        {
            throw c.Node.Error($"would create {OnnxTensor.FormatShape(shape)}, more than {MaxGeneratedElements} elements");
        }

        return shape;
    }

    private static int RangeCount(OpContext c)
    {
        var start = c.Constant(0, "start");
        var limit = c.Constant(1, "limit");
        var delta = c.Constant(2, "delta");
        if (start.IsFloat != limit.IsFloat || start.IsFloat != delta.IsFloat)
        {
            throw c.Node.Error("start, limit and delta must have the same type");
        }

        double s = ShapeMath.ReadScalar(c.Node, start, "start");
        double l = ShapeMath.ReadScalar(c.Node, limit, "limit");
        double d = ShapeMath.ReadScalar(c.Node, delta, "delta");
        if (d == 0)
        {
            throw c.Node.Error("delta is 0");
        }

        double count = start.IsFloat
            ? Math.Ceiling((l - s) / d)
            : Math.Ceiling((double)(limit.Int64Data[0] - start.Int64Data[0]) / delta.Int64Data[0]);
        if (count > MaxGeneratedElements)
        {
            throw c.Node.Error($"would produce {count} values");
        }

        return (int)Math.Max(count, 0);
    }

    /// <summary>The dims Shape returns: [start, end) after opset-15 clamping (all dims before opset 15).</summary>
    private static (int Start, int Count) ShapeRange(OnnxNode node, int rank)
    {
        long start = node.GetInt("start", 0);
        long end = node.GetInt("end", rank);
        if (start < 0)
        {
            start += rank;
        }

        if (end < 0)
        {
            end += rank;
        }

        start = Math.Clamp(start, 0, rank);
        end = Math.Clamp(end, 0, rank);
        return ((int)start, (int)Math.Max(0, end - start));
    }
}
