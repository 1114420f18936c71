using System.Diagnostics;
using System.Globalization;
using OnnxPrune.IR;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>What <see cref="FineTuning.Run"/> trains on and what it does around the training.</summary>
/// <param name="Train">Training images.</param>
/// <param name="Test">Measured before (when <see cref="MeasureBefore"/>) and after training.</param>
internal sealed record FineTuneRequest(Dataset Train, Dataset Test)
{
    /// <summary>Evaluated after every epoch; null: <see cref="Test"/> (whose last evaluation is then
    /// also the final one, so it is not run twice).</summary>
    public Dataset? Validation { get; init; }

    /// <summary>Insert BatchNorm after each Conv/Gemm that has none (<see cref="FineTuning.WithInsertedBatchNorm"/>);
    /// true for exported models whose BatchNorm was folded, false to train the model as it is.</summary>
    public bool InsertBatchNorm { get; init; } = true;

    /// <summary>Evaluate on <see cref="Test"/> before training, to detect a collapse (not when resuming).</summary>
    public bool MeasureBefore { get; init; } = true;

    /// <summary>Metadata written into the exported model, besides what the run adds (test accuracy,
    /// loss and images, training images, epochs, seed, normalization, distillation, collapsed).</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; init; }

    /// <summary>A checkpoint to continue from (the options must agree with it, see <see cref="Checkpoint.ApplyTo"/>).</summary>
    public Checkpoint? Resume { get; init; }

    /// <summary>Strings stored in every checkpoint the run writes.</summary>
    public IReadOnlyDictionary<string, string>? CheckpointMetadata { get; init; }

    /// <summary>Called once the trainer is ready (and the model measured, if asked), before the first step.</summary>
    public Action<FineTuneStart>? Started { get; init; }

    public Action<TrainingProgress>? Progress { get; init; }

    public Action<EpochResult>? EpochDone { get; init; }

    public Action<TrainingRollback>? RolledBack { get; init; }
}

/// <summary>The run about to train.</summary>
/// <param name="Trainer">The trainer (its parameters, options; do not train it from the callback).</param>
/// <param name="InsertedBatchNorms">BatchNormalization nodes inserted for training (folded back on export).</param>
/// <param name="Before">Test accuracy before training, when measured.</param>
internal sealed record FineTuneStart(Trainer Trainer, int InsertedBatchNorms, EvaluationResult? Before);

/// <summary>A finished <see cref="FineTuning.Run"/>.</summary>
/// <param name="Model">The trained inference model (inserted BatchNorm folded back, metadata set).</param>
/// <param name="Options">The options the trainer ran with (with the inserted nodes in <see cref="TrainerOptions.FoldOnExport"/>).</param>
/// <param name="Before">Test result before training, when measured.</param>
/// <param name="Final">Test result after training.</param>
/// <param name="History">Every epoch, those of a resumed checkpoint first.</param>
/// <param name="ResumedFromEpoch">Epochs the resumed checkpoint had finished (0 for a fresh run).</param>
/// <param name="Collapsed">Accuracy fell more than <see cref="FineTuning.CollapseMargin"/> below <paramref name="Before"/>.</param>
/// <param name="InsertedBatchNorms">BatchNormalization nodes inserted for training.</param>
/// <param name="Parameters">Names of the trained initializers.</param>
/// <param name="Rollbacks">Rollbacks after divergence in this run.</param>
/// <param name="LearningRateFactor">Factor on the schedule at the end (halved by each rollback).</param>
/// <param name="TrainSeconds">Wall time of the training (evaluations after epochs included).</param>
internal sealed record FineTuneResult(Model Model, TrainerOptions Options, EvaluationResult? Before, EvaluationResult Final,
    IReadOnlyList<EpochResult> History, int ResumedFromEpoch, bool Collapsed, int InsertedBatchNorms, IReadOnlyList<string> Parameters,
    IReadOnlyList<TrainingRollback> Rollbacks, double LearningRateFactor, double TrainSeconds)
{
    /// <summary>Seconds the distillation teacher ran in this run's epochs.</summary>
    public double TeacherSeconds => History.Skip(ResumedFromEpoch).Sum(e => e.TeacherSeconds);
}

internal static partial class FineTuning
{
    /// <summary>
    /// Trains <paramref name="model"/> (not modified) as <paramref name="options"/> say, end to end:
    /// BatchNorm inserted where folded (<see cref="FineTuneRequest.InsertBatchNorm"/>), the data
    /// checked against the model, the checkpoint restored, the accuracy measured before, the
    /// epochs trained (distilling from <see cref="TrainerOptions.Distillation"/>'s teacher when set),
    /// the accuracy measured after, and the model exported with its metadata. What the finetune and
    /// train commands run, and what a pruning loop calls to fine-tune; it writes nothing and prints nothing.
    /// </summary>
    /// <exception cref="TrainingInputException">The model, the teacher or the data do not fit.</exception>
    /// <exception cref="TrainingDivergedException">Training diverged after every rollback allowed.</exception>
    /// <exception cref="Autodiff.GradientException">The training graph cannot be built.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public static FineTuneResult Run(Model model, FineTuneRequest request, TrainerOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(options);
        int inserted = 0;
        if (request.InsertBatchNorm) (model, options, inserted) = WithInsertedBatchNorm(model, request.Train, options);
        using var trainer = new Trainer(model, options);
        foreach (var (key, value) in request.CheckpointMetadata ?? new Dictionary<string, string>()) trainer.CheckpointMetadata[key] = value;
        trainer.CheckData(request.Train);
        trainer.CheckData(request.Test);
        if (request.Validation is { } validation) trainer.CheckData(validation);
        if (request.Resume is { } checkpoint) trainer.Restore(checkpoint);

        var before = request.MeasureBefore && request.Resume is null ? trainer.Evaluate(request.Test, cancellationToken) : null;
        request.Started?.Invoke(new FineTuneStart(trainer, inserted, before));
        var resumedFrom = trainer.CompletedEpochs;
        if (request.RolledBack is { } rolledBack) trainer.RolledBack += rolledBack;
        var clock = Stopwatch.StartNew();
        trainer.Train(request.Train, request.Validation ?? request.Test, request.Progress, request.EpochDone, cancellationToken);
        var trainSeconds = clock.Elapsed.TotalSeconds;
        // Without a separate validation set the last epoch was evaluated on the test set already.
        var final = request.Validation is null && trainer.CompletedEpochs > resumedFrom && trainer.History[^1].Validation is { } last
            ? last : trainer.Evaluate(request.Test, cancellationToken);

        var metadata = new Dictionary<string, string>(request.Metadata ?? new Dictionary<string, string>(), StringComparer.Ordinal)
        {
            ["test_accuracy"] = final.Accuracy.ToString("0.0000", CultureInfo.InvariantCulture),
            ["test_loss"] = final.Loss.ToString("0.0000", CultureInfo.InvariantCulture),
            ["test_images"] = final.Count.ToString(CultureInfo.InvariantCulture),
            ["train_images"] = request.Train.Count.ToString(CultureInfo.InvariantCulture),
            ["epochs"] = options.Epochs.ToString(CultureInfo.InvariantCulture),
            ["seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
        };
        if (options.Normalization is { } normalization) metadata["normalization"] = normalization.ToString();
        if (options.Distillation is { } distillation) metadata["distillation"] = distillation.ToString();
        bool collapsed = before is not null && HasCollapsed(before, final);
        if (collapsed) metadata["collapsed"] = "true";
        var trained = trainer.ExportModel(metadata);
        return new FineTuneResult(trained, options, before, final, trainer.History.ToList(), resumedFrom, collapsed, inserted,
            trainer.ParameterNames, trainer.Rollbacks.ToList(), trainer.LearningRateFactor, trainSeconds);
    }
}
