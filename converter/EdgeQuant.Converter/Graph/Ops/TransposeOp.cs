using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>ONNX Transpose: output axis i is input axis perm[i] (default: axes reversed).</summary>
internal static class TransposeOp
{
    public static int[] InferShape(OpContext c)
    {
        var x = c.Shape(0);
        var perm = Permutation(c.Node, x.Length);
        var result = new int[x.Length];
        for (int i = 0; i < perm.Length; i++)
        {
            result[i] = x[perm[i]];
        }

        return result;
    }

    public static OnnxTensor Evaluate(OpContext c)
    {
        var t = c.Tensor(0);
        var perm = Permutation(c.Node, t.Rank);
        var outShape = InferShape(c);
        return t.IsFloat
            ? OnnxTensor.FromData(outShape, Run(t.FloatData, t.Shape, perm), null, t.DataType)
            : OnnxTensor.FromData(outShape, null, Run(t.Int64Data, t.Shape, perm), t.DataType);
    }

    /// <summary>Copies <paramref name="x"/> (C order, shape <paramref name="shape"/>) into the permuted layout.</summary>
    public static T[] Run<T>(T[] x, int[] shape, int[] perm)
    {
        int rank = shape.Length;
        var y = new T[x.Length];
        if (y.Length == 0)
        {
            return y;
        }

        var inStrides = ShapeMath.Strides(shape);
        var outShape = new int[rank];
        var srcStrides = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            outShape[i] = shape[perm[i]];
            srcStrides[i] = inStrides[perm[i]];
        }

        if (rank == 0)
        {
            y[0] = x[0];
            return y;
        }

        int inner = outShape[rank - 1];
        int innerStride = srcStrides[rank - 1];
        var index = new int[rank];
        int outer = y.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int src = 0;
            for (int d = 0; d < rank - 1; d++)
            {
                src += index[d] * srcStrides[d];
            }

            int dst = o * inner;
            for (int j = 0; j < inner; j++)
            {
                y[dst + j] = x[src + (j * innerStride)];
            }

            for (int d = rank - 2; d >= 0; d--)
            {
                if (++index[d] < outShape[d])
                {
                    break;
                }

                index[d] = 0;
            }
        }

        return y;
    }

    public static int[] Permutation(OnnxNode node, int rank)
    {
        long[]? attr = node.GetIntsOrNull("perm");
        var perm = new int[rank];
        if (attr is null)
        {
            for (int i = 0; i < rank; i++)
            {
                perm[i] = rank - 1 - i;
            }

            return perm;
        }

        if (attr.Length != rank)
        {
            throw node.Error($"perm [{string.Join(", ", attr)}] has {attr.Length} values but the input has rank {rank}");
        }

        var seen = new bool[rank];
        for (int i = 0; i < rank; i++)
        {
            if (attr[i] < 0 || attr[i] >= rank || seen[attr[i]])
            {
                throw node.Error($"perm [{string.Join(", ", attr)}] is not a permutation of 0..{rank - 1}");
            }

            seen[attr[i]] = true;
            perm[i] = (int)attr[i];
        }

        return perm;
    }
}
