using System.Globalization;

namespace OnnxPrune.Training;

/// <summary>
/// When a training step counts as diverged, and what the trainer does then: it restores the last
/// good state (weights, momentum buffers and BatchNorm running statistics as they were at the start
/// of the epoch or at the last snapshot, taken every <see cref="SnapshotEverySteps"/> steps),
/// halves the learning rate for the rest of the run and goes on from there; after
/// <see cref="MaxRollbacks"/> rollbacks it gives up (<see cref="TrainingDivergedException"/>).
/// </summary>
/// <param name="MaxRollbacks">Rollbacks allowed in one run (4: the rate can fall to 1/16 of what was asked).</param>
/// <param name="ExplosionFactor">A finite loss above this many times the median of the last
/// <paramref name="Window"/> step losses counts as exploding (10: a batch of an ordinary run is
/// rarely more than a few times the median, a blow-up is orders of magnitude).</param>
/// <param name="Window">Step losses the median is taken over.</param>
/// <param name="MinimumHistory">Losses needed before the explosion check applies (the first steps
/// of a run move fast and say little about what is normal).</param>
/// <param name="MinimumLoss">A loss at or below this never counts as exploding: going from 0.01 to
/// 0.2 on one batch is noise, not divergence.</param>
/// <param name="SnapshotEverySteps">Steps between in-memory snapshots within an epoch, so a late
/// divergence does not throw away the whole epoch.</param>
internal sealed record DivergenceOptions(int MaxRollbacks = 4, double ExplosionFactor = 10, int Window = 50, int MinimumHistory = 20,
    double MinimumLoss = 1.0, int SnapshotEverySteps = 50)
{
    /// <exception cref="ArgumentException">A number is out of range.</exception>
    public void Validate()
    {
        if (MaxRollbacks < 0) throw new ArgumentException($"rollbacks allowed must not be negative, got {MaxRollbacks}");
        if (!(ExplosionFactor > 1)) throw new ArgumentException($"explosion factor must be above 1, got {ExplosionFactor}");
        if (Window < 1 || MinimumHistory < 1 || MinimumHistory > Window) throw new ArgumentException($"need 1 <= minimum history ({MinimumHistory}) <= window ({Window})");
        if (SnapshotEverySteps < 1) throw new ArgumentException($"snapshot interval must be at least 1 step, got {SnapshotEverySteps}");
    }
}

/// <summary>One rollback: where training diverged and where it went back to.</summary>
/// <param name="Epoch">1-based epoch of the diverged step.</param>
/// <param name="Batch">1-based batch of the diverged step within its epoch.</param>
/// <param name="Reason">What was wrong with the loss, in words.</param>
/// <param name="RestoredBatch">Batches of the epoch done in the restored state (0: its start).</param>
/// <param name="NewLearningRateFactor">The factor on the scheduled rate from now on (0.5 after the first rollback, ...).</param>
/// <param name="Rollback">1-based count of rollbacks so far.</param>
internal sealed record TrainingRollback(int Epoch, int Batch, string Reason, int RestoredBatch, double NewLearningRateFactor, int Rollback);

/// <summary>Decides whether a step's loss is a divergence; keeps the recent losses for the median.</summary>
internal sealed class DivergenceGuard(DivergenceOptions options)
{
    private readonly Queue<double> _recent = new();

    /// <summary>Why <paramref name="loss"/> counts as diverged, or null when it is fine.</summary>
    public string? Check(double loss)
    {
        if (!double.IsFinite(loss)) return $"the loss became {loss.ToString(CultureInfo.InvariantCulture)}";
        if (_recent.Count < options.MinimumHistory || loss <= options.MinimumLoss) return null;
        var median = Median();
        return loss > options.ExplosionFactor * median
            ? $"the loss {loss:0.####} exploded (over {options.ExplosionFactor:0.##}x the median {median:0.####} of the last {_recent.Count} steps)"
            : null;
    }

    /// <summary>Records the loss of a step that was kept.</summary>
    public void Accept(double loss)
    {
        _recent.Enqueue(loss);
        while (_recent.Count > options.Window) _recent.Dequeue();
    }

    private double Median()
    {
        var sorted = _recent.Order().ToArray();
        int n = sorted.Length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }
}
