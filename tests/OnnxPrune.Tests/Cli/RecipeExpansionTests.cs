using System.CommandLine;
using OnnxPrune.Cli;
using OnnxPrune.Api.Engine;
using OnnxPrune.Cli.Commands;

namespace OnnxPrune.Tests.Cli;

/// <summary>`--recipe FILE` expands, before the real parse, into the options the file names: the
/// same values as typing them, except where the command line says otherwise. In-process: these
/// check the parse, nothing runs.</summary>
public class RecipeExpansionTests : IDisposable
{
    private readonly TempFolder _temp = TestData.NewTempFolder();

    public void Dispose() => _temp.Dispose();

    private string Recipe(string options)
    {
        var path = _temp.File($"r{Guid.NewGuid():N}.json");
        File.WriteAllText(path, $$"""{ "description": "a test recipe", "options": {{{options}}} }""");
        return path;
    }

    private static string[] Expand(RootCommand root, params string[] args) => RecipeExpansion.Expand(root, args, out _);

    /// <summary>Each option's tokens as parsed; null for an option that was not given.</summary>
    private static Dictionary<string, string[]?> Given(ParseResult parse) =>
        RecipeExpansion.ByKey(parse.CommandResult.Command).Where(p => p.Key != "recipe")
            .ToDictionary(p => p.Key, p => parse.GetResult(p.Value) is { Implicit: false } r ? r.Tokens.Select(t => t.Value).ToArray() : null);

    [Theory]
    [InlineData("prune")]
    [InlineData(null)] // the root form: onnxprune MODEL ...
    public void A_recipe_parses_to_the_same_values_as_typing_its_options(string? subcommand)
    {
        var head = subcommand is null ? new[] { "m.onnx", "-o", "out.onnx" } : [subcommand!, "m.onnx", "-o", "out.onnx"];
        var recipe = Recipe("""
            "criterion": "fpgm", "allocation": "uniform", "round-to": 8, "max-ratio": 0.5, "target-flops": "40%", "skip-latency": true
            """);
        var root = CliApp.BuildRoot();
        var viaRecipe = root.Parse(Expand(root, [.. head, "--recipe", recipe]));
        var typed = root.Parse([.. head, "--criterion", "fpgm", "--allocation", "uniform", "--round-to", "8", "--max-ratio", "0.5", "--target-flops", "40%", "--skip-latency"]);

        viaRecipe.Errors.Should().BeEmpty();
        Given(viaRecipe).Should().BeEquivalentTo(Given(typed));
        viaRecipe.GetValue<string>("--criterion").Should().Be("fpgm");
        viaRecipe.GetValue<string>("--allocation").Should().Be("uniform");
        viaRecipe.GetValue<int?>("--round-to").Should().Be(8);
        viaRecipe.GetValue<double>("--max-ratio").Should().Be(0.5);
        viaRecipe.GetValue<string?>("--target-flops").Should().Be("40%");
        viaRecipe.GetValue<bool>("--skip-latency").Should().BeTrue();
    }

    [Theory]
    [InlineData("--criterion", "l2")]
    [InlineData("--criterion=l2")]
    public void An_option_on_the_command_line_overrides_the_recipes(params string[] typed)
    {
        var root = CliApp.BuildRoot();
        var recipe = Recipe("""  "criterion": "fpgm", "round-to": 8  """);
        var args = RecipeExpansion.Expand(root, ["prune", "m.onnx", "-o", "out.onnx", "--recipe", recipe, .. typed], out var note);
        var parse = root.Parse(args);

        parse.Errors.Should().BeEmpty();
        parse.GetValue<string>("--criterion").Should().Be("l2", "the command line wins");
        parse.GetResult(RecipeExpansion.ByKey(parse.CommandResult.Command)["criterion"])!.Tokens.Should().ContainSingle("the recipe's value is not added as well");
        parse.GetValue<int?>("--round-to").Should().Be(8, "the rest of the recipe still applies");
        note.Should().Contain("--round-to 8").And.Contain("from the command line instead: --criterion");
    }

    [Fact]
    public void A_target_on_the_command_line_replaces_the_recipes_target()
    {
        var root = CliApp.BuildRoot();
        var recipe = Recipe("""  "target-flops": "50%", "criterion": "l2"  """);
        var parse = root.Parse(Expand(root, "prune", "m.onnx", "-o", "out.onnx", "--recipe", recipe, "--target-params", "30%"));

        parse.GetValue<string?>("--target-flops").Should().BeNull("the prune command takes one target, and the user chose theirs");
        parse.GetValue<string?>("--target-params").Should().Be("30%");
        parse.GetValue<string>("--criterion").Should().Be("l2");
    }

    [Fact]
    public void A_boolean_false_key_is_left_out_and_true_gives_the_flag()
    {
        var root = CliApp.BuildRoot();
        var recipe = Recipe("""  "skip-latency": false, "no-labels": true  """);
        var args = Expand(root, "prune", "m.onnx", "-o", "out.onnx", "--recipe", recipe);

        args.Should().NotContain("--skip-latency").And.NotContain("false");
        args.Should().Contain("--no-labels");
        var parse = root.Parse(args);
        parse.GetValue<bool>("--skip-latency").Should().BeFalse();
        parse.GetValue<bool>("--no-labels").Should().BeTrue();
    }

    [Fact]
    public void Without_recipe_the_arguments_are_unchanged()
    {
        var root = CliApp.BuildRoot();
        string[] args = ["prune", "m.onnx", "-o", "out.onnx", "--criterion", "l2"];
        Expand(root, args).Should().Equal(args);
        Expand(root, "inspect", "m.onnx").Should().Equal("inspect", "m.onnx");
    }

    [Fact]
    public void Recipe_tokens_go_before_a_double_dash()
    {
        var root = CliApp.BuildRoot();
        var recipe = Recipe("""  "round-to": 8  """);
        Expand(root, "prune", "--recipe", recipe, "-o", "out.onnx", "--", "m.onnx")
            .Should().Equal("prune", "--recipe", recipe, "-o", "out.onnx", "--round-to", "8", "--", "m.onnx");
    }
}
