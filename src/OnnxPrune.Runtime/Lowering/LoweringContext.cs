using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;

namespace OnnxPrune.Runtime.Lowering;

/// <summary>
/// A graph being lowered onto the blocked-layout kernels and what is known of its values' types
/// and shapes. Nodes go in through <see cref="Insert"/> (or are announced with
/// <see cref="Inferred"/>), which runs their shape rules (the nchwc ones included), so the facts
/// stay current for the rewrites that follow without anyone recording shapes by hand.
/// </summary>
internal sealed class LoweringContext
{
    private readonly ShapeInferencer inferencer;

    public LoweringContext(Model model, int block)
    {
        Graph = model.Graph;
        Block = block;
        inferencer = new ShapeInferencer(new ShapeInferenceOptions { WriteToGraph = false, NchwcBlock = block });
        Info = inferencer.Run(model);
    }

    public Graph Graph { get; }

    /// <summary>The kernels' channel block.</summary>
    public int Block { get; }

    public ShapeInferenceResult Info { get; }

    /// <summary>Inserts <paramref name="node"/> before <paramref name="anchor"/> (after it with
    /// <paramref name="after"/>; first in the graph when the anchor is null) and infers it.</summary>
    public Value Insert(Node? anchor, Node node, bool after = false)
    {
        if (anchor is null) Graph.InsertNodeBefore(Graph.Nodes[0], node);
        else if (after) Graph.InsertNodeAfter(anchor, node);
        else Graph.InsertNodeBefore(anchor, node);
        inferencer.Extend(Info, [node]);
        return node.Outputs[0];
    }

    /// <summary>Infers nodes already inserted, producers first.</summary>
    public void Inferred(IEnumerable<Node> nodes) => inferencer.Extend(Info, nodes);

    public long[]? Dims(Value v) => Info.GetShape(v)?.TryGetSizes();
}
