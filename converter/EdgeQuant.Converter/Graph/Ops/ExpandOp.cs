using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Expand (opset 8+): the input broadcast against the shape tensor, multidirectionally (numpy rules: a target
/// dimension of 1 keeps the input's, so the output may be larger than the shape asks but never smaller). Supported
/// where it folds to a constant: exporters emit it for the zero initial states of LSTM/GRU (torch at a fixed batch
/// size expands a [2, 1, H] zero tensor to [2, N, H]) and for index arithmetic.
/// </summary>
internal static class ExpandOp
{
    /// <summary>Limit on the elements an Expand may create, so a corrupt shape tensor cannot exhaust memory.</summary>
    private const int MaxElements = 100_000_000;

    public static int[] InferShape(OpContext c)
    {
        var dims = ShapeMath.ReadInts(c.Node, c.Constant(1, "shape"), "shape");
        var target = new int[dims.Length];
        for (int i = 0; i < dims.Length; i++)
        {
            target[i] = ShapeMath.ToDim(c.Node, dims[i], "a dimension of 'shape'");
        }

        var shape = ShapeMath.Broadcast(c.Node, c.Shape(0), target);
        long count = 1;
        foreach (int d in shape)
        {
            count *= d;
            if (count > MaxElements)
            {
                throw c.Node.Error($"would create {OnnxTensor.FormatShape(shape)}, more than {MaxElements} elements");
            }
        }

        return shape;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var x = c.Tensor(0);
        var shape = InferShape(c);
        var index = ShapeMath.BroadcastSourceIndex(x.Shape, shape);
        if (x.IsFloat)
        {
            var data = new float[index.Length];
            for (int i = 0; i < data.Length; i++)
            {
                data[i] = x.Floats![index[i]];
            }

            return OnnxTensor.FromData(shape, data, null, x.DataType);
        }

        var ints = new long[index.Length];
        for (int i = 0; i < ints.Length; i++)
        {
            ints[i] = x.Int64s![index[i]];
        }

        return OnnxTensor.FromInt64s(shape, ints, x.DataType);
    }
}
