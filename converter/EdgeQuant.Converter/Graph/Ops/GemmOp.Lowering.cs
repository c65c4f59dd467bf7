using EdgeQuant.Converter.Onnx;
using EdgeQuant.Runtime.Format;

namespace EdgeQuant.Converter.Ir;

// Gemm: FullyConnected when B is a constant matrix (the driver's FullyConnected helper), else
// BatchMatMul (MatMulOp.Lowering.cs).
public sealed partial class Lowering
{
    /// <summary>
    /// Gemm with every attribute: transA relabels A (the data moves only if it must), alpha folds
    /// into constant weights, and C becomes the bias when it is constant along M (scalar, [N],
    /// [1, N]), else an Add of the constant beta x C. A B that is not constant goes to BatchMatMul.
    /// </summary>
    private void Gemm(OnnxNode n)
    {
        bool transA = n.GetInt("transA", 0) != 0, transB = n.GetInt("transB", 0) != 0;
        float alpha = n.GetFloat("alpha", 1f), beta = n.GetFloat("beta", 1f);
        OnnxTensor? c = n.HasInput(2) && beta != 0 ? Const(n, 2, "C") : null;
        if (!_g.IsConstant(n.Inputs[1]) || _g.IsConstant(n.Inputs[0]))
        {
            MatMulActivations(n, transA, transB, alpha, c, beta);
            return;
        }
        var a = Act(n, 0);
        if (transA) a = Transposed2D(Unflattened(a, n.Name));
        var b = Const(n, 1, "B");
        if (b.Rank != 2) throw n.Error("B must be a rank-2 constant");
        int k = transB ? b.Shape[1] : b.Shape[0];
        int mOut = transB ? b.Shape[0] : b.Shape[1];
        var w = new float[mOut * k];
        for (int o = 0; o < mOut; o++)
            for (int i = 0; i < k; i++)
                w[o * k + i] = alpha * (transB ? b.Floats![o * k + i] : b.Floats![i * mOut + o]);
        var bias = new float[mOut];
        bool cAsBias = c is null || c.ElementCount == 1 || (c.Shape[^1] == mOut && c.ElementCount == mOut);
        if (c is not null && cAsBias)
        {
            if (c.ElementCount == 1) Array.Fill(bias, beta * c.Floats![0]);
            else for (int o = 0; o < mOut; o++) bias[o] = beta * c.Floats![o];
        }
        if (cAsBias)
        {
            FullyConnected(n, a, w, mOut, k, bias);
            return;
        }
        FullyConnected(n, a, w, mOut, k, bias, n.Outputs[0] + "#gemm");
        AddConstantMatrix(n, _values[n.Outputs[0]], c!, beta);
    }

    /// <summary>y + beta x C for a rank-2 y and a constant C broadcast to it.</summary>
    private void AddConstantMatrix(OnnxNode n, Value y, OnnxTensor c, float beta)
    {
        var outLogical = y.Logical;
        var logical = Enumerable.Repeat(1, outLogical.Length).ToArray();
        for (int d = 0; d < c.Rank; d++) logical[outLogical.Length - c.Rank + d] = c.Shape[d];
        var data = (c.Floats ?? c.ToFloatArray()).Select(v => beta * v).ToArray();
        y = EnsureLayout(y, Identity(outLogical.Length), n.Name);
        var k = new IrTensor(n.Inputs[2] + "#const" + _temp++, logical, data);
        var t = NewTensor(n.Outputs[0], outLogical);
        Emit(new IrOp(OpType.Add, n.Name, [y.Tensor, k], t));
        _values[n.Outputs[0]] = new Value { Tensor = t, Layout = Identity(outLogical.Length), Logical = outLogical };
    }

    /// <summary>A rank-2 value seen transposed (a relabeling; no data moves here).</summary>
    private static Value Transposed2D(Value a) => new() { Tensor = a.Tensor, Layout = a.Layout.Select(l => 1 - l).ToArray(), Logical = [a.Logical[1], a.Logical[0]] };
}
