using System.Collections.Frozen;
using static OnnxPrune.IR.ShapeInference.ElementwiseRules;

namespace OnnxPrune.IR.ShapeInference;

/// <summary>A shape rule: reads a node's inputs and attributes through the context and sets its
/// outputs' types, shapes and (where it can) values. Rules throw ArgumentException for nodes no
/// valid model has; the inferencer then leaves the outputs as recorded.</summary>
internal delegate void Rule(InferenceContext ctx);

/// <summary>
/// The one table of shape rules: ONNX operator type (default domain) to rule. Every entry is
/// written out here; nothing is found by reflection or naming convention. Opset differences are
/// handled inside the rules (they read <see cref="InferenceContext.Opset"/>).
/// </summary>
internal static class ShapeRules
{
    public static readonly FrozenDictionary<string, Rule> Table = Build();

    private static FrozenDictionary<string, Rule> Build()
    {
        var t = new Dictionary<string, Rule>(StringComparer.Ordinal);
        void Add(Rule rule, params string[] ops)
        {
            foreach (var op in ops)
            {
                if (!t.TryAdd(op, rule)) throw new InvalidOperationException($"two shape rules for {op}");
            }
        }

        // Element-wise, same type and shape as input 0.
        Add(SameAsInput,
            "Sigmoid", "Tanh", "Exp", "Log", "Erf", "Softplus", "Softsign", "LeakyRelu", "Elu", "Selu", "Celu",
            "HardSigmoid", "HardSwish", "Mish", "Gelu", "ThresholdedRelu", "Shrink", "Sin", "Cos", "Tan", "Asin",
            "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh", "BitwiseNot",
            "Softmax", "LogSoftmax", "Hardmax", "LRN", "InstanceNormalization", "MeanVarianceNormalization",
            "LpNormalization", "GroupNormalization", "Trilu", "CumSum", "ReverseSequence",
            "Scatter", "ScatterElements", "ScatterND");
        Add(PRelu, "PRelu");
        Add(BoolOfInput, "IsNaN", "IsInf");
        Add(Identity, "Identity");
        Add(Unary(v => -v, v => -v), "Neg");
        Add(Unary(Math.Abs, Math.Abs), "Abs");
        Add(Unary(v => v, Math.Floor), "Floor");
        Add(Unary(v => v, Math.Ceiling), "Ceil");
        Add(Unary(v => v, v => Math.Round(v, MidpointRounding.ToEven)), "Round");
        Add(Unary(null, Math.Sqrt), "Sqrt");
        Add(Unary(null, v => 1 / v), "Reciprocal");
        Add(Unary(v => Math.Max(v, 0), v => Math.Max(v, 0)), "Relu");
        Add(Unary(v => Math.Sign(v), v => double.IsNaN(v) ? v : Math.Sign(v)), "Sign");
        Add(Not, "Not");
        Add(Dropout, "Dropout");
        Add(Cast, "Cast");
        Add(CastLike, "CastLike");
        Add(Clip, "Clip");
        Add(QuantizeLinear, "QuantizeLinear");
        Add(DequantizeLinear, "DequantizeLinear");
        Add(DynamicQuantizeLinear, "DynamicQuantizeLinear");
        Add(LikeWithDtype, "EyeLike", "RandomNormalLike", "RandomUniformLike", "Bernoulli");

        // Broadcasting binary and variadic operators.
        Add(Binary(Op.Add, true), "Add");
        Add(Binary(Op.Sub, true), "Sub");
        Add(Binary(Op.Mul, true), "Mul");
        Add(Binary(Op.Div, true), "Div");
        Add(Binary(Op.Pow, true), "Pow");
        Add(Binary(Op.Mod, false), "Mod");
        Add(Binary(Op.Equal, true), "Equal");
        Add(Binary(Op.Less, true), "Less");
        Add(Binary(Op.Greater, true), "Greater");
        Add(Binary(Op.LessOrEqual, false), "LessOrEqual");
        Add(Binary(Op.GreaterOrEqual, false), "GreaterOrEqual");
        Add(Binary(Op.And, true), "And");
        Add(Binary(Op.Or, true), "Or");
        Add(Binary(Op.Xor, true), "Xor");
        Add(Binary(Op.BitShift, false), "BitShift");
        Add(Binary(Op.BitwiseAnd, false), "BitwiseAnd");
        Add(Binary(Op.BitwiseOr, false), "BitwiseOr");
        Add(Binary(Op.BitwiseXor, false), "BitwiseXor");
        Add(Variadic(Op.Max), "Max");
        Add(Variadic(Op.Min), "Min");
        Add(Variadic(Op.Add), "Sum");
        Add(Variadic(Op.Add, mean: true), "Mean");
        Add(Where, "Where");

        // Convolution, pooling, normalization, matrix products, resampling.
        Add(NeuralNetRules.Conv(0, 1, c => c.InType(0)), "Conv");
        Add(NeuralNetRules.Conv(0, 1, _ => DataType.Int32), "ConvInteger");
        Add(NeuralNetRules.Conv(0, 3, c => c.HasInput(7) && c.InType(7) != DataType.Undefined ? c.InType(7) : c.InType(0)), "QLinearConv");
        Add(NeuralNetRules.ConvTranspose, "ConvTranspose");
        Add(NeuralNetRules.Pool, "MaxPool", "AveragePool", "LpPool");
        Add(NeuralNetRules.GlobalPool, "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool");
        Add(NeuralNetRules.MaxUnpool, "MaxUnpool");
        Add(NeuralNetRules.MaxRoiPool, "MaxRoiPool");
        Add(NeuralNetRules.RoiAlign, "RoiAlign");
        Add(NeuralNetRules.BatchNormalization, "BatchNormalization");
        Add(NeuralNetRules.LayerNormalization, "LayerNormalization");
        Add(NeuralNetRules.Gemm, "Gemm");
        Add(NeuralNetRules.MatMul(0, 1, c => c.InType(0)), "MatMul");
        Add(NeuralNetRules.MatMul(0, 1, _ => DataType.Int32), "MatMulInteger");
        Add(NeuralNetRules.MatMul(0, 3, c => c.HasInput(7) && c.InType(7) != DataType.Undefined ? c.InType(7) : c.InType(0)), "QLinearMatMul");
        Add(NeuralNetRules.DepthToSpace, "DepthToSpace");
        Add(NeuralNetRules.SpaceToDepth, "SpaceToDepth");
        Add(NeuralNetRules.GridSample, "GridSample");
        Add(NeuralNetRules.Resize, "Resize", "Upsample");
        Add(NeuralNetRules.Recurrent, "RNN", "GRU", "LSTM");

        // Creating, reshaping, joining, cutting and indexing tensors.
        Add(TensorRules.Constant, "Constant");
        Add(TensorRules.Shape, "Shape");
        Add(TensorRules.Size, "Size");
        Add(TensorRules.ConstantOfShape, "ConstantOfShape");
        Add(TensorRules.Range, "Range");
        Add(TensorRules.Reshape, "Reshape");
        Add(TensorRules.Flatten, "Flatten");
        Add(TensorRules.Squeeze, "Squeeze");
        Add(TensorRules.Unsqueeze, "Unsqueeze");
        Add(TensorRules.Transpose, "Transpose");
        Add(TensorRules.Concat, "Concat");
        Add(TensorRules.Split, "Split");
        Add(TensorRules.Slice, "Slice");
        Add(TensorRules.Pad, "Pad");
        Add(TensorRules.CenterCropPad, "CenterCropPad");
        Add(TensorRules.Gather, "Gather");
        Add(TensorRules.GatherElements, "GatherElements");
        Add(TensorRules.GatherND, "GatherND");
        Add(TensorRules.OneHot, "OneHot");
        Add(TensorRules.Compress, "Compress");
        Add(TensorRules.NonZero, "NonZero");
        Add(TensorRules.NonMaxSuppression, "NonMaxSuppression");
        Add(TensorRules.TopK, "TopK");
        Add(TensorRules.Expand, "Expand");
        Add(TensorRules.Tile, "Tile");
        Add(TensorRules.RandomWithShape, "RandomNormal", "RandomUniform");
        Add(TensorRules.Multinomial, "Multinomial");
        Add(TensorRules.Det, "Det");
        Add(TensorRules.Window, "HannWindow", "HammingWindow", "BlackmanWindow");

        // Reductions and losses.
        Add(ReductionRules.Reduce(ConstOps.ReduceKind.Sum, 13), "ReduceSum");
        Add(ReductionRules.Reduce(ConstOps.ReduceKind.Mean, 18), "ReduceMean");
        Add(ReductionRules.Reduce(ConstOps.ReduceKind.Max, 18), "ReduceMax");
        Add(ReductionRules.Reduce(ConstOps.ReduceKind.Min, 18), "ReduceMin");
        Add(ReductionRules.Reduce(ConstOps.ReduceKind.Prod, 18), "ReduceProd");
        Add(ReductionRules.Reduce(null, 18), "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare");
        Add(ReductionRules.ArgMinMax, "ArgMax", "ArgMin");
        Add(ReductionRules.Loss, "NegativeLogLikelihoodLoss", "SoftmaxCrossEntropyLoss");

        return t.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
