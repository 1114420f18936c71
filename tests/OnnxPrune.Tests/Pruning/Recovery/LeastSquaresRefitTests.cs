using OnnxPrune.IR;
using OnnxPrune.Pruning.Recovery;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Autodiff;
using Attribute = OnnxPrune.IR.Attribute;
using static OnnxPrune.Tests.Pruning.Recovery.RecoveryTestSupport;

namespace OnnxPrune.Tests.Pruning.Recovery;

/// <summary>
/// The least-squares refit (METHODS.md §6) on layers whose removed input channel was a linear
/// combination of kept ones: the consumer can then reproduce the original exactly, and the refit
/// must find those weights.
/// </summary>
public class LeastSquaresRefitTests
{
    private static readonly RefitSettings Exact = new(Ridge: 1e-10);

    [Fact]
    public void A_conv_reading_a_removed_linear_combination_is_reproduced_exactly()
    {
        // conv1 makes 4 channels; channel 3 = channel 0 + 2 * channel 1 (weights and bias), and
        // nothing nonlinear comes before conv2, so conv2 can fold channel 3 into channels 0 and 1.
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 6, 6], [2, 3, 6, 6]);
        var w1 = net.Normal(4 * 27, 0.5);
        for (int i = 0; i < 27; i++) w1[81 + i] = w1[i] + 2 * w1[27 + i];
        double[] b1 = [0.1, -0.2, 0.3, 0.1 + 2 * -0.2];
        var pads = Attribute.Ints("pads", [1, 1, 1, 1]);
        var h = net.Op("Conv", [x, net.Constant("w1", [4, 3, 3, 3], w1), net.Constant("b1", [4], b1)], pads);
        var y = net.Op("Conv", [h, net.Weight("w2", [5, 4, 3, 3]), net.Weight("b2", [5])], pads);
        var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [y])]));

        var (original, layers) = RemoveChannels(model, "w1", 3);
        layers.Should().ContainSingle().Which.OpType.Should().Be("Conv");
        var probe = RandomImages(8, 3, 6, 6, seed: 11).Batches(OnnxPrune.Training.ClassifierSignature.Of(model), 8).First().Batch;
        RelativeDifference(original, model, "x", probe).Should().BeGreaterThan(0.05, "removing the channel without a refit changes the output");

        var outcome = ModelRecovery.Run(RecoveryMode.Refit, original, model, layers, RandomImages(64, 3, 6, 6, seed: 5), OneThread, Exact);

        outcome.Layers.Should().ContainSingle().Which.ErrorAfter.Should().BeLessThan(1e-6);
        outcome.Layers[0].ErrorBefore.Should().BeGreaterThan(0.01);
        RelativeDifference(original, model, "x", probe).Should().BeLessThan(1e-4);
    }

    [Fact]
    public void A_gemm_reading_a_removed_linear_combination_is_reproduced_exactly()
    {
        var net = new TestNet(DataType.Float, seed: 4);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 6], [2, 6]);
        var w1 = net.Normal(4 * 6, 0.5); // [4, 6] with transB: row 3 = row 0 - row 2
        for (int i = 0; i < 6; i++) w1[18 + i] = w1[i] - w1[12 + i];
        var transB = Attribute.Int("transB", 1);
        var h = net.Op("Gemm", [x, net.Constant("w1", [4, 6], w1), net.Constant("b1", [4], [0.5, 0.1, -0.3, 0.5 + 0.3])], transB);
        var model = net.Finish(net.Op("Gemm", [h, net.Weight("w2", [3, 4]), net.Weight("b2", [3])], transB, Attribute.Float("alpha", 0.5f)));

        var (original, layers) = RemoveChannels(model, "w1", 3);
        var probe = TensorData.Create(net.Normal(12).Select(v => (float)v).ToArray(), 2, 6);
        RelativeDifference(original, model, "x", probe).Should().BeGreaterThan(0.05);

        ModelRecovery.Run(RecoveryMode.Refit, original, model, layers, RandomImages(256, 6, 1, 1, seed: 6), OneThread, Exact);

        RelativeDifference(original, model, "x", probe).Should().BeLessThan(1e-4);
    }

    [Fact]
    public void A_grouped_conv_is_refit_group_by_group()
    {
        // conv1 makes 4 channels read by a 2-group conv (channels 0,1 | 2,3). In-group position 1
        // of both groups is one unit; channel 1 = 3 * channel 0 and channel 3 = -channel 2, so each
        // group can fold its removed channel into its kept one.
        var net = new TestNet(DataType.Float, seed: 5);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 2, 5, 5], [2, 2, 5, 5]);
        var w1 = net.Normal(4 * 2, 0.5);
        w1[2] = 3 * w1[0]; w1[3] = 3 * w1[1]; w1[6] = -w1[4]; w1[7] = -w1[5];
        var h = net.Op("Conv", [x, net.Constant("w1", [4, 2, 1, 1], w1)]);
        var y = net.Op("Conv", [h, net.Weight("w2", [4, 2, 3, 3]), net.Weight("b2", [4])], Attribute.Int("group", 2), Attribute.Ints("pads", [1, 1, 1, 1]));
        var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [y])]));

        var (original, layers) = RemoveChannels(model, "w1", 1);
        var probe = RandomImages(4, 2, 5, 5, seed: 12).Batches(OnnxPrune.Training.ClassifierSignature.Of(model), 4).First().Batch;
        RelativeDifference(original, model, "x", probe).Should().BeGreaterThan(0.05);

        ModelRecovery.Run(RecoveryMode.Refit, original, model, layers, RandomImages(64, 2, 5, 5, seed: 7), OneThread, Exact);

        RelativeDifference(original, model, "x", probe).Should().BeLessThan(1e-4);
    }

    [Fact]
    public void Layers_after_the_removal_are_refit_to_the_drift_and_layers_before_it_are_not()
    {
        // conv0 -> relu -> conv1 (loses channels) -> relu -> conv2 (reads them: refit) -> relu -> conv3 (its input
        // drifts: refit with every input kept) -> pool. conv0 computes as before and is left alone.
        var net = new TestNet(DataType.Float, seed: 13);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 6, 6], [2, 3, 6, 6]);
        var pads = Attribute.Ints("pads", [1, 1, 1, 1]);
        Value Layer(Value input, string weight, long cout, long cin) => net.Op("Relu", [net.Op("Conv", [input, net.Weight(weight, [cout, cin, 3, 3]), net.Weight(weight + "_b", [cout])], pads)]);
        var h = Layer(Layer(Layer(x, "w0", 6, 3), "w1", 8, 6), "w2", 6, 8);
        var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [h, net.Weight("w3", [4, 6, 3, 3])], pads)])]));

        var (original, layers) = RemoveChannels(model, "w1", 0, 3, 5);
        layers.Select(l => l.KeptInputs.Count(k => !k)).Should().Equal([3, 0], "conv2 reads the removed channels; conv3 keeps all its inputs");
        var outcome = ModelRecovery.Run(RecoveryMode.Refit, original, model, layers, RandomImages(48, 3, 6, 6, seed: 14), OneThread, new RefitSettings(MinRows: 512));

        outcome.Layers.Should().HaveCount(2).And.OnlyContain(l => l.Skipped == null);
        outcome.Layers[1].ErrorAfter.Should().BeLessThan(outcome.Layers[1].ErrorBefore!.Value, "conv3 is fitted to the original's output from its drifted input");
    }

    [Fact]
    public void The_same_inputs_and_seed_give_the_same_weights()
    {
        byte[] Run()
        {
            var net = new TestNet(DataType.Float, seed: 8);
            var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 3, 8, 8], [2, 3, 8, 8]);
            var h = net.Op("Relu", [net.Op("Conv", [x, net.Weight("w1", [6, 3, 3, 3])])]);
            var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [h, net.Weight("w2", [4, 6, 3, 3])])])]));
            var (original, layers) = RemoveChannels(model, "w1", 1, 4);
            ModelRecovery.Run(RecoveryMode.Refit, original, model, layers, RandomImages(40, 3, 8, 8, seed: 9), OneThread, new RefitSettings(MinRows: 100, Seed: 3));
            return OnnxPrune.Onnx.OnnxModelFile.ToBytes(model);
        }
        Run().Should().Equal(Run());
    }
}
