namespace OnnxPrune.Pruning.Policy;

/// <summary>
/// The latency allocation: a greedy solution of the latency-saliency knapsack (METHODS.md §5). Keeping
/// the channels of most total saliency within a latency budget is a knapsack whose item costs are not
/// fixed: a layer's latency depends on its input and its output width, so removing channels of one
/// group changes what the next removal from a neighbouring group saves. The greedy re-prices every
/// candidate against the current widths at each step, which is the "fix neighbours, re-solve"
/// iteration done one step at a time.
/// </summary>
internal sealed partial class AllocationPlanner
{
    /// <summary>How many allowed widths past the first that makes progress a group may also jump to in one step.
    /// Widths that save nothing (a latency plateau of the blocked kernels) are always jumped over.</summary>
    private const int Lookahead = 2;

    private PrunePlan PlanKnapsack(PruneTarget target)
    {
        // Scores normalised per model (mean 1 over every prunable channel), not per group: a knapsack compares channels
        // across groups, and a group that spans many layers (a residual stream) must not look cheap because its scores
        // were rescaled to the same mean as a single conv's.
        var scores = LayerThresholdInputs().Select(x => x.ModelNormalized).ToList();
        // Per group, the removal counts the constraints allow, ascending (0 first).
        // A group whose removal collapses a residual branch may also lose every channel (the branch goes whole).
        var allowed = _ranked.Select(r => Enumerable.Range(0, r.Order.Length + 1).Select(w => Constrain(r.Group, w))
            .Concat(Collapsible.ContainsKey(r.Group.Id) && r.Order.Length == r.Group.ChannelCount ? [r.Order.Length] : [])
            .Distinct().Order().ToArray()).ToList();
        var collapse = CollapseCosts(scores);
        var prefix = scores.Select(row => { var p = new double[row.Length + 1]; for (int i = 0; i < row.Length; i++) p[i + 1] = p[i] + row[i]; return p; }).ToList();
        // What the group's first allowed[g][level] channels cost; removing a branch whole costs its measured price instead.
        double Cost(int g, int lvl)
        {
            int n = allowed[g][lvl];
            return n == _ranked[g].Group.ChannelCount && collapse.TryGetValue(g, out var price) ? Math.Max(price, lvl > 0 ? Cost(g, lvl - 1) : 0) : prefix[g][n];
        }
        var level = new int[_ranked.Count];
        var state = Evaluate(target, allowed, level);
        double stateMs = Pricing?.Predict(state.Removed) ?? 0;
        while (!state.Met)
        {
            (double Ratio, int Group, int Level, KnapsackState State, double Ms)? best = null;
            for (int g = 0; g < _ranked.Count; g++)
            {
                int? firstProgress = null;
                for (int step = 1; level[g] + step < allowed[g].Length && (firstProgress is null || step <= firstProgress + Lookahead); step++)
                {
                    var trialLevels = (int[])level.Clone();
                    trialLevels[g] += step;
                    var trial = Evaluate(target, allowed, trialLevels);
                    double progress = Progress(state, trial);
                    if (progress <= 1e-12) continue;
                    firstProgress ??= step;
                    double trialMs = Pricing?.Predict(trial.Removed) ?? 0;
                    // Priced by latency: the score lost per millisecond saved (a step that saves none comes last).
                    double per = Pricing is null ? progress : Math.Max(stateMs - trialMs, 1e-12 * progress);
                    double ratio = (Cost(g, trialLevels[g]) - Cost(g, level[g])) / per;
                    if (best is null || ratio < best.Value.Ratio) best = (ratio, g, trialLevels[g], trial, trialMs);
                }
            }
            if (best is null) break;
            level[best.Value.Group] = best.Value.Level;
            state = best.Value.State;
            stateMs = best.Value.Ms;
        }
        if (state.Met) state = Refill(target, allowed, level, state, Cost);
        return new PrunePlan(state.Removed, state.Macs, state.Params, state.Met,
            state.Met ? null : Shortfall(target, state.Removed, state.Macs, state.Params), AtLimit(state.Removed));
    }

    /// <summary>
    /// Once every target holds, the last steps may have overshot: gives channels back, one allowed width at a time,
    /// the group whose next wider width restores the most score while every target still holds, until none fits.
    /// A width the tables show no faster than a wider one is therefore never kept: widening it costs nothing.
    /// </summary>
    private KnapsackState Refill(PruneTarget target, List<int[]> allowed, int[] level, KnapsackState state, Func<int, int, double> cost)
    {
        double stateMs = Pricing?.Predict(state.Removed) ?? 0;
        while (true)
        {
            (double Gained, int Group, KnapsackState State)? best = null;
            for (int g = 0; g < _ranked.Count; g++)
            {
                if (level[g] == 0) continue;
                var trialLevels = (int[])level.Clone();
                trialLevels[g]--;
                var trial = Evaluate(target, allowed, trialLevels);
                if (!trial.Met) continue;
                double gained = cost(g, level[g]) - cost(g, trialLevels[g]);
                // Priced by latency: the score restored per millisecond it costs (a width that costs none first).
                if (Pricing is not null) gained /= Math.Max(Pricing.Predict(trial.Removed) - stateMs, 1e-9);
                if (best is null || gained > best.Value.Gained) best = (gained, g, trial);
            }
            if (best is null) return state;
            level[best.Value.Group]--;
            state = best.Value.State;
            if (Pricing is not null) stateMs = Pricing.Predict(state.Removed);
        }
    }

    /// <summary>
    /// Per planning index of a collapsible group, the price of removing its branch on the scale of the channel scores:
    /// the branches' mean summed score, times the branch's measured sensitivity over their mean sensitivity. So the
    /// branches are ranked by what removing each was measured to cost, and an average branch weighs what its channels do.
    /// </summary>
    private Dictionary<int, double> CollapseCosts(List<double[]> scores)
    {
        var members = Enumerable.Range(0, _ranked.Count).Where(g => Collapsible.ContainsKey(_ranked[g].Group.Id)).ToList();
        if (members.Count == 0) return new Dictionary<int, double>();
        double meanSum = members.Average(g => scores[g].Sum());
        double meanSensitivity = members.Average(g => Collapsible[_ranked[g].Group.Id]);
        return members.ToDictionary(g => g, g => meanSensitivity > 0 ? meanSum * Collapsible[_ranked[g].Group.Id] / meanSensitivity : scores[g].Sum());
    }

    /// <summary>Progress of <paramref name="next"/> over <paramref name="current"/>: for each target not yet met, the
    /// share of its remaining excess removed (at most 1); zero when a target that held stops holding.</summary>
    private static double Progress(KnapsackState current, KnapsackState next)
    {
        double progress = 0;
        for (int i = 0; i < current.Parts.Count; i++)
        {
            var (_, value, limit) = current.Parts[i];
            var (_, nextValue, nextLimit) = next.Parts[i];
            if (value <= limit + 1e-9)
            {
                if (nextValue > nextLimit + 1e-9) return 0;
                continue;
            }
            progress += Math.Min(1, (value - nextValue) / (value - limit));
        }
        return progress;
    }

    private KnapsackState Evaluate(PruneTarget target, List<int[]> allowed, int[] level)
    {
        var removed = new List<int>();
        for (int g = 0; g < _ranked.Count; g++) removed.AddRange(_ranked[g].Order.Take(allowed[g][level[g]]));
        var (macs, parameters) = _estimator.Estimate(removed);
        var parts = Measure(target, removed, macs, parameters);
        return new KnapsackState(removed, macs, parameters, parts, parts.All(p => p.Value <= p.Limit + 1e-9));
    }

    private sealed record KnapsackState(List<int> Removed, long Macs, long Params, List<(PruneTarget Part, double Value, double Limit)> Parts, bool Met);
}
