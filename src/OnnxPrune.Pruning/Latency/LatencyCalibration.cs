namespace OnnxPrune.Pruning.Latency;

/// <summary>
/// How the sum of isolated-layer latencies maps to the whole model. Isolated probes pay costs the
/// model does not (reordering their input into ORT's blocked NCHWc layout and back, a session's
/// per-run overhead), and the model pays costs the probes do not (Add, pooling, the reorders at
/// its ends), so neither the sum nor the sum plus a constant is the model's latency.
/// </summary>
internal enum LatencyCalibration
{
    /// <summary>predicted = measured original × sum(pruned) / sum(original): every layer's share of
    /// the measured time scales with its probe. Wins when the probes' extra cost is proportional to
    /// the layers (the reorders grow with the widths).</summary>
    Scale,
    /// <summary>predicted = measured original − sum(original) + sum(pruned): the rest of the graph is
    /// a constant. Wins when the probes measure the layers' own cost and the rest does not shrink.</summary>
    Offset,
}
