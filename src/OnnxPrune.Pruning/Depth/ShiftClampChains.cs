using OnnxPrune.IR;
using OnnxPrune.IR.Passes;

namespace OnnxPrune.Pruning.Depth;

/// <summary>
/// Folds a chain of element-wise steps t -> max(t + a, b) (Add of a constant: b = -inf; Relu: a = 0, b = 0; Max
/// with a constant: a = 0) into at most one Add and one Max, exactly: max(max(t + a1, b1) + a2, b2) =
/// max(t + (a1 + a2), max(b1 + a2, b2)). Consecutive residual blocks removed whole leave such chains (x + c,
/// Relu, + c', Relu, ...), two small ops per block that cost ONNX Runtime as much as a narrow convolution; the
/// fold leaves two per run of removed blocks. ONNX Runtime's own optimizer does not merge them.
/// </summary>
internal static class ShiftClampChains
{
    /// <summary>Folds every chain of three or more steps; returns how many nodes went.</summary>
    public static int Run(Model model)
    {
        var graph = model.Graph;
        int removed = 0;
        foreach (var head in graph.Nodes.ToList())
        {
            if (Step(head) is not { } first) continue;
            // Only a chain's first step starts one: its input is not the single-use output of another step.
            if (head.Inputs[first.DataIndex]!.Producer is { } p && Step(p) is not null && SingleUse(p.Outputs[0])) continue;
            var chain = new List<(Node Node, StepInfo Info)> { (head, first) };
            while (SingleUse(chain[^1].Node.Outputs[0]) && chain[^1].Node.Outputs[0].Uses[0] is var use
                   && Step(use.Node) is { } next && next.DataIndex == use.InputIndex && Fits(chain, next))
                chain.Add((use.Node, next));
            if (chain.Count < 3 || chain[^1].Node.Outputs[0].IsGraphOutput) continue;
            removed += Fold(graph, chain);
        }
        if (removed > 0) new EliminateDeadCode().Run(model);
        return removed;
    }

    /// <summary>One step: which input carries the data, and its constant (shift for Add, floor for Max; null for Relu).</summary>
    private sealed record StepInfo(int DataIndex, Tensor? Constant, bool IsShift);

    private static StepInfo? Step(Node node)
    {
        if (!node.IsOnnxDomain || node.Outputs.Count != 1) return null;
        if (node.OpType == "Relu" && node.Inputs.Count == 1 && node.Inputs[0] is not null) return new StepInfo(0, null, false);
        if (node.OpType is not ("Add" or "Max") || node.Inputs.Count != 2) return null;
        for (int i = 0; i < 2; i++)
            if (node.Inputs[1 - i]?.ConstValue is { DataType: DataType.Float } c && node.Inputs[i] is { ConstValue: null })
                return new StepInfo(i, c, node.OpType == "Add");
        return null;
    }

    private static bool SingleUse(Value v) => v.Uses.Count == 1 && !v.IsGraphOutput;

    /// <summary>Every constant of a chain has one shape (or one element), so the fold needs no broadcasting of its own.</summary>
    private static bool Fits(List<(Node Node, StepInfo Info)> chain, StepInfo next)
    {
        if (next.Constant is not { } c || c.ElementCount == 1) return true;
        return chain.Select(x => x.Info.Constant).Where(t => t is not null && t.ElementCount > 1).All(t => t!.Dims.SequenceEqual(c.Dims));
    }

    private static int Fold(Graph graph, List<(Node Node, StepInfo Info)> chain)
    {
        var shape = chain.Select(x => x.Info.Constant).FirstOrDefault(t => t is not null && t.ElementCount > 1)?.Dims ?? [];
        long size = shape.Aggregate(1L, (n, d) => n * d);
        var shift = new float[size];
        var floor = Enumerable.Repeat(float.NegativeInfinity, (int)size).ToArray();
        foreach (var (_, info) in chain)
        {
            var c = info.Constant?.ToFloatArray();
            float At(int i) => c is null ? 0 : c.Length == 1 ? c[0] : c[i];
            for (int i = 0; i < size; i++)
            {
                if (info.IsShift) { shift[i] += At(i); floor[i] += At(i); }
                else floor[i] = Math.Max(floor[i], At(i));
            }
        }
        var first = chain[0].Node;
        var last = chain[^1].Node.Outputs[0];
        Value current = first.Inputs[chain[0].Info.DataIndex]!;
        int added = 0;
        Value Emit(string op, Value constant, string hint)
        {
            var node = new Node("", op, [current, constant], [graph.UniqueName(last.Name + hint)], [], graph.UniqueName(last.Name + hint + "_node"));
            graph.InsertNodeBefore(chain[^1].Node, node);
            node.Outputs[0].ElementType = DataType.Float;
            added++;
            return node.Outputs[0];
        }
        if (shift.Any(v => v != 0)) current = Emit("Add", graph.AddInitializer(last.Name + "_shift", DenseTensor.FromFloats(shape, shift)), "_shifted");
        if (floor.Any(v => !float.IsNegativeInfinity(v))) current = Emit("Max", graph.AddInitializer(last.Name + "_floor", DenseTensor.FromFloats(shape, floor)), "_clamped");
        if (added == 0) return 0; // the chain computes its input: leave it (rare, and its output's name must stay)
        current.Shape = last.Shape;
        last.ReplaceAllUsesWith(current);
        // The folded value keeps the chain's output name: later passes (the refit) find values by name.
        var name = last.Name;
        last.Name = graph.UniqueName(name + "_unfolded");
        current.Name = name;
        return chain.Count - added;
    }
}
