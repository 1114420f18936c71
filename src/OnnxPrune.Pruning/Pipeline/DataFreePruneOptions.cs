using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Settings of one data-free pruning run.</summary>
public sealed record DataFreePruneOptions
{
    public required TargetSpec Target { get; init; }
    public string Criterion { get; init; } = "l1";
    public Allocation Allocation { get; init; } = Allocation.Global;
    public GroupConstraints Constraints { get; init; } = new();
    public int Seed { get; init; }

    /// <summary>When rounding to the width multiple overshoots a MACs/params target by more than 2
    /// points, plan again with finer multiples. The latency guard turns this off when the finer
    /// widths made the model slower: not being slower comes first.</summary>
    public bool AllowFinerWidths { get; init; } = true;

    /// <summary>Calibration images for the data-driven criteria (null: none given).</summary>
    public Criteria.CalibrationSet? Calibration { get; init; }

    /// <summary>How the data-driven criteria run ONNX Runtime (threads, provider).</summary>
    public Runtime.SessionSettings Session { get; init; } = Runtime.SessionSettings.Default;

    /// <summary>Shapes for inputs with dynamic dims other than the batch, by input name.</summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();
}

/// <summary>A target as the user wrote it; resolved against the model once its cost is known.</summary>
public abstract record TargetSpec
{
    public sealed record Flops(string Text) : TargetSpec;
    public sealed record Params(string Text) : TargetSpec;
    public sealed record Ratio(double Value) : TargetSpec;

    public PruneTarget Resolve(long macs, long parameters) => this switch
    {
        Flops f => new PruneTarget.Macs(PruneTarget.ParseLimit(f.Text, macs, "the MACs target"), f.Text),
        Params p => new PruneTarget.Params(PruneTarget.ParseLimit(p.Text, parameters, "the parameter target"), p.Text),
        Ratio r => new PruneTarget.ChannelRatio(r.Value),
        _ => throw new ArgumentOutOfRangeException(),
    };
}
