using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>Element-wise float activations: Relu, LeakyRelu, Sigmoid, Tanh, Clip and the functions of <see cref="UnaryFunctions"/>.</summary>
internal static class ActivationOps
{
    public static int[] InferShape(OpContext c)
    {
        if (c.Node.OpType == "Clip")
        {
            for (int i = 1; i <= 2; i++)
            {
                if (c.Has(i) && OnnxTensor.CountElements(c.Shape(i)) != 1)
                {
                    throw c.Node.Error($"{(i == 1 ? "min" : "max")} must be a scalar; got shape {OnnxTensor.FormatShape(c.Shape(i))}");
                }
            }
        }

        return c.Shape(0);
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var shape = InferShape(c);
        var x = c.FloatTensor(0).FloatData;
        var y = new float[x.Length];
        switch (c.Node.OpType)
        {
            case "Relu":
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = x[i] < 0f ? 0f : x[i];
                }

                break;
            case "LeakyRelu":
                {
                    float alpha = c.Node.GetFloat("alpha", 0.01f);
                    for (int i = 0; i < x.Length; i++)
                    {
                        y[i] = x[i] >= 0f ? x[i] : alpha * x[i];
                    }

                    break;
                }

            case "Sigmoid":
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = (float)(1.0 / (1.0 + Math.Exp(-x[i])));
                }

                break;
            case "Tanh":
                for (int i = 0; i < x.Length; i++)
                {
                    y[i] = MathF.Tanh(x[i]);
                }

                break;
            case "Clip":
                {
                    var (min, max) = ClipBounds(c);
                    for (int i = 0; i < x.Length; i++)
                    {
                        float v = x[i];
                        y[i] = v < min ? min : v > max ? max : v;
                    }

                    break;
                }

            default:
                {
                    var f = UnaryFunctions.Get(c.Node);
                    for (int i = 0; i < x.Length; i++)
                    {
                        y[i] = f(x[i]);
                    }

                    break;
                }
        }

        return OnnxTensor.FromFloats(shape, y);
    }

    /// <summary>Clip bounds: attributes before opset 11, optional scalar inputs from opset 11.</summary>
    public static (float Min, float Max) ClipBounds(OpContext c)
    {
        if (c.Opset < 11)
        {
            return (c.Node.GetFloat("min", float.MinValue), c.Node.GetFloat("max", float.MaxValue));
        }

        float min = c.Has(1) ? (float)ShapeMath.ReadScalar(c.Node, c.Tensor(1), "min") : float.MinValue;
        float max = c.Has(2) ? (float)ShapeMath.ReadScalar(c.Node, c.Tensor(2), "max") : float.MaxValue;
        return (min, max);
    }
}
