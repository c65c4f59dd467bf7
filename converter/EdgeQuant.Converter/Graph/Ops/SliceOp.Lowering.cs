using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Ir;

// Lowering of Slice, Split and Gather on activations: one IndexSelect each (a block copy per row
// where the innermost dimension is kept whole), in the input's physical layout.
public sealed partial class Lowering
{
    private void Slice(OnnxNode n)
    {
        var x = Act(n, 0);
        var (outShape, starts, steps) = SliceOp.Prepare(Context(n));
        if (outShape.Contains(0)) throw n.Error($"the slice is empty ({OnnxTensor.FormatShape(outShape)}); empty tensors are not supported");
        var maps = new int[outShape.Length][];
        for (int d = 0; d < maps.Length; d++)
        {
            maps[d] = new int[outShape[d]];
            for (int i = 0; i < outShape[d]; i++) maps[d][i] = starts[d] + (i * steps[d]);
        }
        _values[n.Outputs[0]] = Select(n, x, maps, 0f, n.Outputs[0]);
    }

    private void Split(OnnxNode n)
    {
        var x = Act(n, 0);
        var (axis, start, length) = SplitOp.Part(Context(n));
        var maps = x.Logical.Select(Iota).ToArray();
        maps[axis] = Enumerable.Range(start, length).ToArray();
        _values[n.Outputs[0]] = Select(n, x, maps, 0f, n.Outputs[0]);
    }

    /// <summary>Gather of an activation by constant indices along one axis.</summary>
    private void Gather(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        var indices = ConstTensor(n, 1, "indices");
        if (indices.IsFloat) throw n.Error("indices must be an integer tensor");
        int rank = x.Logical.Length;
        int axis = ShapeMath.NormalizeAxis(n, n.GetInt("axis", 0), rank);
        int dim = x.Logical[axis];
        var raw = indices.ToInt64Array();
        var picked = new int[raw.Length];
        for (int i = 0; i < raw.Length; i++)
        {
            long v = raw[i];
            if (v < -dim || v >= dim) throw n.Error($"index {v} is out of range for axis {axis} of size {dim}");
            picked[i] = (int)(v < 0 ? v + dim : v);
        }
        var maps = x.Logical.Select(Iota).ToArray();
        maps[axis] = picked;
        var outLogical = Shape(n.Outputs[0]);
        if (indices.Rank == 1)
        {
            _values[n.Outputs[0]] = Select(n, x, maps, 0f, n.Outputs[0]);
            return;
        }
        var sel = Select(n, x, maps, 0f, n.Outputs[0] + "#sel");
        if (indices.Rank == 0 && outLogical.Length == rank - 1 && rank > 1)
        {
            // The gathered axis has size 1 now: dropping it renames dimensions, the bytes stay.
            var layout = sel.Layout.Where(l => l != axis).Select(l => l > axis ? l - 1 : l).ToArray();
            var y = NewTensor(n.Outputs[0], Permute(outLogical, layout));
            Emit(new IrOp(Runtime.Format.OpType.Reshape, n.Name, [sel.Tensor], y));
            _values[n.Outputs[0]] = new Value { Tensor = y, Layout = layout, Logical = outLogical };
            return;
        }
        _values[n.Outputs[0]] = ReshapeTo(sel, outLogical, n.Outputs[0], n.Name);
    }
}
