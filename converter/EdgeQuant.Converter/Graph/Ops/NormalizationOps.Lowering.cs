using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// LayerNormalization and InstanceNormalization as int8 ops with a documented scheme: the values
// of each normalized group are viewed as the H axis of a Mean (mean), subtracted (Sub with
// broadcast), squared (Mul), averaged again (variance), turned into 1 / sqrt(variance + eps) by a
// Lookup table, multiplied back (Mul), and scale and B applied per element of the group (or per
// channel) by a 1x1 DepthwiseConv2D. Every step is an existing int8 op with calibrated ranges.
public sealed partial class Lowering
{
    private void Normalization(OnnxNode n)
    {
        if (n.GetInt(SplitOp.PartAttribute, 0) != 0) throw n.Error("the Mean and InvStdDev outputs of LayerNormalization are not supported in int8; supported: Y only");
        var x = Act(n, 0);
        var outLogical = Shape(n.Outputs[0]);
        var (outer, inner, channels) = NormalizationOps.Split(Context(n), x.Logical);
        bool layer = n.OpType == "LayerNormalization";
        float eps = n.GetFloat("epsilon", 1e-5f);
        var scale = Const(n, 1, "scale").Floats!;
        var bias = n.HasInput(2) ? Const(n, 2, "B").Floats! : null;

        // Groups as rows: [outer, inner, 1, 1] in logical (identity) order.
        var rows = ReshapeTo(x, [outer, inner, 1, 1], n.Outputs[0] + "#rows", n.Name).Tensor;
        var mean = NewTensor(n.Outputs[0] + "#mean", [outer, 1, 1, 1]);
        Emit(new IrOp(OpType.Mean, n.Name, [rows], mean));
        var d = NewTensor(n.Outputs[0] + "#centered", [outer, inner, 1, 1]);
        Emit(new IrOp(OpType.Sub, n.Name, [rows, mean], d));
        var sq = NewTensor(n.Outputs[0] + "#squared", [outer, inner, 1, 1]);
        Emit(new IrOp(OpType.Mul, n.Name, [d, d], sq));
        var variance = NewTensor(n.Outputs[0] + "#variance", [outer, 1, 1, 1]);
        Emit(new IrOp(OpType.Mean, n.Name, [sq], variance));
        var inv = NewTensor(n.Outputs[0] + "#rsqrt", [outer, 1, 1, 1]);
        Emit(new IrOp(OpType.Lookup, n.Name, [variance], inv) { Unary = v => 1f / MathF.Sqrt(Math.Max(v, 0f) + eps), UnaryName = $"rsqrt(v+{eps})" });
        var normalized = NewTensor(n.Outputs[0] + "#normalized", [outer, inner, 1, 1]);
        Emit(new IrOp(OpType.Mul, n.Name, [d, inv], normalized));

        // Affine. LayerNormalization: scale and B vary along the group, so the rows are viewed as
        // [1, outer, 1, inner] and a 1x1 DepthwiseConv2D applies them per "channel" = element.
        // InstanceNormalization: they vary per row (channel), so a Mul and an Add of [outer, 1, 1, 1] constants.
        IrTensor y;
        if (layer)
        {
            var view = NewTensor(n.Outputs[0] + "#affine_in", [1, outer, 1, inner]);
            Emit(new IrOp(OpType.Reshape, n.Name, [normalized], view));
            y = NewTensor(n.Outputs[0] + "#affine", [1, outer, 1, inner]);
            var w = new float[inner];
            var b = new float[inner];
            for (int i = 0; i < inner; i++) { w[i] = scale.Length == 1 ? scale[0] : scale[i]; b[i] = bias is null ? 0 : bias.Length == 1 ? bias[0] : bias[i]; }
            Emit(new IrOp(OpType.DepthwiseConv2D, n.Name, [view], y) { Weights = w, WeightShape = [1, 1, 1, inner], Bias = b, KernelH = 1, KernelW = 1 });
        }
        else
        {
            var w = new float[outer];
            var b = new float[outer];
            for (int o = 0; o < outer; o++) { w[o] = scale[o % channels]; b[o] = bias is null ? 0 : bias[o % channels]; }
            var scaled = NewTensor(n.Outputs[0] + "#scaled", [outer, inner, 1, 1]);
            Emit(new IrOp(OpType.Mul, n.Name, [normalized, new IrTensor(n.Inputs[1] + "#const" + _temp++, [outer, 1, 1, 1], w)], scaled));
            y = scaled;
            if (bias is not null)
            {
                y = NewTensor(n.Outputs[0] + "#shifted", [outer, inner, 1, 1]);
                Emit(new IrOp(OpType.Add, n.Name, [scaled, new IrTensor(n.Inputs[2] + "#const" + _temp++, [outer, 1, 1, 1], b)], y));
            }
        }
        var result = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Reshape, n.Name, [y], result));
        _values[n.Outputs[0]] = new Value { Tensor = result, Layout = Identity(outLogical.Length), Logical = outLogical };
    }
}
