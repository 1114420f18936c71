namespace OnnxPrune.Pruning.Latency;

/// <summary>One measured pruning of a model: the saving the per-layer tables predicted for it and the saving
/// measured, both as shares of the unpruned model's time.</summary>
internal readonly record struct LatencyAnchor(double PredictedSaving, double MeasuredSaving);

/// <summary>
/// A latency prediction corrected by the measured prunings of the same model: the tables' predicted
/// saving is mapped to the machine's by the piecewise-linear curve through the unpruned model (no
/// saving) and every measured attempt, in order of predicted saving. Why: the per-layer tables see the
/// layers alone, so the saving they predict is off by a factor that depends on the model (the rest of
/// the graph, ORT's layout reorders between layers, kernels that change with the widths) and on how
/// much is removed; measured attempts pin that curve down where the search is, and the next plan is
/// made on it (a regula falsi on the measured latency) instead of being nudged by a budget scale.
/// </summary>
internal sealed class AnchoredLatencyPredictor : Policy.ILatencyPredictor
{
    /// <summary>Beyond the last anchor the saving grows with that anchor's measured / predicted ratio, at most this
    /// many times the predicted (or that share of it): one noisy or odd measurement is not trusted further.</summary>
    public const double MaxRatio = 3;

    private readonly Policy.ILatencyPredictor _inner;
    private readonly LatencyAnchor[] _curve;

    private AnchoredLatencyPredictor(Policy.ILatencyPredictor inner, double unprunedMs, LatencyAnchor[] curve)
    {
        _inner = inner;
        UnprunedMs = unprunedMs;
        _curve = curve;
    }

    /// <summary>The unpruned model's milliseconds, which the inner predictor predicts for no removal.</summary>
    public double UnprunedMs { get; }

    /// <summary><paramref name="inner"/> corrected by <paramref name="anchors"/>; <paramref name="inner"/> itself when none
    /// predicted a saving.</summary>
    public static Policy.ILatencyPredictor Wrap(Policy.ILatencyPredictor inner, double unprunedMs, IReadOnlyCollection<LatencyAnchor> anchors)
    {
        // The curve starts at no saving and never falls: an attempt that removed more but measured less saving is noise
        // or a kernel change the curve cannot express, so it counts as saving what the one before it saved.
        var curve = new List<LatencyAnchor> { new(0, 0) };
        foreach (var a in anchors.Where(a => a.PredictedSaving > 1e-9 && double.IsFinite(a.MeasuredSaving)).OrderBy(a => a.PredictedSaving))
            curve.Add(a with { MeasuredSaving = Math.Max(curve[^1].MeasuredSaving, Math.Min(a.MeasuredSaving, 1)) });
        return curve.Count == 1 ? inner : new AnchoredLatencyPredictor(inner, unprunedMs, curve.ToArray());
    }

    public double Predict(IReadOnlyCollection<int> removedRoots) => UnprunedMs * (1 - MeasuredSaving(1 - _inner.Predict(removedRoots) / UnprunedMs));

    /// <summary>The saving the curve gives for the tables' predicted <paramref name="predicted"/> (shares of the unpruned time).</summary>
    public double MeasuredSaving(double predicted)
    {
        if (predicted <= 0) return predicted;
        for (int i = 1; i < _curve.Length; i++)
        {
            var (lo, hi) = (_curve[i - 1], _curve[i]);
            if (predicted <= hi.PredictedSaving)
                return lo.MeasuredSaving + (predicted - lo.PredictedSaving) * (hi.MeasuredSaving - lo.MeasuredSaving) / (hi.PredictedSaving - lo.PredictedSaving);
        }
        var last = _curve[^1];
        double ratio = Math.Clamp(last.MeasuredSaving / last.PredictedSaving, 1 / MaxRatio, MaxRatio);
        return last.MeasuredSaving + (predicted - last.PredictedSaving) * ratio;
    }
}
