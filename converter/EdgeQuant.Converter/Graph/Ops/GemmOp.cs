using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Gemm: Y[M, N] = alpha * A' * B' + beta * C, where A' is A [M, K] (or its transpose when
/// transA = 1), B' is B [K, N] (or its transpose when transB = 1) and optional C broadcasts
/// unidirectionally to [M, N].
/// </summary>
internal static class GemmOp
{
    public static int[] InferShape(OpContext c) => Prepare(c).OutputShape;

    public static OnnxTensor Evaluate(OpContext c)
    {
        var p = Prepare(c);
        var a = c.FloatTensor(0).FloatData;
        var b = c.FloatTensor(1).FloatData;
        bool transA = c.Node.GetInt("transA", 0) != 0;
        bool transB = c.Node.GetInt("transB", 0) != 0;
        float alpha = c.Node.GetFloat("alpha", 1f);
        float beta = c.Node.GetFloat("beta", 1f);
        int m = p.M, n = p.N, k = p.K;

        // Work on B' as [K, N] so every output row is a sum of scaled rows of B', accumulated in k order.
        var bk = transB ? TransposeOp.Run(b, [n, k], [1, 0]) : b;
        var y = new float[m * n];
        var row = new float[n];
        for (int i = 0; i < m; i++)
        {
            Array.Clear(row);
            for (int kk = 0; kk < k; kk++)
            {
                FloatLoops.MultiplyAdd(row, bk.AsSpan(kk * n, n), transA ? a[(kk * m) + i] : a[(i * k) + kk]);
            }

            for (int j = 0; j < n; j++)
            {
                y[(i * n) + j] = alpha * row[j];
            }
        }

        if (c.Has(2) && beta != 0f)
        {
            var cShape = c.Shape(2);
            var cData = c.FloatTensor(2).FloatData;
            var strides = ShapeMath.BroadcastStrides(cShape, [m, n]);
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    y[(i * n) + j] += beta * cData[(i * strides[0]) + (j * strides[1])];
                }
            }
        }

        return OnnxTensor.FromFloats(p.OutputShape, y);
    }

    private static (int[] OutputShape, int M, int N, int K) Prepare(OpContext c)
    {
        var node = c.Node;
        var a = c.ShapeOfRank(0, 2, 2, "A");
        var b = c.ShapeOfRank(1, 2, 2, "B");
        bool transA = node.GetInt("transA", 0) != 0;
        bool transB = node.GetInt("transB", 0) != 0;
        int m = transA ? a[1] : a[0];
        int k = transA ? a[0] : a[1];
        int kb = transB ? b[1] : b[0];
        int n = transB ? b[0] : b[1];
        if (k != kb)
        {
            throw node.Error(
                $"A {OnnxTensor.FormatShape(a)} (transA={(transA ? 1 : 0)}) and B {OnnxTensor.FormatShape(b)} (transB={(transB ? 1 : 0)}) do not match: K is {k} vs {kb}");
        }

        if (c.Has(2))
        {
            var cs = c.Shape(2);
            bool ok = cs.Length <= 2;
            if (ok)
            {
                int cm = cs.Length == 2 ? cs[0] : 1;
                int cn = cs.Length >= 1 ? cs[^1] : 1;
                ok = (cm == 1 || cm == m) && (cn == 1 || cn == n);
            }

            if (!ok)
            {
                throw node.Error($"C {OnnxTensor.FormatShape(cs)} cannot be broadcast to the output [{m}, {n}]");
            }
        }

        return ([m, n], m, n, k);
    }
}
