using System.Text.Json;

namespace OnnxPrune.Api.Engine;

/// <summary>One setting of a recipe: a prune option's long name without the dashes, and its value.</summary>
internal sealed record RecipeSetting(string Key, JsonElement Value)
{
    /// <summary>The command-line tokens the setting stands for: `--key value`, `--key` for true, nothing for false.</summary>
    public IReadOnlyList<string> Tokens => Value.ValueKind switch
    {
        JsonValueKind.True => [$"--{Key}"],
        JsonValueKind.False => [],
        // The raw text keeps a number as written (0.5 stays 0.5, not 0.49999...).
        JsonValueKind.Number => [$"--{Key}", Value.GetRawText()],
        _ => [$"--{Key}", Value.GetString()!],
    };
}

/// <summary>
/// A pruning recipe (passes/NAME.json): a one-line description and prune options by long name.
/// JSON rather than YAML because System.Text.Json is already a dependency and a recipe is a small
/// flat object; comments and trailing commas are allowed so the files stay readable. This type
/// checks only the file's shape; whether each key is an option of the prune command is checked
/// against the command itself (<see cref="RecipeExpansion"/>), so new options need no change here.
/// </summary>
internal sealed record RecipeFile(string Name, string Path, string Description, IReadOnlyList<RecipeSetting> Settings)
{
    private static readonly JsonDocumentOptions Reading = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>The settings as one command line, for listings and notes: `--target-flops 50% --criterion l1`.</summary>
    public string CommandLine => string.Join(" ", Settings.SelectMany(s => s.Tokens).Select(Quote));

    public static RecipeFile Load(string path)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { throw new UsageException($"cannot read recipe '{path}': {e.Message}"); }
        JsonDocument document;
        try { document = JsonDocument.Parse(text, Reading); }
        catch (JsonException e)
        {
            throw new UsageException($"recipe '{path}' is not valid JSON at line {e.LineNumber + 1}, column {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}");
        }
        using (document) return Read(document.RootElement, path);
    }

    private static RecipeFile Read(JsonElement root, string path)
    {
        if (root.ValueKind != JsonValueKind.Object)
            throw new UsageException($"recipe '{path}' must be a JSON object with \"description\" and \"options\", not a {Kind(root)}");
        string? description = null;
        List<RecipeSetting>? settings = null;
        foreach (var property in Unique(root, path, "the recipe"))
        {
            switch (property.Name)
            {
                case "description":
                    if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()) || property.Value.GetString()!.Contains('\n'))
                        throw new UsageException($"recipe '{path}': \"description\" must be one non-empty line of text");
                    description = property.Value.GetString()!.Trim();
                    break;
                case "options":
                    if (property.Value.ValueKind != JsonValueKind.Object)
                        throw new UsageException($"recipe '{path}': \"options\" must be an object of prune options by long name, e.g. {{ \"criterion\": \"l1\" }}, not a {Kind(property.Value)}");
                    settings = Unique(property.Value, path, "\"options\"").Select(p => Setting(p, path)).ToList();
                    break;
                default:
                    throw new UsageException($"recipe '{path}': unknown key '{property.Name}' (a recipe has \"description\" and \"options\")");
            }
        }
        if (description is null) throw new UsageException($"recipe '{path}' has no \"description\" (one line saying who the recipe is for)");
        if (settings is null) throw new UsageException($"recipe '{path}' has no \"options\" (an object of prune options by long name, e.g. {{ \"criterion\": \"l1\" }})");
        return new RecipeFile(System.IO.Path.GetFileNameWithoutExtension(path), path, description, settings);
    }

    private static RecipeSetting Setting(JsonProperty p, string path) => p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False
        ? new RecipeSetting(p.Name, p.Value.Clone())
        : throw new UsageException($"recipe '{path}': key '{p.Name}' must be a string, a number or a boolean, not a {Kind(p.Value)}");

    /// <summary>JsonDocument keeps both copies of a repeated key; in a recipe that is a mistake, not "the last one wins".</summary>
    private static IEnumerable<JsonProperty> Unique(JsonElement obj, string path, string where)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            if (!seen.Add(p.Name)) throw new UsageException($"recipe '{path}': key '{p.Name}' appears twice in {where}");
            yield return p;
        }
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => "JSON object",
        JsonValueKind.Array => "JSON array",
        JsonValueKind.Null => "null",
        _ => e.ValueKind.ToString().ToLowerInvariant(),
    };

    /// <summary>System.Text.Json appends "Path: $ | LineNumber: ..."; the line is already in our message.</summary>
    private static string FirstSentence(string message) => message.Split(" Path: ")[0].Split(" LineNumber: ")[0].TrimEnd(' ', '|');

    private static string Quote(string token) => token.Length > 0 && !token.Any(char.IsWhiteSpace) ? token : $"\"{token}\"";
}
