using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Ir;

// Pad in reflect and edge modes: an IndexSelect whose tables are the modes' source indices
// (constant padding stays the Pad op, in Lowering.cs).
public sealed partial class Lowering
{
    private void PadByIndex(OnnxNode n)
    {
        var x = Act(n, 0);
        string mode = n.GetString("mode", "constant");
        var outShape = PadOp.Prepare(Context(n), out var begins, out _);
        var maps = new int[outShape.Length][];
        for (int d = 0; d < maps.Length; d++) maps[d] = PadOp.SourceMap(n, x.Logical[d], begins[d], outShape[d], mode);
        _values[n.Outputs[0]] = Select(n, x, maps, 0f, n.Outputs[0]);
    }
}
