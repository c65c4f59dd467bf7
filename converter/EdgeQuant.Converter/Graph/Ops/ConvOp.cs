using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Conv over [N, C, W] or [N, C, H, W] inputs: W is [M, C/group, (kH,) kW], optional B is [M].
/// Any group count that divides C and M is supported (group = C = M is depthwise).
/// </summary>
internal static class ConvOp
{
    public static int[] InferShape(OpContext c) => Prepare(c, out _, out _).OutputShape;

    public static OnnxTensor Evaluate(OpContext c)
    {
        var p = Prepare(c, out var g, out int group);
        var x = c.FloatTensor(0).FloatData;
        var w = c.FloatTensor(1).FloatData;
        float[]? bias = c.Has(2) ? c.FloatTensor(2).FloatData : null;
        var y = new float[OnnxTensor.CountElements(p.OutputShape)];
        Run(x, w, bias, y, p.N, p.C, p.M, group, g);
        return OnnxTensor.FromFloats(p.OutputShape, y);
    }

    /// <summary>
    /// The reference loop nest. For each output plane, every weight tap is applied to the
    /// range of output pixels whose input pixel is inside the image, so padding costs nothing.
    /// Sums run in float, bias first, then input channels, kernel rows and kernel columns.
    /// </summary>
    internal static void Run(float[] x, float[] w, float[]? bias, float[] y, int n, int c, int m, int group, SpatialGeometry g)
    {
        int cPerGroup = c / group;
        int mPerGroup = m / group;
        int inPlane = g.InH * g.InW;
        int outPlane = g.OutH * g.OutW;
        int kernelSize = g.KH * g.KW;

        // Valid output ranges per kernel offset, computed once.
        var ohFirst = new int[g.KH];
        var ohEnd = new int[g.KH];
        for (int kh = 0; kh < g.KH; kh++)
        {
            (ohFirst[kh], ohEnd[kh]) = ValidRange(kh * g.DilationH - g.PadTop, g.StrideH, g.InH, g.OutH);
        }

        var owFirst = new int[g.KW];
        var owEnd = new int[g.KW];
        for (int kw = 0; kw < g.KW; kw++)
        {
            (owFirst[kw], owEnd[kw]) = ValidRange(kw * g.DilationW - g.PadLeft, g.StrideW, g.InW, g.OutW);
        }

        for (int b = 0; b < n; b++)
        {
            for (int oc = 0; oc < m; oc++)
            {
                int grp = oc / mPerGroup;
                var outSpan = y.AsSpan(((b * m) + oc) * outPlane, outPlane);
                outSpan.Fill(bias is null ? 0f : bias[oc]);
                for (int icg = 0; icg < cPerGroup; icg++)
                {
                    int ic = (grp * cPerGroup) + icg;
                    var inSpan = x.AsSpan(((b * c) + ic) * inPlane, inPlane);
                    int wBase = ((oc * cPerGroup) + icg) * kernelSize;
                    for (int kh = 0; kh < g.KH; kh++)
                    {
                        int ihOffset = (kh * g.DilationH) - g.PadTop;
                        for (int kw = 0; kw < g.KW; kw++)
                        {
                            float weight = w[wBase + (kh * g.KW) + kw];
                            int iwOffset = (kw * g.DilationW) - g.PadLeft;
                            int first = owFirst[kw];
                            int end = owEnd[kw];
                            if (first >= end)
                            {
                                continue;
                            }

                            for (int oh = ohFirst[kh]; oh < ohEnd[kh]; oh++)
                            {
                                int ih = (oh * g.StrideH) + ihOffset;
                                var outRow = outSpan.Slice(oh * g.OutW, g.OutW);
                                var inRow = inSpan.Slice(ih * g.InW, g.InW);
                                if (g.StrideW == 1)
                                {
                                    FloatLoops.MultiplyAdd(outRow.Slice(first, end - first), inRow.Slice(first + iwOffset, end - first), weight);
                                }
                                else
                                {
                                    for (int ow = first; ow < end; ow++)
                                    {
                                        outRow[ow] += weight * inRow[(ow * g.StrideW) + iwOffset];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// <summary>Output indices o in [first, end) for which o * stride + offset lies in [0, size).</summary>
    internal static (int First, int End) ValidRange(int offset, int stride, int size, int outSize)
    {
        // o * stride + offset >= 0  =>  o >= ceil(-offset / stride)
        int first = offset >= 0 ? 0 : (-offset + stride - 1) / stride;

        // o * stride + offset <= size - 1  =>  o <= floor((size - 1 - offset) / stride)
        int lastNumerator = size - 1 - offset;
        int end = lastNumerator < 0 ? 0 : (lastNumerator / stride) + 1;
        return (Math.Min(first, outSize), Math.Clamp(end, 0, outSize));
    }

    private static (int[] OutputShape, int N, int C, int M) Prepare(OpContext c, out SpatialGeometry geometry, out int group)
    {
        var node = c.Node;
        var x = c.ShapeOfRank(0, 3, 4, "X");
        var w = c.ShapeOfRank(1, x.Length, x.Length, "W");
        int channels = x[1];
        int m = w[0];
        long groupAttr = node.GetInt("group", 1);
        if (groupAttr < 1 || groupAttr > channels || channels % groupAttr != 0 || m % groupAttr != 0)
        {
            throw node.Error($"group={groupAttr} must divide both the input channels ({channels}) and the output channels ({m})");
        }

        group = (int)groupAttr;
        if (w[1] * group != channels)
        {
            throw node.Error($"weight shape {OnnxTensor.FormatShape(w)} needs {w[1] * group} input channels with group={group}, but X {OnnxTensor.FormatShape(x)} has {channels}");
        }

        if (c.Has(2))
        {
            var b = c.Shape(2);
            if (b.Length != 1 || b[0] != m)
            {
                throw node.Error($"bias shape {OnnxTensor.FormatShape(b)} does not match {m} output channels");
            }
        }

        int rank = x.Length - 2;
        var kernel = SpatialGeometry.KernelShape(node, rank, w[2..]);
        geometry = SpatialGeometry.Compute(node, x[2..], kernel, ceilMode: false);
        int[] outShape = [x[0], m, .. geometry.OutSpatial];
        return (outShape, x[0], channels, m);
    }
}
