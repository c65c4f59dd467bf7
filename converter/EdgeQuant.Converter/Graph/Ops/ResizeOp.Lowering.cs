using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// Resize / Upsample. Nearest: one IndexSelect with the per-axis source indices (exact). Linear:
// per resized axis, that axis is made innermost and a FullyConnected layer with the
// interpolation matrix R [out, in] (two non-zero weights per row) maps it; the int8 weights
// are R quantized per output position.
public sealed partial class Lowering
{
    private void Resize(OnnxNode n)
    {
        var ctx = Context(n);
        var plans = ResizeOp.Plan(ctx);
        var v = Unflattened(Act(n, 0), n.Name);
        if (ResizeOp.IsNearest(ctx) || plans.All(p => p.W1.All(w => w == 0)))
        {
            _values[n.Outputs[0]] = Select(n, v, plans.Select(p => p.I0).ToArray(), 0f, n.Outputs[0]);
            return;
        }
        int rank = v.Logical.Length;
        for (int d = 0; d < rank; d++)
        {
            var p = plans[d];
            if (p.Identity) continue;
            if (p.W1.All(w => w == 0))
            {
                var maps = v.Logical.Select(Iota).ToArray();
                maps[d] = p.I0;
                v = Select(n, v, maps, 0f, n.Outputs[0] + "#axis" + d);
                continue;
            }
            var layout = v.Layout.Where(l => l != d).Append(d).ToArray();
            v = EnsureLayout(v, layout, n.Name);
            var r = new float[p.Out * p.In];
            for (int i = 0; i < p.Out; i++)
            {
                r[i * p.In + p.I0[i]] += 1f - p.W1[i];
                r[i * p.In + p.I1[i]] += p.W1[i];
            }
            var logical = (int[])v.Logical.Clone();
            logical[d] = p.Out;
            var y = NewTensor(n.Outputs[0] + "#axis" + d, Permute(logical, layout));
            Emit(new IrOp(OpType.FullyConnected, n.Name, [v.Tensor], y) { Weights = r, WeightShape = [p.Out, p.In], Bias = new float[p.Out] });
            v = new Value { Tensor = y, Layout = layout, Logical = logical };
        }
        _values[n.Outputs[0]] = v;
    }
}
