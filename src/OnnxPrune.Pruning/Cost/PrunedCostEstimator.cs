using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;

namespace OnnxPrune.Pruning.Cost;

/// <summary>
/// MACs and parameters of the model that removing a unit set would give, without rewriting it:
/// every counted layer's MACs scale with the kept fraction of its output channels and (except
/// depthwise layers, whose groups shrink instead) of its input channels; every bound tensor
/// shrinks along its bound axes. Exact for what <see cref="CostModel"/> counts, and O(layers +
/// bindings) per query, so allocation can search over thousands of candidate sets.
/// </summary>
internal sealed class PrunedCostEstimator
{
    private readonly ChannelAnalysis _analysis;
    private readonly RemovalMask _mask;
    private readonly List<(long Macs, Carrier? In, Carrier? Out)> _layers = new();
    /// <summary>Per bound tensor: its size, and per node input that reads it, the bindings there.</summary>
    private readonly List<(long Elements, List<List<ParamBinding>> Slots)> _tensors = new();

    public PrunedCostEstimator(ChannelAnalysis analysis, ModelCost baseline)
    {
        _analysis = analysis;
        Baseline = baseline;
        _mask = new RemovalMask(analysis);
        var ctx = analysis.Context;
        foreach (var c in baseline.Nodes)
        {
            if (c.Macs is not > 0) continue;
            var node = c.Node;
            var input = ctx.CarrierOf(node.Input(0));
            bool depthwise = node.OpType == "Conv" && node.Attributes.GetInt("group", 1) > 1 && ctx.ConstantOf(node.Input(1)) is { } w && w.Dims.Length > 1 && w.Dims[1] == 1;
            _layers.Add((c.Macs.Value, depthwise ? null : input, ctx.CarrierOf(node.Outputs[0])));
        }
        // A tensor read by several bound inputs (torch shares equal biases) gets one copy per input
        // that changes, as the rewrite does.
        foreach (var byValue in analysis.Bindings.GroupBy(b => b.Node.Inputs[b.InputIndex]!, ReferenceEqualityComparer.Instance))
        {
            var first = byValue.First();
            var t = ctx.ConstantOf(first.Node.Inputs[first.InputIndex])!;
            if (!DataTypes.IsFloatingPoint(t.DataType)) continue;
            _tensors.Add((t.ElementCount, byValue.GroupBy(b => (b.Node, b.InputIndex)).Select(g => g.ToList()).ToList()));
        }
    }

    public ModelCost Baseline { get; }

    public (long Macs, long Params) Estimate(IReadOnlyCollection<int> removedRoots)
    {
        // One pass over all units answers "removed?" for any unit id in O(1) below.
        var removed = _mask.Removed(removedRoots);
        double Fraction(int[] units) => units.Length == 0 ? 1 : (double)RemovalMask.Kept(units, removed) / units.Length;
        double macs = Baseline.Macs - _layers.Sum(l => l.Macs);
        foreach (var (m, input, output) in _layers)
            macs += m * (input is null ? 1 : Fraction(input.Units)) * (output is null ? 1 : Fraction(output.Units));
        double parameters = Baseline.Params;
        foreach (var (elements, slots) in _tensors)
        {
            bool originalStays = false;
            double copies = 0;
            foreach (var slot in slots)
            {
                double kept = elements;
                foreach (var b in slot) kept *= Fraction(b.IndexUnits);
                if (kept == elements) originalStays = true; else copies += kept;
            }
            parameters += copies - (originalStays ? 0 : elements);
        }
        return ((long)Math.Round(macs), (long)Math.Round(parameters));
    }
}
