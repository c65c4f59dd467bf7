using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// LSTM and GRU: one runtime Lstm / Gru op computing Y [T, D, B, H] (batch 1 per invocation unless the
// model fixes another), the node's parts sharing it: Y is that op's output, Y_h one IndexSelect of the
// last step of each direction (the first step for the reverse one). The integer form starts from a
// zero state over the whole sequence with the default activations; what it does not take is refused
// here, naming the node, and still runs in the float executor.
public sealed partial class Lowering
{
    /// <summary>Per original LSTM / GRU node (its parts share one name stem): the lowered Y.</summary>
    private readonly Dictionary<string, Value> _recurrentY = new(StringComparer.Ordinal);

    private void Recurrent(OnnxNode n)
    {
        int part = RecurrentOps.Part(n);
        if (part == 2)
            throw n.Error("the Y_c output (final cell state) is not supported in int8; supported: Y and Y_h (Y_c runs in the float executor)");
        var d = RecurrentOps.Read(Context(n));
        string stem = n.HasAttribute(SplitOp.CountAttribute) && n.Name.LastIndexOf(':') > 0 ? n.Name[..n.Name.LastIndexOf(':')] : n.Name;
        if (!_recurrentY.TryGetValue(stem, out var y))
        {
            y = LowerRecurrent(n, d, stem);
            _recurrentY[stem] = y;
        }

        if (part == 0)
        {
            _values[n.Outputs[0]] = y;
            return;
        }

        // Y_h [D, B, H]: Y viewed as [T × D, B, H, 1] (a free reshape), rows (last step) × D + dir.
        int t = d.Seq, dirs = d.Directions;
        var rows = new int[dirs];
        for (int dir = 0; dir < dirs; dir++) rows[dir] = ((d.Reverse || dir == 1 ? 0 : t - 1) * dirs) + dir;
        var flat = NewTensor(stem + "#steps" + _temp++, [t * dirs, d.Batch, d.Hidden, 1]);
        Emit(new IrOp(OpType.Reshape, n.Name, [y.Tensor], flat));
        var last = NewTensor(n.Outputs[0] + "#last", [dirs, d.Batch, d.Hidden, 1]);
        Emit(new IrOp(OpType.IndexSelect, n.Name, [flat], last) { IndexTables = [rows, Iota(d.Batch), Iota(d.Hidden), [0]], IndexFill = 0 });
        var yh = NewTensor(n.Outputs[0], [dirs, d.Batch, d.Hidden]);
        Emit(new IrOp(OpType.Reshape, n.Name, [last], yh));
        _values[n.Outputs[0]] = new Value { Tensor = yh, Layout = Identity(3), Logical = [dirs, d.Batch, d.Hidden] };
    }

    private Value LowerRecurrent(OnnxNode n, RecurrentOps.Dims d, string stem)
    {
        bool lstm = n.OpType == "LSTM";
        if (d.BatchFirst) throw n.Error("attribute layout=1 (batch first) is not supported in int8; supported: layout 0 (exporters' default; batch-first models transpose before the layer)");
        if (n.HasAttribute("clip")) throw n.Error($"attribute clip={n.GetFloat("clip")} is not supported in int8; supported: no clip (the float executor runs it)");
        if (lstm && n.HasInput(7)) throw n.Error("peepholes (input P) are not supported in int8; supported: an LSTM without P (the float executor runs it)");
        if (d.Hidden > OpValidator.MaxRecurrentHidden) throw n.Error($"hidden size {d.Hidden} is not supported in int8; supported: at most {OpValidator.MaxRecurrentHidden}");
        if (d.Input > OpValidator.MaxRecurrentInput) throw n.Error($"input size {d.Input} is not supported in int8; supported: at most {OpValidator.MaxRecurrentInput}");
        if (n.HasInput(4))
        {
            var lens = ConstInts(n, 4, "sequence_lens");
            if (lens.Any(v => v != d.Seq))
                throw n.Error($"sequence_lens [{string.Join(", ", lens)}] shorter than the sequence ({d.Seq}) are not supported in int8; supported: every sequence of the full length (the float executor runs shorter ones)");
        }

        for (int i = 5; i <= (lstm ? 6 : 5); i++)
        {
            if (!n.HasInput(i)) continue;
            string what = i == 5 ? "initial_h" : "initial_c";
            if (Const(n, i, what).Floats!.Any(v => v != 0))
                throw n.Error($"a non-zero {what} is not supported in int8; supported: a zero initial state (absent or all zeros; the float executor runs others)");
        }

        var x = Act(n, 0);
        x = EnsureLayout(Unflattened(x, n.Name), Identity(3), n.Name);
        var w = Const(n, 1, "W").Floats!;
        var r = Const(n, 2, "R").Floats!;
        int rows = RecurrentOps.Gates(n.OpType) * d.Hidden;
        var b = n.HasInput(3) ? Const(n, 3, "B").Floats! : new float[d.Directions * 2 * rows];
        var yLogical = new[] { d.Seq, d.Directions, d.Batch, d.Hidden };
        var y = NewTensor(stem + "#Y", yLogical);
        Emit(new IrOp(lstm ? OpType.Lstm : OpType.Gru, n.Name, [x.Tensor], y)
        {
            Recurrent = new RecurrentSpec(w, r, b, d.Hidden, d.Reverse ? 1 : d.Directions == 2 ? 2 : 0, n.GetInt("linear_before_reset", 0) != 0),
        });
        return new Value { Tensor = y, Layout = Identity(4), Logical = yLogical };
    }
}
