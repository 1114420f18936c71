using System.Globalization;
using System.Net;
using System.Text;
using OnnxPrune.Pruning.Reports;

namespace OnnxPrune.Cli.Output.Report;

/// <summary>
/// report.html (issue 16): one self-contained page from a <see cref="PruneReport"/> and its <see cref="RunContext"/>.
/// Nothing is fetched when it is viewed: the style is inline, the charts are inline SVG, there are no scripts.
/// Every chart sits in a figure whose data attributes name its series, colours and point counts (see <see cref="Chart"/>).
/// </summary>
internal static class ReportHtml
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Where the page goes: --report-html, or beside --report (same folder and stem, .html; a JSON report that is
    /// itself named .html gets .html appended rather than being overwritten); null for neither.</summary>
    public static string? PathFor(string? html, string? json) =>
        html ?? (json is null ? null
            : Path.GetExtension(json).Equals(".html", StringComparison.OrdinalIgnoreCase) ? json + ".html" : Path.ChangeExtension(json, ".html"));

    /// <summary>Writes the page atomically, like report.json.</summary>
    public static void Write(string path, PruneReport report, RunContext context) =>
        OnnxPrune.Onnx.AtomicFile.WriteAllText(path, Render(report, context));

    public static string Render(PruneReport r, RunContext c)
    {
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>OnnxPrune report: ").Append(E(Path.GetFileName(r.Input))).Append("</title>\n<style>")
         .Append(Style).Append("</style></head><body>\n");
        h.Append("<h1>OnnxPrune report</h1>\n<p class=\"lead\">").Append(E(r.Input)).Append(" &rarr; ").Append(E(r.Output)).Append(": target ")
         .Append(E(r.Target)).Append(r.TargetMet ? " <b class=\"ok\">met</b>" : " <b class=\"bad\">not met</b>").Append(r.Shortfall is null ? "" : " (" + E(r.Shortfall) + ")").Append("</p>\n");
        Summary(h, r);
        h.Append("<h2>Charts</h2>\n");
        foreach (var chart in ReportCharts.All(r))
        {
            if (chart is Chart k)
            {
                var series = string.Join(';', k.Series.Select(s => $"{s.Name}:{s.Color}:{s.Points}"));
                h.Append("<figure class=\"chart\" id=\"chart-").Append(k.Id).Append("\" data-series=\"").Append(E(series)).Append("\"><figcaption>")
                 .Append(E(k.Title)).Append("</figcaption>\n").Append(k.Svg).Append("\n</figure>\n");
            }
            else if (chart is MissingChart m)
                h.Append("<p class=\"missing\" id=\"missing-").Append(m.Id).Append("\">").Append(E(m.Title)).Append(": ").Append(E(m.Reason)).Append(".</p>\n");
        }
        Settings(h, r, c);
        Job(h, r);
        Table(h, "Barriers", "barriers", ["node", "op", "reason", "pinned channels"],
            r.Barriers.Select(b => new[] { b.Node, b.OpType, b.Reason, b.PinnedChannels.ToString(Inv) }), "no op blocked any channel");
        Table(h, "Groups", "groups", ["id", "name", "before", "after", "prunable", "pinned by"],
            r.Groups.Select(g => new[] { g.Id.ToString(Inv), g.Name, g.ChannelsBefore.ToString(Inv), g.ChannelsAfter.ToString(Inv), g.PrunableChannels.ToString(Inv), string.Join("; ", g.PinnedBy) }), "no groups");
        h.Append("<h2>Notes</h2>\n<ul>");
        foreach (var n in r.Notes) h.Append("<li>").Append(E(n)).Append("</li>");
        h.Append("</ul>\n<h2>Reproduce</h2>\n<pre id=\"command\">").Append(E(c.Command)).Append("</pre>\n</body></html>\n");
        return h.ToString();
    }

    private static void Summary(StringBuilder h, PruneReport r)
    {
        string Ms(double? v) => v is { } x ? x.ToString("0.###", Inv) + " ms" : "not measured";
        Table(h, "Before and after", "summary", ["", "before", "after", "kept"],
        [
            ["parameters", r.Before.Params.ToString("N0", Inv), r.After.Params.ToString("N0", Inv), Kept(r.After.Params, r.Before.Params)],
            ["MACs", r.Before.Macs.ToString("N0", Inv), r.After.Macs.ToString("N0", Inv), Kept(r.After.Macs, r.Before.Macs)],
            ["latency p50 (median)", Ms(r.Before.LatencyMs), Ms(r.After.LatencyMs), Ratio(r.After.LatencyMs, r.Before.LatencyMs)],
            ["latency p90", Ms(r.Before.LatencyP90Ms), Ms(r.After.LatencyP90Ms), Ratio(r.After.LatencyP90Ms, r.Before.LatencyP90Ms)],
            ["file size (bytes)", r.Before.FileBytes?.ToString("N0", Inv) ?? "", r.After.FileBytes?.ToString("N0", Inv) ?? "",
                r.Before.FileBytes is { } fb && r.After.FileBytes is { } fa ? Kept(fa, fb) : ""],
            .. r.Job is { AccuracyBefore: { } ab } j ? new[] { new[] { "top-1 (test split)", ab.ToString("0.00", Inv) + "%", j.AccuracyAfter is { } aa ? aa.ToString("0.00", Inv) + "%" : "", "" } } : [],
        ], "");
    }

    private static void Settings(StringBuilder h, PruneReport r, RunContext c) =>
        Table(h, "Settings and machine", "settings", ["setting", "value"],
        [
            ["target", r.Target], ["criterion", r.Criterion], ["allocation", r.Allocation], ["round channels to", r.RoundTo.ToString(Inv)],
            ["recovery", r.Recovery is { } rec ? $"{rec.Mode} on {rec.Images} images, {rec.BatchNormsReestimated} BatchNorm layers re-estimated, {rec.Seconds:0.0} s" : "none"],
            .. r.Settings is { } st ? new[] { new[] { "seed", st.Seed.ToString(Inv) }, ["at most removed per group", st.MaxRatio.ToString("0.##", Inv)] } : [],
            ["CPU", $"{c.Cpu} ({c.Cores} logical cores)"], ["ONNX Runtime", c.OrtVersion], ["execution provider", c.Provider], ["threads", c.Threads.ToString(Inv)],
            ["time", $"analysis {r.AnalysisMs:0} ms, pruning {r.PruneMs:0} ms, total {r.TotalMs:0} ms"],
        ], "");

    private static void Job(StringBuilder h, PruneReport r)
    {
        if (r.Job is not { } j) return;
        Table(h, "Objectives", "objectives", ["objective"], j.Objectives.Select(o => new[] { o }), "none");
        string N(double? v, string f) => v is { } x ? x.ToString(f, Inv) : "";
        Table(h, "Rounds", "rounds", ["round", "goal", "MACs", "params", "bytes", "predicted ms", "measured ms", "top-1 %", "epochs", "accepted", "note"],
            j.Rounds.Select(x => new[] { x.Attempt > 0 ? $"{x.Round}.{x.Attempt}" : x.Round.ToString(Inv), x.Goal, x.Macs.ToString("N0", Inv), x.Params.ToString("N0", Inv),
                x.Bytes.ToString("N0", Inv), N(x.PredictedMs, "0.###"), N(x.MeasuredMs, "0.###"), N(x.Accuracy, "0.00"), x.Epochs.ToString(Inv), x.Accepted ? "yes" : "no", x.Note }),
            "no rounds");
    }

    private static string Ratio(double? after, double? before) => before is { } b && after is { } a && b > 0 ? (100 * a / b).ToString("0.0", Inv) + "%" : "";

    private static string Kept(long after, long before) => before == 0 ? "" : (100.0 * after / before).ToString("0.0", Inv) + "%";

    private static void Table(StringBuilder h, string title, string id, string[] head, IEnumerable<string[]> rows, string empty)
    {
        h.Append("<h2>").Append(E(title)).Append("</h2>\n");
        var list = rows.ToList();
        if (list.Count == 0) { h.Append("<p class=\"missing\">").Append(E(empty)).Append(".</p>\n"); return; }
        h.Append("<table id=\"table-").Append(id).Append("\"><thead><tr>");
        foreach (var c in head) h.Append("<th>").Append(E(c)).Append("</th>");
        h.Append("</tr></thead><tbody>\n");
        foreach (var row in list)
        {
            h.Append("<tr>");
            foreach (var cell in row) h.Append("<td>").Append(E(cell)).Append("</td>");
            h.Append("</tr>\n");
        }
        h.Append("</tbody></table>\n");
    }

    private static string E(string s) => WebUtility.HtmlEncode(s);

    // System fonts only: a web font would be a fetch at view time.
    private const string Style =
        "body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1000px;color:#222;padding:0 1em}" +
        "h1{margin-bottom:.2em}h2{border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}" +
        "table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left}th{background:#f4f4f4}" +
        "figure.chart{margin:1em 0}figure.chart svg{max-width:100%;height:auto}figcaption{font-weight:600;margin-bottom:.3em}" +
        ".missing{color:#666;font-style:italic}.ok{color:#2ca02c}.bad{color:#d62728}pre{background:#f4f4f4;padding:.6em;white-space:pre-wrap}";
}
