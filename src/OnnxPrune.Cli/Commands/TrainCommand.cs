using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using OnnxPrune.Autodiff;
using OnnxPrune.Cli.Output;
using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Runtime;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune train --arch resnet20 --data fashion-mnist --epochs N --seed S -o OUT.onnx`: builds
/// an architecture with the C# graph builder, trains it (every step one ONNX Runtime run of the
/// training graph), measures it on the test set and writes an inference model whose metadata
/// names the data set, the normalisation and the test accuracy.
/// </summary>
internal static class TrainCommand
{
    public static Command Create()
    {
        var arch = new Option<string>("--arch") { Description = $"Architecture: {string.Join(", ", Training.Architectures.Architectures.Names)}", Required = true };
        var common = TrainingCli.CreateOptions(defaultLearningRate: 0.1);
        var command = new Command("train", "Train an architecture on a data set with SGD on ONNX Runtime and save it as an inference model") { arch };
        common.AddTo(command);
        command.SetAction(parse => TrainingData.Guard(() =>
        {
            var archName = parse.GetValue(arch)!;
            if (!Training.Architectures.Architectures.Names.Contains(archName))
                throw new UsageException($"unknown architecture '{archName}' for --arch; choose one of {string.Join(", ", Training.Architectures.Architectures.Names)}");
            var settings = common.Read(parse, inputModel: null);
            var request = TrainingCli.Request(settings);
            TrainingData.LoadedData data;
            ChannelNormalization normalization;
            if (TrainingData.UsesImages(request))
            {
                // No model yet: the size is --preprocess's crop, else the first image's; the normalisation is
                // --preprocess's mean/std, else the training images' statistics (as for other data).
                var preprocessing = TrainingData.ResolvePreprocessing(settings.Preprocess, model: null, request);
                if (preprocessing.Layout == TensorLayout.Nhwc)
                    throw new UsageException("--preprocess layout=nhwc: train builds channels-first models; use layout=nchw");
                data = TrainingData.LoadData(request, classCount: null, CommonOptions.Notes(parse), preprocessing.WithoutNormalization());
                normalization = settings.Preprocess is { } text && ImagePreprocessing.SetsNormalization(text) ? preprocessing.Normalization : ChannelNormalization.Compute(data.Train);
                CommonOptions.Notes(parse).WriteLine($"preprocessing: {preprocessing.WithNormalization(normalization)}");
            }
            else
            {
                TrainingData.RejectPreprocess(settings.Preprocess, request);
                data = TrainingData.LoadData(request, classCount: null, CommonOptions.Notes(parse));
                normalization = ChannelNormalization.Compute(data.Train);
            }
            var model = Training.Architectures.Architectures.Build(archName, settings.Seed, data.Train.Channels, data.Train.Height, data.Train.Width, data.Train.ClassCount);
            var metadata = new Dictionary<string, string> { ["arch"] = archName };
            return TrainingCli.Run(settings, model, data, normalization, metadata, "train");
        }));
        return command;
    }
}

/// <summary>What train and finetune share: options, data loading, the run, the output.</summary>
internal static class TrainingCli
{
    internal sealed record Settings(string Data, string? TestData, string Output, int Epochs, int Seed, int BatchSize, double LearningRate,
        double Momentum, bool Nesterov, double WeightDecay, bool DecayAll, LearningRateSchedule Schedule, Augmentation Augmentation,
        int Threads, ExecutionProvider Provider, int? LimitTrain, int? LimitTest, int? Holdout, string? Resume, Checkpoint? Checkpoint, string? CheckpointDir, bool Json,
        string? Preprocess = null, DistillationOptions? Teacher = null, string? TeacherPath = null)
    {
        /// <summary>--quiet: only errors and the final result line.</summary>
        public bool Quiet { get; init; }
    }

    internal sealed record Options(
        Option<string> Data, Option<string?> TestData, Option<int> Epochs, Option<string> Output, Option<int> Seed, Option<int> BatchSize,
        Option<double> Lr, Option<double> Momentum, Option<bool> Nesterov, Option<double> WeightDecay, Option<bool> DecayAll,
        Option<string> Schedule, Option<int> Warmup, Option<string> Augment, Option<int> CropPadding, Option<int> Threads, Option<string> Device,
        Option<int?> LimitTrain, Option<int?> LimitTest, Option<int?> Holdout, Option<string?> Resume, Option<string?> CheckpointDir, Option<bool> Json,
        Option<string?> Preprocess, Option<string?> Teacher, Option<double?> DistillTemperature, Option<double?> DistillWeight)
    {
        public void AddTo(Command command)
        {
            foreach (var o in new Option[] { Data, TestData, Epochs, Output, Seed, BatchSize, Lr, Momentum, Nesterov, WeightDecay, DecayAll, Schedule, Warmup,
                         Augment, CropPadding, Threads, Device, LimitTrain, LimitTest, Holdout, Resume, CheckpointDir, Json, Preprocess,
                         Teacher, DistillTemperature, DistillWeight })
                command.Options.Add(o);
            // Checks that read two options at once.
            command.Validators.Add(result =>
            {
                // Values that do not parse are reported by the parser; these checks skip them.
                // A command validator reads an option not given as 0, not as its default (0.9): only a given --momentum 0 is refused.
                if (Validators.TryGet(result, Nesterov, out var nesterov) && nesterov && result.GetResult(Momentum) is { Implicit: false }
                    && Validators.TryGet(result, Momentum, out var momentum) && momentum == 0)
                    result.AddError("--nesterov needs a --momentum above 0");
                if (!Validators.TryGet(result, Warmup, out var warmup) || warmup <= 0) return;
                if (Validators.TryGet(result, Epochs, out var epochs) && warmup >= epochs)
                    result.AddError($"--warmup-epochs ({warmup}) must be fewer than --epochs ({epochs})");
                if (Validators.TryGet(result, Schedule, out var schedule) && schedule is not null && !schedule.Equals("cosine", StringComparison.OrdinalIgnoreCase))
                    result.AddError("--warmup-epochs goes with --schedule cosine");
            });
        }

        /// <summary>Reads the settings (the values are checked by the options' validators) and checks the
        /// files they name; every problem is a <see cref="UsageException"/> naming the option.</summary>
        public Settings Read(ParseResult parse, string? inputModel)
        {
            var output = parse.GetValue(Output)!;
            if (inputModel is not null) OutputPaths.CheckNotInput(inputModel, output);
            else CheckOutputFolder(output);
            int epochs = parse.GetValue(Epochs), batch = parse.GetValue(BatchSize), threads = parse.GetValue(Threads), warmup = parse.GetValue(Warmup);
            double lr = parse.GetValue(Lr), momentum = parse.GetValue(Momentum), decay = parse.GetValue(WeightDecay);
            bool nesterov = parse.GetValue(Nesterov);
            var provider = DeviceOptions.Provider(parse.GetValue(Device)!);
            LearningRateSchedule schedule = parse.GetValue(Schedule)!.ToLowerInvariant() switch
            {
                "step" => new StepSchedule(),
                "constant" => new ConstantSchedule(),
                _ => new CosineSchedule(warmup),
            };
            int padding = parse.GetValue(CropPadding);
            var augmentation = parse.GetValue(Augment)!.ToLowerInvariant() switch
            {
                "none" => Augmentation.None,
                "flip" => new Augmentation(0, true),
                "crop" => new Augmentation(padding, false),
                _ => new Augmentation(padding, true),
            };
            var limitTrain = parse.GetValue(LimitTrain);
            var limitTest = parse.GetValue(LimitTest);
            var holdout = parse.GetValue(Holdout);
            var checkpointDir = parse.GetValue(CheckpointDir);
            if (checkpointDir is not null && !Directory.Exists(checkpointDir))
                throw new UsageException($"--checkpoint-dir '{checkpointDir}' does not exist");
            var resume = parse.GetValue(Resume);
            if (resume is not null && !File.Exists(resume))
                throw new UsageException(Directory.Exists(resume) ? $"--resume '{resume}' is a folder; give the checkpoint file" : $"checkpoint '{resume}' (--resume) does not exist");
            // A resumed run takes its seed from the checkpoint before anything depends on it (initial
            // weights, held-out splits); the trainer takes the other settings from it too.
            var checkpoint = resume is null ? null : Checkpoint.Load(resume);
            var seed = checkpoint?.Seed ?? parse.GetValue(Seed);
            var (teacher, teacherPath) = ReadTeacher(parse);
            return new Settings(parse.GetValue(Data)!, parse.GetValue(TestData), output, epochs, seed, batch, lr, momentum, nesterov, decay,
                parse.GetValue(DecayAll), schedule, augmentation, threads, provider, limitTrain, limitTest, holdout, resume, checkpoint, checkpointDir, parse.GetValue(Json),
                parse.GetValue(Preprocess), teacher, teacherPath) { Quiet = parse.GetValue<bool>("--quiet") };
        }

        /// <summary>--teacher's model with --distill-temperature and --distill-weight, or null without --teacher.</summary>
        private (DistillationOptions? Options, string? Path) ReadTeacher(ParseResult parse)
        {
            var path = parse.GetValue(Teacher);
            double? temperature = parse.GetValue(DistillTemperature), weight = parse.GetValue(DistillWeight);
            if (path is null)
            {
                if (temperature is not null) throw new UsageException("--distill-temperature needs --teacher");
                if (weight is not null) throw new UsageException("--distill-weight needs --teacher");
                return (null, null);
            }
            if (!File.Exists(path))
                throw new UsageException(Directory.Exists(path) ? $"--teacher '{path}' is a folder; give the path of an .onnx file" : $"teacher model '{path}' (--teacher) does not exist");
            Model model;
            try { model = OnnxModelFile.Load(path); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or OnnxFormatException)
            {
                throw new UsageException($"teacher model '{path}' (--teacher) cannot be read: {e.Message}");
            }
            return (new DistillationOptions
            {
                Teacher = model,
                Temperature = temperature ?? DistillationOptions.DefaultTemperature,
                Weight = weight ?? DistillationOptions.DefaultWeight,
            }, path);
        }
    }

    public static Options CreateOptions(double defaultLearningRate) => new(
        new Option<string>("--data") { Description = "fashion-mnist (Debian's dataset-fashion-mnist), a folder of MNIST-format IDX files, an .npz file (x/y arrays, or x_train/y_train with x_test/y_test), or a folder of images with one sub-folder per class", Required = true },
        new Option<string?>("--test-data") { Description = "An .npz file or a folder of images (one sub-folder per class) to measure test accuracy on (default: the data set's test split, or 10% held out of an .npz or image folder)" },
        new Option<int>("--epochs") { Description = "Epochs to train", Required = true }.AtLeast(1),
        new Option<string>("--output", "-o") { Description = "Where to write the trained inference model", Required = true },
        new Option<int>("--seed") { Description = "Seed of the initial weights, the sample order and the augmentation", DefaultValueFactory = _ => 0 },
        new Option<int>("--batch-size") { Description = "Images per step", DefaultValueFactory = _ => 128 }.AtLeast(1),
        new Option<double>("--lr") { Description = "Base learning rate", DefaultValueFactory = _ => defaultLearningRate }.Within(v => v > 0, "a positive number"),
        new Option<double>("--momentum") { Description = "SGD momentum", DefaultValueFactory = _ => 0.9 }.Within(v => v is >= 0 and < 1, "in [0, 1)"),
        new Option<bool>("--nesterov") { Description = "Nesterov momentum" },
        new Option<double>("--weight-decay") { Description = "L2 weight decay on conv and linear weights (not on biases and BatchNorm parameters unless --decay-all)", DefaultValueFactory = _ => 5e-4 }
            .Within(v => v >= 0, "zero or positive"),
        new Option<bool>("--decay-all") { Description = "Apply weight decay to every parameter, biases and BatchNorm ones too" },
        new Option<string>("--schedule") { Description = "Learning-rate schedule: cosine (per step), step (x0.1 at 50% and 75% of the epochs) or constant", DefaultValueFactory = _ => "cosine" }
            .OneOf("cosine", "step", "constant"),
        new Option<int>("--warmup-epochs") { Description = "Linear warm-up epochs before the cosine decay", DefaultValueFactory = _ => 0 }.AtLeast(0),
        new Option<string>("--augment") { Description = "Training augmentation: crop-flip, crop, flip or none", DefaultValueFactory = _ => "crop-flip" }
            .OneOf("none", "crop", "flip", "crop-flip"),
        new Option<int>("--crop-padding") { Description = "Zero padding of the random crop", DefaultValueFactory = _ => 4 }.AtLeast(0),
        DeviceOptions.Threads(),
        DeviceOptions.Device(),
        new Option<int?>("--limit-train") { Description = "Train on the first N training images only" }.AtLeast(1),
        new Option<int?>("--limit-test") { Description = "Measure on the first N test images only" }.AtLeast(1),
        new Option<int?>("--holdout") { Description = "Hold N training images out and evaluate on them after each epoch (default: the test set)" }.AtLeast(1),
        new Option<string?>("--resume") { Description = "Continue from a checkpoint (its seed, batch size and optimizer settings are used)" },
        new Option<string?>("--checkpoint-dir") { Description = "Keep the checkpoint (written every epoch) in this folder; by default it is written next to the output and removed when training finishes" },
        CommonOptions.Json(),
        TrainingData.PreprocessOption(),
        new Option<string?>("--teacher") { Description = "Distil from this ONNX classifier (e.g. the model before pruning): each step also runs it on the batch and the loss adds the KL divergence to its softened outputs" },
        new Option<double?>("--distill-temperature") { Description = $"Softmax temperature T of the distillation (default {DistillationOptions.DefaultTemperature})" }
            .Within(v => v > 0, "a positive number"),
        new Option<double?>("--distill-weight") { Description = $"Share w of the distillation term: loss = (1 - w) CE + w T^2 KL (default {DistillationOptions.DefaultWeight})" }
            .Within(v => v is >= 0 and <= 1, "in [0, 1]"));

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static void CheckOutputFolder(string output)
    {
        var full = Path.GetFullPath(output);
        if (Directory.Exists(full)) throw new UsageException($"cannot write '{output}': it is a folder");
        var dir = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(dir)) throw new UsageException($"cannot write '{output}': folder '{dir}' does not exist");
    }

    internal static TrainingData.DataRequest Request(Settings s) => new(s.Data, s.TestData, s.Seed, s.LimitTrain, s.LimitTest, s.Holdout);

    internal sealed record EpochJson(int Epoch, double TrainLoss, double TrainAccuracy, double LearningRate, double ImagesPerSecond, double Seconds,
        double? TestAccuracy, double? TestLoss, double TeacherSeconds = 0);

    internal sealed record ResultJson(string Command, string Model, string? Arch, string? BaseModel, string Data, int TrainImages, int TestImages,
        string TestSet, int? HoldoutImages, int Epochs, int ResumedFromEpoch, int Seed, int BatchSize, double LearningRate, double Momentum, bool Nesterov,
        double WeightDecay, string Schedule, string Augmentation, string Normalization, int Threads, double TestAccuracy, double TestLoss,
        double? TestAccuracyBefore, double TrainSeconds, double ImagesPerSecond, IReadOnlyList<string> Trainable, IReadOnlyList<EpochJson> History,
        bool Collapsed, int Rollbacks, double LearningRateFactor, int InsertedBatchNorms, double? DistillTemperature = null, double? DistillWeight = null,
        string? Teacher = null, double TeacherSeconds = 0);

    /// <summary>Trains <paramref name="model"/> and writes the result: the shared body of train and finetune.</summary>
    public static int Run(Settings s, Model model, TrainingData.LoadedData data, ChannelNormalization normalization, Dictionary<string, string> metadata,
        string commandName, string? baseModel = null, bool measureBefore = false, FineTuneChoices? fineTune = null)
    {
        var checkpointPath = s.CheckpointDir is { } dir
            ? Path.Combine(dir, Path.GetFileNameWithoutExtension(s.Output) + ".checkpoint.npz")
            : Path.GetFullPath(s.Output) + ".checkpoint.npz";
        var options = new TrainerOptions
        {
            Epochs = s.Epochs,
            BatchSize = s.BatchSize,
            Seed = s.Seed,
            Sgd = new SgdOptions(s.LearningRate, s.Momentum, s.Nesterov, s.WeightDecay, s.DecayAll),
            Schedule = s.Schedule,
            Augmentation = s.Augmentation,
            Normalization = normalization,
            CheckpointPath = checkpointPath,
            InputSampleDims = [data.Train.Channels, data.Train.Height, data.Train.Width],
            Session = new SessionSettings { IntraOpThreads = s.Threads, Provider = s.Provider },
        };
        var command = "onnxprune " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).Select(Quote));
        Checkpoint? checkpoint = null;
        if (s.Checkpoint is { } loaded && s.Resume is { } resume)
        {
            checkpoint = loaded;
            var trainImages = data.Train.Count.ToString(CultureInfo.InvariantCulture);
            foreach (var key in new[] { "command_name", "arch", "data", "base_model", "train_images" })
            {
                var expected = key switch
                {
                    "command_name" => commandName, "arch" => metadata.GetValueOrDefault("arch"), "data" => data.Name, "train_images" => trainImages, _ => baseModel,
                };
                if (checkpoint.Metadata.TryGetValue(key, out var saved) && expected is not null && saved != expected)
                    throw new UsageException($"checkpoint '{resume}' is of another run: its {key.Replace('_', ' ')} is '{saved}', this run's is '{expected}'");
            }
            if (checkpoint.CompletedEpochs > s.Epochs)
                throw new UsageException($"checkpoint '{resume}' has already trained {checkpoint.CompletedEpochs} epochs; ask for at least that many with --epochs");
            options = checkpoint.ApplyTo(options);
        }

        if (s.Teacher is { } teacher) options = options with { Distillation = teacher };
        metadata["dataset"] = data.Name;
        metadata["command"] = command;
        if (baseModel is not null) metadata["base_model"] = baseModel;
        var checkpointMetadata = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["command_name"] = commandName,
            ["data"] = data.Name,
            ["command"] = command,
            ["train_images"] = data.Train.Count.ToString(CultureInfo.InvariantCulture),
        };
        if (metadata.TryGetValue("arch", out var a)) checkpointMetadata["arch"] = a;
        if (baseModel is not null) checkpointMetadata["base_model"] = baseModel;

        var terminal = Terminal.FromConsole(s.Quiet);
        FineTuneResult result;
        using (var bar = new Progress(terminal, commandName))
        {
            result = FineTuning.Run(model, new FineTuneRequest(data.Train, data.Test)
            {
                Validation = data.Validation,
                InsertBatchNorm = fineTune is { InsertBatchNorm: true },
                MeasureBefore = measureBefore,
                Metadata = metadata,
                Resume = checkpoint,
                CheckpointMetadata = checkpointMetadata,
                Started = start => { if (!s.Quiet) Describe(start, s, data, commandName, checkpointPath, checkpoint); },
                Progress = p => bar.Report(p),
                RolledBack = r =>
                {
                    bar.Line(FineTuneSupport.Describe(r));
                },
                EpochDone = epoch =>
                {
                    var eval = epoch.Validation is { } e ? $" | {(data.Validation is null ? "test" : "held-out")} {e.Accuracy * 100:0.00}% (loss {e.Loss:0.0000})" : "";
                    var teacher = s.Teacher is null ? "" : $" (teacher {epoch.TeacherSeconds:0.0} s)";
                    bar.Line($"epoch {epoch.Epoch}/{options.Epochs}: loss {epoch.TrainLoss:0.0000} train {epoch.TrainAccuracy * 100:0.00}%{eval} | {epoch.ImagesPerSecond:0} img/s | lr {epoch.LearningRate:0.#####} | {epoch.Seconds:0.0} s{teacher}");
                },
            }, options);
        }
        options = result.Options;
        var (before, final, collapsed, resumedFrom, trainSeconds) = (result.Before, result.Final, result.Collapsed, result.ResumedFromEpoch, result.TrainSeconds);
        var trained = result.Model;
        if (fineTune is { FoldAll: true }) FineTuneSupport.FoldAll(trained, s.Quiet ? TextWriter.Null : Console.Error);
        OnnxModelFile.Save(trained, s.Output);
        if (s.CheckpointDir is null && File.Exists(checkpointPath)) File.Delete(checkpointPath);

        var epochs = result.History;
        double imagesPerSecond = epochs.Count > resumedFrom ? epochs.Skip(resumedFrom).Average(e => e.ImagesPerSecond) : 0;
        if (s.Json)
        {
            Json.Write(Console.Out, new ResultJson(command, s.Output, metadata.GetValueOrDefault("arch"), baseModel, data.Name, data.Train.Count, data.Test.Count,
                data.TestDescription, data.Validation?.Count, options.Epochs, resumedFrom, options.Seed, options.BatchSize, options.Sgd.LearningRate,
                options.Sgd.Momentum, options.Sgd.Nesterov, options.Sgd.WeightDecay, options.Schedule.ToString()!, DescribeAugmentation(options.Augmentation),
                normalization.ToString(), s.Threads, final.Accuracy, final.Loss, before?.Accuracy, trainSeconds, imagesPerSecond, result.Parameters,
                epochs.Select(e => new EpochJson(e.Epoch, e.TrainLoss, e.TrainAccuracy, e.LearningRate, e.ImagesPerSecond, e.Seconds, e.Validation?.Accuracy, e.Validation?.Loss, e.TeacherSeconds)).ToList(),
                collapsed, result.Rollbacks.Count, result.LearningRateFactor, options.FoldOnExport?.Count ?? 0, options.Distillation?.Temperature,
                options.Distillation?.Weight, s.TeacherPath, result.TeacherSeconds));
        }
        else
        {
            var o = Console.Out;
            if (s.Quiet) o.WriteLine($"wrote {s.Output}: test accuracy {final.Accuracy * 100:0.00}% on {final.Count} images");
            else PrintResult(o, s, result, data, options, metadata, baseModel, imagesPerSecond);
        }
        if (!collapsed) return ExitCodes.Ok;
        Console.Error.WriteLine(FineTuneSupport.CollapseMessage(before!, final, s.Output));
        return ExitCodes.TrainingFailed;
    }

    private static void PrintResult(TextWriter o, Settings s, FineTuneResult result, TrainingData.LoadedData data, TrainerOptions options, Dictionary<string, string> metadata, string? baseModel, double imagesPerSecond)
    {
        var (before, final, trainSeconds) = (result.Before, result.Final, result.TrainSeconds);
        o.WriteLine($"wrote {s.Output}");
        o.WriteLine($"  {(baseModel is not null ? "fine-tuned " + baseModel : "arch " + metadata.GetValueOrDefault("arch"))}, data {data.Name}: {data.Train.Count} training images, {options.Epochs} epoch{(options.Epochs == 1 ? "" : "s")}, seed {options.Seed}");
        if (before is not null) o.WriteLine($"  test accuracy before {before.Accuracy * 100:0.00}%");
        o.WriteLine($"  test accuracy {final.Accuracy * 100:0.00}% (loss {final.Loss:0.0000}) on {final.Count} images ({data.TestDescription})");
        o.WriteLine($"  {trainSeconds:0.0} s training, {imagesPerSecond:0} images/s");
        if (s.Teacher is { } kd) o.WriteLine($"  distilled from {s.TeacherPath} ({kd}): teacher {result.TeacherSeconds:0.0} s of the training");
        if (result.Rollbacks.Count > 0) o.WriteLine($"  {result.Rollbacks.Count} rollback(s) after divergence; learning rate x{result.LearningRateFactor:0.####} from then on");
    }

    /// <summary>The lines before the first step: inserted BatchNorm, the run, the checkpoint, the accuracy before.</summary>
    private static void Describe(FineTuneStart start, Settings s, TrainingData.LoadedData data, string commandName, string checkpointPath, Checkpoint? checkpoint)
    {
        var log = Console.Error;
        var (trainer, options) = (start.Trainer, start.Trainer.Options);
        if (start.InsertedBatchNorms > 0) log.WriteLine(FineTuneSupport.InsertedMessage(start.InsertedBatchNorms, data.Train.Count));
        log.WriteLine($"{commandName}: {trainer.ParameterNames.Count} parameter tensors, {data.Train.Count} training images, " +
                      $"{(data.Validation is { } v ? $"{v.Count} held-out images for per-epoch evaluation, " : "")}{data.Test.Count} test images; " +
                      $"batch {options.BatchSize}, lr {Fmt(options.Sgd.LearningRate)} ({options.Schedule}), seed {options.Seed}");
        if (options.Distillation is { } kd)
            log.WriteLine($"distilling from {s.TeacherPath}: loss (1 - {Fmt(kd.Weight)}) CE + {Fmt(kd.Weight)} T^2 KL at T = {Fmt(kd.Temperature)}; the teacher runs once per step");
        log.WriteLine($"checkpoint every epoch: {checkpointPath}{(s.CheckpointDir is null ? " (removed when training finishes)" : "")}; resume with --resume {checkpointPath}");
        if (checkpoint is not null) log.WriteLine($"resuming from '{s.Resume}' after epoch {checkpoint.CompletedEpochs}");
        if (start.Before is { } before) log.WriteLine($"before: test accuracy {before.Accuracy * 100:0.00}% (loss {before.Loss:0.0000}) on {data.Test.Count} images");
    }

    private static string DescribeAugmentation(Augmentation a) =>
        a.IsNone ? "none" : string.Join("+", new[] { a.CropPadding > 0 ? $"crop(pad {a.CropPadding})" : null, a.HorizontalFlip ? "flip" : null }.Where(x => x is not null));

    private static string Quote(string a) => a.Length > 0 && a.All(c => !char.IsWhiteSpace(c) && c != '\'' && c != '"') ? a : $"'{a.Replace("'", "'\\''")}'";
}
