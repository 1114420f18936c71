using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.IR.ShapeInference;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Lowering;
using OnnxPrune.Tests.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>
/// The NCHWc lowering of training-graph convolutions: every shape the training graphs of the
/// bundled ResNets produce (forward, input gradient, weight gradient as a Conv over transposed
/// tensors) gives the standard Conv's numbers, with the weights fed at run time as in training;
/// what the kernels cannot take is left alone; gradients through lowered sessions still match
/// finite differences.
/// </summary>
public class BlockedConvolutionsTests
{
    private static int Block => NchwcSupport.BlockSize(OrtTestLibrary.Runtime);

    [Fact]
    public void This_runtime_has_the_blocked_kernels_with_a_block_of_8_or_16()
    {
        // ORT's MLAS (1.30 and 1.32) blocks channels by 16 with AVX-512 and by 8 with AVX2 (x64 only).
        if (System.Runtime.Intrinsics.X86.Avx2.IsSupported) Block.Should().BeOneOf(8, 16);
        else Block.Should().Be(0);
    }

    [NchwcTheory]
    [InlineData("3x3 16->16", 2, 16, 16, 3, 1, 1, 1, 8)]
    [InlineData("3x3 32->16 stride 2", 2, 32, 16, 3, 2, 1, 1, 9)]
    [InlineData("1x1 16->32 stride 2 (projection shortcut)", 2, 16, 32, 1, 2, 0, 1, 8)]
    [InlineData("first layer, 1 input channel (NCHW input, OIHWBo filter)", 2, 1, 16, 3, 1, 1, 1, 9)]
    [InlineData("3 input channels", 2, 3, 16, 3, 1, 1, 1, 6)]
    [InlineData("weight gradient: batch 32 as channels, 7x7 kernel over 7x7, pads 1", 16, 32, 16, 7, 1, 1, 1, 7)]
    [InlineData("dilation 2", 16, 16, 16, 4, 1, 1, 2, 9)]
    [InlineData("weight gradient of a stride-2 conv: dilation 2, kernel spanning the input", 16, 16, 16, 5, 1, 1, 2, 9)]
    [InlineData("weight gradient, 32 output channels, 6x6 kernel over 6x6", 16, 16, 32, 6, 1, 1, 1, 6)]
    [InlineData("grouped weight gradient: 2 groups of 16 samples, 32 outputs", 4, 32, 32, 6, 1, 1, 1, 6, 2)]
    [InlineData("grouped 3x3, 4 groups of 16 channels, stride 2", 2, 64, 64, 3, 2, 1, 1, 8, 4)]
    public void Lowered_convolution_gives_the_standard_convs_numbers(string name, long n, long c, long m, long k, long stride, long pad, long dilation, long size, long group = 1)
    {
        _ = name;
        var net = new TestNet(DataType.Float, seed: 7);
        var x = net.Input("x", [n, c, size, size]);
        var w = net.Input("w", [m, c / group, k, k], scale: 0.3);
        var b = net.Input("b", [m]);
        var y = net.Op("Conv", [x, w, b], Attribute.Ints("kernel_shape", [k, k]), Attribute.Ints("strides", [stride, stride]),
            Attribute.Ints("pads", [pad, pad, pad, pad]), Attribute.Ints("dilations", [dilation, dilation]), Attribute.Int("group", group));
        var model = net.Finish(y);
        var expected = Run(model, net.Data);

        var lowered = model.Clone();
        int count = BlockedConvolutions.Lower(lowered, Block);
        count.Should().Be(1);
        // The weight-gradient form is padded explicitly, by a depthwise 1x1 Conv; no other standard Conv is left.
        bool spansInput = (k - 1) * dilation + 1 >= size && pad > 0;
        var standard = lowered.Graph.Nodes.Where(node => node.IsOnnxDomain && node.OpType == "Conv").ToList();
        standard.Should().HaveCount(spansInput ? 1 : 0);
        foreach (var padding in standard)
        {
            padding.Attributes.GetInt("group", 1).Should().Be(c);
            padding.Attributes["kernel_shape"]!.AsInts().Should().Equal(1, 1);
            padding.Attributes["pads"]!.AsInts().Should().Equal(pad, pad, pad, pad);
        }
        var actual = Run(lowered, net.Data);
        actual.Length.Should().Be(expected.Length);
        double scale = expected.Max(v => Math.Abs(v));
        expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max().Should().BeLessThan((float)(1e-5 * scale));
    }

    [Theory]
    [InlineData("grouped, 8 input channels per group", 16, 32, 2, 2)]
    [InlineData("output channels off the block", 16, 20, 1, 3)]
    [InlineData("input channels off the block", 20, 16, 1, 3)]
    [InlineData("1-D", 16, 16, 1, 1)]
    public void Convolutions_the_kernels_cannot_take_stay_standard(string name, long c, long m, long group, int spatialRank)
    {
        _ = name;
        var net = new TestNet(DataType.Float, seed: 7);
        var spatial = Enumerable.Repeat(6L, spatialRank).ToArray();
        var x = net.Input("x", new long[] { 2, c }.Concat(spatial).ToArray());
        var w = net.Input("w", new long[] { m, c / group }.Concat(Enumerable.Repeat(3L, spatialRank)).ToArray());
        var y = net.Op("Conv", [x, w], Attribute.Int("group", group));
        var model = net.Finish(y);
        BlockedConvolutions.Lower(model, 16).Should().Be(0);
        BlockedConvolutions.Lower(model, 8).Should().Be(c % (8 * group) == 0 && m % (8 * group) == 0 && spatialRank == 2 ? 1 : 0);
    }

    [Fact]
    public void Double_convolutions_stay_standard()
    {
        var net = new TestNet(DataType.Double, seed: 7);
        var x = net.Input("x", [2, 16, 6, 6]);
        var w = net.Input("w", [16, 16, 3, 3]);
        var model = net.Finish(net.Op("Conv", [x, w]));
        BlockedConvolutions.Lower(model, 16).Should().Be(0);
    }

    [Theory]
    [InlineData(16)]
    [InlineData(32)]
    public void Gradients_through_the_blocked_kernels_match_finite_differences(long channels)
    {
        // Batch 16 and 16 or 32 channels: every Conv of the training graph, the weight-gradient
        // Convs included, runs on the blocked kernels; their inputs interleave one or more blocks.
        var (model, options) = TwoConvNet(channels, 16, out var net);

        var graph = GradientBuilder.Build(model, options with { ValueGradients = ["x"] });
        using (var session = new GradientSession(graph, GradientCheck.Settings, OrtTestLibrary.Runtime))
            session.BlockedConvolutionCount.Should().Be(Block > 0 ? 5 : 0, "2 forward convs, 2 weight gradients, the stride-1 input gradient (the stride-2 one is a ConvTranspose)");

        GradientCheck.Verify(model, net.Data, options, 1e-2, inputs: ["x"]);
    }

    [Theory]
    [InlineData(1, 32)]
    [InlineData(16, 32)]
    [InlineData(32, 32)]
    [InlineData(64, 64)]
    public void Blocked_weight_gradients_equal_the_standard_ones(long channels, long batch)
    {
        // Batch 32: the weight-gradient Convs split the batch into groups (finite differences at
        // this size are too noisy in float32 to tell 1% errors, so compare with standard kernels).
        // One channel: the first weight gradient's input is X reshaped, with nothing to interleave.
        // 64 channels, batch 64: w1's 2 batch groups hold 2 blocks of 16 images each and its 32
        // filters 2 blocks, so its filter from the blocked dY swaps block axes (BlockedGradientFilter).
        var (model, options) = TwoConvNet(channels, batch, out var net, hidden: channels == 64 ? 32 : 16);
        var blocked = GradientBuilder.Build(model, options);
        var standard = GradientBuilder.Build(model, options with { BlockedConvolutions = false, ConvWeightGradient = ConvWeightGradient.ShiftedMatMul });
        using var blockedSession = new GradientSession(blocked, GradientCheck.Settings, OrtTestLibrary.Runtime);
        using var standardSession = new GradientSession(standard, GradientCheck.Settings, OrtTestLibrary.Runtime);
        blockedSession.BlockedConvolutionCount.Should().Be(Block > 0 ? 4 : 0, "2 forward convs and 2 weight gradients (no gradient for x here)");
        var actual = blockedSession.Evaluate(net.Data).Gradients;
        var expected = standardSession.Evaluate(net.Data).Gradients;
        foreach (var name in new[] { "w1", "w2" })
        {
            var e = expected[name].As<float>();
            var a = actual[name].As<float>();
            double scale = e.Max(v => Math.Abs(v));
            e.Zip(a, (x, y) => Math.Abs(x - y)).Max().Should().BeLessThan((float)(1e-5 * scale), name);
        }
    }

    [NchwcFact]
    public void The_weight_gradient_filter_comes_from_the_blocked_output_gradient()
    {
        var nodes = LoweredTwoConvNetGradients();
        var weightGradients = nodes.Where(n => n.Domain == NchwcSupport.Domain && n.OpType == "Conv" && n.Attributes["dilations"] is not null).ToList();
        weightGradients.Should().HaveCount(2);
        foreach (var conv in weightGradients)
        {
            // filter = Reshape(ReorderInput[channels_last](Reshape(ReorderInput(dY)))) with dY (batch, 16, H, W).
            var filter = conv.Input(1)!.Producer!;
            filter.OpType.Should().Be("Reshape");
            var rows = filter.Input(0)!.Producer!;
            rows.OpType.Should().Be("ReorderInput");
            rows.Attributes.GetInt("channels_last", 0).Should().Be(1);
            // dY in the blocked layout: ReorderInput of an NCHW dY, or dY's own blocked form (BlockedLayoutPropagation).
            var blocked = rows.Input(0)!.Producer!.Input(0)!.Producer!;
            blocked.OpType.Should().NotBe("ReorderOutput");
            if (blocked.OpType == "ReorderInput") blocked.Attributes.GetInt("channels_last", 0).Should().Be(0);
        }
        nodes.Should().NotContain(n => n.OpType == "Transpose" && n.Attributes["perm"]!.AsInts().SequenceEqual(new long[] { 0, 2, 1, 3, 4 }),
            "the transposed dY kernel of the standard graph is no longer computed");
    }

    [NchwcFact]
    public void The_weight_gradients_interleaved_input_comes_from_the_blocked_layout()
    {
        var nodes = LoweredTwoConvNetGradients();
        nodes.Should().NotContain(n => n.OpType == "Transpose" && n.Attributes["perm"]!.AsInts().SequenceEqual(new long[] { 1, 0, 3, 4, 2 }),
            "the element-wise 5-D Transpose that interleaves channels is replaced by ReorderInput");
        // Both weight gradients' inputs are padded by 1: a blocked depthwise Conv reading x through
        // ReorderInput, and the Relu output h in the blocked form it was computed in.
        var paddings = nodes.Where(n => n.Domain == NchwcSupport.Domain && n.OpType == "Conv"
            && n.Attributes.GetInt("group", 1) > 1 && n.Attributes["kernel_shape"]!.AsInts().SequenceEqual(new long[] { 1, 1 })
            && n.Attributes["pads"] is not null).ToList();
        paddings.Should().HaveCount(2);
        paddings.Select(n => n.Input(0)!.Producer!.OpType).Should().BeEquivalentTo(["ReorderInput", "Relu"]);
        paddings.Should().OnlyContain(n => n.Attributes["pads"]!.AsInts().SequenceEqual(new long[] { 1, 1, 1, 1 }));
        // The weight-gradient Convs: kernel dilated by the block along the width (stride 1, then 2).
        var weightGradients = nodes.Where(n => n.Domain == NchwcSupport.Domain && n.OpType == "Conv" && n.Attributes["dilations"] is not null).ToList();
        weightGradients.Select(n => n.Attributes["dilations"]!.AsInts()).Should()
            .ContainEquivalentOf(new long[] { 1, Block }).And.ContainEquivalentOf(new long[] { 2, 2 * Block });
        // Batch 32 over 2 images (w1's 2 blocks of channels) or 1 image (w2): 2 groups of 16 samples
        // with a block of 16; with a block of 8, 4 groups for w1 and 4 for w2 (until groups x images >= 8).
        weightGradients.Select(n => n.Attributes.GetInt("group", 1)).Should().BeEquivalentTo(Block == 16 ? new long[] { 2, 2 } : new long[] { 4, 4 });
    }

    [NchwcFact]
    public void A_single_channel_weight_gradient_runs_in_batch_groups()
    {
        var (model, options) = TwoConvNet(1, 2 * Block, out _);
        var lowered = GradientBuilder.Build(model, options).Model.Clone();
        BlockedConvolutions.Lower(lowered, Block);
        // w1's weight gradient: kernel dY (6x6), the batch of 2 blocks split into 2 groups.
        var conv = lowered.Graph.Nodes.Single(n => n.Domain == NchwcSupport.Domain && n.OpType == "Conv"
            && n.Attributes["kernel_shape"]?.AsInts().SequenceEqual(new long[] { 6, 6 }) == true);
        conv.Attributes.GetInt("group", 1).Should().Be(2);
    }

    /// <summary>Conv 3x3 pad 1 -> Relu -> Conv 3x3 pad 1 stride 2 on a (batch, C, 6, 6) input with a
    /// projection loss; w1 and w2 trainable.</summary>
    private static (Model Model, GradientOptions Options) TwoConvNet(long channels, long batch, out TestNet net, long hidden = 16)
    {
        net = new TestNet(DataType.Float, seed: 9);
        var x = net.Input("x", [batch, channels, 6, 6]);
        var w1 = net.Weight("w1", [hidden, channels, 3, 3], scale: 0.2);
        var w2 = net.Weight("w2", [16, hidden, 3, 3], scale: 0.2);
        var h = net.Op("Relu", [net.Op("Conv", [x, w1], Attribute.Ints("pads", [1, 1, 1, 1]))]);
        var y = net.Op("Conv", [h, w2], Attribute.Ints("pads", [1, 1, 1, 1]), Attribute.Ints("strides", [2, 2]));
        var model = net.Finish(y);
        var loss = GradientCheck.AppendProjectionLoss(model, y, seed: 17);
        return (model, new GradientOptions { Loss = new ExistingLoss(loss), Trainable = ["w1", "w2"], ChannelBlock = Block });
    }

    [NchwcFact]
    public void A_residual_block_stays_in_the_blocked_layout_between_its_convolutions()
    {
        // conv -> BN -> Relu -> conv -> BN -> + shortcut -> Relu, as in ResNet: batch 32, 16 channels.
        var net = new TestNet(DataType.Float, seed: 5);
        var x = net.Input("x", [32, Block, 6, 6]);
        Value Bn(Value v, string name) => net.Op("BatchNormalization", [v, net.Weight($"{name}.s", [Block], 0.2, 1), net.Weight($"{name}.b", [Block], 0.2),
            net.Weight($"{name}.m", [Block], 0), net.Weight($"{name}.v", [Block], 0, 1)]);
        Value Conv(Value v, string name) => net.Op("Conv", [v, net.Weight(name, [Block, Block, 3, 3], 0.2)], Attribute.Ints("pads", [1, 1, 1, 1]));
        var h0 = net.Op("Relu", [Bn(Conv(x, "w0"), "bn0")]);
        var h1 = net.Op("Relu", [Bn(Conv(h0, "w1"), "bn1")]);
        var y = net.Op("Relu", [net.Op("Add", [Bn(Conv(h1, "w2"), "bn2"), h0])]);
        var model = net.Finish(y);
        var loss = GradientCheck.AppendProjectionLoss(model, y, seed: 21);
        var options = new GradientOptions { Loss = new ExistingLoss(loss), Trainable = ["w0", "w1", "w2", "bn1.s", "bn2.b"], ChannelBlock = Block };

        var lowered = GradientBuilder.Build(model, options).Model.Clone();
        BlockedConvolutions.Lower(lowered, Block);
        var nodes = lowered.Graph.Nodes;
        nodes.Should().NotContain(n => n.OpType == "ReorderInput" && n.Input(0)!.Producer != null && n.Input(0)!.Producer!.OpType == "ReorderOutput",
            "a tensor already blocked is not reordered to NCHW and back");
        // Back to NCHW only where a node needs it: the loss (y) and each weight gradient's small output.
        nodes.Count(n => n.OpType == "ReorderOutput").Should().BeLessThanOrEqualTo(4);
        // The BatchNorm maps with their Relu (and the residual Add) run on the blocked depthwise kernel.
        nodes.Count(n => n.Domain == NchwcSupport.Domain && n.OpType == "Conv" && n.Attributes.GetString("activation", "") == "Relu").Should().Be(3);

        var blocked = GradientBuilder.Build(model, options);
        var standard = GradientBuilder.Build(model, options with { BlockedConvolutions = false, ConvWeightGradient = ConvWeightGradient.ShiftedMatMul });
        using var blockedSession = new GradientSession(blocked, GradientCheck.Settings, OrtTestLibrary.Runtime);
        using var standardSession = new GradientSession(standard, GradientCheck.Settings, OrtTestLibrary.Runtime);
        var actual = blockedSession.Evaluate(net.Data);
        var expected = standardSession.Evaluate(net.Data);
        actual.Loss.Should().BeApproximately(expected.Loss, 1e-5 * Math.Abs(expected.Loss));
        foreach (var name in options.Trainable!)
        {
            var e = expected.Gradients[name].As<float>();
            var a = actual.Gradients[name].As<float>();
            double scale = e.Max(v => Math.Abs(v));
            e.Zip(a, (p, q) => Math.Abs(p - q)).Max().Should().BeLessThan((float)(1e-4 * scale), name);
        }
    }

    [NchwcTheory]
    [InlineData(16, 32, 16)]
    [InlineData(32, 32, 32)]
    [InlineData(64, 64, 32)]
    public void The_nchwc_shape_rules_give_the_shapes_onnx_runtime_computes(long channels, long batch, long hidden)
    {
        // Every blocked value of a lowered training graph (ReorderInput in both layouts, the blocked
        // Convs with their fused maps, ReorderOutput, the propagated element-wise ops) is inferred
        // by the rules, and ORT, made to return each one, agrees with every dim.
        var (model, options) = TwoConvNet(channels, batch, out var net, hidden);
        var graph = GradientBuilder.Build(model, options);
        var lowered = graph.Model.Clone();
        BlockedConvolutions.Lower(lowered, Block);
        var info = new ShapeInferencer(new ShapeInferenceOptions { WriteToGraph = false, NchwcBlock = Block }).Run(lowered);
        var nchwc = lowered.Graph.Nodes.Where(n => n.Domain == NchwcSupport.Domain).ToList();
        nchwc.Select(n => (n.OpType, n.Attributes.GetInt("channels_last", 0))).Distinct().Should()
            .Contain([("ReorderInput", 0L), ("ReorderInput", 1L), ("ReorderOutput", 0L), ("Conv", 0L)]);
        var values = nchwc.Select(n => n.Outputs[0]).Where(v => !v.IsGraphOutput).ToList();
        foreach (var v in values)
        {
            info.GetShape(v)?.TryGetSizes().Should().NotBeNull($"{v.Producer!.OpType} '{v.Name}' has all its dims inferred");
            lowered.Graph.AddOutput(v);
        }

        using var gradients = new GradientSession(graph, GradientCheck.Settings, OrtTestLibrary.Runtime);
        var feeds = new Dictionary<string, TensorData>(net.Data);
        foreach (var (name, value) in gradients.InitialParameters) feeds[name] = value;
        using var session = InferenceSession.FromModel(lowered, GradientCheck.Settings, OrtTestLibrary.Runtime);
        var actual = session.Run(feeds, values.Select(v => v.Name).ToList());
        foreach (var v in values)
            actual[v.Name].Dims.Should().Equal(info.GetShape(v)!.TryGetSizes()!, $"{v.Producer!.OpType} '{v.Name}'");
    }

    /// <summary>The nodes of TwoConvNet's training graph (2 blocks of channels, batch 32) lowered to the blocked kernels.</summary>
    private static IReadOnlyList<Node> LoweredTwoConvNetGradients()
    {
        var (model, options) = TwoConvNet(2 * Block, 32, out _);
        var lowered = GradientBuilder.Build(model, options).Model.Clone();
        BlockedConvolutions.Lower(lowered, Block);
        return lowered.Graph.Nodes;
    }

    private static float[] Run(Model model, IReadOnlyDictionary<string, TensorData> data)
    {
        using var session = InferenceSession.FromModel(model, new SessionSettings { IntraOpThreads = 2 }, OrtTestLibrary.Runtime);
        return session.Run(data).Values.First().As<float>();
    }
}
