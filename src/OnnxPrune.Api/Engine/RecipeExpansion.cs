using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Text.Json;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// `--recipe NAME|PATH` as an argument expansion done before the real parse: the recipe's settings
/// become command-line tokens, except those the user gave (the command line overrides the recipe),
/// and the combined list is parsed as if typed. So every option keeps one parser and one set of
/// validators, and a recipe can use any option the command has, including ones added later.
/// </summary>
internal static class RecipeExpansion
{
    public const string OptionName = "--recipe";

    public static Option<string?> Option() => new(OptionName)
    {
        Description = "Start from a recipe: a name listed by 'onnxprune recipes' (latency-cpu, accuracy-critical, memory, data-free) or a .json file; options given on the command line override the recipe's",
    };

    /// <summary>Keys a recipe may not set, and why: they name the user's own files, or another recipe.</summary>
    private static readonly Dictionary<string, string> Forbidden = new(StringComparer.Ordinal)
    {
        ["data"] = "the calibration data is the user's own input: give --data on the command line",
        ["output"] = "the output path is the user's: give -o on the command line",
        ["report"] = "the report path is the user's: give --report on the command line",
        ["recipe"] = "a recipe cannot name another recipe",
    };

    /// <summary>The prune command takes exactly one of these, so a target typed on the command line
    /// replaces the recipe's target instead of clashing with it.</summary>
    private static readonly string[] Targets = ["target-flops", "target-params", "target-latency", "ratio"];

    /// <summary><paramref name="args"/> with the recipe's settings added, or unchanged without --recipe;
    /// <paramref name="note"/> says which recipe settings were used and which the command line replaced.</summary>
    public static string[] Expand(RootCommand root, string[] args, out string? note)
    {
        note = null;
        var typed = root.Parse(args);
        var command = typed.CommandResult.Command;
        var recipeOption = command.Options.OfType<Option<string?>>().FirstOrDefault(o => o.Name == OptionName);
        // A --recipe without a value, or given twice, is left to the real parse to report.
        if (recipeOption is null || !Validators.TryGet(typed.CommandResult, recipeOption, out var nameOrPath) || nameOrPath is null) return args;

        var recipe = RecipeFile.Load(RecipeLibrary.Resolve(nameOrPath));
        var options = ByKey(command);
        // Parse results, not string matching: an alias (-o) or --key=value counts as given too.
        var given = options.Where(p => typed.GetResult(p.Value) is { Implicit: false }).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        var used = new List<RecipeSetting>();
        var overridden = new List<string>();
        foreach (var setting in recipe.Settings)
        {
            Check(setting, options, recipe);
            if (IsOverridden(setting.Key, given)) overridden.Add(setting.Key);
            else used.Add(setting);
        }
        var expanded = Insert(args, used.SelectMany(s => s.Tokens).ToList());
        ThrowIfRejected(root.Parse(expanded), used.Select(s => options[s.Key]).ToHashSet(), recipe);

        var from = string.Join(" ", used.Where(s => s.Tokens.Count > 0).Select(s => string.Join(" ", s.Tokens)));
        note = $"recipe {recipe.Name} ({recipe.Path}): {(from.Length > 0 ? from : "(nothing)")}" +
               (overridden.Count > 0 ? $"; from the command line instead: {string.Join(", ", overridden.Select(k => "--" + k))}" : "");
        return expanded;
    }

    /// <summary>The command's options by long name without dashes; help and version are not settings.</summary>
    public static Dictionary<string, Option> ByKey(Command command) =>
        command.Options.Where(o => o is not HelpOption and not VersionOption).ToDictionary(o => o.Name.TrimStart('-'), StringComparer.Ordinal);

    /// <summary>Throws for a key the command does not have or a recipe may not set, or a value of the wrong JSON type.</summary>
    public static void Check(RecipeSetting setting, IReadOnlyDictionary<string, Option> options, RecipeFile recipe)
    {
        var where = $"recipe '{recipe.Path}'";
        if (Forbidden.TryGetValue(setting.Key, out var why)) throw new UsageException($"{where}: key '{setting.Key}' is not allowed in a recipe: {why}");
        if (!options.TryGetValue(setting.Key, out var option))
            throw new UsageException($"{where}: unknown key '{setting.Key}': not an option of the prune command ({Suggestion(setting.Key, options.Keys)}see 'onnxprune prune --help')");
        bool isBoolean = setting.Value.ValueKind is JsonValueKind.True or JsonValueKind.False;
        if (option.ValueType == typeof(bool) && !isBoolean)
            throw new UsageException($"{where}: key '{setting.Key}' is a flag: give true or false, not {setting.Value.GetRawText()}");
        if (option.ValueType != typeof(bool) && isBoolean)
            throw new UsageException($"{where}: key '{setting.Key}' takes a value (a string or a number), not {setting.Value.GetRawText()}");
    }

    /// <summary>Given on the command line, or replaced there by its --no- twin or by another target.</summary>
    private static bool IsOverridden(string key, HashSet<string> given) =>
        given.Contains(key) || given.Contains("no-" + key) || (key.StartsWith("no-", StringComparison.Ordinal) && given.Contains(key[3..])) ||
        (Targets.Contains(key) && Targets.Any(given.Contains));

    /// <summary>After the user's tokens, but before a "--" (after it, tokens are arguments, not options).</summary>
    private static string[] Insert(string[] args, IReadOnlyList<string> tokens)
    {
        var end = Array.IndexOf(args, "--");
        return end < 0 ? [.. args, .. tokens] : [.. args[..end], .. tokens, .. args[end..]];
    }

    /// <summary>A value the option's own parser or validator rejects: its message, with the recipe key and file named.</summary>
    private static void ThrowIfRejected(ParseResult parse, HashSet<Option> fromRecipe, RecipeFile recipe)
    {
        foreach (var error in parse.Errors)
            for (var result = error.SymbolResult; result is not null; result = result.Parent)
                if (result is OptionResult { Option: var option } && fromRecipe.Contains(option))
                    throw new UsageException($"recipe '{recipe.Path}', key '{option.Name.TrimStart('-')}': {error.Message}");
    }

    /// <summary>"did you mean 'criterion'? " for a near miss; nothing when no name is close, since a far
    /// guess ('report' for 'final-epochs') misleads more than it helps.</summary>
    private static string Suggestion(string key, IEnumerable<string> names)
    {
        var closest = names.MinBy(n => Distance(key, n));
        return closest is not null && Distance(key, closest) <= Math.Max(2, key.Length / 3) ? $"did you mean '{closest}'? " : "";
    }

    /// <summary>Levenshtein distance, for suggesting the option a misspelt key meant.</summary>
    private static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
