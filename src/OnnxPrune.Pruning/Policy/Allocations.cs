using OnnxPrune.Pruning.Criteria;

namespace OnnxPrune.Pruning.Policy;

/// <summary>One allocation: its option value, one line on what it computes, whether it needs data,
/// its paper (null where the choice is ours), and the prune options it reads.</summary>
internal sealed record AllocationEntry(string Name, Allocation Value, string Summary, bool NeedsData, Paper? Paper, IReadOnlyList<MethodOption> Options);

/// <summary>The allocations `--allocation` accepts and `onnxprune methods` lists (one registry).</summary>
internal static class Allocations
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
        new("latency", Allocation.Latency, "greedy latency-saliency knapsack: step by step, the group whose next allowed width loses the least score (normalised per group) per unit of progress towards the targets, priced with per-layer latency tables measured in ONNX Runtime; widths the tables show no faster than a wider one are given back; a plan with widths below the width multiple is measured against the same target in whole multiples and the faster kept (a narrow layer's probe lacks the layout conversion it costs inside the network); with only a MACs or parameter target, the score lost per millisecond saved until it holds; with --data, whole residual branches are candidates too (depth pruning)", false,
            new("Shen, Yin, Molchanov, Mao, Liu, Alvarez", 2022, "Structural Pruning via Latency-Saliency Knapsack", "NeurIPS 2022, arXiv 2210.06659"),
            [.. Limits, new("--target-latency", "none", "the measured latency to reach: milliseconds (5ms) or a percentage of the original's (50%)"),
             new("--no-branch-removal", "off", "with --data, a residual branch may otherwise go whole (its group's every channel; its output replaced by its mean on the calibration images), priced by the KL divergence removing it alone causes")]),
        new("pqi", Allocation.Pqi, "PQ Index over channel scores (w = group norms, per layer or global): each iteration prunes c = floor(d min(gamma (1 - r/d), beta)) lowest channels, r from the index; prune, fine-tune, score again until the target holds; the index trajectory goes into the report", false,
            new("Diao, Wang, Zhang, Yang, Ding, Tarokh", 2023, "Pruning Deep Neural Networks from a Sparsity Perspective", "ICLR 2023, arXiv 2302.05601"),
            [.. Limits,
             new("--pqi-p", "0.5", "p of the index (0 < p < q)"), new("--pqi-q", "1", "q of the index"),
             new("--pqi-eta", "0", "eta of the retained count r"), new("--pqi-gamma", "1", "gamma of c"), new("--pqi-beta", "0.9", "beta: at most this share of d per iteration"),
             new("--pqi-scope", "layer", "layer (each group's own index and c) or global (one over every prunable channel, scores normalised per group)"),
             new("--pqi-stop", "off", "stop (and undo the iteration) when the index rises again after falling"),
             new("--finetune-epochs", "0", "fine-tune epochs after each iteration (needs labelled --data)")]),
        new("cie", Allocation.Cie, "sensitivity grid: each group pruned alone at each ratio (base --criterion, no fine-tune) on held-out images; C[l, j] = accuracy points lost (KL to the original without labels); a binary search on tau gives each group the largest ratio with C <= tau (interpolated)", true,
            new("Tongji University, Dept. of Control Science and Engineering", 2024, "Cross-layer importance evaluation for neural network pruning", "Neural Networks 179:106496, doi 10.1016/j.neunet.2024.106496"),
            [.. Limits,
             new("--cie-grid", "0.1:0.9:0.1", "the ratios lo:hi:step"), new("--cie-images", "512", "held-out images per cell (split off --data, not used by the criterion or recovery)"),
             new("--cie-workers", "--threads", "cells evaluated at once (each with --threads / workers intra-op threads)"),
             new("--cie-cache", "$ONNXPRUNE_CACHE/cie", "cache folder of the grid's cells; safe to share between runs and machines"),
             new("--shard", "none", "I/N: compute only this share of the cells into the cache and exit (docs/cie-sharding.md)")]),
    ];

    public static IReadOnlyList<string> Names { get; } = All.Select(a => a.Name).ToList();

    public static Allocation Parse(string name) =>
        (All.FirstOrDefault(a => string.Equals(a.Name, name, StringComparison.OrdinalIgnoreCase))
         ?? throw new ArgumentException($"unknown allocation '{name}'; choose one of {string.Join(", ", Names)}")).Value;

    public static string NameOf(Allocation allocation) => All.First(a => a.Value == allocation).Name;
}
