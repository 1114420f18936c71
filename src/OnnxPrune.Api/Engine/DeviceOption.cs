using System.CommandLine;
using OnnxPrune.Runtime;

namespace OnnxPrune.Api.Engine;

/// <summary>--device and --threads, shared by the commands that run models.</summary>
internal static class DeviceOptions
{
    /// <summary>The --device values and the execution provider each one asks for.</summary>
    public static IReadOnlyList<(string Name, ExecutionProvider Provider)> Names { get; } =
        [("cpu", ExecutionProvider.Cpu), ("cuda", ExecutionProvider.Cuda), ("tensorrt", ExecutionProvider.TensorRT)];

    public static Option<string> Device()
    {
        var option = new Option<string>("--device")
        {
            Description = "Execution provider: cpu, cuda or tensorrt (the GPU ones need the GPU build and an NVIDIA GPU; `onnxprune devices` lists what this build offers)",
            DefaultValueFactory = _ => "cpu",
        };
        return option.OneOf(Names.Select(d => d.Name).ToArray());
    }

    public static Option<int> Threads() => new Option<int>("--threads")
    {
        Description = "ONNX Runtime intra-op threads (0: one per processor available)",
        DefaultValueFactory = _ => 0,
    }.AtLeast(0, "one per processor");

    /// <summary>The provider --device names, checked before any work starts, so that a run
    /// that cannot use it stops at once with the reason instead of after pruning or loading data.</summary>
    public static ExecutionProvider Provider(string device)
    {
        var provider = Names.First(d => d.Name.Equals(device, StringComparison.OrdinalIgnoreCase)).Provider;
        if (ExecutionProviders.FindProblem(OrtRuntime.Shared, provider) is { } problem)
            throw new UsageException($"--device {device} cannot run here: {problem}. Use --device cpu, or a machine with an NVIDIA GPU " +
                                     "and the GPU build; `onnxprune devices` lists what this build offers.");
        return provider;
    }

    public static SessionSettings Settings(string device, int threads) => new()
    {
        IntraOpThreads = threads,
        Provider = Provider(device),
    };
}
