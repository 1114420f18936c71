using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.IR.ShapeInference;

/// <summary>Builds small graphs for shape-inference tests: inputs with dims given as numbers
/// (known) or strings (symbolic), int64/float initializers, and nodes with one or more outputs.</summary>
internal sealed class ShapeTestGraph
{
    private int _counter;

    public Graph Graph { get; } = new("test");

    /// <summary>A shape from dims: a number is a known size, a string a symbol, null unknown.</summary>
    public static Shape S(params object?[] dims) => new(dims.Select(d => d switch
    {
        null => Dim.Unknown,
        string s => Dim.Symbolic(s),
        int i => Dim.Known(i),
        long l => Dim.Known(l),
        _ => throw new ArgumentException($"bad dim {d}"),
    }));

    public Value Input(string name, params object?[] dims) => Input(name, DataType.Float, dims);

    public Value Input(string name, DataType type, params object?[] dims)
    {
        var v = new Value(name, type, S(dims));
        Graph.AddInput(v);
        return v;
    }

    /// <summary>A graph input whose rank is unknown.</summary>
    public Value UnrankedInput(string name, DataType type = DataType.Float)
    {
        var v = new Value(name, type);
        Graph.AddInput(v);
        return v;
    }

    /// <summary>A 1-D int64 initializer.</summary>
    public Value Int64s(string name, params long[] values) =>
        Graph.AddInitializer(name, DenseTensor.FromInt64s(new long[] { values.Length }, values));

    public Value Scalar(string name, long value) =>
        Graph.AddInitializer(name, DenseTensor.FromInt64s(Array.Empty<long>(), new[] { value }));

    public Value Float32s(string name, params float[] values) =>
        Graph.AddInitializer(name, DenseTensor.FromFloats(new long[] { values.Length }, values));

    /// <summary>A float initializer of the given dims filled with zeros (weights).</summary>
    public Value Weights(string name, params long[] dims)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        return Graph.AddInitializer(name, DenseTensor.FromFloats(dims, new float[n]));
    }

    public Node Node(string op, Value?[] inputs, int outputs, params Attribute[] attributes)
    {
        var names = Enumerable.Range(0, outputs).Select(i => $"{op.ToLowerInvariant()}{_counter}_{i}").ToArray();
        _counter++;
        return Graph.AddNode(new Node("", op, inputs, names, attributes, $"{op}_{_counter}"));
    }

    /// <summary>Adds a one-output node and returns its output.</summary>
    public Value Op(string op, Value?[] inputs, params Attribute[] attributes) => Node(op, inputs, 1, attributes).Outputs[0];

    public Value Op(string op, Value input, params Attribute[] attributes) => Op(op, new Value?[] { input }, attributes);

    public ShapeInferenceResult Infer(long opset = 17, ShapeInferenceOptions? options = null)
    {
        var result = new ShapeInferencer(options).Run(Graph, opset);
        result.Problems.Should().BeEmpty("no rule should fail on these well-formed nodes");
        return result;
    }

    /// <summary>Infers, allowing rules to report problems.</summary>
    public ShapeInferenceResult InferLenient(long opset = 17, ShapeInferenceOptions? options = null) =>
        new ShapeInferencer(options).Run(Graph, opset);

    public Model ToModel(long opset = 17)
    {
        var m = new Model(Graph);
        m.OpsetImports[""] = opset;
        return m;
    }

    public static Attribute Int(string name, long v) => Attribute.Int(name, v);
    public static Attribute Ints(string name, params long[] v) => Attribute.Ints(name, v);
    public static Attribute Float(string name, float v) => Attribute.Float(name, v);
    public static Attribute Floats(string name, params float[] v) => Attribute.Floats(name, v);
    public static Attribute Str(string name, string v) => Attribute.String(name, v);
}
