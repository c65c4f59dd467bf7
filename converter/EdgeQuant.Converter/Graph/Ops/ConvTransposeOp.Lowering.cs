using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// ConvTranspose (1-D and 2-D) as an exact rewrite onto existing runtime ops: an IndexSelect
// inserts stride - 1 zeros (the input zero point) between input positions and pads or crops
// the borders, then a stride-1 Conv2D (or DepthwiseConv2D) with the kernel flipped in space and
// its input/output channel roles swapped computes the same sums.
public sealed partial class Lowering
{
    private void ConvTranspose(OnnxNode n)
    {
        var g = ConvTransposeOp.Prepare(Context(n));
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        int At(int[] v, int i, int one) => oneD ? (i == 0 ? one : v[0]) : v[i];
        int kh = At(g.Kernel, 0, 1), kw = At(g.Kernel, 1, 1);
        int dh = At(g.Dilations, 0, 1), dw = At(g.Dilations, 1, 1);
        int[] maps0 = Spread(At(g.In, 0, 1), At(g.Out, 0, 1), kh, At(g.Strides, 0, 1), dh, At(g.PadBegin, 0, 0));
        int[] maps1 = Spread(At(g.In, 1, 1), At(g.Out, 1, 1), kw, At(g.Strides, 1, 1), dw, At(g.PadBegin, 1, 0));
        var z = Select(n, x, [Iota(x.Logical[0]), Iota(x.Logical[1]), maps0, maps1], 0f, n.Outputs[0] + "#spread");
        var w = Const(n, 1, "weights").Floats!;
        int cin = g.Cin, m = g.Cout, group = g.Group, cinG = cin / group, coutG = m / group;
        float W(int ic, int oc, int ky, int kx) => w[((ic * coutG + (oc % coutG)) * kh + (kh - 1 - ky)) * kw + (kw - 1 - kx)];
        var outLogical = Shape(n.Outputs[0]);
        var out4 = oneD ? As4D(outLogical) : outLogical;
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], Permute(out4, Nhwc));
        IrOp op;
        if (group > 1 && group == cin && coutG >= 1)
        {
            var ww = new float[kh * kw * m];
            for (int oc = 0; oc < m; oc++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        ww[(ky * kw + kx) * m + oc] = W(oc / coutG, oc, ky, kx);
            op = new IrOp(OpType.DepthwiseConv2D, n.Name, [z.Tensor], y) { Weights = ww, WeightShape = [1, kh, kw, m], DepthMultiplier = coutG };
        }
        else
        {
            var ww = new float[m * kh * kw * cin];
            for (int oc = 0; oc < m; oc++)
                for (int ky = 0; ky < kh; ky++)
                    for (int kx = 0; kx < kw; kx++)
                        for (int ic = (oc / coutG) * cinG; ic < (oc / coutG + 1) * cinG; ic++)
                            ww[((oc * kh + ky) * kw + kx) * cin + ic] = W(ic, oc, ky, kx);
            op = new IrOp(OpType.Conv2D, n.Name, [z.Tensor], y) { Weights = ww, WeightShape = [m, kh, kw, cin] };
        }
        op.Bias = n.HasInput(2) ? Const(n, 2, "bias").Floats! : new float[m];
        SetWindow(op, [1, 1], [dh, dw], [0, 0, 0, 0], kh, kw);
        Emit(op);
        _values[n.Outputs[0]] = oneD ? From2D(y, outLogical, n) : new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    /// <summary>
    /// Source index of each position of the zero-spread, padded input of a stride-1 convolution
    /// equivalent to a transposed one (-1: an inserted zero or padding).
    /// </summary>
    private static int[] Spread(int inSize, int outSize, int k, int stride, int dilation, int padBegin)
    {
        int lead = (k - 1) * dilation - padBegin;
        var map = new int[outSize + (k - 1) * dilation];
        for (int z = 0; z < map.Length; z++)
        {
            int p = z - lead;
            map[z] = p >= 0 && p % stride == 0 && p / stride < inSize ? p / stride : -1;
        }
        return map;
    }
}
