using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training;

public class OptimizerAndScheduleTests
{
    /// <summary>torch.optim.SGD's update written out in double, step by step.</summary>
    private static void Reference(double[] w, double[] v, double[] grad, double lr, double momentum, bool nesterov, double decay)
    {
        for (var i = 0; i < w.Length; i++)
        {
            var g = grad[i] + decay * w[i];
            if (momentum != 0)
            {
                v[i] = momentum * v[i] + g;
                g = nesterov ? g + momentum * v[i] : v[i];
            }
            w[i] -= lr * g;
        }
    }

    [Theory]
    [InlineData(0.9, false, 0.0)]
    [InlineData(0.9, true, 0.0)]
    [InlineData(0.9, false, 0.05)]
    [InlineData(0.9, true, 0.05)]
    [InlineData(0.0, false, 0.05)]
    public void Sgd_step_matches_torch_optim_sgd(double momentum, bool nesterov, double decay)
    {
        var random = new Random(4);
        const int n = 37; // not a multiple of the vector width
        var w = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
        var v = new float[n];
        var rw = w.Select(x => (double)x).ToArray();
        var rv = new double[n];
        for (var step = 0; step < 4; step++)
        {
            var grad = Enumerable.Range(0, n).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var rg = grad.Select(x => (double)x).ToArray();
            Sgd.Step(w, grad, v, 0.1f, (float)momentum, nesterov, (float)decay);
            Reference(rw, rv, rg, 0.1, momentum, nesterov, decay);
        }
        for (var i = 0; i < n; i++) ((double)w[i]).Should().BeApproximately(rw[i], 1e-6);
    }

    [Fact]
    public void Cosine_schedule_warms_up_then_decays_to_zero()
    {
        var plain = new CosineSchedule();
        plain.Factor(0, 10, 4).Should().Be(1);
        plain.Factor(20, 10, 4).Should().BeApproximately(0.5, 1e-12);
        plain.Factor(39, 10, 4).Should().BeApproximately(0.5 * (1 + Math.Cos(Math.PI * 39 / 40)), 1e-12);
        var warm = new CosineSchedule(WarmupEpochs: 1);
        warm.Factor(0, 10, 4).Should().BeApproximately(0.1, 1e-12);
        warm.Factor(9, 10, 4).Should().BeApproximately(1.0, 1e-12);
        warm.Factor(10, 10, 4).Should().Be(1);
        warm.Factor(25, 10, 4).Should().BeApproximately(0.5, 1e-12);
    }

    [Fact]
    public void Step_schedule_divides_by_ten_at_half_and_three_quarters()
    {
        var s = new StepSchedule();
        s.Factor(0, 10, 8).Should().Be(1);
        s.Factor(39, 10, 8).Should().Be(1);
        s.Factor(40, 10, 8).Should().BeApproximately(0.1, 1e-15);
        s.Factor(60, 10, 8).Should().BeApproximately(0.01, 1e-15);
    }

    [Theory]
    [InlineData("cosine")]
    [InlineData("cosine:warmup=2")]
    [InlineData("constant")]
    [InlineData("step:milestones=0.5/0.75,gamma=0.1")]
    [InlineData("step:milestones=0.3,gamma=0.2")]
    public void Schedules_round_trip_through_text(string text)
    {
        var parsed = LearningRateSchedule.Parse(text);
        parsed.ToString().Should().Be(text);
        LearningRateSchedule.Parse(parsed.ToString()!).Should().Be(parsed);
    }

    [Theory]
    [InlineData("linear")]
    [InlineData("cosine:warmup=x")]
    [InlineData("step:gamma=2")]
    [InlineData("cosine:speed=1")]
    public void Bad_schedules_are_refused(string text) =>
        FluentActions.Invoking(() => LearningRateSchedule.Parse(text)).Should().Throw<FormatException>();

    [Fact]
    public void Bad_numbers_in_the_options_are_refused()
    {
        FluentActions.Invoking(() => new TrainerOptions { Epochs = 0 }.Validate()).Should().Throw<ArgumentException>().WithMessage("*epochs*");
        FluentActions.Invoking(() => new TrainerOptions { Sgd = new SgdOptions(LearningRate: -1) }.Validate()).Should().Throw<ArgumentException>().WithMessage("*learning rate*");
        FluentActions.Invoking(() => new TrainerOptions { Sgd = new SgdOptions(Momentum: 1) }.Validate()).Should().Throw<ArgumentException>().WithMessage("*momentum*");
        FluentActions.Invoking(() => new TrainerOptions { Sgd = new SgdOptions(Momentum: 0, Nesterov: true) }.Validate()).Should().Throw<ArgumentException>().WithMessage("*Nesterov*");
    }

    /// <summary>
    /// One step on one batch: each BatchNorm's running statistics move 10% (PyTorch's momentum
    /// 0.1) towards the batch mean and the unbiased batch variance. The BatchNorm reads the input
    /// directly, so the expected statistics are computed from the data here.
    /// </summary>
    [Fact]
    public void Running_statistics_follow_pytorch_momentum_with_unbiased_variance()
    {
        var b = new NetworkBuilder(seed: 1);
        var x = b.BatchNorm(b.Input("input", 2, 3, 3), "bn", 2);
        var logits = b.Linear(b.Flatten(x, "flatten"), "fc", 18, 3);
        logits.Name = "logits";
        b.Output(logits);

        const int n = 8;
        var random = new Random(2);
        var images = Enumerable.Range(0, n * 18).Select(_ => (float)(random.NextDouble() * 4 - 1)).ToArray();
        var labels = Enumerable.Range(0, n).Select(i => (long)(i % 3)).ToArray();
        var data = new Dataset(images, labels, 2, 3, 3, 3, "random");
        using var trainer = new Trainer(b.Model, new TrainerOptions { BatchSize = n, Epochs = 1, Session = new SessionSettings { IntraOpThreads = 1 } });
        trainer.Train(data);
        var stats = trainer.SnapshotRunningStatistics();

        for (var c = 0; c < 2; c++)
        {
            var values = Enumerable.Range(0, n).SelectMany(s => images.Skip(s * 18 + c * 9).Take(9)).Select(v => (double)v).ToArray();
            var mean = values.Average();
            var unbiased = values.Sum(v => (v - mean) * (v - mean)) / (values.Length - 1);
            ((double)stats["bn.running_mean"][c]).Should().BeApproximately(0.1 * mean, 1e-5);
            ((double)stats["bn.running_var"][c]).Should().BeApproximately(0.9 * 1 + 0.1 * unbiased, 1e-5);
        }
    }

    [Fact]
    public void Default_trainable_set_is_conv_gemm_and_batchnorm_weights()
    {
        var model = TrainingTestSupport.TinyCnn(seed: 1);
        ClassifierSignature.DefaultTrainable(model).Should().Equal(
            "conv1.conv.weight", "conv1.bn.weight", "conv1.bn.bias", "conv2.conv.weight", "conv2.bn.weight", "conv2.bn.bias", "fc.weight", "fc.bias");
    }
}
