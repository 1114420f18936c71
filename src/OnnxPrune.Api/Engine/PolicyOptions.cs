using System.CommandLine;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;
using OnnxPrune.Pruning.Policy.Cie;
using OnnxPrune.Pruning.Policy.Pqi;

namespace OnnxPrune.Api.Engine;

/// <summary>
/// The options of `--allocation pqi` (PQ Index, METHODS.md §3) and `--allocation cie` (sensitivity grid, §4), kept
/// apart from the prune command's own so that it wires them with a few lines. Bad values are usage errors naming
/// the option (exit 2).
/// </summary>
internal sealed record PolicyOptions(
    Option<double> PqiP, Option<double> PqiQ, Option<double> PqiEta, Option<double> PqiGamma, Option<double> PqiBeta, Option<string> PqiScope, Option<bool> PqiStop,
    Option<string> CieGrid, Option<int> CieImages, Option<int?> CieWorkers, Option<string?> CieCache, Option<string?> Shard)
{
    public static PolicyOptions Create() => new(
        new Option<double>("--pqi-p") { Description = "pqi: p of the PQ Index (0 < p < q)", DefaultValueFactory = _ => 0.5 }.Within(v => v > 0, "above 0"),
        new Option<double>("--pqi-q") { Description = "pqi: q of the PQ Index", DefaultValueFactory = _ => 1 }.Within(v => v > 0, "above 0"),
        new Option<double>("--pqi-eta") { Description = "pqi: eta of the retained count r = d (1+eta)^(-q/(q-p)) (1-I)^(qp/(q-p))", DefaultValueFactory = _ => 0 }.Within(v => v > -1, "above -1"),
        new Option<double>("--pqi-gamma") { Description = "pqi: gamma of the prune count c = floor(d min(gamma (1 - r/d), beta))", DefaultValueFactory = _ => 1 }.Within(v => v > 0, "above 0"),
        new Option<double>("--pqi-beta") { Description = "pqi: beta, the largest share of a layer one iteration prunes", DefaultValueFactory = _ => 0.9 }.Within(v => v is > 0 and < 1, "between 0 and 1 (exclusive)"),
        new Option<string>("--pqi-scope") { Description = "pqi: the index per layer (each group its own c) or global (one over every prunable channel)", DefaultValueFactory = _ => "layer" }.OneOf(["layer", "global"]),
        new Option<bool>("--pqi-stop") { Description = "pqi: stop, undoing the iteration, when the index rises again after falling (compressibility has run out)" },
        new Option<string>("--cie-grid") { Description = "cie: the pruning ratios of the sensitivity grid, lo:hi:step", DefaultValueFactory = _ => "0.1:0.9:0.1" },
        new Option<int>("--cie-images") { Description = "cie: held-out images each grid cell is evaluated on (split off --data; the criterion and recovery use the other --calibration-images)", DefaultValueFactory = _ => 512 }.AtLeast(1),
        new Option<int?>("--cie-workers") { Description = "cie: grid cells evaluated at once, each with --threads / workers intra-op threads (default --threads)" }.AtLeast(1),
        new Option<string?>("--cie-cache") { Description = "cie: folder of the grid's cache (default $ONNXPRUNE_CACHE, else ~/.cache/onnxprune; cells go under cie/); safe to share between runs and machines" },
        new Option<string?>("--shard") { Description = "cie: I/N: compute only this share of the grid cells into the cache and exit; a final run without --shard allocates (docs/cie-sharding.md)" });

    public IEnumerable<Option> All => [PqiP, PqiQ, PqiEta, PqiGamma, PqiBeta, PqiScope, PqiStop, CieGrid, CieImages, CieWorkers, CieCache, Shard];

    /// <summary>--allocation pqi iterates toward MACs/parameter targets only: the main job's other objectives are refused here.</summary>
    public static DataFreePruneOptions PqiTargets(ParseResult parse, MainJobOptions job, DataFreePruneOptions options)
    {
        if (parse.GetValue(job.Latency) is not null || parse.GetValue(job.MaxSize) is not null || parse.GetValue(job.MaxAccuracyDrop) is not null || parse.GetValue(job.Rounds) is not null
            || !options.Target.Parts.Any() || options.Target.Parts.Any(t => t is not (TargetSpec.Flops or TargetSpec.Params)))
            throw new UsageException("--allocation pqi iterates toward --target-flops and/or --target-params (its own loop replaces --rounds; --target-latency, --max-size, --max-accuracy-drop and --ratio are not for it)");
        return options;
    }

    /// <summary>Images to load beyond --calibration-images: CIE's held-out split.</summary>
    public int ExtraImages(ParseResult parse, Allocation allocation) => allocation == Allocation.Cie ? parse.GetValue(CieImages) : 0;

    /// <summary>The prune options with the PQI and CIE settings (the grid stops between cells when <paramref name="cancel"/> fires) (and, for CIE, the calibration set split into the criterion's part and the held-out part).</summary>
    public DataFreePruneOptions Apply(ParseResult parse, DataFreePruneOptions options, int threads, CancellationToken cancel)
    {
        var p = parse.GetValue(PqiP);
        var q = parse.GetValue(PqiQ);
        if (!(q > p)) throw new UsageException($"--pqi-p {p} and --pqi-q {q}: the PQ Index needs p < q");
        options = options with
        {
            Pqi = new PqiSettings
            {
                P = p, Q = q, Eta = parse.GetValue(PqiEta), Gamma = parse.GetValue(PqiGamma), Beta = parse.GetValue(PqiBeta),
                Scope = parse.GetValue(PqiScope) == "global" ? Pruning.Policy.Pqi.PqiScope.Global : Pruning.Policy.Pqi.PqiScope.Layer,
                StopWhenRising = parse.GetValue(PqiStop),
            },
        };
        bool cieGiven = parse.GetResult(CieGrid) is { Implicit: false } || parse.GetResult(CieImages) is { Implicit: false } || parse.GetValue(CieWorkers) is not null
                        || parse.GetValue(CieCache) is not null || parse.GetValue(Shard) is not null;
        if (options.Allocation != Allocation.Cie)
        {
            if (cieGiven) throw new UsageException("--cie-grid, --cie-images, --cie-workers, --cie-cache and --shard belong to --allocation cie");
            return options;
        }
        double[] ratios;
        Shard? shard;
        try
        {
            ratios = ContributionMatrix.ParseGrid(parse.GetValue(CieGrid)!);
            shard = parse.GetValue(Shard) is { } s ? Pruning.Policy.Cie.Shard.Parse(s) : null;
        }
        catch (ArgumentException e) { throw new UsageException(e.Message); }
        var calibration = options.Calibration ?? throw new UsageException("--allocation cie evaluates every group pruned alone on held-out images: give them with --data");
        int held = parse.GetValue(CieImages);
        if (calibration.Images.Count <= held) throw new UsageException($"--cie-images {held}: the data has only {calibration.Images.Count} images; the criterion needs some left");
        var (rest, holdout) = calibration.Images.SplitHoldout(held, options.Seed + 1);
        int workers = parse.GetValue(CieWorkers) ?? threads;
        return options with
        {
            Calibration = calibration with { Images = rest },
            Cie = new CieSettings
            {
                Ratios = ratios, Evaluation = calibration with { Images = holdout }, Workers = workers, Threads = Math.Max(threads, workers),
                CacheDirectory = parse.GetValue(CieCache) ?? Path.GetDirectoryName(Pruning.Latency.LatencyTableIdentity.DefaultFolder()), Shard = shard, Cancel = cancel,
            },
        };
    }
}
