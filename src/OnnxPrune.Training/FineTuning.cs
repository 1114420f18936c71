using OnnxPrune.IR;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>
/// What every fine-tune runs, whether the finetune command or a fine-tune inside a pruning loop:
/// BatchNorm inserted where the exporter folded it (<see cref="BatchNormInsertion"/>) and folded
/// back on export, and the check that the run did not collapse.
/// </summary>
internal static partial class FineTuning
{
    /// <summary>Accuracy (a fraction) a fine-tuned model may lose against the model before
    /// fine-tuning before the run counts as collapsed: 5 points. Fine-tuning a trained model should
    /// gain accuracy; losing a few points can be an unlucky short run, losing more means training
    /// broke the model (the pruned ResNet fell from 93% to 10%).</summary>
    public const double CollapseMargin = 0.05;

    /// <summary>
    /// <paramref name="model"/> with BatchNormalization inserted after each Conv/Gemm that has
    /// none (statistics from a sample of <paramref name="calibration"/>, normalised and run as
    /// <paramref name="options"/> say), and <paramref name="options"/> with
    /// <see cref="TrainerOptions.FoldOnExport"/> naming the inserted nodes, so that
    /// <see cref="Trainer.ExportModel"/> folds them back. A model that needs none comes back as a
    /// copy with the options unchanged.
    /// </summary>
    /// <exception cref="TrainingInputException">The images do not fit the model.</exception>
    public static (Model Model, TrainerOptions Options, int Inserted) WithInsertedBatchNorm(Model model, Dataset calibration, TrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var inserted = BatchNormInsertion.Insert(model, calibration, options.Normalization, options.Session, options.Seed);
        if (inserted.NodeNames.Count == 0) return (inserted.Model, options, 0);
        var fold = new HashSet<string>(inserted.NodeNames, StringComparer.Ordinal);
        if (options.FoldOnExport is { } earlier) fold.UnionWith(earlier);
        return (inserted.Model, options with { FoldOnExport = fold }, inserted.NodeNames.Count);
    }

    /// <summary>True when <paramref name="after"/>'s accuracy is more than <paramref name="margin"/>
    /// below <paramref name="before"/>'s.</summary>
    public static bool HasCollapsed(EvaluationResult before, EvaluationResult after, double margin = CollapseMargin)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        return after.Accuracy < before.Accuracy - margin;
    }
}
