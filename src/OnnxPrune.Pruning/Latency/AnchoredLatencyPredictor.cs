namespace OnnxPrune.Pruning.Latency;

/// <summary>
/// A latency prediction corrected by one measured pruning of the same model: the line through the
/// unpruned model (predicted = measured by construction) and the measured attempt maps the inner
/// prediction to the machine's. Why: the per-layer tables see the layers alone, so the saving they
/// predict is off by a factor that depends on the model (the rest of the graph, ORT's layout reorders
/// between layers) but varies slowly with how much is removed; one measurement near the goal measures
/// that factor, and the next plan is made with it instead of being nudged by a budget scale.
/// </summary>
internal sealed class AnchoredLatencyPredictor : Policy.ILatencyPredictor
{
    /// <summary>Below this predicted saving (a share of the unpruned time) one measurement's noise decides the slope: no anchor.</summary>
    public const double MinPredictedSaving = 0.05;
    /// <summary>The most a measurement may stretch or shrink the predicted saving (a noisy or odd measurement is not trusted further).</summary>
    public const double MaxSlope = 3;

    private readonly Policy.ILatencyPredictor _inner;

    private AnchoredLatencyPredictor(Policy.ILatencyPredictor inner, double unprunedMs, double slope)
    {
        _inner = inner;
        UnprunedMs = unprunedMs;
        Slope = slope;
    }

    /// <summary>The unpruned model's milliseconds, which the inner predictor predicts for no removal.</summary>
    public double UnprunedMs { get; }
    /// <summary>Measured saving / inner predicted saving at the anchor.</summary>
    public double Slope { get; }

    /// <summary>The slope the anchor (the inner predictor's <paramref name="innerPredictedMs"/> for an attempt that
    /// measured <paramref name="measuredMs"/>) gives, or null when it is not trustworthy: the predicted saving is too
    /// small for a measurement to scale, or the attempt measured no saving at all.</summary>
    public static double? SlopeOf(double unprunedMs, double innerPredictedMs, double measuredMs)
    {
        double predictedSaving = unprunedMs - innerPredictedMs, measuredSaving = unprunedMs - measuredMs;
        if (!(predictedSaving >= MinPredictedSaving * unprunedMs) || !(measuredSaving > 0)) return null;
        return Math.Clamp(measuredSaving / predictedSaving, 1 / MaxSlope, MaxSlope);
    }

    /// <summary><paramref name="inner"/> with its saving scaled by <paramref name="slope"/>; <paramref name="inner"/> itself without one.</summary>
    public static Policy.ILatencyPredictor Wrap(Policy.ILatencyPredictor inner, double unprunedMs, double? slope) =>
        slope is { } s ? new AnchoredLatencyPredictor(inner, unprunedMs, s) : inner;

    public double Predict(IReadOnlyCollection<int> removedRoots) => UnprunedMs - Slope * (UnprunedMs - _inner.Predict(removedRoots));

    /// <summary>The inner predictor's value behind <paramref name="predictedMs"/>, which a wrap with <paramref name="slope"/> predicted
    /// (the next anchor is fitted on the inner model, not on the previous correction).</summary>
    public static double Unanchored(double predictedMs, double unprunedMs, double? slope) =>
        slope is { } k ? unprunedMs - (unprunedMs - predictedMs) / k : predictedMs;
}
