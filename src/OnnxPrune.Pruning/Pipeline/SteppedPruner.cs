using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>
/// Pruning in several steps toward the target (`--steps N`): each step removes an equal share of
/// what is to go, then the channels are scored again on the model as it now is, because
/// data-driven scores go stale once neighbouring channels are gone; recovery runs after every
/// step. The last step goes through the latency guard, timed against the original model.
/// </summary>
internal static class SteppedPruner
{
    public static GuardedPruneResult Run(byte[] original, string? modelDirectory, string label, DataFreePruneOptions options,
        Runtime.SessionSettings session, bool checkLatency, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        if (steps == 1) return LatencyGuardedPruner.Run(original, modelDirectory, label, options, session, checkLatency);
        var baseline = Baseline(OnnxModelFile.FromBytes(original, modelDirectory, label), options.InputShapes);
        var final = options.Target.Resolve(baseline.Macs, baseline.Params);
        var current = original;
        var notes = new List<string>();
        IReadOnlyList<GroupOutcome>? firstGroups = null;
        for (int k = 1; k < steps; k++)
        {
            var result = DataFreePruner.Run(OnnxModelFile.FromBytes(current, modelDirectory, label),
                options with { Target = StepTarget(final, baseline, k, steps), Scores = new ScoreCache(), AllowFinerWidths = false });
            firstGroups ??= result.Groups;
            current = OnnxModelFile.ToBytes(result.Model);
            notes.Add($"step {k}/{steps}: {result.MacsAfter:N0} MACs ({100.0 * result.MacsAfter / baseline.Macs:0.0}% of the original), {result.ParamsAfter:N0} params" +
                      (result.Recovery.Mode == Recovery.RecoveryMode.None ? "" : $", recovered ({Recovery.RecoveryModes.NameOf(result.Recovery.Mode)}) in {result.Recovery.Time.TotalSeconds:0.0} s"));
        }
        var last = LatencyGuardedPruner.Run(current, modelDirectory, label, options with { Target = StepTarget(final, baseline, steps, steps), Scores = new ScoreCache() },
            session, checkLatency, reference: original);
        // The report compares with the original, not with the last step's input.
        var before = firstGroups!.ToDictionary(g => g.Name, g => g.ChannelsBefore, StringComparer.Ordinal);
        var groups = last.Result.Groups.Select(g => g with { ChannelsBefore = before.GetValueOrDefault(g.Name, g.ChannelsBefore) }).ToList();
        var met = final switch
        {
            PruneTarget.Macs m => last.Result.MacsAfter <= m.Limit,
            PruneTarget.Params p => last.Result.ParamsAfter <= p.Limit,
            _ => last.Result.TargetMet,
        };
        var result2 = last.Result with { MacsBefore = baseline.Macs, ParamsBefore = baseline.Params, Groups = groups, TargetMet = met };
        notes.Add($"step {steps}/{steps}: {last.Result.MacsAfter:N0} MACs ({100.0 * last.Result.MacsAfter / baseline.Macs:0.0}% of the original); channels were scored again before every step");
        return last with { Result = result2, Notes = [.. notes, .. last.Notes] };
    }

    /// <summary>The cost of the model as pruning measures it (after the preparation passes, inputs bound).</summary>
    public static ModelCost Baseline(IR.Model model, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        PreparePasses.Run(model);
        DataFreePruner.BindInputShapes(model, inputShapes);
        Channels.ChannelAnalysis.Run(model); // records the inferred shapes the cost model reads, as pruning does
        return CostModel.Measure(model.Graph);
    }

    /// <summary>Step <paramref name="k"/> of <paramref name="steps"/>: the original less k/steps of what the target removes.</summary>
    private static TargetSpec StepTarget(PruneTarget final, ModelCost baseline, int k, int steps) => final switch
    {
        PruneTarget.Macs m => new TargetSpec.Flops(Count(baseline.Macs - (baseline.Macs - m.Limit) * (double)k / steps)),
        PruneTarget.Params p => new TargetSpec.Params(Count(baseline.Params - (baseline.Params - p.Limit) * (double)k / steps)),
        // A fraction of the channels left: removing r·k/N of the original's in all takes this share of what step k starts with.
        PruneTarget.ChannelRatio r => new TargetSpec.Ratio(r.Ratio / steps / (1 - r.Ratio * (k - 1) / steps)),
        _ => throw new ArgumentOutOfRangeException(nameof(final)),
    };

    private static string Count(double value) => Math.Floor(value).ToString("0", System.Globalization.CultureInfo.InvariantCulture);
}
