using System.Collections.Concurrent;
using System.Text.Json;
using Json.Schema;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// Validates JSON documents against the schemas in schemas/ with JsonSchema.Net (JSON Schema 2020-12, every keyword;
/// format stays an annotation, as the draft says).
/// </summary>
internal static class JsonSchemas
{
    public const string Report = "report.schema.json";

    private static readonly ConcurrentDictionary<string, JsonSchema> Built = new(StringComparer.Ordinal);

    public static string PathOf(string file) => Path.Combine(OrtTestLibrary.RepositoryRoot, "schemas", file);

    /// <summary>The schema file as JSON, for tests that compare what it lists with what the tool lists.</summary>
    public static JsonElement Raw(string file) => JsonDocument.Parse(File.ReadAllText(PathOf(file))).RootElement.Clone();

    /// <summary>Every violation, as "instance location: keyword: message" lines; empty when the document validates.</summary>
    public static List<string> Violations(JsonElement document, string file)
    {
        var results = Schema(file).Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List });
        if (results.IsValid) return [];
        var lines = (results.Details ?? []).Prepend(results)
            .SelectMany(d => (d.Errors ?? new Dictionary<string, string>()).Select(e => $"{d.InstanceLocation}: {e.Key}: {e.Value}")).Distinct().ToList();
        return lines.Count > 0 ? lines : ["invalid (no details)"];
    }

    /// <summary>Asserts that <paramref name="document"/> follows schemas/<paramref name="file"/>.</summary>
    public static void ShouldFollow(this JsonElement document, string file) =>
        Violations(document, file).Should().BeEmpty($"the document follows schemas/{file}\n{Shorten(document)}");

    // Each schema is built once, in a registry of its own: its $id is registered when it is built, and a second build
    // of the same $id into one registry is refused.
    private static JsonSchema Schema(string file) =>
        Built.GetOrAdd(file, f => JsonSchema.FromText(File.ReadAllText(PathOf(f)), new BuildOptions { SchemaRegistry = new SchemaRegistry() }));

    private static string Shorten(JsonElement e)
    {
        var text = e.GetRawText();
        return text.Length <= 3000 ? text : text[..3000] + "...";
    }
}
