using System.CommandLine;
using System.Globalization;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The prune options of the main job (`onnxprune MODEL --target-latency 50% --data D`): objectives beyond one
/// MACs/parameter target, rounds with fine-tuning, distillation, checkpoints and how latency is measured.
/// Giving any of them runs the loop (<see cref="MainJob"/>) instead of a single pruning.
/// </summary>
internal sealed record MainJobOptions(
    Option<string?> Latency, Option<string?> MaxSize, Option<double?> MaxAccuracyDrop, Option<int?> Rounds, Option<int> FinetuneEpochs, Option<int?> FinalEpochs,
    Option<double> FinetuneLr, Option<bool> Distill, Option<bool> NoDistill, Option<string?> Resume, Option<int> Batch, Option<string?> LatencyCache,
    Option<bool> NoBranchRemoval)
{
    /// <summary>
    /// 0.02, not train's 0.01: one distilled epoch after pruning ResNet-56 to 50% MACs reached 93.21% and 93.36% (seeds 0
    /// and 1) at 0.02 against 93.05% at 0.01 and 92.97% at 0.005 (docs/finetune-sweep.md); the pruned and refit model
    /// starts close to the original, and a short cosine schedule needs the larger first steps to move it.
    /// </summary>
    public const double DefaultFinetuneLr = 0.02;

    public static MainJobOptions Create() => new(
        new Option<string?>("--target-latency") { Description = "Latency to reach, measured with ONNX Runtime on --device/--threads/--batch: milliseconds (5ms) or a share of the original's (50%)" },
        new Option<string?>("--max-size") { Description = "Largest file the pruned model may take: 5MB, 800KB, 1.5GB (powers of 1000; MiB/KiB/GiB for powers of 1024) or bytes" },
        new Option<double?>("--max-accuracy-drop") { Description = "Top-1 points the result may lose on --data's test split; alone: remove as much as that allows (adaptive rounds)" }
            .Within(v => v is >= 0 and <= 100, "between 0 and 100 (points)"),
        new Option<int?>("--rounds") { Description = "Prune in this many rounds toward the targets (prune, recover, fine-tune --finetune-epochs, evaluate); default 1, with only --max-accuracy-drop at most 8 adaptive rounds" }.AtLeast(1),
        new Option<int>("--finetune-epochs") { Description = "Fine-tune epochs after each round but the last (needs labelled --data)", DefaultValueFactory = _ => 0 }.AtLeast(0),
        new Option<int?>("--final-epochs") { Description = "Fine-tune epochs after the last round (needs labelled --data); default 1 with labelled --data under --target-latency, --max-size or --max-accuracy-drop, else 0" }.AtLeast(0),
        new Option<double>("--finetune-lr") { Description = "Learning rate of the fine-tuning (SGD, momentum 0.9, cosine to 0)", DefaultValueFactory = _ => DefaultFinetuneLr }
            .Within(v => v is > 0 and < 10, "between 0 and 10"),
        new Option<bool>("--distill") { Description = "Fine-tune with a KL-divergence term to the original model's outputs (the default when fine-tuning)" },
        new Option<bool>("--no-distill") { Description = "Fine-tune on the labels alone" },
        new Option<string?>("--resume") { Description = "Checkpoint folder: every accepted round is saved there, and a run given a folder with saved rounds of the same model and settings continues after them" },
        new Option<int>("--batch") { Description = "Batch size the latency is measured at", DefaultValueFactory = _ => 1 }.AtLeast(1),
        new Option<string?>("--latency-cache") { Description = "Folder of the per-layer latency tables (default $ONNXPRUNE_CACHE/latency, else ~/.cache/onnxprune/latency); safe to share between runs" },
        new Option<bool>("--no-branch-removal") { Description = "Keep every residual branch: without it, the latency allocation with --data may remove a branch whole (every channel of a block's inner layer), replaced by its mean output on the calibration images, when that loses the least score per millisecond saved" });

    public IEnumerable<Option> All => [Latency, MaxSize, MaxAccuracyDrop, Rounds, FinetuneEpochs, FinalEpochs, FinetuneLr, Distill, NoDistill, Resume, Batch, LatencyCache, NoBranchRemoval];

    /// <summary>Whether the command line asks for the main job rather than one pruning to one target.</summary>
    public bool Requested(ParseResult parse) =>
        parse.GetValue(Latency) is not null || parse.GetValue(MaxSize) is not null || parse.GetValue(MaxAccuracyDrop) is not null || parse.GetValue(Rounds) is not null
        || parse.GetValue(FinetuneEpochs) > 0 || parse.GetValue(FinalEpochs) is > 0 || parse.GetValue(Resume) is not null;

    /// <summary>Parses --max-size: a count of bytes with an optional KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024) suffix.</summary>
    public static long ParseSize(string text)
    {
        var t = text.Trim().Replace(" ", "");
        (string Suffix, double Scale)[] units = [("KiB", 1024), ("MiB", 1024 * 1024), ("GiB", 1024.0 * 1024 * 1024), ("KB", 1e3), ("MB", 1e6), ("GB", 1e9), ("B", 1)];
        double scale = 1;
        foreach (var (suffix, s) in units)
        {
            if (!t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            scale = s;
            t = t[..^suffix.Length];
            break;
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !(value > 0) || double.IsInfinity(value * scale) || value * scale > long.MaxValue)
            throw new UsageException($"--max-size '{text}' is not a size: write 5MB, 800KB, 1.5GB, 4MiB or a count of bytes");
        return (long)Math.Floor(value * scale);
    }
}
