using System.CommandLine;
using OnnxPrune.Runtime;

namespace OnnxPrune.Cli.Commands;

/// <summary>--device and --threads, shared by the commands that run models.</summary>
internal static class DeviceOptions
{
    public static Option<string> Device() => new("--device") { Description = "Execution provider: cpu or cuda", DefaultValueFactory = _ => "cpu" };

    public static Option<int> Threads() => new("--threads")
    {
        Description = "ONNX Runtime intra-op threads (0: one per processor available)",
        DefaultValueFactory = _ => 0,
    };

    public static SessionSettings Settings(string device, int threads) => new()
    {
        IntraOpThreads = CommonOptions.Positive(threads, "--threads", allowZero: true),
        Provider = device.ToLowerInvariant() switch
        {
            "cpu" => ExecutionProvider.Cpu,
            "cuda" => ExecutionProvider.Cuda,
            _ => throw new UsageException($"--device must be cpu or cuda, got '{device}'"),
        },
    };
}
