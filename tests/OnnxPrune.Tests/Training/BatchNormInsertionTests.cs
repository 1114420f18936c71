using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.IR;
using OnnxPrune.Training;
using OnnxPrune.Training.Architectures;
using OnnxPrune.Training.Data;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Training;

/// <summary>
/// BatchNorm inserted for fine-tuning (METHODS.md §7): the statistics are those of the layer's
/// output computed by hand, the model computes what it computed before, and folding the inserted
/// nodes back gives the model again (weights, names and ORT outputs).
/// </summary>
public class BatchNormInsertionTests
{
    private static readonly SessionSettings TwoThreads = new() { IntraOpThreads = 2 };

    private static Dataset RandomImages(int count, int channels, int size, int classes, int seed)
    {
        var random = new Random(seed);
        var images = new float[count * channels * size * size];
        for (int i = 0; i < images.Length; i++) images[i] = (float)(random.NextDouble() * 2 - 0.5);
        return new Dataset(images, Enumerable.Range(0, count).Select(i => (long)(i % classes)).ToArray(), channels, size, size, classes, "random images");
    }

    /// <summary>x [1,4,4] → Conv 1x1 (2 filters, weights 2 and −3) → Relu → Flatten → Gemm head (3 classes).</summary>
    private static Model OneByOne()
    {
        var g = new Graph("g");
        var x = new Value("input", DataType.Float, new Shape([Dim.Symbolic("N"), Dim.Known(1), Dim.Known(4), Dim.Known(4)]));
        g.AddInput(x);
        var w = g.AddInitializer("w", DenseTensor.FromFloats([2, 1, 1, 1], [2f, -3f]));
        var conv = g.AddNode(new Node("", "Conv", [x, w], ["c"], [Attribute.Ints("kernel_shape", [1, 1])], "conv"));
        var relu = g.AddNode(new Node("", "Relu", [conv.Outputs[0]], ["r"], name: "relu"));
        var flat = g.AddNode(new Node("", "Flatten", [relu.Outputs[0]], ["f"], name: "flatten"));
        var fw = g.AddInitializer("fc.weight", DenseTensor.FromFloats([3, 32], Enumerable.Range(0, 96).Select(i => (i % 7 - 3) / 10f).ToArray()));
        var fc = g.AddNode(new Node("", "Gemm", [flat.Outputs[0], fw], ["logits"], [Attribute.Int("transB", 1)], "fc"));
        g.AddOutput(fc.Outputs[0]);
        var model = new Model(g);
        model.OpsetImports[""] = 17;
        return model;
    }

    [Fact]
    public void Inserted_statistics_are_the_layer_outputs_moments_computed_by_hand()
    {
        var model = OneByOne();
        var data = RandomImages(10, 1, 4, 3, seed: 2);
        var inserted = BatchNormInsertion.Insert(model, data, normalization: null, TwoThreads);
        inserted.NodeNames.Should().Equal(["conv/inserted_bn"], "the head Gemm gets none");
        var bn = inserted.Model.Graph.Nodes.Single(n => n.OpType == "BatchNormalization");
        bn.Inputs[0]!.Producer!.Name.Should().Be("conv");
        bn.Outputs[0].Name.Should().Be("c", "the normalised value takes the layer output's name");

        double mean = data.Images.Average(v => (double)v);
        double variance = data.Images.Average(v => (v - mean) * (v - mean)); // biased, over N·H·W as BN's batch statistics
        double[] w = [2, -3];
        var runningMean = bn.Inputs[3]!.ConstValue!.ToDoubleArray();
        var runningVar = bn.Inputs[4]!.ConstValue!.ToDoubleArray();
        var gamma = bn.Inputs[1]!.ConstValue!.ToDoubleArray();
        var beta = bn.Inputs[2]!.ConstValue!.ToDoubleArray();
        for (int c = 0; c < 2; c++)
        {
            runningMean[c].Should().BeApproximately(w[c] * mean, 1e-5);
            runningVar[c].Should().BeApproximately(w[c] * w[c] * variance, 1e-5);
            gamma[c].Should().BeApproximately(Math.Sqrt(runningVar[c] + BatchNormInsertion.Epsilon), 1e-6);
            beta[c].Should().Be(runningMean[c]);
        }
        model.Graph.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization", "the given model is not changed");
    }

    [Fact]
    public void A_model_that_keeps_its_batchnorm_gets_none()
    {
        var model = OnnxModelFile.Load(Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));
        BatchNormInsertion.Candidates(model).Should().BeEmpty("every conv has its BN and the classifier is the head");
    }

    /// <summary>The bundled ResNet-20 with its BN folded: insertion restores one BN per conv, the
    /// outputs do not change, and folding the inserted ones back gives the folded model again.</summary>
    [Fact]
    public void Fold_of_insert_is_the_model_and_insert_keeps_the_outputs_on_a_folded_resnet()
    {
        var model = OnnxModelFile.Load(Path.Combine(Runtime.OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx"));
        new PassManager([new FoldBatchNormalization()]).Run(model);
        model.Graph.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization");
        CheckRoundTrip(model, RandomImages(64, 1, 28, 10, seed: 4), expectInserted: 21);
    }

    /// <summary>The same on a torchvision export (BatchNorm folded by torch.onnx.export in eval mode).</summary>
    [Fact]
    public void Fold_of_insert_is_the_model_on_a_torchvision_export()
    {
        var model = OnnxModelFile.Load(TestData.RealModel("resnet18"));
        model.Graph.Nodes.Should().NotContain(n => n.OpType == "BatchNormalization", "torch folds BN on export");
        // torch reads some de-duplicated weights through Identity nodes; folding writes the layer its
        // own weight and drops the Identity, so compare against the model without them.
        new RemoveIdentityAndDropout().Run(model).Should().BeTrue();
        CheckRoundTrip(model, RandomImages(4, 3, 224, 1000, seed: 5), expectInserted: 20);
    }

    private static void CheckRoundTrip(Model model, Dataset calibration, int expectInserted)
    {
        var original = OnnxModelFile.ToBytes(model);
        var inserted = BatchNormInsertion.Insert(model, calibration, normalization: null, TwoThreads);
        inserted.NodeNames.Should().HaveCount(expectInserted);
        Verifier.Check(inserted.Model.Graph).Should().BeEmpty();
        FoldBatchNormalizationTests.RelativeDifference(original, OnnxModelFile.ToBytes(inserted.Model), batch: 2)
            .Should().BeLessThan(1e-4, "γ = sqrt(σ² + ε), β = μ make each inserted BN the identity");

        var folded = inserted.Model.Clone();
        BatchNormInsertion.FoldBack(folded, inserted.NodeNames).Should().BeTrue();
        folded.Graph.Nodes.Select(n => (n.Name, n.OpType)).Should().Equal(model.Graph.Nodes.Select(n => (n.Name, n.OpType)));
        folded.Graph.Nodes.SelectMany(n => n.Outputs).Select(o => o.Name).Should().Equal(model.Graph.Nodes.SelectMany(n => n.Outputs).Select(o => o.Name));
        foreach (var (name, init) in model.Graph.Initializers)
        {
            // b' = (b − μ)·s + β with s ≈ 1 and β = μ: b up to the rounding of μ, so the tolerance is
            // absolute below 1 (μ is of the order of the activations), relative above.
            var before = init.ConstValue!.ToFloatArray();
            var after = folded.Graph.Initializers[name].ConstValue!.ToFloatArray();
            var scale = Math.Max(1f, before.Max(Math.Abs));
            before.Zip(after, (a, b) => Math.Abs(a - b)).Max().Should().BeLessThan((float)(1e-5 * scale), name);
        }
        FoldBatchNormalizationTests.RelativeDifference(original, OnnxModelFile.ToBytes(folded), batch: 2).Should().BeLessThan(1e-5);
    }

    /// <summary>conv1-BN-ReLU-pool, conv2-ReLU-pool (no BN), flatten, fc1-ReLU (no BN), fc2 head: insertion adds
    /// two (one after a Gemm), training runs on them, and the export folds back only those two.</summary>
    [Fact]
    public void Trainer_trains_on_inserted_batchnorm_and_exports_only_the_models_own()
    {
        var b = new NetworkBuilder(3);
        var x = b.Input("input", 1, 28, 28);
        x = b.MaxPool(b.ConvBnRelu(x, "conv1", 1, 8, 3), "pool1", 2, 2);
        x = b.MaxPool(b.Relu(b.Conv(x, "conv2", 8, 8, 3, bias: true), "relu2"), "pool2", 2, 2);
        x = b.Relu(b.Linear(b.Flatten(x, "flatten"), "fc1", 8 * 7 * 7, 32), "relu3");
        b.Output(b.Linear(x, "fc2", 32, 10));
        var model = b.Model;
        var train = TrainingTestSupport.Train(512);
        var options = new TrainerOptions
        {
            Epochs = 1, BatchSize = 64, Seed = 1, Sgd = new SgdOptions(0.05), Normalization = ChannelNormalization.Compute(train), Session = TwoThreads,
            InputSampleDims = [1, 28, 28],
        };
        var (withNorms, withFold, count) = FineTuning.WithInsertedBatchNorm(model, train, options);
        count.Should().Be(2);
        withFold.FoldOnExport.Should().BeEquivalentTo(["conv2/inserted_bn", "fc1/inserted_bn"]);
        var before = ClassifierEvaluation.Evaluate(model, TrainingTestSupport.Test(200), options.Normalization, TwoThreads);

        using var trainer = new Trainer(withNorms, withFold);
        trainer.ParameterNames.Should().Contain(["conv2/inserted_bn.weight", "fc1/inserted_bn.bias"], "the inserted BN trains");
        trainer.Evaluate(TrainingTestSupport.Test(200)).Accuracy.Should().Be(before.Accuracy, "at step 0 the function is unchanged");
        trainer.Train(train);
        var exported = trainer.ExportModel();
        exported.Graph.Nodes.Where(n => n.OpType == "BatchNormalization").Select(n => n.Name).Should().Equal(["conv1.bn"]);
        exported.Graph.Nodes.Select(n => n.Name).Should().Equal(model.Graph.Nodes.Select(n => n.Name));
        exported.Graph.Nodes.Single(n => n.Name == "fc1").Inputs.Should().HaveCount(3);
        var after = ClassifierEvaluation.Evaluate(exported, TrainingTestSupport.Test(200), options.Normalization, TwoThreads);
        after.Accuracy.Should().BeApproximately(trainer.Evaluate(TrainingTestSupport.Test(200)).Accuracy, 0.011, "folding back keeps what was trained (up to rounding flipping a near tie)");
    }
}
