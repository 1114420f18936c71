namespace OnnxPrune.IR;

/// <summary>
/// An operator application. Compared by identity. Inputs are changed only through
/// <see cref="SetInput"/>/<see cref="SetInputs"/>, which keep the inputs' use lists in step;
/// a node makes its own outputs.
/// </summary>
public sealed class Node
{
    private readonly List<Value?> _inputs = new();
    private readonly List<Value> _outputs = new();

    /// <param name="inputs">null marks an omitted optional input (ONNX's empty name).</param>
    /// <param name="outputNames">one name per output; an empty name marks an omitted optional output.</param>
    public Node(string domain, string opType, IEnumerable<Value?> inputs, IEnumerable<string> outputNames,
        IEnumerable<Attribute>? attributes = null, string name = "")
    {
        Domain = domain;
        OpType = opType;
        Name = name;
        foreach (var v in inputs) AppendInput(v);
        foreach (var n in outputNames) _outputs.Add(new Value(this, _outputs.Count, n));
        Attributes = new AttributeMap(attributes ?? Array.Empty<Attribute>());
    }

    public string Domain { get; set; }
    public string OpType { get; set; }
    public string Name { get; set; }

    /// <summary>True for the default ONNX domain ("" or "ai.onnx").</summary>
    public bool IsOnnxDomain => Domain is "" or "ai.onnx";

    public IReadOnlyList<Value?> Inputs => _inputs;
    public IReadOnlyList<Value> Outputs => _outputs;
    public AttributeMap Attributes { get; }

    /// <summary>The graph the node is in; null once removed.</summary>
    public Graph? Graph { get; internal set; }

    /// <summary>Opaque record from the serializer; the IR never reads it.</summary>
    public object? Origin { get; set; }

    public Value? Input(int i) => i < _inputs.Count ? _inputs[i] : null;

    /// <summary>Replaces input <paramref name="index"/>, moving the use from the old value to the new one. O(uses of the old value).</summary>
    public void SetInput(int index, Value? value)
    {
        var old = _inputs[index];
        if (ReferenceEquals(old, value)) return;
        old?.RemoveUse(this, index);
        _inputs[index] = value;
        value?.AddUse(this, index);
    }

    /// <summary>Points input <paramref name="index"/> at <paramref name="value"/> without touching use
    /// lists: for <see cref="Value.ReplaceAllUsesWith"/>, which moves the uses itself.</summary>
    internal void RetargetInput(int index, Value value) => _inputs[index] = value;

    /// <summary>Replaces the whole input list (variadic ops, dropped trailing optionals).</summary>
    public void SetInputs(IEnumerable<Value?> inputs)
    {
        var list = inputs.ToList();
        for (int i = _inputs.Count - 1; i >= 0; i--) _inputs[i]?.RemoveUse(this, i); // last first: linear, see ReleaseInputs
        _inputs.Clear();
        foreach (var v in list) AppendInput(v);
    }

    public void AppendInput(Value? value)
    {
        _inputs.Add(value);
        value?.AddUse(this, _inputs.Count - 1);
    }

    /// <summary>Drops this node's uses of its inputs; called when it leaves its graph.</summary>
    internal void ReleaseInputs()
    {
        // Last input first: uses are appended in input order and RemoveUse searches from the end,
        // so a value read by many inputs of this node is released in linear time, not quadratic
        // (a damaged file repeating one input 56,000 times took a minute; found by fuzzing).
        for (int i = _inputs.Count - 1; i >= 0; i--) _inputs[i]?.RemoveUse(this, i);
    }

    /// <summary>Puts the uses back when a removed node is added again.</summary>
    internal void ClaimInputs()
    {
        for (int i = 0; i < _inputs.Count; i++) _inputs[i]?.AddUse(this, i);
    }

    internal bool InputsReleased { get; set; }

    public override string ToString() =>
        $"{string.Join(", ", _outputs.Select(o => o.ToString()))} = {OpType}({string.Join(", ", _inputs.Select(i => i?.ToString() ?? "_"))})" +
        (Name.Length > 0 ? $"  # {Name}" : "");
}

/// <summary>A node's attributes in the order they were given. Names are unique.</summary>
public sealed class AttributeMap : IEnumerable<Attribute>
{
    private readonly List<Attribute> _items = new();

    internal AttributeMap(IEnumerable<Attribute> attributes)
    {
        foreach (var a in attributes) Set(a);
    }

    public int Count => _items.Count;

    public Attribute? this[string name] => _items.Find(a => a.Name == name);

    public bool Contains(string name) => _items.Exists(a => a.Name == name);

    /// <summary>Adds or replaces the attribute with the same name, keeping its position.</summary>
    public void Set(Attribute attribute)
    {
        var i = _items.FindIndex(a => a.Name == attribute.Name);
        if (i >= 0) _items[i] = attribute; else _items.Add(attribute);
    }

    public bool Remove(string name) => _items.RemoveAll(a => a.Name == name) > 0;

    public long GetInt(string name, long fallback) => this[name] is { Kind: AttributeKind.Int } a ? a.AsInt() : fallback;
    public float GetFloat(string name, float fallback) => this[name] is { Kind: AttributeKind.Float } a ? a.AsFloat() : fallback;
    public string GetString(string name, string fallback) => this[name] is { Kind: AttributeKind.String } a ? a.AsString() : fallback;
    public long[]? GetInts(string name) => this[name] is { Kind: AttributeKind.Ints } a ? a.AsInts() : null;
    public float[]? GetFloats(string name) => this[name] is { Kind: AttributeKind.Floats } a ? a.AsFloats() : null;

    public IEnumerator<Attribute> GetEnumerator() => _items.GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
