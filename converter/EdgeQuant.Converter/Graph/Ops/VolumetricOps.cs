using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Conv, MaxPool and AveragePool over three spatial dimensions ([N, C, D, H, W]) in the float
/// executor, built from the 2-D implementations: the depth axis is resolved with the same window
/// geometry as any other axis (<see cref="SpatialGeometry"/> on a 1-D view), and each output
/// depth combines the 2-D results of the input depth slices its window covers (a sum for Conv,
/// a maximum for MaxPool, a mean for AveragePool). The int8 runtime has no 3-D ops: lowering
/// refuses rank-5 tensors.
/// </summary>
internal static class VolumetricOps
{
    /// <summary>True for Conv, MaxPool and AveragePool on a rank-5 input.</summary>
    public static bool Handles(OpContext c) =>
        c.Node.OpType is "Conv" or "MaxPool" or "AveragePool" && c.Has(0) && c.Shape(0).Length == 5;

    public static int[] InferShape(OpContext c) => Prepare(c, out _, out _, out _);

    public static OnnxTensor Evaluate(OpContext c)
    {
        var outShape = Prepare(c, out var depth, out var planar, out int kd);
        var xs = c.Shape(0);
        var x = c.FloatTensor(0).FloatData;
        int n = xs[0], ch = xs[1], inD = xs[2], inHW = xs[3] * xs[4];
        int outC = outShape[1], outD = outShape[2], outHW = outShape[3] * outShape[4];
        var y = new float[OnnxTensor.CountElements(outShape)];
        bool isConv = c.Node.OpType == "Conv";
        bool isMax = c.Node.OpType == "MaxPool";
        bool includePad = c.Node.GetInt("count_include_pad", 0) != 0;
        float[]? w = isConv ? c.FloatTensor(1).FloatData : null;
        var ws = isConv ? c.Shape(1) : null;
        var sliceCache = new Dictionary<int, OnnxTensor>();

        for (int od = 0; od < outD; od++)
        {
            float[]? acc = null;
            int covered = 0, counted = 0;
            for (int k = 0; k < kd; k++)
            {
                int id = (od * depth.StrideW) - depth.PadLeft + (k * depth.DilationW);
                if (id >= -depth.PadLeft && id < inD + depth.PadRight)
                {
                    counted++;
                }

                if ((uint)id >= (uint)inD)
                {
                    continue;
                }

                if (!sliceCache.TryGetValue(id, out var slice))
                {
                    slice = OnnxTensor.FromFloats([n, ch, xs[3], xs[4]], DepthSlice(x, n, ch, inD, inHW, id));
                    sliceCache[id] = slice;
                }

                OnnxTensor part;
                if (isConv)
                {
                    var wk = OnnxTensor.FromFloats([ws![0], ws[1], ws[3], ws[4]], DepthSlice(w!, ws[0], ws[1], ws[2], ws[3] * ws[4], k));
                    part = ConvOp.Evaluate(new OpContext(planar, c.Opset, [slice.Shape, wk.Shape], [slice, wk]));
                }
                else
                {
                    var context = new OpContext(planar, c.Opset, [slice.Shape], [slice]);
                    part = isMax ? PoolOps.EvaluateMaxPool(context) : PoolOps.EvaluateAveragePool(context);
                }

                var p = part.FloatData;
                if (acc is null)
                {
                    acc = (float[])p.Clone();
                }
                else
                {
                    for (int i = 0; i < acc.Length; i++)
                    {
                        acc[i] = isConv || !isMax ? acc[i] + p[i] : (p[i] > acc[i] || float.IsNaN(p[i]) ? p[i] : acc[i]);
                    }
                }

                covered++;
            }

            // acc is [N, outC, OH, OW] for this output depth.
            float divisor = !isConv && !isMax ? (includePad ? counted : covered) : 1;
            float[]? bias = isConv && c.Has(2) ? c.FloatTensor(2).FloatData : null;
            for (int b = 0; b < n; b++)
            {
                for (int oc = 0; oc < outC; oc++)
                {
                    var dst = y.AsSpan((((b * outC) + oc) * outD + od) * outHW, outHW);
                    for (int i = 0; i < outHW; i++)
                    {
                        float v = acc is null ? 0f : acc[((b * outC) + oc) * outHW + i];
                        dst[i] = isConv ? v + (bias?[oc] ?? 0f) : v / divisor;
                    }
                }
            }
        }

        return OnnxTensor.FromFloats(outShape, y);
    }

    /// <summary>Values [a, b, index, plane] of a [a, b, depth, plane] array, as [a, b, plane].</summary>
    private static float[] DepthSlice(float[] data, int a, int b, int depth, int plane, int index)
    {
        var r = new float[a * b * plane];
        for (int i = 0; i < a * b; i++)
        {
            Array.Copy(data, ((i * depth) + index) * plane, r, i * plane, plane);
        }

        return r;
    }

    /// <summary>
    /// Output shape, the depth axis's geometry (as the W axis of a 1-D geometry), the equivalent
    /// 2-D node over (H, W) and the depth of the kernel.
    /// </summary>
    private static int[] Prepare(OpContext c, out SpatialGeometry depth, out OnnxNode planar, out int kernelDepth)
    {
        var node = c.Node;
        var x = c.Shape(0);
        bool isConv = node.OpType == "Conv";
        int[]? fromWeights = null;
        int outChannels = x[1];
        if (isConv)
        {
            var w = c.ShapeOfRank(1, 5, 5, "W");
            fromWeights = w[2..];
            outChannels = w[0];
            long group = node.GetInt("group", 1);
            if (group < 1 || x[1] % group != 0 || w[0] % group != 0 || w[1] * group != x[1])
            {
                throw node.Error($"group={group} and weight shape {OnnxTensor.FormatShape(w)} do not fit input {OnnxTensor.FormatShape(x)}");
            }

            if (c.Has(2) && (c.Shape(2).Length != 1 || c.Shape(2)[0] != w[0]))
            {
                throw node.Error($"bias shape {OnnxTensor.FormatShape(c.Shape(2))} does not match {w[0]} output channels");
            }
        }

        var kernel = SpatialGeometry.KernelShape(node, 3, fromWeights);
        var strides = PerAxis(node, "strides");
        var dilations = PerAxis(node, "dilations");
        long[]? pads = node.GetIntsOrNull("pads");
        if (pads is not null && pads.Length != 6)
        {
            throw node.Error($"pads [{string.Join(", ", pads)}] must have 6 values (begin and end for each spatial axis)");
        }

        bool ceilMode = node.GetInt("ceil_mode", 0) != 0;
        var shared = new List<OnnxAttribute>();
        foreach (var (name, a) in node.Attributes)
        {
            if (name is "auto_pad" or "group" or "ceil_mode" or "count_include_pad" or "storage_order")
            {
                shared.Add(a);
            }
        }

        List<OnnxAttribute> Axes(int from, int count)
        {
            var list = new List<OnnxAttribute>(shared)
            {
                OnnxAttribute.FromInts("kernel_shape", [.. kernel.Skip(from).Take(count).Select(v => (long)v)]),
                OnnxAttribute.FromInts("strides", strides.Skip(from).Take(count).ToArray()),
                OnnxAttribute.FromInts("dilations", dilations.Skip(from).Take(count).ToArray()),
            };
            if (pads is not null)
            {
                list.Add(OnnxAttribute.FromInts("pads", [.. pads.Skip(from).Take(count), .. pads.Skip(3 + from).Take(count)]));
            }

            return list;
        }

        var depthNode = new OnnxNode(node.Name, node.OpType, node.Inputs, node.Outputs, Axes(0, 1));
        depth = SpatialGeometry.Compute(depthNode, [x[2]], [kernel[0]], ceilMode && !isConv);
        planar = new OnnxNode(node.Name, node.OpType, isConv ? [node.Inputs[0], node.Inputs[1]] : [node.Inputs[0]], node.Outputs, Axes(1, 2));
        var planarGeometry = SpatialGeometry.Compute(planar, [x[3], x[4]], [kernel[1], kernel[2]], ceilMode && !isConv);
        kernelDepth = kernel[0];
        return [x[0], outChannels, depth.OutW, planarGeometry.OutH, planarGeometry.OutW];
    }

    private static long[] PerAxis(OnnxNode node, string name)
    {
        long[] values = node.GetIntsOrNull(name) ?? [1, 1, 1];
        if (values.Length != 3)
        {
            throw node.Error($"{name} [{string.Join(", ", values)}] must have 3 values (one per spatial axis)");
        }

        return values;
    }
}
