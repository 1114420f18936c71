using OnnxPrune.IR;
using OnnxPrune.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Builds small random graphs for gradient tests with the IR API, and random data to feed them.</summary>
internal sealed class TestNet
{
    private readonly Random _rng;
    private readonly Dictionary<string, TensorData> _data = new(StringComparer.Ordinal);
    private int _counter;

    public TestNet(DataType type = DataType.Float, int seed = 1)
    {
        Type = type;
        _rng = new Random(seed);
        Graph = new Graph("test");
    }

    public DataType Type { get; }
    public Graph Graph { get; }

    /// <summary>Random data for every input added with <see cref="Input"/>.</summary>
    public IReadOnlyDictionary<string, TensorData> Data => _data;

    /// <summary>A graph input with static dims and random normal data (times <paramref name="scale"/>, plus <paramref name="offset"/>).</summary>
    public Value Input(string name, long[] dims, double scale = 1, double offset = 0)
    {
        var v = new Value(name, Type, new Shape(dims));
        Graph.AddInput(v);
        _data[name] = Tensor(Normal(Count(dims), scale, offset), dims);
        return v;
    }

    /// <summary>A graph input whose declared shape has symbolic or unknown dims; the data has <paramref name="actual"/> dims.</summary>
    public Value SymbolicInput(string name, Dim[] declared, long[] actual, double scale = 1)
    {
        var v = new Value(name, Type, new Shape(declared));
        Graph.AddInput(v);
        _data[name] = Tensor(Normal(Count(actual), scale, 0), actual);
        return v;
    }

    public void SetData(string name, TensorData data) => _data[name] = data;

    /// <summary>A random initializer (normal, times <paramref name="scale"/>, plus <paramref name="offset"/>).</summary>
    public Value Weight(string name, long[] dims, double scale = 0.5, double offset = 0) =>
        Graph.AddInitializer(new Value(name) { ConstValue = DenseTensor.FromDoubles(Type, dims, Normal(Count(dims), scale, offset)) });

    public Value Constant(string name, long[] dims, double[] values) =>
        Graph.AddInitializer(new Value(name) { ConstValue = DenseTensor.FromDoubles(Type, dims, values) });

    public Value Ints(params long[] values) =>
        Graph.AddInitializer(new Value($"ints{_counter++}") { ConstValue = DenseTensor.FromInt64s(new long[] { values.Length }, values) });

    public Value Op(string opType, Value?[] inputs, params Attribute[] attributes) => Ops(opType, 1, inputs, attributes)[0];

    public Value[] Ops(string opType, int outputs, Value?[] inputs, params Attribute[] attributes)
    {
        var name = $"{opType.ToLowerInvariant()}_{_counter++}";
        var names = Enumerable.Range(0, outputs).Select(i => i == 0 ? name : $"{name}:{i}").ToArray();
        return Graph.AddNode(new Node("", opType, inputs, names, attributes, name)).Outputs.ToArray();
    }

    /// <summary>The model with <paramref name="outputs"/> as outputs (element type set, shapes left to inference).</summary>
    public Model Finish(params Value[] outputs)
    {
        foreach (var o in outputs)
        {
            if (o.ElementType == DataType.Undefined) o.ElementType = Type;
            Graph.AddOutput(o);
        }
        var model = new Model(Graph) { IrVersion = 8 };
        model.OpsetImports[""] = 17;
        return model;
    }

    /// <summary>Random target for an MSE loss on an output of <paramref name="dims"/>.</summary>
    public void Target(long[] dims, string name = "target") => _data[name] = Tensor(Normal(Count(dims), 1, 0), dims);

    public TensorData Tensor(double[] values, long[] dims) => Type == DataType.Double
        ? TensorData.Create(values, dims)
        : TensorData.Create(values.Select(v => (float)v).ToArray(), dims);

    public double[] Normal(long count, double scale = 1, double offset = 0)
    {
        var result = new double[count];
        for (long i = 0; i < count; i++)
        {
            double u1 = 1 - _rng.NextDouble(), u2 = _rng.NextDouble();
            result[i] = offset + scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
        return result;
    }

    public double[] Uniform(long count, double low, double high) =>
        Enumerable.Range(0, (int)count).Select(_ => low + (high - low) * _rng.NextDouble()).ToArray();

    public static long Count(long[] dims) => dims.Aggregate(1L, (a, b) => a * b);
}
