using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// LogSoftmax as int8 ops: with the normalized axis innermost (moved as Softmax moves it) and the
// rows viewed as [R, depth, 1, 1]: m = the row maximum (MaxPool2D), d = x − m (Sub), e = exp(d)
// (Lookup), s = Σ e (Mean without the division), l = log(s) (Lookup), y = d − l (Sub).
public sealed partial class Lowering
{
    private void LogSoftmax(OnnxNode n)
    {
        var x = Unflattened(Act(n, 0), n.Name);
        int rank = x.Logical.Length;
        bool coerced = _g.Opset < 13;
        int axis = ShapeMath.NormalizeAxis(n, n.GetInt("axis", coerced ? 1 : -1), rank);
        int depth;
        if (coerced)
        {
            x = EnsureLayout(x, Identity(rank), n.Name);
            depth = ShapeMath.Product(x.Logical, axis, rank);
        }
        else
        {
            var layout = x.Layout.Where(l => l != axis).Append(axis).ToArray();
            x = EnsureLayout(x, layout, n.Name);
            depth = x.Logical[axis];
        }
        int rows = x.Tensor.ElementCount / depth;
        int wh = depth, ww = 1;
        if (depth > 256)
        {
            wh = 0;
            for (int a = 256; a >= 2; a--)
                if (depth % a == 0 && depth / a <= 256) { wh = depth / a; ww = a; break; }
            if (wh == 0) throw n.Error($"LogSoftmax over {depth} values is not supported; supported: up to 256, or a product of two factors of at most 256");
        }
        string name = n.Outputs[0];
        var view = NewTensor(name + "#rows", [rows, wh, ww, 1]);
        Emit(new IrOp(OpType.Reshape, n.Name, [x.Tensor], view));
        var max = NewTensor(name + "#max", [rows, 1, 1, 1]);
        Emit(MaxWindow(n, view, max, wh, ww));
        var d = NewTensor(name + "#shifted", [rows, wh, ww, 1]);
        Emit(new IrOp(OpType.Sub, n.Name, [view, max], d));
        var e = NewTensor(name + "#exp", [rows, wh, ww, 1]);
        Emit(new IrOp(OpType.Lookup, n.Name, [d], e) { Unary = MathF.Exp, UnaryName = "Exp" });
        var sum = NewTensor(name + "#sum", [rows, 1, 1, 1]);
        Emit(new IrOp(OpType.Mean, n.Name, [e], sum) { Sum = true });
        var log = NewTensor(name + "#log", [rows, 1, 1, 1]);
        Emit(new IrOp(OpType.Lookup, n.Name, [sum], log) { Unary = v => MathF.Log(Math.Max(v, 1f)), UnaryName = "Log" });
        var y = NewTensor(name + "#logsoftmax", [rows, wh, ww, 1]);
        Emit(new IrOp(OpType.Sub, n.Name, [d, log], y));
        var result = NewTensor(name, x.Tensor.Shape);
        Emit(new IrOp(OpType.Reshape, n.Name, [y], result));
        _values[name] = new Value { Tensor = result, Layout = x.Layout, Logical = x.Logical };
    }
}
