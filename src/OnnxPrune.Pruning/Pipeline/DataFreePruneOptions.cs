using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>Settings of one data-free pruning run.</summary>
internal sealed record DataFreePruneOptions
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

    /// <summary>Lets the latency allocation remove whole residual branches (every channel of a group whose removal
    /// collapses one, <see cref="Depth.ResidualBranches"/>) when calibration data is given; their output becomes its
    /// mean on the calibration images.</summary>
    public bool RemoveBranches { get; init; } = true;

    /// <summary>Calibration images for the data-driven criteria (null: none given).</summary>
    public Criteria.CalibrationSet? Calibration { get; init; }

    /// <summary>The repair after removal when calibration data is given (METHODS.md §6); ignored without it.</summary>
    public Recovery.RecoveryMode Recover { get; init; } = Recovery.RecoveryMode.Refit;

    /// <summary>Settings of the least-squares refit (the seed is the run's <see cref="Seed"/>).</summary>
    public Recovery.RefitSettings Refit { get; init; } = new();

    /// <summary>Groups to keep whole, by <see cref="Channels.ChannelGroup.Key"/>, with the reason for the report.</summary>
    public IReadOnlyDictionary<string, string> PinnedGroups { get; init; } = new Dictionary<string, string>();

    /// <summary>Run the pruned model in ONNX Runtime beside the original before returning it, and when ORT rejects it,
    /// keep the groups responsible whole and prune again (<see cref="RuntimeCheck"/>).</summary>
    public bool CheckWithRuntime { get; init; } = true;

    /// <summary>Models whose tensors take more bytes than this are checked by running the pruned model alone
    /// against the original's declared output shapes (<see cref="RuntimeCheck"/>: the original is not opened in ORT).</summary>
    public long RuntimeCheckAloneAboveBytes { get; init; } = RuntimeCheck.BigModelBytes;

    /// <summary>Stands in for ONNX Runtime's verdict (original, pruned) → failure or null, so tests can make it
    /// reject a chosen construct; null: <see cref="RuntimeCheck.Failure"/>.</summary>
    internal Func<IR.Model, IR.Model, string?>? RuntimeVerdict { get; init; }

    /// <summary>Where long steps (recovery) say how far they are.</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>Scores of the last run, reused when the same model is pruned again with other
    /// widths (the latency guard's retries): data-driven scores cost seconds of gradient runs.
    /// Shared by copies made with <c>with</c>.</summary>
    public ScoreCache Scores { get; init; } = new();

    /// <summary>How the data-driven criteria run ONNX Runtime (threads, provider).</summary>
    public Runtime.SessionSettings Session { get; init; } = Runtime.SessionSettings.Default;

    /// <summary>Builds the latency predictor for a latency target from the analysis and cost of the model being
    /// planned (null: latency targets are refused).</summary>
    public Func<Channels.ChannelAnalysis, Cost.ModelCost, ILatencyPredictor>? LatencyPredictor { get; init; }

    /// <summary>Shapes for inputs with dynamic dims other than the batch, by input name.</summary>
    public IReadOnlyDictionary<string, long[]> InputShapes { get; init; } = new Dictionary<string, long[]>();

    /// <summary>Settings of <see cref="Allocation.Pqi"/> (METHODS.md §3).</summary>
    public Policy.Pqi.PqiSettings Pqi { get; init; } = new();

    /// <summary>Settings of <see cref="Allocation.Cie"/> (METHODS.md §4); its held-out images are required for it.</summary>
    public Policy.Cie.CieSettings Cie { get; init; } = new();
}

/// <summary>Channel scores by criterion, seed and calibration set, for one model's analysis
/// (unit ids are the same each time the same model bytes are analysed).</summary>
internal sealed class ScoreCache
{
    private (string Criterion, int Seed, Criteria.CalibrationSet? Data, int Units)? _key;
    private IReadOnlyDictionary<int, double>? _scores;

    /// <summary>What the cached values depend on: the criterion, the seed, the data and the model (by its channel count).</summary>
    private static (string, int, Criteria.CalibrationSet?, int) Key(DataFreePruneOptions options, Channels.ChannelAnalysis analysis) =>
        (options.Criterion, options.Seed, options.Calibration, analysis.Groups.Sum(g => g.ChannelCount));

    internal IReadOnlyDictionary<int, double> GetOrCompute(DataFreePruneOptions options, Channels.ChannelAnalysis analysis, Func<IReadOnlyDictionary<int, double>> compute)
    {
        var key = Key(options, analysis);
        if (_scores is not null && _key == key) return _scores;
        _scores = compute();
        _key = key;
        return _scores;
    }

    private (string Criterion, int Seed, Criteria.CalibrationSet? Data, int Units)? _branchKey;
    private (IReadOnlyDictionary<string, IR.Tensor> Means, IReadOnlyDictionary<int, double> Sensitivity)? _branches;

    /// <summary>The residual branches' mean outputs and measured sensitivities (<see cref="Depth.BranchSensitivity"/>),
    /// reused like the scores: the latency loop prunes the same model several times with other budgets.</summary>
    internal (IReadOnlyDictionary<string, IR.Tensor> Means, IReadOnlyDictionary<int, double> Sensitivity) GetOrComputeBranches(DataFreePruneOptions options,
        Channels.ChannelAnalysis analysis, Func<(IReadOnlyDictionary<string, IR.Tensor>, IReadOnlyDictionary<int, double>)> compute)
    {
        var key = Key(options, analysis);
        if (_branches is { } cached && _branchKey == key) return cached;
        _branches = compute();
        _branchKey = key;
        return _branches.Value;
    }
}

/// <summary>A target as the user wrote it; resolved against the model once its cost is known.</summary>
internal abstract record TargetSpec
{
    public sealed record Flops(string Text) : TargetSpec;
    public sealed record Params(string Text) : TargetSpec;
    public sealed record Ratio(double Value) : TargetSpec;

    /// <summary>The latency model predicts at most <paramref name="BudgetMs"/> (the caller resolved "50%" or "5ms"
    /// against the measured original; the latency loop tightens it when the measured result misses).</summary>
    public sealed record Latency(double BudgetMs, string Text) : TargetSpec;

    /// <summary>Every one of the targets holds.</summary>
    public sealed record All(IReadOnlyList<TargetSpec> Targets) : TargetSpec;

    /// <summary>The targets this one consists of (itself, or the members of <see cref="All"/>).</summary>
    public IEnumerable<TargetSpec> Parts => this is All a ? a.Targets.SelectMany(t => t.Parts) : [this];

    /// <summary>As the report and the terminal name it: "flops 50%", "params 2M", "ratio 0.3", "latency 50%"; several comma-separated.</summary>
    public string Describe() => this switch
    {
        Flops f => $"flops {f.Text}",
        Params p => $"params {p.Text}",
        Ratio r => $"ratio {r.Value}",
        Latency l => $"latency {l.Text}",
        All a => string.Join(", ", a.Targets.Select(t => t.Describe())),
        _ => throw new ArgumentOutOfRangeException(),
    };

    /// <param name="latency">Builds the latency predictor a <see cref="Latency"/> target needs (called at most once).</param>
    public PruneTarget Resolve(long macs, long parameters, Func<ILatencyPredictor>? latency = null) => this switch
    {
        Flops f => new PruneTarget.Macs(PruneTarget.ParseLimit(f.Text, macs, "the MACs target"), f.Text),
        Params p => new PruneTarget.Params(PruneTarget.ParseLimit(p.Text, parameters, "the parameter target"), p.Text),
        Ratio r => new PruneTarget.ChannelRatio(r.Value),
        Latency l => new PruneTarget.Latency(l.BudgetMs, (latency ?? throw new PruneInputException(PruneInputProblem.BadTarget,
            $"a latency target ({l.Text}) needs a latency model; none was given"))(), l.Text),
        All a => new PruneTarget.All(ResolveAll(a, macs, parameters, latency)),
        _ => throw new ArgumentOutOfRangeException(),
    };

    private static List<PruneTarget> ResolveAll(All all, long macs, long parameters, Func<ILatencyPredictor>? latency)
    {
        ILatencyPredictor? built = null;
        Func<ILatencyPredictor>? once = latency is null ? null : () => built ??= latency();
        return all.Parts.Select(t => t.Resolve(macs, parameters, once)).ToList();
    }
}
