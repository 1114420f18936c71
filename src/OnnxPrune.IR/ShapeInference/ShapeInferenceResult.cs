using System.Diagnostics.CodeAnalysis;

namespace OnnxPrune.IR.ShapeInference;

/// <summary>A node whose rule met something it could not make sense of; its outputs kept the
/// type and shape they had before.</summary>
public sealed record ShapeInferenceProblem(Node Node, string Message)
{
    public override string ToString() => $"{Node.OpType} '{Node.Name}': {Message}";
}

/// <summary>
/// What one run of <see cref="ShapeInferencer"/> learned about a graph: the element type and shape
/// of every value it reached, the values it could compute at compile time (small constant tensors,
/// such as Reshape targets built from Shape/Gather/Concat chains), and the nodes it did not
/// understand. Holds no reference to the inferencer; reading it never changes the graph.
/// </summary>
public sealed class ShapeInferenceResult
{
    private readonly Dictionary<Value, (DataType Type, Shape? Shape)> _inferred = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, ConstTensor> _constants = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, DimVector> _shapeValues = new(ReferenceEqualityComparer.Instance);
    private readonly HashSet<Value> _overridable = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, ConstTensor?> _initializerCache = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<Value, bool> _initializerIsInput = new(ReferenceEqualityComparer.Instance);
    private readonly List<ShapeInferenceProblem> _problems = new();
    private readonly List<Node> _skipped = new();

    internal ShapeInferenceResult(long opset, int maxConstantElements)
    {
        Opset = opset;
        MaxConstantElements = maxConstantElements;
    }

    /// <summary>The default-domain opset version the rules were applied for.</summary>
    public long Opset { get; }

    /// <summary>Largest tensor (in elements) that was decoded or computed as a constant.</summary>
    public int MaxConstantElements { get; }

    /// <summary>Nodes whose rule failed on odd input; their outputs were left as recorded.</summary>
    public IReadOnlyList<ShapeInferenceProblem> Problems => _problems;

    /// <summary>Nodes without a rule (unknown op, other domain, or a node with subgraphs such as
    /// If/Loop); their outputs were left as recorded.</summary>
    public IReadOnlyList<Node> SkippedNodes => _skipped;

    /// <summary>Values whose type or shape a rule computed, in graph order.</summary>
    public IEnumerable<Value> InferredValues => _inferred.Keys;

    /// <summary>The element type inferred for <paramref name="value"/>, else the one recorded on it.</summary>
    public DataType GetElementType(Value value) =>
        _inferred.TryGetValue(value, out var t) && t.Type != DataType.Undefined ? t.Type : value.ElementType;

    /// <summary>The shape inferred for <paramref name="value"/>, else the one recorded on it
    /// (null when even the rank is unknown).</summary>
    public Shape? GetShape(Value value) => _inferred.TryGetValue(value, out var t) ? t.Shape : value.Shape;

    /// <summary>True when a rule computed the value's type or shape in this run.</summary>
    public bool WasInferred(Value value) => _inferred.ContainsKey(value);

    /// <summary>
    /// The value's data when it is known at compile time: an initializer (its own tensor, whatever
    /// its size), or a node output computed from constants and static shapes. Computed tensors are
    /// built on each call. O(elements).
    /// </summary>
    public bool TryGetConstant(Value value, [NotNullWhen(true)] out Tensor? tensor)
    {
        if (_constants.TryGetValue(value, out var c))
        {
            tensor = c.ToTensor();
            return true;
        }
        if (value.Producer is null && value.ConstValue is { } data)
        {
            tensor = data;
            return true;
        }
        tensor = null;
        return false;
    }

    /// <summary>The elements of a known integer (or bool) constant, as int64.</summary>
    public bool TryGetInt64s(Value value, [NotNullWhen(true)] out long[]? values)
    {
        if (Constant(value) is { Ints: { } ints })
        {
            values = (long[])ints.Clone();
            return true;
        }
        values = null;
        return false;
    }

    /// <summary>
    /// For a scalar or 1-D integer value computed from shapes (Shape, Gather, Concat, ...), its
    /// elements as dims: known sizes, symbolic sizes (a batch dim named "N"), or unknown. Covers
    /// fully known constants too.
    /// </summary>
    public bool TryGetShapeValue(Value value, [NotNullWhen(true)] out IReadOnlyList<Dim>? dims)
    {
        if (ShapeValue(value) is { } v)
        {
            dims = v.Items;
            return true;
        }
        dims = null;
        return false;
    }

    /// <summary>True when the value is a computed constant that depends on no initializer that a
    /// graph input of the same name may override at run time, so it may be baked into the graph.</summary>
    public bool IsFoldable(Value value) => _constants.ContainsKey(value) && !_overridable.Contains(value);

    // ---- used by the inferencer and its rules ----

    internal ConstTensor? Constant(Value value)
    {
        if (_constants.TryGetValue(value, out var c)) return c;
        if (value.Producer is not null || value.ConstValue is not { } data) return null;
        if (!_initializerCache.TryGetValue(value, out var decoded))
        {
            decoded = ConstTensor.FromTensor(data, MaxConstantElements);
            _initializerCache[value] = decoded;
        }
        return decoded;
    }

    /// <summary>True when the constant may change at run time because a graph input of the same
    /// name overrides the initializer (or it was computed from such a value).</summary>
    internal bool IsOverridable(Value value)
    {
        if (_overridable.Contains(value)) return true;
        if (value.Producer is not null || value.ConstValue is null) return false;
        if (!_initializerIsInput.TryGetValue(value, out var isInput))
            _initializerIsInput[value] = isInput = value.IsGraphInput;
        return isInput;
    }

    internal DimVector? ShapeValue(Value value)
    {
        if (_shapeValues.TryGetValue(value, out var v)) return v;
        if (Constant(value) is { Ints: { } ints, Rank: <= 1 } c)
            return new DimVector(ints.Select(Dim.Known).ToArray(), c.Rank == 0);
        return null;
    }

    internal void Record(Value value, DataType type, Shape? shape) => _inferred[value] = (type, shape);
    internal void RecordConstant(Value value, ConstTensor c, bool overridable)
    {
        _constants[value] = c;
        if (overridable) _overridable.Add(value);
    }
    internal void RecordShapeValue(Value value, DimVector v) => _shapeValues[value] = v;
    internal void AddProblem(Node node, string message) => _problems.Add(new ShapeInferenceProblem(node, message));
    internal void AddSkipped(Node node) => _skipped.Add(node);
}

/// <summary>The elements of a scalar or 1-D integer tensor as dims (shape arithmetic with
/// symbolic sizes).</summary>
internal sealed record DimVector(Dim[] Items, bool IsScalar)
{
    public bool AllKnown => Items.All(d => d.IsKnown);
    public long[] Values => Items.Select(d => d.Value!.Value).ToArray();
    public override string ToString() => (IsScalar ? "" : "[") + string.Join(",", Items) + (IsScalar ? "" : "]");
}
