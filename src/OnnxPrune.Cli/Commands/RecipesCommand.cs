using System.CommandLine;
using OnnxPrune.Cli.Output;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune recipes [--json]`: the recipes `--recipe NAME` accepts, with who each is for
/// and the options it stands for.</summary>
internal static class RecipesCommand
{
    private sealed record Row(string Name, string Description, string Options, string Path);

    private sealed record Report(IReadOnlyList<Row> Recipes);

    public static Command Create()
    {
        var json = CommonOptions.Json();
        var command = new Command("recipes", "List the pruning recipes --recipe NAME accepts (passes/*.json): who each is for and the options it sets") { json };
        command.SetAction(parse =>
        {
            var rows = RecipeLibrary.Shipped().Select(s => RecipeFile.Load(s.Path)).Select(r => new Row(r.Name, r.Description, r.CommandLine, r.Path)).ToList();
            if (parse.GetValue(json)) Json.Write(Console.Out, new Report(rows));
            else Print(rows, CommonOptions.Terminal(parse));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Print(IReadOnlyList<Row> rows, Terminal o)
    {
        if (rows.Count == 0)
        {
            o.Result($"no recipes found (looked in {string.Join(", ", RecipeLibrary.Folders())}, and passes/ next to the tool)");
            return;
        }
        var table = new Table("recipe", "for", "options it sets");
        foreach (var r in rows) table.Add(r.Name, r.Description, r.Options);
        o.Write(table);
        if (o.Quiet) o.Result($"recipes: {string.Join(", ", rows.Select(r => r.Name))}");
        o.Line("Use one with: onnxprune MODEL -o OUT.onnx --recipe NAME [options that override it]");
    }
}
