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
        var slope = ShapeMath.BroadcastSourceIndex(c.Shape(1), shape);
        var y = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            y[i] = x[i] < 0 ? s[slope[i]] * x[i] : x[i];
        }

        return OnnxTensor.FromFloats(shape, y);
    }
}
