using System.CommandLine;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune finetune MODEL --data ... --epochs N -o OUT`: trains any exported image classifier
/// further. Its float weights feeding Conv, Gemm, MatMul and BatchNormalization are trained (for a
/// model with BatchNorm folded into its convolutions: the convolution weights and biases and the
/// classifier); BatchNorm layers train on batch statistics and their running statistics are
/// updated. A model whose exporter folded BatchNorm into its convolutions first gets one inserted after
/// each Conv/Gemm without (the function unchanged; folded back on export; --no-insert-bn: not), see
/// <see cref="BatchNormInsertion"/>. A divergence rolls back with a halved learning rate; a run that ends
/// more than <see cref="FineTuning.CollapseMargin"/> below the accuracy before exits with
/// <see cref="ExitCodes.TrainingFailed"/> (the model is still written). Inputs are normalised as the model's "normalization" metadata says (OnnxPrune's own
/// models carry it), else with the mean and standard deviation of the training data, or as
/// --normalization gives. With --teacher every step also runs the teacher (e.g. the model before
/// pruning) on the batch and the loss adds the KL divergence to its softened outputs
/// (<see cref="DistillationOptions"/>); the run itself is <see cref="FineTuning.Run"/>.
/// </summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var normalization = TrainingData.NormalizationOption();
        var common = TrainingCli.CreateOptions(defaultLearningRate: 0.01);
        var noInsert = new Option<bool>("--no-insert-bn")
        {
            Description = "Train as the model is: do not insert BatchNormalization after the Conv/Gemm layers that have none (inserted ones start as the identity and are folded back on export)",
        };
        var foldBn = new Option<bool>("--fold-bn") { Description = "Fold every BatchNormalization into the layer before it on export, the model's own ones too" };
        var command = new Command("finetune", "Train an existing ONNX image classifier further on a data set and save it") { model, normalization, noInsert, foldBn };
        common.AddTo(command);
        command.SetAction(parse => TrainingData.Guard(() =>
        {
            var path = parse.GetValue(model)!;
            var settings = common.Read(parse, inputModel: path);
            var loaded = CommonOptions.Load(path);
            var signature = ClassifierSignature.Of(loaded); // no float input etc.: clear message before loading data
            var (data, norm, _) = TrainingData.LoadForModel(TrainingCli.Request(settings), signature.ClassCount, settings.Preprocess, parse.GetValue(normalization), loaded, allowNhwc: false, CommonOptions.Notes(parse));
            var metadata = loaded.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            return TrainingCli.Run(settings, loaded, data, norm!, metadata, "finetune", baseModel: Path.GetFileName(path), measureBefore: true,
                fineTune: new FineTuneChoices(InsertBatchNorm: !parse.GetValue(noInsert), FoldAll: parse.GetValue(foldBn)));
        }));
        return command;
    }
}
