using System.Text.Json;
using System.Text.RegularExpressions;

namespace OnnxPrune.Tests.Cli;

/// <summary>`onnxprune methods [--json]`: lists what --criterion and --allocation accept, from the
/// same registries, with a line on each, its options, whether it needs data, and its paper.</summary>
[Collection(CliCollection.Name), Trait("Category", "Slow")]
public class MethodsCommandTests
{
    private static JsonElement Methods() => JsonOutput.Parse(CliRunner.Run("methods", "--json"));

    private static List<string> Names(JsonElement methods, string section) =>
        methods.Key(section).EnumerateArray().Select(m => m.Key("name").GetString()!).ToList();

    /// <summary>The values an option accepts, as its validator words them for a value it rejects:
    /// "--criterion must be a, b or c, got 'x'".</summary>
    private static List<string> Accepted(string option)
    {
        var r = CliRunner.Run("prune", "model.onnx", "-o", "out.onnx", "--target-flops", "50%", option, "no-such-method");
        var line = r.ShouldFailWithBadInput(Regex.Escape(option) + " must be");
        var list = Regex.Match(line, Regex.Escape(option) + " must be (.*), got 'no-such-method'").Groups[1].Value;
        return Regex.Split(list, ", | or ").ToList();
    }

    [Fact]
    public void Json_lists_exactly_the_names_the_criterion_and_allocation_options_accept()
    {
        var methods = Methods();
        Names(methods, "criteria").Should().Equal(Accepted("--criterion"));
        Names(methods, "allocations").Should().Equal(Accepted("--allocation"));
        Names(methods, "criteria").Should().Contain(["l1", "l2", "fpgm", "bn-scale", "random"]);
        Names(methods, "allocations").Should().Equal("global", "uniform", "threshold", "latency", "pqi", "cie");

        // The report schema names the same values.
        var schema = JsonSchemas.Raw(JsonSchemas.Report).Key("properties");
        schema.Key("criterion").Key("enum").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(Names(methods, "criteria"));
        schema.Key("allocation").Key("enum").EnumerateArray().Select(e => e.GetString()).Should().BeEquivalentTo(Names(methods, "allocations"));
    }

    [Fact]
    public void Every_method_says_what_it_computes_whether_it_needs_data_and_its_paper()
    {
        var methods = Methods();
        foreach (var section in new[] { "criteria", "allocations" })
        {
            var entries = methods.Key(section).EnumerateArray().ToList();
            entries.Count(e => e.Key("is_default").GetBoolean()).Should().Be(1, $"one default among the {section}");
            foreach (var e in entries)
            {
                e.Key("summary").GetString().Should().NotBeNullOrWhiteSpace();
                e.Key("needs_data").ValueKind.Should().BeOneOf(JsonValueKind.True, JsonValueKind.False);
                e.Key("options").ValueKind.Should().Be(JsonValueKind.Array);
            }
        }
        var byName = methods.Key("criteria").EnumerateArray().Concat(methods.Key("allocations").EnumerateArray()).ToDictionary(e => e.Key("name").GetString()!);
        byName["l1"].Key("is_default").GetBoolean().Should().BeTrue();
        byName["global"].Key("is_default").GetBoolean().Should().BeTrue();
        foreach (var name in new[] { "l1", "l2", "fpgm", "bn-scale", "random", "global", "uniform", "threshold" })
            byName[name].Key("needs_data").GetBoolean().Should().BeFalse($"{name} is data-free");
        byName["fpgm"].Key("paper").Key("year").GetInt32().Should().Be(2019);
        byName["fpgm"].Key("paper").Key("where").GetString().Should().Contain("1811.00250");
        byName["bn-scale"].Key("paper").Key("where").GetString().Should().Contain("1708.06519");
        byName["threshold"].Key("paper").Key("where").GetString().Should().Contain("2201.10520");
        byName["random"].Key("options").EnumerateArray().Select(o => o.Key("name").GetString()).Should().Equal("--seed");
        byName["threshold"].Key("options").EnumerateArray().Select(o => o.Key("name").GetString()).Should().Contain("--max-ratio");
        foreach (var name in new[] { "taylor", "sosp-h", "sosp-i", "activation" })
            byName[name].Key("needs_data").GetBoolean().Should().BeTrue($"{name} scores on calibration images");
        byName["sosp-i"].Key("paper").Key("where").GetString().Should().Contain("2110.11395");
        byName["sosp-i"].Key("summary").GetString().Should().Contain("Gauss-Newton").And.Contain("cross-entropy", "methods says which loss each criterion uses");
        byName["sosp-i"].Key("options").EnumerateArray().Select(o => o.Key("name").GetString()).Should().Contain(["--data", "--no-labels"]);
    }

    [Fact]
    public void Text_output_lists_every_method()
    {
        var r = CliRunner.Run("methods");
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        foreach (var name in Names(Methods(), "criteria").Concat(Names(Methods(), "allocations")))
            r.Stdout.Should().MatchRegex($@"(?m)^{Regex.Escape(name)}\s{{2,}}((default|default with --data|default, default with --data)\s{{2,}})?(needs calibration data|none \(data-free\))\s{{2,}}\S", $"{name} has its own row: name, default, data, what it computes");
        r.Stdout.Should().Contain("1811.00250").And.Contain("2201.10520");
    }
}
