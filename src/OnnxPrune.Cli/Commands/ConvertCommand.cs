using System.CommandLine;
using OnnxPrune.IR.Passes;
using OnnxPrune.Onnx;

namespace OnnxPrune.Cli.Commands;

/// <summary>`onnxprune convert IN OUT`: load, build the IR, save. Shows the format layer keeps a
/// model intact; also rewrites external data inline (or out, with --external-data), and with
/// --fold-bn folds inference-mode BatchNormalization into the Conv/ConvTranspose/Gemm before it
/// (<see cref="FoldBatchNormalization"/>), as deployment wants.</summary>
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
        var foldBn = new Option<bool>("--fold-bn")
        {
            Description = "Fold each BatchNormalization that directly follows a Conv, ConvTranspose or Gemm (and is its only reader) into that layer's weights and bias",
        };
        var command = new Command("convert", "Load a model into OnnxPrune's IR and save it again") { input, output, external, foldBn };
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
            if (parse.GetValue(foldBn)) ReportFold(model);
            OnnxModelFile.Save(model, outPath, new SaveOptions { ExternalData = mode });
            Console.Error.WriteLine($"wrote {outPath}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void ReportFold(IR.Model model)
    {
        int Count() => model.Graph.Nodes.Count(n => n.IsOnnxDomain && n.OpType == "BatchNormalization");
        int before = Count();
        new PassManager([new FoldBatchNormalization()]).Run(model);
        int left = Count();
        Console.Error.WriteLine($"folded {before - left} BatchNormalization node{(before - left == 1 ? "" : "s")}" +
                                (left > 0 ? $"; {left} left as they were (not directly after a Conv/ConvTranspose/Gemm they alone read, or not constant float32)" : ""));
    }
}
