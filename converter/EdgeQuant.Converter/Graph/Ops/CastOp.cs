using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Cast between the supported numeric types. Floating targets are held as float32;
/// float to integer truncates toward zero (NaN becomes 0) and then wraps to the target width;
/// BOOL becomes 0 or 1.
/// </summary>
internal static class CastOp
{
    public static int[] InferShape(OpContext c) => c.Shape(0);

    public static OnnxTensor Evaluate(OpContext c)
    {
        var x = c.Tensor(0);
        var to = (OnnxDataType)c.Node.GetInt("to");
        if (OnnxDataTypes.IsFloating(to))
        {
            return OnnxTensor.FromData(x.Shape, x.IsFloat ? x.FloatData : x.ToFloatArray(), null, to);
        }

        var result = new long[x.ElementCount];
        for (int i = 0; i < result.Length; i++)
        {
            long v;
            if (x.IsFloat)
            {
                float f = x.FloatData[i];
                v = to == OnnxDataType.Bool ? (f != 0f ? 1 : 0) : float.IsNaN(f) ? 0 : (long)f;
            }
            else
            {
                v = x.Int64Data[i];
            }

            result[i] = OnnxDataTypes.WrapInteger(v, to);
        }

        return OnnxTensor.FromInt64s(x.Shape, result, to);
    }
}
