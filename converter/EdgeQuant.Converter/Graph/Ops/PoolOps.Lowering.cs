using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// GlobalMaxPool, dilated MaxPool, ReduceMax and ReduceSum on the existing pooling and Mean ops.
public sealed partial class Lowering
{
    /// <summary>GlobalMaxPool: one MaxPool2D whose window is the whole H x W plane (each at most 256).</summary>
    private void GlobalMaxPool(OnnxNode n)
    {
        var x = Act(n, 0);
        bool oneD = x.Logical.Length == 3;
        if (!oneD && x.Logical.Length != 4) throw n.Error($"GlobalMaxPool on a rank-{x.Logical.Length} input is not supported; supported: [N, C, T] and [N, C, H, W]");
        x = oneD ? As2D(x, n.Name) : EnsureLayout(x, Nhwc, n.Name);
        var s = x.Tensor.Shape;
        var outLogical = Shape(n.Outputs[0]);
        var out4 = oneD ? As4D(outLogical) : outLogical;
        var y = NewTensor(oneD ? n.Outputs[0] + "#h1" : n.Outputs[0], Permute(out4, Nhwc));
        Emit(MaxWindow(n, x.Tensor, y, s[1], s[2]));
        _values[n.Outputs[0]] = oneD ? From2D(y, outLogical, n) : new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    private static IrOp MaxWindow(OnnxNode n, IrTensor x, IrTensor y, int h, int w)
    {
        if (h > 256 || w > 256) throw n.Error($"a maximum over a {h} x {w} window is not supported; supported: each extent at most 256");
        var op = new IrOp(OpType.MaxPool2D, n.Name, [x], y);
        SetWindow(op, [1, 1], [1, 1], [0, 0, 0, 0], h, w);
        return op;
    }

    /// <summary>
    /// MaxPool with dilations: an IndexSelect lays every (dilated, padded) window out as a dense
    /// Kh x Kw block (padding reads the lowest int8 code, which never wins a maximum), then a
    /// MaxPool2D with window = stride = Kh x Kw takes each block's maximum.
    /// </summary>
    private IrTensor DilatedMaxPool(OnnxNode n, Value x, int kh, int kw, int[] strides, int[] dilations, int[] pads, int[] out4, string outName)
    {
        var s = x.Tensor.Shape;
        int[] Unfold(int inSize, int outSize, int k, int stride, int dil, int pad)
        {
            var map = new int[outSize * k];
            for (int o = 0; o < outSize; o++)
                for (int t = 0; t < k; t++)
                {
                    int i = o * stride - pad + t * dil;
                    map[o * k + t] = (uint)i < (uint)inSize ? i : -1;
                }
            return map;
        }
        var mapH = Unfold(s[1], out4[2], kh, strides[0], dilations[0], pads[0]);
        var mapW = Unfold(s[2], out4[3], kw, strides[1], dilations[1], pads[1]);
        var blocks = Select(n, x, [Iota(x.Logical[0]), Iota(x.Logical[1]), mapH, mapW], float.NegativeInfinity, outName + "#windows");
        var y = NewTensor(outName, Permute(out4, Nhwc));
        var op = new IrOp(OpType.MaxPool2D, n.Name, [blocks.Tensor], y);
        SetWindow(op, [kh, kw], [1, 1], [0, 0, 0, 0], kh, kw);
        Emit(op);
        return y;
    }

    /// <summary>
    /// ReduceMax / ReduceSum over any axes but the batch: the data is put in [N, reduced, kept]
    /// order and viewed as [N, R, 1, K]; ReduceSum is the Mean op without the division, ReduceMax a
    /// MaxPool2D over the R rows (R = a x b with a, b ≤ 256 is viewed as an a x b window).
    /// </summary>
    private void ReduceMaxOrSum(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        var flags = ReduceMeanOp.Axes(Context(n), rank);
        var reduced = Enumerable.Range(0, rank).Where(d => flags[d]).ToArray();
        if (reduced.Length == 0)
        {
            _values[n.Outputs[0]] = x;
            return;
        }
        if (reduced.Contains(0) && x.Logical[0] != 1)
            throw n.Error($"{n.OpType} over the batch axis 0 of {OnnxTensor.FormatShape(x.Logical)} is not supported");
        var r = reduced.Where(a => a != 0).ToArray();
        var k = Enumerable.Range(1, Math.Max(0, rank - 1)).Where(a => !r.Contains(a)).ToArray();
        int[] layout = rank == 1 ? [0] : [0, .. r, .. k];
        x = EnsureLayout(x, layout, n.Name);
        int rSize = r.Aggregate(1, (p, a) => p * x.Logical[a]);
        int kSize = k.Aggregate(1, (p, a) => p * x.Logical[a]);
        int batch = rank == 1 ? 1 : x.Logical[0];
        if (rank == 1) rSize = x.Logical[0];
        int wh = rSize, ww = 1;
        if (n.OpType == "ReduceMax" && rSize > 256)
        {
            wh = 0;
            for (int a = 256; a >= 2; a--)
                if (rSize % a == 0 && rSize / a <= 256) { wh = rSize / a; ww = a; break; }
            if (wh == 0) throw n.Error($"a maximum over {rSize} values is not supported; supported: up to 256, or a product of two factors of at most 256");
        }
        var view = NewTensor(x.Tensor.Name + "#reduce_in" + _temp++, [batch, wh, ww, kSize]);
        Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], view));
        var red = NewTensor(n.Outputs[0] + "#reduced", [batch, 1, 1, kSize]);
        Emit(n.OpType == "ReduceSum" ? new IrOp(OpType.Mean, n.Name, [view], red) { Sum = true } : MaxWindow(n, view, red, wh, ww));
        var outLogical = Shape(n.Outputs[0]);
        var y = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Reshape, n.Name, [red], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = Identity(outLogical.Length), Logical = outLogical };
    }
}
