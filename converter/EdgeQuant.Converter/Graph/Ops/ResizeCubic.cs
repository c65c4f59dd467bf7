using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Resize with mode cubic (opset 11 on) in the float executor: separable per axis, four
/// taps at floor(x) - 1 .. floor(x) + 2 weighted by the cubic convolution kernel with
/// coefficient cubic_coeff_a (default -0.75); taps outside the input take the edge value, or with
/// exclude_outside=1 get weight 0 and the others are renormalized. Coordinates follow
/// coordinate_transformation_mode (half_pixel, pytorch_half_pixel, align_corners, asymmetric) with
/// the resized length input × scale when scales are given, as in <see cref="ResizeOp"/>. The int8
/// lowering has no cubic form (<see cref="ResizeOp.Plan"/> refuses it).
/// </summary>
internal static class ResizeCubic
{
    /// <summary>True for a Resize node in cubic mode.</summary>
    public static bool Handles(OpContext c) => c.Node.OpType == "Resize" && c.Node.GetString("mode", "nearest") == "cubic" && c.Opset >= 11;

    public static int[] InferShape(OpContext c) => Axes(c).Select(a => a.Out).ToArray();

    public static OnnxTensor Evaluate(OpContext c)
    {
        var axes = Axes(c);
        var node = c.Node;
        float a = node.GetFloat("cubic_coeff_a", -0.75f);
        bool exclude = node.GetInt("exclude_outside", 0) != 0;
        string coord = node.GetString("coordinate_transformation_mode", "half_pixel");
        var x = c.FloatTensor(0);
        var shape = (int[])x.Shape.Clone();
        var data = x.FloatData;
        for (int d = 0; d < axes.Length; d++)
        {
            var (inSize, outSize, scale, length) = axes[d];
            if (inSize == outSize && scale == 1f)
            {
                continue;
            }

            int outer = ShapeMath.Product(shape, 0, d), inner = ShapeMath.Product(shape, d + 1, shape.Length);
            var y = new float[outer * outSize * inner];
            var taps = new int[4];
            var weights = new double[4];
            for (int i = 0; i < outSize; i++)
            {
                double xo = coord switch
                {
                    "half_pixel" => ((i + 0.5) / scale) - 0.5,
                    "pytorch_half_pixel" => length > 1 ? ((i + 0.5) / scale) - 0.5 : 0,
                    "align_corners" => length == 1 ? 0 : i * (double)(inSize - 1) / (length - 1),
                    _ => i / (double)scale,
                };
                int x0 = (int)Math.Floor(xo);
                double t = xo - x0;
                Coefficients(a, t, weights);
                double sum = 0;
                for (int k = 0; k < 4; k++)
                {
                    int idx = x0 - 1 + k;
                    if (exclude && (idx < 0 || idx >= inSize))
                    {
                        weights[k] = 0;
                    }

                    taps[k] = Math.Clamp(idx, 0, inSize - 1);
                    sum += weights[k];
                }

                if (exclude && sum != 0)
                {
                    for (int k = 0; k < 4; k++)
                    {
                        weights[k] /= sum;
                    }
                }

                for (int o = 0; o < outer; o++)
                {
                    int dst = ((o * outSize) + i) * inner;
                    for (int e = 0; e < inner; e++)
                    {
                        double v = 0;
                        for (int k = 0; k < 4; k++)
                        {
                            v += weights[k] * data[(((o * inSize) + taps[k]) * inner) + e];
                        }

                        y[dst + e] = (float)v;
                    }
                }
            }

            data = y;
            shape[d] = outSize;
        }

        return OnnxTensor.FromFloats(shape, data);
    }

    /// <summary>Weights of the taps at offsets -1, 0, 1, 2 from floor(x), for fraction <paramref name="t"/>.</summary>
    private static void Coefficients(double a, double t, double[] w)
    {
        double t1 = t + 1, t2 = 1 - t, t3 = 2 - t;
        w[0] = ((((a * t1) - (5 * a)) * t1) + (8 * a)) * t1 - (4 * a);
        w[1] = ((((a + 2) * t) - (a + 3)) * t * t) + 1;
        w[2] = ((((a + 2) * t2) - (a + 3)) * t2 * t2) + 1;
        w[3] = ((((a * t3) - (5 * a)) * t3) + (8 * a)) * t3 - (4 * a);
    }

    /// <summary>Per axis: input size, output size, scale and the resized length used by the coordinate formulas.</summary>
    private static (int In, int Out, float Scale, float Length)[] Axes(OpContext c)
    {
        var node = c.Node;
        var x = c.Shape(0);
        string coord = node.GetString("coordinate_transformation_mode", "half_pixel");
        if (coord is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric"))
        {
            throw node.Error($"attribute coordinate_transformation_mode='{coord}' is not supported with mode cubic; supported: half_pixel, pytorch_half_pixel, align_corners, asymmetric");
        }

        if (node.GetInt("antialias", 0) != 0 || node.HasAttribute("axes") || node.GetString("keep_aspect_ratio_policy", "stretch") != "stretch")
        {
            throw node.Error("attributes antialias, axes and keep_aspect_ratio_policy are not supported");
        }

        float[]? scales = c.Has(2) && c.Constant(2, "scales").ElementCount > 0 ? c.Constant(2, "scales").ToFloatArray() : null;
        long[]? sizes = c.Has(3) ? ShapeMath.ReadInts(node, c.Constant(3, "sizes"), "sizes") : null;
        if (sizes is { Length: 0 })
        {
            sizes = null;
        }

        if ((scales is null) == (sizes is null))
        {
            throw node.Error("exactly one of scales and sizes must be given");
        }

        if ((scales?.Length ?? sizes!.Length) != x.Length)
        {
            throw node.Error($"scales/sizes have {scales?.Length ?? sizes!.Length} values for a rank-{x.Length} input");
        }

        var result = new (int, int, float, float)[x.Length];
        for (int d = 0; d < x.Length; d++)
        {
            if (scales is not null)
            {
                float s = scales[d];
                if (!(s > 0) || !float.IsFinite(s))
                {
                    throw node.Error($"scale {s} on axis {d} must be positive");
                }

                int o = (int)Math.Floor(x[d] * (double)s);
                if (o < 1)
                {
                    throw node.Error($"axis {d} would be resized from {x[d]} to {o}");
                }

                result[d] = (x[d], o, s, x[d] * s);
            }
            else
            {
                int o = ShapeMath.ToDim(node, sizes![d], "sizes value");
                if (o < 1)
                {
                    throw node.Error($"axis {d} would be resized from {x[d]} to {o}");
                }

                result[d] = (x[d], o, (float)o / x[d], o);
            }
        }

        return result;
    }
}
