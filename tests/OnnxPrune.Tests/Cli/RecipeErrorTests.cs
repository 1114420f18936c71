using System.Text.RegularExpressions;

namespace OnnxPrune.Tests.Cli;

/// <summary>A recipe that cannot be used is bad input: exit 2 before any work, naming the file and
/// the key at fault.</summary>
[Collection(CliCollection.Name), Trait("Category", "Slow")]
public class RecipeErrorTests : IDisposable
{
    private readonly TempFolder _temp = TestData.NewTempFolder();

    public void Dispose() => _temp.Dispose();

    private CliResult PruneWith(string recipeText)
    {
        var recipe = _temp.File("my-recipe.json");
        File.WriteAllText(recipe, recipeText);
        return CliRunner.Run("prune", "model.onnx", "-o", _temp.File("out.onnx"), "--recipe", recipe);
    }

    private static string WithOptions(string options) => $$"""{ "description": "a test recipe", "options": {{{options}}} }""";

    [Fact]
    public void An_unknown_key_names_the_key_the_file_and_the_closest_option()
    {
        PruneWith(WithOptions("""  "critrion": "l1"  """)).ShouldFailWithBadInput("unknown key 'critrion'", "my-recipe\\.json", "did you mean 'criterion'");
    }

    [Theory]
    [InlineData("""  "round-to": true  """, "round-to")]
    [InlineData("""  "skip-latency": "yes"  """, "skip-latency")]
    [InlineData("""  "criterion": ["l1"]  """, "criterion")]
    public void A_value_of_the_wrong_json_type_names_the_key(string options, string key)
    {
        PruneWith(WithOptions(options)).ShouldFailWithBadInput($"key '{Regex.Escape(key)}'", "my-recipe\\.json");
    }

    [Theory]
    [InlineData("""  "round-to": 0  """, "round-to", "at least 1")]
    [InlineData("""  "round-to": "many"  """, "round-to", "many")]
    [InlineData("""  "criterion": "biggest"  """, "criterion", "biggest")]
    public void A_value_the_option_rejects_names_the_key_and_the_options_reason(string options, string key, string reason)
    {
        PruneWith(WithOptions(options)).ShouldFailWithBadInput($"key '{Regex.Escape(key)}'", "my-recipe\\.json", reason);
    }

    [Theory]
    [InlineData("data")]
    [InlineData("output")]
    public void A_recipe_may_not_name_the_users_own_files(string key)
    {
        PruneWith(WithOptions($"""  "{key}": "x"  """)).ShouldFailWithBadInput($"key '{key}' is not allowed", "my-recipe\\.json");
    }

    [Fact]
    public void Invalid_json_names_the_file_and_line()
    {
        PruneWith("{ \"description\": \"x\",\n  \"options\": { \"round-to\": 8, }\n  oops }").ShouldFailWithBadInput("my-recipe\\.json", "not valid JSON", "line 3");
    }

    [Fact]
    public void Missing_options_or_an_unknown_top_level_key_is_named()
    {
        PruneWith("""{ "description": "x" }""").ShouldFailWithBadInput("my-recipe\\.json", "no \"options\"");
        PruneWith("""{ "options": {} }""").ShouldFailWithBadInput("my-recipe\\.json", "no \"description\"");
        PruneWith("""{ "description": "x", "options": {}, "schedule": 3 }""").ShouldFailWithBadInput("my-recipe\\.json", "unknown key 'schedule'");
    }

    [Fact]
    public void An_unknown_recipe_name_lists_the_shipped_ones()
    {
        CliRunner.Run("prune", "model.onnx", "-o", _temp.File("out.onnx"), "--recipe", "fastest")
            .ShouldFailWithBadInput("unknown recipe 'fastest'", "latency-cpu", "accuracy-critical", "memory", "data-free");
        CliRunner.Run("--recipe", "nope.json", "model.onnx", "-o", _temp.File("out.onnx")).ShouldFailWithBadInput("nope\\.json", "does not exist");
    }

    [Fact]
    public void Recipe_without_a_value_or_given_twice_is_a_usage_error()
    {
        CliRunner.Run("prune", "model.onnx", "-o", _temp.File("out.onnx"), "--recipe").ShouldFailWithBadInput("--recipe");
        CliRunner.Run("prune", "model.onnx", "-o", _temp.File("out.onnx"), "--recipe", "data-free", "--recipe", "memory").ShouldFailWithBadInput("--recipe");
    }
}
