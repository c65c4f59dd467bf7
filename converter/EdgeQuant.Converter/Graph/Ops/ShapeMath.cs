using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>Shape arithmetic shared by the op implementations.</summary>
internal static class ShapeMath
{
    /// <summary>Maps an ONNX axis in [-rank, rank) to [0, rank).</summary>
    public static int NormalizeAxis(OnnxNode node, long axis, int rank, string what = "axis")
    {
        if (axis < -rank || axis >= rank)
        {
            throw node.Error($"{what} {axis} is out of range for rank {rank} (valid: {-rank} to {rank - 1})");
        }

        return (int)(axis < 0 ? axis + rank : axis);
    }

    /// <summary>Row-major strides (in elements) of a shape.</summary>
    public static int[] Strides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--)
        {
            strides[i] = s;
            s *= shape[i];
        }

        return strides;
    }

    /// <summary>Product of dims [from, to).</summary>
    public static int Product(ReadOnlySpan<int> shape, int from, int to)
    {
        long p = 1;
        for (int i = from; i < to; i++)
        {
            p *= shape[i];
        }

        return checked((int)p);
    }

    /// <summary>ONNX multidirectional (numpy) broadcasting of two shapes.</summary>
    public static int[] Broadcast(OnnxNode node, int[] a, int[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da == db || db == 1)
            {
                result[i] = da;
            }
            else if (da == 1)
            {
                result[i] = db;
            }
            else
            {
                throw node.Error($"shapes {OnnxTensor.FormatShape(a)} and {OnnxTensor.FormatShape(b)} cannot be broadcast together (dimension {i}: {da} vs {db})");
            }
        }

        return result;
    }

    /// <summary>
    /// Strides for reading <paramref name="shape"/> as if broadcast to <paramref name="outShape"/>:
    /// 0 for broadcast dimensions, aligned to the output's rank.
    /// </summary>
    public static int[] BroadcastStrides(int[] shape, int[] outShape)
    {
        var strides = new int[outShape.Length];
        var own = Strides(shape);
        int offset = outShape.Length - shape.Length;
        for (int i = 0; i < shape.Length; i++)
        {
            strides[i + offset] = shape[i] == 1 ? 0 : own[i];
        }

        return strides;
    }

    /// <summary>For each element of a broadcast output <paramref name="outShape"/> (row-major), the flat index it reads in <paramref name="inShape"/> (numpy broadcasting, <see cref="BroadcastStrides"/>).</summary>
    public static int[] BroadcastSourceIndex(int[] inShape, int[] outShape)
    {
        var strides = BroadcastStrides(inShape, outShape);
        int count = 1;
        foreach (int d in outShape)
        {
            count *= d;
        }

        var result = new int[count];
        var at = new int[outShape.Length];
        for (int i = 0; i < count; i++)
        {
            int src = 0;
            for (int d = 0; d < outShape.Length; d++)
            {
                src += at[d] * strides[d];
            }

            result[i] = src;
            for (int d = outShape.Length - 1; d >= 0; d--)
            {
                if (++at[d] < outShape[d])
                {
                    break;
                }

                at[d] = 0;
            }
        }

        return result;
    }

    /// <summary>The values of a 1-D (or scalar) integer tensor, as used for shapes, axes and pads.</summary>
    public static long[] ReadInts(OnnxNode node, OnnxTensor t, string role)
    {
        if (t.Rank > 1)
        {
            throw node.Error($"{role} must be a 1-D tensor; got shape {OnnxTensor.FormatShape(t.Shape)}");
        }

        if (t.Int64s is null)
        {
            throw node.Error($"{role} must be an integer tensor; got {OnnxDataTypes.Name(t.DataType)}");
        }

        return t.Int64s;
    }

    /// <summary>A scalar (or single-element) value as double.</summary>
    public static double ReadScalar(OnnxNode node, OnnxTensor t, string role)
    {
        if (t.ElementCount != 1)
        {
            throw node.Error($"{role} must have one element; got shape {OnnxTensor.FormatShape(t.Shape)}");
        }

        return t.GetAsDouble(0);
    }

    /// <summary>Converts a checked dimension from long, rejecting negative and huge values.</summary>
    public static int ToDim(OnnxNode node, long value, string what)
    {
        if (value < 0 || value > int.MaxValue)
        {
            throw node.Error($"{what} would be {value}");
        }

        return (int)value;
    }

    /// <summary>Shape equality.</summary>
    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}
