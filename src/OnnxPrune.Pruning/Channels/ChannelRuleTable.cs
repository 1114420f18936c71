namespace OnnxPrune.Pruning.Channels;

/// <summary>The one table of channel rules, by op type of the default ONNX domain. Registered
/// explicitly; an op type that is not here is a barrier.</summary>
internal static class ChannelRuleTable
{
    public static readonly IReadOnlyDictionary<string, IChannelRule> Rules = Build();

    private static Dictionary<string, IChannelRule> Build()
    {
        var zeroKeeping = new UnaryRule(zeroPreserving: true);
        var zeroChanging = new UnaryRule(zeroPreserving: false);
        var passThrough = new PassThroughRule();
        var broadcast = new BroadcastRule();
        var flatten = new FlattenRule();
        var rules = new Dictionary<string, IChannelRule>(StringComparer.Ordinal)
        {
            ["Conv"] = new ConvRule(),
            ["ConvTranspose"] = new ConvTransposeRule(),
            ["Gemm"] = new DenseRule(isGemm: true),
            ["MatMul"] = new DenseRule(isGemm: false),
            ["BatchNormalization"] = new NormalizationRule(),
            ["InstanceNormalization"] = new NormalizationRule(),
            ["Concat"] = new ConcatRule(),
            ["Split"] = new SplitRule(),
            ["Slice"] = new SliceRule(),
            ["Flatten"] = flatten,
            ["Reshape"] = flatten,
            ["Transpose"] = new TransposeRule(),
            ["Pad"] = new PadRule(),
            ["Shape"] = new ShapeRule(),
        };
        // f(0) = 0: a zeroed channel stays zero.
        foreach (var op in new[] { "Relu", "LeakyRelu", "PRelu", "Clip", "HardSwish", "Tanh", "Identity", "Dropout", "Cast", "Neg",
                     "Abs", "Elu", "Selu", "Celu", "Softsign", "Sin", "Sqrt", "Erf", "Mish", "Round", "Floor", "Ceil", "Sign", "ThresholdedRelu", "Gelu" })
            rules[op] = zeroKeeping;
        // f(0) != 0: fine inside an SE gate (multiplied by a zeroed channel), a barrier before a layer.
        foreach (var op in new[] { "Sigmoid", "HardSigmoid", "Exp", "Softplus", "Cos" })
            rules[op] = zeroChanging;
        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Max", "Min", "Sum", "Mean" })
            rules[op] = broadcast;
        foreach (var op in new[] { "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool" })
            rules[op] = passThrough;
        var resize = new ResizeRule();
        rules["Resize"] = resize;
        rules["Upsample"] = resize;
        // Reducing zeros gives 0: a zeroed channel stays zero.
        var zeroKeepingReduce = new ReduceRule(zeroPreserving: true);
        foreach (var op in new[] { "ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceL1", "ReduceL2", "ReduceProd", "ReduceSumSquare" })
            rules[op] = zeroKeepingReduce;
        // log(sum(exp(0))) = log(n): like a zero-changing unary op.
        rules["ReduceLogSumExp"] = new ReduceRule(zeroPreserving: false);
        return rules;
    }
}
