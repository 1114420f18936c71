using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Cli.Commands;

/// <summary>
/// prune's --data, --preprocess, --calibration-images and --no-labels: the calibration sample of the
/// data-driven criteria. Unlike train/evaluate/finetune, prune takes a flat folder of images (no class
/// sub-folders): calibration needs no labels, the criteria then score against the original model's
/// own predictions as with --no-labels.
/// </summary>
internal static class CalibrationData
{
    /// <summary>
    /// An image folder (ImageNet layout or flat): the whole folder is the pool, only the chosen images
    /// are decoded, preprocessed by --preprocess over the model's defaults (mean/std included). Other
    /// data: its training images, normalised as the model's metadata says (else with the images' own
    /// statistics); --preprocess is refused for it. A broken image among the chosen ones is bad input naming the
    /// file; one that is not chosen is never read (decoding a whole large folder to sample from it would cost
    /// more than the scoring).
    /// </summary>
    public static CalibrationSet Load(string data, string? preprocess, IR.Model model, int count, int seed, bool labels, TextWriter notes) => TrainingCli.Guard(() =>
    {
        var signature = ClassifierSignature.Of(model);
        var request = new TrainingCli.DataRequest(data, null, seed);
        if (!TrainingCli.IsImageFolder(data))
        {
            TrainingCli.RejectPreprocess(preprocess, request);
            var loaded = TrainingCli.LoadData(request, signature.ClassCount);
            signature.CheckData(loaded.Train);
            return CalibrationSet.Sample(loaded.Train, FinetuneCommand.Normalization(null, model, loaded.Train, notes), count, seed, labels);
        }
        var preprocessing = TrainingCli.ResolvePreprocessing(preprocess, model, request);
        var scan = ImageFolderDataset.Scan(data);
        bool useLabels = labels && scan.HasLabels;
        var chosen = CalibrationSet.Choose(useLabels ? scan.Labels : null, scan.Files.Count, count, seed);
        var classes = signature.ClassCount ?? (int)Math.Max(1, scan.ClassNames?.Count ?? 1);
        notes.WriteLine($"image folder '{data}': {chosen.Length} of {scan.Files.Count} images, " +
            (scan.ClassNames is { } names ? $"{names.Count} class folders{(useLabels ? "" : " (labels not used)")}" : "no labels (a flat folder): targets are the model's own predictions") +
            $"; preprocessing {preprocessing}");
        var images = ImageFolderDataset.LoadFiles(scan, chosen, preprocessing, classes);
        signature.CheckData(images);
        return new CalibrationSet(images, useLabels);
    });
}
