using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>The driver and the builder: errors, fan-out, broadcast reduction, options, and
/// that the input model is left alone.</summary>
public class GradientBuilderTests
{
    private static Dictionary<string, TensorData> With(IReadOnlyDictionary<string, TensorData> data, string name, TensorData value) =>
        new(data) { [name] = value };

    [Fact]
    public void An_op_without_a_rule_is_named_with_its_node()
    {
        var net = new TestNet(DataType.Float);
        var x = net.Input("x", [1, 3, 4, 4]);
        var w = net.Weight("w", [3, 3, 1, 1]);
        var conv = net.Op("Conv", [x, w]);
        var lrn = net.Graph.AddNode(new Node("", "LRN", [conv], ["normalized"], [Attribute.Int("size", 3)], "lrn_block2")).Outputs[0];
        var model = net.Finish(lrn);
        var act = () => GradientBuilder.Build(model, GradientCheck.Mse("w"));
        act.Should().Throw<NoGradientRuleException>().WithMessage("no gradient rule for LRN (node lrn_block2)")
            .Which.OpType.Should().Be("LRN");
    }

    /// <summary>ORT runs a node as soon as its inputs exist: a ReLU mask built from the forward
    /// output alone would run in the forward pass and stay allocated until the backward pass (400 MB
    /// of ResNet-56's peak). The mask must depend on the output gradient it is applied to.</summary>
    [Fact]
    public void The_relu_mask_waits_for_the_output_gradient()
    {
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.Input("x", [2, 3, 4, 4]);
        var relu = net.Op("Relu", [net.Op("Conv", [x, net.Weight("w", [4, 3, 3, 3])])]);
        var y = net.Op("Conv", [relu, net.Weight("w2", [2, 4, 1, 1])]);
        var model = net.Finish(y);
        net.Target([2, 2, 2, 2]);
        var graph = GradientBuilder.Build(model, GradientCheck.Mse("w", "w2"));
        var reluOutput = graph.Model.Graph.Nodes.Single(n => n.OpType == "Relu").Outputs[0];
        var nodes = graph.Model.Graph.Nodes;
        // The mask (a HardSigmoid in float, a Cast of a comparison otherwise) and the Mul applying it.
        var apply = nodes.Single(n => n.OpType == "Mul" && n.Inputs.Any(v => v?.Producer?.OpType is "HardSigmoid" or "Cast"));
        var mask = apply.Inputs.Single(v => v?.Producer?.OpType is "HardSigmoid" or "Cast")!.Producer!;
        var outputGradient = apply.Inputs.Single(v => v != mask.Outputs[0])!;
        Ancestors(mask).Should().Contain(reluOutput.Producer!).And.Contain(outputGradient.Producer!);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w", "w2"), 1e-2);
    }

    /// <summary>The float ReLU mask is a saturating HardSigmoid (GradientContext.KeepWherePositive):
    /// it must be exactly 1 from the smallest normal float to the largest, where 2^127 y overflows,
    /// and exactly 0 at and below zero.</summary>
    [Fact]
    public void The_float_relu_gradient_is_exactly_dy_where_the_output_is_positive()
    {
        var net = new TestNet(DataType.Float);
        float[] xs = [-1f, 0f, 1.17549435e-38f, 1e-30f, 1f, 3e38f, -3e38f, float.MaxValue];
        var x = net.Input("x", [1, xs.Length]);
        net.SetData("x", TensorData.Create(xs, 1, xs.Length));
        var t = net.Op("Mul", [x, net.Constant("one", [], [1])]);
        var y = net.Op("Relu", [t]);
        var dy = Enumerable.Range(1, xs.Length).Select(i => (double)i).ToArray();
        var loss = net.Op("ReduceSum", [net.Op("Mul", [y, net.Constant("dy", [1, xs.Length], dy)])], Attribute.Int("keepdims", 0));
        var model = net.Finish(loss);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new ExistingLoss(loss.Name), Trainable = [], ValueGradients = [t.Name] });
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var actual = session.Evaluate(net.Data, allOutputs: true).Outputs[$"grad/{t.Name}"].As<float>();
        actual.Should().Equal(xs.Select((v, i) => v > 0 ? (float)dy[i] : 0f));
    }

    private static HashSet<Node> Ancestors(Node node)
    {
        var seen = new HashSet<Node>();
        var stack = new Stack<Node>([node]);
        while (stack.Count > 0)
            foreach (var input in stack.Pop().Inputs)
                if (input?.Producer is { } producer && seen.Add(producer)) stack.Push(producer);
        return seen;
    }

    [Fact]
    public void Ops_off_the_gradient_path_need_no_rule()
    {
        // The LRN only sees data, never a parameter: it needs no gradient.
        var net = new TestNet(DataType.Float, seed: 2);
        var x = net.Input("x", [2, 3, 4, 4]);
        var lrn = net.Graph.AddNode(new Node("", "LRN", [x], ["normalized"], [Attribute.Int("size", 3)], "lrn")).Outputs[0];
        var y = net.Op("Conv", [lrn, net.Weight("w", [2, 3, 3, 3])]);
        var model = net.Finish(y);
        net.Target([2, 2, 2, 2]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w"), 1e-2);
    }

    [Fact]
    public void Fan_out_contributions_are_summed()
    {
        var net = new TestNet(DataType.Double, seed: 3);
        var x = net.Input("x", [2, 5]);
        var w = net.Weight("w", [2, 5], 0.5, 1);
        var t = net.Op("Mul", [x, w]);
        var y = net.Op("Add", [net.Op("Add", [net.Op("Tanh", [t]), net.Op("Sigmoid", [t])]), net.Op("Mul", [t, w])]);
        var model = net.Finish(y);
        net.Target([2, 5]);
        var graph = GradientBuilder.Build(model, GradientCheck.Mse("w"));
        // t has three readers, w two: their gradients are sums.
        graph.Model.Graph.Nodes.Should().Contain(n => n.OpType == "Sum" && n.Name.StartsWith("grad/"));
        graph.Model.Graph.Nodes.Should().Contain(n => n.OpType == "Add" && n.Name.StartsWith("grad/"));
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w"), 1e-6, inputs: ["x"]);
    }

    [Fact]
    public void Broadcast_operands_get_gradients_reduced_to_their_shape()
    {
        var net = new TestNet(DataType.Double, seed: 4);
        var x = net.Input("x", [2, 3, 2, 2]);
        var bias = net.Weight("bias", [3, 1, 1]);
        var y = net.Op("Add", [x, bias]);
        var model = net.Finish(y);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new ExistingLoss(SumAll(net, y).Name), Trainable = ["bias"] });
        graph.Model.Graph.Nodes.Should().Contain(n => n.OpType == "ReduceSum" && n.Name.StartsWith("grad/"));
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var gradient = session.Evaluate(net.Data).Gradients["bias"];
        gradient.Dims.Should().Equal(3, 1, 1);
        // d(sum of x + bias)/d bias = number of positions each bias element is added to.
        gradient.As<double>().Should().AllSatisfy(g => g.Should().Be(8));
    }

    private static Value SumAll(TestNet net, Value y)
    {
        var total = net.Op("ReduceSum", [y], Attribute.Int("keepdims", 0));
        total.ElementType = net.Type;
        net.Graph.AddOutput(total);
        return total;
    }

    [Fact]
    public void Broadcast_reduction_decided_at_run_time_when_shapes_are_unknown()
    {
        // b's first dim is unknown at build time: the reduction axes are computed in the graph.
        var net = new TestNet(DataType.Double, seed: 5);
        var a = net.SymbolicInput("a", [Dim.Symbolic("N"), 3], [4, 3]);
        var b = net.SymbolicInput("b", [Dim.Unknown, 3], [1, 3]);
        var y = net.Op("Mul", [a, b]);
        var model = net.Finish(y);
        net.Target([4, 3]);
        var graph = GradientBuilder.Build(model, GradientCheck.Mse() with { ValueGradients = ["b"] });
        graph.Model.Graph.Nodes.Should().Contain(n => n.OpType == "Compress");
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["a", "b"]);
    }

    [Fact]
    public void The_input_model_is_not_modified()
    {
        var net = new TestNet(DataType.Float, seed: 6);
        var x = net.Input("x", [2, 3, 6, 6]);
        var c = net.Op("Conv", [x, net.Weight("w", [4, 3, 3, 3])]);
        var bn = net.Op("BatchNormalization", [c, net.Weight("s", [4]), net.Weight("b", [4]), net.Weight("m", [4]), net.Weight("v", [4], 0.1, 1)]);
        var p = net.Op("MaxPool", [bn], Attribute.Ints("kernel_shape", [2, 2]));
        var model = net.Finish(net.Op("Flatten", [p]));
        var before = OnnxModelFile.ToBytes(model);
        var nodes = model.Graph.Nodes.Count;
        GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        OnnxModelFile.ToBytes(model).Should().Equal(before);
        model.Graph.Nodes.Count.Should().Be(nodes);
        model.Graph.Initializers.Should().ContainKey("w");
        Verifier.Check(model.Graph).Should().BeEmpty();
    }

    [Fact]
    public void Weights_can_stay_initializers()
    {
        var net = new TestNet(DataType.Double, seed: 7);
        var x = net.Input("x", [3, 4]);
        var y = net.Op("Gemm", [x, net.Weight("w", [4, 2]), net.Weight("b", [2])]);
        var model = net.Finish(y);
        net.Target([3, 2]);
        var asInputs = GradientBuilder.Build(model, GradientCheck.Mse("w", "b"));
        var baked = GradientBuilder.Build(model, GradientCheck.Mse("w", "b") with { WeightsAsInputs = false });
        baked.Model.Graph.Initializers.Should().ContainKey("w");
        baked.Model.Graph.Inputs.Select(i => i.Name).Should().Equal("x", "target");
        asInputs.Model.Graph.Inputs.Select(i => i.Name).Should().BeEquivalentTo("x", "w", "b", "target");
        using var s1 = new GradientSession(asInputs, GradientCheck.Settings, GradientCheck.Runtime);
        using var s2 = new GradientSession(baked, GradientCheck.Settings, GradientCheck.Runtime);
        var g1 = s1.Evaluate(net.Data);
        var g2 = s2.Evaluate(net.Data);
        g2.Loss.Should().Be(g1.Loss);
        g2.Gradients["w"].As<double>().Should().Equal(g1.Gradients["w"].As<double>());
        var feedBaked = () => s2.Evaluate(net.Data, new Dictionary<string, TensorData> { ["w"] = g1.Gradients["w"] });
        feedBaked.Should().Throw<ArgumentException>().WithMessage("*baked*");
    }

    [Fact]
    public void Weights_stored_as_Constant_nodes_are_trained()
    {
        var net = new TestNet(DataType.Float, seed: 8);
        var x = net.Input("x", [2, 3, 5, 5]);
        var weights = DenseTensor.FromDoubles(DataType.Float, [2, 3, 3, 3], net.Normal(54, 0.5));
        var constant = net.Graph.AddNode(new Node("", "Constant", [], ["conv_w"], [Attribute.FromTensor("value", weights)], "const_w")).Outputs[0];
        var y = net.Op("Conv", [x, constant]);
        var model = net.Finish(y);
        net.Target([2, 2, 3, 3]);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        graph.Parameters.Select(p => p.Name).Should().Equal("conv_w");
        graph.Parameters[0].InitialValue.ToFloatArray().Should().Equal(weights.ToFloatArray());
        GradientCheck.Verify(model, net.Data, new GradientOptions { Loss = new MeanSquaredErrorLoss() }, 1e-2);
    }

    [Fact]
    public void Default_selection_skips_scalars_running_statistics_and_integers()
    {
        var net = new TestNet(DataType.Float, seed: 9);
        var x = net.Input("x", [2, 3, 4, 4]);
        var scaled = net.Op("Mul", [x, net.Constant("norm", [], [0.5])]);
        var c = net.Op("Conv", [scaled, net.Weight("w", [3, 3, 1, 1])]);
        var bn = net.Op("BatchNormalization", [c, net.Weight("s", [3]), net.Weight("b", [3]), net.Weight("m", [3]), net.Weight("v", [3], 0.1, 1)]);
        var shifted = net.Op("Add", [bn, net.Weight("offset", [1, 3, 1, 1])]);
        var flat = net.Op("Reshape", [shifted, net.Ints(2, -1)]);
        var model = net.Finish(flat);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        graph.Parameters.Select(p => p.Name).Should().Equal("w", "s", "b", "offset");
        graph.Parameters.Select(p => p.GradientOutput).Should().Equal("grad/w", "grad/s", "grad/b", "grad/offset");
    }

    [Fact]
    public void Unknown_names_are_rejected()
    {
        var net = new TestNet(DataType.Float);
        var x = net.Input("x", [2, 3]);
        var y = net.Op("Relu", [x]);
        var model = net.Finish(y);
        ((Action)(() => GradientBuilder.Build(model, new GradientOptions { Trainable = ["nope"] })))
            .Should().Throw<GradientException>().WithMessage("*'nope' is not an initializer*");
        ((Action)(() => GradientBuilder.Build(model, new GradientOptions { Loss = new SoftmaxCrossEntropyLoss("missing") })))
            .Should().Throw<GradientException>().WithMessage("*no value named 'missing'*");
    }

    [Fact]
    public void A_parameter_the_loss_does_not_reach_gets_a_zero_gradient()
    {
        var net = new TestNet(DataType.Double, seed: 10);
        var x = net.Input("x", [2, 3]);
        var used = net.Op("Mul", [x, net.Weight("used", [2, 3])]);
        var unused = net.Op("Mul", [x, net.Weight("unused", [2, 3])]);
        var model = net.Finish(used, unused);
        net.Target([2, 3]);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        graph.Parameters.Select(p => p.Name).Should().Equal("used", "unused");
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var result = session.Evaluate(net.Data);
        result.Gradients["unused"].As<double>().Should().AllSatisfy(g => g.Should().Be(0));
        result.Gradients["used"].As<double>().Should().Contain(g => g != 0);
    }

    [Fact]
    public void Intermediate_value_gradients_are_outputs()
    {
        var net = new TestNet(DataType.Double, seed: 11);
        var x = net.Input("x", [2, 3]);
        var w = net.Weight("w", [2, 3]);
        var h = net.Op("Tanh", [net.Op("Mul", [x, w])]);
        var y = net.Op("Mul", [h, h]);
        var model = net.Finish(y);
        net.Target([2, 3]);
        var graph = GradientBuilder.Build(model, GradientCheck.Mse("w") with { ValueGradients = [h.Name] });
        graph.ValueGradientOutputs[h.Name].Should().Be($"grad/{h.Name}");
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var actual = session.Evaluate(net.Data, allOutputs: true).Outputs[$"grad/{h.Name}"].As<double>();

        // loss = mean((h^2 - t)^2) over 6 elements: dL/dh = 4 h (h^2 - t) / 6.
        var xs = net.Data["x"].As<double>();
        var ws = w.ConstValue!.ToDoubleArray();
        var t = net.Data["target"].As<double>();
        for (int i = 0; i < 6; i++)
        {
            double hi = Math.Tanh(xs[i] * ws[i]);
            actual[i].Should().BeApproximately(4 * hi * (hi * hi - t[i]) / 6, 1e-12);
        }
    }
}
