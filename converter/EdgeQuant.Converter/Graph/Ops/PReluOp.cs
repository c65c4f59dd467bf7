using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>ONNX PRelu: y = x where x ≥ 0, slope × x otherwise; slope broadcasts to x (numpy rules, unidirectional).</summary>
internal static class PReluOp
{
    public static int[] InferShape(OpContext c)
    {
        var x = c.Shape(0);
        var s = c.Shape(1);
        var b = ShapeMath.Broadcast(c.Node, x, s);
        if (!ShapeMath.SameShape(b, x)) throw c.Node.Error($"slope {OnnxTensor.FormatShape(s)} does not broadcast to the input {OnnxTensor.FormatShape(x)}");
        return x;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var shape = InferShape(c);
        var x = c.FloatTensor(0).FloatData;
        var s = c.FloatTensor(1).FloatData;
        var strides = ShapeMath.BroadcastStrides(c.Shape(1), shape);
        var y = new float[x.Length];
        var idx = new int[shape.Length];
        for (int i = 0; i < x.Length; i++)
        {
            int si = 0;
            for (int d = 0; d < shape.Length; d++) si += idx[d] * strides[d];
            y[i] = x[i] < 0 ? s[si] * x[i] : x[i];
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (++idx[d] < shape[d]) break;
                idx[d] = 0;
            }
        }

        return OnnxTensor.FromFloats(shape, y);
    }
}
