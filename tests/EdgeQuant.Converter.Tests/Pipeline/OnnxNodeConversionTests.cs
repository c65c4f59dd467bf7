using System.Text;
using EdgeQuant.Converter.Graph;
using EdgeQuant.Converter.Onnx;
using EdgeQuant.Converter.Onnx.Proto;
using EdgeQuant.Converter.Tests.Graph;
using EdgeQuant.Runtime;
using Google.Protobuf;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Pipeline;

/// <summary>
/// The whole conversion on models nobody here designed: every supported-op case of ONNX's own
/// operator test data (the same cases as <see cref="OnnxNodeTestDataTests"/>: node,
/// pytorch-converted and pytorch-operator) with the input shapes the model declares, lowered,
/// calibrated on its test input, quantized, packed, loaded and run by the interpreter. Each case
/// must either convert, or be refused with a <see cref="ConversionException"/>; any other exception
/// is a bug. A converted case's int8 output is compared with the float executor's output on the
/// same input: every element within <see cref="ScaleSteps"/> steps of the output's quantization
/// scale (plus the error the input's own rounding can cause, measured by running the float graph on
/// the dequantized input) except the cases listed in <see cref="Imprecise"/> with the reason.
/// </summary>
[TestFixture]
public class OnnxNodeConversionTests
{
    /// <summary>Allowed int8 error in output quantization steps, on top of what the input's rounding explains.</summary>
    private const double ScaleSteps = 2.0;

    /// <summary>Converted cases whose int8 output is further from float than <see cref="ScaleSteps"/>, with the reason.</summary>
    private static readonly Dictionary<string, string> Imprecise = new(StringComparer.Ordinal)
    {
        // Measured after merging conv-ops' new ops; both are their lowerings, reported to them.
        ["node/test_logsoftmax_large_number"] = "LogSoftmax over inputs near 10000: the int8 result is about 70 output steps from float",
        ["pytorch-operator/test_operator_symbolic_override"] = "InstanceNormalization over [2, 10, 32, 32]: 2.2 output steps, just above the bound",
    };

    private sealed record Outcome(string Id, string Kind, string Detail, double Steps);

    [Test]
    public void EverySupportedCaseConvertsOrIsRefusedClearly_AndInt8TracksFloat()
    {
        if (!OnnxConformance.IsInstalled) Assert.Ignore($"{OnnxConformance.DataRoot} not found: install the Debian package libonnx-testdata");
        var outcomes = new List<Outcome>();
        var tmp = Directory.CreateTempSubdirectory("eq-node-").FullName;
        try
        {
            foreach (var c in OnnxConformance.SupportedCases)
            {
                outcomes.Add(Run(c, tmp));
            }
        }
        finally
        {
            Directory.Delete(tmp, true);
        }

        var report = new StringBuilder();
        foreach (var o in outcomes.Where(o => o.Kind != "ok"))
        {
            report.AppendLine($"{o.Kind} {o.Id}: {o.Detail}");
        }

        int converted = outcomes.Count(o => o.Kind is "ok" or "imprecise");
        int refused = outcomes.Count(o => o.Kind == "refused");
        TestContext.Out.WriteLine($"{outcomes.Count} cases: {converted} converted and ran ({outcomes.Count(o => o.Kind == "ok")} within {ScaleSteps} output steps of float), {refused} refused with a ConversionException");
        TestContext.Out.WriteLine(report.ToString());

        var crashes = outcomes.Where(o => o.Kind == "crash").Select(o => $"{o.Id}: {o.Detail}").ToList();
        Assert.That(crashes, Is.Empty, "conversions that failed with something other than a ConversionException");
        var unexpected = outcomes.Where(o => o.Kind == "imprecise" && !Imprecise.ContainsKey(o.Id)).Select(o => $"{o.Id}: {o.Detail}").ToList();
        Assert.That(unexpected, Is.Empty, "int8 further from float than allowed");
        var stale = Imprecise.Keys.Where(id => !outcomes.Any(o => o.Id == id && o.Kind == "imprecise")).ToList();
        Assert.That(stale, Is.Empty, "listed as imprecise but now within tolerance (or not converted): remove from Imprecise");
        Assert.That(converted, Is.GreaterThan(outcomes.Count / 2), "most supported cases convert");
    }

    private static Outcome Run(ConformanceCase c, string tmp)
    {
        var model = OnnxConformance.LoadWithData(c, out var floatInputs);

        // The converter takes one runtime input: further float inputs become constants.
        var runtime = floatInputs.First();
        foreach (var (name, value) in floatInputs.Skip(1))
        {
            var info = model.Graph.Input.First(v => v.Name == name);
            model.Graph.Input.Remove(info);
            model.Graph.Initializer.Add(Onnx.TestModelBuilder.FloatTensor(name, value.Shape, value.FloatData));
        }

        string path = Path.Combine(tmp, c.Suite + "_" + c.Name + ".onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        try
        {
            var loaded = ModelConverter.Load(path);
            var shape = runtime.Value.Shape.Length == 0 ? [1] : runtime.Value.Shape;
            var samples = new SampleSet(runtime.Value.FloatData, shape, c.Id);
            var result = ModelConverter.Convert(loaded, samples, new ConvertOptions { ReportSamples = 1 });
            var blob = Model.Load(result.Blob);
            var interp = new Interpreter(blob);
            var fitted = samples.ForInput(loaded.InputSourceShape, runtime.Key);
            var inIo = blob.Inputs[0];
            interp.SetInput(Layouts.ToPhysical(fitted.Sample(0), loaded.InputSourceShape, inIo.Layout));
            interp.Invoke();
            var outIo = blob.Outputs[0];
            var physical = new float[blob.Tensors[outIo.TensorIndex].ElementCount];
            interp.GetOutput(physical);
            var outShape = loaded.Ir.SourceShapes[loaded.Output];
            var int8 = Layouts.ToSource(physical, outShape, outIo.Layout);

            // Float on the exact input, and on the input as int8 sees it (dequantized).
            var executor = new OnnxFloatExecutor(loaded.Onnx);
            var reference = executor.Run(fitted.Sample(0), loaded.InputSourceShape);
            var (inScale, inZero) = interp.GetInputQuantization();
            var rounded = fitted.Sample(0).ToArray();
            for (int i = 0; i < rounded.Length; i++)
            {
                rounded[i] = inScale * (Math.Clamp(MathF.Round(rounded[i] / inScale) + inZero, -128, 127) - inZero);
            }

            var fromRounded = executor.Run(rounded, loaded.InputSourceShape);
            var (outScale, _) = interp.GetOutputQuantization();
            if (reference.Length != int8.Length)
            {
                return new Outcome(c.Id, "crash", $"int8 output has {int8.Length} values, float {reference.Length}", 0);
            }

            double worst = 0;
            int worstAt = 0;
            for (int i = 0; i < reference.Length; i++)
            {
                if (!float.IsFinite(reference[i]))
                {
                    continue;
                }

                double inputEffect = Math.Abs(fromRounded[i] - reference[i]);
                double steps = Math.Max(0, Math.Abs(int8[i] - reference[i]) - inputEffect) / outScale;
                if (steps > worst)
                {
                    worst = steps;
                    worstAt = i;
                }
            }

            string detail = $"worst element {worstAt}: int8 {int8[worstAt]:G5}, float {reference[worstAt]:G5}, {worst:F2} output steps (scale {outScale:G3})";
            return new Outcome(c.Id, worst <= ScaleSteps ? "ok" : "imprecise", detail, worst);
        }
        catch (ConversionException e)
        {
            return new Outcome(c.Id, "refused", e.Message, 0);
        }
        catch (Exception e)
        {
            return new Outcome(c.Id, "crash", $"{e.GetType().Name}: {e.Message}", 0);
        }
    }
}
