using System.Text.Json;
using OnnxPrune.Onnx.Proto;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// `onnxprune ... --json | jq .` on every command that has --json (issue 16): stdout is one JSON document and nothing
/// else, and it validates against its schema in schemas/ (JsonSchema.Net). The report's own content the schema cannot
/// check (latency percentiles, per-layer profile, file sizes) is checked against the files and the model here.
/// </summary>
[Collection(CliCollection.Name)]
[Trait("Category", "Slow")]
public class JsonOutputTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(240);

    private static string ResNet20 => Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");

    /// <summary>Each command with --json; {model} is the bundled ResNet-20, {out} a fresh folder.</summary>
    public static TheoryData<string, string[]> Commands => new()
    {
        { "inspect.schema.json", ["inspect", "{model}", "--json"] },
        { "inspect-groups.schema.json", ["inspect", "{model}", "--groups", "--json"] },
        { "profile.schema.json", ["profile", "{model}", "--runs", "5", "--warmup", "1", "--json"] },
        { "verify.schema.json", ["verify", "{model}", "{model}", "--json"] },
        { "evaluate.schema.json", ["evaluate", "{model}", "--data", "fashion-mnist", "--limit-test", "64", "--json"] },
        { "devices.schema.json", ["devices", "--json"] },
        { "methods.schema.json", ["methods", "--json"] },
        { "recipes.schema.json", ["recipes", "--json"] },
        { "train.schema.json", ["train", "--arch", "resnet20", "--data", "fashion-mnist", "--limit-train", "64", "--limit-test", "64", "--batch-size", "64", "--epochs", "1",
            "--threads", "2", "-o", "{out}/trained.onnx", "--json"] },
        { "train.schema.json", ["finetune", "{model}", "--data", "fashion-mnist", "--limit-train", "64", "--limit-test", "64", "--batch-size", "64", "--epochs", "1",
            "--threads", "2", "-o", "{out}/tuned.onnx", "--json"] },
        { JsonSchemas.Report, ["{model}", "-o", "{out}/pruned.onnx", "--target-flops", "50%", "--skip-latency", "--json"] },
        { JsonSchemas.Report, ["prune", "{model}", "-o", "{out}/pruned.onnx", "--target-flops", "60%", "--target-params", "60%", "--rounds", "2", "--json"] },
        { JsonSchemas.Report, ["{model}", "-o", "{out}/pruned.onnx", "--target-params", "40%", "--allocation", "pqi", "--pqi-eta", "0.1", "--round-to", "1", "--json"] },
        { "cie-shard.schema.json", ["{model}", "-o", "{out}/pruned.onnx", "--target-flops", "50%", "--allocation", "cie", "--data", "fashion-mnist", "--calibration-images", "64",
            "--cie-images", "64", "--cie-grid", "0.5:0.5:0.5", "--cie-cache", "{out}/cache", "--recover", "none", "--shard", "1/8", "--json"] },
    };

    [Theory]
    [MemberData(nameof(Commands))]
    public void Json_output_is_one_document_that_follows_its_schema(string schema, string[] args)
    {
        using var folder = TestData.NewTempFolder();
        var r = CliRunner.Run(Timeout, null, args.Select(a => a.Replace("{model}", ResNet20).Replace("{out}", folder.Path)).ToArray());
        var json = JsonOutput.Parse(r); // exit 0, and stdout parses as exactly one JSON value
        json.ValueKind.Should().Be(JsonValueKind.Object);
        json.ShouldFollow(schema);
    }

    [Fact]
    public void A_measured_report_has_latency_percentiles_file_sizes_and_every_layer_before_and_after()
    {
        using var f = new PruneFolders();
        var r = PruneCli.Run(ResNet20, "-o", f.Pruned, "--target-flops", "50%", "--report", f.Report, "--json");
        var stdout = JsonOutput.Parse(r);
        stdout.ShouldFollow(JsonSchemas.Report);
        var report = PruneCli.ReadReport(f.Report);
        report.GetRawText().Should().Be(stdout.GetRawText(), "--json prints report.json");
        report.Key("schema_version").GetInt32().Should().Be(JsonSchemas.Raw(JsonSchemas.Report).Key("properties").Key("schema_version").Key("const").GetInt32());

        foreach (var side in new[] { "before", "after" })
        {
            var cost = report.Key(side);
            cost.Key("latency_p50_ms").GetDouble().Should().BePositive();
            cost.Key("latency_p90_ms").GetDouble().Should().BeGreaterThanOrEqualTo(cost.Key("latency_p50_ms").GetDouble(), $"{side}: p90 of the same runs");
        }
        var settings = report.Key("settings");
        settings.Key("command").GetString().Should().Be($"onnxprune {ResNet20} -o {f.Pruned} --target-flops 50% --report {f.Report} --json", "the command that reproduces the run");
        settings.Key("threads").GetInt32().Should().Be(2, "prune times with 2 threads unless told");
        report.Key("before").Key("file_bytes").GetInt64().Should().Be(new FileInfo(ResNet20).Length);
        report.Key("after").Key("file_bytes").GetInt64().Should().Be(new FileInfo(f.Pruned).Length);

        // Pruning removes channels, not layers: every convolution of the model is a profiled layer on both sides, matched by name.
        var convs = ModelProto.Parser.ParseFrom(File.ReadAllBytes(ResNet20)).Graph.Node.Where(n => n.OpType == "Conv").Select(n => n.Name).ToList();
        var profile = report.Key("layer_latency");
        profile.Key("runs").GetInt32().Should().BePositive();
        var layers = profile.Key("layers").EnumerateArray().ToList();
        layers.Select(l => l.Key("node").GetString()).Should().OnlyHaveUniqueItems();
        var convLayers = layers.Where(l => l.Key("op_type").GetString() is "Conv" or "FusedConv").ToList();
        convLayers.Select(l => l.Key("node").GetString()).Should().BeEquivalentTo(convs, $"each Conv node of the model is one profiled layer\n{profile}");
        convLayers.Where(l => !l.TryGetProperty("before_ms", out var b) || !l.TryGetProperty("after_ms", out var a)).Should().BeEmpty("a pruned conv keeps its name");
        layers.Sum(l => l.TryGetProperty("after_ms", out var ms) ? ms.GetDouble() : 0).Should().BePositive();
    }
}
