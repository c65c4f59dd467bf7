using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>ONNX MaxPool, AveragePool (1-D and 2-D) and GlobalAveragePool (any spatial rank).</summary>
internal static class PoolOps
{
    public static int[] InferShape(OpContext c) => Prepare(c, out _);

    public static OnnxTensor EvaluateMaxPool(OpContext c)
    {
        var outShape = Prepare(c, out var g);
        var x = c.FloatTensor(0).FloatData;
        var y = new float[OnnxTensor.CountElements(outShape)];
        int planes = outShape[0] * outShape[1];
        int inPlane = g.InH * g.InW;
        int outPlane = g.OutH * g.OutW;
        for (int p = 0; p < planes; p++)
        {
            var src = x.AsSpan(p * inPlane, inPlane);
            var dst = y.AsSpan(p * outPlane, outPlane);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float max = float.MinValue;
                    bool any = false;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = (oh * g.StrideH) - g.PadTop + (kh * g.DilationH);
                        if ((uint)ih >= (uint)g.InH)
                        {
                            continue;
                        }

                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = (ow * g.StrideW) - g.PadLeft + (kw * g.DilationW);
                            if ((uint)iw >= (uint)g.InW)
                            {
                                continue;
                            }

                            float v = src[(ih * g.InW) + iw];
                            if (!any || v > max || float.IsNaN(v))
                            {
                                max = v;
                                any = true;
                            }
                        }
                    }

                    dst[(oh * g.OutW) + ow] = max;
                }
            }
        }

        return OnnxTensor.FromFloats(outShape, y);
    }

    /// <summary>
    /// Average over the window. With count_include_pad the divisor counts window positions inside
    /// the padded input (positions past the end padding, possible with ceil_mode, never count);
    /// without it, only positions inside the input.
    /// </summary>
    public static OnnxTensor EvaluateAveragePool(OpContext c)
    {
        var outShape = Prepare(c, out var g);
        bool includePad = c.Node.GetInt("count_include_pad", 0) != 0;
        var x = c.FloatTensor(0).FloatData;
        var y = new float[OnnxTensor.CountElements(outShape)];
        int planes = outShape[0] * outShape[1];
        int inPlane = g.InH * g.InW;
        int outPlane = g.OutH * g.OutW;
        for (int p = 0; p < planes; p++)
        {
            var src = x.AsSpan(p * inPlane, inPlane);
            var dst = y.AsSpan(p * outPlane, outPlane);
            for (int oh = 0; oh < g.OutH; oh++)
            {
                for (int ow = 0; ow < g.OutW; ow++)
                {
                    float sum = 0f;
                    int inside = 0;
                    int padded = 0;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ih = (oh * g.StrideH) - g.PadTop + (kh * g.DilationH);
                        bool hInPadded = ih >= -g.PadTop && ih < g.InH + g.PadBottom;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            int iw = (ow * g.StrideW) - g.PadLeft + (kw * g.DilationW);
                            if (hInPadded && iw >= -g.PadLeft && iw < g.InW + g.PadRight)
                            {
                                padded++;
                            }

                            if ((uint)ih < (uint)g.InH && (uint)iw < (uint)g.InW)
                            {
                                sum += src[(ih * g.InW) + iw];
                                inside++;
                            }
                        }
                    }

                    int divisor = includePad ? padded : inside;
                    dst[(oh * g.OutW) + ow] = divisor == 0 ? 0f : sum / divisor;
                }
            }
        }

        return OnnxTensor.FromFloats(outShape, y);
    }

    public static int[] InferGlobalShape(OpContext c)
    {
        var x = c.ShapeOfRank(0, 3, int.MaxValue, "X");
        var result = new int[x.Length];
        result[0] = x[0];
        result[1] = x[1];
        for (int i = 2; i < x.Length; i++)
        {
            result[i] = 1;
        }

        return result;
    }

    public static OnnxTensor EvaluateGlobalAveragePool(OpContext c)
    {
        var outShape = InferGlobalShape(c);
        var xs = c.Shape(0);
        var x = c.FloatTensor(0).FloatData;
        int planes = xs[0] * xs[1];
        int plane = ShapeMath.Product(xs, 2, xs.Length);
        var y = new float[planes];
        for (int p = 0; p < planes; p++)
        {
            double sum = 0;
            var src = x.AsSpan(p * plane, plane);
            foreach (float v in src)
            {
                sum += v;
            }

            y[p] = plane == 0 ? 0f : (float)(sum / plane);
        }

        return OnnxTensor.FromFloats(outShape, y);
    }

    /// <summary>GlobalMaxPool: the largest value of each [N, C] plane (NaN propagates).</summary>
    public static OnnxTensor EvaluateGlobalMaxPool(OpContext c)
    {
        var outShape = InferGlobalShape(c);
        var xs = c.Shape(0);
        var x = c.FloatTensor(0).FloatData;
        int planes = xs[0] * xs[1];
        int plane = ShapeMath.Product(xs, 2, xs.Length);
        var y = new float[planes];
        for (int p = 0; p < planes; p++)
        {
            float max = float.NegativeInfinity;
            foreach (float v in x.AsSpan(p * plane, plane))
            {
                if (v > max || float.IsNaN(v)) max = v;
            }

            y[p] = max;
        }

        return OnnxTensor.FromFloats(outShape, y);
    }

    private static int[] Prepare(OpContext c, out SpatialGeometry geometry)
    {
        var node = c.Node;
        var x = c.ShapeOfRank(0, 3, 4, "X");
        int rank = x.Length - 2;
        var kernel = SpatialGeometry.KernelShape(node, rank, null);
        bool ceilMode = node.GetInt("ceil_mode", 0) != 0;
        geometry = SpatialGeometry.Compute(node, x[2..], kernel, ceilMode);
        return [x[0], x[1], .. geometry.OutSpatial];
    }
}
