using OnnxPrune.Pruning.Criteria;

namespace OnnxPrune.Pruning.Policy;

/// <summary>One allocation: its option value, one line on what it computes, whether it needs data,
/// its paper (null where the choice is ours), and the prune options it reads.</summary>
public sealed record AllocationEntry(string Name, Allocation Value, string Summary, bool NeedsData, Paper? Paper, IReadOnlyList<MethodOption> Options);

/// <summary>The allocations `--allocation` accepts and `onnxprune methods` lists (one registry).</summary>
public static class Allocations
{
    public const string Default = "global";

    /// <summary>What every allocation respects.</summary>
    private static readonly MethodOption[] Limits =
    [
        new("--max-ratio", "0.9", "at most this fraction of a group's channels is removed (every group keeps at least one)"),
        new("--round-to", $"{GroupConstraints.DefaultRoundTo}, and {GroupConstraints.DefaultSmallStep} below {GroupConstraints.DefaultRoundTo}", "kept channel counts are multiples of N"),
    ];

    public static IReadOnlyList<AllocationEntry> All { get; } =
    [
        new("global", Allocation.Global, "one threshold on scores normalised per group (each group's mean is 1), searched for the least pruning that meets the target", false,
            new("Molchanov, Tyree, Karras, Aila, Kautz", 2017, "Pruning Convolutional Neural Networks for Resource Efficient Inference", "ICLR 2017, arXiv 1611.06440"), Limits),
        new("uniform", Allocation.Uniform, "the same fraction of every group's channels, searched for the least that meets the target", false, null, Limits),
        new("threshold", Allocation.Threshold, "per-group thresholds T_l = T * nnz(W_l) / sum nnz(W_l') on scores normalised per model; T searched for the least pruning that meets the target", false,
            new("Zhao, Jain, Zhao", 2022, "Adaptive Activation-based Structured Pruning", "arXiv 2201.10520"), Limits),
        new("latency", Allocation.Latency, "greedy latency-saliency knapsack: step by step, the group whose next allowed width loses the least score (normalised per group) per unit of progress towards the targets, priced with per-layer latency tables measured in ONNX Runtime; widths the tables show no faster than a wider one are given back", false,
            new("Shen, Yin, Molchanov, Mao, Liu, Alvarez", 2022, "Structural Pruning via Latency-Saliency Knapsack", "NeurIPS 2022, arXiv 2210.06659"),
            [.. Limits, new("--target-latency", "none", "the measured latency to reach: milliseconds (5ms) or a percentage of the original's (50%)")]),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(a => a.Name).ToList();

    public static Allocation Parse(string name) =>
        (All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
         ?? throw new ArgumentException($"unknown allocation '{name}'; choose one of {string.Join(", ", Names)}")).Value;

    public static string NameOf(Allocation allocation) => All.First(a => a.Value == allocation).Name;
}
