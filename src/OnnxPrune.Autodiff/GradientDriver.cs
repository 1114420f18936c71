using OnnxPrune.IR;

namespace OnnxPrune.Autodiff;

/// <summary>
/// Reverse-mode differentiation of a graph: marks the values that depend on the sources, walks
/// the nodes in reverse topological order, sums each value's gradient contributions (fan-out) and
/// asks the rule of each node's operator for its inputs' gradients. Broadcast reduction is the
/// rules' job (<see cref="GradientContext.ReduceToShapeOf"/>).
/// </summary>
internal static class GradientDriver
{
    /// <param name="sources">Values whose gradients are wanted (parameters, requested values).</param>
    /// <param name="lowered">Nodes that end an operation the builder lowered, with the rule's view of it.</param>
    /// <returns>The gradient of the loss for each source that the loss depends on.</returns>
    public static Dictionary<Value, Value> Run(GradientContext ctx, Value loss, IReadOnlyCollection<Value> sources,
        IReadOnlyDictionary<Node, GradNode> lowered)
    {
        var nodes = ctx.Graph.Nodes.ToArray();
        var requires = new HashSet<Value>(sources, ReferenceEqualityComparer.Instance);
        foreach (var node in nodes)
        {
            if (!node.Inputs.Any(i => i is not null && requires.Contains(i))) continue;
            foreach (var o in node.Outputs)
                if (o.Name.Length > 0 && GradientContext.IsFloating(ctx.TypeOf(o))) requires.Add(o);
        }
        ctx.SetRequiresGradient(requires);

        var pending = new Dictionary<Value, List<Value>>(ReferenceEqualityComparer.Instance);
        var totals = new Dictionary<Value, Value?>(ReferenceEqualityComparer.Instance);
        if (requires.Contains(loss))
        {
            ctx.Scope = "grad/seed";
            var lossShape = ctx.ShapeOf(loss);
            Value one = ctx.Scalar(1, ctx.TypeOf(loss));
            if (lossShape is null || lossShape.Rank != 0) one = ctx.Op("Expand", [one, ctx.ShapeTensor(loss)]);
            pending[loss] = new List<Value> { one };
        }

        Value? Total(Value v)
        {
            if (totals.TryGetValue(v, out var known)) return known;
            Value? sum = null;
            if (pending.Remove(v, out var parts)) sum = ctx.SumOf(parts);
            totals[v] = sum;
            return sum;
        }

        for (int n = nodes.Length - 1; n >= 0; n--)
        {
            var node = nodes[n];
            var view = lowered.TryGetValue(node, out var l) ? l : null;
            var outputs = view?.Outputs ?? node.Outputs;
            var outputGradients = new Value?[outputs.Count];
            bool any = false;
            for (int k = 0; k < outputs.Count; k++)
            {
                if (outputs[k].Name.Length == 0) continue;
                outputGradients[k] = Total(outputs[k]);
                any |= outputGradients[k] is not null;
            }
            if (!any) continue;
            view ??= new GradNode(node);
            if (!view.Inputs.Any(ctx.NeedsGradient)) continue;
            if (!view.Node.IsOnnxDomain || !GradientRules.Table.TryGetValue(view.OpType, out var rule))
                throw new NoGradientRuleException(view.Node.IsOnnxDomain ? view.OpType : $"{view.Node.Domain}.{view.OpType}", view.Name);
            ctx.Scope = $"grad/{view.Name}";
            var inputGradients = rule.Backward(ctx, view, outputGradients);
            for (int i = 0; i < view.Inputs.Count; i++)
            {
                if (inputGradients[i] is not { } g || view.Inputs[i] is not { } input || !ctx.NeedsGradient(input)) continue;
                if (!pending.TryGetValue(input, out var list)) pending[input] = list = new List<Value>();
                list.Add(g);
            }
        }

        var result = new Dictionary<Value, Value>(ReferenceEqualityComparer.Instance);
        ctx.Scope = "grad/sum";
        foreach (var s in sources)
            if (Total(s) is { } g) result[s] = g;
        return result;
    }
}
