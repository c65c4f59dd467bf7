using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// What an op implementation sees of one node: its inputs' shapes and, where known, values.
/// During shape inference only constant inputs have values; during evaluation every present
/// input has one. An omitted optional input has neither.
/// </summary>
internal sealed class OpContext
{
    public OpContext(OnnxNode node, int opset, int[]?[] shapes, OnnxTensor?[] values)
    {
        Node = node;
        Opset = opset;
        Shapes = shapes;
        Values = values;
    }

    public OnnxNode Node { get; }

    public int Opset { get; }

    public int[]?[] Shapes { get; }

    public OnnxTensor?[] Values { get; }

    /// <summary>True when input <paramref name="index"/> is present (not omitted).</summary>
    public bool Has(int index) => index < Shapes.Length && Shapes[index] is not null;

    /// <summary>Shape of a present input.</summary>
    public int[] Shape(int index) =>
        (index < Shapes.Length ? Shapes[index] : null) ?? throw Node.Error($"required input {index} is missing");

    /// <summary>Value of an input when known, otherwise null.</summary>
    public OnnxTensor? Value(int index) => index < Values.Length ? Values[index] : null;

    /// <summary>Value of an input that must be known at conversion time (shape-determining inputs).</summary>
    public OnnxTensor Constant(int index, string role)
    {
        if (!Has(index))
        {
            throw Node.Error($"required input {index} ({role}) is missing");
        }

        return Value(index) ?? throw Node.Error(
            $"input '{Node.Inputs[index]}' ({role}) is computed from runtime data; supported: a {role} that is constant at conversion time (after constant folding)");
    }

    /// <summary>Value of an input during evaluation (always known then).</summary>
    public OnnxTensor Tensor(int index) =>
        Value(index) ?? throw Node.Error($"input {index} ('{Node.InputOrEmpty(index)}') has no value");

    /// <summary>Float value of an input during evaluation; integer tensors are an error.</summary>
    public OnnxTensor FloatTensor(int index)
    {
        var t = Tensor(index);
        return t.IsFloat
            ? t
            : throw Node.Error($"input '{Node.Inputs[index]}' has type {OnnxDataTypes.Name(t.DataType)}; supported: FLOAT");
    }

    /// <summary>Rank of a present input, checked against the allowed ranks.</summary>
    public int[] ShapeOfRank(int index, int minRank, int maxRank, string what)
    {
        var s = Shape(index);
        if (s.Length < minRank || s.Length > maxRank)
        {
            string allowed = minRank == maxRank ? $"{minRank}" : maxRank == int.MaxValue ? $"at least {minRank}" : $"{minRank} to {maxRank}";
            throw Node.Error($"input '{Node.Inputs[index]}' ({what}) has shape {OnnxTensor.FormatShape(s)}; expected rank {allowed}");
        }

        return s;
    }
}
