using System.Globalization;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>The trainer's answer to divergence: in-memory snapshots of the state and the rollback to them.</summary>
internal sealed partial class Trainer
{
    private readonly List<TrainingRollback> _rollbacks = [];

    /// <summary>Raised after every rollback, before training goes on (the CLI prints a line).</summary>
    public event Action<TrainingRollback>? RolledBack;

    /// <summary>Rollbacks this trainer has taken (not those of the run a restored checkpoint came from).</summary>
    public IReadOnlyList<TrainingRollback> Rollbacks => _rollbacks;

    /// <summary>Rollbacks of a restored checkpoint's run: they count against <see cref="DivergenceOptions.MaxRollbacks"/>.</summary>
    private int _earlierRollbacks;

    private int TotalRollbacks => _earlierRollbacks + _rollbacks.Count;

    /// <summary>Factor on the scheduled learning rate: 1, halved by every rollback.</summary>
    public double LearningRateFactor { get; private set; } = 1;

    /// <summary>Test hook: replaces each step's loss, given (step, loss), before the divergence
    /// check, so tests can inject a NaN at a chosen step.</summary>
    internal Func<long, double, double>? LossFault { get; set; }

    /// <summary>Sums over the steps of an epoch so far.</summary>
    private readonly record struct EpochTally(int Batch, double LossSum, long Correct, long Seen)
    {
        public EpochTally Add(double loss, long correct, int images) => new(Batch + 1, LossSum + loss, Correct + correct, Seen + images);
    }

    /// <summary>Copies of the weights, momentum buffers and running statistics, and where in the epoch they were taken.
    /// The arrays are allocated once and overwritten by every capture.</summary>
    private sealed class TrainingSnapshot(Parameter[] parameters, RunningStatistic[] statistics)
    {
        private readonly float[][] _values = parameters.Select(p => new float[p.Values.Length]).ToArray();
        private readonly float[][] _velocities = parameters.Select(p => new float[p.Velocity.Length]).ToArray();
        private readonly float[][] _means = statistics.Select(s => new float[s.Mean.Length]).ToArray();
        private readonly float[][] _variances = statistics.Select(s => new float[s.Variance.Length]).ToArray();

        public long Step { get; private set; }
        public EpochTally Tally { get; private set; }

        public void Capture(long step, EpochTally tally)
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                parameters[i].Values.CopyTo(_values[i], 0);
                parameters[i].Velocity.CopyTo(_velocities[i], 0);
            }
            for (int i = 0; i < statistics.Length; i++)
            {
                statistics[i].Mean.CopyTo(_means[i], 0);
                statistics[i].Variance.CopyTo(_variances[i], 0);
            }
            Step = step;
            Tally = tally;
        }

        public void Restore()
        {
            for (int i = 0; i < parameters.Length; i++)
            {
                _values[i].CopyTo(parameters[i].Values, 0);
                _velocities[i].CopyTo(parameters[i].Velocity, 0);
            }
            for (int i = 0; i < statistics.Length; i++)
            {
                _means[i].CopyTo(statistics[i].Mean, 0);
                _variances[i].CopyTo(statistics[i].Variance, 0);
            }
        }
    }

    private const string RateFactorKey = "learning_rate_factor", RollbacksKey = "rollbacks";

    /// <summary>The checkpoint's metadata: <paramref name="metadata"/> plus the rate factor and the
    /// rollback count, so that a resumed run goes on at the halved rate with the rollbacks left.</summary>
    private Dictionary<string, string> WithRollbackState(Dictionary<string, string> metadata) => new(metadata, StringComparer.Ordinal)
    {
        [RateFactorKey] = LearningRateFactor.ToString("R", CultureInfo.InvariantCulture),
        [RollbacksKey] = TotalRollbacks.ToString(CultureInfo.InvariantCulture),
    };

    /// <summary>Takes the rate factor or rollback count from a checkpoint's metadata entry; false for other entries.</summary>
    private bool RestoreRollbackState(string key, string value)
    {
        switch (key)
        {
            case RateFactorKey when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var factor) && factor is > 0 and <= 1:
                LearningRateFactor = factor;
                return true;
            case RollbacksKey when int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var count) && count >= 0:
                _earlierRollbacks = count;
                return true;
            default:
                return key is RateFactorKey or RollbacksKey;
        }
    }

    /// <summary>Undoes the diverged step and those since <paramref name="good"/>: restores its state, replays the
    /// epoch's batch order up to it, halves the rate. Gives up after <see cref="DivergenceOptions.MaxRollbacks"/>.</summary>
    /// <exception cref="TrainingDivergedException">No rollback is left.</exception>
    private void RollBack(TrainingSnapshot good, string reason, int epoch, int batch, double rate, BatchIterator batches, ref EpochTally tally)
    {
        var limit = Options.Divergence.MaxRollbacks;
        if (TotalRollbacks >= limit)
            throw new TrainingDivergedException(
                $"{reason} at epoch {epoch + 1}, step {batch} (learning rate {rate.ToString("G4", CultureInfo.InvariantCulture)}), " +
                (limit == 0 ? "and rolling back is off" : $"after {limit} rollback{(limit == 1 ? "" : "s")} that each halved the learning rate") +
                ": training diverges at this learning rate; lower it");
        good.Restore();
        Step = good.Step;
        tally = good.Tally;
        batches.StartEpoch(epoch);
        for (int i = 0; i < tally.Batch; i++) batches.Next(_images, _labels); // the same order and augmentation draws as before
        LearningRateFactor /= 2;
        var rollback = new TrainingRollback(epoch + 1, batch, reason, tally.Batch, LearningRateFactor, TotalRollbacks + 1);
        _rollbacks.Add(rollback);
        RolledBack?.Invoke(rollback);
    }
}
