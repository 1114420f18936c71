using OnnxPrune.Onnx;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>A pruning run whose result was timed against the original.</summary>
/// <param name="Bytes">The pruned model as .onnx bytes when it was timed or recovered; null otherwise (serialising
/// a big model costs its size again in memory, and protobuf cannot hold one past 2 GB).</param>
internal sealed record GuardedPruneResult(DataFreePruneResult Result, byte[]? Bytes, LatencyPair? Latency, IReadOnlyList<string> Notes);

/// <summary>
/// Data-free pruning that does not make the model slower. Fewer MACs at widths the CPU kernels
/// handle badly can run slower than the original, so the pruned model is timed side by side with
/// the original; while it is slower, the widths are made coarser (<see cref="Policy.GroupConstraints.Coarser"/>:
/// no narrow steps below the multiple, then twice the multiple, up to multiples of 32) and the model is pruned again.
/// Under the latency allocation a result that keeps widths below the multiple is also measured against the plan
/// without them (<see cref="Policy.GroupConstraints.Coarser"/> once) and the faster of the two is kept: the
/// per-layer tables time each layer alone, where a width narrower than ONNX Runtime's channel block costs no layout
/// conversion, but inside the network its output is converted back to plain NCHW for the next layer, so the tables
/// favour narrow widths the network runs badly (tools/bench/results/speedup-50.md: on 12 of 19 coverage models the
/// plan in whole multiples measured faster). The comparison costs one more plan and measurement.
/// </summary>
internal static class LatencyGuardedPruner
{
    public const int MaxRoundTo = 32;

    /// <summary>How much faster, measured, the plan without narrow widths must run to replace the tables' plan (both are
    /// timed side by side with the original; this keeps the tables' plan where the two differ by noise).</summary>
    public const double CoarserMustBeFaster = 0.02;

    /// <param name="checkLatency">false: prune once, do not time.</param>
    /// <param name="reference">The model the result must not be slower than (default: <paramref name="original"/>;
    /// the last of several steps compares with the model before the first).</param>
    /// <param name="measure">Stands in for <see cref="LatencyComparison.Measure"/> (reference bytes, pruned bytes; tests).</param>
    public static GuardedPruneResult Run(byte[] original, string? modelDirectory, string label, DataFreePruneOptions options, Runtime.SessionSettings session, bool checkLatency,
        byte[]? reference = null, Func<byte[], byte[], LatencyPair>? measure = null)
    {
        measure ??= (before, after) => LatencyComparison.Measure(before, after, session, 1, options.InputShapes, progress: options.Progress);
        var notes = new List<string>();
        // Recovery changes weights, not widths or speed: run it once, on the model the guard keeps.
        var recover = options.Recover;
        options = options with { Recover = Recovery.RecoveryMode.None };
        GuardedPruneResult Recovered(DataFreePruneResult result, byte[]? bytes, LatencyPair? latency)
        {
            // The guard's own notes, then the kept result's (an attempt it pruned again is described by the guard's note alone).
            foreach (var note in result.RuntimeNotes.Append(result.PlanNote))
                if (note is not null && !notes.Contains(note)) notes.Add(note);
            if (recover == Recovery.RecoveryMode.None || options.Calibration is null) return new GuardedPruneResult(result, bytes, latency, notes);
            var prepared = OnnxModelFile.FromBytes(original, modelDirectory, label);
            PreparePasses.Run(prepared);
            var outcome = Recovery.ModelRecovery.Run(recover, prepared, result.Model, result.RefitLayers, options.Calibration, options.Session,
                options.Refit with { Seed = options.Seed }, options.Progress);
            return new GuardedPruneResult(result with { Recovery = outcome }, OnnxModelFile.ToBytes(result.Model), latency, notes);
        }
        while (true)
        {
            var model = OnnxModelFile.FromBytes(original, modelDirectory, label);
            var result = DataFreePruner.Run(model, options);
            if (!checkLatency) return Recovered(result, null, null);
            var bytes = OnnxModelFile.ToBytes(result.Model);
            var latency = measure(reference ?? original, bytes);
            var rule = options.Constraints;
            bool slower = latency.AfterMs > latency.BeforeMs;
            if (slower && result.RoundTo < rule.RoundTo && options.AllowFinerWidths)
            {
                // Finer widths landed on the target but cost speed: keep the measured multiple instead.
                notes.Add($"multiples of {result.RoundTo} met the target precisely but ran slower than the original ({latency.AfterMs:0.###} ms vs {latency.BeforeMs:0.###} ms); kept {rule.Describe()}");
                options = options with { AllowFinerWidths = false };
                continue;
            }
            var coarser = rule.Coarser();
            if (!slower && options.Allocation == Policy.Allocation.Latency && rule.SmallStep < rule.RoundTo && NarrowGroups(result, rule) is { Count: > 0 } narrow)
            {
                var chose = $"the latency tables chose widths below {rule.RoundTo} in {narrow.Count} group(s) ({Describe(narrow)})";
                DataFreePruneResult? alternative = null;
                try
                {
                    alternative = DataFreePruner.Run(OnnxModelFile.FromBytes(original, modelDirectory, label), options with { Constraints = coarser, AllowFinerWidths = false });
                }
                catch (PruneInputException e)
                {
                    notes.Add($"{chose}; {coarser.Describe()} cannot prune this model ({e.Message}): kept the tables' widths");
                }
                if (alternative is not null && !alternative.TargetMet && result.TargetMet)
                    notes.Add($"{chose}; {coarser.Describe()} cannot reach the target ({alternative.Shortfall}): kept the tables' widths");
                else if (alternative is not null)
                {
                    var alternativeBytes = OnnxModelFile.ToBytes(alternative.Model);
                    var measured = measure(reference ?? original, alternativeBytes);
                    double ratio = latency.AfterMs / latency.BeforeMs, alternativeRatio = measured.AfterMs / measured.BeforeMs;
                    bool faster = alternativeRatio < ratio * (1 - CoarserMustBeFaster);
                    notes.Add($"{chose}; measured side by side with the original, that model ran at {ratio:0.000} of its latency and the plan in " +
                              $"{coarser.Describe()} at {alternativeRatio:0.000}: " + (faster ? $"kept {coarser.Describe()}" : "kept the tables' widths"));
                    if (faster) return Recovered(alternative, alternativeBytes, measured);
                }
            }
            if (!slower || coarser.RoundTo > MaxRoundTo)
            {
                if (slower)
                    notes.Add($"the pruned model is {latency.AfterMs / latency.BeforeMs:0.00}x slower than the original even with widths in {rule.Describe()}");
                return Recovered(result, bytes, latency);
            }
            notes.Add($"widths in {rule.Describe()} gave a model slower than the original ({latency.AfterMs:0.###} ms vs {latency.BeforeMs:0.###} ms); pruned again with {coarser.Describe()}");
            options = options with { Constraints = coarser };
        }
    }

    /// <summary>Groups the result narrowed to a width that is not a multiple of the rule's (groups removed whole excepted).</summary>
    internal static List<GroupOutcome> NarrowGroups(DataFreePruneResult result, Policy.GroupConstraints rule) =>
        result.Groups.Where(g => g.ChannelsAfter > 0 && g.ChannelsAfter < g.ChannelsBefore && g.ChannelsAfter % rule.RoundTo != 0).ToList();

    internal static string Describe(List<GroupOutcome> groups) =>
        string.Join(", ", groups.Take(3).Select(g => $"{g.Name}: {g.ChannelsBefore} -> {g.ChannelsAfter}")) + (groups.Count > 3 ? $", and {groups.Count - 3} more" : "");
}
