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
        var normalization = NormalizationOption();
        var common = TrainingCli.CreateOptions(defaultLearningRate: 0.01);
        var noInsert = new Option<bool>("--no-insert-bn")
        {
            Description = "Train as the model is: do not insert BatchNormalization after the Conv/Gemm layers that have none (inserted ones start as the identity and are folded back on export)",
        };
        var foldBn = new Option<bool>("--fold-bn") { Description = "Fold every BatchNormalization into the layer before it on export, the model's own ones too" };
        var command = new Command("finetune", "Train an existing ONNX image classifier further on a data set and save it") { model, normalization, noInsert, foldBn };
        common.AddTo(command);
        command.SetAction(parse => TrainingCli.Guard(() =>
        {
            var path = parse.GetValue(model)!;
            var settings = common.Read(parse, inputModel: path);
            var loaded = CommonOptions.Load(path);
            var signature = ClassifierSignature.Of(loaded); // no float input etc.: clear message before loading data
            var (data, norm, _) = LoadForModel(TrainingCli.Request(settings), signature.ClassCount, settings.Preprocess, parse.GetValue(normalization), loaded, allowNhwc: false, CommonOptions.Notes(parse));
            var metadata = loaded.MetadataProps.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal);
            return TrainingCli.Run(settings, loaded, data, norm!, metadata, "finetune", baseModel: Path.GetFileName(path), measureBefore: true,
                fineTune: new FineTuneChoices(InsertBatchNorm: !parse.GetValue(noInsert), FoldAll: parse.GetValue(foldBn)));
        }));
        return command;
    }

    /// <summary>
    /// Loads the data for an existing model (evaluate, finetune) and chooses the normalisation. For image folders
    /// the preprocessing is --preprocess over the model's defaults (<see cref="ImagePreprocessing.ForModel"/>);
    /// for nchw the images are loaded as [0, 1] values and the preprocessing's mean/std (else --normalization, else
    /// the model's metadata, else mean 0 std 1) is the normalisation applied per batch, as for other data. For
    /// nhwc (evaluate only) the mean/std is applied while loading and the returned normalisation is null.
    /// </summary>
    internal static (TrainingCli.LoadedData Data, ChannelNormalization? Normalization, ImagePreprocessing? Preprocessing) LoadForModel(
        TrainingCli.DataRequest request, int? classCount, string? preprocess, string? normalization, IR.Model model, bool allowNhwc, TextWriter notes)
    {
        if (!TrainingCli.UsesImages(request))
        {
            TrainingCli.RejectPreprocess(preprocess, request);
            var data = TrainingCli.LoadData(request, classCount);
            return (data, Normalization(normalization, model, data.Train, notes), null);
        }
        var pre = TrainingCli.ResolvePreprocessing(preprocess, model, request);
        bool givenInPreprocess = preprocess is not null && ImagePreprocessing.SetsNormalization(preprocess);
        if (givenInPreprocess && normalization is not null)
            throw new UsageException("give the normalisation once: mean/std in --preprocess, or --normalization");
        if (pre.Layout == TensorLayout.Nhwc)
        {
            if (!allowNhwc) throw new UsageException("--preprocess layout=nhwc: finetune trains on channels-first images (layout=nchw); evaluate takes nhwc");
            if (normalization is not null) throw new UsageException("with layout=nhwc give the normalisation as mean/std in --preprocess, not --normalization");
            notes.WriteLine($"preprocessing: {pre}");
            return (TrainingCli.LoadData(request, classCount, pre), null, pre);
        }
        var loaded = TrainingCli.LoadData(request, classCount, pre.WithoutNormalization());
        var norm = givenInPreprocess || normalization is null ? pre.Normalization : Normalization(normalization, model, loaded.Train, notes);
        pre = pre.WithNormalization(norm);
        notes.WriteLine($"preprocessing: {pre}");
        return (loaded, norm, pre);
    }

    public static Option<string?> NormalizationOption() => new("--normalization")
    {
        Description = "Input normalisation: mean=M1/M2/...,std=S1/S2/... per channel, 'none', or 'data' (computed from the training images); default: the model's metadata, else 'data'",
    };

    /// <summary>The normalisation --normalization names, else the model's metadata, else the training data's statistics.</summary>
    public static ChannelNormalization Normalization(string? option, IR.Model model, Dataset train, TextWriter notes)
    {
        switch (option?.Trim().ToLowerInvariant())
        {
            case "none": return ChannelNormalization.Identity(train.Channels);
            case "data": return ChannelNormalization.Compute(train);
            case null: break;
            default:
                try
                {
                    var given = ChannelNormalization.Parse(option!);
                    if (given.Channels != train.Channels) throw new UsageException($"--normalization has {given.Channels} channel(s) but the images have {train.Channels}");
                    return given;
                }
                catch (FormatException e) { throw new UsageException($"--normalization: {e.Message}"); }
        }
        var saved = model.MetadataProps.LastOrDefault(p => p.Key == "normalization").Value;
        if (saved is not null)
        {
            try
            {
                var fromModel = ChannelNormalization.Parse(saved);
                if (fromModel.Channels == train.Channels)
                {
                    notes.WriteLine($"normalization from the model's metadata: {fromModel}");
                    return fromModel;
                }
            }
            catch (FormatException) { }
            notes.WriteLine($"the model's normalization metadata '{saved}' does not fit the data; using the training data's mean and standard deviation");
        }
        var computed = ChannelNormalization.Compute(train);
        notes.WriteLine($"the model has no normalization metadata: using the training data's mean and standard deviation ({computed}); pass --normalization to choose");
        return computed;
    }
}
