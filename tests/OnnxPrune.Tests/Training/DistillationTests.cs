using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Cli;
using OnnxPrune.Tests.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Tests.Training;

/// <summary>Knowledge distillation: the loss graph against a hand computation, the limits of the
/// weight (0: plain training bit for bit; 1 with the student as teacher: zero loss and gradient),
/// a teacher of other classes rejected, the finetune command's --teacher, and a short distilled
/// fine-tune of the bundled ResNet-20.</summary>
public class DistillationTests
{
    private static readonly SessionSettings TwoThreads = new() { IntraOpThreads = 2 };

    /// <summary>Flatten and one linear layer: no BatchNorm, so training-mode and inference logits agree.
    /// The output declares its shape [N, classes].</summary>
    private static Model Linear(int seed, long classes = 10)
    {
        var b = new NetworkBuilder(seed);
        var logits = b.Linear(b.Flatten(b.Input("input", 1, 28, 28), "flatten"), "fc", 28 * 28, classes);
        logits.Name = "logits";
        logits.ElementType = DataType.Float;
        logits.Shape = new Shape([Dim.Symbolic("N"), Dim.Known(classes)]); // declared, as exporters do
        b.Output(logits);
        return b.Model;
    }

    private static float[] Uniform(int count, int seed, double scale)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray();
    }

    /// <summary>One run of the training graph of <see cref="Linear"/> with a distillation loss on a
    /// fixed batch of 6: the loss and the bias gradient, with the logits of the same run.</summary>
    private static (double Loss, float[] Logits, float[] BiasGradient) RunLossGraph(double temperature, double weight, long[] labels, Func<float[], float[]> teacherOf)
    {
        const int n = 6, k = 10;
        var graph = GradientBuilder.Build(Linear(seed: 4), new GradientOptions
        {
            Loss = new DistillationLoss("logits", "labels", "teacher_logits", temperature, weight),
            BlockedConvolutions = false,
        });
        using var session = new GradientSession(graph);
        var feeds = new Dictionary<string, TensorData>
        {
            ["input"] = TensorData.Create(Uniform(n * 28 * 28, seed: 5, scale: 1), n, 1, 28, 28),
            ["labels"] = TensorData.Create(labels, n),
        };
        foreach (var p in graph.Parameters) feeds[p.Name] = TensorData.Create(p.InitialValue.ToFloatArray(), p.Dims);
        // The logits do not depend on the teacher input: a first run with zeros gives them.
        feeds["teacher_logits"] = TensorData.Create(new float[n * k], n, k);
        var logits = session.Session.Run(feeds, ["logits"])["logits"].As<float>();
        feeds["teacher_logits"] = TensorData.Create(teacherOf(logits), n, k);
        var bias = graph.Parameters.Single(p => p.Name == "fc.bias");
        var outputs = session.Session.Run(feeds, [graph.LossOutput, "logits", bias.GradientOutput]);
        return (outputs[graph.LossOutput].As<float>()[0], outputs["logits"].As<float>(), outputs[bias.GradientOutput].As<float>());
    }

    private static double[] Softmax(ReadOnlySpan<float> row, double temperature)
    {
        double max = double.NegativeInfinity;
        foreach (var v in row) max = Math.Max(max, v / temperature);
        var e = new double[row.Length];
        for (var j = 0; j < row.Length; j++) e[j] = Math.Exp(row[j] / temperature - max);
        var sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    [Fact]
    public void The_loss_graph_computes_weighted_cross_entropy_plus_t_squared_kl_and_its_gradient()
    {
        const int n = 6, k = 10;
        const double t = 2.5, w = 0.7;
        long[] labels = [3, 0, 9, 3, 5, 1];
        var teacher = Uniform(n * k, seed: 6, scale: 3);
        var (loss, logits, biasGradient) = RunLossGraph(t, w, labels, _ => teacher);

        double ce = 0, kl = 0;
        var expectedGradient = new double[k];
        for (var i = 0; i < n; i++)
        {
            var s = logits.AsSpan(i * k, k);
            var tRow = teacher.AsSpan(i * k, k);
            var plain = Softmax(s, 1);
            var q = Softmax(s, t);
            var p = Softmax(tRow, t);
            ce -= Math.Log(plain[labels[i]]);
            for (var j = 0; j < k; j++)
            {
                kl += p[j] * (Math.Log(p[j]) - Math.Log(q[j]));
                // d/ds of (1-w) CE/n + w T² KL/n: (1-w)(softmax - onehot)/n + w T (q - p)/n.
                expectedGradient[j] += ((1 - w) * (plain[j] - (j == labels[i] ? 1 : 0)) + w * t * (q[j] - p[j])) / n;
            }
        }
        double expected = (1 - w) * ce / n + w * t * t * kl / n;
        loss.Should().BeApproximately(expected, 1e-5 * Math.Max(1, expected));
        for (var j = 0; j < k; j++) biasGradient[j].Should().BeApproximately((float)expectedGradient[j], 1e-6f);
    }

    [Fact]
    public void With_the_student_as_teacher_and_weight_1_the_loss_graph_gives_zero_loss_and_gradient()
    {
        var (loss, _, biasGradient) = RunLossGraph(4, 1, [1, 2, 3, 4, 5, 6], logits => logits);
        loss.Should().BeApproximately(0, 1e-6);
        biasGradient.Should().OnlyContain(g => Math.Abs(g) < 1e-7);
    }

    private static TrainerOptions Options(Dataset train, int seed = 2) => new()
    {
        Epochs = 1,
        BatchSize = 64,
        Seed = seed,
        Sgd = new SgdOptions(0.05, 0.9, false, 0),
        Normalization = ChannelNormalization.Compute(train),
        Augmentation = Augmentation.Standard(),
        Session = TwoThreads,
    };

    /// <summary>The trainer's first step, with the teacher run in its own session beside the
    /// student: loss 0 and (no weight decay) weights unchanged, so the gradient was zero.</summary>
    [Fact]
    public void Trainer_with_the_initial_model_as_teacher_and_weight_1_starts_at_zero_loss_and_gradient()
    {
        var train = TrainingTestSupport.Train(64); // one step
        var model = Linear(seed: 8);
        using var trainer = new Trainer(model, Options(train) with { Distillation = new DistillationOptions { Teacher = model, Weight = 1 } });
        var before = trainer.SnapshotParameters();
        var history = trainer.Train(train);
        history.Should().HaveCount(1);
        history[0].TrainLoss.Should().BeApproximately(0, 1e-6);
        history[0].TeacherSeconds.Should().BeGreaterThan(0);
        foreach (var (name, values) in trainer.SnapshotParameters())
            for (var i = 0; i < values.Length; i++) values[i].Should().BeApproximately(before[name][i], 1e-6f, name);
    }

    [Fact]
    public void Weight_0_trains_bit_for_bit_as_without_distillation()
    {
        var train = TrainingTestSupport.Train(256);
        (IReadOnlyDictionary<string, float[]> Weights, IReadOnlyDictionary<string, float[]> Statistics, EpochResult Epoch) Run(DistillationOptions? distillation)
        {
            using var trainer = new Trainer(TrainingTestSupport.TinyCnn(seed: 5), Options(train) with { Distillation = distillation });
            var history = trainer.Train(train);
            return (trainer.SnapshotParameters(), trainer.SnapshotRunningStatistics(), history[0]);
        }
        var plain = Run(null);
        var distilled = Run(new DistillationOptions { Teacher = TrainingTestSupport.TinyCnn(seed: 6), Weight = 0 });
        distilled.Epoch.TrainLoss.Should().Be(plain.Epoch.TrainLoss);
        distilled.Epoch.TrainAccuracy.Should().Be(plain.Epoch.TrainAccuracy);
        distilled.Epoch.TeacherSeconds.Should().Be(0, "a teacher of weight 0 is not run");
        foreach (var (name, values) in plain.Weights) distilled.Weights[name].Should().Equal(values, name);
        foreach (var (name, values) in plain.Statistics) distilled.Statistics[name].Should().Equal(values, name);
    }

    [Fact]
    public void A_teacher_of_another_class_count_is_rejected_naming_both_shapes()
    {
        var train = TrainingTestSupport.Train(64);
        var act = () => new Trainer(Linear(seed: 1), Options(train) with { Distillation = new DistillationOptions { Teacher = Linear(seed: 2, classes: 5) } });
        act.Should().Throw<TrainingInputException>().WithMessage("*teacher*[64,5]*student*[64,10]*");
    }

    [Fact]
    public void A_dynamic_teacher_output_of_another_class_count_is_rejected_at_the_first_step()
    {
        var train = TrainingTestSupport.Train(64);
        var teacher = Linear(seed: 2, classes: 5);
        teacher.Graph.Outputs[0].Shape = null; // the class count is known only once it runs
        using var trainer = new Trainer(Linear(seed: 1), Options(train) with { Distillation = new DistillationOptions { Teacher = teacher } });
        var act = () => trainer.Train(train);
        act.Should().Throw<TrainingInputException>().WithMessage("*teacher*[64,5]*student*[64,10]*");
    }

    [Theory]
    [InlineData(double.NaN, 0.5)]
    [InlineData(0.0, 0.5)]
    [InlineData(4.0, 1.5)]
    public void Out_of_range_settings_are_refused(double temperature, double weight)
    {
        var options = new TrainerOptions { Distillation = new DistillationOptions { Teacher = Linear(1), Temperature = temperature, Weight = weight } };
        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*distillation*");
    }
}

/// <summary>--teacher on the command line, and the library entry the pruning loop calls, on the bundled ResNet-20.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class DistillationCliTests
{
    private static string ResNet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    [Fact]
    public void A_missing_teacher_file_exits_2_naming_the_option_and_the_file()
    {
        using var dir = TestData.NewTempFolder();
        var missing = dir.File("no-such-teacher.onnx");
        var r = CliRunner.Run(TimeSpan.FromSeconds(60), null, "finetune", ResNet20, "--data", "fashion-mnist", "--epochs", "1", "--teacher", missing, "-o", dir.File("out.onnx"));
        r.ExitCode.Should().Be(2, r.ToString());
        r.Stderr.Should().Contain("--teacher").And.Contain("no-such-teacher.onnx");
    }

    [Fact]
    public void Distillation_settings_without_a_teacher_exit_2()
    {
        using var dir = TestData.NewTempFolder();
        var r = CliRunner.Run(TimeSpan.FromSeconds(60), null, "finetune", ResNet20, "--data", "fashion-mnist", "--epochs", "1", "--distill-weight", "0.3", "-o", dir.File("out.onnx"));
        r.ExitCode.Should().Be(2, r.ToString());
        r.Stderr.Should().Contain("--distill-weight needs --teacher");
    }

    /// <summary>finetune --teacher: the run reports the distillation and the teacher's time, and the model says how it was trained.</summary>
    [Fact]
    public void Finetune_with_a_teacher_reports_it_in_json_and_metadata()
    {
        using var dir = TestData.NewTempFolder();
        var output = dir.File("tuned.onnx");
        var r = CliRunner.Run(TimeSpan.FromSeconds(120), null, "finetune", ResNet20, "--data", "fashion-mnist", "--epochs", "1", "--limit-train", "128",
            "--limit-test", "200", "--batch-size", "64", "--threads", "2", "--teacher", ResNet20, "--distill-temperature", "2", "--distill-weight", "0.25", "--json", "-o", output);
        var json = JsonOutput.Parse(r);
        json.Key("distill_temperature").GetDouble().Should().Be(2);
        json.Key("distill_weight").GetDouble().Should().Be(0.25);
        json.Key("teacher").GetString().Should().Be(ResNet20);
        json.Key("teacher_seconds").GetDouble().Should().BeGreaterThan(0);
        json.Key("test_accuracy").GetDouble().Should().BeGreaterThan(0.8);
        r.Stderr.Should().Contain("distilling from");
        OnnxModelFile.Load(output).MetadataProps.Should().Contain(new KeyValuePair<string, string>("distillation", "T=2,weight=0.25"));
    }

    /// <summary>FineTuning.Run, as a pruning loop calls it: four steps of 64 images distilled from the
    /// model itself keep ResNet-20 (about 93%) accurate, and the export says how it was distilled.</summary>
    [Fact]
    public void Fine_tuning_resnet20_with_itself_as_teacher_keeps_its_accuracy()
    {
        var model = OnnxModelFile.Load(ResNet20);
        var train = TrainingTestSupport.Train(256);
        var test = TrainingTestSupport.Test(300);
        var options = new TrainerOptions
        {
            Epochs = 1,
            BatchSize = 64,
            Seed = 1,
            Sgd = new SgdOptions(0.01),
            Normalization = ChannelNormalization.Parse(model.MetadataProps.Last(p => p.Key == "normalization").Value),
            Session = new SessionSettings { IntraOpThreads = 2 },
            Distillation = new DistillationOptions { Teacher = model },
        };
        var result = FineTuning.Run(model, new FineTuneRequest(train, test), options);
        result.History.Should().HaveCount(1);
        result.Before!.Accuracy.Should().BeGreaterThan(0.85);
        result.Final.Accuracy.Should().BeGreaterThan(0.85);
        result.Collapsed.Should().BeFalse();
        result.TeacherSeconds.Should().BeGreaterThan(0);
        result.Model.MetadataProps.Should().Contain(new KeyValuePair<string, string>("distillation", "T=4,weight=0.5"));
    }
}
