using System.Globalization;

namespace OnnxPrune.Api;

/// <summary>
/// What to prune toward and how: the options of the <c>onnxprune</c> command (README.md lists them), with the same
/// names, defaults and checks, because <see cref="Pruner"/> parses them with the command's own definitions. A property
/// left null takes the command's default. Options without a property here are given by their long name in
/// <see cref="Settings"/>, as in a recipe.
/// </summary>
public sealed record PruneOptions
{
    /// <summary>A recipe to start from (<c>--recipe</c>): a name from <see cref="Recipes.List"/> (latency-cpu, accuracy-critical,
    /// memory, data-free) or the path of a recipe .json file. Options set here override the recipe's.</summary>
    public string? Recipe { get; init; }

    /// <summary>MACs to keep (<c>--target-flops</c>): a percentage of the original ("50%"), a fraction ("0.5") or a count ("1.2G").</summary>
    public string? TargetFlops { get; init; }

    /// <summary>Parameters to keep (<c>--target-params</c>): a percentage ("40%"), a fraction or a count ("2M").</summary>
    public string? TargetParams { get; init; }

    /// <summary>Latency to reach (<c>--target-latency</c>), measured with ONNX Runtime: milliseconds ("5ms") or a share of the original's ("50%").</summary>
    public string? TargetLatency { get; init; }

    /// <summary>Largest file the pruned model may take (<c>--max-size</c>): "5MB", "800KB", "4MiB" or bytes.</summary>
    public string? MaxSize { get; init; }

    /// <summary>Top-1 points the result may lose on <see cref="Data"/>'s test split (<c>--max-accuracy-drop</c>).</summary>
    public double? MaxAccuracyDrop { get; init; }

    /// <summary>Fraction of the prunable channels to remove, a single-shot target (<c>--ratio</c>).</summary>
    public double? Ratio { get; init; }

    /// <summary>Channel ranking (<c>--criterion</c>): l1, l2, fpgm, bn-scale, random, or with data taylor, sosp-h, sosp-i, activation.</summary>
    public string? Criterion { get; init; }

    /// <summary>How the target is spread over the channel groups (<c>--allocation</c>): global, uniform, threshold, latency, pqi, cie.</summary>
    public string? Allocation { get; init; }

    /// <summary>Keep channel counts multiples of this (<c>--round-to</c>).</summary>
    public int? RoundTo { get; init; }

    /// <summary>At most this fraction of any group's channels is removed (<c>--max-ratio</c>, default 0.9).</summary>
    public double? MaxRatio { get; init; }

    /// <summary>Calibration and fine-tuning data (<c>--data</c>): "fashion-mnist", a folder of IDX files, an .npz file or a folder of images.</summary>
    public string? Data { get; init; }

    /// <summary>How many calibration images are sampled from <see cref="Data"/> (<c>--calibration-images</c>, default 1024).</summary>
    public int? CalibrationImages { get; init; }

    /// <summary>Repair after removal (<c>--recover</c>): auto, refit, bn or none.</summary>
    public string? Recover { get; init; }

    /// <summary>Rounds of prune, recover, fine-tune and evaluate toward the targets (<c>--rounds</c>).</summary>
    public int? Rounds { get; init; }

    /// <summary>Fine-tune epochs after each round but the last (<c>--finetune-epochs</c>).</summary>
    public int? FinetuneEpochs { get; init; }

    /// <summary>Fine-tune epochs after the last round (<c>--final-epochs</c>).</summary>
    public int? FinalEpochs { get; init; }

    /// <summary>Seed of the random choices (<c>--seed</c>, default 0): the same options and model give the same result.</summary>
    public int? Seed { get; init; }

    /// <summary>ONNX Runtime threads for latency measurement (<c>--threads</c>, default 2).</summary>
    public int? Threads { get; init; }

    /// <summary>Execution provider (<c>--device</c>): cpu, cuda or tensorrt (the GPU ones need the GPU native package).</summary>
    public string? Device { get; init; }

    /// <summary>Do not time the models before and after (<c>--skip-latency</c>).</summary>
    public bool SkipLatency { get; init; }

    /// <summary>Sizes of inputs with dynamic dims (<c>--input-shape NAME=D0xD1x...</c>), by input name.</summary>
    public IReadOnlyDictionary<string, long[]>? InputShapes { get; init; }

    /// <summary>Any other option of the prune command by its long name without dashes, as in a recipe (for example
    /// <c>["pqi-p"] = "0.5"</c>, <c>["steps"] = "3"</c>); a flag is set by a null or "true" value.</summary>
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }

    /// <summary>The options as command-line tokens, for the prune command's parser.</summary>
    internal string[] ToArguments()
    {
        var tokens = new List<string>();
        void Add(string name, object? value)
        {
            if (value is null) return;
            tokens.Add("--" + name);
            tokens.Add(value switch
            {
                double d => d.ToString("R", CultureInfo.InvariantCulture),
                IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
                _ => value.ToString()!,
            });
        }
        Add("recipe", Recipe);
        Add("target-flops", TargetFlops);
        Add("target-params", TargetParams);
        Add("target-latency", TargetLatency);
        Add("max-size", MaxSize);
        Add("max-accuracy-drop", MaxAccuracyDrop);
        Add("ratio", Ratio);
        Add("criterion", Criterion);
        Add("allocation", Allocation);
        Add("round-to", RoundTo);
        Add("max-ratio", MaxRatio);
        Add("data", Data);
        Add("calibration-images", CalibrationImages);
        Add("recover", Recover);
        Add("rounds", Rounds);
        Add("finetune-epochs", FinetuneEpochs);
        Add("final-epochs", FinalEpochs);
        Add("seed", Seed);
        Add("threads", Threads);
        Add("device", Device);
        if (SkipLatency) tokens.Add("--skip-latency");
        foreach (var (name, dims) in InputShapes ?? new Dictionary<string, long[]>())
            Add("input-shape", $"{name}={string.Join("x", dims)}");
        foreach (var (key, value) in Settings ?? new Dictionary<string, string?>())
        {
            if (key.StartsWith('-')) throw new UsageException($"setting '{key}': give the option's name without dashes ('{key.TrimStart('-')}')");
            if (value is null || value.Equals("true", StringComparison.OrdinalIgnoreCase)) tokens.Add("--" + key);
            else if (!value.Equals("false", StringComparison.OrdinalIgnoreCase)) Add(key, value);
        }
        return [.. tokens];
    }
}
