namespace OnnxPrune.Pruning.Criteria;

/// <summary>A published method: authors, year, title, and where it appeared (venue, arXiv id).</summary>
internal sealed record Paper(string Authors, int Year, string Title, string Where)
{
    public override string ToString() => $"{Authors} ({Year}), \"{Title}\", {Where}";
}

/// <summary>An option of the prune command a method reads, with its default.</summary>
internal sealed record MethodOption(string Name, string Default, string Meaning);

/// <summary>What a criterion's factory may draw on. Data-driven criteria add what they need here
/// (calibration batches, a loss) and say so with <see cref="CriterionEntry.NeedsData"/>.</summary>
internal sealed record CriterionSettings(int Seed, CalibrationSet? Calibration = null, Runtime.SessionSettings? Session = null)
{
    /// <summary>The calibration images a data-driven criterion needs.</summary>
    /// <exception cref="Pipeline.PruneInputException">None were given.</exception>
    public CalibrationSet Data(string criterion) => Calibration
        ?? throw new Pipeline.PruneInputException(Pipeline.PruneInputProblem.NeedsData, $"the {criterion} criterion scores channels on calibration images; give them");

    public Runtime.SessionSettings Runtime => Session ?? OnnxPrune.Runtime.SessionSettings.Default;
}

/// <summary>One channel criterion: its option value, one line on what it computes, whether it needs
/// data, its paper (null for baselines without one), the prune options it reads, and its factory.</summary>
internal sealed record CriterionEntry(string Name, string Summary, bool NeedsData, Paper? Paper, IReadOnlyList<MethodOption> Options,
    Func<CriterionSettings, IChannelCriterion> Create);

/// <summary>
/// The criteria `--criterion` accepts and `onnxprune methods` lists: one registry, so the two cannot
/// drift apart. Adding a criterion is one entry in <see cref="All"/>.
/// </summary>
internal static class Criteria
{
    public const string Default = "l1";

    /// <summary>The criterion when calibration data is given and none is asked for: the best right after pruning
    /// and recovery in docs/saliency-comparison.md (tools/bench/saliency.sh).</summary>
    public const string DefaultWithData = "activation";

    private static readonly Paper FilterNorm = new("Li, Kadav, Durdanovic, Samet, Graf", 2017, "Pruning Filters for Efficient ConvNets", "ICLR 2017, arXiv 1608.08710");
    private static readonly Paper Sosp = new("Nonnenmacher, Pfeil, Steinwart, Reeb", 2022, "SOSP: Efficiently Capturing Global Correlations by Second-Order Structured Pruning", "ICLR 2022, arXiv 2110.11395");
    private static readonly MethodOption SeedOption = new("--seed", "0", "seed of the random scores");
    private static readonly MethodOption[] DataOptions =
    [
        new("--data", "(required)", "calibration images: fashion-mnist, an IDX folder, an .npz file or an image folder"),
        new("--calibration-images", "1024", "seeded, class-balanced sample size"),
        new("--no-labels", "off", "targets are the original model's top-1 predictions (cross-entropy; the KL of the model to itself has zero gradient)"),
    ];

    public static IReadOnlyList<CriterionEntry> All { get; } =
    [
        new("l1", "sum of |w| over the channel's filters and biases in every producer of the group", false, FilterNorm, [], _ => new NormCriterion(1)),
        new("l2", "Euclidean norm of the channel's filters and biases over every producer of the group", false, FilterNorm, [], _ => new NormCriterion(2)),
        new("fpgm", "per layer, sum of Euclidean distances from the channel's filter to the layer's other filters (the one nearest the geometric median goes first); summed over the group's producers", false,
            new("He, Liu, Wang, Hu, Yang", 2019, "Filter Pruning via Geometric Median for Deep Convolutional Neural Networks Acceleration", "CVPR 2019, arXiv 1811.00250"), [], _ => new FpgmCriterion()),
        new("bn-scale", "|gamma| of the BatchNormalization that normalises the channel, summed over the group; needs unfolded BatchNorm", false,
            new("Liu, Li, Shen, Huang, Yan, Zhang", 2017, "Learning Efficient Convolutional Networks through Network Slimming", "ICCV 2017, arXiv 1708.06519"), [], _ => new BnScaleCriterion()),
        new("random", "uniformly random scores from a seed: the baseline every criterion must beat", false, null, [SeedOption], s => new RandomCriterion(s.Seed)),
        new("taylor", "|θ_sᵀg| over every parameter the group's removal zeroes, g the mean cross-entropy gradient over the calibration images (labels, or the model's top-1 predictions)", true,
            new("Molchanov, Mallya, Tyree, Frosio, Kautz", 2019, "Importance Estimation for Neural Network Pruning", "CVPR 2019, arXiv 1906.10771"), DataOptions,
            s => new TaylorCriterion(s.Data("taylor"), s.Runtime)),
        new("sosp-h", "|−θ_sᵀg + ½θ_sᵀ(Hθ)|: second order, one Hessian-vector product (forward difference of gradients) serves every group", true,
            Sosp, DataOptions,
            s => new SospCriterion(s.Data("sosp-h"), s.Runtime)),
        new("sosp-i", $"|−θ_sᵀg + ½θ_sᵀGθ_s|: second order, group by group, G the Gauss-Newton matrix of the cross-entropy, exact from one-image gradients for each class (at most the {SospICriterion.DefaultMaxClasses} most probable per image); g from the mean cross-entropy as taylor (labels, or the model's top-1 predictions), G independent of the labels; slow (images × classes gradient runs): the reference sosp-h is compared with", true,
            Sosp, DataOptions, s => new SospICriterion(s.Data("sosp-i"), s.Runtime)),
        new("activation", "mean over positions of the batch-mean |activation| after the layer's per-channel tail (and residual Add), p = 1, streamed over the calibration images", true,
            new("Zhao, Jain, Zhao", 2023, "Automatic Attention Pruning: Improving and Automating Model Pruning using Attentions", "AISTATS 2023, arXiv 2201.10520"), DataOptions,
            s => new ActivationCriterion(s.Data("activation"), s.Runtime)),
    ];

    /// <summary>Criteria that score with calibration data.</summary>
    public static IReadOnlyList<string> DataDriven { get; } = All.Where(c => c.NeedsData).Select(c => c.Name).ToList();

    public static IReadOnlyList<string> Names { get; } = All.Select(c => c.Name).ToList();

    public static CriterionEntry Find(string name) =>
        All.FirstOrDefault(c => string.Equals(c.Name, name, StringComparison.OrdinalIgnoreCase))
        ?? throw new ArgumentException($"unknown criterion '{name}'; choose one of {string.Join(", ", Names)}");

    public static IChannelCriterion Create(string name, int seed, CalibrationSet? calibration = null, Runtime.SessionSettings? session = null) =>
        Find(name).Create(new CriterionSettings(seed, calibration, session));
}
