namespace OnnxPrune.Tests.Pruning.Loop;

using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Loop;
using OnnxPrune.Pruning.Pipeline;

/// <summary>
/// The main job's loop on the bundled ResNet-20 with a stand-in for training whose accuracy is a known
/// function of the model's MACs, so the loop's decisions can be checked exactly: rounds toward fixed
/// objectives, the adaptive schedule under an accuracy budget, the size objective, and resuming.
/// </summary>
public class ObjectivePrunerTests
{
    private static byte[] ResNet20 => File.ReadAllBytes(Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));

    private static long Macs(Model model) => SteppedPruner.Baseline(model, new Dictionary<string, long[]>()).Macs;

    /// <summary>Fine-tuning changes nothing; held-out accuracy is 93% while at least <paramref name="keepAtLeast"/> of the MACs
    /// remain, and 80% below that.</summary>
    private sealed class StepAccuracy(long originalMacs, double keepAtLeast, Action<string>? onFineTune = null) : IRoundTrainer
    {
        public int Epochs { get; private set; }
        public List<string> Labels { get; } = [];

        public Model FineTune(Model model, int epochs, string label, CancellationToken cancel = default)
        {
            onFineTune?.Invoke(label);
            cancel.ThrowIfCancellationRequested();
            Epochs += epochs;
            Labels.Add(label);
            return OnnxModelFile.Copy(model);
        }

        public double Evaluate(Model model) => Macs(model) >= keepAtLeast * originalMacs ? 0.93 : 0.80;
    }

    private static ObjectiveOptions Options(TargetSpec target) => new()
    {
        Prune = new DataFreePruneOptions { Target = target },
        MeasureLatency = false,
    };

    [Fact]
    public void Rounds_approach_fixed_objectives_geometrically_and_meet_all_of_them()
    {
        var original = ResNet20;
        long macs0 = Macs(OnnxModelFile.FromBytes(original));
        var trainer = new StepAccuracy(macs0, 0);
        var options = Options(new TargetSpec.All([new TargetSpec.Flops("50%"), new TargetSpec.Params("60%")])) with { Rounds = 2, FinetuneEpochs = 1, FinalEpochs = 2 };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, trainer);

        result.TargetMet.Should().BeTrue(result.Shortfall);
        result.Rounds.Select(r => r.Round).Should().Equal(1, 2);
        result.Rounds.Should().OnlyContain(r => r.Accepted);
        // Round 1 of 2 aims at sqrt(0.5) of the MACs: within the 2-point tolerance of the width rounding, below it.
        ((double)result.Rounds[0].Macs / macs0).Should().BeLessThanOrEqualTo(Math.Sqrt(0.5)).And.BeGreaterThan(0.5);
        result.Pruning.MacsAfter.Should().BeLessThanOrEqualTo(macs0 / 2);
        result.Pruning.MacsBefore.Should().Be(macs0, "the report compares with the original, not with the last round's input");
        result.Pruning.Groups.Should().Contain(g => g.ChannelsBefore > g.ChannelsAfter);
        trainer.Labels.Should().Equal("round 1", "final");
        result.EpochsUsed.Should().Be(3, "one epoch after round 1 (not after the last round) and two at the end");
        Macs(OnnxModelFile.FromBytes(result.Bytes)).Should().Be(result.Pruning.MacsAfter);
    }

    [Fact]
    public void Only_an_accuracy_budget_removes_as_much_as_it_allows()
    {
        var original = ResNet20;
        long macs0 = Macs(OnnxModelFile.FromBytes(original));
        var trainer = new StepAccuracy(macs0, 0.55);
        var options = Options(new TargetSpec.All([])) with { MaxAccuracyDrop = 0.5, Rounds = 8 };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, trainer);

        result.TargetMet.Should().BeTrue(result.Shortfall);
        result.AccuracyBefore.Should().Be(93);
        result.AccuracyAfter.Should().Be(93);
        double kept = (double)Macs(OnnxModelFile.FromBytes(result.Bytes)) / macs0;
        kept.Should().BeGreaterThanOrEqualTo(0.55, "a model below 55% of the MACs loses 13 points");
        kept.Should().BeLessThan(0.75, "the first step (25% of the MACs) is kept, and later ones go closer to the edge");
        result.Rounds.Should().Contain(r => !r.Accepted, "a step past the edge is rejected and retried smaller");
        result.Rounds.Where(r => r.Accepted).Select(r => r.Macs).Should().BeInDescendingOrder();
    }

    [Fact]
    public void Rounds_that_miss_their_target_or_plan_an_earlier_rounds_model_again_are_not_fine_tuned()
    {
        var original = ResNet20;
        long macs0 = Macs(OnnxModelFile.FromBytes(original));
        var trainer = new StepAccuracy(macs0, 0.55);
        var options = Options(new TargetSpec.All([])) with { MaxAccuracyDrop = 0.5, Rounds = 8, FinetuneEpochs = 1 };
        // Widths in multiples of 16 leave ResNet-20 few models to choose from: the halving steps land on one already tried,
        // or miss their target.
        options = options with { Prune = options.Prune with { Constraints = new OnnxPrune.Pruning.Policy.GroupConstraints { RoundTo = 16, SmallStep = 16 } } };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, trainer);

        var repeats = result.Rounds.Where(r => r.Note.Contains("the model of round")).ToList();
        repeats.Should().NotBeEmpty();
        foreach (var repeat in repeats)
        {
            int twin = int.Parse(System.Text.RegularExpressions.Regex.Match(repeat.Note, @"the model of round (\d+)").Groups[1].Value);
            var earlier = result.Rounds.Single(r => r.Round == twin);
            (repeat.Macs, repeat.Params, repeat.Accuracy).Should().Be((earlier.Macs, earlier.Params, earlier.Accuracy));
            earlier.Epochs.Should().Be(1);
            repeat.Epochs.Should().Be(0);
            repeat.Accepted.Should().BeFalse();
        }
        var unmet = result.Rounds.Where(r => r.Note.StartsWith("rejected: the closest reachable model", StringComparison.Ordinal)).ToList();
        unmet.Should().NotBeEmpty();
        unmet.Should().OnlyContain(r => r.Epochs == 0 && r.Accuracy == null, "a plan that misses its target is rejected before fine-tuning");
        trainer.Labels.Should().HaveCount(result.Rounds.Count(r => r.Epochs > 0), "only rounds with a new model that meets its target are fine-tuned");
        result.EpochsUsed.Should().Be(result.Rounds.Sum(r => r.Epochs));
    }

    [Fact]
    public void When_no_round_keeps_the_budget_the_original_is_returned_under_the_rounds_criterion()
    {
        var original = ResNet20;
        long macs0 = Macs(OnnxModelFile.FromBytes(original));
        var trainer = new StepAccuracy(macs0, 1.0); // every pruned model loses 13 points
        var options = Options(new TargetSpec.All([])) with { MaxAccuracyDrop = 0.5, Rounds = 3 };
        options = options with { Prune = options.Prune with { Criterion = "fpgm" } };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, trainer);

        result.Rounds.Should().HaveCount(3).And.OnlyContain(r => !r.Accepted);
        result.Notes.Should().Contain("no round kept the accuracy budget: the model is returned unpruned");
        (result.Pruning.MacsAfter, result.Pruning.MacsBefore).Should().Be((macs0, macs0));
        result.Pruning.Criterion.Should().Be("fpgm", "the report names what the rounds scored with");
    }

    [Fact]
    public void A_size_objective_is_met_in_bytes_of_the_written_model()
    {
        var original = ResNet20;
        long maxBytes = original.LongLength * 6 / 10;
        var options = Options(new TargetSpec.All([])) with { MaxSizeBytes = maxBytes };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, null);
        result.TargetMet.Should().BeTrue(result.Shortfall);
        result.Bytes.LongLength.Should().BeLessThanOrEqualTo(maxBytes);
        result.Bytes.LongLength.Should().BeGreaterThan(maxBytes / 2, "no more than the size asks for is removed");
    }

    [Fact]
    public void A_run_resumes_after_its_last_saved_round_and_refuses_another_runs_folder()
    {
        using var folder = TestData.NewTempFolder();
        var original = ResNet20;
        var options = Options(new TargetSpec.Flops("50%")) with { Rounds = 3, CheckpointDirectory = folder.Path };
        var first = ObjectivePruner.Run(original, null, "resnet20", options, null);
        File.Exists(Path.Combine(folder.Path, "round-3.onnx")).Should().BeTrue();
        File.Exists(Path.Combine(folder.Path, "state.json")).Should().BeTrue();
        Directory.GetFiles(folder.Path, "*.tmp").Should().BeEmpty();

        // A stopped run: only round 1 was saved. The resumed run redoes rounds 2 and 3 and lands on the same model.
        File.Delete(Path.Combine(folder.Path, "round-2.onnx"));
        File.Delete(Path.Combine(folder.Path, "round-3.onnx"));
        var statePath = Path.Combine(folder.Path, "state.json");
        var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(statePath))!;
        state["round"] = 1;
        state["model"] = "round-1.onnx";
        File.WriteAllText(statePath, state.ToJsonString());
        var resumed = ObjectivePruner.Run(original, null, "resnet20", options, null);
        resumed.Notes.Should().Contain(n => n.Contains("resumed") && n.Contains("after round 1"));
        resumed.Rounds.Select(r => r.Round).Should().Equal(1, 2, 3);
        resumed.Bytes.Should().Equal(first.Bytes, "pruning is deterministic, so resuming gives the same model");

        var other = () => ObjectivePruner.Run(original, null, "resnet20", options with { Rounds = 2 }, null);
        other.Should().Throw<PruneInputException>().WithMessage("*other objectives or settings*");
    }

    [Fact]
    public void Ctrl_C_keeps_the_last_accepted_round()
    {
        var original = ResNet20;
        long macs0 = Macs(OnnxModelFile.FromBytes(original));
        using var cancel = new CancellationTokenSource();
        // Ctrl-C arrives while round 2 fine-tunes: round 1 (fine-tuned) is what the run keeps.
        var trainer = new StepAccuracy(macs0, 0, label => { if (label == "round 2") cancel.Cancel(); });
        var options = Options(new TargetSpec.Flops("40%")) with { Rounds = 3, FinetuneEpochs = 1, FinalEpochs = 1 };
        var result = ObjectivePruner.Run(original, null, "resnet20", options, trainer, cancel.Token);

        result.Cancelled.Should().BeTrue();
        result.TargetMet.Should().BeFalse();
        result.Shortfall.Should().Contain("Ctrl-C");
        result.Rounds.Where(r => r.Accepted).Select(r => r.Round).Should().Equal(1);
        trainer.Labels.Should().Equal("round 1");
        var kept = (double)Macs(OnnxModelFile.FromBytes(result.Bytes)) / macs0;
        kept.Should().BeApproximately(Math.Pow(0.4, 1.0 / 3), 0.05, "round 1 of 3 aims at 0.4^(1/3) of the MACs");
    }

    [Fact]
    public void The_adaptive_schedule_steps_on_after_a_kept_round_and_halves_after_each_miss()
    {
        var schedule = new AdaptiveSchedule(initialStep: 0.2, floor: 0.04);
        schedule.Next.Should().BeApproximately(0.2, 1e-12);
        schedule.Accept(0.2);
        schedule.Next.Should().BeApproximately(0.4, 1e-12);
        schedule.Reject();
        schedule.Next.Should().BeApproximately(0.3, 1e-12);
        schedule.Reject();
        schedule.Next.Should().BeApproximately(0.25, 1e-12);
        schedule.Done.Should().BeFalse();
        schedule.Accept(0.25);
        schedule.Next.Should().BeApproximately(0.45, 1e-12, "a kept round restores the full step");
        schedule.Reject();
        schedule.Reject();
        schedule.Reject();
        schedule.Done.Should().BeTrue("0.2 / 8 is below the floor 0.04");
    }

    [Theory]
    [InlineData("5ms", 5.0, null)]
    [InlineData("0.8 ms", 0.8, null)]
    [InlineData("1.5s", 1500.0, null)]
    [InlineData("50%", null, 0.5)]
    [InlineData("0.6", null, 0.6)]
    public void Latency_targets_read_as_milliseconds_or_a_share_of_the_original(string text, double? ms, double? fraction)
    {
        var (m, f) = ObjectivePruner.ParseLatency(text);
        m.Should().Be(ms);
        f.Should().Be(fraction);
    }

    [Theory]
    [InlineData("120%")]
    [InlineData("fast")]
    [InlineData("-3ms")]
    [InlineData("0ms")]
    public void Bad_latency_targets_say_what_to_write(string text)
    {
        var parse = () => ObjectivePruner.ParseLatency(text);
        parse.Should().Throw<PruneInputException>().WithMessage($"*'{text}'*5ms*50%*");
    }
}
