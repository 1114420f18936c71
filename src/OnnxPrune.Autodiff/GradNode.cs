using OnnxPrune.IR;

namespace OnnxPrune.Autodiff;

/// <summary>
/// The forward operation a gradient rule differentiates: a node of the graph, or an operation
/// the builder lowered into several nodes for training (BatchNormalization on batch statistics),
/// whose <see cref="Outputs"/> are then the values standing in for the original outputs and whose
/// <see cref="Saved"/> values are intermediate results the rule reuses.
/// </summary>
internal sealed class GradNode
{
    private static readonly IReadOnlyDictionary<string, Value> NoSaved = new Dictionary<string, Value>();

    public GradNode(Node node, IReadOnlyList<Value>? outputs = null, IReadOnlyDictionary<string, Value>? saved = null)
    {
        Node = node;
        Inputs = node.Inputs.ToArray();
        Outputs = outputs ?? node.Outputs;
        Saved = saved ?? NoSaved;
    }

    public Node Node { get; }
    public string OpType => Node.OpType;
    public string Name => Node.Name.Length > 0 ? Node.Name : Node.Outputs.FirstOrDefault()?.Name ?? "";
    public AttributeMap Attributes => Node.Attributes;
    public IReadOnlyList<Value?> Inputs { get; }
    public IReadOnlyList<Value> Outputs { get; }
    public IReadOnlyDictionary<string, Value> Saved { get; }
    public bool IsLowered => Saved.Count > 0;

    public Value? Input(int i) => i < Inputs.Count ? Inputs[i] : null;

    public Value RequireInput(int i) => Input(i)
        ?? throw new GradientException($"{OpType} node '{Name}' has no input {i}");

    public override string ToString() => $"{OpType} '{Name}'";
}
