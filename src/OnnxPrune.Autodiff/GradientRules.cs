using System.Collections.Frozen;
using OnnxPrune.Autodiff.Rules;
using OnnxPrune.IR;

namespace OnnxPrune.Autodiff;

/// <summary>
/// The gradient of one operator: from the gradients of the loss with respect to the node's
/// outputs to those with respect to its inputs.
/// </summary>
internal interface IGradientRule
{
    /// <param name="outputGradients">One per output of <paramref name="node"/>; null where no
    /// gradient flows into that output.</param>
    /// <returns>One entry per input; null where the input needs no gradient
    /// (<see cref="GradientContext.NeedsGradient"/>) or has none (integer inputs, shapes).</returns>
    Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients);
}

/// <summary>
/// The one table of gradient rules: ONNX operator type (default domain) -> rule. Every entry is
/// written out here; nothing is found by reflection or naming convention.
/// </summary>
internal static class GradientRules
{
    public static readonly FrozenDictionary<string, IGradientRule> Table = Build();

    private static FrozenDictionary<string, IGradientRule> Build()
    {
        var t = new Dictionary<string, IGradientRule>(StringComparer.Ordinal);
        void Add(IGradientRule rule, params string[] ops)
        {
            foreach (var op in ops)
                if (!t.TryAdd(op, rule)) throw new InvalidOperationException($"two gradient rules for {op}");
        }

        // Convolution and pooling.
        Add(new ConvRule(), "Conv");
        Add(new ConvTransposeRule(), "ConvTranspose");
        Add(new MaxPoolRule(), "MaxPool");
        Add(new AveragePoolRule(), "AveragePool");
        Add(new GlobalAveragePoolRule(), "GlobalAveragePool");
        Add(new GlobalMaxPoolRule(), "GlobalMaxPool");
        Add(new BatchNormalizationRule(), "BatchNormalization");
        Add(new InstanceNormalizationRule(), "InstanceNormalization");
        Add(new ResizeRule(), "Resize");

        // Linear algebra.
        Add(new MatMulRule(), "MatMul");
        Add(new GemmRule(), "Gemm");

        // Element-wise arithmetic with broadcasting.
        Add(new AddSubRule(), "Add", "Sub");
        Add(new MulRule(), "Mul");
        Add(new DivRule(), "Div");
        Add(new SumRule(), "Sum");
        Add(new MeanRule(), "Mean");
        Add(new MaxMinRule(), "Max", "Min");
        Add(new PowRule(), "Pow");
        Add(new WhereRule(), "Where");
        Add(new PReluRule(), "PRelu");

        // Activations and other element-wise functions of one input.
        Add(UnaryRules.Relu, "Relu");
        Add(UnaryRules.LeakyRelu, "LeakyRelu");
        Add(UnaryRules.Clip, "Clip");
        Add(UnaryRules.Sigmoid, "Sigmoid");
        Add(UnaryRules.HardSigmoid, "HardSigmoid");
        Add(UnaryRules.HardSwish, "HardSwish");
        Add(UnaryRules.Tanh, "Tanh");
        Add(UnaryRules.Elu, "Elu");
        Add(UnaryRules.Selu, "Selu");
        Add(UnaryRules.Celu, "Celu");
        Add(UnaryRules.Softplus, "Softplus");
        Add(UnaryRules.Softsign, "Softsign");
        Add(UnaryRules.Mish, "Mish");
        Add(UnaryRules.ThresholdedRelu, "ThresholdedRelu");
        Add(UnaryRules.Exp, "Exp");
        Add(UnaryRules.Log, "Log");
        Add(UnaryRules.Sqrt, "Sqrt");
        Add(UnaryRules.Reciprocal, "Reciprocal");
        Add(UnaryRules.Neg, "Neg");
        Add(UnaryRules.Abs, "Abs");
        Add(UnaryRules.Erf, "Erf");
        Add(UnaryRules.Sin, "Sin");
        Add(UnaryRules.Cos, "Cos");
        Add(UnaryRules.Gelu, "Gelu");
        Add(UnaryRules.Cast, "Cast");
        Add(UnaryRules.Zero, "Floor", "Ceil", "Round", "Sign");
        Add(UnaryRules.PassThrough, "Identity", "Dropout");

        // Layout.
        Add(new ReshapeLikeRule(), "Reshape", "Flatten", "Squeeze", "Unsqueeze");
        Add(new TransposeRule(), "Transpose");
        Add(new ExpandRule(), "Expand");
        Add(new ConcatRule(), "Concat");
        Add(new SplitRule(), "Split");
        Add(new SliceRule(), "Slice");
        Add(new PadRule(), "Pad");
        Add(new GatherRule(), "Gather");

        // Reductions, softmax and losses.
        Add(new ReduceRule(ReductionKind.Sum), "ReduceSum");
        Add(new ReduceRule(ReductionKind.Mean), "ReduceMean");
        Add(new ReduceRule(ReductionKind.Max), "ReduceMax");
        Add(new ReduceRule(ReductionKind.Min), "ReduceMin");
        Add(new ReduceRule(ReductionKind.Prod), "ReduceProd");
        Add(new ReduceRule(ReductionKind.SumSquare), "ReduceSumSquare");
        Add(new ReduceRule(ReductionKind.LogSumExp), "ReduceLogSumExp");
        Add(new SoftmaxRule(log: false), "Softmax");
        Add(new SoftmaxRule(log: true), "LogSoftmax");
        Add(new SoftmaxCrossEntropyRule(), "SoftmaxCrossEntropyLoss");
        Add(new NegativeLogLikelihoodRule(), "NegativeLogLikelihoodLoss");

        return t.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
