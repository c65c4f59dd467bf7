using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;

namespace EdgeQuant.Converter.Tests.Graph;

/// <summary>One ONNX conformance case: a folder of libonnx-testdata with model.onnx and test_data_set_0.</summary>
/// <param name="Suite">The folder under data/: node, pytorch-converted or pytorch-operator.</param>
/// <param name="Name">The case's folder name, e.g. test_add_bcast.</param>
/// <param name="Directory">The case's folder.</param>
public sealed record ConformanceCase(string Suite, string Name, string Directory)
{
    /// <summary>"suite/name", the key used in lists of expected failures.</summary>
    public string Id => $"{Suite}/{Name}";
}

/// <summary>
/// ONNX's own operator conformance cases (Debian package libonnx-testdata): which cases are in
/// scope (every op supported, tensors only) and how one is run through the importer and the float
/// executor and compared with the expected outputs. Shared by the float conformance test and the
/// int8 conversion test, so both select the same cases.
/// </summary>
internal static class OnnxConformance
{
    /// <summary>Where Debian installs the test data.</summary>
    public const string DataRoot = "/usr/share/libonnx-testdata/data";

    /// <summary>The suites run: per-node cases, and the two suites exported by PyTorch (mostly opset 6).</summary>
    public static readonly string[] Suites = ["node", "pytorch-converted", "pytorch-operator"];

    /// <summary>Absolute tolerance of every comparison.</summary>
    public const double AbsoluteTolerance = 1e-4;

    /// <summary>Relative tolerance, added for graphs with an op computing exp or log.</summary>
    public const double RelativeTolerance = 1e-4;

    /// <summary>Ops whose float results go through exp or log (libm differences grow with magnitude).</summary>
    private static readonly HashSet<string> TranscendentalOps = new(StringComparer.Ordinal)
    {
        "Softmax", "LogSoftmax", "Sigmoid", "Tanh", "Elu", "Selu", "Softplus", "Erf", "Exp", "Log",
        "Gelu", "Mish", "Celu", "Pow", "HardSwish", "Swish", "SiLU", "LayerNormalization", "InstanceNormalization",
        "GRU", "LSTM",
    };

    /// <summary>True when libonnx-testdata is installed.</summary>
    public static bool IsInstalled => System.IO.Directory.Exists(DataRoot);

    /// <summary>Every case, over all suites, whose ops are all in <see cref="OnnxSupport"/>'s list and whose inputs and outputs are tensors.</summary>
    public static IReadOnlyList<ConformanceCase> SupportedCases => Cached.Value;

    private static readonly Lazy<IReadOnlyList<ConformanceCase>> Cached = new(Discover);

    private static List<ConformanceCase> Discover()
    {
        var cases = new List<ConformanceCase>();
        if (!IsInstalled)
        {
            return cases;
        }

        foreach (string suite in Suites)
        {
            string root = Path.Combine(DataRoot, suite);
            if (!System.IO.Directory.Exists(root))
            {
                continue;
            }

            foreach (var dir in System.IO.Directory.GetDirectories(root).Order(StringComparer.Ordinal))
            {
                string modelPath = Path.Combine(dir, "model.onnx");
                if (!File.Exists(modelPath) || !File.Exists(Path.Combine(dir, "test_data_set_0", "output_0.pb")))
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

                cases.Add(new ConformanceCase(suite, Path.GetFileName(dir), dir));
            }
        }

        return cases;
    }

    /// <summary>
    /// The case's model with its data: non-float runtime inputs (indices, shapes) become
    /// initializers, as the converter wants them constant; float inputs stay runtime inputs (in
    /// <paramref name="floatInputs"/>). A model left without a float input gets an unused one.
    /// </summary>
    public static ModelProto LoadWithData(ConformanceCase c, out Dictionary<string, OnnxTensor> floatInputs)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(c.Directory, "model.onnx")));
        string dataDir = Path.Combine(c.Directory, "test_data_set_0");
        var initializerNames = new HashSet<string>(model.Graph.Initializer.Select(t => t.Name), StringComparer.Ordinal);

        // Before IR version 4 initializers were listed as inputs too; the data files cover the others only.
        var graphInputs = model.Graph.Input.Where(v => !initializerNames.Contains(v.Name)).ToList();
        floatInputs = new Dictionary<string, OnnxTensor>(StringComparer.Ordinal);
        for (int i = 0; i < graphInputs.Count; i++)
        {
            var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dataDir, $"input_{i}.pb")));
            if (graphInputs[i].Type.TensorType.ElemType != (int)OnnxDataType.Float)
            {
                // Some cases store bfloat16 data as UINT16; the declared input type is what the model means.
                proto.Name = graphInputs[i].Name;
                proto.DataType = graphInputs[i].Type.TensorType.ElemType;
                model.Graph.Initializer.Add(proto);
                model.Graph.Input.Remove(graphInputs[i]);
            }
            else
            {
                floatInputs[graphInputs[i].Name] = OnnxImporter.DecodeTensor(proto, graphInputs[i].Name);
            }
        }

        if (floatInputs.Count == 0)
        {
            model.Graph.Input.Add(Onnx.TestModelBuilder.ValueInfo("unused_float_input", [1]));
            floatInputs["unused_float_input"] = OnnxTensor.FromFloats([1], [0f]);
        }

        return model;
    }

    /// <summary>The expected outputs of the case, in graph output order.</summary>
    public static List<OnnxTensor> ExpectedOutputs(ConformanceCase c, ModelProto model)
    {
        var list = new List<OnnxTensor>();
        for (int i = 0; i < model.Graph.Output.Count; i++)
        {
            var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(c.Directory, "test_data_set_0", $"output_{i}.pb")));

            // Some cases store bfloat16 results as UINT16 bits; the declared output type is what they mean.
            int declared = model.Graph.Output[i].Type.TensorType.ElemType;
            if (proto.DataType == (int)OnnxDataType.UInt16 && declared is (int)OnnxDataType.BFloat16 or (int)OnnxDataType.Float16)
            {
                proto.DataType = declared;
            }

            list.Add(OnnxImporter.DecodeTensor(proto, $"expected output {i}"));
        }

        return list;
    }

    /// <summary>True when the graph has an op computing exp or log, which earns the relative tolerance.</summary>
    public static bool HasTranscendental(ModelProto model) => model.Graph.Node.Any(n => TranscendentalOps.Contains(n.OpType));

    /// <summary>
    /// Imports and runs the case in the float executor and compares every output. Returns null
    /// when it passes, otherwise why not (a refusal's message, or the first mismatch).
    /// </summary>
    public static string? RunFloat(ConformanceCase c)
    {
        var model = LoadWithData(c, out var inputs);
        IReadOnlyDictionary<string, OnnxTensor> values;
        try
        {
            var graph = OnnxImporter.Import(model, c.Name);
            values = new OnnxFloatExecutor(graph).RunAll(inputs);
        }
        catch (ConversionException e)
        {
            return "refused: " + e.Message;
        }

        var expected = ExpectedOutputs(c, model);
        double relative = HasTranscendental(model) ? RelativeTolerance : 0;
        for (int i = 0; i < expected.Count; i++)
        {
            if (!values.TryGetValue(model.Graph.Output[i].Name, out var actual))
            {
                return $"output {i} '{model.Graph.Output[i].Name}' was not computed";
            }

            string? mismatch = Compare(expected[i], actual, AbsoluteTolerance, relative);
            if (mismatch is not null)
            {
                return $"output {i}: {mismatch}";
            }
        }

        return null;
    }

    /// <summary>Null when <paramref name="actual"/> has the expected shape and every element is within atol + rtol * |expected|.</summary>
    public static string? Compare(OnnxTensor expected, OnnxTensor actual, double atol, double rtol)
    {
        if (!actual.Shape.AsSpan().SequenceEqual(expected.Shape))
        {
            return $"shape {OnnxTensor.FormatShape(actual.Shape)}, expected {OnnxTensor.FormatShape(expected.Shape)}";
        }

        for (int k = 0; k < expected.ElementCount; k++)
        {
            double e = expected.GetAsDouble(k), a = actual.GetAsDouble(k);
            bool bothNaN = double.IsNaN(e) && double.IsNaN(a);
            bool sameInfinity = double.IsInfinity(e) && e == a;
            if (!bothNaN && !sameInfinity && !(Math.Abs(a - e) <= atol + rtol * Math.Abs(e)))
            {
                return $"element {k} is {a:R}, expected {e:R} (tolerance {atol + rtol * Math.Abs(e):G3})";
            }
        }

        return null;
    }
}
