using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Onnx;

namespace EdgeQuant.Converter.Tests.Graph.Ops;

/// <summary>
/// Runs one op through the whole path: a one-node model is built as protobuf, imported and run
/// by <see cref="OnnxFloatExecutor"/>. Input "x" is the runtime input; the other inputs are
/// initializers (an empty name marks an omitted optional input).
/// </summary>
internal static class OpRunner
{
    public static float[] Run(
        string opType,
        float[] x,
        int[] xShape,
        out int[] outShape,
        (string Name, OnnxTensor? Value)[]? constants = null,
        int opset = 13,
        params AttributeProto[] attributes)
    {
        var graph = Build(opType, xShape, constants, opset, attributes);
        return new OnnxFloatExecutor(graph).Run(x, xShape, out outShape);
    }

    public static float[] Run(string opType, float[] x, int[] xShape, params AttributeProto[] attributes) =>
        Run(opType, x, xShape, out _, null, 13, attributes);

    public static OnnxGraph Build(string opType, int[] xShape, (string Name, OnnxTensor? Value)[]? constants, int opset, params AttributeProto[] attributes)
    {
        var b = new TestModelBuilder(opset).Input("x", [.. xShape.Select(d => (long)d)]).OutputUnshaped("y");
        var inputs = new List<string> { "x" };
        foreach (var (name, value) in constants ?? [])
        {
            inputs.Add(value is null ? "" : name);
            if (value is not null)
            {
                b.Initializer(ToProto(name, value));
            }
        }

        b.Node(opType, [.. inputs], ["y"], $"{opType}_under_test", attributes);
        return b.Import();
    }

    public static TensorProto ToProto(string name, OnnxTensor t) => t.IsFloat
        ? TestModelBuilder.FloatTensor(name, t.Shape, t.Floats!)
        : TestModelBuilder.Int64Tensor(name, t.Shape, t.Int64s!);

    /// <summary>0, 1, 2, ... as floats.</summary>
    public static float[] Iota(int count, float start = 0f)
    {
        var r = new float[count];
        for (int i = 0; i < count; i++)
        {
            r[i] = start + i;
        }

        return r;
    }

    public static OnnxTensor F(int[] shape, params float[] values) => OnnxTensor.FromFloats(shape, values);

    public static OnnxTensor I(params long[] values) => OnnxTensor.Vector(values);
}
