using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// What a channel rule sees and does while the analysis walks the graph: the carriers of its
/// inputs, new carriers for its outputs, units to create, couple or pin, tensor slices to bind,
/// and attribute fix-ups to run when channels are removed.
/// </summary>
internal sealed class AnalysisContext
{
    private readonly Dictionary<Value, Carrier> _carriers = new(ReferenceEqualityComparer.Instance);

    public AnalysisContext(Model model, ShapeInferenceResult shapes)
    {
        Model = model;
        Shapes = shapes;
    }

    public Model Model { get; }
    public ShapeInferenceResult Shapes { get; }
    public UnitTable Units { get; } = new();
    public List<ParamBinding> Bindings { get; } = new();
    public List<(Node Node, Action<RewriteContext> Fixup)> Fixups { get; } = new();
    public List<ChannelBarrier> Barriers { get; } = new();

    /// <summary>Channel counts read by a Shape node that reach a Resize's sizes: (the Resize,
    /// the sizes entry, the carrier whose count it is). The Resize rule, which runs later, checks
    /// that each lands on its own channel axis and couples the two, or pins.</summary>
    public List<(Node Resize, int Entry, Carrier Source)> SizesReads { get; } = new();
    public IReadOnlyDictionary<Value, Carrier> Carriers => _carriers;

    public Carrier? CarrierOf(Value? v) => v is not null && _carriers.TryGetValue(v, out var c) ? c : null;

    public void SetCarrier(Value v, int axis, int[] units, bool mayBeNonZero) => _carriers[v] = new Carrier(v, axis, units, mayBeNonZero);

    public Shape? ShapeOf(Value? v) => v is null ? null : Shapes.GetShape(v);
    public int? RankOf(Value? v) => ShapeOf(v)?.Rank;

    /// <summary>Fresh units for the output channels of <paramref name="producer"/>.</summary>
    public int[] NewUnits(Node? producer, int count)
    {
        var units = new int[count];
        for (int i = 0; i < count; i++) units[i] = Units.NewUnit(producer);
        return units;
    }

    /// <summary>Couples two carriers position by position (a residual Add, an SE gate's Mul).</summary>
    public void UnionCarriers(Carrier a, Carrier b)
    {
        for (int i = 0; i < a.Length; i++)
        {
            int x = a.Units[i], y = b.Units[i];
            if (x >= 0 && y >= 0) Units.Union(x, y);
            else if (x >= 0) Units.Pin(x, "added to a channel that cannot be removed");
            else if (y >= 0) Units.Pin(y, "added to a channel that cannot be removed");
        }
    }

    /// <summary>Makes every unit of <paramref name="carrier"/> unremovable because of <paramref name="node"/>.</summary>
    public void Pin(Carrier carrier, Node? node, string why)
    {
        var reason = node is null ? $"graph output '{carrier.Value.Name}': {why}" : $"{node.OpType} '{node.Name}': {why}";
        var pinned = new HashSet<int>();
        foreach (var u in carrier.Units)
            if (u >= 0)
            {
                Units.Pin(u, reason);
                pinned.Add(Units.Find(u));
            }
        if (pinned.Count > 0) Barriers.Add(new ChannelBarrier(node?.Name ?? carrier.Value.Name, node?.OpType ?? "graph output", why, pinned.ToList()));
    }

    /// <summary>Keeps one channel of a range that a Slice or Split output carries: the group keeps
    /// a channel somewhere, but removing every channel of the range would leave an empty tensor,
    /// which ONNX Runtime's kernels (pooling, convolution) reject while the masked original just
    /// computes zeros. Pins the range's first unit unless the range already holds a channel that
    /// cannot go.</summary>
    public void KeepOne(int[] units, Node node)
    {
        if (units.Length == 0 || units.Any(u => u < 0 || Units.IsPinned(u))) return;
        const string why = "keeps one channel of the range it takes, so its output is never empty";
        Units.Pin(units[0], $"{node.OpType} '{node.Name}': {why}");
        Barriers.Add(new ChannelBarrier(node.Name, node.OpType, why, [Units.Find(units[0])]));
    }

    /// <summary>Records that entry i of <paramref name="axis"/> of the node's constant input belongs to
    /// unit <c>indexUnits[i]</c>. When the tensor's size there is not the number of entries (the
    /// model's declared shapes disagree with its weights, as in a file whose input dims were
    /// changed: found by fuzzing), the units are pinned instead and the tensor is left alone.</summary>
    public void Bind(Node node, int inputIndex, int axis, int[] indexUnits, ParamRole role)
    {
        if (ConstantOf(node.Inputs[inputIndex]) is { } t && (axis >= t.Dims.Length || t.Dims[axis] != indexUnits.Length))
        {
            var reason = $"{node.OpType} '{node.Name}': input {inputIndex} has {(axis < t.Dims.Length ? t.Dims[axis] : 0)} entries on axis {axis}, " +
                         $"but the shapes give {indexUnits.Length} channels (the model's shapes disagree with its weights)";
            var pinned = new HashSet<int>();
            foreach (var u in indexUnits.Where(u => u >= 0)) { Units.Pin(u, reason); pinned.Add(Units.Find(u)); }
            if (pinned.Count > 0) Barriers.Add(new ChannelBarrier(node.Name, node.OpType, reason, pinned.ToList()));
            return;
        }
        Bindings.Add(new ParamBinding(node, inputIndex, axis, indexUnits, role));
    }

    public void AddFixup(Node node, Action<RewriteContext> fixup) => Fixups.Add((node, fixup));

    /// <summary>The constant tensor a value holds: an initializer, a Constant node's value, or a
    /// small value shape inference computed. Null when not constant.</summary>
    public Tensor? ConstantOf(Value? v)
    {
        if (v is null) return null;
        if (v.ConstValue is not null && v.Producer is null && !v.IsGraphInput) return v.ConstValue;
        if (v.Producer is { OpType: "Constant" } c && c.Attributes["value"] is { Kind: AttributeKind.Tensor } a) return a.AsTensor();
        return Shapes.TryGetConstant(v, out var t) ? t : null;
    }

    /// <summary>True when <paramref name="v"/> is a constant whose every entry is 0 (adding it keeps a zeroed channel zero).</summary>
    public bool IsZeroConstant(Value? v) =>
        ConstantOf(v) is { } t && t.DataType != DataType.String && t.ToDoubleArray().All(d => d == 0);

    /// <summary>True when the tensor can be sliced by the rewrite: an initializer or a Constant node's value.</summary>
    public bool IsSliceableParameter(Value? v) =>
        v is not null && ((v.ConstValue is not null && v.Producer is null && !v.IsGraphInput) ||
                          (v.Producer is { OpType: "Constant" } c && c.Attributes["value"] is { Kind: AttributeKind.Tensor }));
}

/// <summary>An op that stopped channels from being pruned, and the units it pinned.</summary>
internal sealed record ChannelBarrier(string NodeName, string OpType, string Reason, IReadOnlyList<int> Units);
