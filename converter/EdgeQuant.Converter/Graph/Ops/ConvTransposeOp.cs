using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX ConvTranspose, 1-D [N, C, T] and 2-D [N, C, H, W], weights [C, M / group, k...], optional
/// bias [M]. Input position i, tap t scatter to output position i × stride + t × dilation − pad_begin.
/// Output size stride × (in − 1) + output_padding + (k − 1) × dilation + 1 − pad_begin − pad_end;
/// with output_shape (or auto_pad SAME_*: output in × stride) the total padding follows from the
/// output and is split as the spec says (SAME_UPPER puts the smaller half first, otherwise the
/// larger; never negative).
/// </summary>
internal static class ConvTransposeOp
{
    /// <summary>Geometry per spatial axis (1 or 2 of them).</summary>
    internal sealed record Geometry(int[] In, int[] Out, int[] Kernel, int[] Strides, int[] Dilations, int[] PadBegin, int Group, int Cin, int Cout);

    public static int[] InferShape(OpContext c)
    {
        var g = Prepare(c);
        return [c.Shape(0)[0], g.Cout, .. g.Out];
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var g = Prepare(c);
        var x = c.FloatTensor(0).FloatData;
        var w = c.FloatTensor(1).FloatData;
        float[]? bias = c.Has(2) ? c.FloatTensor(2).FloatData : null;
        int n = c.Shape(0)[0];
        bool twoD = g.In.Length == 2;
        int inH = twoD ? g.In[0] : 1, inW = g.In[^1], outH = twoD ? g.Out[0] : 1, outW = g.Out[^1];
        int kh = twoD ? g.Kernel[0] : 1, kw = g.Kernel[^1];
        int sh = twoD ? g.Strides[0] : 1, sw = g.Strides[^1], dh = twoD ? g.Dilations[0] : 1, dw = g.Dilations[^1];
        int ph = twoD ? g.PadBegin[0] : 0, pw = g.PadBegin[^1];
        int cinG = g.Cin / g.Group, coutG = g.Cout / g.Group;
        var y = new double[n * g.Cout * outH * outW];
        for (int b = 0; b < n; b++)
            for (int ic = 0; ic < g.Cin; ic++)
            {
                int grp = ic / cinG;
                for (int iy = 0; iy < inH; iy++)
                    for (int ix = 0; ix < inW; ix++)
                    {
                        float v = x[((b * g.Cin + ic) * inH + iy) * inW + ix];
                        for (int m = 0; m < coutG; m++)
                        {
                            int oc = grp * coutG + m;
                            for (int ky = 0; ky < kh; ky++)
                            {
                                int oy = iy * sh + ky * dh - ph;
                                if ((uint)oy >= (uint)outH) continue;
                                for (int kx = 0; kx < kw; kx++)
                                {
                                    int ox = ix * sw + kx * dw - pw;
                                    if ((uint)ox >= (uint)outW) continue;
                                    y[((b * g.Cout + oc) * outH + oy) * outW + ox] += (double)v * w[((ic * coutG + m) * kh + ky) * kw + kx];
                                }
                            }
                        }
                    }
            }

        var r = new float[y.Length];
        for (int i = 0; i < r.Length; i++) r[i] = (float)(y[i] + (bias is null ? 0 : bias[i / (outH * outW) % g.Cout]));
        return OnnxTensor.FromFloats([n, g.Cout, .. g.Out], r);
    }

    public static Geometry Prepare(OpContext c)
    {
        var node = c.Node;
        var x = c.ShapeOfRank(0, 3, 4, "X");
        var w = c.ShapeOfRank(1, x.Length, x.Length, "W");
        int spatial = x.Length - 2;
        int group = (int)node.GetInt("group", 1);
        if (group < 1 || x[1] % group != 0 || w[0] != x[1]) throw node.Error($"weights {OnnxTensor.FormatShape(w)} and group={group} do not fit {x[1]} input channels");
        int cout = w[1] * group;
        if (c.Has(2) && OnnxTensor.CountElements(c.Shape(2)) != cout) throw node.Error($"bias has {OnnxTensor.CountElements(c.Shape(2))} values for {cout} output channels");
        int[] Ints(string name, int dflt)
        {
            var v = node.GetIntsOrNull(name);
            if (v is null) return Enumerable.Repeat(dflt, spatial).ToArray();
            if (v.Length != spatial) throw node.Error($"attribute {name} has {v.Length} values; expected {spatial}");
            return v.Select(a => (int)a).ToArray();
        }

        var k = w[2..];
        var ks = node.GetIntsOrNull("kernel_shape");
        if (ks is not null && !ks.Select(a => (int)a).SequenceEqual(k)) throw node.Error("attribute kernel_shape does not match the weights");
        var s = Ints("strides", 1);
        var d = Ints("dilations", 1);
        var op = Ints("output_padding", 0);
        if (s.Any(v => v < 1) || d.Any(v => v < 1) || op.Any(v => v < 0)) throw node.Error("strides and dilations must be positive and output_padding non-negative");
        var padsAttr = node.GetIntsOrNull("pads");
        string autoPad = node.GetString("auto_pad", "NOTSET");
        if (autoPad is not ("NOTSET" or "VALID" or "SAME_UPPER" or "SAME_LOWER")) throw node.Error($"attribute auto_pad='{autoPad}' is not valid");
        var outShapeAttr = node.GetIntsOrNull("output_shape");
        var begin = new int[spatial];
        var outSize = new int[spatial];
        for (int i = 0; i < spatial; i++)
        {
            int full = s[i] * (x[2 + i] - 1) + op[i] + ((k[i] - 1) * d[i]) + 1;
            int? want = outShapeAttr is not null ? (int)outShapeAttr[outShapeAttr.Length - spatial + i]
                : autoPad is "SAME_UPPER" or "SAME_LOWER" ? x[2 + i] * s[i] : null;
            if (want is int o)
            {
                // The total padding is never negative (a larger output_shape is filled with the bias at the end).
                int total = Math.Max(0, full - o);
                begin[i] = autoPad == "SAME_UPPER" ? total / 2 : total - (total / 2);
                outSize[i] = o;
            }
            else
            {
                int pb = padsAttr is null || autoPad == "VALID" ? 0 : (int)padsAttr[i];
                int pe = padsAttr is null || autoPad == "VALID" ? 0 : (int)padsAttr[spatial + i];
                if (padsAttr is not null && padsAttr.Length != 2 * spatial) throw node.Error($"attribute pads has {padsAttr.Length} values; expected {2 * spatial}");
                begin[i] = pb;
                outSize[i] = full - pb - pe;
                if (outSize[i] < 1) throw node.Error($"pads leave no output along spatial axis {i}");
            }
        }

        return new Geometry(x[2..], outSize, k, s, d, begin, group, x[1], cout);
    }
}
