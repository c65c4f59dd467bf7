using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Graph;

/// <summary>
/// ONNX's own per-operator conformance cases (Debian package libonnx-testdata) run through the
/// importer and the float executor, for every case whose ops are all supported. Non-float graph
/// inputs (indices, shapes) become initializers, as the converter expects them to be constants.
/// </summary>
public class OnnxNodeTestDataTests
{
    private const string Root = "/usr/share/libonnx-testdata/data/node";

    /// <summary>Cases the converter rejects on purpose; each must fail with a ConversionException.</summary>
    private static readonly HashSet<string> ExpectedUnsupported = new(StringComparer.Ordinal)
    {
        // 3-D pooling
        "test_averagepool_3d_default", "test_maxpool_3d_default",
        // training mode and training-only outputs
        "test_batchnorm_epsilon_training_mode", "test_batchnorm_example_training_mode",
        "test_training_dropout", "test_training_dropout_default", "test_training_dropout_mask",
        "test_training_dropout_default_mask", "test_training_dropout_zero_ratio", "test_training_dropout_zero_ratio_mask",
        "test_dropout_default_mask", "test_dropout_default_mask_ratio",
        // MaxPool Indices output, column-major storage
        "test_maxpool_with_argmax_2d_precomputed_pads", "test_maxpool_with_argmax_2d_precomputed_strides",
        // float16, bfloat16 and string types
        "test_cast_BFLOAT16_to_FLOAT", "test_cast_DOUBLE_to_FLOAT16", "test_cast_FLOAT16_to_DOUBLE", "test_cast_FLOAT16_to_FLOAT",
        "test_cast_FLOAT_to_BFLOAT16", "test_cast_FLOAT_to_FLOAT16", "test_cast_FLOAT_to_STRING", "test_cast_STRING_to_FLOAT",
        "test_castlike_BFLOAT16_to_FLOAT_expanded", "test_castlike_DOUBLE_to_FLOAT16_expanded", "test_castlike_FLOAT16_to_DOUBLE_expanded",
        "test_castlike_FLOAT16_to_FLOAT_expanded", "test_castlike_FLOAT_to_BFLOAT16_expanded", "test_castlike_FLOAT_to_FLOAT16_expanded",
        "test_castlike_FLOAT_to_STRING_expanded", "test_castlike_STRING_to_FLOAT_expanded",
        // float ops on integer data
        "test_clip_default_int8_inbounds", "test_clip_default_int8_max", "test_clip_default_int8_min", "test_maxpool_2d_uint8",
        // opset 1
        "test_globalaveragepool", "test_globalaveragepool_precomputed", "test_globalmaxpool", "test_globalmaxpool_precomputed",
        // 3-D transposed convolution; cubic Resize and tf_crop_and_resize; Split with empty parts
        "test_convtranspose_3d", "test_resize_tf_crop_and_resize", "test_split_zero_size_splits",
        "test_resize_downsample_scales_cubic", "test_resize_downsample_scales_cubic_A_n0p5_exclude_outside",
        "test_resize_downsample_scales_cubic_align_corners", "test_resize_downsample_sizes_cubic",
        "test_resize_upsample_scales_cubic", "test_resize_upsample_scales_cubic_A_n0p5_exclude_outside",
        "test_resize_upsample_scales_cubic_align_corners", "test_resize_upsample_scales_cubic_asymmetric", "test_resize_upsample_sizes_cubic",
        // InstanceNormalization at opset 6; LayerNormalization with its Mean and InvStdDev outputs requested
        "test_instancenorm_epsilon", "test_instancenorm_example",
        "test_layer_normalization_2d_axis0", "test_layer_normalization_2d_axis1", "test_layer_normalization_2d_axis_negative_1",
        "test_layer_normalization_2d_axis_negative_2", "test_layer_normalization_3d_axis0_epsilon", "test_layer_normalization_3d_axis1_epsilon",
        "test_layer_normalization_3d_axis2_epsilon", "test_layer_normalization_3d_axis_negative_1_epsilon", "test_layer_normalization_3d_axis_negative_2_epsilon",
        "test_layer_normalization_3d_axis_negative_3_epsilon", "test_layer_normalization_4d_axis0", "test_layer_normalization_4d_axis1",
        "test_layer_normalization_4d_axis2", "test_layer_normalization_4d_axis3", "test_layer_normalization_4d_axis_negative_1",
        "test_layer_normalization_4d_axis_negative_2", "test_layer_normalization_4d_axis_negative_3", "test_layer_normalization_4d_axis_negative_4",
        "test_layer_normalization_default_axis",
        // opset 6 (below the supported range 7 to 21)
        "test_elu", "test_elu_default", "test_elu_example", "test_hardsigmoid", "test_hardsigmoid_default", "test_hardsigmoid_example",
        "test_selu", "test_selu_default", "test_selu_example", "test_softplus", "test_softplus_example", "test_softsign", "test_softsign_example",
    };

    public static IEnumerable<TestCaseData> Cases()
    {
        if (!Directory.Exists(Root))
        {
            yield return new TestCaseData("").SetName("OnnxNodeTest(libonnx-testdata not installed)");
            yield break;
        }

        foreach (var dir in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
        {
            string modelPath = Path.Combine(dir, "model.onnx");
            if (!File.Exists(modelPath))
            {
                continue;
            }

            var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
            if (model.Graph is null || model.Graph.Node.Count == 0
                || !model.Graph.Node.All(n => n.Domain.Length == 0 && OnnxSupport.IsSupportedOp(n.OpType))
                || !model.Graph.Input.Concat(model.Graph.Output).All(v => v.Type?.ValueCase == TypeProto.ValueOneofCase.TensorType))
            {
                continue;
            }

            yield return new TestCaseData(Path.GetFileName(dir)).SetName($"OnnxNodeTest({Path.GetFileName(dir)})");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesOnnxReferenceOutputs(string name)
    {
        if (name.Length == 0)
        {
            Assert.Ignore($"{Root} not found: install the Debian package libonnx-testdata to run ONNX's operator conformance cases");
        }

        string dir = Path.Combine(Root, name);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "model.onnx")));
        string dataDir = Path.Combine(dir, "test_data_set_0");

        // The importer wants a float runtime input; cases whose inputs are all integers get an unused one.
        model.Graph.Input.Add(Onnx.TestModelBuilder.ValueInfo("unused_float_input", [1]));
        var inputs = new Dictionary<string, OnnxTensor> { ["unused_float_input"] = OnnxTensor.FromFloats([1], [0f]) };
        var graphInputs = model.Graph.Input.Take(model.Graph.Input.Count - 1).ToList();
        for (int i = 0; i < graphInputs.Count; i++)
        {
            var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"input_{i}.pb")));
            if (proto.DataType != (int)OnnxDataType.Float)
            {
                // Some cases store bfloat16 data as UINT16; the declared input type is what the model means.
                proto.Name = graphInputs[i].Name;
                proto.DataType = graphInputs[i].Type.TensorType.ElemType;
                model.Graph.Initializer.Add(proto);
                model.Graph.Input.Remove(graphInputs[i]);
            }
            else
            {
                inputs[graphInputs[i].Name] = OnnxImporter.DecodeTensor(proto, graphInputs[i].Name);
            }
        }

        OnnxGraph graph;
        IReadOnlyDictionary<string, OnnxTensor> values;
        try
        {
            graph = OnnxImporter.Import(model, name);
            values = new OnnxFloatExecutor(graph).RunAll(inputs);
        }
        catch (ConversionException e) when (ExpectedUnsupported.Contains(name))
        {
            Assert.Pass($"rejected as expected: {e.Message}");
            return;
        }

        Assert.That(ExpectedUnsupported, Does.Not.Contain(name), "expected a ConversionException");

        for (int i = 0; i < model.Graph.Output.Count; i++)
        {
            var expected = OnnxImporter.DecodeTensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"output_{i}.pb"))), "expected");
            var actual = values[model.Graph.Output[i].Name];
            Assert.That(actual.Shape, Is.EqualTo(expected.Shape), $"output {i} shape");
            for (int k = 0; k < expected.ElementCount; k++)
            {
                double e = expected.GetAsDouble(k), a = actual.GetAsDouble(k);
                Assert.That(a, Is.EqualTo(e).Within(1e-4 * Math.Max(1, Math.Abs(e))), $"output {i} element {k}");
            }
        }
    }
}
