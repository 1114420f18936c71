using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks for BatchNormalization (batch and running statistics), reductions,
/// softmax and the classification losses, and a small CNN end to end.</summary>
public class NormalizationAndLossGradientTests
{
    private static (TestNet Net, Value Y) BatchNormNet(DataType type, long[] dims)
    {
        var net = new TestNet(type, seed: 21);
        var x = net.Input("x", dims, 2, 0.5);
        long c = dims[1];
        var scale = net.Weight("scale", [c], 0.3, 1);
        var bias = net.Weight("bias", [c], 0.3);
        var mean = net.Weight("running_mean", [c], 0.1);
        var variance = net.Weight("running_var", [c], 0.1, 1);
        var y = net.Op("BatchNormalization", [x, scale, bias, mean, variance], Attribute.Float("epsilon", 1e-3f));
        return (net, y);
    }

    [Theory]
    [InlineData(new long[] { 4, 3, 2, 3 })]
    [InlineData(new long[] { 5, 3 })]
    public void BatchNormalization_on_batch_statistics(long[] dims)
    {
        var (net, bn) = BatchNormNet(DataType.Double, dims);
        var y = net.Op("Mul", [bn, bn]); // a non-linear loss: the batch statistics' own gradients matter
        var model = net.Finish(y);
        net.Target(dims);
        var options = GradientCheck.Mse("scale", "bias");
        GradientCheck.Verify(model, net.Data, options, 1e-6, inputs: ["x"]);
    }

    /// <summary>In float32 the batch statistics are per-channel sums by GlobalAveragePool and the
    /// affine maps depthwise 1x1 Convs (GradientContext.PerChannelSum, ChannelAffine): checked
    /// against finite differences like any rule, for 1-, 2- and 3-D spatial axes; without spatial
    /// axes the plain reductions and Mul/Add remain.</summary>
    [Theory]
    [InlineData(new long[] { 6, 3 })]
    [InlineData(new long[] { 4, 3, 5 })]
    [InlineData(new long[] { 4, 3, 5, 6 })]
    [InlineData(new long[] { 2, 3, 3, 4, 2 })]
    public void BatchNormalization_on_batch_statistics_in_float32(long[] dims)
    {
        var (net, bn) = BatchNormNet(DataType.Float, dims);
        var y = net.Op("Mul", [bn, bn]);
        GradientCheck.VerifyProjected(net, y, 1e-2, ["scale", "bias"], ["x"]);

        var graph = GradientBuilder.Build(net.Finish(y), GradientCheck.Mse("scale", "bias"));
        var ops = graph.Model.Graph.Nodes.Select(n => n.OpType).ToList();
        ops.Should().NotContain("BatchNormalization");
        bool spatial = dims.Length > 2;
        ops.Contains("GlobalAveragePool").Should().Be(spatial);
        graph.Model.Graph.Nodes.Any(n => n.OpType == "Conv" && n.Attributes.GetInt("group", 1) == dims[1]).Should().Be(spatial);
    }

    [Fact]
    public void BatchNormalization_on_running_statistics()
    {
        var (net, y) = BatchNormNet(DataType.Double, [4, 3, 2, 3]);
        var model = net.Finish(y);
        net.Target([4, 3, 2, 3]);
        var options = GradientCheck.Mse("scale", "bias") with { BatchNorm = BatchNormMode.RunningStatistics };
        GradientCheck.Verify(model, net.Data, options, 1e-6, inputs: ["x"]);
    }

    [Fact]
    public void Batch_statistics_are_outputs_with_the_unbiased_variance()
    {
        long[] dims = [4, 3, 2, 3];
        var (net, y) = BatchNormNet(DataType.Double, dims);
        var model = net.Finish(y);
        net.Target(dims);
        var graph = GradientBuilder.Build(model, GradientCheck.Mse("scale", "bias"));
        var stats = graph.BatchNormStatistics.Should().ContainSingle().Subject;
        stats.RunningMean.Should().Be("running_mean");
        stats.RunningVariance.Should().Be("running_var");
        stats.Momentum.Should().Be(0.9f);
        graph.Model.Graph.Initializers.Should().NotContainKey("running_mean", "the running statistics are not used in training mode");

        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var outputs = session.Evaluate(net.Data, allOutputs: true).Outputs;
        var x = net.Data["x"].As<double>();
        int n = (int)dims[0], c = (int)dims[1], hw = (int)(dims[2] * dims[3]);
        var mean = outputs[stats.BatchMeanOutput].As<double>();
        var variance = outputs[stats.BatchVarianceOutput].As<double>();
        for (int ch = 0; ch < c; ch++)
        {
            var values = Enumerable.Range(0, n).SelectMany(b => Enumerable.Range(0, hw).Select(i => x[(b * c + ch) * hw + i])).ToArray();
            double m = values.Average();
            double v = values.Sum(e => (e - m) * (e - m)) / (values.Length - 1);
            mean[ch].Should().BeApproximately(m, 1e-12);
            variance[ch].Should().BeApproximately(v, 1e-12);
        }
    }

    [Theory]
    [InlineData("ReduceSum", 1)]
    [InlineData("ReduceSum", 0)]
    [InlineData("ReduceMean", 1)]
    [InlineData("ReduceMean", 0)]
    public void Reductions(string op, long keepDims)
    {
        var net = new TestNet(DataType.Double, seed: 22);
        var x = net.Input("x", [2, 3, 4]);
        var y = op == "ReduceSum"
            ? net.Op(op, [x, net.Ints(0, -1)], Attribute.Int("keepdims", keepDims))
            : net.Op(op, [x], Attribute.Ints("axes", [0, -1]), Attribute.Int("keepdims", keepDims));
        var model = net.Finish(y);
        net.Target(keepDims == 1 ? [1, 3, 1] : [3]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["x"]);
    }

    [Theory]
    [InlineData("ReduceMax", 1)]
    [InlineData("ReduceMin", 0)]
    [InlineData("ReduceProd", 1)]
    [InlineData("ReduceSumSquare", 0)]
    [InlineData("ReduceLogSumExp", 1)]
    public void Other_reductions(string op, long keepDims)
    {
        var net = new TestNet(DataType.Double, seed: 29);
        var x = net.Input("x", [2, 3, 4], 1, op == "ReduceProd" ? 2 : 0);
        var y = net.Op(op, [x], Attribute.Ints("axes", [1, 2]), Attribute.Int("keepdims", keepDims));
        var model = net.Finish(y);
        net.Target(keepDims == 1 ? [2, 1, 1] : [2]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["x"]);
    }

    [Fact]
    public void InstanceNormalization()
    {
        var net = new TestNet(DataType.Float, seed: 30);
        var x = net.Input("x", [2, 3, 4, 5], 2, 0.5);
        var y = net.Op("InstanceNormalization", [x, net.Weight("scale", [3], 0.2, 1), net.Weight("bias", [3])], Attribute.Float("epsilon", 1e-3f));
        GradientCheck.VerifyProjected(net, net.Op("Mul", [y, y]), 1e-2, ["scale", "bias"], ["x"]);
    }

    [Fact]
    public void Reduce_over_all_axes_without_an_axes_input()
    {
        var net = new TestNet(DataType.Double, seed: 23);
        var x = net.Input("x", [2, 3]);
        var y = net.Op("ReduceSum", [net.Op("Mul", [x, x])], Attribute.Int("keepdims", 0));
        var model = net.Finish(y);
        GradientCheck.Verify(model, net.Data, new GradientOptions { Loss = new ExistingLoss(y.Name), Trainable = [] }, 1e-6, inputs: ["x"]);
    }

    [Theory]
    [InlineData("Softmax", 1)]
    [InlineData("Softmax", -1)]
    [InlineData("LogSoftmax", 1)]
    public void Softmax_and_LogSoftmax(string op, long axis)
    {
        var net = new TestNet(DataType.Double, seed: 24);
        var x = net.Input("x", [2, 4, 3]);
        var y = net.Op(op, [x], Attribute.Int("axis", axis));
        var model = net.Finish(y);
        net.Target([2, 4, 3]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["x"]);
    }

    private static TensorData Labels(long[] dims, int classes, int seed)
    {
        var rng = new Random(seed);
        return TensorData.Create(Enumerable.Range(0, (int)TestNet.Count(dims)).Select(_ => (long)rng.Next(classes)).ToArray(), dims);
    }

    [Theory]
    [InlineData(new long[] { 5, 4 })]
    [InlineData(new long[] { 3, 4, 2, 2 })]
    public void Softmax_cross_entropy_loss(long[] dims)
    {
        var net = new TestNet(DataType.Double, seed: 25);
        var x = net.Input("x", dims, 2);
        var w = net.Weight("w", dims.Skip(1).ToArray(), 0.5, 1);
        var logits = net.Op("Mul", [x, w]);
        var model = net.Finish(logits);
        var data = new Dictionary<string, TensorData>(net.Data) { ["labels"] = Labels(dims.Where((_, i) => i != 1).ToArray(), (int)dims[1], 1) };
        GradientCheck.Verify(model, data, new GradientOptions { Trainable = ["w"] }, 1e-6, inputs: ["x"]);
    }

    [Theory]
    [InlineData("mean", false)]
    [InlineData("sum", false)]
    [InlineData("mean", true)]
    public void LogSoftmax_with_negative_log_likelihood(string reduction, bool ignore)
    {
        var net = new TestNet(DataType.Double, seed: 26);
        var x = net.Input("x", [6, 4], 2);
        var labels = new Value("labels", DataType.Int64, new Shape(6));
        net.Graph.AddInput(labels);
        var logProb = net.Op("LogSoftmax", [x], Attribute.Int("axis", 1));
        var attributes = new List<Attribute> { Attribute.String("reduction", reduction) };
        if (ignore) attributes.Add(Attribute.Int("ignore_index", 2));
        var loss = net.Op("NegativeLogLikelihoodLoss", [logProb, labels], attributes.ToArray());
        var model = net.Finish(loss);
        var data = new Dictionary<string, TensorData>(net.Data) { ["labels"] = TensorData.Create(new long[] { 0, 2, 3, 1, 2, 0 }, 6) };
        GradientCheck.Verify(model, data, new GradientOptions { Loss = new ExistingLoss(loss.Name), Trainable = [] }, 1e-6, inputs: ["x"]);
    }

    /// <summary>A MobileNetV3 block as paddle2onnx writes it: depthwise Conv with strides (2,1),
    /// BatchNorm, Relu, a squeeze-and-excitation gate (GlobalAveragePool, Conv, Relu, Conv,
    /// HardSigmoid, Mul), pointwise Conv, hard-swish as Add/Clip/Mul/Div.</summary>
    [Theory]
    [InlineData(BatchNormMode.BatchStatistics)]
    [InlineData(BatchNormMode.RunningStatistics)]
    internal void Squeeze_excitation_block(BatchNormMode mode)
    {
        var net = new TestNet(DataType.Float, seed: 28);
        var x = net.Input("x", [2, 8, 6, 10]);
        var dw = net.Op("Conv", [x, net.Weight("dw", [8, 1, 3, 3])], Attribute.Ints("pads", [1, 1, 1, 1]), Attribute.Ints("strides", [2, 1]), Attribute.Int("group", 8));
        var bn = net.Op("BatchNormalization", [dw, net.Weight("bn.scale", [8], 0.1, 1), net.Weight("bn.bias", [8], 0.3),
            net.Weight("bn.mean", [8], 0.1), net.Weight("bn.var", [8], 0.1, 1)]);
        var r = net.Op("Relu", [bn]);
        // The gate's Relu and HardSigmoid sit in their linear zones (biases away from the kinks):
        // a gate element near a kink scales a whole channel, and finite differences across it
        // say nothing about the gradient. The kinks themselves are checked in the activation tests.
        var squeeze = net.Op("Relu", [net.Op("Conv", [net.Op("GlobalAveragePool", [r]), net.Weight("se1.w", [4, 8, 1, 1], 0.2), net.Weight("se1.b", [4], 0.1, 1.5)])]);
        var gate = net.Op("HardSigmoid", [net.Op("Conv", [squeeze, net.Weight("se2.w", [8, 4, 1, 1], 0.2), net.Weight("se2.b", [8], 0.2)])], Attribute.Float("alpha", 0.2f), Attribute.Float("beta", 0.5f));
        var excited = net.Op("Mul", [r, gate]);
        var pw = net.Op("Conv", [excited, net.Weight("pw", [6, 8, 1, 1])]);
        var shifted = net.Op("Clip", [net.Op("Add", [pw, net.Constant("three", [], [3])]), net.Constant("zero", [], [0]), net.Constant("six", [], [6])]);
        var y = net.Op("Div", [net.Op("Mul", [pw, shifted]), net.Constant("six_", [], [6])]);
        var trainable = new[] { "dw", "bn.scale", "bn.bias", "se1.w", "se1.b", "se2.w", "se2.b", "pw" };
        GradientCheck.VerifyProjected(net, y, 1e-2, trainable, ["x"], options => options with { BatchNorm = mode });
    }

    /// <summary>x -> Conv -> BatchNorm -> Relu -> MaxPool -> Conv -> Relu -> GlobalAveragePool ->
    /// Flatten -> Gemm -> softmax cross-entropy, with a symbolic batch, default parameter selection.</summary>
    [Fact]
    public void Small_cnn_classifier_end_to_end()
    {
        var net = new TestNet(DataType.Float, seed: 27);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 1, 8, 8], [4, 1, 8, 8]);
        // No bias before a BatchNorm on batch statistics: its gradient is exactly zero.
        var c1 = net.Op("Conv", [x, net.Weight("conv1.w", [4, 1, 3, 3])], Attribute.Ints("pads", [1, 1, 1, 1]));
        var bn = net.Op("BatchNormalization", [c1, net.Weight("bn.scale", [4], 0.1, 1), net.Weight("bn.bias", [4], 0.1),
            net.Weight("bn.mean", [4], 0.1), net.Weight("bn.var", [4], 0.1, 1)]);
        var r1 = net.Op("Relu", [bn]);
        var p1 = net.Op("MaxPool", [r1], Attribute.Ints("kernel_shape", [2, 2]), Attribute.Ints("strides", [2, 2]));
        var c2 = net.Op("Conv", [p1, net.Weight("conv2.w", [6, 4, 3, 3]), net.Weight("conv2.b", [6], 0.1)], Attribute.Ints("pads", [1, 1, 1, 1]), Attribute.Ints("strides", [2, 2]));
        var r2 = net.Op("Relu", [c2]);
        var gap = net.Op("GlobalAveragePool", [r2]);
        var flat = net.Op("Flatten", [gap]);
        var logits = net.Op("Gemm", [flat, net.Weight("fc.w", [3, 6]), net.Weight("fc.b", [3], 0.1)], Attribute.Int("transB", 1));
        var model = net.Finish(logits);
        var data = new Dictionary<string, TensorData>(net.Data) { ["labels"] = TensorData.Create(new long[] { 0, 2, 1, 2 }, 4) };

        var graph = GradientBuilder.Build(model);
        graph.Parameters.Select(p => p.Name).Should().Equal("conv1.w", "bn.scale", "bn.bias", "conv2.w", "conv2.b", "fc.w", "fc.b");
        graph.DataInputs.Should().Equal("x", "labels");
        graph.ModelOutputs.Should().Equal(logits.Name);
        GradientCheck.Verify(model, data, GradientOptions.Default, 1e-2, inputs: ["x"]);
    }
}
