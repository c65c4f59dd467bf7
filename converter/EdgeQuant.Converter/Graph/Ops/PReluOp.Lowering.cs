using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// PRelu with a constant slope. One slope value: a Lookup table (exact). Per-channel (or any
// broadcast) slopes: max(x, 0) + slope x min(x, 0), as two Lookups, a Mul by the constant slope
// and an Add.
public sealed partial class Lowering
{
    private void PRelu(OnnxNode n)
    {
        var slope = Const(n, 1, "slope");
        var s = slope.Floats!;
        if (s.All(v => v == s[0]))
        {
            float a = s[0];
            Unary(n, x => x >= 0 ? x : a * x, $"PRelu({a})", float.NaN, float.NaN);
            return;
        }
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        if (slope.Rank > rank) throw n.Error($"slope {OnnxTensor.FormatShape(slope.Shape)} has a higher rank than the input");
        var logical = Enumerable.Repeat(1, rank).ToArray();
        for (int d = 0; d < slope.Rank; d++) logical[rank - slope.Rank + d] = slope.Shape[d];
        var k = new IrTensor(n.Inputs[1] + "#const" + _temp++, Permute(logical, x.Layout), PermuteData(s, logical, x.Layout));
        var shape = x.Tensor.Shape;
        var pos = NewTensor(n.Outputs[0] + "#pos", shape);
        Emit(new IrOp(OpType.Lookup, n.Name, [x.Tensor], pos) { Unary = v => v > 0 ? v : 0, UnaryName = "Relu", ActivationMin = 0, ActivationMax = float.PositiveInfinity });
        var neg = NewTensor(n.Outputs[0] + "#neg", shape);
        Emit(new IrOp(OpType.Lookup, n.Name, [x.Tensor], neg) { Unary = v => v < 0 ? v : 0, UnaryName = "Min0" });
        var scaled = NewTensor(n.Outputs[0] + "#scaled", shape);
        Emit(new IrOp(OpType.Mul, n.Name, [neg, k], scaled));
        var y = NewTensor(n.Outputs[0], shape);
        Emit(new IrOp(OpType.Add, n.Name, [pos, scaled], y));
        _values[n.Outputs[0]] = new Value { Tensor = y, Layout = x.Layout, Logical = x.Logical };
    }
}
