namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// The adaptive threshold schedule of Zhao, Jain and Zhao's activation-attention pruning (METHODS.md §1), for the
/// accuracy-critical objective: the knob is the fraction of the original's MACs removed (normalised, so one step
/// means the same on any model). A round that keeps the accuracy budget is accepted and the next one tries
/// a step further; a round that breaks it goes back to the last accepted round and retries with the step
/// halved once more per failed retry (λ / 2^c). The schedule ends when the step falls below a floor.
/// </summary>
internal sealed class AdaptiveSchedule(double initialStep = 0.25, double floor = 0.02, double maxFraction = 0.95)
{
    private int _retries;

    /// <summary>The fraction of MACs removed by the last accepted round (0: the original).</summary>
    public double Accepted { get; private set; }

    public double Step { get; } = initialStep;

    /// <summary>The fraction the next round tries.</summary>
    public double Next => Math.Min(maxFraction, Accepted + Step / Math.Pow(2, _retries));

    /// <summary>No further round can make a step of at least the floor.</summary>
    public bool Done => Step / Math.Pow(2, _retries) < floor || Accepted >= maxFraction - 1e-9;

    public void Accept(double fraction)
    {
        Accepted = fraction;
        _retries = 0;
    }

    public void Reject() => _retries++;
}
