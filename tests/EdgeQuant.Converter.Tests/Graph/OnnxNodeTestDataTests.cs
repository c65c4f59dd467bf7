using System.Text;
using EdgeQuant.Converter.Onnx;
using NUnit.Framework;

namespace EdgeQuant.Converter.Tests.Graph;

/// <summary>
/// ONNX's own operator conformance cases (Debian package libonnx-testdata: the node,
/// pytorch-converted and pytorch-operator suites) run through the importer and the float executor,
/// for every case whose ops are all supported, and compared with the expected outputs at atol 1e-4
/// (plus rtol 1e-4 for graphs with exp or log). The cases that do not pass are listed below, each
/// with its reason; the list is checked both ways (a listed case that starts passing fails the test,
/// so the list stays true).
/// </summary>
public class OnnxNodeTestDataTests
{
    /// <summary>
    /// The share of supported-op cases that must pass: a ratchet at the measured rate. Issue 12's
    /// bar is 0.95, met before LayerNormalization joined the supported list (390 of 408, 95.6%);
    /// with it, 403 of 440 (91.6%): its 19 cases all use the Mean/InvStdDev outputs. Raise this
    /// as cases start passing, never lower it. ArgMax, GRU and LSTM (24 cases, all passing) brought it
    /// to 446 of 464 (96.1%).
    /// </summary>
    private const double RequiredPassRate = 0.96;

    /// <summary>Cases that do not pass, by "suite/name", with the reason (shown in docs/onnx-conformance.md).</summary>
    internal static readonly Dictionary<string, string> KnownFailures = new(StringComparer.Ordinal)
    {
        ["node/test_batchnorm_epsilon_training_mode"] = "training mode (the converter is for inference)",
        ["node/test_batchnorm_example_training_mode"] = "training mode (the converter is for inference)",
        ["node/test_cast_FLOAT_to_STRING"] = "string tensors (not supported)",
        ["node/test_cast_STRING_to_FLOAT"] = "string tensors (not supported)",
        ["node/test_castlike_BFLOAT16_to_FLOAT_expanded"] = "inconsistent test data: the 'like' input file is [1], the model declares [3, 4]",
        ["node/test_castlike_FLOAT_to_STRING_expanded"] = "string tensors (not supported)",
        ["node/test_castlike_STRING_to_FLOAT_expanded"] = "string tensors (not supported)",
        ["node/test_convtranspose_3d"] = "3-D ConvTranspose (not supported)",
        ["node/test_maxpool_with_argmax_2d_precomputed_pads"] = "MaxPool's Indices output (not supported)",
        ["node/test_maxpool_with_argmax_2d_precomputed_strides"] = "MaxPool's Indices output (not supported)",
        ["node/test_resize_tf_crop_and_resize"] = "Resize coordinate_transformation_mode tf_crop_and_resize (not supported)",
        ["node/test_split_zero_size_splits"] = "Split into an empty output (zero-size tensors are not supported)",
        ["node/test_training_dropout"] = "training mode (random dropout; the converter is for inference)",
        ["node/test_training_dropout_default"] = "training mode (random dropout; the converter is for inference)",
        ["node/test_training_dropout_default_mask"] = "training mode (random dropout; the converter is for inference)",
        ["node/test_training_dropout_mask"] = "training mode (random dropout; the converter is for inference)",
        ["node/test_training_dropout_zero_ratio"] = "training mode with the ratio as a runtime input (a constant ratio 0 would make it the identity)",
        ["node/test_training_dropout_zero_ratio_mask"] = "training mode with the ratio as a runtime input (a constant ratio 0 would make it the identity)",
    };

    private static readonly Lazy<Dictionary<string, string?>> Results = new(() =>
    {
        var results = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in OnnxConformance.SupportedCases)
        {
            results[c.Id] = OnnxConformance.RunFloat(c);
        }

        return results;
    });

    public static IEnumerable<TestCaseData> Cases()
    {
        if (!OnnxConformance.IsInstalled)
        {
            yield return new TestCaseData("").SetName("OnnxConformance(libonnx-testdata not installed)");
            yield break;
        }

        foreach (var c in OnnxConformance.SupportedCases)
        {
            yield return new TestCaseData(c.Id).SetName($"OnnxConformance({c.Id})");
        }
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesOnnxReferenceOutputs(string id)
    {
        if (id.Length == 0)
        {
            Assert.Ignore($"{OnnxConformance.DataRoot} not found: install the Debian package libonnx-testdata to run ONNX's operator conformance cases");
        }

        string? failure = Results.Value[id];
        if (KnownFailures.TryGetValue(id, out var reason))
        {
            Assert.That(failure, Is.Not.Null, $"listed as failing ({reason}) but it passes: remove it from KnownFailures");
            if (failure!.StartsWith("refused: ", StringComparison.Ordinal))
            {
                Assert.Pass($"refused as listed ({reason}): {failure}");
            }

            Assert.Pass($"fails as listed ({reason}): {failure}");
        }

        Assert.That(failure, Is.Null, id);
    }

    [Test]
    public void PassRateOfSupportedCasesIsAtLeastTheRequiredRate()
    {
        if (!OnnxConformance.IsInstalled)
        {
            Assert.Ignore($"{OnnxConformance.DataRoot} not found: install the Debian package libonnx-testdata");
        }

        var results = Results.Value;
        int passed = results.Values.Count(r => r is null);
        double rate = (double)passed / results.Count;
        string summary = Summary(results);
        TestContext.Out.WriteLine(summary);

        // EQ_WRITE_CONFORMANCE=path regenerates the table in docs/onnx-conformance.md.
        string? target = Environment.GetEnvironmentVariable("EQ_WRITE_CONFORMANCE");
        if (!string.IsNullOrEmpty(target))
        {
            File.WriteAllText(target, summary);
        }

        foreach (var id in KnownFailures.Keys)
        {
            Assert.That(results.ContainsKey(id), $"KnownFailures lists '{id}', which is not a supported-op case (any more)");
        }

        Assert.That(rate, Is.GreaterThanOrEqualTo(RequiredPassRate), $"{passed} of {results.Count} supported-op cases pass");
    }

    /// <summary>Per-suite counts and the failing cases with their reasons, as Markdown.</summary>
    private static string Summary(Dictionary<string, string?> results)
    {
        var sb = new StringBuilder();
        sb.AppendLine("| suite | supported-op cases | pass | fail | pass rate |");
        sb.AppendLine("|---|---:|---:|---:|---:|");
        int total = 0, totalPass = 0;
        foreach (var suite in OnnxConformance.Suites)
        {
            var ids = results.Keys.Where(k => k.StartsWith(suite + "/", StringComparison.Ordinal)).ToList();
            int pass = ids.Count(k => results[k] is null);
            total += ids.Count;
            totalPass += pass;
            sb.AppendLine($"| {suite} | {ids.Count} | {pass} | {ids.Count - pass} | {(ids.Count == 0 ? 0 : 100.0 * pass / ids.Count):F1}% |");
        }

        sb.AppendLine($"| **all** | {total} | {totalPass} | {total - totalPass} | {(total == 0 ? 0 : 100.0 * totalPass / total):F1}% |");
        sb.AppendLine();
        sb.AppendLine("| failing case | reason | what happens |");
        sb.AppendLine("|---|---|---|");
        foreach (var (id, failure) in results.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            if (failure is not null)
            {
                string reason = KnownFailures.TryGetValue(id, out var r) ? r : "(not listed)";
                string what = failure.Length > 160 ? failure[..160] + "..." : failure;
                sb.AppendLine($"| {id} | {reason} | {what.Replace("|", "\\|").Replace("\n", " ")} |");
            }
        }

        return sb.ToString();
    }
}
