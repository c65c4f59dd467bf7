using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// DepthToSpace / SpaceToDepth on NHWC data with batch 1: a rank-4 Transpose between free
// reshapes. DCR: [H, W, b, b C'] -> [H, b, W, b C'] is [H b, W b, C']; CRD first swaps the
// channel factors ([H W, C', b b] -> [H W, b b, C']); SpaceToDepth is DCR backwards.
public sealed partial class Lowering
{
    private void SpaceDepth(OnnxNode n)
    {
        var x = EnsureLayout(Act(n, 0), Nhwc, n.Name);
        if (x.Logical[0] != 1) throw n.Error($"{n.OpType} with batch {x.Logical[0]} is not supported; supported: batch 1 (a dynamic batch runs sample by sample)");
        int b = SpaceDepthOps.BlockSize(Context(n));
        var outLogical = Shape(n.Outputs[0]);
        var s = x.Tensor.Shape;
        var t = x.Tensor;
        if (n.OpType == "DepthToSpace")
        {
            int h = s[1], w = s[2], c = s[3], cp = c / (b * b);
            if (n.GetString("mode", "DCR") == "CRD")
                t = Permute4(n, t, [1, h * w, cp, b * b], [0, 1, 3, 2]);
            t = Permute4(n, t, [h, w, b, b * cp], [0, 2, 1, 3]);
        }
        else
        {
            int h = s[1], w = s[2], c = s[3];
            t = Permute4(n, t, [h / b, b, w / b, b * c], [0, 2, 1, 3]);
        }
        var y = NewTensor(n.Outputs[0], Permute(outLogical, Nhwc));
        Emit(new IrOp(OpType.Reshape, n.Name, [t], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = Nhwc, Logical = outLogical };
    }

    /// <summary>Views <paramref name="t"/> as <paramref name="view"/> (same bytes) and transposes it by <paramref name="perm"/>.</summary>
    private IrTensor Permute4(OnnxNode n, IrTensor t, int[] view, int[] perm)
    {
        var v = NewTensor(t.Name + "#v" + _temp++, view);
        Emit(new IrOp(OpType.Reshape, n.Name, [t], v));
        var y = NewTensor(t.Name + "#p" + _temp++, perm.Select(p => view[p]).ToArray());
        Emit(new IrOp(OpType.Transpose, n.Name, [v], y) { Perm = perm });
        return y;
    }
}
