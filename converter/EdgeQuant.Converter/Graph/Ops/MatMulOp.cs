using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX MatMul with numpy semantics: 1-D operands are promoted (a leading 1 for A, a trailing 1
/// for B) and the promoted dimension removed afterwards; leading batch dimensions broadcast.
/// </summary>
internal static class MatMulOp
{
    public static int[] InferShape(OpContext c) => Prepare(c).OutputShape;

    public static OnnxTensor Evaluate(OpContext c)
    {
        var p = Prepare(c);
        var a = c.FloatTensor(0).FloatData;
        var b = c.FloatTensor(1).FloatData;
        int m = p.M, n = p.N, k = p.K;
        int batch = ShapeMath.Product(p.Batch, 0, p.Batch.Length);
        var y = new float[batch * m * n];
        var aStrides = ShapeMath.BroadcastStrides(p.ABatch, p.Batch);
        var bStrides = ShapeMath.BroadcastStrides(p.BBatch, p.Batch);
        var index = new int[p.Batch.Length];
        for (int bi = 0; bi < batch; bi++)
        {
            int aOffset = 0, bOffset = 0;
            for (int d = 0; d < index.Length; d++)
            {
                aOffset += index[d] * aStrides[d];
                bOffset += index[d] * bStrides[d];
            }

            var aMat = a.AsSpan(aOffset * m * k, m * k);
            var bMat = b.AsSpan(bOffset * k * n, k * n);
            var yMat = y.AsSpan(bi * m * n, m * n);
            for (int i = 0; i < m; i++)
            {
                var yRow = yMat.Slice(i * n, n);
                for (int kk = 0; kk < k; kk++)
                {
                    FloatLoops.MultiplyAdd(yRow, bMat.Slice(kk * n, n), aMat[(i * k) + kk]);
                }
            }

            for (int d = index.Length - 1; d >= 0; d--)
            {
                if (++index[d] < p.Batch[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return OnnxTensor.FromFloats(p.OutputShape, y);
    }

    private static (int[] OutputShape, int[] Batch, int[] ABatch, int[] BBatch, int M, int N, int K) Prepare(OpContext c)
    {
        var node = c.Node;
        var a = c.ShapeOfRank(0, 1, int.MaxValue, "A");
        var b = c.ShapeOfRank(1, 1, int.MaxValue, "B");
        int[] a2 = a.Length == 1 ? [1, a[0]] : a;
        int[] b2 = b.Length == 1 ? [b[0], 1] : b;
        int m = a2[^2], k = a2[^1], kb = b2[^2], n = b2[^1];
        if (k != kb)
        {
            throw node.Error($"A {OnnxTensor.FormatShape(a)} and B {OnnxTensor.FormatShape(b)} do not match: K is {k} vs {kb}");
        }

        var aBatch = a2[..^2];
        var bBatch = b2[..^2];
        var batch = ShapeMath.Broadcast(node, aBatch, bBatch);
        var output = new List<int>(batch);
        if (a.Length > 1)
        {
            output.Add(m);
        }

        if (b.Length > 1)
        {
            output.Add(n);
        }

        return ([.. output], batch, aBatch, bBatch, m, n, k);
    }
}
