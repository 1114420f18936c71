using System.Reflection;
using OnnxPrune.IR;

namespace OnnxPrune.Onnx;

/// <summary>
/// OnnxPrune's version (Directory.Build.props sets it for every assembly): what `onnxprune --version` prints,
/// what every report records and what a pruned model names as its producer.
/// </summary>
internal static class ToolVersion
{
    /// <summary>The producer_name OnnxPrune writes into the models it produces.</summary>
    public const string ProducerName = "onnxprune";

    /// <summary>The informational version (0.1.0, or 0.1.0-suffix for a prerelease build).</summary>
    public static string Current { get; } =
        typeof(ToolVersion).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(ToolVersion).Assembly.GetName().Version?.ToString() ?? "0.0.0";

    /// <summary>Names OnnxPrune as the producer of <paramref name="model"/> (producer_name, producer_version): the model
    /// is what OnnxPrune wrote, and ONNX's producer fields say which tool produced the file.</summary>
    public static void Stamp(Model model)
    {
        model.ProducerName = ProducerName;
        model.ProducerVersion = Current;
    }
}
