using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Training.Architectures;

/// <summary>
/// Builds inference graphs layer by layer, with seeded initial weights: convolutions and linear
/// layers get He-normal weights (fan-in, for ReLU networks), BatchNorm starts as the identity.
/// Names follow the layer path ("stage1.block0.conv1.weight") so reports read like the code.
/// </summary>
internal sealed class NetworkBuilder
{
    private readonly Random _random;
    private int _nodes;

    public NetworkBuilder(int seed, long opset = 17)
    {
        _random = new Random(seed);
        Model = new Model(new Graph("network"));
        Model.OpsetImports[""] = opset;
        Model.ProducerName = "onnxprune";
    }

    public Model Model { get; }
    public Graph Graph => Model.Graph;

    /// <summary>A float input with a symbolic batch axis.</summary>
    public Value Input(string name, params long[] dimsAfterBatch)
    {
        var v = new Value(name, DataType.Float, new Shape(new[] { Dim.Symbolic("N") }.Concat(dimsAfterBatch.Select(Dim.Known))));
        Graph.AddInput(v);
        return v;
    }

    public void Output(Value v) => Graph.AddOutput(v);

    public Value Conv(Value x, string name, long cin, long cout, long kernel, long stride = 1, long pad = -1, long groups = 1, bool bias = false)
    {
        if (pad < 0) pad = kernel / 2;
        var w = Param(name + ".weight", [cout, cin / groups, kernel, kernel], HeStd(cin / groups * kernel * kernel));
        var inputs = new List<Value?> { x, w };
        if (bias) inputs.Add(Zeros(name + ".bias", [cout]));
        return Node("Conv", name, inputs,
            Attribute.Ints("kernel_shape", [kernel, kernel]), Attribute.Ints("strides", [stride, stride]),
            Attribute.Ints("pads", [pad, pad, pad, pad]), Attribute.Int("group", groups));
    }

    public Value BatchNorm(Value x, string name, long channels) => Node("BatchNormalization", name,
        [x, Constant(name + ".weight", [channels], 1f), Zeros(name + ".bias", [channels]),
         Zeros(name + ".running_mean", [channels]), Constant(name + ".running_var", [channels], 1f)],
        Attribute.Float("epsilon", 1e-5f), Attribute.Float("momentum", 0.9f));

    public Value Relu(Value x, string name) => Node("Relu", name, [x]);
    public Value Relu6(Value x, string name) => Node("Clip", name, [x, Scalar(name + ".min", 0f), Scalar(name + ".max", 6f)]);
    public Value Add(Value a, Value b, string name) => Node("Add", name, [a, b]);
    public Value MaxPool(Value x, string name, long kernel, long stride) =>
        Node("MaxPool", name, [x], Attribute.Ints("kernel_shape", [kernel, kernel]), Attribute.Ints("strides", [stride, stride]));
    public Value GlobalAveragePool(Value x, string name) => Node("GlobalAveragePool", name, [x]);
    public Value Flatten(Value x, string name) => Node("Flatten", name, [x], Attribute.Int("axis", 1));

    /// <summary>y = x W^T + b, weight [out, in] as torch stores it.</summary>
    public Value Linear(Value x, string name, long inFeatures, long outFeatures)
    {
        var w = Param(name + ".weight", [outFeatures, inFeatures], HeStd(inFeatures));
        return Node("Gemm", name, [x, w, Zeros(name + ".bias", [outFeatures])], Attribute.Int("transB", 1));
    }

    /// <summary>Conv, BatchNorm and (optionally) ReLU.</summary>
    public Value ConvBnRelu(Value x, string name, long cin, long cout, long kernel, long stride = 1, long groups = 1, bool relu = true)
    {
        var y = BatchNorm(Conv(x, name + ".conv", cin, cout, kernel, stride, groups: groups), name + ".bn", cout);
        return relu ? Relu(y, name + ".relu") : y;
    }

    private Value Node(string op, string name, IReadOnlyList<Value?> inputs, params Attribute[] attributes)
    {
        var node = new Node("", op, inputs, [Graph.UniqueName(name + ".out")], attributes, name.Length > 0 ? name : $"{op}_{_nodes}");
        _nodes++;
        Graph.AddNode(node);
        return node.Outputs[0];
    }

    private static double HeStd(long fanIn) => Math.Sqrt(2.0 / fanIn);

    private Value Param(string name, long[] dims, double std)
    {
        long n = dims.Aggregate(1L, (a, b) => a * b);
        var values = new float[n];
        for (long i = 0; i < n; i++) values[i] = (float)(std * OnnxPrune.Runtime.Data.RandomInputs.Normal(_random));
        return Graph.AddInitializer(name, DenseTensor.FromFloats(dims, values));
    }

    private Value Zeros(string name, long[] dims) => Constant(name, dims, 0f);

    private Value Constant(string name, long[] dims, float value)
    {
        var values = new float[dims.Aggregate(1L, (a, b) => a * b)];
        Array.Fill(values, value);
        return Graph.AddInitializer(name, DenseTensor.FromFloats(dims, values));
    }

    private Value Scalar(string name, float value) => Graph.AddInitializer(name, DenseTensor.FromFloats([], [value]));
}
