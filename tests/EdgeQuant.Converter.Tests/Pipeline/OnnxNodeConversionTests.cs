using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Runtime;
using Google.Protobuf;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// Robustness of the whole conversion on models nobody here designed: every case of ONNX's own
/// operator test data (Debian libonnx-testdata) whose ops we import is lowered, calibrated on its
/// test input, quantized, packed, loaded and run. Each case must either convert and run, or be
/// refused with a ConversionException; any other exception is a bug.
/// </summary>
[TestFixture]
public class OnnxNodeConversionTests
{
    private const string Root = "/usr/share/libonnx-testdata/data/node";

    [Test]
    public void EveryImportableOnnxNodeCaseConvertsOrIsRefusedClearly()
    {
        if (!Directory.Exists(Root)) Assert.Ignore($"{Root} not found: install the Debian package libonnx-testdata");
        int converted = 0, refused = 0;
        var failures = new List<string>();
        var tmp = Directory.CreateTempSubdirectory("eq-node-").FullName;
        try
        {
            foreach (var dir in Directory.GetDirectories(Root).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileName(dir);
                string modelPath = Path.Combine(dir, "model.onnx");
                string input0 = Path.Combine(dir, "test_data_set_0", "input_0.pb");
                if (!File.Exists(modelPath) || !File.Exists(input0)) continue;
                var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
                if (model.Graph is null || model.Graph.Node.Count == 0 || !model.Graph.Node.All(n => n.Domain.Length == 0 && OnnxSupport.IsSupportedOp(n.OpType)))
                    continue;
                // Non-float inputs (shapes, indices) become initializers; one float input must remain.
                var graphInputs = model.Graph.Input.ToList();
                TensorProto? floatInput = null;
                for (int i = 0; i < graphInputs.Count; i++)
                {
                    var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "test_data_set_0", $"input_{i}.pb")));
                    if (proto.DataType == (int)OnnxDataType.Float && floatInput is null) { floatInput = proto; continue; }
                    proto.Name = graphInputs[i].Name;
                    model.Graph.Initializer.Add(proto);
                    model.Graph.Input.Remove(graphInputs[i]);
                }
                if (floatInput is null) continue;
                // The test cases fix every dimension; the converter treats the first as the batch, so make it dynamic.
                foreach (var v in model.Graph.Input.Concat(model.Graph.Output))
                {
                    var dims = v.Type?.TensorType?.Shape?.Dim;
                    if (dims is { Count: > 0 }) dims[0] = new TensorShapeProto.Types.Dimension { DimParam = "N" };
                }
                string path = Path.Combine(tmp, name + ".onnx");
                File.WriteAllBytes(path, model.ToByteArray());
                try
                {
                    var loaded = ModelConverter.Load(path);
                    var t = OnnxImporter.DecodeTensor(floatInput, "input");
                    var shape = t.Shape.Length == 0 ? [1] : t.Shape;
                    var samples = new SampleSet(t.Floats!, shape, name);
                    var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 1 });
                    var interp = new Interpreter(Model.Load(result.Blob));
                    interp.Invoke();
                    converted++;
                }
                catch (ConversionException e)
                {
                    refused++;
                    TestContext.Out.WriteLine($"refused {name}: {e.Message}");
                }
                catch (Exception e)
                {
                    failures.Add($"{name}: {e.GetType().Name}: {e.Message}");
                }
            }
        }
        finally
        {
            Directory.Delete(tmp, true);
        }
        TestContext.Out.WriteLine($"{converted} converted and ran, {refused} refused with a ConversionException");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(converted, Is.GreaterThan(20), "a good part of the cases convert");
    }
}
