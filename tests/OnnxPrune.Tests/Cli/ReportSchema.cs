using System.Text.Json;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Cli;

/// <summary>
/// Checks a JSON document against one of the schemas in schemas/, for the keywords those schemas use:
/// type, required, properties, items, enum, minimum, maximum and local $ref. (No JSON Schema package
/// is referenced; this subset is what the report schemas need.)
/// </summary>
internal static class ReportSchema
{
    public static JsonElement Load(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(OrtTestLibrary.RepositoryRoot, "schemas", file))).RootElement.Clone();

    /// <summary>Every violation, as "path: what" lines; empty when the document validates.</summary>
    public static List<string> Violations(JsonElement document, JsonElement schema)
    {
        var errors = new List<string>();
        Check(document, schema, schema, "$", errors);
        return errors;
    }

    private static void Check(JsonElement value, JsonElement schema, JsonElement root, string path, List<string> errors)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var target = root;
            foreach (var part in reference.GetString()!.TrimStart('#').Split('/', StringSplitOptions.RemoveEmptyEntries)) target = target.GetProperty(part);
            Check(value, target, root, path, errors);
            return;
        }
        if (schema.TryGetProperty("type", out var type) && !HasType(value, type.GetString()!))
        {
            errors.Add($"{path}: expected {type.GetString()}, got {value.ValueKind}");
            return;
        }
        if (schema.TryGetProperty("enum", out var options) && !options.EnumerateArray().Any(o => o.GetRawText() == value.GetRawText()))
            errors.Add($"{path}: {value.GetRawText()} is not one of {options.GetRawText()}");
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (schema.TryGetProperty("minimum", out var min) && value.GetDouble() < min.GetDouble()) errors.Add($"{path}: {value} below {min}");
            if (schema.TryGetProperty("maximum", out var max) && value.GetDouble() > max.GetDouble()) errors.Add($"{path}: {value} above {max}");
        }
        if (value.ValueKind == JsonValueKind.Object)
        {
            if (schema.TryGetProperty("required", out var required))
                foreach (var key in required.EnumerateArray().Select(k => k.GetString()!))
                    if (!value.TryGetProperty(key, out _)) errors.Add($"{path}: missing required key '{key}'");
            if (schema.TryGetProperty("properties", out var properties))
                foreach (var p in properties.EnumerateObject())
                    if (value.TryGetProperty(p.Name, out var child)) Check(child, p.Value, root, $"{path}.{p.Name}", errors);
        }
        if (value.ValueKind == JsonValueKind.Array && schema.TryGetProperty("items", out var items))
        {
            int i = 0;
            foreach (var item in value.EnumerateArray()) Check(item, items, root, $"{path}[{i++}]", errors);
        }
    }

    private static bool HasType(JsonElement v, string type) => type switch
    {
        "object" => v.ValueKind == JsonValueKind.Object,
        "array" => v.ValueKind == JsonValueKind.Array,
        "string" => v.ValueKind == JsonValueKind.String,
        "boolean" => v.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "number" => v.ValueKind == JsonValueKind.Number,
        "integer" => v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out _),
        "null" => v.ValueKind == JsonValueKind.Null,
        _ => true,
    };
}
