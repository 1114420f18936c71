namespace OnnxPrune.IR;

/// <summary>
/// A computation graph: inputs, initializers, nodes in topological order, outputs. Also used for
/// the bodies of If/Loop/Scan, which may read values of the graphs that enclose them
/// (<see cref="ParentNode"/>).
/// </summary>
public sealed class Graph
{
    private readonly List<Value> _inputs = new();
    private readonly List<Value> _outputs = new();
    private readonly Dictionary<string, Value> _initializers = new(StringComparer.Ordinal);
    private readonly List<string> _initializerOrder = new();
    private readonly List<Node> _nodes = new();

    public Graph(string name = "") => Name = name;

    public string Name { get; set; }

    /// <summary>Opaque record from the serializer; the IR never reads it.</summary>
    public object? Origin { get; set; }

    /// <summary>For a subgraph, the node whose attribute holds it.</summary>
    public Node? ParentNode { get; set; }

    public IReadOnlyList<Value> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public IReadOnlyList<Node> Nodes => _nodes;

    /// <summary>Initializers by name.</summary>
    public IReadOnlyDictionary<string, Value> Initializers => _initializers;

    /// <summary>Initializers in file order.</summary>
    public IEnumerable<Value> InitializersInOrder() => _initializerOrder.Select(n => _initializers[n]);

    public void AddInput(Value value)
    {
        if (value.Producer is not null) throw new ArgumentException($"'{value.Name}' is a node output and cannot be a graph input");
        value.SetOwner(this);
        _inputs.Add(value);
    }

    public void RemoveInput(Value value)
    {
        if (value.Uses.Count > 0) throw new InvalidOperationException($"graph input '{value.Name}' still has {value.Uses.Count} uses");
        _inputs.Remove(value);
    }

    /// <summary>Registers an initializer. Its name must be unique among initializers.</summary>
    public Value AddInitializer(Value value)
    {
        if (value.ConstValue is null) throw new ArgumentException($"initializer '{value.Name}' has no data");
        if (value.Producer is not null) throw new ArgumentException($"'{value.Name}' is a node output");
        if (_initializers.ContainsKey(value.Name)) throw new ArgumentException($"an initializer named '{value.Name}' already exists");
        value.SetOwner(this);
        _initializers[value.Name] = value;
        _initializerOrder.Add(value.Name);
        value.ElementType = value.ConstValue.DataType;
        value.Shape = value.ConstValue.Shape;
        return value;
    }

    /// <summary>Adds a new initializer with a name not used in this graph.</summary>
    public Value AddInitializer(string nameHint, Tensor data) =>
        AddInitializer(new Value(UniqueName(nameHint)) { ConstValue = data });

    public void RemoveInitializer(Value value)
    {
        if (value.Uses.Count > 0) throw new InvalidOperationException($"initializer '{value.Name}' still has {value.Uses.Count} uses");
        if (_initializers.TryGetValue(value.Name, out var v) && ReferenceEquals(v, value))
        {
            _initializers.Remove(value.Name);
            _initializerOrder.Remove(value.Name);
        }
    }

    /// <summary>Renaming an initializer must go through here so the name index stays right.</summary>
    public void RenameInitializer(Value value, string newName)
    {
        var i = _initializerOrder.IndexOf(value.Name);
        if (i < 0 || !ReferenceEquals(_initializers[value.Name], value)) throw new ArgumentException($"'{value.Name}' is not an initializer of this graph");
        _initializers.Remove(value.Name);
        value.Name = newName;
        _initializers[newName] = value;
        _initializerOrder[i] = newName;
    }

    public void AddOutput(Value value) => _outputs.Add(value);
    public void SetOutput(int index, Value value) => _outputs[index] = value;
    public void ClearOutputs() => _outputs.Clear();

    /// <summary>Appends a node (the caller keeps topological order, or calls <see cref="SortTopologically"/>).</summary>
    public Node AddNode(Node node) => InsertNodeAt(_nodes.Count, node);

    public Node InsertNodeBefore(Node anchor, Node node) => InsertNodeAt(IndexOf(anchor), node);
    public Node InsertNodeAfter(Node anchor, Node node) => InsertNodeAt(IndexOf(anchor) + 1, node);

    /// <summary>Moves a node of this graph to just after <paramref name="anchor"/>, keeping its
    /// inputs and uses. The caller keeps the order topological. O(nodes).</summary>
    public void MoveNodeAfter(Node anchor, Node node)
    {
        _nodes.RemoveAt(IndexOf(node));
        _nodes.Insert(IndexOf(anchor) + 1, node);
    }

    private Node InsertNodeAt(int index, Node node)
    {
        if (node.Graph is not null) throw new InvalidOperationException($"node '{node.Name}' ({node.OpType}) is already in a graph");
        if (node.InputsReleased)
        {
            node.ClaimInputs();
            node.InputsReleased = false;
        }
        node.Graph = this;
        _nodes.Insert(index, node);
        return node;
    }

    private int IndexOf(Node node)
    {
        var i = _nodes.IndexOf(node);
        return i >= 0 ? i : throw new ArgumentException($"node '{node.Name}' ({node.OpType}) is not in graph '{Name}'");
    }

    /// <summary>
    /// Replaces <paramref name="node"/>'s first output by <paramref name="replacement"/> in every
    /// reader (and as a graph output), gives the replacement its name and removes the node: how a
    /// lowering swaps one node for the subgraph computing the same value. The node's other outputs
    /// must be unused. O(nodes).
    /// </summary>
    /// <exception cref="InvalidOperationException">Another output of the node is read.</exception>
    public void ReplaceNode(Node node, Value replacement)
    {
        var old = node.Outputs[0];
        for (int i = 1; i < node.Outputs.Count; i++)
            if (node.Outputs[i].Uses.Count > 0 || node.Outputs[i].IsGraphOutput)
                throw new InvalidOperationException($"{node.OpType} '{node.Name}': output '{node.Outputs[i].Name}' is read; only a node's first output can be replaced");
        var name = old.Name;
        old.ReplaceAllUsesWith(replacement);
        RemoveNode(node);
        old.Name = name + "/removed";
        replacement.Name = name;
    }

    /// <summary>
    /// Turns a Constant node into an initializer of the same name, read where the node's output
    /// was (exporters such as paddle2onnx store weights as Constant nodes; training and pruning
    /// want them as initializers). O(nodes).
    /// </summary>
    /// <exception cref="ArgumentException">The node is not a Constant with a tensor value.</exception>
    /// <exception cref="InvalidOperationException">Its output is a graph output.</exception>
    public Value PromoteConstant(Node node)
    {
        var data = OpFacts.ConstantTensor(node) ?? throw new ArgumentException($"node '{node.Name}' ({node.OpType}) is not a Constant with a tensor value");
        var output = node.Outputs[0];
        if (output.IsGraphOutput) throw new InvalidOperationException($"Constant '{node.Name}': its output '{output.Name}' is a graph output");
        var name = output.Name;
        var initializer = AddInitializer(new Value(UniqueName(name + "/constant")) { ConstValue = data });
        output.ReplaceAllUsesWith(initializer);
        RemoveNode(node);
        output.Name = name + "/removed";
        RenameInitializer(initializer, name);
        return initializer;
    }

    /// <summary>Removes a node whose outputs are unused. O(nodes).</summary>
    public void RemoveNode(Node node) => RemoveNodes(new[] { node });

    /// <summary>Removes a set of nodes in one sweep. Each node's outputs may be read only by other
    /// removed nodes. O(nodes + their inputs).</summary>
    public void RemoveNodes(IEnumerable<Node> nodes)
    {
        var doomed = new HashSet<Node>(nodes, ReferenceEqualityComparer.Instance);
        if (doomed.Count == 0) return;
        foreach (var n in doomed)
        {
            if (!ReferenceEquals(n.Graph, this)) throw new ArgumentException($"node '{n.Name}' ({n.OpType}) is not in graph '{Name}'");
            foreach (var o in n.Outputs)
            {
                if (o.IsGraphOutput) throw new InvalidOperationException($"cannot remove node '{n.Name}': its output '{o.Name}' is a graph output");
                foreach (var u in o.Uses)
                    if (!doomed.Contains(u.Node)) throw new InvalidOperationException($"cannot remove node '{n.Name}': its output '{o.Name}' is read by node '{u.Node.Name}' ({u.Node.OpType})");
            }
        }
        foreach (var n in doomed)
        {
            n.ReleaseInputs();
            n.InputsReleased = true;
            n.Graph = null;
        }
        _nodes.RemoveAll(doomed.Contains);
    }

    /// <summary>A name that no value, initializer or node output of this graph (or an enclosing
    /// graph) uses yet, built from <paramref name="hint"/>.</summary>
    public string UniqueName(string hint)
    {
        var taken = ScopeNames();
        if (!taken.Contains(hint)) return hint;
        for (int i = 1; ; i++)
        {
            var candidate = $"{hint}_{i}";
            if (!taken.Contains(candidate)) return candidate;
        }
    }

    private HashSet<string> ScopeNames()
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var g = this; g is not null; g = g.ParentNode?.Graph)
        {
            foreach (var v in g._inputs) names.Add(v.Name);
            foreach (var n in g._initializers.Keys) names.Add(n);
            foreach (var node in g._nodes)
                foreach (var o in node.Outputs) names.Add(o.Name);
        }
        return names;
    }

    /// <summary>Every node of this graph and of its subgraphs, depth first.</summary>
    public IEnumerable<Node> AllNodes()
    {
        foreach (var n in _nodes)
        {
            yield return n;
            foreach (var a in n.Attributes)
                foreach (var sub in a.Subgraphs())
                    foreach (var inner in sub.AllNodes()) yield return inner;
        }
    }

    /// <summary>Reorders nodes so every node comes after the producers of its inputs (stable:
    /// already ordered graphs keep their order). Values read from an enclosing graph count as
    /// defined. Throws <see cref="GraphCycleException"/> when there is a cycle. O(nodes + edges).</summary>
    public void SortTopologically()
    {
        var order = TopologicalOrder(_nodes);
        _nodes.Clear();
        _nodes.AddRange(order);
    }

    internal static List<Node> TopologicalOrder(IReadOnlyList<Node> nodes)
    {
        var index = new Dictionary<Node, int>(ReferenceEqualityComparer.Instance);
        for (int i = 0; i < nodes.Count; i++) index[nodes[i]] = i;
        var pending = new int[nodes.Count];
        var readers = new List<int>[nodes.Count];
        for (int i = 0; i < nodes.Count; i++)
        {
            foreach (var producer in DependencyProducers(nodes[i]))
            {
                if (producer is not null && index.TryGetValue(producer, out var p) && p != i)
                {
                    (readers[p] ??= new List<int>()).Add(i);
                    pending[i]++;
                }
                else if (producer is not null && ReferenceEquals(producer, nodes[i]))
                {
                    throw new GraphCycleException($"node '{nodes[i].Name}' ({nodes[i].OpType}) reads its own output");
                }
            }
        }
        // A min-heap on the original position keeps already-sorted graphs unchanged.
        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < nodes.Count; i++) if (pending[i] == 0) ready.Enqueue(i, i);
        var result = new List<Node>(nodes.Count);
        while (ready.TryDequeue(out var i, out _))
        {
            result.Add(nodes[i]);
            if (readers[i] is null) continue;
            foreach (var r in readers[i])
                if (--pending[r] == 0) ready.Enqueue(r, r);
        }
        if (result.Count != nodes.Count)
        {
            var stuck = nodes.Where((n, i) => pending[i] > 0).Take(5).Select(n => $"'{n.Name}' ({n.OpType})");
            throw new GraphCycleException($"the graph has a cycle through nodes {string.Join(", ", stuck)}");
        }
        return result;
    }

    /// <summary>Producers a node depends on: its inputs' producers and those of values its
    /// subgraphs read from this scope.</summary>
    private static IEnumerable<Node?> DependencyProducers(Node node)
    {
        foreach (var v in node.Inputs) yield return v?.Producer;
        foreach (var a in node.Attributes)
            foreach (var sub in a.Subgraphs())
                foreach (var v in sub.OuterValuesRead()) yield return v.Producer;
    }

    /// <summary>Values this graph (or its nested subgraphs) reads that it does not define.</summary>
    public IEnumerable<Value> OuterValuesRead()
    {
        foreach (var n in AllNodes())
            foreach (var v in n.Inputs)
                if (v is not null && !DefinedWithin(v)) yield return v;
        foreach (var o in _outputs)
            if (!DefinedWithin(o)) yield return o;
    }

    private bool DefinedWithin(Value v)
    {
        for (var g = v.Graph; g is not null; g = g.ParentNode?.Graph)
            if (ReferenceEquals(g, this)) return true;
        return false;
    }

    public override string ToString() => $"graph {Name} ({_nodes.Count} nodes)";
}

/// <summary>The graph's data flow has a cycle, so it has no topological order.</summary>
public sealed class GraphCycleException(string message) : Exception(message);
