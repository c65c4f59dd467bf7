using System.Text.Json;
using EdgeQuant.Cli.Report;
using EdgeQuant.Converter;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// <c>edgequant report</c>: the sweep's numbers agree with separate <c>convert</c> / <c>eval</c> runs, the Pareto
/// front and the chosen configuration follow their rules, the page is self-contained, and bad options are usage
/// errors. The page in a real browser: <see cref="ReportBrowserTests"/>.
/// </summary>
[TestFixture]
public class ReportCommandTests
{
    private string _dir = "";
    private JsonDocument? _json;
    private string _html = "";

    internal static string Zoo
    {
        get
        {
            for (var d = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); d is not null; d = d.Parent)
                if (File.Exists(Path.Combine(d.FullName, "EdgeQuant.sln"))) return Path.Combine(d.FullName, "tests", "zoo");
            throw new DirectoryNotFoundException("EdgeQuant.sln not found above the test directory");
        }
    }

    internal static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        int code = Program.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    internal static string[] ReportArgs(string model, params string[] extra)
        => ["report", Path.Combine(Zoo, model + ".onnx"), "--calib", Path.Combine(Zoo, model + ".calib.npy"),
            "--data", Path.Combine(Zoo, model + ".test.npy"), "--labels", Path.Combine(Zoo, model + ".test_labels.npy"), .. extra];

    private const string Configs = "minmax,per-tensor,int4,codebook4,prune50,prune90";

    [OneTimeSetUp]
    public void Setup()
    {
        _dir = Directory.CreateTempSubdirectory("edgequant-cli-report-").FullName;
        _html = Path.Combine(_dir, "digits.html");
        var r = Run(ReportArgs("digits_mlp", "--configs", Configs, "--iterations", "20", "--json", "-o", _html));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        _json = JsonDocument.Parse(r.Out);
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        _json?.Dispose();
        Directory.Delete(_dir, true);
    }

    private JsonElement Root => _json!.RootElement;

    private JsonElement Row(string id) => Root.GetProperty("rows").EnumerateArray().Single(x => x.GetProperty("config").GetString() == id);

    [Test]
    public void RowsAreTheRequestedConfigurationsInReportOrder()
    {
        var ids = Root.GetProperty("rows").EnumerateArray().Select(x => x.GetProperty("config").GetString()).ToArray();
        Assert.That(ids, Is.EqualTo(Configs.Split(',')));
        Assert.That(Root.GetProperty("evaluation_samples").GetInt32(), Is.EqualTo(540));
        Assert.That(Root.GetProperty("html").GetString(), Is.EqualTo(_html));
    }

    [TestCase("minmax")]
    [TestCase("int4", "--weights", "int4")]
    [TestCase("prune50", "--prune", "0.5")]
    [TestCase("per-tensor", "--per-tensor")]
    public void BlobBytesAccuracyAndArenaAgreeWithConvertAndEval(string id, params string[] convertOptions)
    {
        string eqm = Path.Combine(_dir, id + ".eqm");
        var conv = Run(["convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "-o", eqm, "--json", .. convertOptions]);
        Assert.That(conv.Code, Is.EqualTo(0), conv.Err);
        var eval = Run("eval", eqm, "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "digits_mlp.test_labels.npy"), "--json");
        Assert.That(eval.Code, Is.EqualTo(0), eval.Err);
        using var ej = JsonDocument.Parse(eval.Out);
        using var cj = JsonDocument.Parse(conv.Out);
        var row = Row(id);
        Assert.That(row.GetProperty("blob_bytes").GetInt64(), Is.EqualTo(new FileInfo(eqm).Length));
        Assert.That(row.GetProperty("arena_bytes").GetInt32(), Is.EqualTo(cj.RootElement.GetProperty("arena_bytes").GetInt32()));
        Assert.That(row.GetProperty("accuracy").GetDouble(), Is.EqualTo(ej.RootElement.GetProperty("accuracy").GetDouble()).Within(1e-6));
        Assert.That(row.GetProperty("median_us").GetDouble(), Is.GreaterThan(0));
    }

    [Test]
    public void ParetoFlagsFollowTheDominanceRule()
    {
        var rows = Root.GetProperty("rows").EnumerateArray()
            .Select(x => (Id: x.GetProperty("config").GetString()!, Bytes: x.GetProperty("blob_bytes").GetInt32(), Acc: x.GetProperty("accuracy").GetDouble(), Pareto: x.GetProperty("pareto").GetBoolean()))
            .ToList();
        foreach (var r in rows)
        {
            bool dominated = rows.Any(o => o.Id != r.Id && o.Bytes <= r.Bytes && o.Acc >= r.Acc && (o.Bytes < r.Bytes || o.Acc > r.Acc));
            Assert.That(r.Pareto, Is.EqualTo(!dominated), r.Id);
        }
        var front = Root.GetProperty("pareto_front").EnumerateArray().Select(x => x.GetString()).ToList();
        Assert.That(front, Is.EqualTo(rows.Where(r => r.Pareto).OrderBy(r => r.Bytes).Select(r => r.Id).ToList()));
        // The smallest blob is always on the front.
        Assert.That(front[0], Is.EqualTo(rows.OrderBy(r => r.Bytes).ThenByDescending(r => r.Acc).First().Id));
    }

    [Test]
    public void ChosenIsTheSmallestWithinTheBudgetAndCarriesItsLayers()
    {
        double floatAcc = Root.GetProperty("float_accuracy").GetDouble();
        var within = Root.GetProperty("rows").EnumerateArray().Where(x => (floatAcc - x.GetProperty("accuracy").GetDouble()) * 100 <= 1.0 + 1e-6).ToList();
        Assert.That(within, Is.Not.Empty);
        int smallest = within.Min(x => x.GetProperty("blob_bytes").GetInt32());
        var chosen = Root.GetProperty("chosen");
        string id = chosen.GetProperty("config").GetString()!;
        Assert.That(Row(id).GetProperty("blob_bytes").GetInt32(), Is.EqualTo(smallest));
        // digits_mlp: two FullyConnected layers, the first with a fused Relu.
        var layers = chosen.GetProperty("layers").EnumerateArray().ToList();
        Assert.That(layers.Select(l => l.GetProperty("op").GetString()), Is.EqualTo(new[] { "FullyConnected+Relu", "FullyConnected" }));
        foreach (var l in layers) Assert.That(l.GetProperty("sqnr_db").GetDouble(), Is.GreaterThan(0));
        Assert.That(Row(id).GetProperty("output_sqnr_db").GetDouble(), Is.EqualTo(layers[^1].GetProperty("sqnr_db").GetDouble()).Within(1e-3));
    }

    [Test]
    public void HistogramsCountEveryWeightOfTheChosenConfiguration()
    {
        // Rerun with int4 and with 90% pruning chosen: at most 16 codes; nine in ten codes zero.
        foreach (var (id, check) in new (string, Action<JsonElement>)[]
        {
            ("int4", h => Assert.That(h.GetProperty("distinct_codes").GetInt32(), Is.LessThanOrEqualTo(16))),
            ("prune90", h => Assert.That(h.GetProperty("zero_fraction").GetDouble(), Is.GreaterThanOrEqualTo(0.9 - 0.01))),
        })
        {
            var r = Run(ReportArgs("digits_mlp", "--configs", id, "--iterations", "5", "--samples", "100", "--json"));
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            using var j = JsonDocument.Parse(r.Out);
            var hists = j.RootElement.GetProperty("chosen").GetProperty("weight_histograms").EnumerateArray().ToList();
            // fc1 is Linear(64, 32), fc2 Linear(32, 10) (tests/zoo/generate.py).
            Assert.That(hists.Select(h => h.GetProperty("weights").GetInt64()), Is.EqualTo(new long[] { 64 * 32, 32 * 10 }), id);
            foreach (var h in hists)
            {
                var counts = h.GetProperty("counts").EnumerateArray().Select(x => x.GetInt64()).ToArray();
                Assert.That(counts, Has.Length.EqualTo(256));
                Assert.That(counts.Sum(), Is.EqualTo(h.GetProperty("weights").GetInt64()));
                Assert.That(counts.Count(c => c > 0), Is.EqualTo(h.GetProperty("distinct_codes").GetInt32()));
                check(h);
            }
            Assert.That(j.RootElement.GetProperty("evaluation_samples").GetInt32(), Is.EqualTo(100));
        }
    }

    [Test]
    public void PageIsSelfContained()
    {
        string html = File.ReadAllText(_html);
        Assert.That(html, Does.StartWith("<!DOCTYPE html>"));
        // plotly.js itself names URLs (map tiles, its CDN's topojson) that this page never uses; what must not
        // appear is a reference that makes the browser fetch: a script or stylesheet from elsewhere. The browser
        // test watches the actual requests.
        Assert.That(html.Contains("<script src", StringComparison.OrdinalIgnoreCase), Is.False, "every script is inline");
        Assert.That(html.Contains("<link", StringComparison.OrdinalIgnoreCase), Is.False, "no external stylesheet");
        Assert.That(html.Contains("cdn.plot.ly/plotly-", StringComparison.Ordinal), Is.False, "no CDN copy of plotly.js");
        Assert.That(html.Contains("Plotly.newPlot", StringComparison.Ordinal), Is.True);
        Assert.That(html.Length, Is.GreaterThan(3_000_000), "plotly.js (about 3.6 MB) is embedded");
        foreach (string chart in new[] { "chart-pareto", "chart-sqnr", "chart-hist-0", "chart-hist-1" })
            Assert.That(html.Contains($"id=\"{chart}\"", StringComparison.Ordinal), Is.True, chart);
        foreach (string id in Configs.Split(','))
            Assert.That(html.Contains($"<td class=\"l\">{id}", StringComparison.Ordinal), Is.True, id);
    }

    [Test]
    public void TextOutputListsEachConfigurationAsItCompletes()
    {
        string html = Path.Combine(_dir, "text.html");
        var r = Run(ReportArgs("digits_mlp", "--configs", "minmax,codebook4", "--iterations", "5", "--samples", "50", "-o", html));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        var lines = r.Out.Split('\n');
        Assert.That(lines.Count(l => l.StartsWith("minmax ", StringComparison.Ordinal) && l.Contains("top-1")), Is.EqualTo(1));
        Assert.That(lines.Count(l => l.StartsWith("codebook4 ", StringComparison.Ordinal) && l.Contains("top-1")), Is.EqualTo(1));
        Assert.That(r.Out, Does.Contain("chosen: ").And.Contain($"wrote {html}"));
        Assert.That(File.Exists(html));
    }

    [TestCase(new[] { "--configs", "int3" }, "unknown configuration 'int3'")]
    [TestCase(new[] { "--configs", "minmax", "--choose", "int4", "--json" }, "--choose 'int4' is not among the configurations swept")]
    [TestCase(new[] { "--configs", "minmax" }, "missing -o")]
    [TestCase(new[] { "--configs", "minmax", "--json", "--budget", "-1" }, "--budget must be a non-negative number")]
    [TestCase(new[] { "--configs", "minmax", "--json", "--samples", "0" }, "--samples must be an integer")]
    [TestCase(new[] { "--json", "--configs", "minmax", "--prune", "0.5" }, "unknown option --prune")]
    public void BadOptionsAreUsageErrors(string[] extra, string message)
    {
        var r = Run(ReportArgs("digits_mlp", extra));
        Assert.That(r.Code, Is.EqualTo(1), r.Out);
        Assert.That(r.Err, Does.Contain(message));
    }

    [Test]
    public void MissingFolderForThePageIsAClearError()
    {
        var r = Run(ReportArgs("digits_mlp", "--configs", "minmax", "--iterations", "2", "--samples", "10", "-o", Path.Combine(_dir, "no", "such", "r.html")));
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain("does not exist"));
        Assert.That(r.Out, Does.Not.Contain("top-1"), "refused before the sweep runs");
    }

    [Test]
    public void GroupsSelectTheirConfigurations()
    {
        var weights = SweepConfiguration.Select("weights").Select(c => c.Id).ToArray();
        Assert.That(weights, Is.EqualTo(new[] { "int8-adaptive", "int4", "int4-adaptive", "codebook4", "codebook4-adaptive", "codebook8" }));
        var mixed = SweepConfiguration.Select("prune90, calibration").Select(c => c.Id).ToArray();
        Assert.That(mixed, Is.EqualTo(new[] { "minmax", "percentile", "entropy", "mse", "prune90" }), "report order, not the order asked");
        Assert.That(SweepConfiguration.All[0].Id, Is.EqualTo(SweepConfiguration.BaselineId));
        Assert.That(SweepConfiguration.All.Select(c => c.Id).Distinct().Count(), Is.EqualTo(SweepConfiguration.All.Count));
        // Every group has at least one configuration and each configuration's options differ from the default
        // conversion's except the baseline's.
        foreach (var k in Enum.GetValues<SweepKind>()) Assert.That(SweepConfiguration.All.Any(c => c.Kind == k), k.ToString());
    }

    [Test]
    public void DynamicConfigurationAgreesWithConvertDynamicAndHasNoPerLayerDetail()
    {
        string html = Path.Combine(_dir, "dynamic.html");
        var r = Run(ReportArgs("digits_mlp", "--configs", "dynamic", "--iterations", "5", "--json", "-o", html));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var row = j.RootElement.GetProperty("rows")[0];
        string eqm = Path.Combine(_dir, "dynamic.eqm");
        var conv = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--dynamic", "-o", eqm, "--json");
        Assert.That(conv.Code, Is.EqualTo(0), conv.Err);
        using var cj = JsonDocument.Parse(conv.Out);
        var eval = Run("eval", eqm, "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "digits_mlp.test_labels.npy"), "--json");
        using var ej = JsonDocument.Parse(eval.Out);
        Assert.That(row.GetProperty("blob_bytes").GetInt64(), Is.EqualTo(new FileInfo(eqm).Length));
        Assert.That(row.GetProperty("weight_bytes").GetInt64(), Is.EqualTo(cj.RootElement.GetProperty("weight_bytes").GetInt64()));
        Assert.That(row.GetProperty("accuracy").GetDouble(), Is.EqualTo(ej.RootElement.GetProperty("accuracy").GetDouble()).Within(1e-6));
        Assert.That(row.GetProperty("output_sqnr_db").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var chosen = j.RootElement.GetProperty("chosen");
        Assert.That(chosen.GetProperty("layers").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(chosen.GetProperty("weight_histograms").ValueKind, Is.EqualTo(JsonValueKind.Null));
        string page = File.ReadAllText(html);
        Assert.That(page.Contains("Not measured: this configuration's method gives no per-layer report.", StringComparison.Ordinal), Is.True);
        Assert.That(page.Contains("id=\"chart-sqnr\"", StringComparison.Ordinal), Is.False);
    }

    [Test]
    public void MixedPrecisionRowIsWhatConvertMixedPrecisionFinds()
    {
        string html = Path.Combine(_dir, "mixed.html");
        var r = Run(ReportArgs("digits_mlp", "--configs", "minmax,mixed", "--iterations", "5", "--json", "--choose", "mixed", "-o", html));
        Assert.That(r.Code, Is.EqualTo(0), r.Err);
        using var j = JsonDocument.Parse(r.Out);
        var rows = j.RootElement.GetProperty("rows");
        var int8 = rows[0];
        var mixed = rows[1];
        Assert.That(mixed.GetProperty("group").GetString(), Is.EqualTo("mixed"));
        string eqm = Path.Combine(_dir, "mixed.eqm");
        var conv = Run("convert", Path.Combine(Zoo, "digits_mlp.onnx"), "--calib", Path.Combine(Zoo, "digits_mlp.calib.npy"), "--mixed-precision",
            "--data", Path.Combine(Zoo, "digits_mlp.test.npy"), "--labels", Path.Combine(Zoo, "digits_mlp.test_labels.npy"), "--accuracy-budget", "0.2", "-o", eqm, "--json");
        Assert.That(conv.Code, Is.EqualTo(0), conv.Err);
        using var cj = JsonDocument.Parse(conv.Out);
        Assert.That(mixed.GetProperty("blob_bytes").GetInt64(), Is.EqualTo(new FileInfo(eqm).Length));
        Assert.That(mixed.GetProperty("accuracy").GetDouble(), Is.EqualTo(cj.RootElement.GetProperty("accuracy").GetDouble()).Within(1e-6));
        string assignment = cj.RootElement.GetProperty("precision_argument").GetString()!;
        string detail = mixed.GetProperty("detail").GetString()!;
        Assert.That(detail, Does.StartWith(assignment.Length == 0 ? "every layer int8" : "--precision " + assignment));
        Assert.That(File.ReadAllText(html).Contains(System.Net.WebUtility.HtmlEncode(detail), StringComparison.Ordinal), Is.True, "the page shows the assignment");
        // The search never ends below the all-int8 model on the data it searched on (the report's evaluation data).
        Assert.That(mixed.GetProperty("accuracy").GetDouble(), Is.GreaterThanOrEqualTo(cj.RootElement.GetProperty("int8_accuracy").GetDouble() - 1e-9));
        Assert.That(int8.GetProperty("accuracy").GetDouble(), Is.EqualTo(cj.RootElement.GetProperty("int8_accuracy").GetDouble()).Within(1e-6));
        var hists = j.RootElement.GetProperty("chosen").GetProperty("weight_histograms").EnumerateArray().ToList();
        Assert.That(hists, Is.Not.Empty);
        foreach (var h in hists)
            Assert.That(h.GetProperty("counts").EnumerateArray().Sum(x => x.GetInt64()), Is.EqualTo(h.GetProperty("weights").GetInt64()));
    }

    [Test]
    public void QdqModelIsRefused()
    {
        var r = Run(["report", Path.Combine(Zoo, "mnist_qat.onnx"), "--calib", Path.Combine(Zoo, "mnist_qat.calib.npy"), "--data", Path.Combine(Zoo, "mnist_qat.test.npy"),
            "--labels", Path.Combine(Zoo, "mnist_qat.test_labels.npy"), "--json", "--samples", "10"]);
        Assert.That(r.Code, Is.EqualTo(1));
        Assert.That(r.Err, Does.Contain("is a QDQ model"));
    }

    [Test]
    public void AConfigurationThatCannotConvertIsANoteAndTheSweepGoesOn()
    {
        // Structured pruning on the model the earlier configurations already equalized is refused by the converter
        // (it would change the loaded graph): the configuration that forgets FreshModel fails on its own.
        var bad = new ConverterConfiguration("bad", SweepKind.Structured, "structured pruning without a fresh model", s => new ConvertOptions { ReportSamples = s, PruneChannels = 0.3 });
        var good = SweepConfiguration.All[0];
        var calib = Commands.ReadSamples(Path.Combine(Zoo, "mnist_cnn.calib.npy"));
        var data = Commands.ReadSamples(Path.Combine(Zoo, "mnist_cnn.test.npy"));
        var labels = Commands.ReadLabels(Path.Combine(Zoo, "mnist_cnn.test_labels.npy"), data.Count);
        var failures = new List<string>();
        var report = EvaluationSweep.Run(Path.Combine(Zoo, "mnist_cnn.onnx"), calib, data, labels,
            new SweepOptions { Configurations = [good, bad], LatencyIterations = 2, SqnrSamples = 2, Failed = failures.Add });
        Assert.That(report.Rows.Select(x => x.Config.Id), Is.EqualTo(new[] { good.Id }));
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.StartWith("Configuration 'bad' could not be converted: structured pruning"));
        Assert.That(report.Notes, Does.Contain(failures[0]));
        Assert.That(report.Chosen.Config.Id, Is.EqualTo(good.Id));
    }

    [Test]
    public void ParetoFrontOnHandMadeRows()
    {
        SweepRow R(string id, int bytes, double acc) => new(new ConverterConfiguration(id, SweepKind.Weights, id, _ => new ConvertOptions()), acc, 0, bytes, 0, 0, 1, 0, 0);
        var rows = new[] { R("a", 100, 0.90), R("b", 200, 0.95), R("c", 200, 0.93), R("d", 300, 0.95), R("e", 50, 0.50), R("f", 100, 0.90) };
        EvaluationSweep.MarkParetoFront(rows);
        // c is beaten by b (same size, more accurate), d by b (larger, same accuracy); a and f tie and neither dominates the other.
        Assert.That(rows.Where(r => r.OnParetoFront).Select(r => r.Config.Id), Is.EqualTo(new[] { "a", "b", "e", "f" }));
    }
}
