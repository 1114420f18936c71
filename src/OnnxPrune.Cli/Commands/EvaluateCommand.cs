using System.CommandLine;
using System.Globalization;
using OnnxPrune.Cli.Output;
using OnnxPrune.Runtime;
using OnnxPrune.Training;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// `onnxprune evaluate MODEL --data fashion-mnist`: top-1 accuracy and mean cross-entropy of an
/// image classifier on a data set's test split, run by ONNX Runtime (the number the README and
/// the bundled models' metadata quote). Normalisation as for finetune.
/// </summary>
internal static class EvaluateCommand
{
    public static Command Create()
    {
        var model = CommonOptions.Model();
        var data = new Option<string>("--data") { Description = "fashion-mnist, a folder of MNIST-format IDX files, an .npz file (its x_test/y_test, else 10% held out), or a folder of images with one sub-folder per class (all measured)", Required = true };
        var testData = new Option<string?>("--test-data") { Description = "An .npz file or a folder of images to measure on instead of the data set's test split" };
        var limit = new Option<int?>("--limit-test") { Description = "Measure on the first N test images only" }.AtLeast(1);
        var threads = DeviceOptions.Threads();
        var device = DeviceOptions.Device();
        var normalization = TrainingData.NormalizationOption();
        var preprocess = TrainingData.PreprocessOption();
        var json = CommonOptions.Json();
        var command = new Command("evaluate", "Measure an image classifier's top-1 accuracy on a data set's test images with ONNX Runtime")
            { model, data, testData, limit, threads, device, normalization, preprocess, json };
        command.SetAction(parse => TrainingData.Guard(() =>
        {
            var path = parse.GetValue(model)!;
            var session = DeviceOptions.Settings(parse.GetValue(device)!, parse.GetValue(threads));
            var loaded = CommonOptions.Load(path);
            var signature = ClassifierSignature.Of(loaded); // no float input etc.: clear message before loading data
            var request = new TrainingData.DataRequest(parse.GetValue(data)!, parse.GetValue(testData), Seed: 0, LimitTest: parse.GetValue(limit)) { WholeSetIsTest = true };
            var (sets, norm, pre) = TrainingData.LoadForModel(request, signature.ClassCount, parse.GetValue(preprocess), parse.GetValue(normalization), loaded, allowNhwc: true, CommonOptions.Notes(parse));
            var result = ClassifierEvaluation.Evaluate(loaded, sets.Test, norm, session);
            var normText = norm?.ToString() ?? $"{pre!.Normalization} (applied in preprocessing)";
            if (parse.GetValue(json))
                Json.Write(Console.Out, new EvaluationJson(Path.GetFileName(path), sets.Name, sets.TestDescription, result.Count, result.Accuracy, result.Loss,
                    normText, result.Seconds, pre?.ToString()));
            else
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{Path.GetFileName(path)}: top-1 {100 * result.Accuracy:0.00}% ({Math.Round(result.Accuracy * result.Count)}/{result.Count}), loss {result.Loss:0.0000} on the {sets.TestDescription}; normalization {normText}{(pre is null ? "" : $"; preprocessing {pre}")}; {result.Seconds:0.0} s"));
            return ExitCodes.Ok;
        }));
        return command;
    }

    private sealed record EvaluationJson(string Model, string Data, string TestSet, int Images, double Accuracy, double Loss, string Normalization, double Seconds, string? Preprocess);
}
