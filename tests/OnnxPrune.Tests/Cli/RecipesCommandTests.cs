using System.Text.Json;
using OnnxPrune.Api.Engine;
using System.Text.RegularExpressions;
using OnnxPrune.Cli.Commands;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>The shipped recipes (passes/*.json): `onnxprune recipes` lists them, each names only
/// prune options, and data-free prunes a bundled model end to end.</summary>
[Collection(CliCollection.Name), Trait("Category", "Slow")]
public class RecipesCommandTests
{
    private static readonly string[] ShippedNames = ["accuracy-critical", "data-free", "latency-cpu", "memory"];

    [Fact]
    public void Recipes_json_lists_the_four_shipped_recipes_with_their_descriptions_and_options()
    {
        var recipes = JsonOutput.Parse(CliRunner.Run("recipes", "--json")).Key("recipes").EnumerateArray().ToList();
        recipes.Select(r => r.Key("name").GetString()).Should().Contain(ShippedNames);
        foreach (var r in recipes)
        {
            r.Key("description").GetString().Should().NotBeNullOrWhiteSpace().And.NotContain("\n");
            r.Key("options").GetString().Should().StartWith("--");
        }
        recipes.Single(r => r.Key("name").GetString() == "data-free").Key("options").GetString().Should().Contain("--criterion l1").And.Contain("--target-flops 50%");

        var text = CliRunner.Run("recipes");
        text.ExitCode.Should().Be(0, $"{text}");
        foreach (var name in ShippedNames) text.Stdout.Should().MatchRegex($@"(?m)^{Regex.Escape(name)}\s{{2,}}For \S.*\s{{2,}}--\S", $"{name} has its own row: name, who it is for, its options");
    }

    /// <summary>Fails until every option the recipes use exists on the prune command (--target-latency,
    /// --rounds, --finetune-epochs, ... are added with the fine-tuning loop).</summary>
    [Fact]
    public void Every_shipped_recipe_names_only_options_of_the_prune_command()
    {
        var options = RecipeExpansion.ByKey(PruneCommand.CreateSubcommand());
        var folder = Path.Combine(OrtTestLibrary.RepositoryRoot, "passes");
        var files = Directory.GetFiles(folder, "*.json");
        files.Select(Path.GetFileNameWithoutExtension).Should().Contain(ShippedNames);
        var problems = new List<string>();
        foreach (var file in files)
        {
            var recipe = RecipeFile.Load(file);
            foreach (var setting in recipe.Settings)
            {
                try { RecipeExpansion.Check(setting, options, recipe); }
                catch (OnnxPrune.Api.UsageException e) { problems.Add(e.Message); }
            }
        }
        problems.Should().BeEmpty();
    }

    [Fact]
    public void Data_free_recipe_prunes_a_bundled_model()
    {
        using var temp = TestData.NewTempFolder();
        var model = Path.Combine(OrtTestLibrary.RepositoryRoot, "models", "resnet20-fmnist.onnx");
        string output = temp.File("pruned.onnx"), report = temp.File("report.json");
        var r = PruneCli.Run(model, "--recipe", "data-free", "-o", output, "--skip-latency", "--report", report);
        r.ShouldBeClean();
        r.ExitCode.Should().Be(0, $"{r}");
        r.Stderr.Should().Contain("recipe data-free");
        var json = PruneCli.ReadReport(report);
        json.Key("criterion").GetString().Should().Be("l1");
        json.Key("allocation").GetString().Should().Be("global");
        ((double)json.Key("after").Long("macs") / json.Key("before").Long("macs")).Should().BeLessThanOrEqualTo(0.5, "the recipe's --target-flops 50%");
    }
}
