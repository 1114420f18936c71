namespace OnnxPrune.IR.ShapeInference;

/// <summary>
/// What a shape rule sees of one node: its inputs' types, shapes and known values, its attributes,
/// and where to put what it infers. Results are staged and committed by the inferencer only when the
/// rule returns normally, so a rule that gives up half way leaves nothing behind.
/// </summary>
internal sealed class InferenceContext
{
    private readonly ShapeInferenceResult _result;
    private readonly DataType[] _outTypes;
    private readonly Shape?[] _outShapes;
    private readonly ConstTensor?[] _outConsts;
    private readonly DimVector?[] _outDims;

    public InferenceContext(ShapeInferenceResult result, Node node, long opset)
    {
        _result = result;
        Node = node;
        Opset = opset;
        int n = node.Outputs.Count;
        _outTypes = new DataType[n];
        _outShapes = new Shape?[n];
        _outConsts = new ConstTensor?[n];
        _outDims = new DimVector?[n];
    }

    public Node Node { get; }

    /// <summary>The default-domain opset version the model imports.</summary>
    public long Opset { get; }

    public int MaxConstantElements => _result.MaxConstantElements;

    /// <summary>True once a rule read a constant that a graph input may override at run time.</summary>
    public bool ReadOverridable { get; private set; }

    // ---- inputs ----

    public int InputCount => Node.Inputs.Count;
    public Value? Input(int i) => Node.Input(i);
    public bool HasInput(int i) => Node.Input(i) is not null;
    public DataType InType(int i) => Node.Input(i) is { } v ? _result.GetElementType(v) : DataType.Undefined;
    public Shape? InShape(int i) => Node.Input(i) is { } v ? _result.GetShape(v) : null;
    public int? InRank(int i) => InShape(i)?.Rank;

    /// <summary>The input's values when known (small tensors only).</summary>
    public ConstTensor? InConst(int i)
    {
        if (Node.Input(i) is not { } v) return null;
        var c = _result.Constant(v);
        if (c is not null && _result.IsOverridable(v)) ReadOverridable = true;
        return c;
    }

    /// <summary>The input's values as int64 when it is a known integer constant.</summary>
    public long[]? InInts(int i) => InConst(i)?.Ints;

    /// <summary>The input's values as dims when it is a scalar or 1-D integer tensor computed from
    /// shapes (elements may be symbolic or unknown).</summary>
    public DimVector? InDims(int i)
    {
        if (Node.Input(i) is not { } v) return null;
        var d = _result.ShapeValue(v);
        if (d is not null && _result.IsOverridable(v)) ReadOverridable = true;
        return d;
    }

    // ---- outputs ----

    public int OutputCount => Node.Outputs.Count;

    /// <summary>True when output <paramref name="i"/> exists and is not an omitted optional output.</summary>
    public bool HasOutput(int i) => i < Node.Outputs.Count && Node.Outputs[i].Name.Length > 0;

    /// <summary>Sets output <paramref name="i"/>'s type and shape (null shape: rank unknown).
    /// Ignored for outputs the node does not have. A negative dim means the node is malformed
    /// (pads that cut more than the tensor holds, negative split sizes, ...).</summary>
    public void SetOutput(int i, DataType type, Shape? shape)
    {
        if (i >= _outTypes.Length) return;
        if (shape is not null)
            foreach (var d in shape.Dims)
                if (d.Value < 0) throw new ArgumentException($"output {i} would have shape {shape}");
        _outTypes[i] = type;
        _outShapes[i] = shape;
    }

    /// <summary>Sets output <paramref name="i"/> to a known constant (and its type and shape).
    /// Constants above the size limit only give type and shape.</summary>
    public void SetConst(int i, ConstTensor value)
    {
        if (i >= _outTypes.Length) return;
        SetOutput(i, value.Type, value.Shape);
        if (value.Count <= MaxConstantElements) _outConsts[i] = value;
    }

    /// <summary>Sets output <paramref name="i"/> (a scalar or 1-D integer of <paramref name="type"/>)
    /// to values that may be symbolic; fully known values become a constant.</summary>
    public void SetDims(int i, DataType type, DimVector value)
    {
        if (i >= _outTypes.Length) return;
        if (value.AllKnown && ConstTensor.IsIntegralType(type))
        {
            var dims = value.IsScalar ? Array.Empty<long>() : new long[] { value.Items.Length };
            SetConst(i, ConstTensor.FromInts(type, dims, value.Values));
            return;
        }
        SetOutput(i, type, value.IsScalar ? Shape.Scalar : new Shape(value.Items.Length));
        _outDims[i] = value;
    }

    /// <summary>Output <paramref name="i"/> takes input <paramref name="j"/>'s type and shape.</summary>
    public void SameAsInput(int i, int j) => SetOutput(i, InType(j), InShape(j));

    internal void Commit(ShapeInferenceResult result, Func<Value, DataType, Shape?, (DataType, Shape?)> merge, bool write)
    {
        for (int i = 0; i < _outTypes.Length; i++)
        {
            if (!HasOutput(i)) continue;
            var v = Node.Outputs[i];
            if (_outTypes[i] == DataType.Undefined && _outShapes[i] is null) continue;
            var (type, shape) = merge(v, _outTypes[i], _outShapes[i]);
            result.Record(v, type, shape);
            if (write)
            {
                v.ElementType = type;
                v.Shape = shape;
            }
            if (_outConsts[i] is { } c) result.RecordConstant(v, c, ReadOverridable);
            else if (_outDims[i] is { } d) result.RecordShapeValue(v, d);
        }
    }

    // ---- attributes ----

    public Attribute? Attr(string name) => Node.Attributes[name];
    public bool HasAttr(string name) => Node.Attributes.Contains(name);
    public long Int(string name, long fallback) => Node.Attributes.GetInt(name, fallback);
    public float Float(string name, float fallback) => Node.Attributes.GetFloat(name, fallback);
    public string String(string name, string fallback) => Node.Attributes.GetString(name, fallback);
    public long[]? Ints(string name) => Node.Attributes.GetInts(name);
    public float[]? Floats(string name) => Node.Attributes.GetFloats(name);
}
