using System.Diagnostics.CodeAnalysis;
using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Autodiff;

/// <summary>
/// Emits nodes into the training graph for the builder and the gradient rules: fresh names,
/// element types of new values, shared constants, opset-dependent forms of Reduce/Squeeze, and
/// the forward graph's inferred shapes. One per build; not thread-safe.
/// </summary>
internal sealed class GradientContext
{
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Value> _constants = new(StringComparer.Ordinal);
    private readonly Dictionary<Value, Value> _shapeOps = new(ReferenceEqualityComparer.Instance);
    private HashSet<Value> _requiresGradient = new(ReferenceEqualityComparer.Instance);
    private readonly ShapeInferencer _inferencer = new(new ShapeInferenceOptions { WriteToGraph = false, MaxConstantElements = 1 << 16 });
    private ShapeInferenceResult? _info;
    /// <summary>Outputs of nodes emitted since the last <see cref="InferShapes"/>: their types come
    /// from the shape rules, but the rules treat them as the graph's forward part does only after
    /// the next full inference (their shapes and constant values stay unknown until then).</summary>
    private readonly HashSet<Value> _emitted = new(ReferenceEqualityComparer.Instance);
    private int _counter;

    public GradientContext(Graph graph, long opset, GradientOptions options)
    {
        Graph = graph;
        Opset = opset;
        Options = options;
        foreach (var v in graph.Inputs) _names.Add(v.Name);
        foreach (var v in graph.Initializers.Keys) _names.Add(v);
        foreach (var n in graph.Nodes)
        {
            _names.Add(n.Name);
            foreach (var o in n.Outputs) _names.Add(o.Name);
        }
    }

    public Graph Graph { get; }
    public long Opset { get; }
    public GradientOptions Options { get; }

    /// <summary>Prefix of the names of nodes emitted now (the driver sets it per forward node).</summary>
    public string Scope { get; set; } = "train";

    // ---- forward-graph knowledge ----

    /// <summary>Infers types and shapes of the graph as it is now (the forward part).</summary>
    public void InferShapes()
    {
        _info = _inferencer.Run(Graph, Opset);
        _shapeOps.Clear();
        _emitted.Clear();
    }

    public void SetRequiresGradient(HashSet<Value> values) => _requiresGradient = values;

    /// <summary>True when a gradient with respect to <paramref name="value"/> is needed (it
    /// depends on a trainable parameter or a requested value).</summary>
    public bool NeedsGradient(Value? value) => value is not null && _requiresGradient.Contains(value);

    public DataType TypeOf(Value value)
    {
        var t = _info?.GetElementType(value) ?? value.ElementType;
        if (t == DataType.Undefined && value.ConstValue is { } c) t = c.DataType;
        return t;
    }

    /// <summary>The inferred (or recorded) shape; null when even the rank is unknown.</summary>
    public Shape? ShapeOf(Value value)
    {
        if (value.ConstValue is { } c && value.Producer is null) return c.Shape;
        if (_emitted.Contains(value)) return value.Shape;
        return _info?.GetShape(value) ?? value.Shape;
    }

    public int RankOf(Value value) => ShapeOf(value)?.Rank
        ?? throw new GradientException($"the rank of '{value.Name}' is unknown; the gradient needs it (give the model's inputs shapes)");

    /// <summary>Every dim of <paramref name="value"/>, which must be static.</summary>
    public long[] StaticDims(Value value, string why)
    {
        var shape = ShapeOf(value);
        return shape?.TryGetSizes()
            ?? throw new GradientException($"{why} needs the static shape of '{value.Name}', which is {shape?.ToString() ?? "unknown"}");
    }

    /// <summary>Dim <paramref name="axis"/> of <paramref name="value"/>, which must be known.</summary>
    public long StaticDim(Value value, int axis, string why)
    {
        var shape = ShapeOf(value) ?? throw new GradientException($"{why} needs the shape of '{value.Name}', which is unknown");
        if (axis < 0) axis += shape.Rank;
        return shape[axis].Value
            ?? throw new GradientException($"{why} needs dim {axis} of '{value.Name}' ({shape}) to be static");
    }

    /// <summary>The elements of an integer value known at build time (an initializer, a Constant,
    /// or something shape inference computed).</summary>
    public bool TryGetInt64s(Value? value, [NotNullWhen(true)] out long[]? values)
    {
        values = null;
        if (value is null) return false;
        if (value.Producer is null && value.ConstValue is { } c)
        {
            values = c.ToInt64Array();
            return true;
        }
        if (OpFacts.ConstantTensor(value.Producer) is { } constant)
        {
            values = constant.ToInt64Array();
            return true;
        }
        return _info is not null && !_emitted.Contains(value) && _info.TryGetInt64s(value, out values);
    }

    public bool TryGetDoubles(Value? value, [NotNullWhen(true)] out double[]? values)
    {
        values = null;
        if (value is null) return false;
        if (value.Producer is null && value.ConstValue is { } c)
        {
            values = c.ToDoubleArray();
            return true;
        }
        if (OpFacts.ConstantTensor(value.Producer) is { } constant)
        {
            values = constant.ToDoubleArray();
            return true;
        }
        if (_info is not null && !_emitted.Contains(value) && _info.TryGetConstant(value, out var t))
        {
            values = t.ToDoubleArray();
            return true;
        }
        return false;
    }

    // ---- emitting ----

    public string FreshName(string hint)
    {
        if (_names.Add(hint)) return hint;
        while (true)
        {
            var candidate = $"{hint}_{++_counter}";
            if (_names.Add(candidate)) return candidate;
        }
    }

    /// <summary>Claims <paramref name="name"/> exactly; false when it is taken.</summary>
    public bool TryClaimName(string name) => _names.Add(name);

    /// <summary>Appends a one-output node and returns its output.</summary>
    public Value Op(string opType, Value?[] inputs, params Attribute[] attributes) =>
        Ops(opType, 1, inputs, attributes)[0];

    /// <summary>Appends a node with <paramref name="outputCount"/> outputs.</summary>
    public Value[] Ops(string opType, int outputCount, Value?[] inputs, params Attribute[] attributes)
    {
        var baseName = FreshName($"{Scope}/{opType}");
        var names = new string[outputCount];
        names[0] = baseName;
        for (int i = 1; i < outputCount; i++) names[i] = FreshName($"{baseName}:{i}");
        var node = Graph.AddNode(new Node("", opType, inputs, names, attributes, baseName));
        // The element types come from the op's shape rule, the one place that knows them.
        if (_info is null) InferShapes();
        else _inferencer.Extend(_info, [node]);
        foreach (var o in node.Outputs)
        {
            _emitted.Add(o);
            o.ElementType = _info!.GetElementType(o);
        }
        return node.Outputs.ToArray();
    }

    /// <summary>A constant (an initializer shared by everything that asks for the same data).</summary>
    public Value Constant(Tensor tensor, string hint = "const")
    {
        var key = ConstantKey(tensor);
        if (key is not null && _constants.TryGetValue(key, out var known)) return known;
        var value = Graph.AddInitializer(new Value(FreshName($"train/{hint}")) { ConstValue = tensor });
        if (key is not null) _constants[key] = value;
        return value;
    }

    private static string? ConstantKey(Tensor t) =>
        t.ElementCount <= 64 ? $"{(int)t.DataType}|{string.Join(",", t.Dims)}|{Convert.ToHexString(t.GetRawBytes().Span)}" : null;

    /// <summary>A rank-0 constant of a floating (or integer) type.</summary>
    public Value Scalar(double value, DataType type) =>
        Constant(DenseTensor.FromDoubles(type, Array.Empty<long>(), new[] { value }), "scalar");

    /// <summary>A 1-D int64 constant.</summary>
    public Value Int64s(params long[] values) => Constant(DenseTensor.FromInt64s(new long[] { values.Length }, values), "ints");

    /// <summary>A rank-0 int64 constant.</summary>
    public Value Int64Scalar(long value) => Constant(DenseTensor.FromInt64s(Array.Empty<long>(), new[] { value }), "int");

    /// <summary>The shape of <paramref name="value"/> as a 1-D int64 value: a constant when it is
    /// static, else a Shape node (one per value).</summary>
    public Value ShapeTensor(Value value)
    {
        if (ShapeOf(value)?.TryGetSizes() is { } dims) return Int64s(dims);
        if (_shapeOps.TryGetValue(value, out var s)) return s;
        s = Op("Shape", [value]);
        _shapeOps[value] = s;
        return s;
    }

    public Value Add(Value a, Value b) => Op("Add", [a, b]);
    public Value Sub(Value a, Value b) => Op("Sub", [a, b]);
    public Value Mul(Value a, Value b) => Op("Mul", [a, b]);
    public Value Div(Value a, Value b) => Op("Div", [a, b]);
    public Value Neg(Value a) => Op("Neg", [a]);
    public Value Where(Value condition, Value ifTrue, Value ifFalse) => Op("Where", [condition, ifTrue, ifFalse]);

    /// <summary>
    /// A scalar 0 of <paramref name="dependency"/>'s type that ORT can only compute once
    /// <paramref name="dependency"/> exists: Cast(ReduceMin(first slice) &gt; +inf), false even for
    /// NaN. ORT runs a node as soon as its inputs exist, so backward-pass work that reads only
    /// forward values (a ReLU mask) would otherwise run during the forward pass and its full-size
    /// result stay allocated until the backward pass uses it: the float ReLU masks held ~400 MB
    /// of ResNet-56's peak at batch 128. Use it as the comparison threshold or another broadcast
    /// scalar operand, so shape inference still knows the result's shape.
    /// </summary>
    public Value ZeroAfter(Value dependency) => ZeroAfter(dependency, TypeOf(dependency));

    private Value ZeroAfter(Value dependency, DataType type)
    {
        var first = Op("Slice", [dependency, Int64s(0), Int64s(1), Int64s(0)]);
        var never = Op("Greater", [Op("ReduceMin", [first], Attribute.Int("keepdims", 0)), Scalar(double.PositiveInfinity, TypeOf(dependency))]);
        return Cast(never, type);
    }

    /// <summary><paramref name="x"/> itself, available only once <paramref name="dependency"/>
    /// exists (see <see cref="ZeroAfter(Value)"/>): a Reshape to its own shape plus a data-dependent
    /// zero, which ORT runs as an alias of x's buffer, without a copy. For an operand of a unary
    /// op, where no broadcast scalar can carry the dependency.</summary>
    public Value After(Value x, Value dependency) =>
        Reshape(x, Add(ShapeTensor(x), ZeroAfter(dependency, DataType.Int64)));

    /// <summary>The length of a 1-D value when shape inference knows it.</summary>
    public long? StaticLength(Value vector) => ShapeOf(vector)?.TryGetSizes() is [var n] ? n : null;

    /// <summary>
    /// <paramref name="value"/> where <paramref name="condition"/> holds and zero elsewhere, as
    /// value * Cast(condition): ONNX Runtime's CPU Where runs on one thread and took ~6x as long
    /// as a Mul on a 128x16x28x28 tensor, and gradient masks (ReLU, MaxPool) are on every
    /// activation. Differs from Where(condition, value, 0) only where value is ±inf or NaN.
    /// </summary>
    public Value KeepWhere(Value condition, Value value) => Mul(value, Cast(condition, TypeOf(value)));

    /// <summary>Float ReLU masks saturate: HardSigmoid(2^127 y) = clamp(2^127 y, 0, 1) is 0 for
    /// y &lt;= 0 and 1 for every y from 2^-127 up, i.e. all positive normal floats (2^127 y overflows
    /// to +inf for large y, which the clamp takes to 1). It replaces Greater + Cast: ORT's Cast from
    /// bool runs on one thread (128x16x28x28: Greater 175 + Cast 648 us against HardSigmoid ~200 us,
    /// profiled in the ResNet-56 step). Only a subnormal y in (0, 2^-127) gets a mask below 1.</summary>
    private static readonly float SaturatingSlope = MathF.ScaleB(1f, 127); // the largest power of two in float

    /// <summary><paramref name="value"/> where <paramref name="y"/> &gt; 0 and zero elsewhere, the mask
    /// computed only once <paramref name="value"/> exists (<see cref="ZeroAfter(Value)"/>): a
    /// saturating HardSigmoid in float (see <see cref="SaturatingSlope"/>), Greater + KeepWhere in
    /// other types (ORT's HardSigmoid takes float only).</summary>
    public Value KeepWherePositive(Value y, Value value)
    {
        if (TypeOf(y) != DataType.Float || TypeOf(value) != DataType.Float)
            return KeepWhere(Op("Greater", [y, ZeroAfter(value)]), value);
        var mask = Op("HardSigmoid", [After(y, value)], Attribute.Float("alpha", SaturatingSlope), Attribute.Float("beta", 0));
        return Mul(value, mask);
    }

    /// <summary>
    /// scale[c] * x + shift[c] along axis 1, for per-channel vectors of length C (null when not
    /// known statically). In float, with spatial axes and a known C, one depthwise 1x1 Conv
    /// (group C): a single pass over x that ONNX Runtime spreads over its threads, where an
    /// inference-mode BatchNormalization runs on one thread and Mul + Add make two passes
    /// (ResNet-56 training step, batch 128, 2 threads: 29 ms of ~600 saved against
    /// BatchNormalization). Otherwise (double, which ORT's CPU Conv does not take; no spatial
    /// axes) a broadcasting Mul and Add.
    /// </summary>
    public Value ChannelAffine(Value x, Value scale, Value shift, long? channels)
    {
        int rank = RankOf(x);
        if (TypeOf(x) == DataType.Float && rank >= 3 && channels is { } count)
        {
            var kernel = new long[rank];
            Array.Fill(kernel, 1L);
            kernel[0] = count;
            return Op("Conv", [x, Reshape(scale, kernel), shift], Attribute.Int("group", count));
        }
        var channelAxes = Enumerable.Range(1, rank - 2).Select(i => (long)i).ToArray();
        return Add(Mul(x, Unsqueeze(scale, channelAxes)), Unsqueeze(shift, channelAxes));
    }

    /// <summary>a * c for a constant c of a's element type (a itself when c is 1).</summary>
    public Value Scale(Value a, double c) => c == 1 ? a : Mul(a, Scalar(c, TypeOf(a)));

    /// <summary>A zero of <paramref name="like"/>'s element type.</summary>
    public Value Zero(Value like) => Scalar(0, TypeOf(like));

    public Value Cast(Value x, DataType to) => TypeOf(x) == to ? x : Op("Cast", [x], Attribute.Int("to", (long)to));

    public Value Reshape(Value x, Value shape) => Op("Reshape", [x, shape]);
    public Value Reshape(Value x, params long[] shape) => Reshape(x, Int64s(shape));

    public Value Transpose(Value x, params long[] perm)
    {
        bool identity = true;
        for (int i = 0; i < perm.Length; i++) identity &= perm[i] == i;
        return identity ? x : Op("Transpose", [x], Attribute.Ints("perm", perm));
    }

    public Value Unsqueeze(Value x, params long[] axes) => axes.Length == 0 ? x : Op("Unsqueeze", [x, Int64s(axes)]);
    public Value Squeeze(Value x, params long[] axes) => axes.Length == 0 ? x : Op("Squeeze", [x, Int64s(axes)]);

    /// <summary>
    /// Σ over the batch and spatial axes per channel (axis 1), kept as [1, C, 1, ...]; the mean
    /// instead when <paramref name="mean"/>. In float with static spatial sizes this is
    /// GlobalAveragePool then a reduction over the batch axis: ORT's ReduceSum/ReduceMean over
    /// axes (0, 2, 3) took ~0.2 ms more per 128x16x28x28 tensor than the pooling kernel, and a
    /// BatchNorm training step makes four such sums. <paramref name="shapeOf"/> is a value of x's
    /// shape that shape inference has seen (x itself may be new).
    /// </summary>
    public Value PerChannelSum(Value x, Value shapeOf, bool mean = false)
    {
        int rank = RankOf(shapeOf);
        var axes = Enumerable.Range(0, rank).Where(a => a != 1).Select(a => (long)a).ToArray();
        var spatial = ShapeOf(shapeOf)?.Dims.Skip(2).Select(d => d.Value).ToArray();
        if (TypeOf(x) != DataType.Float || rank < 3 || spatial is null || spatial.Any(d => d is null))
            return mean ? ReduceMean(x, axes, keepDims: true) : ReduceSum(x, axes, keepDims: true);
        var pooled = Op("GlobalAveragePool", [x]);
        if (mean) return ReduceMean(pooled, [0], keepDims: true);
        long positions = spatial.Aggregate(1L, (a, d) => a * d!.Value);
        return Scale(ReduceSum(pooled, [0], keepDims: true), positions);
    }

    public Value ReduceSum(Value x, long[] axes, bool keepDims)
    {
        if (axes.Length == 0) return x;
        return Op("ReduceSum", [x, Int64s(axes)], Attribute.Int("keepdims", keepDims ? 1 : 0));
    }

    public Value ReduceMean(Value x, long[] axes, bool keepDims) => ReduceSince18("ReduceMean", x, axes, keepDims);

    public Value ReduceSumSquare(Value x, long[] axes, bool keepDims) => ReduceSince18("ReduceSumSquare", x, axes, keepDims);

    /// <summary>A reduction whose axes became an input in opset 18 (an attribute before).</summary>
    private Value ReduceSince18(string op, Value x, long[] axes, bool keepDims)
    {
        if (axes.Length == 0) return op == "ReduceSumSquare" ? Mul(x, x) : x;
        return Opset >= 18
            ? Op(op, [x, Int64s(axes)], Attribute.Int("keepdims", keepDims ? 1 : 0))
            : Op(op, [x], Attribute.Ints("axes", axes), Attribute.Int("keepdims", keepDims ? 1 : 0));
    }

    public Value Slice(Value x, long[] starts, long[] ends, long[] axes, long[]? steps = null) =>
        steps is null
            ? Op("Slice", [x, Int64s(starts), Int64s(ends), Int64s(axes)])
            : Op("Slice", [x, Int64s(starts), Int64s(ends), Int64s(axes), Int64s(steps)]);

    public Value Concat(IReadOnlyList<Value> parts, long axis) =>
        parts.Count == 1 ? parts[0] : Op("Concat", parts.ToArray<Value?>(), Attribute.Int("axis", axis));

    /// <summary>Zeros shaped like <paramref name="like"/> (of its element type).</summary>
    public Value ZerosLike(Value like) => Op("ConstantOfShape", [ShapeTensor(like)],
        Attribute.FromTensor("value", DenseTensor.FromDoubles(TypeOf(like), new long[] { 1 }, new[] { 0.0 })));

    /// <summary>The sum of gradient contributions (one Add, or a Sum for more).</summary>
    public Value SumOf(IReadOnlyList<Value> values) => values.Count switch
    {
        0 => throw new ArgumentException("nothing to sum"),
        1 => values[0],
        2 => Add(values[0], values[1]),
        _ => Op("Sum", values.ToArray<Value?>()),
    };

    /// <summary>
    /// Sums a gradient that has the shape of a broadcast result (<paramref name="gradShape"/>)
    /// down to the shape of the operand <paramref name="target"/>: ReduceSum over the leading axes
    /// the operand lacks and over the axes where it has size 1, then drops the leading axes.
    /// Decided at build time when the shapes say enough; otherwise computed in the graph
    /// (Shape, Equal, Compress, ReduceSum, Reshape).
    /// </summary>
    public Value ReduceToShapeOf(Value grad, Shape? gradShape, Value target)
    {
        var targetShape = ShapeOf(target);
        if (gradShape is not null && targetShape is not null)
        {
            int lead = gradShape.Rank - targetShape.Rank;
            if (lead < 0) throw new GradientException($"gradient of shape {gradShape} cannot be reduced to '{target.Name}' of shape {targetShape}");
            var axes = new List<long>();
            bool decided = true;
            for (int i = 0; i < lead; i++) axes.Add(i);
            for (int j = 0; j < targetShape.Rank && decided; j++)
            {
                Dim gd = gradShape[j + lead], td = targetShape[j];
                if (td.Value == 1)
                {
                    if (gd.Value != 1) axes.Add(j + lead);
                }
                else if (td.Equals(gd) && (td.IsKnown || td.Symbol is not null)) { }
                else decided = false;
            }
            if (decided && axes.Count == 0) return grad;
            if (decided)
            {
                var reduced = ReduceSum(grad, axes.ToArray(), keepDims: true);
                return Squeeze(reduced, Enumerable.Range(0, lead).Select(i => (long)i).ToArray());
            }
        }
        int gradRank = gradShape?.Rank ?? throw new GradientException($"the rank of the gradient reaching '{target.Name}' is unknown");
        int targetRank = RankOf(target);
        var targetDims = ShapeTensor(target);
        var padded = gradRank > targetRank
            ? Concat(new[] { Int64s(Enumerable.Repeat(1L, gradRank - targetRank).ToArray()), targetDims }, 0)
            : targetDims;
        var differs = Op("Not", [Op("Equal", [padded, Op("Shape", [grad])])]);
        var axesValue = Op("Compress", [Int64s(Enumerable.Range(0, gradRank).Select(i => (long)i).ToArray()), differs],
            Attribute.Int("axis", 0));
        var sum = Op("ReduceSum", [grad, axesValue], Attribute.Int("keepdims", 1), Attribute.Int("noop_with_empty_axes", 1));
        return Reshape(sum, targetDims);
    }

    public static bool IsFloating(DataType t) => DataTypes.IsFloatingPoint(t);

    /// <summary>Axis normalised into [0, rank).</summary>
    public static long NormalizeAxis(long axis, int rank) => axis < 0 ? axis + rank : axis;
}
