using System.CommandLine;
using OnnxPrune.Cli.Output;
using OnnxPrune.IR;
using OnnxPrune.Onnx;

namespace OnnxPrune.Cli.Commands;

/// <summary>Options and argument handling shared by several commands.</summary>
internal static class CommonOptions
{
    public static Option<bool> Json() => new("--json") { Description = "Write one JSON document (snake_case keys) to stdout instead of tables" };

    /// <summary>The root's `--quiet`: recursive, so every command takes it (`onnxprune -q inspect m.onnx` or `onnxprune inspect m.onnx -q`).</summary>
    public static Option<bool> Quiet() => new("--quiet", "-q")
    {
        Description = "Print only errors and the final result line: no tables, notes or progress",
        Recursive = true,
    };

    /// <summary>The terminal of this run, with --quiet as parsed.</summary>
    public static Terminal Terminal(ParseResult parse) => Output.Terminal.FromConsole(parse.GetValue<bool>("--quiet"));

    /// <summary>Where a command's notes go: stderr, or nowhere with --quiet.</summary>
    public static TextWriter Notes(ParseResult parse) => parse.GetValue<bool>("--quiet") ? TextWriter.Null : Console.Error;

    public static Argument<string> Model(string name = "MODEL") => new(name) { Description = "An .onnx model file" };

    /// <summary>Loads a model, turning every problem into a message for the user.</summary>
    public static Model Load(string path)
    {
        if (!File.Exists(path))
            throw new UsageException(Directory.Exists(path) ? $"'{path}' is a folder; give the path of an .onnx file" : $"model file '{path}' does not exist");
        return OnnxModelFile.Load(path);
    }

    /// <summary>A value as inspect shows and writes it: name, element type, declared shape.</summary>
    public sealed record ValueSummary(string Name, string? Type, object[]? Shape);

    public static ValueSummary ValueJson(Value v) => new(v.Name,
        v.ElementType == DataType.Undefined ? null : DataTypes.Name(v.ElementType),
        v.Shape?.Dims.Select(d => d.Value.HasValue ? (object)d.Value.Value : d.Symbol ?? "?").ToArray());

    public static string Describe(ValueSummary v) =>
        $"{v.Name} {v.Type ?? "?"}{(v.Shape is null ? "[?]" : "[" + string.Join(",", v.Shape) + "]")}";
}
