namespace OnnxPrune.Pruning.Policy;

/// <summary>
/// Predicts the latency of the model that removing a set of units gives, without building it. The
/// planner asks it hundreds of times per plan; the pipeline supplies one built from per-layer
/// lookup tables measured in ONNX Runtime (Latency.LatencyModel), tests a synthetic one.
/// </summary>
internal interface ILatencyPredictor
{
    /// <summary>Milliseconds for the model with <paramref name="removedRoots"/> (root units of the plan's analysis) removed.</summary>
    double Predict(IReadOnlyCollection<int> removedRoots);
}
