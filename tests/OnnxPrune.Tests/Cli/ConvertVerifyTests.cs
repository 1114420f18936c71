using System.Runtime.InteropServices;
using System.Text.Json;
using Google.Protobuf;
using OnnxPrune.Onnx.Proto;

namespace OnnxPrune.Tests.Cli;

/// <summary>convert keeps models intact (checked by verify and by comparing the protobuf); verify
/// finds a difference whose size is known in advance.</summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class ConvertVerifyTests
{
    private static readonly TimeSpan Slow = TimeSpan.FromSeconds(120);

    /// <summary>An .npz of seeded normal floats for every graph input (for models whose dims are
    /// not all fixed, with the given sizes for the dynamic ones).</summary>
    internal static string WriteInputs(ModelProto proto, string path, int seed, params long[] dynamicSizes)
    {
        var random = new Random(seed);
        var initializers = proto.Graph.Initializer.Select(t => t.Name).ToHashSet();
        var arrays = new List<(string, byte[])>();
        foreach (var input in proto.Graph.Input.Where(i => !initializers.Contains(i.Name)))
        {
            int next = 0;
            var dims = input.Type.TensorType.Shape.Dim.Select((d, axis) => d.HasDimValue ? d.DimValue : axis == 0 ? 1 : dynamicSizes[next++]).ToArray();
            var data = new float[dims.Aggregate(1L, (a, d) => a * d)];
            for (int i = 0; i < data.Length; i++) data[i] = (float)(random.NextDouble() * 2 - 1);
            arrays.Add((input.Name, Npy.Array(data, dims)));
        }
        Npy.WriteNpz(path, compressed: false, arrays.ToArray());
        return path;
    }

    public static TheoryData<string> Models() => new()
    {
        CachedModels.ResNet18, CachedModels.MobileNetV2, CachedModels.BlazeFaceFront, CachedModels.BlazeFaceBack, CachedModels.PpOcrClassifier,
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void Converted_model_is_identical_and_verifies_with_zero_error(string model)
    {
        using var temp = TestData.NewTempFolder();
        var input = CachedModels.PathOf(model);
        var outDir = Directory.CreateDirectory(temp.File("out")).FullName;
        var output = Path.Combine(outDir, "converted.onnx");
        var before = File.ReadAllBytes(input);

        var convert = CliRunner.Run(Slow, null, "convert", input, output);
        convert.ShouldBeClean();
        convert.ExitCode.Should().Be(0, $"{convert}");
        Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Should().Equal(["converted.onnx"], "one file, no temp files");
        File.ReadAllBytes(input).Should().Equal(before, "convert never changes its input");
        ModelProto.Parser.ParseFrom(File.ReadAllBytes(output)).Equals(ModelProto.Parser.ParseFrom(before))
            .Should().BeTrue("load -> IR -> save keeps every field of the model");

        var args = new List<string> { "verify", input, output, "--json" };
        var proto = ModelProto.Parser.ParseFrom(before);
        if (model == CachedModels.PpOcrClassifier) args.AddRange(["--inputs", WriteInputs(proto, temp.File("inputs.npz"), 5, 48, 192)]);
        var json = JsonOutput.Parse(CliRunner.Run(Slow, null, args.ToArray()));
        json.Key("passed").GetBoolean().Should().BeTrue();
        var outputs = json.Key("outputs").EnumerateArray().ToList();
        outputs.Select(o => o.Key("name").GetString()).Should().Equal(proto.Graph.Output.Select(o => o.Name));
        foreach (var o in outputs)
        {
            o.Key("max_abs_error").Number().Should().Be(0, $"output '{o.Key("name")}' of the same model must match exactly");
            o.Key("passed").GetBoolean().Should().BeTrue();
        }
    }

    [Fact]
    public void External_data_round_trip_keeps_the_outputs()
    {
        using var temp = TestData.NewTempFolder();
        var input = CachedModels.PathOf(CachedModels.ResNet18);
        var outDir = Directory.CreateDirectory(temp.File("out")).FullName;
        var external = Path.Combine(outDir, "external.onnx");

        var r = CliRunner.Run(Slow, null, "convert", input, external, "--external-data", "always");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        Directory.EnumerateFileSystemEntries(outDir).Select(Path.GetFileName).Order().Should().Equal(["external.onnx", "external.onnx.data"]);
        new FileInfo(external).Length.Should().BeLessThan(1 << 20, "the weights live in the data file");
        new FileInfo(external + ".data").Length.Should().BeGreaterThan(40_000_000);
        var externalProto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(external));
        externalProto.Graph.Initializer.Should().Contain(t => t.DataLocation == TensorProto.Types.DataLocation.External);
        externalProto.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External)
            .SelectMany(t => t.ExternalData.Where(e => e.Key == "location").Select(e => e.Value))
            .Should().OnlyContain(l => l == "external.onnx.data", "a relative location next to the model");

        var json = JsonOutput.Parse(CliRunner.Run(Slow, null, "verify", input, external, "--json"));
        json.Key("outputs").EnumerateArray().Should().OnlyContain(o => o.Key("max_abs_error").Number() == 0);

        // And back inline, from the external copy, into another folder.
        var back = temp.File("inline.onnx");
        var r2 = CliRunner.Run(Slow, null, "convert", external, back, "--external-data", "never");
        r2.ShouldBeClean();
        r2.ExitCode.Should().Be(0, $"{r2}");
        File.Exists(back + ".data").Should().BeFalse();
        var inlineProto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(back));
        inlineProto.Graph.Initializer.Should().OnlyContain(t => t.DataLocation != TensorProto.Types.DataLocation.External);
        var original = CachedModels.Proto(CachedModels.ResNet18);
        inlineProto.Graph.Initializer.ToDictionary(t => t.Name, t => t.RawData)
            .Should().BeEquivalentTo(original.Graph.Initializer.ToDictionary(t => t.Name, t => t.RawData), "the weights come back byte for byte");
        JsonOutput.Parse(CliRunner.Run(Slow, null, "verify", input, back, "--json"))
            .Key("outputs").EnumerateArray().Should().OnlyContain(o => o.Key("max_abs_error").Number() == 0);
    }

    /// <summary>ResNet-18 with 0.5 added to the bias of class 17 of its final Gemm: every input gives
    /// logits that differ by exactly that in one place (up to float rounding of the logit).</summary>
    internal static string BiasShiftedResNet(string folder, float shift = 0.5f, int index = 17)
    {
        var proto = CachedModels.Proto(CachedModels.ResNet18);
        var gemm = proto.Graph.Node.Single(n => n.OpType == "Gemm");
        var bias = proto.Graph.Initializer.Single(t => t.Name == gemm.Input[2]);
        var values = MemoryMarshal.Cast<byte, float>(bias.RawData.ToByteArray().AsSpan()).ToArray();
        values.Should().HaveCount(1000);
        values[index] += shift;
        bias.RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(values.AsSpan()));
        var path = Path.Combine(folder, "resnet18-shifted.onnx");
        File.WriteAllBytes(path, proto.ToByteArray());
        return path;
    }

    [Fact]
    public void Verify_of_different_models_exits_1_and_reports_the_difference()
    {
        using var temp = TestData.NewTempFolder();
        var original = CachedModels.PathOf(CachedModels.ResNet18);
        var shifted = BiasShiftedResNet(temp.Path);

        var json = JsonOutput.Parse(CliRunner.Run(Slow, null, "verify", original, shifted, "--json"), exitCode: 1);
        json.Key("passed").GetBoolean().Should().BeFalse();
        var output = json.Key("outputs").EnumerateArray().Single();
        output.Key("passed").GetBoolean().Should().BeFalse();
        var maxAbs = output.Key("max_abs_error").Number();
        maxAbs.Should().BeApproximately(0.5, 1e-4, "only one logit moves, by the bias shift");
        var scale = output.Key("scale").Number();
        scale.Should().BePositive();
        output.Key("max_rel_error").Number().Should().BeApproximately(maxAbs / scale, 1e-9);

        // The README's rule: an output passes when max|A-B| <= T * max(1, max|A|).
        var threshold = maxAbs / Math.Max(1, scale);
        var pass = CliRunner.Run(Slow, null, "verify", original, shifted, "--json", "--tolerance", (threshold * 1.01).ToString("R"));
        JsonOutput.Parse(pass, exitCode: 0).Key("passed").GetBoolean().Should().BeTrue();
        var fail = CliRunner.Run(Slow, null, "verify", original, shifted, "--tolerance", (threshold * 0.99).ToString("R"));
        fail.ShouldBeClean();
        fail.ExitCode.Should().Be(1, $"{fail}");

        // Text output of a failed check.
        fail.Stdout.Should().Contain("DIFFERS");
    }

    [Fact]
    public void Verify_with_an_npz_gives_the_difference_known_in_advance()
    {
        using var temp = TestData.NewTempFolder();
        var original = CachedModels.PathOf(CachedModels.ResNet18);
        var shifted = BiasShiftedResNet(temp.Path, shift: -0.75f, index: 999);
        var npz = WriteInputs(CachedModels.Proto(CachedModels.ResNet18), temp.File("inputs.npz"), 11);
        var json = JsonOutput.Parse(CliRunner.Run(Slow, null, "verify", original, shifted, "--inputs", npz, "--json"), exitCode: 1);
        json.Key("inputs").GetString().Should().Contain("inputs.npz");
        json.Key("outputs").EnumerateArray().Single().Key("max_abs_error").Number().Should().BeApproximately(0.75, 1e-4);
    }

    [Fact]
    public void Verify_of_models_with_different_inputs_is_bad_input()
    {
        var r = CliRunner.Run(Slow, null, "verify", CachedModels.PathOf(CachedModels.ResNet18), CachedModels.PathOf(CachedModels.BlazeFaceFront));
        r.ShouldFailWithBadInput("input");
    }

    [Fact]
    public void Verify_of_a_model_with_dynamic_spatial_dims_without_npz_asks_for_one()
    {
        var path = CachedModels.PathOf(CachedModels.PpOcrClassifier);
        var r = CliRunner.Run(Slow, null, "verify", path, path);
        r.ShouldFailWithBadInput("'x'", "npz");
    }
}
