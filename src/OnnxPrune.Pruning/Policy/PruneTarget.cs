namespace OnnxPrune.Pruning.Policy;

/// <summary>What the pruned model must reach.</summary>
internal abstract record PruneTarget
{
    /// <summary>At most this many MACs remain (from a percentage of the original or an absolute count).</summary>
    public sealed record Macs(long Limit, string Text) : PruneTarget;

    /// <summary>At most this many parameters remain.</summary>
    public sealed record Params(long Limit, string Text) : PruneTarget;

    /// <summary>This fraction of the prunable channels is removed.</summary>
    public sealed record ChannelRatio(double Ratio) : PruneTarget;

    /// <summary>The latency model predicts at most <paramref name="BudgetMs"/> for the pruned model.</summary>
    /// <param name="Predictor">Predicted milliseconds for a set of removed root units (built on the same analysis as the plan).</param>
    public sealed record Latency(double BudgetMs, ILatencyPredictor Predictor, string Text) : PruneTarget;

    /// <summary>Every one of <paramref name="Targets"/> holds (several objectives given at once).</summary>
    public sealed record All(IReadOnlyList<PruneTarget> Targets) : PruneTarget;

    /// <summary>The targets this one consists of (itself, or the members of <see cref="All"/>).</summary>
    public IEnumerable<PruneTarget> Parts => this is All a ? a.Targets.SelectMany(t => t.Parts) : [this];

    /// <summary>
    /// Parses "50%" (of <paramref name="original"/>), "0.5" (a fraction), or an absolute count with
    /// an optional K/M/G suffix ("1.2G"). Throws <see cref="Pipeline.PruneInputException"/> (<see cref="Pipeline.PruneInputProblem.BadTarget"/>) naming <paramref name="what"/>.
    /// </summary>
    public static long ParseLimit(string text, long original, string what)
    {
        var t = text.Trim();
        double value;
        if (t.EndsWith('%'))
        {
            if (!double.TryParse(t[..^1], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value) || !(value > 0) || value > 100)
                throw Bad($"{what} '{text}': a percentage must be between 0% and 100% (for example 50%)");
            return (long)Math.Floor(original * value / 100);
        }
        double scale = 1;
        if (t.Length > 0 && char.ToUpperInvariant(t[^1]) is 'K' or 'M' or 'G')
        {
            scale = char.ToUpperInvariant(t[^1]) switch { 'K' => 1e3, 'M' => 1e6, _ => 1e9 };
            t = t[..^1];
        }
        if (!double.TryParse(t, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out value) || !(value > 0) || double.IsInfinity(value))
            throw Bad($"{what} '{text}' is not a target: write a percentage of the original (50%), a fraction (0.5) or a count (1.2G)");
        if (scale == 1 && value < 1) return (long)Math.Floor(original * value);
        var limit = value * scale;
        if (limit > original) throw Bad($"{what} '{text}' is more than the model has ({original:N0}); nothing to prune");
        return (long)limit;
    }

    private static Pipeline.PruneInputException Bad(string message) => new(Pipeline.PruneInputProblem.BadTarget, message);
}
