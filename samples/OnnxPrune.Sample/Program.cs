// Prunes an ONNX model with the OnnxPrune library: what a deployment toolchain does instead of running the
// onnxprune command. Usage: OnnxPrune.Sample MODEL.onnx OUT.onnx [MACS-TO-KEEP, default 50%]
using OnnxPrune.Api;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: OnnxPrune.Sample MODEL.onnx OUT.onnx [MACs to keep, e.g. 50%]");
    return 2;
}

// The options are the onnxprune command's: a shipped recipe, and a target that replaces the recipe's own.
var options = new PruneOptions { Recipe = "data-free", TargetFlops = args.Length > 2 ? args[2] : "50%", SkipLatency = true };
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
var progress = new Progress<PruneProgress>(p => Console.Error.WriteLine($"{p.Stage}: {p.Status}"));
try
{
    var result = await Pruner.RunAsync(ModelSource.FromFile(args[0]), options, progress, cancel.Token, log: Console.Error);
    result.Save(args[1]);
    var r = result.Report;
    Console.WriteLine($"OnnxPrune {Pruner.Version}: MACs {r.Before.Macs} -> {r.After.Macs}, parameters {r.Before.Params} -> {r.After.Params}");
    Console.WriteLine(result.TargetMet ? "target met" : $"target not met: {result.Failure}");
    return result.TargetMet ? 0 : 3;
}
catch (UsageException e)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 2;
}
