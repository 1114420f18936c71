using System.CommandLine;
using OnnxPrune.Onnx;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune convert IN OUT`: load, build the IR, save. Shows the format layer keeps a
/// model intact; also rewrites external data inline (or out, with --external-data).</summary>
internal static class ConvertCommand
{
    public static Command Create()
    {
        var input = CommonOptions.Model("IN");
        var output = new Argument<string>("OUT") { Description = "Where to write the model (never the input file)" };
        var external = new Option<string>("--external-data")
        {
            Description = "auto (inline unless over protobuf's 2 GB limit), always, or never",
            DefaultValueFactory = _ => "auto",
        }.OneOf("auto", "always", "never");
        var command = new Command("convert", "Load a model into OnnxPrune's IR and save it again") { input, output, external };
        command.SetAction(parse =>
        {
            var inPath = parse.GetValue(input)!;
            var outPath = parse.GetValue(output)!;
            var mode = parse.GetValue(external)!.ToLowerInvariant() switch
            {
                "always" => ExternalDataMode.Always,
                "never" => ExternalDataMode.Never,
                _ => ExternalDataMode.Auto,
            };
            OutputPaths.CheckNotInput(inPath, outPath);
            var model = CommonOptions.Load(inPath);
            OnnxModelFile.Save(model, outPath, new SaveOptions { ExternalData = mode });
            Console.Error.WriteLine($"wrote {outPath}");
            return ExitCodes.Ok;
        });
        return command;
    }
}
