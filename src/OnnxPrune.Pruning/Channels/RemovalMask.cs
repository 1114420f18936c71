namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// Answers "is this unit removed?" for a set of removed root units in O(1) per unit, for the
/// estimators that query thousands of candidate sets (<see cref="Cost.PrunedCostEstimator"/>,
/// <see cref="Latency.LatencyModel"/>): every unit's root is found once, up front.
/// </summary>
internal sealed class RemovalMask
{
    private readonly int[] _roots;

    public RemovalMask(ChannelAnalysis analysis)
    {
        _roots = new int[analysis.Context.Units.Count];
        for (int u = 0; u < _roots.Length; u++) _roots[u] = analysis.Root(u);
    }

    /// <summary>Per unit id: removed with <paramref name="removedRoots"/> (O(units)).</summary>
    public bool[] Removed(IReadOnlyCollection<int> removedRoots)
    {
        var removedRoot = new bool[_roots.Length];
        foreach (var r in removedRoots) removedRoot[r] = true;
        var removed = new bool[_roots.Length];
        for (int u = 0; u < removed.Length; u++) removed[u] = removedRoot[_roots[u]];
        return removed;
    }

    /// <summary>Positions of <paramref name="units"/> that stay (-1 marks a position no unit owns: it always stays).</summary>
    public static int Kept(int[] units, bool[] removed)
    {
        int kept = 0;
        foreach (var u in units) if (u < 0 || !removed[u]) kept++;
        return kept;
    }
}
