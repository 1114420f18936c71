namespace OnnxPrune.IR;

/// <summary>
/// Facts about standard ONNX operators that several parts of OnnxPrune need. How each operator
/// maps shapes lives in the shape rules (ShapeInference), how channels flow through it in the
/// channel rules (OnnxPrune.Pruning), its gradient in the gradient rules (OnnxPrune.Autodiff);
/// what is here is what more than one of them asks.
/// </summary>
public static class OpFacts
{
    private static readonly int[] None = [];
    private static readonly int[] WeightAndBias = [1, 2];
    private static readonly int[] Gemm = [0, 1, 2];
    private static readonly int[] BothOperands = [0, 1];
    private static readonly int[] Slope = [1];

    /// <summary>
    /// Input positions that hold a layer's learned parameters when they are constants:
    /// Conv/ConvTranspose weight and bias, Gemm's operands and bias, MatMul's operands,
    /// BatchNormalization's scale and bias (never its running statistics), PRelu's slope.
    /// </summary>
    public static IReadOnlyList<int> ParameterSlots(Node node) => !node.IsOnnxDomain ? None : node.OpType switch
    {
        "Conv" or "ConvTranspose" or "BatchNormalization" => WeightAndBias,
        "Gemm" => Gemm,
        "MatMul" => BothOperands,
        "PRelu" => Slope,
        _ => None,
    };

    /// <summary>Operands of Add and Mul, which hold learned per-channel constants where an
    /// exporter wrote a normalisation or scale layer as arithmetic (a constant with more than one
    /// element there is a parameter; a scalar is a fixed constant such as 1/255).</summary>
    public static IReadOnlyList<int> AffineOperandSlots(Node node) =>
        node.IsOnnxDomain && node.OpType is "Add" or "Mul" ? BothOperands : None;

    /// <summary>The tensor of a Constant node with a tensor "value", else null.</summary>
    public static Tensor? ConstantTensor(Node? node) =>
        node is { IsOnnxDomain: true, OpType: "Constant" } && node.Attributes["value"] is { Kind: AttributeKind.Tensor } a ? a.AsTensor() : null;
}
