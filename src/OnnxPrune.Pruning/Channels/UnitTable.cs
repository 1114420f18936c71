namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// The removable units of a model: one per output channel of each prunable producer (and per
/// channel of zero-filled padding), merged with union-find where the graph couples channels (a
/// residual Add, a depthwise conv, an SE gate). A unit can only be removed as a whole: every
/// tensor slice bound to it goes at once. A unit that reaches a barrier is pinned.
/// </summary>
internal sealed class UnitTable
{
    private readonly List<int> _parent = new();
    private readonly List<List<string>?> _pinReasons = new();
    private readonly List<HashSet<IR.Node>> _producers = new();

    public int Count => _parent.Count;

    public int NewUnit(IR.Node? producer)
    {
        _parent.Add(_parent.Count);
        _pinReasons.Add(null);
        _producers.Add(producer is null ? new HashSet<IR.Node>(ReferenceEqualityComparer.Instance) : new HashSet<IR.Node>(ReferenceEqualityComparer.Instance) { producer });
        return _parent.Count - 1;
    }

    public int Find(int unit)
    {
        while (_parent[unit] != unit)
        {
            _parent[unit] = _parent[_parent[unit]];
            unit = _parent[unit];
        }
        return unit;
    }

    /// <summary>Couples two units: removing one removes the other.</summary>
    public void Union(int a, int b)
    {
        a = Find(a);
        b = Find(b);
        if (a == b) return;
        if (a > b) (a, b) = (b, a); // the older unit stays the root: deterministic ids
        _parent[b] = a;
        _producers[a].UnionWith(_producers[b]);
        if (_pinReasons[b] is { } reasons) (_pinReasons[a] ??= new()).AddRange(reasons);
    }

    public void Pin(int unit, string reason)
    {
        var root = Find(unit);
        var list = _pinReasons[root] ??= new();
        if (!list.Contains(reason)) list.Add(reason);
    }

    public bool IsPinned(int unit) => _pinReasons[Find(unit)] is { Count: > 0 };
    public IReadOnlyList<string> PinReasons(int unit) => (IReadOnlyList<string>?)_pinReasons[Find(unit)] ?? Array.Empty<string>();
    public IReadOnlySet<IR.Node> Producers(int unit) => _producers[Find(unit)];
}
