using System.Globalization;
using System.Text.Json;
using OnnxPrune.Onnx.Proto;
using ElemType = OnnxPrune.Onnx.Proto.TensorProto.Types.DataType;

using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

internal static class JsonOutput
{
    /// <summary>The JSON document a successful run wrote to stdout.</summary>
    public static JsonElement Parse(CliResult r, int exitCode = 0)
    {
        r.ShouldBeClean();
        r.ExitCode.Should().Be(exitCode, $"{r}");
        try { return JsonDocument.Parse(r.Stdout).RootElement.Clone(); }
        catch (JsonException e) { throw new Xunit.Sdk.XunitException($"stdout is not one JSON document ({e.Message})\n{r}"); }
    }

    public static JsonElement Key(this JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v : throw new Xunit.Sdk.XunitException($"JSON has no key '{name}': {Shorten(e)}");

    /// <summary>A number, also when written as a named literal ("Infinity", "NaN").</summary>
    public static double Number(this JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetDouble();

    private static string Shorten(JsonElement e) { var s = e.ToString(); return s.Length < 600 ? s : s[..600] + "..."; }
}

/// <summary>`inspect --json` against numbers computed here from the model file.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class InspectTests
{
    private static readonly HashSet<int> FloatTypes = [(int)ElemType.Float, (int)ElemType.Double, (int)ElemType.Float16, (int)ElemType.Bfloat16];

    private static long Elements(TensorProto t) => t.Dims.Aggregate(1L, (a, d) => a * d);

    /// <summary>Elements of floating-point initializers and Constant node values (README: parameters).</summary>
    private static long FloatParameters(GraphProto g) =>
        g.Initializer.Where(t => FloatTypes.Contains(t.DataType)).Sum(Elements) +
        g.Node.Where(n => n.OpType == "Constant" && n.Domain is "" or "ai.onnx")
            .SelectMany(n => n.Attribute.Where(a => a.Name == "value" && a.T is not null).Select(a => a.T))
            .Where(t => FloatTypes.Contains(t.DataType)).Sum(Elements);

    /// <summary>Dims of a node input that is an initializer, also through Identity nodes.</summary>
    private static long[] ConstDims(GraphProto g, string name)
    {
        while (true)
        {
            var init = g.Initializer.FirstOrDefault(t => t.Name == name);
            if (init is not null) return init.Dims.ToArray();
            var producer = g.Node.Single(n => n.Output.Contains(name));
            producer.OpType.Should().Be("Identity", $"'{name}' should be a weight");
            name = producer.Input[0];
        }
    }

    private static void CheckAgainstFile(JsonElement json, ModelProto proto)
    {
        var g = proto.Graph;
        foreach (var key in new[] { "params", "macs", "nodes", "op_histogram", "inputs", "outputs" })
            json.TryGetProperty(key, out _).Should().BeTrue($"inspect --json must have '{key}'");

        json.Key("params").GetInt64().Should().Be(FloatParameters(g), "params are the elements of the floating-point initializers and Constants");

        var nodes = json.Key("nodes").EnumerateArray().ToList();
        nodes.Select(n => n.Key("name").GetString()).Should().BeEquivalentTo(g.Node.Select(n => n.Name), "one row per node");
        nodes.Select(n => n.Key("op_type").GetString()).Should().BeEquivalentTo(g.Node.Select(n => n.OpType));
        nodes.Should().OnlyContain(n => n.Key("macs").ValueKind == JsonValueKind.Number, "every node of these models has known shapes");
        json.Key("macs").GetInt64().Should().Be(nodes.Sum(n => n.Key("macs").GetInt64()), "the total is the sum over the nodes");
        nodes.Sum(n => n.Key("params").GetInt64()).Should().Be(json.Key("params").GetInt64(), "every weight is read by some node and counted once");
        nodes.Where(n => n.Key("op_type").GetString() is not ("Conv" or "ConvTranspose" or "Gemm" or "MatMul"))
            .Should().OnlyContain(n => n.Key("macs").GetInt64() == 0, "only Conv, ConvTranspose, Gemm and MatMul count MACs");

        var histogram = json.Key("op_histogram").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        histogram.Should().BeEquivalentTo(g.Node.GroupBy(n => n.OpType).ToDictionary(x => x.Key, x => x.Count()));
        json.Key("node_count").GetInt32().Should().Be(g.Node.Count);

        var initializers = g.Initializer.Select(t => t.Name).ToHashSet();
        json.Key("inputs").EnumerateArray().Select(i => i.Key("name").GetString())
            .Should().Equal(g.Input.Where(i => !initializers.Contains(i.Name)).Select(i => i.Name));
        json.Key("outputs").EnumerateArray().Select(i => i.Key("name").GetString()).Should().Equal(g.Output.Select(o => o.Name));
    }

    [Fact]
    public void Resnet18_json_matches_the_model_file()
    {
        var path = CachedModels.PathOf(CachedModels.ResNet18);
        var proto = CachedModels.Proto(CachedModels.ResNet18);
        var json = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json"));
        CheckAgainstFile(json, proto);

        var macs = json.Key("macs").GetInt64();
        macs.Should().BeGreaterThan(1_000_000_000);
        macs.Should().BeInRange(1_800_000_000, 1_830_000_000, "ResNet-18 at 224x224 takes 1.81 GMACs (He et al. 2016: 1.8 GFLOPs as multiply-adds)");

        var g = proto.Graph;
        var nodes = json.Key("nodes").EnumerateArray().ToDictionary(n => n.Key("name").GetString()!);
        // The stem: a 7x7 stride-2 conv from the image to 64 channels of 112x112.
        var stem = g.Node.Single(n => n.OpType == "Conv" && n.Input[0] == g.Input[0].Name);
        var w = ConstDims(g, stem.Input[1]);
        w.Should().Equal([64, 3, 7, 7]);
        nodes[stem.Name].Key("macs").GetInt64().Should().Be(64L * 112 * 112 * 3 * 7 * 7);
        // The classifier: a Gemm of 512 features into 1000 classes.
        var gemm = g.Node.Single(n => n.OpType == "Gemm");
        nodes[gemm.Name].Key("macs").GetInt64().Should().Be(ConstDims(g, gemm.Input[1]).Aggregate(1L, (a, d) => a * d)).And.Be(512 * 1000);
        nodes[gemm.Name].Key("params").GetInt64().Should().Be(512 * 1000 + 1000);
    }

    [Fact]
    public void Mobilenet_v2_counts_depthwise_convolutions_per_group()
    {
        var path = CachedModels.PathOf(CachedModels.MobileNetV2);
        var proto = CachedModels.Proto(CachedModels.MobileNetV2);
        var json = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json"));
        CheckAgainstFile(json, proto);
        // torchvision's MobileNetV2 (1.0, 224): 300M multiply-adds (Sandler et al. 2018, table 4).
        json.Key("macs").GetInt64().Should().BeInRange(295_000_000, 305_000_000);
        json.Key("params").GetInt64().Should().BeInRange(3_400_000, 3_550_000);
    }

    [Fact]
    public void Paddle_classifier_counts_constant_node_weights_as_parameters()
    {
        var path = CachedModels.PathOf(CachedModels.PpOcrClassifier);
        var proto = CachedModels.Proto(CachedModels.PpOcrClassifier);
        var json = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json"));
        json.Key("params").GetInt64().Should().Be(FloatParameters(proto.Graph)).And.BeGreaterThan(0);
        proto.Graph.Node.Count(n => n.OpType == "Constant").Should().BeGreaterThan(0, "this model stores its weights as Constant nodes");
        var histogram = json.Key("op_histogram").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32());
        histogram.Should().BeEquivalentTo(proto.Graph.Node.GroupBy(n => n.OpType).ToDictionary(x => x.Key, x => x.Count()));
    }

    [Fact]
    public void Batch_option_scales_the_macs_of_a_model_with_a_symbolic_batch()
    {
        var path = CachedModels.PathOf(CachedModels.ResNet18);
        var one = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json"));
        var four = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json", "--batch", "4"));
        four.Key("macs").GetInt64().Should().Be(4 * one.Key("macs").GetInt64());
        four.Key("params").GetInt64().Should().Be(one.Key("params").GetInt64());
    }

    [Fact]
    public void Shows_the_default_preprocessing_of_image_folders()
    {
        var path = Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");
        const string expected = "resize=28,crop=28,mean=0.2860406,std=0.35302424,order=rgb,layout=nchw,channels=1";
        JsonOutput.Parse(CliRunner.Run("inspect", path, "--json")).Key("preprocess").GetString().Should().Be(expected,
            "the input is 1x28x28 and the metadata carries the normalisation");
        var text = CliRunner.Run("inspect", path);
        text.ExitCode.Should().Be(0, text.ToString());
        text.Stdout.Split('\n').Should().ContainSingle(l => l.StartsWith("preprocess " + expected, StringComparison.Ordinal));
    }

    [Fact]
    public void Small_model_macs_and_params_are_exact()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("small.onnx");
        var proto = ProtoModels.ConvReluConv();
        proto.Save(model);
        var json = JsonOutput.Parse(CliRunner.Run("inspect", model, "--json"));
        CheckAgainstFile(json, proto);
        // Conv MACs = output elements * (input channels / group) * kernel elements.
        long conv1 = (1 * 4 * 8 * 8) * (3 * 3 * 3), conv2 = (1 * 2 * 8 * 8) * (4 * 1 * 1);
        json.Key("macs").GetInt64().Should().Be(conv1 + conv2);
        json.Key("params").GetInt64().Should().Be(4 * 3 * 3 * 3 + 4 + 2 * 4);
        var nodes = json.Key("nodes").EnumerateArray().ToDictionary(n => n.Key("name").GetString()!);
        nodes["conv1"].Key("macs").GetInt64().Should().Be(conv1);
        nodes["conv2"].Key("macs").GetInt64().Should().Be(conv2);
        nodes["relu"].Key("macs").GetInt64().Should().Be(0);
    }

    [Fact]
    public void Text_output_shows_the_same_totals_as_json()
    {
        var path = CachedModels.PathOf(CachedModels.BlazeFaceFront);
        var json = JsonOutput.Parse(CliRunner.Run("inspect", path, "--json"));
        var text = CliRunner.Run("inspect", path);
        text.ShouldBeClean();
        text.ExitCode.Should().Be(0);
        text.Stdout.Should().Contain(json.Key("params").GetInt64().ToString("N0", CultureInfo.InvariantCulture))
            .And.Contain(json.Key("macs").GetInt64().ToString("N0", CultureInfo.InvariantCulture));
    }

    /// <summary>Input dims of 1e9 x 1e9 give a first conv whose output count fits in 64 bits but
    /// whose MAC count (times 27) does not: the count must be reported as too large, not wrapped.
    /// (Declared in the file, such dims are refused at load; given with --input-shape they reach the cost model.)</summary>
    [Fact]
    public void Macs_that_overflow_64_bits_are_an_error_not_a_wrapped_number()
    {
        using var temp = TestData.NewTempFolder();
        var model = temp.File("huge.onnx");
        var proto = ProtoModels.ConvReluConv();
        var dims = proto.Graph.Input[0].Type.TensorType.Shape.Dim;
        dims[2].DimParam = "H";
        dims[3].DimParam = "W";
        proto.Graph.Output[0].Type.TensorType.Shape = null;
        proto.Save(model);
        // conv1: output 1*4*1e9*1e9 = 4e18 elements (fits in a long), times 3*3*3 = 1.08e20 MACs (does not).
        var r = CliRunner.Run("inspect", model, "--json", "--input-shape", $"x=1x{dims[1].DimValue}x1000000000x1000000000");
        r.ShouldFailWithBadInput("conv1");
    }
}
