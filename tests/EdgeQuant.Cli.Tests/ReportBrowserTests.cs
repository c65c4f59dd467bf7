using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using NUnit.Framework;

namespace EdgeQuant.Cli.Tests;

/// <summary>
/// The page <c>edgequant report</c> writes, opened in a real browser: Debian's headless Chromium driven by
/// Playwright. No console error or uncaught exception, no request leaving the machine (the page must open
/// offline), and every chart drawn by plotly.js with a visible size and its marks (points, bars).
/// Not run (Assert.Ignore, with the reason) only when /usr/bin/chromium (or EQ_CHROMIUM) is absent; .ci/run installs it.
/// </summary>
[TestFixture]
public class ReportBrowserTests
{
    /// <summary>Debian's Chromium; EQ_CHROMIUM names another binary.</summary>
    private static readonly string Chromium = Environment.GetEnvironmentVariable("EQ_CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";

    /// <summary>The flags this machine's Chromium needs: as root (CI) no sandbox; no network services to call home to.</summary>
    private static readonly string[] Flags =
        ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

    [Test]
    public async Task ReportOpensInHeadlessChromiumWithEveryChartDrawn()
    {
        if (!File.Exists(Chromium))
            Assert.Ignore($"not run: no browser at {Chromium} (Debian's chromium package; .ci/run installs it)");

        string dir = Directory.CreateTempSubdirectory("edgequant-report-browser-").FullName;
        try
        {
            var sw = Stopwatch.StartNew();
            string html = Path.Combine(dir, "mnist_cnn.html");
            // A conv model so the histograms are of convolutions; a reduced sweep (one configuration per group but
            // structured pruning) on 200 test and 100 calibration samples keeps the run short.
            var r = ReportCommandTests.Run(ReportCommandTests.ReportArgs("mnist_cnn",
                "--configs", "minmax,per-tensor,int4,codebook4,prune90", "--samples", "200", "--calib-samples", "100",
                "--sqnr-samples", "8", "--iterations", "10", "--json", "-o", html));
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            using var json = JsonDocument.Parse(r.Out);
            TestContext.Progress.WriteLine($"report of mnist_cnn (5 configurations): {sw.Elapsed.TotalSeconds:F1} s");
            int rows = json.RootElement.GetProperty("rows").GetArrayLength();
            // prune90 loses far more than 5 points, so the page adds the close-up of the others.
            int near = json.RootElement.GetProperty("rows").EnumerateArray().Count(x => x.GetProperty("drop_points").GetDouble() <= 5.0);
            Assert.That(near, Is.LessThan(rows));
            var chosen = json.RootElement.GetProperty("chosen");
            int sqnrBars = chosen.GetProperty("layers").EnumerateArray().Count(l => l.GetProperty("sqnr_db").ValueKind == JsonValueKind.Number);
            var hists = chosen.GetProperty("weight_histograms").EnumerateArray()
                .Select(h => (Index: h.GetProperty("index").GetInt32(), Distinct: h.GetProperty("distinct_codes").GetInt32())).ToList();
            Assert.That(hists, Has.Count.EqualTo(3), "mnist_cnn has two convolutions and one fully-connected layer");

            sw.Restart();
            var page = await OpenAsync(html, Path.Combine(dir, "profile"));
            TestContext.Progress.WriteLine($"chromium: page loaded and checked in {sw.Elapsed.TotalSeconds:F1} s; charts: {string.Join(", ", page.Charts.Keys)}");
            var (errors, external, byId, tableRows) = (page.Errors, page.External, page.Charts, page.TableRows);

            Assert.That(errors, Is.Empty, "console errors or uncaught exceptions");
            Assert.That(external, Is.Empty, "requests that would need the network");
            Assert.That(tableRows, Is.EqualTo(rows));
            var expected = new List<string> { "chart-pareto", "chart-pareto-near", "chart-sqnr" };
            expected.AddRange(hists.Select(h => $"chart-hist-{h.Index}"));
            Assert.That(byId.Keys, Is.EquivalentTo(expected));
            foreach (var (id, c) in byId)
            {
                Assert.That(c.GetProperty("width").GetDouble(), Is.GreaterThan(100), id);
                Assert.That(c.GetProperty("height").GetDouble(), Is.GreaterThan(100), id);
                Assert.That(c.GetProperty("axes").GetInt32(), Is.GreaterThan(2), id + ": axis ticks drawn");
            }
            // One point per configuration, plus the front's own markers.
            Assert.That(byId["chart-pareto"].GetProperty("points").GetInt32(), Is.GreaterThanOrEqualTo(rows + 1));
            Assert.That(byId["chart-pareto-near"].GetProperty("points").GetInt32(), Is.GreaterThanOrEqualTo(near + 1).And.LessThanOrEqualTo(2 * near));
            Assert.That(byId["chart-sqnr"].GetProperty("bars").GetInt32(), Is.EqualTo(sqnrBars));
            foreach (var h in hists)
                Assert.That(byId[$"chart-hist-{h.Index}"].GetProperty("bars").GetInt32(), Is.GreaterThanOrEqualTo(h.Distinct), $"layer {h.Index}");
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    [Test]
    public async Task CheckerCatchesAPageWhoseChartsCannotDraw()
    {
        if (!File.Exists(Chromium))
            Assert.Ignore($"not run: no browser at {Chromium} (Debian's chromium package; .ci/run installs it)");
        string dir = Directory.CreateTempSubdirectory("edgequant-report-browser-").FullName;
        try
        {
            string html = Path.Combine(dir, "digits.html");
            var r = ReportCommandTests.Run(ReportCommandTests.ReportArgs("digits_mlp", "--configs", "minmax", "--samples", "50", "--iterations", "2", "-o", html));
            Assert.That(r.Code, Is.EqualTo(0), r.Err);
            // The same page with plotly.js taken out (as if it had been left to a CDN that is not there).
            string text = File.ReadAllText(html);
            int open = text.IndexOf("<script>", StringComparison.Ordinal), close = text.IndexOf("</script>", open, StringComparison.Ordinal);
            string broken = Path.Combine(dir, "broken.html");
            File.WriteAllText(broken, text[..open] + text[(close + "</script>".Length)..]);
            var page = await OpenAsync(broken, Path.Combine(dir, "profile"), waitForCharts: false);
            Assert.That(page.Errors, Has.Some.Contains("Plotly is not defined"));
            Assert.That(page.Charts.Values.Select(c => c.GetProperty("width").GetDouble()), Has.All.EqualTo(0));
        }
        finally
        {
            Directory.Delete(dir, true);
        }
    }

    private sealed record PageFindings(List<string> Errors, List<string> External, Dictionary<string, JsonElement> Charts, int TableRows);

    /// <summary>
    /// Opens <paramref name="html"/> in headless Chromium with an empty profile and reports console errors, uncaught
    /// exceptions, requests that would leave the machine (aborted), each <c>figure.chart</c>'s drawn size and marks,
    /// and the configuration table's rows. A screenshot of the whole page is left beside it (report.png).
    /// </summary>
    private static async Task<PageFindings> OpenAsync(string html, string profile, bool waitForCharts = true)
    {
        Directory.CreateDirectory(profile);
        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = Flags,
            ViewportSize = new ViewportSize { Width = 1400, Height = 1000 },
        });
        var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        var errors = new List<string>();
        var external = new List<string>();
        page.Console += (_, m) => { if (m.Type == "error") lock (errors) errors.Add("console: " + m.Text); };
        page.PageError += (_, e) => { lock (errors) errors.Add("page error: " + e); };
        await page.RouteAsync("**/*", async route =>
        {
            string url = route.Request.Url;
            if (url.StartsWith("file:", StringComparison.Ordinal) || url.StartsWith("data:", StringComparison.Ordinal) || url.StartsWith("blob:", StringComparison.Ordinal))
                await route.ContinueAsync();
            else
            {
                lock (external) external.Add(url);
                await route.AbortAsync();
            }
        });
        await page.GotoAsync(new Uri(html).AbsoluteUri, new PageGotoOptions { WaitUntil = WaitUntilState.Load });
        if (waitForCharts)
            await page.WaitForFunctionAsync("() => document.querySelectorAll('figure.chart .js-plotly-plot .main-svg').length >= document.querySelectorAll('figure.chart').length");
        var charts = await page.EvaluateAsync<JsonElement>("""
            () => Array.from(document.querySelectorAll('figure.chart')).map(f => {
              const svg = f.querySelector('.js-plotly-plot .main-svg');
              const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
              const visible = sel => Array.from(f.querySelectorAll(sel)).filter(p => {
                const b = p.getBoundingClientRect(); return (p.getAttribute('d') || '').length > 0 && (b.width > 0 || b.height > 0);
              }).length;
              return { id: f.id, width: box.width, height: box.height,
                       points: visible('.scatterlayer path.point'), bars: visible('.barlayer .bars path'),
                       axes: f.querySelectorAll('.xtick').length + f.querySelectorAll('.ytick').length };
            })
            """);
        int tableRows = await page.Locator("#configs tbody tr").CountAsync();
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Path.GetDirectoryName(html)!, "report.png"), FullPage = true });
        lock (errors) lock (external)
            return new PageFindings([.. errors], [.. external], charts.EnumerateArray().ToDictionary(c => c.GetProperty("id").GetString()!, c => c.Clone()), tableRows);
    }
}
