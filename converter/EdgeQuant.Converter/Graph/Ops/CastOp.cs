using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Cast between the supported numeric types. Floating targets are held as float32 (FLOAT16
/// and BFLOAT16 values rounded to what those types hold, see OnnxDataTypes.RoundTo);
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
            var floats = x.IsFloat ? x.FloatData : x.ToFloatArray();
            if (to is OnnxDataType.Float16 or OnnxDataType.BFloat16)
            {
                var rounded = new float[floats.Length];
                for (int i = 0; i < rounded.Length; i++)
                {
                    rounded[i] = OnnxDataTypes.RoundTo(floats[i], to);
                }

                floats = rounded;
            }

            return OnnxTensor.FromData(x.Shape, floats, null, to);
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
