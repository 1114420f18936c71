using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Reports;

namespace OnnxPrune.Api;

/// <summary>
/// The outcome of <see cref="Pruner.Run"/>: the pruned model and its report. When a target could not be reached the
/// model is the closest one found and <see cref="TargetMet"/> is false (the command line exits with 3 then).
/// </summary>
public sealed class PruneResult
{
    internal PruneResult(IR.Model model, ExternalDataMode externalData, PruneReport report, bool targetMet, string? failure, bool cancelled)
    {
        Model = model;
        _externalData = externalData;
        ModelBytes = OnnxModelFile.ToBytes(model);
        Report = report;
        TargetMet = targetMet;
        Failure = failure;
        Cancelled = cancelled;
    }

    private readonly ExternalDataMode _externalData;

    /// <summary>The pruned model, serialized (what an .onnx file holds). Its producer_name is "onnxprune" and its
    /// producer_version <see cref="Pruner.Version"/>.</summary>
    public byte[] ModelBytes { get; }

    /// <summary>The pruned model in OnnxPrune's IR.</summary>
    public IR.Model Model { get; }

    /// <summary>The report the command writes with <c>--report</c> (before/after figures, groups, barriers, rounds,
    /// settings, <see cref="PruneReport.ToolVersion"/>); serialize it with snake_case keys to get report.json.
    /// Its output field is empty: the library writes no file.</summary>
    public PruneReport Report { get; }

    /// <summary>Whether every target and objective holds for <see cref="ModelBytes"/>.</summary>
    public bool TargetMet { get; }

    /// <summary>Why not, when <see cref="TargetMet"/> is false; null otherwise.</summary>
    public string? Failure { get; }

    /// <summary>The run was cancelled; the model is the last accepted round's.</summary>
    public bool Cancelled { get; }

    /// <summary>Writes the model to <paramref name="path"/> atomically (never a half-written file), with its tensors in
    /// an external data file when the input kept them so, or when it is past protobuf's 2 GB.</summary>
    /// <param name="path">The .onnx file to write.</param>
    public void Save(string path) => OnnxModelFile.Save(Model, path, new SaveOptions { ExternalData = _externalData });
}
