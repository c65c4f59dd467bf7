using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// ArgMax: the runtime ArgMax op along the axis's physical dimension (int8 comparisons give the
// float argmax of the dequantized input). Its output is int8 with scale 1 and zero point -128, so
// the real value is the index itself (0 to 255); keepdims=0 is a free reshape afterwards.
public sealed partial class Lowering
{
    /// <summary>Largest axis length whose indices fit the int8 output (index - 128).</summary>
    internal const int ArgMaxMaxLength = 256;

    private void ArgMax(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        int axis = Graph.Ops.ArgMaxOp.Axis(Context(n), rank);
        if (x.Logical[axis] > ArgMaxMaxLength)
            throw n.Error($"axis {axis} has {x.Logical[axis]} values; the int8 ArgMax returns indices 0 to {ArgMaxMaxLength - 1}");
        int physical = Array.IndexOf(x.Layout, axis);
        var keptLogical = (int[])x.Logical.Clone();
        keptLogical[axis] = 1;
        var outLogical = Shape(n.Outputs[0]);
        bool keep = outLogical.Length == rank;
        var y = NewTensor(keep ? n.Outputs[0] : n.Outputs[0] + "#keep", Permute(keptLogical, x.Layout));
        Emit(new IrOp(OpType.ArgMax, n.Name, [x.Tensor], y) { Axis = physical, SelectLastIndex = n.GetInt("select_last_index", 0) != 0 });
        var kept = new Value { Tensor = y, Layout = x.Layout, Logical = keptLogical };
        _values[n.Outputs[0]] = keep ? kept : ReshapeTo(kept, outLogical, n.Outputs[0], n.Name);
    }
}
