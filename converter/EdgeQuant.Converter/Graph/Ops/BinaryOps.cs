using System.Numerics;
using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// ONNX Add, Sub, Mul and Div with multidirectional (numpy) broadcasting, on float32 or on
/// integers (integer Div truncates toward zero, as in C).
/// </summary>
internal static class BinaryOps
{
    private interface IOp<T>
    {
        static abstract T Apply(T a, T b);
    }

    public static int[] InferShape(OpContext c) => ShapeMath.Broadcast(c.Node, c.Shape(0), c.Shape(1));

    public static OnnxTensor Evaluate(OpContext c)
    {
        var a = c.Tensor(0);
        var b = c.Tensor(1);
        var outShape = InferShape(c);
        if (a.IsFloat != b.IsFloat)
        {
            throw c.Node.Error($"inputs have different types ({OnnxDataTypes.Name(a.DataType)} and {OnnxDataTypes.Name(b.DataType)})");
        }

        if (a.IsFloat)
        {
            var r = c.Node.OpType switch
            {
                "Add" => Run<float, AddOp<float>>(a.FloatData, a.Shape, b.FloatData, b.Shape, outShape),
                "Sub" => Run<float, SubOp<float>>(a.FloatData, a.Shape, b.FloatData, b.Shape, outShape),
                "Mul" => Run<float, MulOp<float>>(a.FloatData, a.Shape, b.FloatData, b.Shape, outShape),
                _ => Run<float, DivOp<float>>(a.FloatData, a.Shape, b.FloatData, b.Shape, outShape),
            };
            return OnnxTensor.FromData(outShape, r, null, a.DataType);
        }

        if (c.Node.OpType == "Div" && Array.IndexOf(b.Int64Data, 0L) >= 0)
        {
            throw c.Node.Error("integer division by zero");
        }

        var ri = c.Node.OpType switch
        {
            "Add" => Run<long, AddOp<long>>(a.Int64Data, a.Shape, b.Int64Data, b.Shape, outShape),
            "Sub" => Run<long, SubOp<long>>(a.Int64Data, a.Shape, b.Int64Data, b.Shape, outShape),
            "Mul" => Run<long, MulOp<long>>(a.Int64Data, a.Shape, b.Int64Data, b.Shape, outShape),
            _ => Run<long, DivOp<long>>(a.Int64Data, a.Shape, b.Int64Data, b.Shape, outShape),
        };
        for (int i = 0; i < ri.Length; i++)
        {
            ri[i] = OnnxDataTypes.WrapInteger(ri[i], a.DataType);
        }

        return OnnxTensor.FromInt64s(outShape, ri, a.DataType);
    }

    private static T[] Run<T, TOp>(T[] a, int[] aShape, T[] b, int[] bShape, int[] outShape)
        where TOp : IOp<T>
    {
        var y = new T[OnnxTensor.CountElements(outShape)];
        if (y.Length == 0)
        {
            return y;
        }

        if (a.Length == y.Length && b.Length == y.Length)
        {
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = TOp.Apply(a[i], b[i]);
            }

            return y;
        }

        if (b.Length == 1 && a.Length == y.Length)
        {
            T bv = b[0];
            for (int i = 0; i < y.Length; i++)
            {
                y[i] = TOp.Apply(a[i], bv);
            }

            return y;
        }

        // General case: walk the output with an index counter, innermost axis in a tight loop.
        var sa = ShapeMath.BroadcastStrides(aShape, outShape);
        var sb = ShapeMath.BroadcastStrides(bShape, outShape);
        int rank = outShape.Length;
        int inner = outShape[rank - 1];
        int saInner = sa[rank - 1];
        int sbInner = sb[rank - 1];
        var index = new int[rank];
        int outer = y.Length / inner;
        for (int o = 0; o < outer; o++)
        {
            int ia = 0, ib = 0;
            for (int d = 0; d < rank - 1; d++)
            {
                ia += index[d] * sa[d];
                ib += index[d] * sb[d];
            }

            int baseOut = o * inner;
            for (int j = 0; j < inner; j++)
            {
                y[baseOut + j] = TOp.Apply(a[ia + (j * saInner)], b[ib + (j * sbInner)]);
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

    private readonly struct AddOp<T> : IOp<T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a + b;
    }

    private readonly struct SubOp<T> : IOp<T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a - b;
    }

    private readonly struct MulOp<T> : IOp<T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a * b;
    }

    private readonly struct DivOp<T> : IOp<T>
        where T : INumber<T>
    {
        public static T Apply(T a, T b) => a / b;
    }
}
