using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Loop;

/// <summary>One round of the main job: what it aimed at, what it reached, and whether it was kept.</summary>
/// <param name="Attempt">Which pruning of the round this is (a measured latency above the goal prunes again with a tighter predicted budget).</param>
/// <param name="PredictedMs">The latency model's prediction for the planned widths (null without a latency target).</param>
/// <param name="MeasuredMs">Median ONNX Runtime latency, measured side by side with the original (<paramref name="OriginalMs"/>).</param>
/// <param name="Accuracy">Test-split top-1 after the round's fine-tuning, in percent (null without data).</param>
public sealed record RoundRecord(int Round, int Attempt, string Goal, long Macs, long Params, long Bytes, double? PredictedMs, double? MeasuredMs, double? OriginalMs,
    double? Accuracy, int Epochs, bool Accepted, string Note);

/// <summary>What the main job produced: the model to write, the last pruning's analysis (its before-figures the
/// original's), the final measurement, and every round.</summary>
/// <param name="Bytes">The best model reached: the last accepted round's after the final fine-tune.</param>
/// <param name="Latency">The final model measured side by side with the original (null when nothing asked for latency).</param>
/// <param name="AccuracyBefore">The original's test-split top-1 in percent (null without data).</param>
/// <param name="LatencyGoalMs">The latency target in ms (a percentage resolved against the original's measured latency).</param>
/// <param name="Cancelled">Ctrl-C stopped the loop; <paramref name="Bytes"/> is the last accepted round's model.</param>
internal sealed record ObjectiveResult(byte[] Bytes, DataFreePruneResult Pruning, LatencyPair? Latency, double? AccuracyBefore, double? AccuracyAfter,
    bool TargetMet, string? Shortfall, IReadOnlyList<RoundRecord> Rounds, IReadOnlyList<string> Notes, double? LatencyGoalMs, int EpochsUsed, bool Cancelled);
