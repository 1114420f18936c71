namespace OnnxPrune.Autodiff;

/// <summary>The model cannot be turned into a training graph: an op or attribute combination
/// without a gradient rule, a shape that must be static and is not, a bad option.</summary>
internal class GradientException(string message) : Exception(message);

/// <summary>An operator on the path from a trainable parameter to the loss has no gradient rule.</summary>
internal sealed class NoGradientRuleException(string opType, string nodeName)
    : GradientException($"no gradient rule for {opType} (node {nodeName})")
{
    public string OpType { get; } = opType;
    public string NodeName { get; } = nodeName;
}
