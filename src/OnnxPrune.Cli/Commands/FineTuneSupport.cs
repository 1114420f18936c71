using OnnxPrune.IR;
using OnnxPrune.IR.Passes;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>What finetune asks of the shared training run: insert BatchNorm (on unless
/// --no-insert-bn) and fold every BatchNorm on export (--fold-bn).</summary>
internal sealed record FineTuneChoices(bool InsertBatchNorm, bool FoldAll);

/// <summary>The words of train and finetune for BatchNorm insertion, rollbacks and a collapsed run.</summary>
internal static class FineTuneSupport
{
    public static string InsertedMessage(int inserted, int trainImages) =>
        $"inserted {inserted} BatchNormalization node{(inserted == 1 ? "" : "s")} after the Conv/Gemm layers that had none " +
        $"(statistics of {Math.Min(trainImages, BatchNormInsertion.MaxImages)} training images, the function unchanged); " +
        "they train on batch statistics and are folded back into the layers on export (--no-insert-bn: train without)";

    public static string Describe(TrainingRollback r) =>
        $"epoch {r.Epoch}, step {r.Batch}: {r.Reason}; rolled back to {(r.RestoredBatch == 0 ? "the start of the epoch" : $"step {r.RestoredBatch} of the epoch")} " +
        $"and halved the learning rate (now x{r.NewLearningRateFactor:0.####} of the schedule; rollback {r.Rollback})";

    public static void FoldAll(Model model, TextWriter log)
    {
        new PassManager([new FoldBatchNormalization()]).Run(model);
        int left = model.Graph.Nodes.Count(n => n.IsOnnxDomain && n.OpType == "BatchNormalization");
        log.WriteLine(left == 0 ? "--fold-bn: every BatchNormalization folded into its layer"
            : $"--fold-bn: {left} BatchNormalization node{(left == 1 ? "" : "s")} could not be folded (not directly after a Conv/ConvTranspose/Gemm they alone read) and stay");
    }

    public static string CollapseMessage(EvaluationResult before, EvaluationResult after, string output) =>
        $"error: fine-tuning collapsed: test accuracy {after.Accuracy * 100:0.00}% against {before.Accuracy * 100:0.00}% before, " +
        $"more than {FineTuning.CollapseMargin * 100:0} points lower; '{output}' was written (its metadata says collapsed=true) but is worse than the input: " +
        "lower --lr, or check --data and --normalization";
}
