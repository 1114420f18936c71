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
public sealed class PrunedCostEstimator
{
    private readonly ChannelAnalysis _analysis;
    private readonly List<(long Macs, Carrier? In, Carrier? Out)> _layers = new();
    private readonly List<(long Elements, long[] Dims, List<ParamBinding> Bindings)> _tensors = new();

    public PrunedCostEstimator(ChannelAnalysis analysis, ModelCost baseline)
    {
        _analysis = analysis;
        Baseline = baseline;
        var ctx = analysis.Context;
        foreach (var c in baseline.Nodes)
        {
            if (c.Macs is not > 0) continue;
            var node = c.Node;
            var input = ctx.CarrierOf(node.Input(0));
            bool depthwise = node.OpType == "Conv" && node.Attributes.GetInt("group", 1) > 1 && ctx.ConstantOf(node.Input(1)) is { } w && w.Dims.Length > 1 && w.Dims[1] == 1;
            _layers.Add((c.Macs.Value, depthwise ? null : input, ctx.CarrierOf(node.Outputs[0])));
        }
        foreach (var slot in analysis.Bindings.GroupBy(b => (b.Node, b.InputIndex)))
        {
            var t = ctx.ConstantOf(slot.Key.Node.Inputs[slot.Key.InputIndex])!;
            if (!DataTypes.IsFloatingPoint(t.DataType)) continue;
            _tensors.Add((t.ElementCount, t.Dims, slot.ToList()));
        }
    }

    public ModelCost Baseline { get; }

    public (long Macs, long Params) Estimate(IReadOnlyCollection<int> removedRoots)
    {
        var removed = removedRoots as IReadOnlySet<int> ?? removedRoots.ToHashSet();
        double Fraction(int[] units)
        {
            if (units.Length == 0) return 1;
            int kept = 0;
            foreach (var u in units) if (u < 0 || !removed.Contains(_analysis.Root(u))) kept++;
            return (double)kept / units.Length;
        }
        double macs = Baseline.Macs - _layers.Sum(l => l.Macs);
        foreach (var (m, input, output) in _layers)
            macs += m * (input is null ? 1 : Fraction(input.Units)) * (output is null ? 1 : Fraction(output.Units));
        double parameters = Baseline.Params;
        foreach (var (elements, dims, bindings) in _tensors)
        {
            double kept = elements;
            foreach (var b in bindings) kept *= Fraction(b.IndexUnits);
            parameters -= elements - kept;
        }
        return ((long)Math.Round(macs), (long)Math.Round(parameters));
    }
}
