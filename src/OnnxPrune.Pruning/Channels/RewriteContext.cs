using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>What a fix-up sees during removal: which units go, and the keep masks that follow.</summary>
internal sealed class RewriteContext
{
    private readonly UnitTable _units;
    private readonly HashSet<int> _removedRoots;

    public RewriteContext(Model model, UnitTable units, IEnumerable<int> removed)
    {
        Model = model;
        _units = units;
        _removedRoots = removed.Select(units.Find).ToHashSet();
    }

    public Model Model { get; }

    public bool IsRemoved(int unit) => unit >= 0 && _removedRoots.Contains(_units.Find(unit));

    public bool[] KeepMask(int[] indexUnits)
    {
        var keep = new bool[indexUnits.Length];
        for (int i = 0; i < keep.Length; i++) keep[i] = !IsRemoved(indexUnits[i]);
        return keep;
    }

    public int KeptCount(int[] indexUnits) => indexUnits.Count(u => !IsRemoved(u));

    /// <summary>How many kept positions come before position <paramref name="end"/>.</summary>
    public int KeptBefore(int[] indexUnits, int end) => indexUnits.Take(end).Count(u => !IsRemoved(u));

    /// <summary>Replaces input <paramref name="index"/> of <paramref name="node"/> with a new
    /// initializer holding <paramref name="data"/> (the old one is left for dead-code removal).</summary>
    public void ReplaceConstantInput(Node node, int index, Tensor data)
    {
        var old = node.Inputs[index]!;
        var replacement = Model.Graph.AddInitializer(old.Name + "_pruned", data);
        node.SetInput(index, replacement);
    }
}
