using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Latency;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Tests.Autodiff;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Latency;

/// <summary>Layer signatures: same configuration, same key; anything that changes the kernel ORT runs, another key.</summary>
public class LayerSignatureTests
{
    /// <summary>a, b: 8→8 3x3 at 16x16 + Relu; c: 8→16 stride 2 + Relu; d: 16→16 at 8x8 + BatchNormalization + Relu;
    /// e: depthwise 16 at 8x8 (no activation); pool → Gemm 16→4.</summary>
    private static (Model Model, ChannelAnalysis Analysis) Net()
    {
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.SymbolicInput("x", [Dim.Symbolic("N"), 8, 16, 16], [1, 8, 16, 16]);
        var pads = Attribute.Ints("pads", [1, 1, 1, 1]);
        Value Conv(string name, Value input, int cin, int cout, params Attribute[] extra) =>
            net.Op("Conv", [input, net.Weight("w" + name, [cout, cin, 3, 3]), net.Weight("b" + name, [cout])], [pads, .. extra]);
        var a = net.Op("Relu", [Conv("a", x, 8, 8)]);
        var b = net.Op("Relu", [Conv("b", a, 8, 8)]);
        var c = net.Op("Relu", [Conv("c", b, 8, 16, Attribute.Ints("strides", [2, 2]))]);
        var ones = Enumerable.Repeat(1.0, 16).ToArray();
        var d = net.Op("Relu", [net.Op("BatchNormalization", [Conv("d", c, 16, 16), net.Weight("sd", [16]), net.Weight("td", [16]),
            net.Weight("md", [16]), net.Constant("vd", [16], ones)])]);
        var e = net.Op("Conv", [d, net.Weight("we", [16, 1, 3, 3]), net.Weight("be", [16])], pads, Attribute.Int("group", 16));
        var pooled = net.Op("Flatten", [net.Op("GlobalAveragePool", [e])]);
        var model = net.Finish(net.Op("Gemm", [pooled, net.Weight("wg", [4, 16]), net.Weight("bg", [4])], Attribute.Int("transB", 1)));
        return (model, ChannelAnalysis.Run(model));
    }

    private static Dictionary<string, LayerShape> Layers()
    {
        var (model, analysis) = Net();
        return model.Graph.Nodes.Where(n => n.OpType is "Conv" or "Gemm")
            .ToDictionary(n => n.Input(1)!.Name[1..2], n => LayerReader.Read(n, analysis.Context, batch: 1).Layer!);
    }

    [Fact]
    public void Layers_of_the_same_configuration_share_a_key()
    {
        var layers = Layers();
        layers["a"].Signature.Should().Be(layers["b"].Signature);
        layers["a"].Signature.Key.Should().Be(layers["b"].Signature.Key);
        (layers["a"].In, layers["a"].Out).Should().Be((8, 8));
        layers["a"].Signature.Activation.Should().Be("Relu", "ORT fuses the Relu after a Conv");
    }

    [Fact]
    public void Strides_spatial_dims_grouping_and_activation_change_the_key()
    {
        var layers = Layers();
        layers["c"].Signature.Key.Should().NotBe(layers["b"].Signature.Key, "stride 2");
        layers["d"].Signature.Key.Should().NotBe(layers["b"].Signature.Key, "8x8 input instead of 16x16");
        layers["d"].Signature.InputDims.Should().Equal(8, 8);
        layers["d"].Signature.Activation.Should().Be("Relu", "ORT folds the BatchNormalization into the Conv, then fuses the Relu");
        layers["e"].Signature.Kind.Should().Be(LayerKind.Depthwise);
        layers["e"].Signature.Activation.Should().BeNull();
        layers["e"].Signature.Key.Should().NotBe(layers["d"].Signature.Key);
        (layers["c"].In, layers["c"].Out).Should().Be((8, 16));
        layers["g"].Signature.Op.Should().Be("Gemm");
        (layers["g"].In, layers["g"].Out).Should().Be((16, 4));
    }

    [Fact]
    public void A_signature_with_another_batch_is_another_key()
    {
        var s = Layers()["a"].Signature;
        var other = new LayerSignature(s.Op, s.Kind, s.Groups, s.DepthMultiplier, s.Kernel, s.Strides, s.Pads, s.Dilations, s.InputDims, 8, s.Activation);
        other.Key.Should().NotBe(s.Key);
        new LayerSignature(s.Op, s.Kind, s.Groups, s.DepthMultiplier, s.Kernel, s.Strides, s.Pads, s.Dilations, s.InputDims, 1, s.Activation).Should().Be(s);
    }

    [Fact]
    public void The_probe_model_runs_with_the_widths_asked_for()
    {
        foreach (var layer in Layers().Values)
        {
            const int cout = 12;
            int cin = layer.Signature.Kind == LayerKind.Depthwise ? cout : 4;
            var model = LayerProbe.Build(layer.Signature, cin, cout);
            using var session = InferenceSession.FromModel(model, new SessionSettings { IntraOpThreads = 1 });
            session.Inputs.Single().Dims[1].Should().Be(cin);
            var outputs = session.Run(RandomInputs.Create(session.Inputs, 1, seed: 0));
            outputs.Values.Single().Dims[1].Should().Be(cout, layer.Signature.Key);
        }
    }

    [Fact]
    public void A_real_probe_measures_a_positive_time()
    {
        var s = Layers()["d"].Signature;
        LayerProbe.Measure(s, 16, 16, new SessionSettings { IntraOpThreads = 1 }).Should().BePositive();
    }
}
