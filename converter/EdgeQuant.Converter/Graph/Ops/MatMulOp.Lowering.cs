using EdgeQuant.Converter.Graph.Ops;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// MatMul (and Gemm) where the right operand is not a constant matrix: the BatchMatMul op on
// [b0, b1, M, K] x [b0', b1', N, K]. The right operand is handed over transposed, so a B that
// came from an ONNX Transpose (attention's K^T) costs nothing; otherwise a Transpose moves it.
public sealed partial class Lowering
{
    /// <summary>MatMul by a constant rank-2 B: a FullyConnected layer; anything else: BatchMatMul.</summary>
    private void MatMul(OnnxNode n)
    {
        bool bConst = _g.IsConstant(n.Inputs[1]);
        if (!bConst || _g.IsConstant(n.Inputs[0]) || _g.Initializers[n.Inputs[1]].Rank != 2)
        {
            MatMulActivations(n, false, false, 1f, null, 0f);
            return;
        }
        var a = Act(n, 0);
        var b = Const(n, 1, "B");
        int k = b.Shape[0], mOut = b.Shape[1];
        var w = new float[mOut * k];
        for (int o = 0; o < mOut; o++)
            for (int i = 0; i < k; i++)
                w[o * k + i] = b.Floats![i * mOut + o];
        FullyConnected(n, a, w, mOut, k, new float[mOut]);
    }

    private void MatMulActivations(OnnxNode n, bool transA, bool transB, float alpha, OnnxTensor? c, float beta)
    {
        if (!(alpha > 0) || !float.IsFinite(alpha)) throw n.Error($"alpha={alpha} is not supported for a product of two activations; supported: alpha > 0");
        if (_g.IsConstant(n.Inputs[0]) && _g.IsConstant(n.Inputs[1])) throw n.Error("both inputs are constant but were not folded");
        var a = MatOperand(n, 0);
        var b = MatOperand(n, 1);
        if (transA) a = a.Tensor.IsConstant ? ConstValue(n, TransposeLast2(a.Tensor.Data!, a.Logical), [a.Logical[1], a.Logical[0]]) : Transposed2D(a);
        if (transB) b = b.Tensor.IsConstant ? ConstValue(n, TransposeLast2(b.Tensor.Data!, b.Logical), [b.Logical[1], b.Logical[0]]) : Transposed2D(b);
        if (a.Logical.Length == 1) a = a.Tensor.IsConstant ? ConstValue(n, a.Tensor.Data!, [1, a.Logical[0]]) : ReshapeTo(a, [1, a.Logical[0]], a.Tensor.Name + "#row" + _temp++, n.Name);
        if (b.Logical.Length == 1) b = b.Tensor.IsConstant ? ConstValue(n, b.Tensor.Data!, [b.Logical[0], 1]) : ReshapeTo(b, [b.Logical[0], 1], b.Tensor.Name + "#col" + _temp++, n.Name);
        int m = a.Logical[^2], k = a.Logical[^1], kb = b.Logical[^2], nOut = b.Logical[^1];
        if (k != kb) throw n.Error($"A {OnnxTensor.FormatShape(a.Logical)} and B {OnnxTensor.FormatShape(b.Logical)} do not match: K is {k} vs {kb}");
        if ((long)k * 383 * 383 > int.MaxValue) throw n.Error($"a product reducing over K = {k} is not supported; supported: K ≤ {int.MaxValue / (383 * 383)} (the int32 accumulator)");
        var batch = ShapeMath.Broadcast(n, a.Logical[..^2], b.Logical[..^2]);
        if (batch.Length > 2) throw n.Error($"a matrix product with {batch.Length} batch dimensions is not supported; supported: at most 2");
        int[] Pad2(int[] bd) => [.. Enumerable.Repeat(1, 2 - bd.Length), .. bd];
        int[] a4 = [.. Pad2(a.Logical[..^2]), m, k];
        int[] bt4 = [.. Pad2(b.Logical[..^2]), nOut, k];

        IrTensor aT = a.Tensor.IsConstant ? new IrTensor(a.Tensor.Name, a4, a.Tensor.Data) : ReshapeTo(a, a4, a.Tensor.Name + "#mm" + _temp++, n.Name).Tensor;
        IrTensor bT;
        if (b.Tensor.IsConstant) bT = new IrTensor(b.Tensor.Name + "#T", bt4, TransposeLast2(b.Tensor.Data!, b.Logical));
        else
        {
            int rb = b.Logical.Length;
            var swapped = new Value
            {
                Tensor = b.Tensor,
                Layout = b.Layout.Select(l => l == rb - 1 ? rb - 2 : l == rb - 2 ? rb - 1 : l).ToArray(),
                Logical = [.. b.Logical[..^2], nOut, k],
            };
            bT = ReshapeTo(swapped, bt4, b.Tensor.Name + "#mmT" + _temp++, n.Name).Tensor;
        }
        int[] out4 = [.. Pad2(batch), m, nOut];
        var y = NewTensor(n.Outputs[0] + "#bmm", out4);
        Emit(new IrOp(OpType.BatchMatMul, n.Name, [aT, bT], y) { Alpha = alpha });
        var outLogical = Shape(n.Outputs[0]);
        var result = ReshapeTo(new Value { Tensor = y, Layout = Identity(4), Logical = out4 }, outLogical, c is null ? n.Outputs[0] : n.Outputs[0] + "#mm", n.Name);
        if (c is null) _values[n.Outputs[0]] = result;
        else AddConstantMatrix(n, result, c, beta);
    }

    private Value MatOperand(OnnxNode n, int i)
    {
        if (!_g.IsConstant(n.Inputs[i])) return Unflattened(Act(n, i), n.Name);
        var t = Const(n, i, i == 0 ? "A" : "B");
        return ConstValue(n, t.Floats!, t.Shape.Length == 0 ? [1] : t.Shape);
    }

    private Value ConstValue(OnnxNode n, float[] data, int[] shape) =>
        new() { Tensor = new IrTensor(n.Name + "#const" + _temp++, shape, data), Layout = Identity(shape.Length), Logical = shape };

    /// <summary>C-order data of <paramref name="shape"/> with its last two dimensions swapped.</summary>
    private static float[] TransposeLast2(float[] data, int[] shape)
    {
        int r = shape[^2], c = shape[^1], plane = r * c;
        var y = new float[data.Length];
        for (int p = 0; p < data.Length / plane; p++)
            for (int i = 0; i < r; i++)
                for (int j = 0; j < c; j++)
                    y[p * plane + j * r + i] = data[p * plane + i * c + j];
        return y;
    }
}
