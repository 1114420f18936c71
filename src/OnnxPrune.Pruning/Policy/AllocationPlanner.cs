using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;

namespace OnnxPrune.Pruning.Policy;

internal enum Allocation
{
    /// <summary>One threshold on scores normalised per group (each group's mean is 1): layers
    /// whose channels matter less lose more.</summary>
    Global,
    /// <summary>The same fraction from every group.</summary>
    Uniform,
    /// <summary>One threshold T on scores normalised per model (mean 1), scaled per group by its
    /// share of the producer weights: T_l = T * nnz(W_l) / sum nnz(W_l') (Zhao, Jain, Zhao,
    /// arXiv 2201.10520); channels with a score at or below T_l go.</summary>
    Threshold,
    /// <summary>Greedy latency-saliency knapsack (Shen et al., HALP, NeurIPS 2022; METHODS.md §5): step by step,
    /// the group whose next narrower allowed width loses the least normalised score per unit of progress towards
    /// the targets (predicted latency first) gives up those channels.</summary>
    Latency,
    /// <summary>PQ Index (Diao et al., ICLR 2023): each iteration prunes the c lowest channels the index of the scores
    /// says are compressible; the iterative loop (<see cref="Pqi.PqiPruner"/>) repeats until the target holds.</summary>
    Pqi,
    /// <summary>CIE (cross-layer importance): a sensitivity grid of each group pruned alone at each ratio; one tau on
    /// the loss it costs picks every group's ratio.</summary>
    Cie,
}

/// <summary>Per-group limits every plan respects.</summary>
internal sealed record GroupConstraints
{
    /// <summary>Default of <see cref="RoundTo"/>, measured on ONNX Runtime's CPU kernels (1.30, re-measured on 1.32)
    /// (tools/bench/results/width-latency.md): its blocked convolution pads channels to 16 on
    /// AVX-512, so any width from 17 to 31 costs what 32 costs, and widths that are not multiples
    /// of 4 fall back to a kernel 1.6-2.3x slower.</summary>
    public const int DefaultRoundTo = 16;

    /// <summary>Default of <see cref="SmallStep"/>: below 16 channels, 4, 8 and 12 are still faster than 16.</summary>
    public const int DefaultSmallStep = 4;

    /// <summary>Kept channel counts of RoundTo or more are multiples of it (or the group's full count).</summary>
    public int RoundTo { get; init; } = DefaultRoundTo;

    /// <summary>Kept counts below <see cref="RoundTo"/> are multiples of this (equal to RoundTo for plain multiples).</summary>
    public int SmallStep { get; init; } = DefaultSmallStep;

    /// <summary>At most this fraction of a group's channels is removed.</summary>
    public double MaxRatio { get; init; } = 0.9;

    /// <summary>The smallest allowed width at or above <paramref name="kept"/>.</summary>
    public int RoundUp(int kept)
    {
        if (kept >= RoundTo) return (kept + RoundTo - 1) / RoundTo * RoundTo;
        int step = Math.Max(1, Math.Min(SmallStep, RoundTo));
        return Math.Min(RoundTo, (Math.Max(kept, 1) + step - 1) / step * step);
    }

    /// <summary>
    /// The next coarser rule when a plan under this one ran slower than the original: first no narrow steps below
    /// <see cref="RoundTo"/> (a 16-channel residual stream cut to 12 runs slower in ONNX Runtime than at 16, though a single
    /// conv at 12 is faster: the layers around it read a width that is not a whole block), then twice the multiple.
    /// Doubling alone would keep the small steps and so allow more narrow widths (20, 24, 28 under 32), not fewer.
    /// </summary>
    public GroupConstraints Coarser() =>
        SmallStep < RoundTo ? this with { SmallStep = RoundTo } : this with { RoundTo = RoundTo * 2, SmallStep = RoundTo * 2 };

    public string Describe() => SmallStep >= RoundTo || RoundTo <= 1 ? $"multiples of {RoundTo}" : $"multiples of {RoundTo} (of {SmallStep} below {RoundTo})";
}

/// <summary>Which units to remove, and what the estimator says the model will cost.</summary>
/// <param name="GroupsAtLimit">Prunable groups that lost as much as the constraints allow.</param>
internal sealed record PrunePlan(IReadOnlyList<int> Removed, long Macs, long Params, bool TargetMet, string? Shortfall, int GroupsAtLimit);

/// <summary>
/// Chooses the units to remove: ranks each group's prunable units by score, then searches the
/// one knob of the allocation (global threshold, uniform ratio, or the nnz-weighted threshold T)
/// for the least pruning that meets the target. Every group keeps at least one channel, at most MaxRatio goes, and kept
/// counts are rounded up to a multiple of RoundTo. Deterministic for given scores.
/// </summary>
internal sealed partial class AllocationPlanner
{
    private readonly ChannelAnalysis _analysis;
    private readonly PrunedCostEstimator _estimator;
    private readonly GroupConstraints _constraints;
    private readonly List<(ChannelGroup Group, int[] Order, double[] Normalized)> _ranked = new();
    private readonly IReadOnlyDictionary<int, double> _scores;
    private List<(double[] ModelNormalized, double Share)>? _layerThresholds;

    public AllocationPlanner(ChannelAnalysis analysis, IReadOnlyDictionary<int, double> scores, PrunedCostEstimator estimator, GroupConstraints constraints)
    {
        _analysis = analysis;
        _estimator = estimator;
        _constraints = constraints;
        _scores = scores;
        foreach (var g in analysis.Groups.Where(g => g.IsPrunable))
        {
            // Lowest score first; ties by unit id so the plan is deterministic.
            var order = g.PrunableUnits.OrderBy(u => scores.GetValueOrDefault(u)).ThenBy(u => u).ToArray();
            var mean = g.Units.Average(u => scores.GetValueOrDefault(u));
            var normalized = order.Select(u => mean > 0 ? scores.GetValueOrDefault(u) / mean : 0).ToArray();
            _ranked.Add((g, order, normalized));
        }
    }

    /// <summary>Groups whose every channel may go, because removing them all collapses a residual branch
    /// (<see cref="Depth.ResidualBranches"/>), by id, with the measured cost of removing the branch
    /// (<see cref="Depth.BranchSensitivity"/>); only the latency allocation offers that width.</summary>
    public IReadOnlyDictionary<int, double> Collapsible { get; init; } = new Dictionary<int, double>();

    /// <summary>Prices the latency allocation's steps by the latency they save when the target has no latency part
    /// (a MACs or parameter target met with the removals that save the most time per score lost); null: by progress.</summary>
    public ILatencyPredictor? Pricing { get; init; }

    public PrunePlan Plan(PruneTarget target, Allocation allocation)
    {
        if (allocation == Allocation.Latency) return PlanKnapsack(target);
        Func<double, List<int>> select = allocation switch
        {
            Allocation.Global => SelectByThreshold,
            Allocation.Uniform => SelectByRatio,
            Allocation.Threshold => SelectByLayerThreshold,
            Allocation.Pqi => SelectByPqi,
            Allocation.Cie => SelectByCie,
            _ => throw new ArgumentOutOfRangeException(nameof(allocation)),
        };
        double hi = allocation switch
        {
            Allocation.Global => _ranked.Select(r => r.Normalized.LastOrDefault()).DefaultIfEmpty(0).Max() + 1e-9,
            Allocation.Uniform => _constraints.MaxRatio,
            Allocation.Pqi => 1,
            Allocation.Cie => Matrix.Range().Max + 1e-9,
            _ => HighestLayerThreshold(),
        };

        var most = select(hi);
        if (!Meets(target, most, out var mostMacs, out var mostParams))
            return new PrunePlan(most, mostMacs, mostParams, false, Shortfall(target, most, mostMacs, mostParams), AtLimit(most));
        // tau may be negative for CIE (pruning a group helped); every other knob starts at 0.
        double lo = allocation == Allocation.Cie ? Matrix.Range().Min - 1e-9 : 0;
        for (int i = 0; i < 60; i++)
        {
            var mid = (lo + hi) / 2;
            if (Meets(target, select(mid), out _, out _)) hi = mid; else lo = mid;
        }
        var chosen = select(hi);
        Meets(target, chosen, out var macs, out var parameters);
        return new PrunePlan(chosen, macs, parameters, true, null, AtLimit(chosen));
    }

    private int TotalPrunable => _ranked.Sum(r => r.Order.Length);

    /// <summary>How far each part of <paramref name="target"/> is from holding: value minus limit (at most 0: it holds), in the part's own units.</summary>
    private List<(PruneTarget Part, double Value, double Limit)> Measure(PruneTarget target, IReadOnlyCollection<int> removed, long macs, long parameters) =>
        target.Parts.Select(part => part switch
        {
            PruneTarget.Macs m => (part, (double)macs, (double)m.Limit),
            PruneTarget.Params p => (part, (double)parameters, (double)p.Limit),
            PruneTarget.ChannelRatio r => (part, (double)(TotalPrunable - removed.Count), TotalPrunable * (1 - r.Ratio)),
            PruneTarget.Latency l => (part, l.Predictor.Predict(removed), l.BudgetMs),
            _ => throw new ArgumentOutOfRangeException(nameof(target)),
        }).ToList();

    private bool Meets(PruneTarget target, IReadOnlyCollection<int> removed, out long macs, out long parameters)
    {
        (macs, parameters) = _estimator.Estimate(removed);
        return Measure(target, removed, macs, parameters).All(m => m.Value <= m.Limit + 1e-9);
    }

    private int AtLimit(List<int> removed)
    {
        var set = removed.ToHashSet();
        return _ranked.Count(r => r.Order.Count(set.Contains) >= Constrain(r.Group, int.MaxValue));
    }

    private List<int> SelectByThreshold(double threshold)
    {
        var removed = new List<int>();
        foreach (var (group, order, normalized) in _ranked)
        {
            int n = 0;
            while (n < order.Length && normalized[n] < threshold) n++;
            removed.AddRange(order.Take(Constrain(group, n)));
        }
        return removed;
    }

    /// <summary>
    /// Per prunable group (in planning order): its scores divided by the mean score of every channel of
    /// every prunable group (so one T means the same on any model), and its share of the model's
    /// producer weights, nnz(W_l) / sum nnz(W_l'): the non-zero entries of the weight tensors
    /// (input 1, not biases) of the group's producers, counted over the group's channels.
    /// </summary>
    internal IReadOnlyList<(ChannelGroup Group, double[] ModelNormalized, double Share)> LayerThresholdInputs()
    {
        if (_layerThresholds is null)
        {
            var all = _ranked.SelectMany(r => r.Group.Units).ToList();
            double mean = all.Count == 0 ? 0 : all.Average(u => _scores.GetValueOrDefault(u));
            var nnz = new Dictionary<int, long>();
            foreach (var b in _analysis.Bindings.Where(b => b.Role == ParamRole.Producer && b.InputIndex == 1))
            {
                var counts = TensorSlicing.NonZeros(_analysis.Context.ConstantOf(b.Node.Inputs[b.InputIndex])!, b.Axis);
                for (int i = 0; i < counts.Length; i++)
                    if (b.IndexUnits[i] >= 0) nnz[_analysis.Root(b.IndexUnits[i])] = nnz.GetValueOrDefault(_analysis.Root(b.IndexUnits[i])) + counts[i];
            }
            var perGroup = _ranked.Select(r => r.Group.Units.Sum(u => nnz.GetValueOrDefault(u))).ToList();
            double total = perGroup.Sum();
            _layerThresholds = _ranked.Select((r, i) => (
                r.Order.Select(u => mean > 0 ? _scores.GetValueOrDefault(u) / mean : 0).ToArray(),
                total > 0 ? perGroup[i] / total : 0)).ToList();
        }
        return _ranked.Select((r, i) => (r.Group, _layerThresholds[i].ModelNormalized, _layerThresholds[i].Share)).ToList();
    }

    /// <summary>T_l = T * nnz(W_l) / sum nnz(W_l') for each prunable group, in planning order.</summary>
    internal IReadOnlyList<(ChannelGroup Group, double Threshold)> LayerThresholds(double t) =>
        LayerThresholdInputs().Select(x => (x.Group, t * x.Share)).ToList();

    /// <summary>A T at which every group's threshold reaches its highest score.</summary>
    private double HighestLayerThreshold() =>
        LayerThresholdInputs().Where(x => x.Share > 0).Select(x => x.ModelNormalized.LastOrDefault() / x.Share).DefaultIfEmpty(0).Max() * (1 + 1e-9) + 1e-12;

    private List<int> SelectByLayerThreshold(double t)
    {
        var removed = new List<int>();
        var inputs = LayerThresholdInputs();
        for (int i = 0; i < _ranked.Count; i++)
        {
            var (group, order, _) = _ranked[i];
            var (_, scores, share) = inputs[i];
            double threshold = t * share;
            int n = 0;
            while (n < order.Length && scores[n] <= threshold) n++;
            removed.AddRange(order.Take(Constrain(group, n)));
        }
        return removed;
    }

    private List<int> SelectByRatio(double ratio)
    {
        var removed = new List<int>();
        foreach (var (group, order, _) in _ranked)
            removed.AddRange(order.Take(Constrain(group, (int)Math.Floor(ratio * group.ChannelCount + 1e-9))));
        return removed;
    }

    /// <summary>How many of the group's lowest units may go, given the wish <paramref name="wanted"/>.</summary>
    private int Constrain(ChannelGroup group, int wanted)
    {
        int c = group.ChannelCount;
        int limit = Math.Min(group.PrunableUnits.Count, Math.Min(c - 1, (int)Math.Floor(_constraints.MaxRatio * c + 1e-9)));
        int n = Math.Clamp(wanted, 0, limit);
        if (n > 0 && (_constraints.RoundTo > 1 || _constraints.SmallStep > 1))
        {
            // Round the kept count up to an allowed width; never below the narrowest the limit allows.
            int kept = _constraints.RoundUp(c - n);
            if (kept >= c) return 0;
            n = c - kept;
            if (n > limit)
            {
                kept = _constraints.RoundUp(c - limit);
                n = kept >= c ? 0 : c - kept;
            }
        }
        return n;
    }

    private string Shortfall(PruneTarget target, IReadOnlyCollection<int> removed, long macs, long parameters) =>
        string.Join("; ", Measure(target, removed, macs, parameters).Where(m => m.Value > m.Limit + 1e-9).Select(m => m.Part switch
        {
            PruneTarget.Macs t => $"the closest reachable model has {macs:N0} MACs, above the target {t.Limit:N0} ({t.Text})",
            PruneTarget.Params t => $"the closest reachable model has {parameters:N0} parameters, above the target {t.Limit:N0} ({t.Text})",
            PruneTarget.ChannelRatio r => $"fewer than {r.Ratio:P0} of the channels can be removed",
            PruneTarget.Latency l => $"the closest reachable model is predicted at {m.Value:0.###} ms, above the budget {l.BudgetMs:0.###} ms ({l.Text})",
            _ => "",
        }));
}
