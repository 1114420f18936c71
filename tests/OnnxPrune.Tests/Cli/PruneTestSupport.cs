using System.Security.Cryptography;
using System.Text.Json;

namespace OnnxPrune.Tests.Cli;

/// <summary>Helpers shared by the Prune* CLI tests: running `onnxprune` on a model, reading its report.</summary>
internal static class PruneCli
{
    /// <summary>Pruning densenet121 takes a second or two; the 2 shared cores may be busy with other builds.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(180);

    public static CliResult Run(params string[] args) => CliRunner.Run(Timeout, null, args);

    public static string Sha256(string path) => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path)));

    /// <summary>The report file a run wrote, parsed.</summary>
    public static JsonElement ReadReport(string path)
    {
        File.Exists(path).Should().BeTrue($"the report {path} must be written");
        try { return JsonDocument.Parse(File.ReadAllText(path)).RootElement.Clone(); }
        catch (JsonException e) { throw new Xunit.Sdk.XunitException($"{path} is not JSON ({e.Message})"); }
    }

    /// <summary>`onnxprune inspect MODEL --json` (extra arguments such as --input-shape appended).</summary>
    public static JsonElement Inspect(string model, params string[] extra) =>
        JsonOutput.Parse(Run(new[] { "inspect", model, "--json" }.Concat(extra).ToArray()));

    /// <summary>The model loads in ONNX Runtime and runs: `onnxprune profile OUT --runs 2 --warmup 0`.</summary>
    public static void ShouldRunInOrt(string model, params string[] extra)
    {
        var r = Run(new[] { "profile", model, "--runs", "2", "--warmup", "0" }.Concat(extra).ToArray());
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"the pruned model must load and run in ONNX Runtime\n{r}");
    }

    public static long Long(this JsonElement e, string name) => e.Key(name).GetInt64();

    public static List<JsonElement> Groups(this JsonElement report) => report.Key("groups").EnumerateArray().ToList();

    /// <summary>Checks the keys the issue asks of report.json and the invariants every report must keep.</summary>
    public static void ShouldBeWellFormedReport(this JsonElement report)
    {
        foreach (var side in new[] { "before", "after" })
        {
            var s = report.Key(side);
            s.Key("params").ValueKind.Should().Be(JsonValueKind.Number, $"{side}.params");
            s.Key("macs").ValueKind.Should().Be(JsonValueKind.Number, $"{side}.macs");
            s.Long("params").Should().BePositive($"{side}.params");
            s.Long("macs").Should().BePositive($"{side}.macs");
        }
        report.Key("barriers").ValueKind.Should().Be(JsonValueKind.Array, "barriers is a list");
        var groups = report.Groups();
        groups.Should().NotBeEmpty("a model that was pruned has channel groups");
        foreach (var g in groups)
        {
            int before = g.Key("channels_before").GetInt32(), after = g.Key("channels_after").GetInt32();
            before.Should().BePositive();
            after.Should().BeInRange(1, before, $"group {g.Key("name")} keeps at least one channel and never gains any");
        }
        report.Key("after").Long("params").Should().BeLessThanOrEqualTo(report.Key("before").Long("params"));
        report.Key("after").Long("macs").Should().BeLessThanOrEqualTo(report.Key("before").Long("macs"));
    }

    /// <summary>Channels removed over the channels that could be removed.</summary>
    public static double RemovedFraction(this JsonElement report)
    {
        var groups = report.Groups();
        double removed = groups.Sum(g => g.Key("channels_before").GetInt32() - g.Key("channels_after").GetInt32());
        double prunable = groups.Sum(g => g.Key("prunable_channels").GetInt32());
        return removed / prunable;
    }

    /// <summary>(channels_before, channels_after) of every group, in report order.</summary>
    public static List<(int Before, int After)> Widths(this JsonElement report) =>
        report.Groups().Select(g => (g.Key("channels_before").GetInt32(), g.Key("channels_after").GetInt32())).ToList();
}

/// <summary>A temp folder with in/ (the model) and out/ (what pruning writes), so a test can prove
/// what was written and what was not.</summary>
internal sealed class PruneFolders : IDisposable
{
    private readonly TempFolder _root = TestData.NewTempFolder();

    public PruneFolders()
    {
        In = Directory.CreateDirectory(Path.Combine(_root.Path, "in")).FullName;
        Out = Directory.CreateDirectory(Path.Combine(_root.Path, "out")).FullName;
    }

    public string In { get; }
    public string Out { get; }
    public string Model => Path.Combine(In, "model.onnx");
    public string Pruned => Path.Combine(Out, "pruned.onnx");
    public string Report => Path.Combine(Out, "report.json");
    public string OutFile(string name) => Path.Combine(Out, name);

    /// <summary>Copies a cached real model to in/model.onnx.</summary>
    public PruneFolders WithRealModel(string name)
    {
        File.Copy(TestData.RealModel(name), Model);
        return this;
    }

    public void Dispose() => _root.Dispose();
}
