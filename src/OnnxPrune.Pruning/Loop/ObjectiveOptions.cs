using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Policy;

using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// The user's objectives for the main job (`onnxprune MODEL --target-latency 50% ...`): any of a measured
/// latency, MACs, parameters, file size and an accuracy budget; every one given must hold.
/// </summary>
internal sealed record ObjectiveOptions
{
    /// <summary>How each round prunes: criterion, allocation, constraints, calibration, recovery. Its
    /// <see cref="DataFreePruneOptions.Target"/> holds the MACs/params targets (an empty <see cref="TargetSpec.All"/> when none).</summary>
    public required DataFreePruneOptions Prune { get; init; }

    /// <summary>"5ms" (absolute) or "50%" (of the original's measured latency); null: no latency target.</summary>
    public string? Latency { get; init; }

    /// <summary>Bytes the written model may take at most; null: no size target.</summary>
    public long? MaxSizeBytes { get; init; }

    /// <summary>Points of top-1 accuracy (on the data's test split) the result may lose; null: no accuracy budget.</summary>
    public double? MaxAccuracyDrop { get; init; }

    /// <summary>Prune in this many rounds toward the targets (each: prune, recover, fine-tune, evaluate). With only an
    /// accuracy budget, the most rounds the adaptive schedule may take.</summary>
    public int Rounds { get; init; } = 1;

    /// <summary>Fine-tune epochs after each round (0: none).</summary>
    public int FinetuneEpochs { get; init; }

    /// <summary>Fine-tune epochs after the last round (0: none).</summary>
    public int FinalEpochs { get; init; }

    /// <summary>How latency is measured: provider and threads (the caller's --device/--threads) and batch.</summary>
    public Runtime.SessionSettings Timing { get; init; } = Runtime.SessionSettings.Default;

    public int Batch { get; init; } = 1;

    /// <summary>Builds a latency predictor for a model from its analysis, its cost and its measured latency in ms.</summary>
    public Func<ChannelAnalysis, ModelCost, double, ILatencyPredictor>? LatencyModel { get; init; }

    /// <summary>Every accepted round's model and the loop's state go here, and a run given the same folder resumes
    /// after its last accepted round (null: no checkpoints).</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>How often a round is pruned again with a tighter predicted budget when the measured latency misses.</summary>
    public int MaxLatencyAttempts { get; init; } = 5;

    /// <summary>Milliseconds of one model (its bytes) in place of ONNX Runtime's measurement: for tests of the loop's
    /// decisions, which a real measurement on a shared machine would make by chance. Null (always, outside tests): measured.</summary>
    internal Func<byte[], double>? Meter { get; init; }

    /// <summary>Skip measuring latency when no latency target asks for it (the report then has none).</summary>
    public bool MeasureLatency { get; init; } = true;

    /// <summary>Where the loop says what it is doing.</summary>
    public Action<string>? Progress { get; init; }
}
