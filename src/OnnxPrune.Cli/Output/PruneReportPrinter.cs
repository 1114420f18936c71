using OnnxPrune.Pruning.Reports;

namespace OnnxPrune.Cli.Output;

/// <summary>The terminal summary of a pruning run: before/after table, groups, barriers. With --quiet only
/// the first line (what was pruned into what) is printed.</summary>
internal static class PruneReportPrinter
{
    /// <summary>How many bottlenecks the terminal shows (the report has them all).</summary>
    public const int BottlenecksShown = 5;

    public static void Print(PruneReport r, Terminal o)
    {
        o.Result($"pruned   {r.Input} -> {r.Output}");
        if (o.Quiet) return;
        o.Line($"target   {r.Target} ({(r.TargetMet ? "met" : "NOT met: " + r.Shortfall)}); criterion {r.Criterion}, allocation {r.Allocation}, round-to {r.RoundTo}");
        o.Line();
        var table = new Table("", "before", "after", "after/before");
        table.Add("params", r.Before.Params.ToString("N0"), r.After.Params.ToString("N0"), Ratio(r.After.Params, r.Before.Params));
        table.Add("MACs", r.Before.Macs.ToString("N0"), r.After.Macs.ToString("N0"), Ratio(r.After.Macs, r.Before.Macs));
        if (r.Before.LatencyMs is { } lb && r.After.LatencyMs is { } la)
            table.Add("latency (ms, p50)", lb.ToString("0.000"), la.ToString("0.000"), Ratio(la, lb));
        o.Write(table);
        o.Line();
        var groups = new Table("group", "channels", "kept", "note");
        foreach (var g in r.Groups)
            groups.Add(g.Name, g.ChannelsBefore, g.ChannelsAfter, g.PinnedBy.Count > 0 ? "pinned: " + g.PinnedBy[0] : "");
        o.Write(groups);
        if (r.Bottlenecks.Count > 0)
        {
            o.Line();
            o.Line($"bottlenecks (the {Math.Min(BottlenecksShown, r.Bottlenecks.Count)} prunable groups that lost the least; all {r.Bottlenecks.Count} in the report):");
            var bottlenecks = new Table("group", "channels", "kept", "removed");
            foreach (var b in r.Bottlenecks.Take(BottlenecksShown)) bottlenecks.Add(b.Name, b.ChannelsBefore, b.ChannelsAfter, $"{b.RatioRemoved * 100:0.0}%");
            o.Write(bottlenecks);
        }
        if (r.Barriers.Count > 0)
        {
            o.Line();
            o.Line("barriers (ops that stop channels from being removed):");
            foreach (var b in r.Barriers) o.Line($"  {b.OpType} '{b.Node}': {b.Reason} ({b.PinnedChannels} channel(s))");
        }
        if (r.Recovery is { } rec)
        {
            o.Line();
            var fitted = rec.Layers.Where(l => l.Skipped is null && l.ErrorBefore is not null).ToList();
            var skipped = rec.Layers.Count - fitted.Count;
            o.Line($"recovery {rec.Mode} on {rec.Images} images in {rec.Seconds:0.0} s: " +
                        (rec.Mode == "refit" ? $"{fitted.Count} layer(s) refit" + (fitted.Count > 0 ? $" (error to the original's output: median {Pruning.Pipeline.LatencyComparison.Median(fitted.Select(l => l.ErrorBefore!.Value).ToList()):0.000} -> {Pruning.Pipeline.LatencyComparison.Median(fitted.Select(l => l.ErrorAfter!.Value).ToList()):0.000})" : "") +
                         (skipped > 0 ? $", {skipped} not refit (see the report)" : "") + ", " : "") +
                        $"{rec.BatchNormsReestimated} BatchNorm layer(s) re-estimated");
        }
        if (r.Job is { } job) PrintJob(job, o);
        foreach (var n in r.Notes) o.Line($"note: {n}");
        o.Line($"time: analysis {r.AnalysisMs:0} ms, pruning {r.PruneMs:0} ms, total {r.TotalMs:0} ms");
    }

    private static void PrintJob(JobReport job, Terminal o)
    {
        o.Line();
        o.Line($"objectives: {string.Join(", ", job.Objectives)}" + (job.LatencyGoalMs is { } goal ? $" (latency goal {goal:0.###} ms)" : ""));
        var rounds = new Table("round", "goal", "MACs", "params", "predicted ms", "measured ms", "test top-1 %", "epochs", "kept", "note");
        foreach (var x in job.Rounds)
            rounds.Add(x.Attempt > 1 ? $"{x.Round}.{x.Attempt}" : $"{x.Round}", x.Goal, x.Macs.ToString("N0"), x.Params.ToString("N0"),
                x.PredictedMs is { } p ? p.ToString("0.000") : "-", x.MeasuredMs is { } m ? m.ToString("0.000") : "-",
                x.Accuracy is { } a ? a.ToString("0.00") : "-", x.Epochs, x.Accepted ? "yes" : "no", x.Note);
        o.Write(rounds);
        if (job.AccuracyBefore is { } before && job.AccuracyAfter is { } after)
            o.Line($"accuracy (test split): {before:0.00}% -> {after:0.00}% ({after - before:+0.00;-0.00} points); {job.Epochs} fine-tune epoch(s){(job.Distill ? " with distillation from the original" : "")}");
    }

    private static string Ratio(double after, double before) => before == 0 ? "-" : $"{after / before:0.000}";
}
