using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Onnx;
using EdgeQuant.Runtime.Format;
using NUnit.Framework;
using static EdgeQuant.Converter.Tests.Onnx.TestModelBuilder;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// The ops of issue 12 item 3 that real edge models use, each in a small model checked by
/// <see cref="EdgeOpsHarness"/> against onnxruntime (float executor, lowered graph, int8 blob,
/// fast vs reference kernels, QDQ export), and each asserting the runtime ops it lowers to.
/// </summary>
[TestFixture]
public class EdgeOpsTests
{
    private static float[] Rand(int seed, int n, float scale = 0.5f)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(((r.NextDouble() * 2) - 1) * scale)).ToArray();
    }

    private static AttributeProto Ints(string name, params long[] v) => Attr(name, v);

    private sealed record Case(string Name, Func<byte[]> Build, int[] Dims, double MinSqnr, OpType[] Expect, int ExportLsb = 1);

    private static readonly Case[] Cases =
    [
        new("gemm_transA_matrixC", () => new TestModelBuilder()
            .Input("x", 1, 24).Output("y", 4, 5)
            .Int64Initializer("shape", [2], 6, 4)
            .FloatInitializer("b", [6, 5], Rand(1, 30))
            .FloatInitializer("c", [4, 5], Rand(2, 20))
            .Node("Reshape", ["x", "shape"], ["a"])
            .Node("Gemm", ["a", "b", "c"], ["y"], "gemm", Attr("transA", 1L), Attr("alpha", 0.7f), Attr("beta", 1.3f))
            .ToBytes(), [24], 30, [OpType.Transpose, OpType.FullyConnected, OpType.Add]),
        new("gemm_transB_columnC", () => new TestModelBuilder()
            .Input("x", 1, 24).Output("y", 4, 5)
            .Int64Initializer("shape", [2], 4, 6)
            .FloatInitializer("b", [5, 6], Rand(3, 30))
            .FloatInitializer("c", [4, 1], Rand(4, 4))
            .Node("Reshape", ["x", "shape"], ["a"])
            .Node("Gemm", ["a", "b", "c"], ["y"], "gemm", Attr("transB", 1L), Attr("beta", 0.5f))
            .ToBytes(), [24], 30, [OpType.FullyConnected, OpType.Add]),
        new("gemm_two_activations", () => new TestModelBuilder()
            .Input("x", 1, 24).Output("y", 4, 4)
            .Int64Initializer("shape", [2], 4, 6)
            .FloatInitializer("c", [4], Rand(5, 4))
            .Node("Reshape", ["x", "shape"], ["a"])
            .Node("Gemm", ["a", "a", "c"], ["y"], "gemm", Attr("transB", 1L), Attr("alpha", 0.25f))
            .ToBytes(), [24], 28, [OpType.BatchMatMul, OpType.Add]),
        new("gemm_constant_A", () => new TestModelBuilder()
            .Input("x", 1, 24).Output("y", 3, 4)
            .Int64Initializer("shape", [2], 6, 4)
            .FloatInitializer("a", [3, 6], Rand(14, 18, 0.8f))
            .Node("Reshape", ["x", "shape"], ["b"])
            .Node("Gemm", ["a", "b"], ["y"], "gemm")
            .ToBytes(), [24], 30, [OpType.BatchMatMul]),
        new("matmul_attention", () => new TestModelBuilder()
            .Input("x", -1, 2, 5, 6).Output("y", -1, 2, 5, 6)
            .FloatInitializer("wq", [6, 6], Rand(6, 36, 0.6f))
            .FloatInitializer("wk", [6, 6], Rand(7, 36, 0.6f))
            .Node("MatMul", ["x", "wq"], ["q"])
            .Node("MatMul", ["x", "wk"], ["k"])
            .Node("Transpose", ["k"], ["kt"], "kt", Ints("perm", 0, 1, 3, 2))
            .Node("MatMul", ["q", "kt"], ["s"], "scores")
            .Node("Softmax", ["s"], ["p"], "softmax", Attr("axis", -1L))
            .Node("MatMul", ["p", "x"], ["y"], "context")
            .ToBytes(), [2, 5, 6], 22, [OpType.BatchMatMul, OpType.Softmax], ExportLsb: 3),
        new("global_max_pool", () => new TestModelBuilder()
            .Input("x", -1, 3, 7, 5).Output("y", -1, 3, 1, 1)
            .Node("GlobalMaxPool", ["x"], ["y"])
            .ToBytes(), [3, 7, 5], 40, [OpType.MaxPool2D]),
        new("max_pool_dilated", () => new TestModelBuilder()
            .Input("x", -1, 3, 9, 10).Output("y", -1, 3, 8, 4)
            .Node("MaxPool", ["x"], ["y"], "pool", Ints("kernel_shape", 3, 3), Ints("dilations", 2, 2), Ints("strides", 1, 2), Ints("pads", 1, 1, 2, 0))
            .ToBytes(), [3, 9, 10], 40, [OpType.IndexSelect, OpType.MaxPool2D]),
        new("reduce_max", () => new TestModelBuilder()
            .Input("x", -1, 3, 4, 5).Output("y", -1, 4)
            .Node("ReduceMax", ["x"], ["y"], "rmax", Ints("axes", 1, 3), Attr("keepdims", 0L))
            .ToBytes(), [3, 4, 5], 40, [OpType.MaxPool2D]),
        new("reduce_sum", () => new TestModelBuilder()
            .Input("x", -1, 3, 4, 5).Output("y", -1, 3, 1, 5)
            .Int64Initializer("axes", [1], 2)
            .Node("ReduceSum", ["x", "axes"], ["y"], "rsum", Attr("keepdims", 1L))
            .ToBytes(), [3, 4, 5], 35, [OpType.Mean]),
        new("prelu_scalar", () => new TestModelBuilder()
            .Input("x", -1, 4, 5, 5).Output("y", -1, 4, 5, 5)
            .FloatInitializer("s", [1], 0.2f)
            .Node("PRelu", ["x", "s"], ["y"])
            .ToBytes(), [4, 5, 5], 35, [OpType.Lookup]),
        new("prelu_per_channel", () => new TestModelBuilder()
            .Input("x", -1, 4, 5, 5).Output("y", -1, 4, 5, 5)
            .FloatInitializer("s", [4, 1, 1], 0.1f, 0.25f, -0.3f, 0.6f)
            .Node("PRelu", ["x", "s"], ["y"])
            .ToBytes(), [4, 5, 5], 30, [OpType.Lookup, OpType.Mul, OpType.Add]),
        new("silu", () => new TestModelBuilder()
            .Input("x", -1, 8, 5, 5).Output("y", -1, 8, 5, 5)
            .Node("Sigmoid", ["x"], ["s"])
            .Node("Mul", ["s", "x"], ["y"])
            .ToBytes(), [8, 5, 5], 35, [OpType.Lookup]),
        new("hard_swish", () => new TestModelBuilder(14)
            .Input("x", -1, 8, 5).Output("y", -1, 8, 5)
            .Node("HardSwish", ["x"], ["y"])
            .ToBytes(), [8, 5], 35, [OpType.Lookup]),
        new("resize_nearest_half_pixel", () => new TestModelBuilder()
            .Input("x", -1, 3, 4, 5).Output("y", -1, 3, 8, 15)
            .FloatInitializer("scales", [4], 1f, 1f, 2f, 3f)
            .Node("Resize", ["x", "", "scales"], ["y"], "resize", Attr("mode", "nearest"))
            .ToBytes(), [3, 4, 5], 40, [OpType.IndexSelect]),
        new("resize_nearest_sizes_asymmetric_floor", () => new TestModelBuilder()
            .Input("x", -1, 3, 6, 5).Output("y", -1, 3, 4, 9)
            .Int64Initializer("sizes", [4], 1, 3, 4, 9)
            .Node("Resize", ["x", "", "", "sizes"], ["y"], "resize", Attr("mode", "nearest"), Attr("coordinate_transformation_mode", "asymmetric"), Attr("nearest_mode", "floor"))
            .ToBytes(), [3, 6, 5], 40, [OpType.IndexSelect]),
        new("resize_linear_half_pixel", () => new TestModelBuilder()
            .Input("x", -1, 3, 4, 5).Output("y", -1, 3, 8, 10)
            .FloatInitializer("scales", [4], 1f, 1f, 2f, 2f)
            .Node("Resize", ["x", "", "scales"], ["y"], "resize", Attr("mode", "linear"))
            .ToBytes(), [3, 4, 5], 30, [OpType.FullyConnected]),
        new("resize_linear_align_corners", () => new TestModelBuilder()
            .Input("x", -1, 2, 5, 4).Output("y", -1, 2, 9, 7)
            .Int64Initializer("sizes", [4], 1, 2, 9, 7)
            .Node("Resize", ["x", "", "", "sizes"], ["y"], "resize", Attr("mode", "linear"), Attr("coordinate_transformation_mode", "align_corners"))
            .ToBytes(), [2, 5, 4], 30, [OpType.FullyConnected]),
        new("resize_linear_pytorch_half_pixel", () => new TestModelBuilder()
            .Input("x", -1, 2, 6, 6).Output("y", -1, 2, 3, 9)
            .FloatInitializer("scales", [4], 1f, 1f, 0.5f, 1.5f)
            .Node("Resize", ["x", "", "scales"], ["y"], "resize", Attr("mode", "linear"), Attr("coordinate_transformation_mode", "pytorch_half_pixel"))
            .ToBytes(), [2, 6, 6], 30, [OpType.FullyConnected]),
        new("upsample_nearest_opset9", () => new TestModelBuilder(9)
            .Input("x", -1, 3, 4, 5).Output("y", -1, 3, 8, 10)
            .FloatInitializer("scales", [4], 1f, 1f, 2f, 2f)
            .Node("Upsample", ["x", "scales"], ["y"], "up", Attr("mode", "nearest"))
            .ToBytes(), [3, 4, 5], 40, [OpType.IndexSelect]),
        new("split_sub", () => new TestModelBuilder()
            .Input("x", -1, 6, 4).Output("y", -1, 3, 4)
            .Int64Initializer("split", [2], 3, 3)
            .Node("Split", ["x", "split"], ["a", "b"], "split", Attr("axis", 1L))
            .Node("Sub", ["a", "b"], ["y"])
            .ToBytes(), [6, 4], 35, [OpType.IndexSelect, OpType.Sub]),
        new("slice_negative_step", () => new TestModelBuilder()
            .Input("x", -1, 4, 10).Output("y", -1, 2, 4)
            .Int64Initializer("starts", [2], 1, 8).Int64Initializer("ends", [2], 3, 0)
            .Int64Initializer("axes", [2], 1, 2).Int64Initializer("steps", [2], 1, -2)
            .Node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
            .ToBytes(), [4, 10], 40, [OpType.IndexSelect]),
        new("gather_indices", () => new TestModelBuilder()
            .Input("x", -1, 5, 6).Output("y", -1, 5, 3)
            .Int64Initializer("i", [3], 4, 0, -1)
            .Node("Gather", ["x", "i"], ["y"], "gather", Attr("axis", 2L))
            .ToBytes(), [5, 6], 40, [OpType.IndexSelect]),
        new("gather_scalar", () => new TestModelBuilder()
            .Input("x", -1, 5, 6).Output("y", -1, 6)
            .Initializer(Int64Tensor("i", [], [3]))
            .Node("Gather", ["x", "i"], ["y"], "gather", Attr("axis", 1L))
            .ToBytes(), [5, 6], 40, [OpType.IndexSelect]),
        new("pad_reflect", () => new TestModelBuilder()
            .Input("x", -1, 3, 5, 6).Output("y", -1, 3, 8, 9)
            .Int64Initializer("pads", [8], 0, 0, 1, 2, 0, 0, 2, 1)
            .Node("Pad", ["x", "pads"], ["y"], "pad", Attr("mode", "reflect"))
            .ToBytes(), [3, 5, 6], 40, [OpType.IndexSelect]),
        new("pad_edge_1d", () => new TestModelBuilder()
            .Input("x", -1, 3, 7).Output("y", -1, 3, 12)
            .Int64Initializer("pads", [6], 0, 0, 3, 0, 0, 2)
            .Node("Pad", ["x", "pads"], ["y"], "pad", Attr("mode", "edge"))
            .ToBytes(), [3, 7], 40, [OpType.IndexSelect]),
        new("depth_to_space_dcr", () => new TestModelBuilder()
            .Input("x", -1, 8, 3, 4).Output("y", -1, 2, 6, 8)
            .Node("DepthToSpace", ["x"], ["y"], "d2s", Attr("blocksize", 2L))
            .ToBytes(), [8, 3, 4], 40, [OpType.Transpose]),
        new("depth_to_space_crd", () => new TestModelBuilder()
            .Input("x", -1, 8, 3, 4).Output("y", -1, 2, 6, 8)
            .Node("DepthToSpace", ["x"], ["y"], "d2s", Attr("blocksize", 2L), Attr("mode", "CRD"))
            .ToBytes(), [8, 3, 4], 40, [OpType.Transpose]),
        new("space_to_depth", () => new TestModelBuilder()
            .Input("x", -1, 3, 6, 4).Output("y", -1, 12, 3, 2)
            .Node("SpaceToDepth", ["x"], ["y"], "s2d", Attr("blocksize", 2L))
            .ToBytes(), [3, 6, 4], 40, [OpType.Transpose]),
        new("conv_transpose_2d", () => new TestModelBuilder()
            .Input("x", -1, 4, 5, 5).Output("y", -1, 3, 10, 10)
            .FloatInitializer("w", [4, 3, 3, 3], Rand(8, 108, 0.4f))
            .FloatInitializer("b", [3], 0.1f, -0.2f, 0.05f)
            .Node("ConvTranspose", ["x", "w", "b"], ["y"], "deconv", Ints("strides", 2, 2), Ints("pads", 1, 1, 1, 1), Ints("output_padding", 1, 1))
            .ToBytes(), [4, 5, 5], 30, [OpType.IndexSelect, OpType.Conv2D]),
        new("conv_transpose_depthwise_dilated", () => new TestModelBuilder()
            .Input("x", -1, 4, 6, 5).Output("y", -1, 4, 12, 13)
            .FloatInitializer("w", [4, 1, 3, 2], Rand(9, 24, 0.6f))
            .Node("ConvTranspose", ["x", "w"], ["y"], "deconv", Attr("group", 4L), Ints("strides", 2, 3), Ints("dilations", 2, 1), Ints("pads", 2, 0, 1, 1))
            .ToBytes(), [4, 6, 5], 30, [OpType.IndexSelect, OpType.DepthwiseConv2D]),
        new("conv_transpose_1d_output_shape", () => new TestModelBuilder()
            .Input("x", -1, 4, 9).Output("y", -1, 6, 19)
            .FloatInitializer("w", [4, 6, 4], Rand(10, 96, 0.4f))
            .Node("ConvTranspose", ["x", "w"], ["y"], "deconv", Ints("strides", 2), Ints("output_shape", 19))
            .ToBytes(), [4, 9], 30, [OpType.IndexSelect, OpType.Conv2D]),
        new("layer_norm_last_axis", () => new TestModelBuilder(17)
            .Input("x", -1, 4, 16).Output("y", -1, 4, 16)
            .FloatInitializer("g", [16], Rand(11, 16, 1f).Select(v => 1 + v).ToArray())
            .FloatInitializer("b", [16], Rand(12, 16, 0.3f))
            .Node("LayerNormalization", ["x", "g", "b"], ["y"], "ln", Attr("epsilon", 1e-5f))
            .ToBytes(), [4, 16], 30, [OpType.Mean, OpType.Sub, OpType.Lookup, OpType.DepthwiseConv2D]),
        new("layer_norm_two_axes", () => new TestModelBuilder(17)
            .Input("x", -1, 3, 8).Output("y", -1, 3, 8)
            .FloatInitializer("g", [3, 8], Rand(13, 24, 1f).Select(v => 1 + v).ToArray())
            .Node("LayerNormalization", ["x", "g"], ["y"], "ln", Attr("axis", 1L))
            .ToBytes(), [3, 8], 30, [OpType.Mean, OpType.Mul]),
        new("instance_norm", () => new TestModelBuilder()
            .Input("x", -1, 3, 5, 6).Output("y", -1, 3, 5, 6)
            .FloatInitializer("g", [3], 1.2f, 0.7f, -0.9f)
            .FloatInitializer("b", [3], 0.1f, -0.4f, 0.25f)
            .Node("InstanceNormalization", ["x", "g", "b"], ["y"], "in", Attr("epsilon", 1e-3f))
            .ToBytes(), [3, 5, 6], 30, [OpType.Mean, OpType.Lookup, OpType.Add]),
        new("log_softmax_last_axis", () => new TestModelBuilder()
            .Input("x", -1, 10).Output("y", -1, 10)
            .Node("LogSoftmax", ["x"], ["y"], "lsm", Attr("axis", -1L))
            .ToBytes(), [10], 28, [OpType.MaxPool2D, OpType.Lookup, OpType.Mean, OpType.Sub]),
        new("log_softmax_channel_axis", () => new TestModelBuilder()
            .Input("x", -1, 6, 3, 4).Output("y", -1, 6, 3, 4)
            .Node("LogSoftmax", ["x"], ["y"], "lsm", Attr("axis", 1L))
            .ToBytes(), [6, 3, 4], 28, [OpType.MaxPool2D, OpType.Lookup, OpType.Mean, OpType.Sub]),
    ];

    public static IEnumerable<TestCaseData> All() => Cases.Select(c => new TestCaseData(c.Name).SetName($"EdgeOp({c.Name})"));

    [TestCaseSource(nameof(All))]
    public void MatchesOnnxRuntimeLowersQuantizesAndExports(string name)
    {
        var c = Cases.Single(x => x.Name == name);
        var report = EdgeOpsHarness.Check(name, c.Build(), c.Dims, c.MinSqnr, c.ExportLsb);
        foreach (var t in c.Expect) Assert.That(report.Ops, Does.Contain(t), $"{name}: lowered ops");
    }
}
