using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training;

/// <summary>
/// A NaN, infinite or exploding loss rolls the trainer back to its last good state with half the
/// learning rate; after the rollbacks allowed it gives up; a collapsed fine-tune is recognised.
/// Small CNN, 640 images, batches of 64: 10 steps an epoch.
/// </summary>
public class DivergenceTests
{
    private static readonly SessionSettings TwoThreads = new() { IntraOpThreads = 2 };

    private static TrainerOptions Options(Dataset train, double lr = 0.05, DivergenceOptions? divergence = null) => new()
    {
        Epochs = 1,
        BatchSize = 64,
        Seed = 1,
        Sgd = new SgdOptions(lr),
        Schedule = new ConstantSchedule(),
        Normalization = ChannelNormalization.Compute(train),
        Session = TwoThreads,
        EvaluateEveryEpoch = false,
        Divergence = divergence ?? new DivergenceOptions(),
    };

    private static bool AllFinite(Trainer t) => t.SnapshotParameters().Values.All(v => v.All(float.IsFinite));

    [Fact]
    public void An_injected_nan_rolls_back_to_the_last_snapshot_and_halves_the_rate()
    {
        var train = TrainingTestSupport.Train(640);
        using var trainer = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), Options(train, divergence: new DivergenceOptions(SnapshotEverySteps: 4)));
        bool injected = false;
        trainer.LossFault = (step, loss) =>
        {
            if (step != 5 || injected) return loss;
            injected = true;
            return double.NaN;
        };
        var seen = new List<TrainingRollback>();
        trainer.RolledBack += seen.Add;
        var rates = new List<double>();
        var history = trainer.Train(train, progress: p => rates.Add(p.LearningRate));

        seen.Should().ContainSingle();
        var r = seen[0];
        (r.Epoch, r.Batch, r.RestoredBatch, r.Rollback).Should().Be((1, 6, 4, 1), "step 6 diverged; the snapshot after step 4 is the last good state");
        r.Reason.Should().Contain("NaN");
        r.NewLearningRateFactor.Should().Be(0.5);
        trainer.Rollbacks.Should().Equal(seen);
        trainer.LearningRateFactor.Should().Be(0.5);
        trainer.Step.Should().Be(10, "the two undone steps are run again, every batch once");
        rates.Should().HaveCount(11, "steps 1-5 kept, step 6 undone with step 5, then steps 5-10");
        rates.Take(5).Should().AllSatisfy(x => x.Should().Be(0.05));
        rates.Skip(5).Should().AllSatisfy(x => x.Should().Be(0.025), "the rate is halved from the restored step on");
        history.Single().LearningRate.Should().Be(0.025);
        AllFinite(trainer).Should().BeTrue();
    }

    [Fact]
    public void A_checkpoint_keeps_the_halved_rate_and_the_rollbacks_used()
    {
        var train = TrainingTestSupport.Train(640);
        var options = Options(train);
        using var first = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), options);
        first.LossFault = (step, loss) => step == 2 && first.Rollbacks.Count == 0 ? double.NaN : loss;
        first.Train(train);
        var checkpoint = first.ToCheckpoint();

        using var resumed = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), options with { Epochs = 2 });
        resumed.Restore(checkpoint);
        resumed.LearningRateFactor.Should().Be(0.5);
        resumed.LossFault = (step, loss) => step >= 12 ? double.NaN : loss;
        var act = () => resumed.Train(train);
        act.Should().Throw<TrainingDivergedException>();
        resumed.Rollbacks.Should().HaveCount(3, "one of the four was used before the checkpoint");
        resumed.Rollbacks[^1].Rollback.Should().Be(4);
        resumed.LearningRateFactor.Should().Be(1.0 / 16);
    }

    [Fact]
    public void An_exploding_loss_counts_as_divergence()
    {
        var train = TrainingTestSupport.Train(640);
        using var trainer = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8),
            Options(train, divergence: new DivergenceOptions(Window: 5, MinimumHistory: 5, MinimumLoss: 0)));
        trainer.LossFault = (step, loss) => step == 7 && trainer.Rollbacks.Count == 0 ? loss * 1000 : loss;
        trainer.Train(train);
        trainer.Rollbacks.Should().ContainSingle().Which.Reason.Should().Contain("exploded");
        trainer.Rollbacks[0].RestoredBatch.Should().Be(0, "no snapshot within the epoch yet (every 50 steps)");
    }

    [Fact]
    public void It_gives_up_after_the_rollbacks_allowed_with_a_message_that_says_so()
    {
        var train = TrainingTestSupport.Train(640);
        using var trainer = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), Options(train));
        trainer.LossFault = (step, loss) => step >= 3 ? double.PositiveInfinity : loss;
        var act = () => trainer.Train(train);
        act.Should().Throw<TrainingDivergedException>().WithMessage("*Infinity*after 4 rollbacks*halved the learning rate*lower it*");
        trainer.Rollbacks.Should().HaveCount(4);
        trainer.LearningRateFactor.Should().Be(1.0 / 16);
    }

    /// <summary>No hook: a learning rate of 10^8 makes the real loss NaN (or infinite), and no halving
    /// brings it back.</summary>
    [Fact]
    public void A_real_nan_from_an_absurd_learning_rate_is_caught()
    {
        var train = TrainingTestSupport.Train(640);
        using var trainer = new Trainer(TrainingTestSupport.TinyCnn(seed: 1, c1: 8, c2: 8), Options(train, lr: 1e8));
        var act = () => trainer.Train(train);
        act.Should().Throw<TrainingDivergedException>();
        trainer.Rollbacks.Should().HaveCount(4);
    }

    [Fact]
    public void Collapse_is_more_than_five_points_below_the_accuracy_before()
    {
        var before = new EvaluationResult(0.93, 0.2, 1000, 0);
        FineTuning.HasCollapsed(before, before with { Accuracy = 0.10 }).Should().BeTrue();
        FineTuning.HasCollapsed(before, before with { Accuracy = 0.879 }).Should().BeTrue();
        FineTuning.HasCollapsed(before, before with { Accuracy = 0.881 }).Should().BeFalse("within the 5-point margin");
        FineTuning.HasCollapsed(before, before with { Accuracy = 0.95 }).Should().BeFalse();
    }
}
