using System.Text.Json.Serialization;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Reports;

/// <summary>
/// The report of a pruning run, as written to report.json (schema: schemas/report.schema.json, whose
/// schema_version is <see cref="CurrentSchemaVersion"/>; keys are snake_case). Accuracy is not in a data-free report:
/// it says so in <see cref="Notes"/>.
/// </summary>
public sealed record PruneReport(
    string Input, string Output, string Target, bool TargetMet, string? Shortfall,
    string Criterion, string Allocation, int RoundTo,
    CostFigures Before, CostFigures After,
    IReadOnlyList<GroupReport> Groups, IReadOnlyList<BarrierReport> Barriers, IReadOnlyList<BottleneckReport> Bottlenecks,
    IReadOnlyList<string> Notes, double AnalysisMs, double PruneMs, double TotalMs)
{
    /// <summary>The OnnxPrune that wrote the report (Directory.Build.props' version).</summary>
    public string ToolVersion { get; init; } = OnnxPrune.Onnx.ToolVersion.Current;

    /// <summary>The version of report.json's layout: raised when a key is renamed or removed, or changes meaning
    /// (schemas/report.schema.json requires this value).</summary>
    public const int CurrentSchemaVersion = 1;

    [JsonPropertyOrder(-1)]
    public int SchemaVersion => CurrentSchemaVersion;

    /// <summary>The command that reproduces the run, the settings not in the keys above, and the machine its latency
    /// was measured on (null where no command line made the report).</summary>
    public SettingsReport? Settings { get; init; }

    /// <summary>Each layer's kernel time before and after from ORT's profiler, measured once on the final model;
    /// null when latency was not measured (--skip-latency).</summary>
    public LayerLatencyReport? LayerLatency { get; init; }

    /// <summary>The repair after removal; null when none ran (no data, or --recover none).</summary>
    public RecoveryReport? Recovery { get; init; }

    /// <summary>The main job's objectives, rounds and accuracy (null for a single-target prune).</summary>
    public JobReport? Job { get; init; }

    /// <summary>The PQ Index trajectory (--allocation pqi only).</summary>
    public PqiReport? Pqi { get; init; }

    /// <summary>The sensitivity grid (--allocation cie only).</summary>
    public CieReport? Cie { get; init; }

    internal static PruneReport From(string input, string output, DataFreePruneOptions options, DataFreePruneResult r, LatencyPair? latency,
        IEnumerable<string> notes, TimeSpan total, string? measuredAccuracy = null)
    {
        var target = options.Target.Describe();
        var allNotes = notes.ToList();
        if (options.Calibration is { } calibration)
        {
            var images = $"{calibration.Images.Count} calibration images ({calibration.Images.Source}";
            bool scoredOnData = Criteria.Criteria.DataDriven.Contains(r.Criterion);
            allNotes.Add(scoredOnData
                ? $"channels were scored by {r.Criterion} on {images}; {(calibration.HasLabels ? "their labels" : "the original model's predictions as targets")})"
                : $"channels were scored by {r.Criterion} (from the weights alone)");
            allNotes.Add(r.Recovery.Mode != Pruning.Recovery.RecoveryMode.None ? $"recovery ({Pruning.Recovery.RecoveryModes.NameOf(r.Recovery.Mode)}) used {images})"
                : options.Recover == Pruning.Recovery.RecoveryMode.None ? "no recovery ran (--recover none)"
                : "no recovery ran: the model written has no channel removed");
            if (measuredAccuracy is null) allNotes.Add("accuracy was not measured");
        }
        else allNotes.Add("accuracy was not measured: no data was given (data-free pruning, no recovery)");
        if (latency is null) allNotes.Add("latency was not measured (the check was skipped)");
        return new PruneReport(input, output, target, r.TargetMet, r.Shortfall, r.Criterion, r.Allocation, r.RoundTo,
            new CostFigures(r.ParamsBefore, r.MacsBefore, latency?.BeforeMs, latency?.BeforeP90Ms),
            new CostFigures(r.ParamsAfter, r.MacsAfter, latency?.AfterMs, latency?.AfterP90Ms),
            r.Groups.Select(g => new GroupReport(g.Id, g.Name, g.Producers, g.ChannelsBefore, g.ChannelsAfter, g.Prunable, g.PinnedBy)).ToList(),
            r.Barriers.GroupBy(b => (b.NodeName, b.OpType, b.Reason)).Select(b => new BarrierReport(b.Key.NodeName, b.Key.OpType, b.Key.Reason, b.Sum(x => x.Units.Count))).ToList(),
            RankBottlenecks(r.Groups), measuredAccuracy is null ? allNotes : [.. allNotes, measuredAccuracy], r.AnalysisTime.TotalMilliseconds, r.PruneTime.TotalMilliseconds, total.TotalMilliseconds)
        { Recovery = RecoveryReport.From(r.Recovery), Cie = CieReport.From(r.CieGrid) };
    }

    internal static IReadOnlyList<BottleneckReport> RankBottlenecks(IEnumerable<GroupOutcome> groups) =>
        groups.Where(g => g.Prunable > 1 && g.ChannelsBefore > 0)
            .Select(g => new BottleneckReport(g.Id, g.Name, g.ChannelsBefore, g.ChannelsAfter, (double)(g.ChannelsBefore - g.ChannelsAfter) / g.ChannelsBefore))
            .OrderBy(b => b.RatioRemoved).ThenBy(b => b.Id).ToList();
}

/// <summary>
/// The architecture's bottlenecks after a prune (SOSP, Nonnenmacher et al. 2022): every group that
/// could lose channels (more than one prunable channel), by the fraction of its channels removed,
/// lowest first (ties by group id). Pinned groups are barriers, not bottlenecks, and are left out.
/// </summary>
public sealed record BottleneckReport(int Id, string Name, int ChannelsBefore, int ChannelsAfter, double RatioRemoved);

/// <param name="Command">The command line, shell-quoted, recipes expanded.</param>
/// <param name="MaxRatio">At most this fraction of any group's channels was removed.</param>
/// <param name="Provider">ONNX Runtime execution provider of the latency measurements.</param>
/// <param name="Threads">ONNX Runtime intra-op threads of the latency measurements.</param>
public sealed record SettingsReport(string Command, int Seed, double MaxRatio, string Provider, int Threads, string Cpu, int Cores, string OnnxRuntimeVersion);

/// <param name="LatencyMs">Median (p50) ONNX Runtime latency at batch 1, measured side by side with the other model.</param>
/// <param name="LatencyP90Ms">90th percentile of the same runs.</param>
public sealed record CostFigures(long Params, long Macs, [property: JsonPropertyName("latency_p50_ms")] double? LatencyMs, double? LatencyP90Ms = null)
{
    /// <summary>The model's files on disk: the .onnx and its external data, if any (null where no file was written).</summary>
    public long? FileBytes { get; init; }
}

public sealed record GroupReport(int Id, string Name, IReadOnlyList<string> Producers, int ChannelsBefore, int ChannelsAfter, int PrunableChannels, IReadOnlyList<string> PinnedBy);

/// <param name="PinnedChannels">How many channels this barrier pinned.</param>
public sealed record BarrierReport(string Node, string OpType, string Reason, int PinnedChannels);

/// <summary>What recovery did (METHODS.md §6): the mode, the refit of each layer that read removed
/// channels (relative squared error to the original's output on the sampled rows, before and
/// after), and how many BatchNorm layers got new statistics.</summary>
public sealed record RecoveryReport(string Mode, int Images, int BatchNormsReestimated, double Seconds, IReadOnlyList<Recovery.LayerRefitOutcome> Layers)
{
    internal static RecoveryReport? From(Recovery.RecoveryOutcome outcome) =>
        outcome.Mode == Recovery.RecoveryMode.None ? null
            : new RecoveryReport(Recovery.RecoveryModes.NameOf(outcome.Mode), outcome.Images, outcome.BatchNorms, outcome.Time.TotalSeconds, outcome.Layers);
}

/// <summary>The main job (METHODS.md §1, §5): what was asked, each round, top-1 on the data's test split before and after, and the
/// fine-tune epochs spent.</summary>
/// <param name="Objectives">Each objective as given ("latency 50%", "flops 50%", "size 5MB", "accuracy drop 0.5").</param>
/// <param name="LatencyGoalMs">The latency target in ms (a percentage resolved against the original's measured latency).</param>
/// <param name="AccuracyBefore">Top-1 of the original on the data's test split, percent (null without labelled data).</param>
public sealed record JobReport(IReadOnlyList<string> Objectives, double? LatencyGoalMs, IReadOnlyList<Loop.RoundRecord> Rounds,
    double? AccuracyBefore, double? AccuracyAfter, int Epochs, bool Distill, bool Cancelled, string? CheckpointDirectory);

/// <summary>`--allocation pqi`: its settings, why the loop stopped, and the PQ Index per iteration (METHODS.md §3).</summary>
public sealed record PqiReport(string Scope, double P, double Q, double Eta, double Gamma, double Beta, string StopReason, IReadOnlyList<Policy.Pqi.PqiIteration> Trajectory)
{
    internal static PqiReport From(Policy.Pqi.PqiSettings s, Policy.Pqi.PqiRun run) =>
        new(s.Scope == Policy.Pqi.PqiScope.Layer ? "layer" : "global", s.P, s.Q, s.Eta, s.Gamma, s.Beta, run.StopReason, run.Trajectory);
}

/// <summary>`--allocation cie`: the sensitivity grid behind the allocation (METHODS.md §4), with every row of it.</summary>
/// <param name="Rows">Per group: the loss when only that group is pruned at each of <paramref name="Ratios"/>.</param>
public sealed record CieReport(string Metric, double Baseline, IReadOnlyList<double> Ratios, int Cells, int Computed, int Cached, double Seconds,
    IReadOnlyList<CieRow> Rows)
{
    internal static CieReport? From(Policy.Cie.GridOutcome? grid) =>
        grid?.Matrix is null ? null
            : new(grid.Metric, grid.Baseline, grid.Matrix.Ratios, grid.Cells, grid.Computed, grid.Cached, grid.Time.TotalSeconds,
                grid.Matrix.Rows.Select(r => new CieRow(r.Key, r.Value)).ToList());
}

/// <param name="Group">The group's key (its producers' output names, comma-separated).</param>
/// <param name="Values">The loss at each ratio of the grid: accuracy points lost, or the KL divergence (<see cref="CieReport.Metric"/>).</param>
public sealed record CieRow(string Group, IReadOnlyList<double> Values);
