using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Resize (opset 10 on) and Upsample (opset 7 to 9), modes nearest and linear, separable
/// per axis (the resized length in the coordinate formulas is input × scale when scales are
/// given, as in ONNX's reference, else the output size). Coordinate transformation modes half_pixel (default from opset 11),
/// pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn; nearest modes
/// round_prefer_floor (default), round_prefer_ceil, floor and ceil. Opset-10 Resize and Upsample
/// use asymmetric coordinates and the "simple" nearest rule (floor when enlarging, ceil when
/// shrinking). Coordinates are computed in float32, as onnxruntime does. Refused: cubic,
/// tf_crop_and_resize, antialias, the opset-18 axes input and keep_aspect_ratio_policy.
/// </summary>
internal static class ResizeOp
{
    /// <summary>How one axis is resized: output size and, per output index, the source taps.</summary>
    internal sealed record AxisPlan(int In, int Out, int[] I0, int[] I1, float[] W1)
    {
        public bool Identity => In == Out && I0.AsSpan().SequenceEqual(Iota(In)) && W1.All(w => w == 0);
    }

    public static int[] InferShape(OpContext c) => Plan(c).Select(a => a.Out).ToArray();

    public static OnnxTensor Evaluate(OpContext c)
    {
        var plans = Plan(c);
        var x = c.FloatTensor(0);
        var shape = (int[])x.Shape.Clone();
        var data = x.FloatData;
        for (int axis = 0; axis < plans.Length; axis++)
        {
            var p = plans[axis];
            if (p.Identity) continue;
            int outer = ShapeMath.Product(shape, 0, axis), inner = ShapeMath.Product(shape, axis + 1, shape.Length);
            var y = new float[outer * p.Out * inner];
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < p.Out; i++)
                {
                    int s0 = (o * p.In + p.I0[i]) * inner, s1 = (o * p.In + p.I1[i]) * inner, d = (o * p.Out + i) * inner;
                    float w1 = p.W1[i], w0 = 1f - w1;
                    for (int k = 0; k < inner; k++)
                        y[d + k] = w1 == 0 ? data[s0 + k] : (w0 * data[s0 + k]) + (w1 * data[s1 + k]);
                }
            data = y;
            shape[axis] = p.Out;
        }

        return OnnxTensor.FromFloats(shape, data);
    }

    /// <summary>True for nearest-neighbour resizing (every tap weight 0).</summary>
    public static bool IsNearest(OpContext c) => c.Node.GetString("mode", "nearest") == "nearest";

    public static AxisPlan[] Plan(OpContext c)
    {
        var node = c.Node;
        var x = c.Shape(0);
        int rank = x.Length;
        string mode = node.GetString("mode", "nearest");
        if (mode is not ("nearest" or "linear" or "bilinear"))
            throw node.Error($"attribute mode='{mode}' is not supported; supported: nearest, linear");
        bool legacy = node.OpType == "Upsample" || c.Opset < 11;
        string coord = legacy ? "asymmetric" : node.GetString("coordinate_transformation_mode", "half_pixel");
        string nearest = legacy ? "simple" : node.GetString("nearest_mode", "round_prefer_floor");
        if (coord is not ("half_pixel" or "pytorch_half_pixel" or "align_corners" or "asymmetric" or "tf_half_pixel_for_nn"))
            throw node.Error($"attribute coordinate_transformation_mode='{coord}' is not supported; supported: half_pixel, pytorch_half_pixel, align_corners, asymmetric, tf_half_pixel_for_nn");
        if (nearest is not ("simple" or "round_prefer_floor" or "round_prefer_ceil" or "floor" or "ceil"))
            throw node.Error($"attribute nearest_mode='{nearest}' is not supported");
        if (node.GetInt("antialias", 0) != 0) throw node.Error("attribute antialias=1 is not supported");
        if (node.HasAttribute("axes")) throw node.Error("attribute axes is not supported; give scales or sizes for every axis");
        if (node.GetString("keep_aspect_ratio_policy", "stretch") != "stretch") throw node.Error("attribute keep_aspect_ratio_policy other than 'stretch' is not supported");

        float[]? scales = null;
        long[]? sizes = null;
        if (node.OpType == "Upsample" && c.Opset < 9) scales = node.GetFloats("scales");
        else if (node.OpType == "Upsample" || c.Opset < 11) scales = c.Constant(1, "scales").ToFloatArray();
        else
        {
            if (c.Has(3)) sizes = ShapeMath.ReadInts(node, c.Constant(3, "sizes"), "sizes");
            if (c.Has(2) && c.Constant(2, "scales").ElementCount > 0) scales = c.Constant(2, "scales").ToFloatArray();
            if (sizes is not null && sizes.Length == 0) sizes = null;
            if ((scales is null) == (sizes is null)) throw node.Error("exactly one of scales and sizes must be given");
        }

        if ((scales?.Length ?? sizes!.Length) != rank) throw node.Error($"scales/sizes have {(scales?.Length ?? sizes!.Length)} values for a rank-{rank} input");
        var plans = new AxisPlan[rank];
        for (int d = 0; d < rank; d++)
        {
            int inSize = x[d];
            float scale;
            int outSize;
            if (scales is not null)
            {
                scale = scales[d];
                if (!(scale > 0) || !float.IsFinite(scale)) throw node.Error($"scale {scale} on axis {d} must be positive");
                outSize = (int)Math.Floor(inSize * (double)scale);
            }
            else
            {
                outSize = ShapeMath.ToDim(node, sizes![d], "sizes value");
                scale = (float)outSize / inSize;
            }

            if (outSize < 1) throw node.Error($"axis {d} would be resized from {inSize} to {outSize}");
            plans[d] = Axis(inSize, outSize, scales is not null ? inSize * scale : outSize, scale, coord, mode == "nearest" ? nearest : null);
        }

        return plans;
    }

    private static AxisPlan Axis(int inSize, int outSize, float lengthResized, float scale, string coord, string? nearest)
    {
        var i0 = new int[outSize];
        var i1 = new int[outSize];
        var w1 = new float[outSize];
        for (int i = 0; i < outSize; i++)
        {
            float xr = i;
            float xo = coord switch
            {
                "half_pixel" => ((xr + 0.5f) / scale) - 0.5f,
                "pytorch_half_pixel" => lengthResized > 1 ? ((xr + 0.5f) / scale) - 0.5f : 0f,
                "align_corners" => lengthResized == 1 ? 0f : xr * (inSize - 1) / (lengthResized - 1),
                "tf_half_pixel_for_nn" => (xr + 0.5f) / scale,
                _ => xr / scale,
            };
            if (nearest is not null)
            {
                long k = nearest switch
                {
                    "simple" => scale < 1 ? (long)MathF.Ceiling(xo) : (long)xo,
                    "round_prefer_floor" => xo == (long)xo + 0.5f ? (long)MathF.Floor(xo) : (long)MathF.Round(xo, MidpointRounding.AwayFromZero),
                    "round_prefer_ceil" => (long)MathF.Round(xo, MidpointRounding.AwayFromZero),
                    "floor" => (long)MathF.Floor(xo),
                    _ => (long)MathF.Ceiling(xo),
                };
                i0[i] = i1[i] = (int)Math.Clamp(k, 0, inSize - 1);
            }
            else
            {
                float xc = Math.Clamp(xo, 0f, inSize - 1);
                int a = (int)MathF.Floor(xc);
                int b = Math.Min(a + 1, inSize - 1);
                i0[i] = a;
                i1[i] = b;
                w1[i] = b == a ? 0f : xc - a;
            }
        }

        return new AxisPlan(inSize, outSize, i0, i1, w1);
    }

    private static int[] Iota(int n)
    {
        var r = new int[n];
        for (int i = 0; i < n; i++) r[i] = i;
        return r;
    }
}
