using OnnxPrune.Cli.Output;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune inspect MODEL --groups`: the channel groups and barriers the pruner sees.</summary>
internal static class GroupListing
{
    public sealed record GroupRow(int Id, string Name, int Channels, int PrunableChannels, long MacsControlled, long ParamsControlled,
        IReadOnlyList<string> Producers, IReadOnlyList<GroupMember> Members, IReadOnlyList<string> PinnedBy);

    public sealed record BarrierRow(string Node, string OpType, string Reason, int PinnedChannels);

    public sealed record Listing(long Macs, long Params, int Prunable, IReadOnlyList<GroupRow> Groups, IReadOnlyList<BarrierRow> Barriers);

    public static Listing Build(Model model, IReadOnlyDictionary<string, long[]> shapes)
    {
        PreparePasses.Run(model);
        foreach (var input in model.Graph.Inputs)
            if (shapes.TryGetValue(input.Name, out var dims)) input.Shape = new Shape(dims);
        var analysis = ChannelAnalysis.Run(model);
        var baseline = CostModel.Measure(model.Graph);
        var estimator = new PrunedCostEstimator(analysis, baseline);
        var rows = analysis.Groups.Select(g =>
        {
            // What the group controls: the cost that would go if all of its channels went.
            var (macs, parameters) = estimator.Estimate(g.Units.ToList());
            return new GroupRow(g.Id, g.Name, g.ChannelCount, g.PrunableUnits.Count, baseline.Macs - macs, baseline.Params - parameters,
                g.Producers.Select(p => p.Name).ToList(), analysis.Members(g), g.PinReasons);
        }).ToList();
        var barriers = analysis.Barriers.GroupBy(b => (b.NodeName, b.OpType, b.Reason))
            .Select(b => new BarrierRow(b.Key.NodeName, b.Key.OpType, b.Key.Reason, b.Sum(x => x.Units.Count))).ToList();
        return new Listing(baseline.Macs, baseline.Params, rows.Count(r => r.PrunableChannels > 1), rows, barriers);
    }

    public static void Print(Listing l, Terminal o)
    {
        o.Result($"{l.Groups.Count} channel groups, {l.Prunable} prunable; model: {l.Macs:N0} MACs, {l.Params:N0} params");
        var table = new Table("id", "group", "channels", "prunable", "MACs", "params", "members", "pinned by");
        foreach (var g in l.Groups)
            table.Add(g.Id, g.Name, g.Channels, g.PrunableChannels, Numbers.Short(g.MacsControlled), Numbers.Short(g.ParamsControlled), g.Members.Count, g.PinnedBy.FirstOrDefault() ?? "");
        o.Write(table);
        if (l.Barriers.Count == 0) return;
        o.Line();
        o.Line("barriers:");
        foreach (var b in l.Barriers) o.Line($"  {b.OpType} '{b.Node}': {b.Reason} ({b.PinnedChannels} channel(s))");
    }
}
