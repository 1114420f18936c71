using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// Finds the channel groups of a model: propagates units from every prunable producer through the
/// rule table, in topological order, pinning what reaches a barrier (an op without a rule, a
/// graph output, a subgraph). The result knows every tensor slice of every unit, so removal is
/// one step per unit set.
/// </summary>
internal sealed class ChannelAnalysis
{
    private ChannelAnalysis(Model model, AnalysisContext ctx, IReadOnlyList<ChannelGroup> groups)
    {
        Model = model;
        Context = ctx;
        Groups = groups;
    }

    public Model Model { get; }
    internal AnalysisContext Context { get; }
    public IReadOnlyList<ChannelGroup> Groups { get; }
    public IReadOnlyList<ChannelBarrier> Barriers => Context.Barriers;

    /// <summary>Analyzes <paramref name="model"/> (shape inference runs first and records shapes on it).</summary>
    /// <param name="pinnedGroups">Groups to keep whole, by <see cref="ChannelGroup.Key"/>, with the reason (a barrier in the result).</param>
    public static ChannelAnalysis Run(Model model, IReadOnlyDictionary<string, string>? pinnedGroups = null)
    {
        var shapes = new ShapeInferencer().Run(model);
        var ctx = new AnalysisContext(model, shapes);
        var graph = model.Graph;
        foreach (var node in graph.Nodes)
        {
            if (node.IsOnnxDomain && ChannelRuleTable.Rules.TryGetValue(node.OpType, out var rule))
            {
                rule.Propagate(node, ctx);
                // Removing channels there would change an operand the rule never rewrites.
                // Once per carrier, at its first such input: a damaged node reading one value 70,000
                // times (found by fuzzing) made one pin reason per input, and pinning quadratic.
                var seen = new HashSet<Carrier>(ReferenceEqualityComparer.Instance);
                for (int i = 0; i < node.Inputs.Count; i++)
                    if (!rule.FollowsInput(i) && ctx.CarrierOf(node.Inputs[i]) is { } other && seen.Add(other))
                        ctx.Pin(other, node, $"channels arrive on input {i}, which it does not follow");
                continue;
            }
            foreach (var c in node.Inputs.Select(ctx.CarrierOf).OfType<Carrier>().Distinct<Carrier>(ReferenceEqualityComparer.Instance))
                ctx.Pin(c, node, node.IsOnnxDomain ? "no channel rule for this op" : $"op of domain '{node.Domain}'");
        }
        foreach (var output in graph.Outputs)
            if (ctx.CarrierOf(output) is { } c) ctx.Pin(c, null, "the model's outputs keep their shapes");
        // Values read inside subgraphs (If/Loop bodies) are outside what the rules see.
        foreach (var carrier in ctx.Carriers.Values.ToList())
            if (carrier.Value.Uses.Any(u => !ReferenceEquals(u.Node.Graph, graph)))
                ctx.Pin(carrier, carrier.Value.Uses.First(u => !ReferenceEquals(u.Node.Graph, graph)).Node, "read inside a subgraph");
        var groups = BuildGroups(ctx, graph);
        if (pinnedGroups is { Count: > 0 })
        {
            foreach (var group in groups)
                if (pinnedGroups.TryGetValue(group.Key, out var reason))
                {
                    foreach (var u in group.Units) ctx.Units.Pin(u, reason);
                    ctx.Barriers.Add(new ChannelBarrier(group.Name, "ONNX Runtime", reason, group.Units.ToList()));
                }
            groups = BuildGroups(ctx, graph);
        }
        return new ChannelAnalysis(model, ctx, groups);
    }

    private static List<ChannelGroup> BuildGroups(AnalysisContext ctx, Graph graph)
    {
        var order = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < graph.Nodes.Count; i++) order[graph.Nodes[i]] = i;
        var roots = new SortedSet<int>();
        for (int u = 0; u < ctx.Units.Count; u++) roots.Add(ctx.Units.Find(u));
        var byProducers = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var keyOrder = new List<string>();
        foreach (var root in roots)
        {
            var producers = ctx.Units.Producers(root);
            if (producers.Count == 0) continue; // zero padding that nothing coupled to a layer
            var key = string.Join(",", producers.Select(p => order[p]).Order());
            if (!byProducers.TryGetValue(key, out var list)) { byProducers[key] = list = new(); keyOrder.Add(key); }
            list.Add(root);
        }
        var groups = new List<ChannelGroup>();
        foreach (var key in keyOrder.OrderBy(k => int.Parse(k.Split(',')[0])))
        {
            var units = byProducers[key];
            var producers = ctx.Units.Producers(units[0]).OrderBy(p => order[p]).ToList();
            var prunable = units.Where(u => !ctx.Units.IsPinned(u)).ToList();
            var reasons = units.SelectMany(u => ctx.Units.PinReasons(u)).Distinct().ToList();
            groups.Add(new ChannelGroup(groups.Count, producers, units, prunable, reasons));
        }
        return groups;
    }

    /// <summary>Removes <paramref name="units"/> (root ids of prunable units) from the model in one
    /// step: slices every bound tensor, runs the fix-ups, updates the channel dims of recorded
    /// shapes, and drops what became dead. Throws when a unit is pinned or a group would lose
    /// every channel. The analysis is spent afterwards: analyze the result again to go on.</summary>
    public void Remove(IReadOnlyCollection<int> units)
    {
        var ctx = Context;
        foreach (var u in units)
            if (ctx.Units.IsPinned(u)) throw new InvalidOperationException($"unit {u} is pinned: {string.Join("; ", ctx.Units.PinReasons(u))}");
        var rewrite = new RewriteContext(Model, ctx.Units, units);
        foreach (var group in Groups)
            if (group.Units.All(rewrite.IsRemoved))
                throw new InvalidOperationException($"group '{group.Name}' would lose all {group.ChannelCount} channels; keep at least one");

        // Slice each bound tensor once, through all of its bound axes.
        foreach (var bySlot in ctx.Bindings.GroupBy(b => (b.Node, b.InputIndex)))
        {
            var (node, index) = bySlot.Key;
            var tensor = ctx.ConstantOf(node.Inputs[index])!;
            var sliced = tensor;
            foreach (var b in bySlot) sliced = TensorSlicing.Take(sliced, b.Axis, rewrite.KeepMask(b.IndexUnits));
            if (!ReferenceEquals(sliced, tensor)) rewrite.ReplaceConstantInput(node, index, sliced);
        }
        foreach (var (_, fixup) in ctx.Fixups) fixup(rewrite);
        foreach (var carrier in ctx.Carriers.Values)
        {
            var v = carrier.Value;
            if (v.Shape is { } shape && carrier.Axis < shape.Rank)
            {
                var dims = shape.Dims.ToArray();
                dims[carrier.Axis] = Dim.Known(rewrite.KeptCount(carrier.Units));
                v.Shape = new Shape(dims);
            }
        }
        new IR.Passes.EliminateDeadCode().Run(Model);
    }

    /// <summary>For checking removal: zeroes, in place of the original tensors, the producer and
    /// per-channel slices of the given units (filters, biases, BatchNorm scale and shift, per-channel
    /// constants; not consumer slices, statistics or divisors), so the model computes exactly what it
    /// will compute once they are removed.</summary>
    public void ZeroInPlace(IReadOnlyCollection<int> units)
    {
        var ctx = Context;
        var rewrite = new RewriteContext(Model, ctx.Units, units);
        foreach (var bySlot in ctx.Bindings.Where(b => b.Role is ParamRole.Producer or ParamRole.PerChannel).GroupBy(b => (b.Node, b.InputIndex)))
        {
            var (node, index) = bySlot.Key;
            var tensor = ctx.ConstantOf(node.Inputs[index])!;
            var zeroed = tensor;
            foreach (var b in bySlot) zeroed = TensorSlicing.Zero(zeroed, b.Axis, rewrite.KeepMask(b.IndexUnits).Select(k => !k).ToArray());
            if (!ReferenceEquals(zeroed, tensor)) rewrite.ReplaceConstantInput(node, index, zeroed);
        }
    }

    /// <summary>Every tensor slice the group's units own: (node, op, input index, axis, role).</summary>
    public IReadOnlyList<GroupMember> Members(ChannelGroup group)
    {
        var units = group.Units.ToHashSet();
        return Context.Bindings
            .Where(b => b.IndexUnits.Any(u => u >= 0 && units.Contains(Root(u))))
            .Select(b => new GroupMember(b.Node.Name, b.Node.OpType, b.Node.Inputs[b.InputIndex]?.Name ?? "", b.Axis, b.Role.ToString().ToLowerInvariant()))
            .Distinct().ToList();
    }

    /// <summary>Bindings of a unit set, for criteria.</summary>
    internal IEnumerable<ParamBinding> Bindings => Context.Bindings;
    internal int Root(int unit) => Context.Units.Find(unit);
}

/// <summary>A tensor slice that belongs to a group: input <see cref="Tensor"/> of node
/// <see cref="Node"/>, sliced along <see cref="Axis"/>; role is producer, consumer, perchannel or statistic.</summary>
internal sealed record GroupMember(string Node, string OpType, string Tensor, int Axis, string Role);
