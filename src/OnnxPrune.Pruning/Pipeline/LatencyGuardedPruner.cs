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
/// </summary>
internal static class LatencyGuardedPruner
{
    public const int MaxRoundTo = 32;

    /// <param name="checkLatency">false: prune once, do not time.</param>
    /// <param name="reference">The model the result must not be slower than (default: <paramref name="original"/>;
    /// the last of several steps compares with the model before the first).</param>
    public static GuardedPruneResult Run(byte[] original, string? modelDirectory, string label, DataFreePruneOptions options, Runtime.SessionSettings session, bool checkLatency,
        byte[]? reference = null)
    {
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
            var latency = LatencyComparison.Measure(reference ?? original, bytes, session, 1, options.InputShapes, progress: options.Progress);
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
}
