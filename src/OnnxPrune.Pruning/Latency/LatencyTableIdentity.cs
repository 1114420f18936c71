using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Latency;

/// <summary>
/// What a table's measurements are valid for: the machine (CPU model and logical core count), the
/// ONNX Runtime version, the provider, the intra-op threads and the batch. A measurement taken
/// under any other of these is a different number, so each combination gets its own cache file;
/// the file records this text and a file that records another is not read.
/// </summary>
internal static class LatencyTableIdentity
{
    public static string Describe(SessionSettings settings, long batch) => string.Join(" | ",
        CpuModel(), $"{Environment.ProcessorCount} logical cores", $"ORT {OrtRuntime.Shared.VersionString}",
        ExecutionProviders.OrtName(settings.Provider), $"{settings.EffectiveIntraOpThreads} intra-op threads",
        "batch " + batch.ToString(CultureInfo.InvariantCulture));

    /// <summary>The cache file's name for <paramref name="identity"/>: a hash, since the CPU model
    /// has characters file systems dislike.</summary>
    public static string FileName(string identity) =>
        "latency-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16] + ".json";

    /// <summary>The default cache folder: $ONNXPRUNE_CACHE/latency, else ~/.cache/onnxprune/latency
    /// (the folder the tools' scripts use for models too).</summary>
    public static string DefaultFolder() => Path.Combine(
        Environment.GetEnvironmentVariable("ONNXPRUNE_CACHE") is { Length: > 0 } cache ? cache
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "onnxprune"),
        "latency");

    /// <summary>The "model name" line of /proc/cpuinfo (Linux); elsewhere the architecture, which
    /// makes one file per architecture rather than per CPU there.</summary>
    public static string CpuModel()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal) && line.IndexOf(':') is var colon and >= 0)
                    return line[(colon + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return "unknown CPU (" + System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture + ")";
    }
}
