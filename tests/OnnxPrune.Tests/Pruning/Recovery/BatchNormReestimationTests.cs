using OnnxPrune.IR;
using OnnxPrune.Pruning.Recovery;
using OnnxPrune.Tests.Autodiff;
using static OnnxPrune.Tests.Pruning.Recovery.RecoveryTestSupport;

namespace OnnxPrune.Tests.Pruning.Recovery;

/// <summary>BatchNorm re-estimation against statistics worked out by hand on one fixed batch.</summary>
public class BatchNormReestimationTests
{
    [Fact]
    public void Statistics_are_those_of_the_batch_in_graph_order()
    {
        // x -> BN1 -> 1x1 conv (fixed weights) -> BN2 -> pool. BN1's statistics are those of x;
        // BN2's are those of the conv applied to x normalised with BN1's batch statistics.
        const int n = 6, c = 2, hw = 9;
        var net = new TestNet(DataType.Float, seed: 2);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), c, 3, 3], [n, c, 3, 3]);
        double[] gamma1 = [1.5, 0.5], beta1 = [0.2, -0.1], w = [1, 2, -1, 0.5];
        var bn1 = net.Op("BatchNormalization", [x, net.Constant("g1", [c], gamma1), net.Constant("b1", [c], beta1), net.Constant("m1", [c], [0, 0]), net.Constant("v1", [c], [1, 1])]);
        var conv = net.Op("Conv", [bn1, net.Constant("w", [c, c, 1, 1], w)]);
        var bn2 = net.Op("BatchNormalization", [conv, net.Constant("g2", [c], [1, 1]), net.Constant("b2", [c], [0, 0]), net.Constant("m2", [c], [0, 0]), net.Constant("v2", [c], [1, 1])]);
        var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [bn2])]));
        var data = RandomImages(n, c, 3, 3, seed: 4);
        var pixels = data.Images.Images;

        var outcome = ModelRecovery.Run(RecoveryMode.BatchNorm, model.Clone(), model, [], data, OneThread);
        outcome.BatchNorms.Should().Be(2);

        double[] Mean(Func<int, int, double> at) => Enumerable.Range(0, c).Select(ch => Enumerable.Range(0, n * hw).Average(i => at(ch, i))).ToArray();
        double[] Variance(Func<int, int, double> at, double[] mean, bool unbiased) =>
            Enumerable.Range(0, c).Select(ch => Enumerable.Range(0, n * hw).Sum(i => Math.Pow(at(ch, i) - mean[ch], 2)) / (n * hw - (unbiased ? 1 : 0))).ToArray();
        double X(int ch, int i) => pixels[(i / hw * c + ch) * hw + i % hw];
        var m1 = Mean(X);
        var v1Batch = Variance(X, m1, unbiased: false);
        double Normalised(int ch, int i) => gamma1[ch] * (X(ch, i) - m1[ch]) / Math.Sqrt(v1Batch[ch] + 1e-5) + beta1[ch];
        double Conv(int o, int i) => w[o * c] * Normalised(0, i) + w[o * c + 1] * Normalised(1, i);
        var m2 = Mean(Conv);

        Statistics(model, 0).Mean.Should().BeEquivalentTo(m1, o => o.Using<double>(a => a.Subject.Should().BeApproximately(a.Expectation, 1e-5)).WhenTypeIs<double>());
        Statistics(model, 0).Variance.Should().BeEquivalentTo(Variance(X, m1, unbiased: true), o => o.Using<double>(a => a.Subject.Should().BeApproximately(a.Expectation, 1e-4)).WhenTypeIs<double>());
        Statistics(model, 1).Mean.Should().BeEquivalentTo(m2, o => o.Using<double>(a => a.Subject.Should().BeApproximately(a.Expectation, 1e-4)).WhenTypeIs<double>());
        Statistics(model, 1).Variance.Should().BeEquivalentTo(Variance(Conv, m2, unbiased: true), o => o.Using<double>(a => a.Subject.Should().BeApproximately(a.Expectation, 1e-3)).WhenTypeIs<double>());
    }

    [Fact]
    public void A_model_without_batchnorm_is_left_as_it_is()
    {
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 2, 3, 3], [2, 2, 3, 3]);
        var model = net.Finish(net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [x, net.Weight("w", [3, 2, 1, 1])])])]));
        var before = OnnxPrune.Onnx.OnnxModelFile.ToBytes(model);
        ModelRecovery.Run(RecoveryMode.BatchNorm, model.Clone(), model, [], RandomImages(4, 2, 3, 3, seed: 1), OneThread).BatchNorms.Should().Be(0);
        OnnxPrune.Onnx.OnnxModelFile.ToBytes(model).Should().Equal(before);
    }

    private static (double[] Mean, double[] Variance) Statistics(Model model, int index)
    {
        var bn = model.Graph.Nodes.Where(node => node.OpType == "BatchNormalization").ElementAt(index);
        return (bn.Input(3)!.ConstValue!.ToDoubleArray(), bn.Input(4)!.ConstValue!.ToDoubleArray());
    }
}
