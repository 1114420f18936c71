using System.CommandLine;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The prune command's pruning options (targets, criterion, allocation, data, the main job's and the policies'
/// options, --recipe): one set of definitions, defaults and validators for the command line and the library
/// (<see cref="PruneJob"/>). Where the result goes (MODEL, -o, --report, --json) is the command line's own.
/// </summary>
internal sealed record PruneOptionSet(
    Option<string?> Flops, Option<string?> Params, Option<double?> Ratio,
    Option<string> Criterion, Option<string> Allocation, Option<int?> RoundTo, Option<double> MaxRatio, Option<int> Seed,
    Option<string[]> InputShape, Option<int> Threads, Option<string> Device, Option<bool> SkipLatency,
    Option<string?> Data, Option<int> CalibrationImages, Option<bool> NoLabels, Option<string?> Preprocess, Option<string> Recover, Option<int> Steps,
    MainJobOptions Job, PolicyOptions Policies, Option<string?> Recipe)
{
    public static PruneOptionSet Create() => new(
            new Option<string?>("--target-flops") { Description = "MACs to keep: a percentage of the original (50%), a fraction (0.5) or a count (1.2G)" },
            new Option<string?>("--target-params") { Description = "Parameters to keep: a percentage (40%), a fraction or a count (2M)" },
            new Option<double?>("--ratio") { Description = "Fraction of the prunable channels to remove (0.3)" }.Within(v => v is > 0 and < 1, "between 0 and 1 (exclusive)"),
            new Option<string>("--criterion") { Description = $"Channel ranking: {string.Join(", ", Pruning.Criteria.Criteria.Names)} (see 'onnxprune methods'); default {Pruning.Criteria.Criteria.Default}, with --data {Pruning.Criteria.Criteria.DefaultWithData}", DefaultValueFactory = _ => Pruning.Criteria.Criteria.Default }
                .OneOf(Pruning.Criteria.Criteria.Names.ToArray()),
            new Option<string>("--allocation") { Description = $"How the target is spread over the groups: {string.Join(", ", Allocations.Names)} (see 'onnxprune methods')", DefaultValueFactory = _ => Allocations.Default }
                .OneOf(Allocations.Names.ToArray()),
            new Option<int?>("--round-to") { Description = $"Keep channel counts multiples of N (default: multiples of {GroupConstraints.DefaultRoundTo}, and of {GroupConstraints.DefaultSmallStep} below {GroupConstraints.DefaultRoundTo}, measured on ONNX Runtime's CPU kernels: tools/bench/results/width-latency.md)" }.AtLeast(1),
            new Option<double>("--max-ratio") { Description = "At most this fraction of any group's channels is removed", DefaultValueFactory = _ => 0.9 }
                .Within(v => v is > 0 and < 1, "between 0 and 1 (exclusive)"),
            new Option<int>("--seed") { Description = "Seed of every random choice: the random criterion, the latency inputs, the calibration sample, the refit's position sample and the fine-tuning's order of images", DefaultValueFactory = _ => 0 },
            InputShapes.Option(),
            new Option<int>("--threads") { Description = "ONNX Runtime threads for the latency check", DefaultValueFactory = _ => 2 }.AtLeast(1),
            DeviceOptions.Device(),
            new Option<bool>("--skip-latency") { Description = "Do not time the models before and after" },
            new Option<string?>("--data") { Description = "Calibration images for data-driven criteria: fashion-mnist, a folder of MNIST-format IDX files, an .npz file (its training images), or a folder of images (one sub-folder per class, or flat: no labels needed)" },
            new Option<int>("--calibration-images") { Description = "How many calibration images (seeded sample, class-balanced)", DefaultValueFactory = _ => 1024 }.AtLeast(1),
            new Option<bool>("--no-labels") { Description = "Ignore the data's labels: score against the original model's own predictions" },
            TrainingData.PreprocessOption(),
            new Option<string>("--recover") { Description = $"Repair after removal on the calibration images: refit (least-squares refit of the layers that read removed channels, then BatchNorm statistics re-estimated), bn (BatchNorm statistics only) or none; auto is {Pruning.Recovery.RecoveryModes.DefaultWithData} with --data, none without", DefaultValueFactory = _ => "auto" }
                .OneOf(["auto", .. Pruning.Recovery.RecoveryModes.Names]),
            new Option<int>("--steps") { Description = "Prune in N steps, each removing an equal share, scoring the channels again (and recovering) between steps", DefaultValueFactory = _ => 1 }.AtLeast(1),
            MainJobOptions.Create(), PolicyOptions.Create(), RecipeExpansion.Option());

    public IEnumerable<Option> All =>
        new Option[] { Flops, Params, Ratio, Criterion, Allocation, RoundTo, MaxRatio, Seed, InputShape, Threads, Device, SkipLatency, Data, CalibrationImages, NoLabels, Preprocess, Recover, Steps }
            .Concat(Job.All).Concat(Policies.All).Append(Recipe);

    /// <summary>Adds every option to <paramref name="command"/>. --recipe is expanded before parsing
    /// (<see cref="RecipeExpansion.Expand"/>), so the job never reads it.</summary>
    public void AddTo(Command command)
    {
        foreach (var option in All) command.Options.Add(option);
    }
}
