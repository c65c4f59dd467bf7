using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX BatchNormalization in inference mode over [N, C, ...]:
/// Y = (X - mean) / sqrt(var + epsilon) * scale + B, with scale, B, mean and var of shape [C].
/// </summary>
internal static class BatchNormOp
{
    public const float DefaultEpsilon = 1e-5f;

    public static int[] InferShape(OpContext c)
    {
        var x = c.ShapeOfRank(0, 2, int.MaxValue, "X");
        string[] roles = ["scale", "B", "mean", "var"];
        for (int i = 1; i <= 4; i++)
        {
            var s = c.Shape(i);
            if (s.Length != 1 || s[0] != x[1])
            {
                throw c.Node.Error($"{roles[i - 1]} has shape {OnnxTensor.FormatShape(s)}; expected [{x[1]}] (the channel count of X {OnnxTensor.FormatShape(x)})");
            }
        }

        return x;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var shape = InferShape(c);
        var x = c.FloatTensor(0).FloatData;
        var (scale, shift) = Fold(
            c.FloatTensor(1).FloatData,
            c.FloatTensor(2).FloatData,
            c.FloatTensor(3).FloatData,
            c.FloatTensor(4).FloatData,
            c.Node.GetFloat("epsilon", DefaultEpsilon));
        int channels = shape[1];
        int plane = ShapeMath.Product(shape, 2, shape.Length);
        var y = new float[x.Length];
        for (int n = 0; n < shape[0]; n++)
        {
            for (int ch = 0; ch < channels; ch++)
            {
                int start = ((n * channels) + ch) * plane;
                float s = scale[ch], t = shift[ch];
                for (int i = start; i < start + plane; i++)
                {
                    y[i] = (x[i] * s) + t;
                }
            }
        }

        return OnnxTensor.FromFloats(shape, y);
    }

    /// <summary>
    /// Per-channel affine form of the normalization: Y = X * scale' + shift', where
    /// scale' = scale / sqrt(var + epsilon) and shift' = B - mean * scale'.
    /// </summary>
    public static (float[] Scale, float[] Shift) Fold(float[] scale, float[] bias, float[] mean, float[] variance, float epsilon)
    {
        var s = new float[scale.Length];
        var t = new float[scale.Length];
        for (int i = 0; i < s.Length; i++)
        {
            s[i] = scale[i] / MathF.Sqrt(variance[i] + epsilon);
            t[i] = bias[i] - (mean[i] * s[i]);
        }

        return (s, t);
    }
}
