using EdgeQuant.Converter.Onnx;

namespace EdgeQuant.Converter.Graph.Ops;

/// <summary>
/// Dispatch from op type to the op implementations. Every supported op has exactly one
/// definition of its output shape and of its float / integer result, used both by constant
/// folding and shape inference and by <see cref="OnnxFloatExecutor"/>.
/// </summary>
internal static class OnnxOps
{
    /// <summary>Output shape of a (single-output) node from its input shapes and constant inputs.</summary>
    public static int[] InferShape(OpContext c) => c.Node.OpType switch
    {
        _ when VolumetricOps.Handles(c) => VolumetricOps.InferShape(c),
        _ when ResizeCubic.Handles(c) => ResizeCubic.InferShape(c),
        "Conv" => ConvOp.InferShape(c),
        "MaxPool" or "AveragePool" => PoolOps.InferShape(c),
        "GlobalAveragePool" => PoolOps.InferGlobalShape(c),
        "ReduceMean" or "ReduceMax" or "ReduceSum" => ReduceMeanOp.InferShape(c),
        "GlobalMaxPool" => PoolOps.InferGlobalShape(c),
        "PRelu" => PReluOp.InferShape(c),
        "ArgMax" => ArgMaxOp.InferShape(c),
        "LSTM" or "GRU" => RecurrentOps.InferShape(c),
        "Resize" or "Upsample" => ResizeOp.InferShape(c),
        "DepthToSpace" or "SpaceToDepth" => SpaceDepthOps.InferShape(c),
        "ConvTranspose" => ConvTransposeOp.InferShape(c),
        "Split" => SplitOp.InferShape(c),
        "LayerNormalization" or "InstanceNormalization" => NormalizationOps.InferShape(c),
        "Gemm" => GemmOp.InferShape(c),
        "MatMul" => MatMulOp.InferShape(c),
        "Add" or "Sub" or "Mul" or "Div" => BinaryOps.InferShape(c),
        "Relu" or "LeakyRelu" or "Sigmoid" or "Tanh" or "Clip" => ActivationOps.InferShape(c),
        _ when UnaryFunctions.Handles(c.Node.OpType) => ActivationOps.InferShape(c),
        "Softmax" or "LogSoftmax" => SoftmaxOp.InferShape(c),
        "BatchNormalization" => BatchNormOp.InferShape(c),
        "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Identity" or "Dropout" => ReshapeOps.InferShape(c),
        "Transpose" => TransposeOp.InferShape(c),
        "Concat" => ConcatOp.InferShape(c),
        "Pad" => PadOp.InferShape(c),
        "Gather" => GatherOp.InferShape(c),
        "Slice" => SliceOp.InferShape(c),
        "Cast" => CastOp.InferShape(c),
        "Expand" => ExpandOp.InferShape(c),
        "Constant" or "ConstantOfShape" or "Range" or "Shape" => ConstantOps.InferShape(c),
        _ => throw Unsupported(c.Node),
    };

    /// <summary>Computes a node's (single) output from the values of all its present inputs.</summary>
    public static OnnxTensor Evaluate(OpContext c) => c.Node.OpType switch
    {
        _ when VolumetricOps.Handles(c) => VolumetricOps.Evaluate(c),
        _ when IntegerDataOps.Handles(c) => IntegerDataOps.Evaluate(c),
        _ when ResizeCubic.Handles(c) => ResizeCubic.Evaluate(c),
        "Conv" => ConvOp.Evaluate(c),
        "MaxPool" => PoolOps.EvaluateMaxPool(c),
        "AveragePool" => PoolOps.EvaluateAveragePool(c),
        "GlobalAveragePool" => PoolOps.EvaluateGlobalAveragePool(c),
        "ReduceMean" or "ReduceMax" or "ReduceSum" => ReduceMeanOp.Evaluate(c),
        "GlobalMaxPool" => PoolOps.EvaluateGlobalMaxPool(c),
        "PRelu" => PReluOp.Evaluate(c),
        "ArgMax" => ArgMaxOp.Evaluate(c),
        "LSTM" or "GRU" => RecurrentOps.Evaluate(c),
        "Resize" or "Upsample" => ResizeOp.Evaluate(c),
        "DepthToSpace" or "SpaceToDepth" => SpaceDepthOps.Evaluate(c),
        "ConvTranspose" => ConvTransposeOp.Evaluate(c),
        "Split" => SplitOp.Evaluate(c),
        "LayerNormalization" or "InstanceNormalization" => NormalizationOps.Evaluate(c),
        "Gemm" => GemmOp.Evaluate(c),
        "MatMul" => MatMulOp.Evaluate(c),
        "Add" or "Sub" or "Mul" or "Div" => BinaryOps.Evaluate(c),
        "Relu" or "LeakyRelu" or "Sigmoid" or "Tanh" or "Clip" => ActivationOps.Evaluate(c),
        _ when UnaryFunctions.Handles(c.Node.OpType) => ActivationOps.Evaluate(c),
        "Softmax" or "LogSoftmax" => SoftmaxOp.Evaluate(c),
        "BatchNormalization" => BatchNormOp.Evaluate(c),
        "Reshape" or "Flatten" or "Squeeze" or "Unsqueeze" or "Identity" or "Dropout" => ReshapeOps.Evaluate(c),
        "Transpose" => TransposeOp.Evaluate(c),
        "Concat" => ConcatOp.Evaluate(c),
        "Pad" => PadOp.Evaluate(c),
        "Gather" => GatherOp.Evaluate(c),
        "Slice" => SliceOp.Evaluate(c),
        "Cast" => CastOp.Evaluate(c),
        "Expand" => ExpandOp.Evaluate(c),
        "Constant" or "ConstantOfShape" or "Range" or "Shape" => ConstantOps.Evaluate(c),
        _ => throw Unsupported(c.Node),
    };

    /// <summary>Builds the context for evaluating <paramref name="node"/> on concrete input values.</summary>
    public static OpContext ForEvaluation(OnnxNode node, int opset, Func<string, OnnxTensor> lookup)
    {
        var shapes = new int[]?[node.Inputs.Count];
        var values = new OnnxTensor?[node.Inputs.Count];
        for (int i = 0; i < node.Inputs.Count; i++)
        {
            if (node.Inputs[i].Length > 0)
            {
                var v = lookup(node.Inputs[i]);
                values[i] = v;
                shapes[i] = v.Shape;
            }
        }

        return new OpContext(node, opset, shapes, values);
    }

    private static ConversionException Unsupported(OnnxNode node) =>
        node.Error($"op type '{node.OpType}' is not supported; supported ops: {OnnxSupport.SupportedOpList}");
}
