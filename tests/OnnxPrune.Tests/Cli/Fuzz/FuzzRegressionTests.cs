using System.Diagnostics;
using Google.Protobuf;
using OnnxPrune.Onnx.Proto;
using OnnxPrune.Tests.Onnx;

namespace OnnxPrune.Tests.Cli.Fuzz;

/// <summary>
/// What the loader fuzzing found, each kept as a named case on a hand-built
/// Conv -> Relu -> Flatten -> Gemm model with one thing damaged: it must end in exit 0, 2 or 3
/// with no internal error, quickly.
/// </summary>
[Collection(CliCollection.Name)]
public class FuzzRegressionTests
{
    /// <summary>x [1,3,8,8] -> Conv 3x3 pad 1 to 16 -> Relu -> Flatten -> Gemm to 2.</summary>
    internal static ModelProto Model()
    {
        var g = new GraphProto { Name = "conv_gemm" };
        g.Input.Add(ProtoBuilders.FloatInfo("x", 1, 3, 8, 8));
        g.Initializer.Add(ProtoBuilders.FloatTensor("w", [16, 3, 3, 3], Enumerable.Range(0, 432).Select(i => (i % 7 - 3) / 10f).ToArray()));
        g.Initializer.Add(ProtoBuilders.FloatTensor("fc", [2, 1024], Enumerable.Range(0, 2048).Select(i => (i % 5 - 2) / 10f).ToArray()));
        var conv = new NodeProto { OpType = "Conv", Name = "conv", Input = { "x", "w" }, Output = { "c" } };
        conv.Attribute.Add(new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } });
        g.Node.Add(conv);
        g.Node.Add(new NodeProto { OpType = "Relu", Name = "relu", Input = { "c" }, Output = { "r" } });
        g.Node.Add(new NodeProto { OpType = "Flatten", Name = "flatten", Input = { "r" }, Output = { "f" } });
        var gemm = new NodeProto { OpType = "Gemm", Name = "gemm", Input = { "f", "fc" }, Output = { "y" } };
        gemm.Attribute.Add(new AttributeProto { Name = "transB", Type = AttributeProto.Types.AttributeType.Int, I = 1 });
        g.Node.Add(gemm);
        g.Output.Add(ProtoBuilders.FloatInfo("y", 1, 2));
        var m = new ModelProto { IrVersion = 8, ProducerName = "tests", Graph = g };
        m.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 13 });
        return m;
    }

    private static CliResult Run(ModelProto model, string command)
    {
        var dir = Directory.CreateTempSubdirectory("onnxprune-fuzz-regression-").FullName;
        try
        {
            var path = Path.Combine(dir, "model.onnx");
            File.WriteAllBytes(path, model.ToByteArray());
            var output = Path.Combine(dir, "out.onnx");
            string[] args = command == "prune" ? ["prune", path, "-o", output, "--target-params", "50%", "--skip-latency"] : ["inspect", path];
            var clock = Stopwatch.StartNew();
            var r = InProcessCli.Run(TimeSpan.FromSeconds(20), args) ?? throw new TimeoutException($"onnxprune {string.Join(" ", args)}: a hang");
            clock.Elapsed.Should().BeLessThan(TimeSpan.FromSeconds(20));
            r.ShouldBeClean();
            r.ExitCode.Should().BeOneOf([0, 2, 3], r.ToString());
            return r;
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void The_undamaged_model_prunes()
    {
        Run(Model(), "prune").ExitCode.Should().BeOneOf(0, 3);
    }

    [Fact]
    public void Regression_an_attribute_declared_as_another_type_than_it_holds_is_refused()
    {
        var m = Model();
        m.Graph.Node[0].Attribute[0].Type = AttributeProto.Types.AttributeType.Tensors;
        Run(m, "inspect").ShouldFailWithBadInput("attribute 'pads'", "node 'conv'", "declared Tensors but holds Ints");
    }

    [Fact]
    public void Regression_an_input_too_large_to_run_is_refused_by_prune()
    {
        var m = Model();
        m.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = 1L << 32;
        Run(m, "prune").ShouldFailWithBadInput("input 'x'", "too large");
    }

    [Fact]
    public void Regression_a_flatten_into_billions_of_features_is_a_barrier_not_an_overflow()
    {
        var m = Model();
        m.Graph.Node[0].Attribute[0].Ints[2] = 1L << 31;
        Run(m, "prune");
    }

    [Fact]
    public void Regression_declared_shapes_that_disagree_with_the_weights_pin_the_group()
    {
        var m = Model();
        m.Graph.Input[0].Type.TensorType.Shape.Dim[3].DimValue = 32767;
        var r = Run(m, "prune");
        r.Stderr.Should().Contain("the model's shapes disagree with its weights", r.ToString());
    }

    [Theory]
    [InlineData(0)] // Conv: repeated inputs it does not follow (pinning was quadratic)
    [InlineData(1)] // Relu: the prepare passes rewire and drop the node (use lists were quadratic)
    public void Regression_a_node_reading_one_value_60000_times_finishes_quickly(int node)
    {
        var m = Model();
        var n = m.Graph.Node[node];
        for (int i = 0; i < 60000; i++) n.Input.Add(n.Input[0]);
        Run(m, "prune");
        Run(m, "inspect");
    }
}
