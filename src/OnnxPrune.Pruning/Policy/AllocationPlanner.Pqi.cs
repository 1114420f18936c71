using OnnxPrune.Pruning.Policy.Pqi;

namespace OnnxPrune.Pruning.Policy;

/// <summary>The PQ Index of the scores a plan was made from (METHODS.md §3): over every prunable channel (each
/// group's scores normalised to mean 1, so layers of different scale compare) and per group (raw scores).</summary>
internal sealed record PqiFigures(double Global, IReadOnlyDictionary<string, double> PerGroup, int PruneCount);

internal sealed partial class AllocationPlanner
{
    /// <summary>Settings of <see cref="Allocation.Pqi"/> (null: the paper's defaults).</summary>
    public PqiSettings? Pqi { get; init; }

    private PqiSettings PqiOrDefault => Pqi ?? new PqiSettings();

    /// <summary>The index of the scores, model-wide and per group, and the c one full iteration prunes.</summary>
    public PqiFigures PqiOf()
    {
        var s = PqiOrDefault;
        var all = _ranked.SelectMany(r => r.Normalized).ToList();
        double global = PqIndex.Index(all, s.P, s.Q);
        var perGroup = _ranked.ToDictionary(r => r.Group.Key, r => PqIndex.Index(RawScores(r.Order), s.P, s.Q), StringComparer.Ordinal);
        int c = s.Scope == PqiScope.Global ? GlobalPruneCount() : _ranked.Sum(r => LayerPruneCount(r.Order));
        return new PqiFigures(global, perGroup, c);
    }

    private double[] RawScores(int[] order) => order.Select(u => _scores.GetValueOrDefault(u)).ToArray();

    /// <summary>c for one group: its channels' scores are w.</summary>
    private int LayerPruneCount(int[] order)
    {
        var s = PqiOrDefault;
        int d = order.Length;
        var r = PqIndex.RetainedCount(d, PqIndex.Index(RawScores(order), s.P, s.Q), s.P, s.Q, s.Eta);
        return PqIndex.PruneCount(d, r, s.Gamma, s.Beta);
    }

    private int GlobalPruneCount()
    {
        var s = PqiOrDefault;
        var all = _ranked.SelectMany(r => r.Normalized).ToList();
        var r = PqIndex.RetainedCount(all.Count, PqIndex.Index(all, s.P, s.Q), s.P, s.Q, s.Eta);
        return PqIndex.PruneCount(all.Count, r, s.Gamma, s.Beta);
    }

    /// <summary>
    /// One PQI iteration scaled by <paramref name="share"/> in [0, 1]: per layer, the floor(share c_l) lowest channels
    /// of each group; globally, the floor(share c) lowest normalised scores of the model. The planner searches the
    /// share for the least pruning that meets the target, so the last iteration does not overshoot it; a whole
    /// iteration (share 1) that does not reach it is returned as not met, and the iterative loop prunes again.
    /// </summary>
    private List<int> SelectByPqi(double share)
    {
        var removed = new List<int>();
        if (PqiOrDefault.Scope == PqiScope.Layer)
        {
            foreach (var (group, order, _) in _ranked)
                removed.AddRange(order.Take(Constrain(group, (int)Math.Floor(share * LayerPruneCount(order) + 1e-9))));
            return removed;
        }
        int c = (int)Math.Floor(share * GlobalPruneCount() + 1e-9);
        if (c == 0) return removed;
        // The c-th lowest normalised score model-wide is the threshold; each group keeps its constraints.
        var threshold = _ranked.SelectMany(r => r.Normalized).OrderBy(x => x).ElementAt(Math.Min(c, TotalPrunable) - 1);
        foreach (var (group, order, normalized) in _ranked)
        {
            int n = 0;
            while (n < order.Length && normalized[n] <= threshold) n++;
            removed.AddRange(order.Take(Constrain(group, n)));
        }
        return removed;
    }
}
