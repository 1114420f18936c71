using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Tests.Runtime;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.IR;

/// <summary>
/// BatchNormalization folded into the layer before it computes what the unfolded model computed
/// (ONNX Runtime on both, random inputs), removes every foldable BN and leaves the others alone.
/// </summary>
public class FoldBatchNormalizationTests
{
    private static readonly SessionSettings TwoThreads = new() { IntraOpThreads = 2 };

    /// <summary>Runs the pass under the pass manager with the verifier on; returns whether it changed the model.</summary>
    private static bool Fold(Model model, IReadOnlySet<string>? only = null) =>
        new PassManager([new FoldBatchNormalization(only)], verifyAfterEachPass: true).Run(model);

    private static int BatchNorms(Model m) => m.Graph.Nodes.Count(n => n.OpType == "BatchNormalization");

    /// <summary>Largest |a − b| over every output, relative to the largest |a|; both models on the same random inputs.</summary>
    internal static double RelativeDifference(byte[] a, byte[] b, long batch, int seed = 7)
    {
        _ = OrtTestLibrary.Runtime;
        using var sa = InferenceSession.FromBytes(a, TwoThreads);
        using var sb = InferenceSession.FromBytes(b, TwoThreads);
        var inputs = RandomInputs.Create(sa.Inputs, batch, seed);
        var oa = sa.Run(inputs);
        var ob = sb.Run(inputs);
        double worst = 0;
        foreach (var (name, value) in oa)
        {
            ob[name].Dims.Should().Equal(value.Dims, $"output '{name}' keeps its shape");
            var x = TensorConversion.ToDoubles(value);
            var y = TensorConversion.ToDoubles(ob[name]);
            double scale = Math.Max(1e-12, x.Max(Math.Abs));
            worst = Math.Max(worst, x.Zip(y, (p, q) => Math.Abs(p - q)).Max() / scale);
        }
        return worst;
    }

    [Fact]
    public void Folded_resnet56_has_no_batchnorm_and_computes_the_same_outputs()
    {
        var path = Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet56-fmnist.onnx");
        var model = OnnxModelFile.Load(path);
        var before = OnnxModelFile.ToBytes(model);
        int norms = BatchNorms(model);
        norms.Should().BeGreaterThan(50);

        Fold(model).Should().BeTrue();
        BatchNorms(model).Should().Be(0, "every BN of the ResNet directly follows a conv it alone reads");
        model.Graph.Outputs.Select(o => o.Name).Should().Equal(OnnxModelFile.Load(path).Graph.Outputs.Select(o => o.Name));
        model.Graph.Initializers.Keys.Should().NotContain(k => k.Contains("running", StringComparison.OrdinalIgnoreCase), "the BN parameters are gone");
        RelativeDifference(before, OnnxModelFile.ToBytes(model), batch: 4).Should().BeLessThan(1e-4);
        Fold(model).Should().BeFalse("nothing is left to fold");
    }

    /// <summary>x → layer → BN(random γ, β, μ, var) → y, with 6 output channels.</summary>
    private static Model LayerThenNorm(string op, bool bias, bool transB = false, long group = 1)
    {
        var random = new Random(3);
        float[] Random(long n, double offset = 0) => Enumerable.Range(0, (int)n).Select(_ => (float)(random.NextDouble() * 2 - 1 + offset)).ToArray();
        var g = new Graph("g");
        const long c = 6;
        Value x;
        Node layer;
        if (op == "Gemm")
        {
            x = new Value("x", DataType.Float, new Shape([Dim.Symbolic("N"), Dim.Known(5)]));
            g.AddInput(x);
            long[] dims = transB ? [c, 5] : [5, c];
            var w = g.AddInitializer("w", DenseTensor.FromFloats(dims, Random(30)));
            var inputs = new List<Value?> { x, w };
            if (bias) inputs.Add(g.AddInitializer("b", DenseTensor.FromFloats([c], Random(c))));
            layer = g.AddNode(new Node("", "Gemm", inputs, ["h"], [Attribute.Int("transB", transB ? 1 : 0), Attribute.Float("beta", 0.5f), Attribute.Float("alpha", 1.5f)], "fc"));
        }
        else
        {
            long cin = 4;
            x = new Value("x", DataType.Float, new Shape([Dim.Symbolic("N"), Dim.Known(cin), Dim.Known(5), Dim.Known(5)]));
            g.AddInput(x);
            long[] dims = op == "Conv" ? [c, cin / group, 3, 3] : [cin, c / group, 3, 3];
            var w = g.AddInitializer("w", DenseTensor.FromFloats(dims, Random(dims.Aggregate(1L, (a, b) => a * b))));
            var inputs = new List<Value?> { x, w };
            if (bias) inputs.Add(g.AddInitializer("b", DenseTensor.FromFloats([c], Random(c))));
            layer = g.AddNode(new Node("", op, inputs, ["h"], [Attribute.Int("group", group), Attribute.Ints("pads", [1, 1, 1, 1])], "layer"));
        }
        var gamma = g.AddInitializer("gamma", DenseTensor.FromFloats([c], Random(c, 1)));
        var beta = g.AddInitializer("beta", DenseTensor.FromFloats([c], Random(c)));
        var mean = g.AddInitializer("mean", DenseTensor.FromFloats([c], Random(c)));
        var variance = g.AddInitializer("var", DenseTensor.FromFloats([c], Random(c, 1.5)));
        var bn = g.AddNode(new Node("", "BatchNormalization", [layer.Outputs[0], gamma, beta, mean, variance], ["y"], [Attribute.Float("epsilon", 1e-3f)], "bn"));
        g.AddOutput(bn.Outputs[0]);
        var model = new Model(g);
        model.OpsetImports[""] = 13;
        return model;
    }

    [Theory]
    [InlineData("Conv", true, false, 1)]
    [InlineData("Conv", false, false, 2)]
    [InlineData("ConvTranspose", true, false, 1)]
    [InlineData("ConvTranspose", false, false, 2)]
    [InlineData("Gemm", true, true, 1)]
    [InlineData("Gemm", true, false, 1)]
    [InlineData("Gemm", false, false, 1)]
    public void Each_layer_kind_folds_exactly(string op, bool bias, bool transB, long group)
    {
        var model = LayerThenNorm(op, bias, transB, group);
        var before = OnnxModelFile.ToBytes(model);
        Fold(model).Should().BeTrue();
        BatchNorms(model).Should().Be(0);
        model.Graph.Outputs.Single().Name.Should().Be("y", "the layer's output takes the BN output's name");
        model.Graph.Nodes.Single().Inputs.Should().HaveCount(3, "a bias exists after folding");
        model.Graph.Initializers.Keys.Should().BeEquivalentTo(["w", bias ? "b" : model.Graph.Nodes.Single().Inputs[2]!.Name]);
        RelativeDifference(before, OnnxModelFile.ToBytes(model), batch: 3).Should().BeLessThan(1e-5);
    }

    [Fact]
    public void A_layer_output_read_elsewhere_or_a_bn_not_named_is_left_alone()
    {
        var model = LayerThenNorm("Conv", true);
        var layerOut = model.Graph.Nodes[0].Outputs[0];
        Fold(model, new HashSet<string> { "other" }).Should().BeFalse("only BNs named in the set fold");
        Fold(model, new HashSet<string> { "bn" }).Should().BeTrue();

        model = LayerThenNorm("Conv", true);
        layerOut = model.Graph.Nodes[0].Outputs[0];
        model.Graph.AddOutput(layerOut);
        Fold(model).Should().BeFalse("the un-normalised output is read too");
        BatchNorms(model).Should().Be(1);
    }

    [Fact]
    public void A_weight_shared_with_another_layer_is_copied_not_changed()
    {
        var model = LayerThenNorm("Conv", true);
        var g = model.Graph;
        var w = g.Initializers["w"];
        var other = g.AddNode(new Node("", "Conv", [g.Inputs[0], w], ["z"], [Attribute.Ints("pads", [1, 1, 1, 1])], "other"));
        g.AddOutput(other.Outputs[0]);
        var before = OnnxModelFile.ToBytes(model);
        var original = w.ConstValue!.ToFloatArray();
        Fold(model).Should().BeTrue();
        g.Initializers["w"].ConstValue!.ToFloatArray().Should().Equal(original);
        RelativeDifference(before, OnnxModelFile.ToBytes(model), batch: 2).Should().BeLessThan(1e-5);
    }
}
