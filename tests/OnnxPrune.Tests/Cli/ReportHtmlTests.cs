using System.Text.Json;
using System.Text.RegularExpressions;
using FluentAssertions;
using OnnxPrune.Cli.Output.Report;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Recovery;
using OnnxPrune.Pruning.Reports;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// report.html (issue 16) rendered by a real browser: every chart the report has data for is an SVG in the DOM that
/// Chromium built, with one shape per bar or round of each series (plus the series' legend swatch); charts without
/// data are replaced by a sentence that says why; nothing in the page points off the machine.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class ReportHtmlTests
{
    private static string Resnet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void DataFreePruneWritesHtmlBesideTheJsonReport()
    {
        using var f = new PruneFolders();
        var r = CliRunner.Run(Resnet20, "-o", f.Pruned, "--target-flops", "50%", "--skip-latency", "--report", f.Report);
        r.ExitCode.Should().Be(0, r.ToString());
        var html = Path.ChangeExtension(f.Report, ".html");
        File.Exists(html).Should().BeTrue("the page goes beside --report by default");
        Directory.GetFiles(f.Out, "*.tmp").Should().BeEmpty("the page is written atomically");

        using var json = JsonDocument.Parse(File.ReadAllText(f.Report));
        int groups = json.RootElement.GetProperty("groups").EnumerateArray().Count(g => g.GetProperty("channels_before").GetInt32() > 0);
        int bottlenecks = json.RootElement.GetProperty("bottlenecks").GetArrayLength();
        var dom = HeadlessChromium.DumpDom(html);

        Shapes(dom, "channels", "rect", ReportCharts.Before).Should().Be(groups + 1, "one bar per group before, plus the legend swatch");
        Shapes(dom, "channels", "rect", ReportCharts.After).Should().Be(groups + 1, "one bar per group after, plus the legend swatch");
        Shapes(dom, "bottlenecks", "rect", ReportCharts.Accent).Should().Be(bottlenecks + 1);
        foreach (var missing in new[] { "latency", "cost", "recovery", "layer-latency" })
            dom.Should().Contain($"id=\"missing-{missing}\"", $"a data-free single-target prune has no {missing} chart and says why");
        dom.Should().Contain("no latency chart").And.Contain("no layer was profiled (--skip-latency");
        dom.Should().NotContain("id=\"chart-pqi\"").And.NotContain("id=\"missing-pqi\"").And.NotContain("id=\"chart-cie\"").And.NotContain("id=\"missing-cie\"",
            "the PQI and CIE charts belong to those allocations only");
        dom.Should().MatchRegex("<pre id=\"command\">onnxprune \\S*resnet20-fmnist.onnx -o \\S+ --target-flops 50% --skip-latency --report \\S+</pre>");
        SelfContained(File.ReadAllText(html));
    }

    [Fact]
    public void ReportHtmlOptionChoosesThePath()
    {
        using var f = new PruneFolders();
        var page = f.OutFile("page.html");
        var r = CliRunner.Run(Resnet20, "-o", f.Pruned, "--ratio", "0.3", "--skip-latency", "--report-html", page);
        r.ExitCode.Should().Be(0, r.ToString());
        File.ReadAllText(page).Should().StartWith("<!DOCTYPE html>").And.Contain("id=\"chart-channels\"");
        File.Exists(f.Report).Should().BeFalse("--report-html alone writes no JSON");
    }

    [Fact]
    public void JobReportDrawsRoundsLatencyTargetAndRecovery()
    {
        using var folder = TestData.NewTempFolder();
        var report = JobReport();
        var html = Path.Combine(folder.Path, "report.html");
        ReportHtml.Write(html, report, new RunContext("onnxprune m.onnx -o s.onnx --target-latency 50%", "Test CPU", 2, "1.32.0", "CPUExecutionProvider", 2));
        var dom = HeadlessChromium.DumpDom(html);

        int rounds = report.Job!.Rounds.Count;
        Shapes(dom, "latency", "ellipse", ReportCharts.After).Should().Be(rounds + 1, "one marker per round, plus the legend swatch");
        Shapes(dom, "latency", "path", ReportCharts.Accent).Should().Be(2, "the target latency line, and its legend swatch");
        dom.Should().Contain("target 1.5 ms");
        Shapes(dom, "cost", "ellipse", ReportCharts.After).Should().Be(rounds + 1, "MACs of each round");
        Shapes(dom, "cost", "ellipse", ReportCharts.Second).Should().Be(rounds + 1, "params of each round");
        Shapes(dom, "recovery", "rect", ReportCharts.Before).Should().Be(3 + 1, "the error of each refit layer before");
        Shapes(dom, "recovery", "rect", ReportCharts.After).Should().Be(3 + 1);
        Shapes(dom, "channels", "rect", ReportCharts.After).Should().Be(report.Groups.Count + 1);
        var profile = report.LayerLatency!.Layers;
        Shapes(dom, "layer-latency", "rect", ReportCharts.Before).Should().Be(profile.Count(l => l.BeforeMs is not null) + 1, "a bar per layer profiled in the original, plus the swatch");
        Shapes(dom, "layer-latency", "rect", ReportCharts.After).Should().Be(profile.Count(l => l.AfterMs is not null) + 1, "a layer only the original has gets no after bar");
        var trajectory = report.Pqi!.Trajectory;
        Shapes(dom, "pqi", "ellipse", ReportCharts.After).Should().Be(trajectory.Count(t => t.Kept) + 1, "a marker per kept iteration");
        Shapes(dom, "pqi", "ellipse", ReportCharts.Accent).Should().Be(trajectory.Count(t => !t.Kept) + 1, "a marker per undone iteration");
        var cells = Cells(dom);
        cells.Should().HaveCount(report.Cie!.Rows.Count * report.Cie.Ratios.Count, "one outlined cell per group and ratio of the grid");
        dom.Should().Contain("top-1 points lost");
        dom.Should().NotContain("class=\"missing\" id=\"missing-");
        dom.Should().Contain("<td>latency 50%</td>").And.Contain("<td>Test CPU (2 logical cores)</td>").And.Contain("<td>Resize</td>");
        Regex.Matches(dom, "<tbody>.*?</tbody>", RegexOptions.Singleline).Select(m => m.Value)
            .Should().Contain(t => Regex.Matches(t, "<tr>").Count == rounds, "the rounds table has a row per round");
        SelfContained(File.ReadAllText(html));

        var png = Path.Combine(folder.Path, "report.png");
        HeadlessChromium.Screenshot(html, png, height: 4000);
        var bytes = File.ReadAllBytes(png);
        bytes.Take(8).Should().Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }, "a PNG");
        bytes.Length.Should().BeGreaterThan(20_000, "a page of charts, not a blank image");
        // docs/img/report-job-example.png is this screenshot: ONNXPRUNE_REPORT_SCREENSHOT=PATH keeps a copy.
        if (Environment.GetEnvironmentVariable("ONNXPRUNE_REPORT_SCREENSHOT") is { Length: > 0 } keep) File.Copy(png, keep, overwrite: true);
    }

    [Theory]
    [InlineData(null, "out/r.json", "out/r.html")]
    [InlineData(null, "out/r", "out/r.html")]
    [InlineData(null, "out/r.html", "out/r.html.html")]
    [InlineData("page.html", "out/r.json", "page.html")]
    [InlineData(null, null, null)]
    public void PagePathIsBesideTheJsonUnlessGiven(string? html, string? json, string? expected) =>
        ReportHtml.PathFor(html, json).Should().Be(expected);

    [Fact]
    public void ChartIdsAreScopedPerChart()
    {
        var page = ReportHtml.Render(JobReport(), new RunContext("onnxprune", "cpu", 1, "x", "CPUExecutionProvider", 1));
        var ids = Regex.Matches(page, "\\bid=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        ids.Should().OnlyHaveUniqueItems("a repeated clip-path id would make one chart clip with another's rectangle");
        page.Should().Contain("url(#latency-cl_");
    }

    /// <summary>Shapes of <paramref name="element"/> filled with <paramref name="color"/> inside the chart's figure.</summary>
    private static int Shapes(string dom, string chart, string element, string color)
    {
        var figure = Regex.Match(dom, $"<figure[^>]*id=\"chart-{chart}\"[^>]*>(.*?)</figure>", RegexOptions.Singleline);
        figure.Success.Should().BeTrue($"the page has the {chart} chart");
        figure.Groups[1].Value.Should().Contain("<svg");
        return Regex.Matches(figure.Groups[1].Value, $"<{element}\\b[^>]*fill=\"{color}\"", RegexOptions.IgnoreCase).Count;
    }

    /// <summary>The heat map's cells: rectangles outlined in <see cref="ReportCharts.CellEdge"/> inside the CIE chart.</summary>
    private static List<string> Cells(string dom)
    {
        var figure = Regex.Match(dom, "<figure[^>]*id=\"chart-cie\"[^>]*>(.*?)</figure>", RegexOptions.Singleline);
        figure.Success.Should().BeTrue("the page has the CIE heat map");
        return Regex.Matches(figure.Groups[1].Value, $"<rect\\b[^>]*stroke=\"{ReportCharts.CellEdge}\"[^>]*>", RegexOptions.IgnoreCase).Select(m => m.Value).ToList();
    }

    /// <summary>No script, no stylesheet or font link, nothing fetched over the network at view time.</summary>
    private static void SelfContained(string html)
    {
        html.Should().NotContainAny("<script", "<link", "@import", "@font-face");
        Regex.Matches(html, "(?:src|href)=\"(?!#)[^\"]*\"").Should().BeEmpty("nothing is loaded from elsewhere");
        Regex.Matches(html, "https?://(?!www\\.w3\\.org/)").Should().BeEmpty("the only URLs are the SVG namespace names");
    }

    /// <summary>A main-job report as the loop would write it: rounds with latency and accuracy, a latency goal, a
    /// recovery with refit errors, and a barrier.</summary>
    internal static PruneReport JobReport()
    {
        var groups = Enumerable.Range(0, 6).Select(i => new GroupReport(i, $"conv{i}", [$"conv{i}"], 16 << (i / 2), (16 << (i / 2)) / 2 + i, 16 << (i / 2), [])).ToList();
        var rounds = new List<RoundRecord>
        {
            new(1, 0, "latency 2.4 ms", 30_000_000, 600_000, 2_400_000, 2.5, 2.6, 3.0, 91.8, 1, true, ""),
            new(2, 0, "latency 2.0 ms", 22_000_000, 450_000, 1_800_000, 2.1, 2.2, 3.0, 91.1, 1, true, ""),
            new(3, 0, "latency 1.6 ms", 15_000_000, 300_000, 1_200_000, 1.7, 1.8, 3.0, 90.2, 1, true, ""),
            new(3, 1, "latency 1.6 ms", 12_000_000, 250_000, 1_000_000, 1.4, 1.45, 3.0, 88.0, 1, false, "accuracy below the budget"),
        };
        return new PruneReport("models/resnet56-fmnist.onnx", "small.onnx", "latency 50%", true, null, "taylor", "uniform", 8,
            new CostFigures(850_000, 40_000_000, 3.0, 3.4) { FileBytes = 3_420_000 }, new CostFigures(250_000, 12_000_000, 1.45, 1.6) { FileBytes = 1_010_000 }, groups,
            [new BarrierReport("up", "Resize", "no rule for Resize", 16)],
            PruneReport.RankBottlenecks(groups.Select(g => new OnnxPrune.Pruning.Pipeline.GroupOutcome(g.Id, g.Name, g.Producers, g.ChannelsBefore, g.ChannelsAfter, g.PrunableChannels, g.PinnedBy))),
            ["a note"], 10, 20, 30)
        {
            Recovery = new RecoveryReport("refit", 1024, 3, 1.5, [new("conv1", "Conv", 100, 0.3, 0.1, null), new("conv2", "Conv", 100, 0.2, 0.05, null), new("fc", "Gemm", 100, 0.1, 0.02, null), new("conv3", "Conv", 0, null, null, "no removed inputs")]),
            Job = new JobReport(["latency 50%"], 1.5, rounds, 92.0, 90.2, 12, false, false, null),
            LayerLatency = new LayerLatencyReport(10, 1, 2, "CPUExecutionProvider", "extended",
            [
                new("conv0", "FusedConv", 0.30, 0.12), new("conv1", "FusedConv", 0.25, 0.11), new("add", "Add", 0.02, 0.02),
                new("bn_only_before", "BatchNormalization", 0.05, null), new("conv2", "Conv", 0.40, 0.21),
            ]),
            // Not one run's sections (pqi and cie are two allocations): the fixture draws every chart for the screenshot.
            Pqi = new PqiReport("layer", 1, 2, 1.2, 1, 0.9, "target reached",
            [
                new(1, 0.42, 16, 600_000, 30_000_000, 91.5, true), new(2, 0.38, 12, 450_000, 22_000_000, 91.0, true),
                new(3, 0.35, 8, 380_000, 18_000_000, 90.4, true), new(4, 0.30, 8, 300_000, 15_000_000, 87.0, false),
            ]),
            Cie = new CieReport("accuracy", 92.0, [0.25, 0.5, 0.75], 9, 9, 0, 12.5,
                [new("conv0_out", [0.1, 0.6, 2.5]), new("conv1_out", [0.0, 0.2, 0.9]), new("conv2_out", [0.3, 1.4, 6.0])]),
        };
    }
}
