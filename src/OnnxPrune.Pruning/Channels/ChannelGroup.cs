using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// Channels that belong to the same layers: every unit of a group is computed by the same set of
/// producers (one conv, or all convs tied by residual Adds). Removing a unit removes one channel
/// from every producer in the group and the matching slices everywhere the channel goes.
/// </summary>
internal sealed class ChannelGroup
{
    internal ChannelGroup(int id, IReadOnlyList<Node> producers, IReadOnlyList<int> units, IReadOnlyList<int> prunableUnits, IReadOnlyList<string> pinReasons)
    {
        Id = id;
        Producers = producers;
        Units = units;
        PrunableUnits = prunableUnits;
        PinReasons = pinReasons;
    }

    public int Id { get; }

    /// <summary>The nodes whose output channels make up the group, in graph order.</summary>
    public IReadOnlyList<Node> Producers { get; }

    /// <summary>All units (channels) of the group, as root unit ids.</summary>
    public IReadOnlyList<int> Units { get; }

    /// <summary>Units that no barrier pins.</summary>
    public IReadOnlyList<int> PrunableUnits { get; }

    /// <summary>Why units of this group cannot be removed (empty when all can).</summary>
    public IReadOnlyList<string> PinReasons { get; }

    public int ChannelCount => Units.Count;
    public bool IsPrunable => PrunableUnits.Count > 1;

    /// <summary>Identifies the group across analyses of the same model: its producers' output names
    /// (unique in a graph and kept by pruning), unlike <see cref="Name"/>, which may repeat.</summary>
    public string Key => string.Join(",", Producers.Select(p => p.Outputs[0].Name));

    public string Name => string.Join(" + ", Producers.Take(3).Select(p => p.Name.Length > 0 ? p.Name : p.OpType)) + (Producers.Count > 3 ? $" (+{Producers.Count - 3})" : "");
}
