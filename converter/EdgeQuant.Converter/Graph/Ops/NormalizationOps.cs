using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX LayerNormalization (opset 17: normalizes over the axes from <c>axis</c>, default −1, to the
/// last; Scale and optional B broadcast over those axes) and InstanceNormalization (per sample
/// and channel over the spatial axes of [N, C, ...]; scale and B are [C]). y = (x − mean) /
/// sqrt(variance + epsilon) × scale + B with the biased variance, computed in double. A
/// LayerNormalization asking for its Mean and InvStdDev outputs is split by the importer into one
/// node per output (as Split is); only Y lowers to int8.
/// </summary>
internal static class NormalizationOps
{
    /// <summary>Which output of LayerNormalization a (split, single-output) node computes: 0 Y, 1 Mean, 2 InvStdDev.</summary>
    public static int Part(OpContext c) => (int)c.Node.GetInt(SplitOp.PartAttribute, 0);

    public static int[] InferShape(OpContext c)
    {
        var x = c.Shape(0);
        if (Part(c) != 0)
        {
            var (o, _, _) = Split(c, x);
            int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", -1), x.Length);
            _ = o;
            return [.. x[..axis], .. Enumerable.Repeat(1, x.Length - axis)];
        }
        var (outer, inner, channels) = Split(c, x);
        _ = outer;
        int scaleCount = OnnxTensor.CountElements(c.Shape(1));
        int want = c.Node.OpType == "LayerNormalization" ? inner : channels;
        if (scaleCount != want && !(c.Node.OpType == "LayerNormalization" && scaleCount == 1))
            throw c.Node.Error($"scale has {scaleCount} values; expected {want}");
        if (c.Has(2) && OnnxTensor.CountElements(c.Shape(2)) is int bc && bc != want && !(c.Node.OpType == "LayerNormalization" && bc == 1))
            throw c.Node.Error($"B has {bc} values; expected {want}");
        return x;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var shape = InferShape(c);
        var x = c.FloatTensor(0).FloatData;
        var scale = c.FloatTensor(1).FloatData;
        var bias = c.Has(2) ? c.FloatTensor(2).FloatData : null;
        double eps = c.Node.GetFloat("epsilon", 1e-5f);
        var (outer, inner, channels) = Split(c, c.Shape(0));
        bool layer = c.Node.OpType == "LayerNormalization";
        int part = Part(c);
        var y = new float[part == 0 ? x.Length : outer];
        for (int o = 0; o < outer; o++)
        {
            double mean = 0, var = 0;
            for (int i = 0; i < inner; i++) mean += x[o * inner + i];
            mean /= inner;
            for (int i = 0; i < inner; i++) { double d = x[o * inner + i] - mean; var += d * d; }
            var /= inner;
            double inv = 1 / Math.Sqrt(var + eps);
            if (part != 0)
            {
                y[o] = (float)(part == 1 ? mean : inv);
                continue;
            }

            int ch = o % channels;
            for (int i = 0; i < inner; i++)
            {
                int k = layer ? (scale.Length == 1 ? 0 : i) : ch;
                int kb = layer ? (bias is { Length: 1 } ? 0 : i) : ch;
                y[o * inner + i] = (float)(((x[o * inner + i] - mean) * inv * scale[k]) + (bias is null ? 0 : bias[kb]));
            }
        }
        return OnnxTensor.FromFloats(shape, y);
    }

    /// <summary>Rows normalized (outer), values per row (inner), and channel count (InstanceNormalization; 1 otherwise).</summary>
    public static (int Outer, int Inner, int Channels) Split(OpContext c, int[] x)
    {
        if (c.Node.OpType == "LayerNormalization")
        {
            int axis = ShapeMath.NormalizeAxis(c.Node, c.Node.GetInt("axis", -1), x.Length);
            return (ShapeMath.Product(x, 0, axis), ShapeMath.Product(x, axis, x.Length), 1);
        }
        if (x.Length < 3) throw c.Node.Error($"input {OnnxTensor.FormatShape(x)} must be [N, C, ...] with at least one spatial axis");
        return (x[0] * x[1], ShapeMath.Product(x, 2, x.Length), x[1]);
    }
}
