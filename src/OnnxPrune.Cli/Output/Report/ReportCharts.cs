using OnnxPrune.Pruning.Reports;
using ScottPlot;

namespace OnnxPrune.Cli.Output.Report;

/// <summary>
/// The charts of report.html, drawn with ScottPlot 5 and emitted as SVG (no scripts, no fonts to fetch). Each builder
/// returns a <see cref="Chart"/>, or a <see cref="MissingChart"/> with the reason when the report has no data for it.
/// Colours are fixed per series so that the page is the same for the same report, and a test can count the shapes.
/// </summary>
internal static class ReportCharts
{
    private const int Width = 900, Height = 360;
    internal const string Before = "#8c8c8c", After = "#1f77b4", Accent = "#d62728", Second = "#2ca02c";

    /// <summary>The outline of every heat-map cell: a colour no other shape uses, so that the cells can be counted.</summary>
    internal const string CellEdge = "#404040";

    /// <summary>The charts in page order. The PQI and CIE charts exist only for the allocation that computes them, so a
    /// report without that section has no sentence about them either.</summary>
    public static IReadOnlyList<object> All(PruneReport r) =>
        new[] { Channels(r), LayerLatency(r), AccuracyLatency(r), CostPerRound(r), PqiTrajectory(r), CieGrid(r), Bottlenecks(r), RecoveryErrors(r) }
            .OfType<object>().ToList();

    /// <summary>Channels of every group before and after, side by side.</summary>
    public static object Channels(PruneReport r)
    {
        var groups = r.Groups.Where(g => g.ChannelsBefore > 0).OrderBy(g => g.Id).ToList();
        if (groups.Count == 0) return new MissingChart("channels", "Channels per group", "the model has no channel groups: no channels chart");
        var plot = NewPlot("group", "channels");
        var before = BarSeries(plot, groups.Select(g => (double)g.ChannelsBefore).ToArray(), -0.2, Before, "before");
        var after = BarSeries(plot, groups.Select(g => (double)g.ChannelsAfter).ToArray(), +0.2, After, "after");
        TickLabels(plot, groups.Select(g => g.Id.ToString()).ToArray());
        return Finish(plot, "channels", "Channels per group", [before, after]);
    }

    /// <summary>Each layer's kernel time per run before and after, from ORT's profiler (layers in the order ORT ran the
    /// original). A layer missing on one side (fused away, or only in the pruned model) has no bar there.</summary>
    public static object LayerLatency(PruneReport r)
    {
        const string title = "Latency per layer, before and after (ONNX Runtime profiler)";
        if (r.LayerLatency is not { } profile) return new MissingChart("layer-latency", title, "no layer was profiled (--skip-latency, or Ctrl-C stopped the run): no per-layer latency chart");
        if (profile.Layers.Count == 0) return new MissingChart("layer-latency", title, "the profile recorded no kernel: no per-layer latency chart");
        var plot = NewPlot($"layer (ORT execution order; {profile.Runs} profiled runs, batch {profile.Batch})", "kernel time (ms per run, median)");
        var layers = profile.Layers.Select((l, i) => (l, i)).ToList();
        var before = BarSeries(plot, layers.Where(x => x.l.BeforeMs is not null).Select(x => (x.i - 0.2, x.l.BeforeMs!.Value)).ToList(), Before, "before");
        var after = BarSeries(plot, layers.Where(x => x.l.AfterMs is not null).Select(x => (x.i + 0.2, x.l.AfterMs!.Value)).ToList(), After, "after");
        TickLabels(plot, layers.Select(x => (x.i + 1).ToString()).ToArray());
        return Finish(plot, "layer-latency", title, [before, after]);
    }

    /// <summary>The PQ Index of each iteration of `--allocation pqi` (METHODS.md §3); undone iterations in another colour.</summary>
    public static object? PqiTrajectory(PruneReport r)
    {
        const string title = "PQ Index per iteration (--allocation pqi)";
        if (r.Pqi is not { } pqi) return null;
        if (pqi.Trajectory.Count == 0) return new MissingChart("pqi", title, "the loop recorded no iteration: no PQ Index chart");
        var plot = NewPlot("iteration", "PQ Index");
        var kept = pqi.Trajectory.Where(t => t.Kept).ToList();
        var undone = pqi.Trajectory.Where(t => !t.Kept).ToList();
        var series = new List<ChartSeries>();
        if (kept.Count > 0) series.Add(Markers(plot, kept.Select(t => (double)t.Iteration).ToArray(), kept.Select(t => t.Index).ToArray(), After, "kept"));
        if (undone.Count > 0) series.Add(Markers(plot, undone.Select(t => (double)t.Iteration).ToArray(), undone.Select(t => t.Index).ToArray(), Accent, "undone", line: false));
        var iterations = pqi.Trajectory.Select(t => t.Iteration).Order().ToArray();
        TickLabels(plot, iterations.Select(i => i.ToString()).ToArray(), start: iterations[0]); // whole iterations, not 1.2, 1.4, ...
        return Finish(plot, "pqi", title, series);
    }

    /// <summary>The CIE sensitivity grid as a heat map: one cell per group (row) and ratio (column), coloured by what the
    /// model loses with only that group pruned at that ratio. Cells are rectangles rather than ScottPlot's Heatmap, whose
    /// SVG is an embedded bitmap: shapes keep the page a document of vectors and let a test count the cells.</summary>
    public static object? CieGrid(PruneReport r)
    {
        const string title = "CIE sensitivity grid (--allocation cie)";
        if (r.Cie is not { } cie) return null;
        if (cie.Rows.Count == 0 || cie.Ratios.Count == 0) return new MissingChart("cie", title, "the grid has no cells: no sensitivity heat map");
        var loss = cie.Metric == "accuracy" ? "top-1 points lost" : "KL divergence to the original";
        var plot = NewPlot("pruning ratio of the group alone", "group");
        var values = cie.Rows.SelectMany(row => row.Values).ToList();
        double min = values.Min(), max = values.Max();
        var colormap = new ScottPlot.Colormaps.Viridis();
        Color Shade(double v) => colormap.GetColor(max > min ? (v - min) / (max - min) : 0.5);
        for (int g = 0; g < cie.Rows.Count; g++)
            for (int j = 0; j < cie.Ratios.Count; j++)
            {
                var cell = plot.Add.Rectangle(j - 0.5, j + 0.5, g - 0.5, g + 0.5);
                cell.FillColor = Shade(cie.Rows[g].Values[j]);
                cell.LineColor = Color.FromHex(CellEdge);
                cell.LineWidth = 1;
            }
        plot.Axes.Bottom.SetTicks(cie.Ratios.Select((_, j) => (double)j).ToArray(), cie.Ratios.Select(x => x.ToString("0.##", System.Globalization.CultureInfo.InvariantCulture)).ToArray());
        TickLabels(plot, cie.Rows.Select((_, g) => (g + 1).ToString()).ToArray(), axis: plot.Axes.Left);
        plot.Axes.SetLimits(-0.5, cie.Ratios.Count - 0.5, -0.5, cie.Rows.Count - 0.5);
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{min:0.###} ({loss}, least)", FillColor = Shade(min) });
        plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"{max:0.###} (most)", FillColor = Shade(max) });
        return Finish(plot, "cie", $"{title}: {loss}", [new ChartSeries("cells", CellEdge, cie.Rows.Count * cie.Ratios.Count)]);
    }

    /// <summary>Top-1 against measured latency, one marker per round that has both, with the latency goal as a
    /// vertical line. Without accuracy (no labelled data) the rounds' latency is drawn against the round number.</summary>
    public static object AccuracyLatency(PruneReport r)
    {
        const string title = "Accuracy and latency per round";
        var rounds = r.Job?.Rounds.Where(x => x.MeasuredMs is not null).ToList() ?? [];
        if (r.Job is null) return new MissingChart("latency", title, "a single-target prune has no rounds: no latency chart");
        if (rounds.Count == 0) return new MissingChart("latency", title, "no round measured latency (no latency target, or --skip-latency): no latency chart");
        var withAccuracy = rounds.Where(x => x.Accuracy is not null).ToList();
        if (withAccuracy.Count > 0)
        {
            var plot = NewPlot("measured latency (ms, median)", "top-1 (%)");
            var series = Markers(plot, withAccuracy.Select(x => x.MeasuredMs!.Value).ToArray(), withAccuracy.Select(x => x.Accuracy!.Value).ToArray(), After, "rounds");
            if (r.Job.LatencyGoalMs is { } goal) GoalLine(plot.Add.VerticalLine(goal), $"target {goal:0.###} ms");
            return Finish(plot, "latency", title, [series]);
        }
        var byRound = NewPlot("round", "measured latency (ms, median)");
        var points = Markers(byRound, rounds.Select(x => (double)x.Round).ToArray(), rounds.Select(x => x.MeasuredMs!.Value).ToArray(), After, "rounds");
        if (r.Job.LatencyGoalMs is { } target) GoalLine(byRound.Add.HorizontalLine(target), $"target {target:0.###} ms");
        return Finish(byRound, "latency", "Measured latency per round (no accuracy: no labelled data)", [points]);
    }

    /// <summary>MACs and parameters of each round as a percentage of the original's, so both share one axis.</summary>
    public static object CostPerRound(PruneReport r)
    {
        const string title = "MACs and parameters per round";
        var rounds = r.Job?.Rounds ?? [];
        if (rounds.Count == 0) return new MissingChart("cost", title, r.Job is null ? "a single-target prune has no rounds: no per-round cost chart" : "the job recorded no rounds: no per-round cost chart");
        var plot = NewPlot("round", "% of the original");
        var x = rounds.Select((_, i) => (double)(i + 1)).ToArray();
        var macs = Markers(plot, x, rounds.Select(q => Percent(q.Macs, r.Before.Macs)).ToArray(), After, "MACs");
        var prms = Markers(plot, x, rounds.Select(q => Percent(q.Params, r.Before.Params)).ToArray(), Second, "params");
        TickLabels(plot, rounds.Select(q => q.Attempt > 0 ? $"{q.Round}.{q.Attempt}" : q.Round.ToString()).ToArray(), start: 1);
        return Finish(plot, "cost", title, [macs, prms]);
    }

    /// <summary>The groups that kept the most of their channels (the architecture's bottlenecks), percent removed.</summary>
    public static object Bottlenecks(PruneReport r)
    {
        const string title = "Bottleneck groups (least pruned first)";
        if (r.Bottlenecks.Count == 0) return new MissingChart("bottlenecks", title, "no group could lose channels: no bottleneck chart");
        var plot = NewPlot("group", "channels removed (%)");
        var series = BarSeries(plot, r.Bottlenecks.Select(b => b.RatioRemoved * 100).ToArray(), 0, Accent, "removed", size: 0.7);
        TickLabels(plot, r.Bottlenecks.Select(b => b.Id.ToString()).ToArray());
        return Finish(plot, "bottlenecks", title, [series]);
    }

    /// <summary>Recovery's per-layer refit error (relative to the original's output) before and after the refit.</summary>
    public static object RecoveryErrors(PruneReport r)
    {
        const string title = "Recovery: per-layer error before and after the refit";
        if (r.Recovery is null) return new MissingChart("recovery", title, "no recovery ran (no data, or --recover none): no recovery chart");
        var layers = r.Recovery.Layers.Where(l => l.ErrorBefore is not null && l.ErrorAfter is not null).ToList();
        if (layers.Count == 0) return new MissingChart("recovery", title, $"recovery ({r.Recovery.Mode}) refit no layer: no recovery chart");
        var plot = NewPlot("layer", "relative squared error");
        var before = BarSeries(plot, layers.Select(l => l.ErrorBefore!.Value).ToArray(), -0.2, Before, "before");
        var after = BarSeries(plot, layers.Select(l => l.ErrorAfter!.Value).ToArray(), +0.2, After, "after");
        TickLabels(plot, layers.Select((_, i) => (i + 1).ToString()).ToArray());
        return Finish(plot, "recovery", title, [before, after]);
    }

    private static Plot NewPlot(string x, string y)
    {
        var plot = new Plot(); // the title goes into the page's figcaption, not into the picture twice
        plot.XLabel(x);
        plot.YLabel(y);
        return plot;
    }

    private static ChartSeries BarSeries(Plot plot, double[] values, double offset, string color, string name, double size = 0.4) =>
        BarSeries(plot, values.Select((v, i) => (i + offset, v)).ToList(), color, name, size);

    /// <summary>Bars at the given positions (a series may skip a position another series has).</summary>
    private static ChartSeries BarSeries(Plot plot, IReadOnlyList<(double Position, double Value)> points, string color, string name, double size = 0.4)
    {
        var values = points.Select(p => p.Value).ToArray();
        var bars = plot.Add.Bars(points.Select(p => p.Position).ToArray(), values);
        foreach (var bar in bars.Bars) { bar.Size = size; bar.FillColor = Color.FromHex(color); bar.LineWidth = 0; }
        bars.LegendText = name;
        plot.Axes.Margins(bottom: 0, top: 0.1); // bars stand on the axis and keep room above the tallest
        return new ChartSeries(name, color, values.Length);
    }

    private static ChartSeries Markers(Plot plot, double[] xs, double[] ys, string color, string name, bool line = true)
    {
        var scatter = plot.Add.Scatter(xs, ys);
        scatter.Color = Color.FromHex(color);
        scatter.MarkerSize = 9;
        scatter.LineWidth = line ? 1 : 0;
        scatter.LegendText = name;
        return new ChartSeries(name, color, xs.Length);
    }

    private static void GoalLine(ScottPlot.Plottables.AxisLine line, string label)
    {
        line.Color = Color.FromHex(Accent);
        line.LinePattern = LinePattern.Dashed;
        line.LineWidth = 2;
        line.LegendText = label;
    }

    /// <summary>One tick per bar, thinned to about 30 labels so that ResNet-56's 57 refit layers stay readable.</summary>
    private static void TickLabels(Plot plot, string[] labels, int start = 0, IAxis? axis = null)
    {
        int step = Math.Max(1, (labels.Length + 29) / 30);
        var kept = Enumerable.Range(0, labels.Length).Where(i => i % step == 0).ToArray();
        (axis ?? plot.Axes.Bottom).SetTicks(kept.Select(i => (double)(i + start)).ToArray(), kept.Select(i => labels[i]).ToArray());
    }

    private static double Percent(long value, long of) => of == 0 ? 0 : 100.0 * value / of;

    private static Chart Finish(Plot plot, string id, string title, IReadOnlyList<ChartSeries> series)
    {
        plot.ShowLegend(Edge.Right); // beside the data area: inside it, it hid the tallest bars
        var svg = plot.GetSvgXml(Width, Height);
        int start = svg.IndexOf("<svg", StringComparison.Ordinal); // drop any XML declaration: the SVG sits inside HTML
        return new Chart(id, title, ScopeIds(start > 0 ? svg[start..] : svg, id), series);
    }

    /// <summary>Every SVG that ScottPlot writes names its clip paths cl_1, cl_2, ...; inline in one page, a second
    /// chart's url(#cl_1) would find the first chart's clip path and cut its own data away. Prefix the ids per chart.</summary>
    internal static string ScopeIds(string svg, string prefix) =>
        System.Text.RegularExpressions.Regex.Replace(svg, @"(id=""|url\(#|href=""#)([A-Za-z_][\w.-]*)", m => m.Groups[1].Value + prefix + "-" + m.Groups[2].Value);
}
