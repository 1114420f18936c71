namespace OnnxPrune.IR;

/// <summary>One use of a value: <see cref="Node"/> reads it as input number <see cref="InputIndex"/>.</summary>
public readonly record struct Use(Node Node, int InputIndex);

/// <summary>
/// A tensor-valued SSA name: a graph input, an initializer (it then has a <see cref="ConstValue"/>),
/// or a node output. Compared by identity. The use list is edited only by <see cref="Node"/>, so it
/// and the nodes' input lists never disagree.
/// </summary>
public sealed class Value
{
    private readonly List<Use> _uses = new();
    private Graph? _graph;

    /// <summary>A graph input or initializer; add it to a graph with <see cref="Graph.AddInput"/>
    /// or <see cref="Graph.AddInitializer(Value)"/>.</summary>
    public Value(string name, DataType elementType = DataType.Undefined, Shape? shape = null)
    {
        Name = name;
        ElementType = elementType;
        Shape = shape;
    }

    internal Value(Node producer, int index, string name)
    {
        Producer = producer;
        OutputIndex = index;
        Name = name;
    }

    public string Name { get; set; }

    /// <summary>Element type, or Undefined when not known (or not a tensor).</summary>
    public DataType ElementType { get; set; }

    /// <summary>Shape, or null when even the rank is unknown.</summary>
    public Shape? Shape { get; set; }

    /// <summary>The node that computes this value; null for graph inputs and initializers.</summary>
    public Node? Producer { get; }

    /// <summary>Which output of <see cref="Producer"/> this is.</summary>
    public int OutputIndex { get; }

    /// <summary>The initializer data, for values that are initializers.</summary>
    public Tensor? ConstValue { get; set; }

    /// <summary>The graph this value belongs to: its producer's graph, or the graph it was added to.</summary>
    public Graph? Graph => Producer?.Graph ?? _graph;

    internal void SetOwner(Graph? graph) => _graph = graph;

    /// <summary>Opaque record from the serializer (the value's declared type and doc string);
    /// the IR never reads it.</summary>
    public object? Origin { get; set; }

    /// <summary>Current uses. Do not hold across edits: use <see cref="UsesSnapshot"/> to edit while iterating.</summary>
    public IReadOnlyList<Use> Uses => _uses;

    public Use[] UsesSnapshot() => _uses.ToArray();

    public bool IsInitializer => Producer is null && ConstValue is not null && _graph is not null && _graph.Initializers.ContainsKey(Name) && ReferenceEquals(_graph.Initializers[Name], this);
    public bool IsGraphInput => Producer is null && _graph is not null && _graph.Inputs.Contains(this);
    public bool IsGraphOutput => Graph is { } g && g.Outputs.Contains(this);

    internal void AddUse(Node node, int index) => _uses.Add(new Use(node, index));

    internal void RemoveUse(Node node, int index)
    {
        for (int i = _uses.Count - 1; i >= 0; i--)
        {
            if (ReferenceEquals(_uses[i].Node, node) && _uses[i].InputIndex == index)
            {
                _uses.RemoveAt(i);
                return;
            }
        }
        throw new InvalidOperationException($"use list of '{Name}' has no entry for input {index} of node '{node.Name}'");
    }

    /// <summary>Makes every node input and graph output that reads this value read
    /// <paramref name="replacement"/> instead. O(uses + graph outputs).</summary>
    public void ReplaceAllUsesWith(Value replacement)
    {
        if (ReferenceEquals(this, replacement)) return;
        // The whole use list moves at once: removing uses one by one from the front made this
        // quadratic for a value read 56,000 times (a damaged file; found by fuzzing).
        var uses = UsesSnapshot();
        _uses.Clear();
        foreach (var use in uses)
        {
            use.Node.RetargetInput(use.InputIndex, replacement);
            replacement.AddUse(use.Node, use.InputIndex);
        }
        if (Graph is { } g)
        {
            for (int i = 0; i < g.Outputs.Count; i++)
                if (ReferenceEquals(g.Outputs[i], this)) g.SetOutput(i, replacement);
        }
    }

    public override string ToString() => $"%{Name}";
}
