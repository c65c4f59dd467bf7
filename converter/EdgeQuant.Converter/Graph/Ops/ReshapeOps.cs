using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Ops that only change the shape, never the data order: Reshape, Flatten, Squeeze, Unsqueeze
/// (and Identity / Dropout in inference, which change nothing). Evaluation shares the input's data.
/// </summary>
internal static class ReshapeOps
{
    public static int[] InferShape(OpContext c) => c.Node.OpType switch
    {
        "Reshape" => ReshapeShape(c.Node, c.Shape(0), ShapeMath.ReadInts(c.Node, c.Constant(1, "shape"), "shape"), c.Node.GetInt("allowzero", 0) != 0),
        "Flatten" => FlattenShape(c),
        "Squeeze" => SqueezeShape(c),
        "Unsqueeze" => UnsqueezeShape(c),
        "Dropout" => DropoutShape(c),
        _ => c.Shape(0),
    };

    public static OnnxTensor Evaluate(OpContext c)
    {
        var input = c.Tensor(0);
        if (c.Node.OpType is "Identity" or "Dropout")
        {
            InferShape(c);
            return input;
        }

        return input.WithShape(InferShape(c));
    }

    /// <summary>
    /// Reshape's output shape: 0 copies the input dimension at the same index (unless allowzero),
    /// one -1 is inferred from the element count.
    /// </summary>
    public static int[] ReshapeShape(OnnxNode node, int[] input, long[] target, bool allowZero)
    {
        var result = new int[target.Length];
        int unknown = -1;
        long known = 1;
        bool hasZero = false;
        for (int i = 0; i < target.Length; i++)
        {
            long v = target[i];
            if (v == 0 && !allowZero)
            {
                if (i >= input.Length)
                {
                    throw node.Error($"shape [{string.Join(", ", target)}] copies dimension {i} (0) but the input {OnnxTensor.FormatShape(input)} has rank {input.Length}");
                }

                result[i] = input[i];
            }
            else if (v == -1)
            {
                if (unknown >= 0)
                {
                    throw node.Error($"shape [{string.Join(", ", target)}] has more than one -1");
                }

                unknown = i;
                continue;
            }
            else if (v < -1 || v > int.MaxValue)
            {
                throw node.Error($"shape [{string.Join(", ", target)}] has invalid value {v}");
            }
            else
            {
                result[i] = (int)v;
            }

            hasZero |= result[i] == 0;
            known *= result[i];
        }

        if (allowZero && hasZero && unknown >= 0)
        {
            throw node.Error($"shape [{string.Join(", ", target)}] has both 0 and -1 with allowzero=1");
        }

        long total = OnnxTensor.CountElements(input);
        if (unknown >= 0)
        {
            if (known == 0 || total % known != 0)
            {
                throw node.Error($"cannot reshape {OnnxTensor.FormatShape(input)} ({total} elements) to [{string.Join(", ", target)}]");
            }

            result[unknown] = (int)(total / known);
        }
        else if (known != total)
        {
            throw node.Error($"cannot reshape {OnnxTensor.FormatShape(input)} ({total} elements) to [{string.Join(", ", target)}] ({known} elements)");
        }

        return result;
    }

    /// <summary>Dropout is the identity in inference; a training_mode input (opset 12+) must be a constant false.</summary>
    private static int[] DropoutShape(OpContext c)
    {
        if (c.Has(2))
        {
            var mode = c.Constant(2, "training_mode");
            if (mode.ElementCount != 1 || mode.GetAsDouble(0) != 0)
            {
                throw c.Node.Error("training_mode is true; supported: inference (training_mode absent or false)");
            }
        }

        return c.Shape(0);
    }

    private static int[] FlattenShape(OpContext c)
    {
        var x = c.Shape(0);
        long axis = c.Node.GetInt("axis", 1);
        if (axis < -x.Length || axis > x.Length)
        {
            throw c.Node.Error($"axis {axis} is out of range for rank {x.Length} (valid: {-x.Length} to {x.Length})");
        }

        int a = (int)(axis < 0 ? axis + x.Length : axis);
        return [ShapeMath.Product(x, 0, a), ShapeMath.Product(x, a, x.Length)];
    }

    private static int[] SqueezeShape(OpContext c)
    {
        var x = c.Shape(0);
        long[]? axes = c.Opset < 13
            ? c.Node.GetIntsOrNull("axes")
            : c.Has(1) ? ShapeMath.ReadInts(c.Node, c.Constant(1, "axes"), "axes") : null;
        var remove = new bool[x.Length];
        if (axes is null)
        {
            for (int i = 0; i < x.Length; i++)
            {
                remove[i] = x[i] == 1;
            }
        }
        else
        {
            foreach (long axis in axes)
            {
                int a = ShapeMath.NormalizeAxis(c.Node, axis, x.Length, "axes value");
                if (x[a] != 1)
                {
                    throw c.Node.Error($"cannot squeeze axis {axis} of shape {OnnxTensor.FormatShape(x)}: its size is {x[a]}, not 1");
                }

                remove[a] = true;
            }
        }

        var result = new List<int>();
        for (int i = 0; i < x.Length; i++)
        {
            if (!remove[i])
            {
                result.Add(x[i]);
            }
        }

        return [.. result];
    }

    private static int[] UnsqueezeShape(OpContext c)
    {
        var x = c.Shape(0);
        long[] axes = c.Opset < 13
            ? c.Node.GetInts("axes")
            : ShapeMath.ReadInts(c.Node, c.Constant(1, "axes"), "axes");
        int rank = x.Length + axes.Length;
        var inserted = new bool[rank];
        foreach (long axis in axes)
        {
            int a = ShapeMath.NormalizeAxis(c.Node, axis, rank, "axes value");
            if (inserted[a])
            {
                throw c.Node.Error($"axes [{string.Join(", ", axes)}] repeat axis {a}");
            }

            inserted[a] = true;
        }

        var result = new int[rank];
        int src = 0;
        for (int i = 0; i < rank; i++)
        {
            result[i] = inserted[i] ? 1 : x[src++];
        }

        return result;
    }
}
