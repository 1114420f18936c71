using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Channels of one group before and after.</summary>
internal sealed record GroupOutcome(int Id, string Name, IReadOnlyList<string> Producers, int ChannelsBefore, int ChannelsAfter, int Prunable, IReadOnlyList<string> PinnedBy);

/// <summary>What a data-free pruning run did: the pruned model (in memory) and the figures for the report.</summary>
internal sealed record DataFreePruneResult(
    Model Model,
    long MacsBefore, long ParamsBefore, long MacsAfter, long ParamsAfter,
    bool TargetMet, string? Shortfall,
    IReadOnlyList<GroupOutcome> Groups, IReadOnlyList<ChannelBarrier> Barriers,
    string Criterion, string Allocation, int RoundTo,
    TimeSpan AnalysisTime, TimeSpan PruneTime,
    int GroupsAtLimit, string? PlanNote)
{
    /// <summary>What recovery did after the removal (<see cref="Recovery.RecoveryOutcome.NotRun"/> without calibration data or with --recover none).</summary>
    public Recovery.RecoveryOutcome Recovery { get; init; } = Pruning.Recovery.RecoveryOutcome.NotRun;

    /// <summary>The layers that read removed channels, in graph order: what a refit works on.</summary>
    public IReadOnlyList<Recovery.RefitLayer> RefitLayers { get; init; } = [];

    /// <summary>The latency model's prediction for the planned widths, in ms (null without a latency target).</summary>
    public double? PredictedLatencyMs { get; init; }

    /// <summary>What the post-write check found and did (ONNX Runtime rejected a first result; groups kept whole).</summary>
    public IReadOnlyList<string> RuntimeNotes { get; init; } = [];

    /// <summary>The plan's removed root units, ids of a <see cref="ChannelAnalysis"/> of the prepared model
    /// (what <see cref="Cost.PrunedCostEstimator.Estimate"/> and <see cref="Latency.LatencyModel.Predict"/> take).</summary>
    public IReadOnlyList<int> RemovedUnits { get; init; } = [];

    /// <summary>Residual branches removed whole (depth pruning), described for the report.</summary>
    public IReadOnlyList<string> RemovedBranches { get; init; } = [];

    /// <summary>The PQ Index of the scores this pruning started from (<see cref="Policy.Allocation.Pqi"/> only).</summary>
    public Policy.PqiFigures? Pqi { get; init; }

    /// <summary>The sensitivity grid the plan came from (<see cref="Policy.Allocation.Cie"/> only).</summary>
    public Policy.Cie.GridOutcome? CieGrid { get; init; }
}
