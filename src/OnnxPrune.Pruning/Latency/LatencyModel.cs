using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;

namespace OnnxPrune.Pruning.Latency;

/// <summary>One layer's widths and isolated latency before and after a removal (for the report).</summary>
/// <param name="MsBefore">The layer's probe alone, uncalibrated.</param>
internal sealed record LayerLatency(string Node, string Op, string Signature, int InBefore, int OutBefore, int InAfter, int OutAfter,
    double MsBefore, double MsAfter);

/// <summary>
/// Predicts the whole model's latency after removing a unit set (METHODS.md §5): each counted
/// layer's widths follow from the units its input and output carry, exactly as in
/// <see cref="PrunedCostEstimator"/>; its isolated latency at those widths comes from the
/// <see cref="LatencyTable"/>; the per-layer sum is mapped to the model by a
/// <see cref="LatencyCalibration"/> anchored on the measured original, so
/// <c>Predict([])</c> is the measured original. A query is O(layers + units) once the table
/// holds the widths asked for; the first query of an unmeasured width pair measures it.
/// Layers the table cannot probe (see <see cref="Unmodelled"/>) count as part of the rest.
/// </summary>
internal sealed class LatencyModel : Policy.ILatencyPredictor
{
    private readonly LatencyTable _table;
    private readonly RemovalMask _mask;
    private readonly List<Layer> _layers;

    private sealed record Layer(LayerShape Shape, int[]? InUnits, int[]? OutUnits)
    {
        /// <summary>The table's answers for this layer, so a query is an array walk and a small dictionary lookup.</summary>
        public Dictionary<(int, int), double> Ms { get; } = new();
    }

    private LatencyModel(LatencyTable table, RemovalMask mask, List<Layer> layers, IReadOnlyList<string> unmodelled,
        double measuredOriginalMs, LatencyCalibration calibration)
    {
        _table = table;
        _mask = mask;
        _layers = layers;
        Unmodelled = unmodelled;
        MeasuredOriginalMs = measuredOriginalMs;
        Calibration = calibration;
        LayerSumOriginalMs = _layers.Sum(l => Ms(l, l.Shape.In, l.Shape.Out));
    }

    /// <param name="analysis">The analysis whose unit ids <see cref="Predict"/> is given.</param>
    /// <param name="baseline">The analysed model's cost: its counted layers are the ones modelled.</param>
    /// <param name="measuredOriginalMs">The whole original model measured on the table's settings and batch.</param>
    public static LatencyModel Build(ChannelAnalysis analysis, ModelCost baseline, LatencyTable table, double measuredOriginalMs,
        LatencyCalibration calibration = LatencyCalibration.Scale)
    {
        if (!double.IsFinite(measuredOriginalMs) || measuredOriginalMs <= 0)
            throw new ArgumentOutOfRangeException(nameof(measuredOriginalMs), measuredOriginalMs, "the original model's latency must be a positive number of milliseconds");
        var ctx = analysis.Context;
        var layers = new List<Layer>();
        var unmodelled = new List<string>();
        foreach (var cost in baseline.Nodes)
        {
            if (cost.Macs is not > 0) continue;
            var (shape, why) = LayerReader.Read(cost.Node, ctx, table.Batch);
            if (shape is null) { unmodelled.Add($"{cost.Node.Name} ({cost.Node.OpType}): {why}"); continue; }
            // The channel axis of a Conv's input is 1; Gemm and MatMul read features on the last axis.
            int inAxis = shape.Signature.Op == "Conv" ? 1 : ctx.RankOf(cost.Node.Input(0))!.Value - 1;
            int outAxis = shape.Signature.Op == "Conv" ? 1 : ctx.RankOf(cost.Node.Outputs[0]) is { } r ? r - 1 : -1;
            // A depthwise layer's width is its output's (its input follows it one to one).
            var input = shape.Signature.Kind == LayerKind.Depthwise ? null : UnitsOf(ctx.CarrierOf(cost.Node.Input(0)), inAxis, shape.In);
            layers.Add(new Layer(shape, input, UnitsOf(ctx.CarrierOf(cost.Node.Outputs[0]), outAxis, shape.Out)));
        }
        return new LatencyModel(table, new RemovalMask(analysis), layers, unmodelled, measuredOriginalMs, calibration);
    }

    /// <summary>The carrier's units when it carries the layer's channel axis at its full width; null
    /// (the width never changes) otherwise.</summary>
    private static int[]? UnitsOf(Carrier? carrier, int axis, int width) =>
        carrier is not null && carrier.Axis == axis && carrier.Length == width ? carrier.Units : null;

    public LatencyCalibration Calibration { get; }
    public double MeasuredOriginalMs { get; }
    /// <summary>Sum of the original layers' isolated latencies.</summary>
    public double LayerSumOriginalMs { get; }
    /// <summary>The prediction for the original model: the measured original, by construction.</summary>
    public double PredictedOriginalMs => Map(LayerSumOriginalMs);
    /// <summary>Layers modelled by the table.</summary>
    public int LayerCount => _layers.Count;
    /// <summary>Counted layers the table cannot probe, with the reason; their time is part of the rest.</summary>
    public IReadOnlyList<string> Unmodelled { get; }
    public LatencyTable Table => _table;

    /// <summary>Predicted whole-model milliseconds after removing <paramref name="removedRoots"/>
    /// (root unit ids, as <see cref="PrunedCostEstimator.Estimate"/> takes them).</summary>
    public double Predict(IReadOnlyCollection<int> removedRoots)
    {
        var removed = _mask.Removed(removedRoots);
        double sum = 0;
        foreach (var layer in _layers)
        {
            var (cin, cout) = Widths(layer, removed);
            sum += Ms(layer, cin, cout);
        }
        return Map(sum);
    }

    /// <summary>Every modelled layer's widths and isolated latency before and after the removal.</summary>
    public IReadOnlyList<LayerLatency> Layers(IReadOnlyCollection<int> removedRoots)
    {
        var removed = _mask.Removed(removedRoots);
        return _layers.Select(l =>
        {
            var (cin, cout) = Widths(l, removed);
            return new LayerLatency(l.Shape.Node.Name, l.Shape.Signature.Op, l.Shape.Signature.Key, l.Shape.In, l.Shape.Out, cin, cout,
                Ms(l, l.Shape.In, l.Shape.Out), Ms(l, cin, cout));
        }).ToList();
    }

    private double Map(double layerSum) => Calibration switch
    {
        LatencyCalibration.Offset => MeasuredOriginalMs - LayerSumOriginalMs + layerSum,
        _ => MeasuredOriginalMs * layerSum / LayerSumOriginalMs,
    };

    private static (int In, int Out) Widths(Layer layer, bool[] removed)
    {
        int cout = Kept(layer.OutUnits, layer.Shape.Out, removed);
        int cin = layer.Shape.Signature.Kind == LayerKind.Depthwise ? layer.Shape.Signature.DepthwiseInputs(cout) : Kept(layer.InUnits, layer.Shape.In, removed);
        return (cin, cout);
    }

    private static int Kept(int[]? units, int width, bool[] removed) => units is null ? width : RemovalMask.Kept(units, removed);

    private double Ms(Layer layer, int cin, int cout)
    {
        // A layer pruned to nothing costs nothing (the rewrite never does that, but a candidate set may).
        if (cin <= 0 || cout <= 0) return 0;
        if (!layer.Ms.TryGetValue((cin, cout), out var ms))
            layer.Ms[(cin, cout)] = ms = _table.Milliseconds(layer.Shape.Signature, cin, cout);
        return ms;
    }
}
