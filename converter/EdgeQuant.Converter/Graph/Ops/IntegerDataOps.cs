using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Clip and MaxPool on integer tensors (ONNX allows int8, uint8 and wider integer types for
/// them) in the float executor: both only compare and select values, so running the float
/// implementation on the values converted to float32 and converting back is exact while every
/// value fits float32's 24-bit significand. The result keeps the input's integer type.
/// </summary>
internal static class IntegerDataOps
{
    private const long ExactLimit = 1L << 24;

    /// <summary>True for Clip or MaxPool whose data input has an integer value.</summary>
    public static bool Handles(OpContext c) =>
        c.Node.OpType is "Clip" or "MaxPool" && c.Value(0) is { IsFloat: false };

    public static OnnxTensor Evaluate(OpContext c)
    {
        var values = new OnnxTensor?[c.Values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = c.Values[i] is { IsFloat: false } t ? ToFloat(c.Node, t) : c.Values[i];
        }

        var floatContext = new OpContext(c.Node, c.Opset, c.Shapes, values);
        var result = c.Node.OpType == "Clip" ? ActivationOps.Evaluate(floatContext) : PoolOps.EvaluateMaxPool(floatContext);
        var ints = new long[result.ElementCount];
        for (int i = 0; i < ints.Length; i++)
        {
            ints[i] = (long)result.FloatData[i];
        }

        return OnnxTensor.FromInt64s(result.Shape, ints, c.Value(0)!.DataType);
    }

    private static OnnxTensor ToFloat(OnnxNode node, OnnxTensor t)
    {
        var data = new float[t.ElementCount];
        for (int i = 0; i < data.Length; i++)
        {
            long v = t.Int64Data[i];
            if (v <= -ExactLimit || v >= ExactLimit)
            {
                throw node.Error($"integer value {v} is too large to compute exactly; supported: integer data of magnitude below 2^24");
            }

            data[i] = v;
        }

        return OnnxTensor.FromFloats(t.Shape, data);
    }
}
