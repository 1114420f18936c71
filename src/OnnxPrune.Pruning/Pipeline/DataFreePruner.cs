using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Pruning.Pipeline;

/// <summary>
/// Prunes a model without data: cleanup passes, channel analysis, a weight criterion, an
/// allocation that meets the target, and one removal step. The model's inputs and outputs keep
/// their declared shapes; recorded intermediate shapes keep their symbolic dims and get the new
/// channel counts.
/// </summary>
internal static class DataFreePruner
{
    public static DataFreePruneResult Run(Model model, DataFreePruneOptions options)
    {
        var clock = Stopwatch.StartNew();
        PreparePasses.Run(model);
        // The model as pruning sees it: what the runtime check compares with and what the refit imitates.
        var prepared = model.Clone();
        var pinned = new Dictionary<string, string>(options.PinnedGroups, StringComparer.Ordinal);
        var notes = new List<string>();
        while (true)
        {
            var (result, removed) = PruneOnce(model, options with { PinnedGroups = pinned }, clock);
            string? Verdict(Model candidate) => options.RuntimeVerdict?.Invoke(prepared, candidate) ?? (options.RuntimeVerdict is null ? RuntimeCheck.Failure(prepared, candidate, options) : null);
            var failure = options.CheckWithRuntime ? Verdict(result.Model) : null;
            if (failure is null)
            {
                var recover = options.Calibration is null ? Recovery.RecoveryMode.None : options.Recover;
                var recovery = Recovery.ModelRecovery.Run(recover, prepared, result.Model, result.RefitLayers, options.Calibration!, options.Session,
                    options.Refit with { Seed = options.Seed }, options.Progress);
                OnnxPrune.Onnx.ToolVersion.Stamp(result.Model); // every pruned model names the OnnxPrune that wrote it
                if (result.RemovedBranches.Count > 0)
                    notes.Insert(0, $"removed {result.RemovedBranches.Count} residual branch(es) whole, each replaced by its mean output on the calibration images: " +
                                    string.Join("; ", result.RemovedBranches));
                return result with { Recovery = recovery, RuntimeNotes = notes };
            }
            if (result.RemovedBranches.Count > 0)
            {
                // The culprit search below removes channels only, so it cannot trace a failure to a removed branch: when
                // branches went, keep every branch and plan again with channels alone before searching.
                notes.Add($"ONNX Runtime could not run the model with {result.RemovedBranches.Count} residual branch(es) removed whole ({failure}); " +
                          "pruned again with channels only");
                options = options with { RemoveBranches = false };
                model = prepared.Clone();
                continue;
            }
            // Find the groups whose removal ORT rejects, keep them whole, and prune again.
            var withRemovals = removed.Keys.ToList();
            var culprits = RuntimeCheck.Culprits(withRemovals, subset =>
                Verdict(RemoveOnly(prepared, options with { PinnedGroups = pinned }, subset.SelectMany(k => removed[k]).ToList())) is not null);
            if (culprits.Count == 0 || culprits.All(pinned.ContainsKey))
                throw new PruneInputException(PruneInputProblem.RuntimeRejects, $"ONNX Runtime cannot run the pruned model ({failure}), and keeping the groups it was traced to did not help");
            var reason = $"ONNX Runtime rejected the model with channels of this group removed: {failure}";
            foreach (var key in culprits) pinned[key] = reason;
            notes.Add($"ONNX Runtime could not run the first pruned model ({failure}); traced to {culprits.Count} group(s), kept whole, and pruned again");
            model = prepared.Clone();
        }
    }

    /// <summary>One analysis, plan and removal on a prepared model. Also returns, per group key, the units removed.</summary>
    private static (DataFreePruneResult Result, Dictionary<string, List<int>> Removed) PruneOnce(Model model, DataFreePruneOptions options, Stopwatch clock)
    {
        var start = clock.Elapsed;
        var gridBase = options.Allocation == Allocation.Cie ? model.Clone() : null; // CIE's cells start from the unbound prepared model
        var recorded = BindInputShapes(model, options.InputShapes);
        RefuseHugeInputs(model);
        var analysis = ChannelAnalysis.Run(model, options.PinnedGroups);
        var baseline = CostModel.Measure(model.Graph);
        if (baseline.UnknownMacNodes > 0 && options.Target.Parts.Any(t => t is TargetSpec.Flops or TargetSpec.Latency))
            throw new PruneInputException(PruneInputProblem.DynamicInputShapes,
                $"{baseline.UnknownMacNodes} layer(s) have shapes that depend on dynamic input sizes; give the inputs' sizes");
        var prunable = analysis.Groups.Where(g => g.IsPrunable).ToList();
        if (prunable.Count == 0)
            throw new PruneInputException(PruneInputProblem.NothingPrunable, "nothing in this model can be pruned: " + DescribeBarriers(analysis));
        if (prunable.All(g => options.Constraints.RoundUp(1) >= g.ChannelCount))
            throw new PruneInputException(PruneInputProblem.WidthMultipleTooLarge,
                $"a width multiple of {options.Constraints.RoundTo} is not smaller than any prunable layer (the widest has {prunable.Max(g => g.ChannelCount)} channels); choose a smaller multiple");

        var target = options.Target.Resolve(baseline.Macs, baseline.Params,
            options.LatencyPredictor is { } latency ? () => latency(analysis, baseline) : null);
        var scores = options.Scores.GetOrCompute(options, analysis,
            () => Criteria.Criteria.Create(options.Criterion, options.Seed, options.Calibration, options.Session).Score(analysis));
        var estimator = new PrunedCostEstimator(analysis, baseline);
        var grid = gridBase is null ? null : Policy.Cie.SensitivityGrid.Compute(gridBase, analysis, scores, options);
        if (grid is not null && grid.Matrix is null)
            throw new PruneInputException(PruneInputProblem.BadTarget, $"the sensitivity grid is incomplete ({grid.Computed + grid.Cached} of {grid.Cells} cells): it was stopped or run as a shard");
        var pqi = options.Allocation == Allocation.Pqi ? new AllocationPlanner(analysis, scores, estimator, options.Constraints) { Pqi = options.Pqi }.PqiOf() : null;
        var branches = BranchesToOffer(model, analysis, options, recorded);
        IReadOnlyDictionary<string, Tensor>? means = null;
        IReadOnlyDictionary<int, double> sensitivity = new Dictionary<int, double>();
        if (branches.Count > 0)
            (means, sensitivity) = options.Scores.GetOrComputeBranches(options, analysis, () =>
            {
                var m = Depth.BranchCollapse.Means(model, branches.Values, options.Calibration!, options.Session);
                return (m, Depth.BranchSensitivity.Measure(model, branches, m, options.Calibration!, options.Session));
            });
        var (plan, roundTo, precisionNote) = PlanWithinTolerance(analysis, scores, estimator, options, target, baseline, grid?.Matrix, sensitivity);
        var analysisTime = clock.Elapsed - start;

        // Groups planned to lose every channel take their residual branch with them; the rest are sliced.
        var planned = new RewriteContext(model, analysis.Context.Units, plan.Removed);
        var groupsById = analysis.Groups.ToDictionary(g => g.Id);
        var collapsedIds = branches.Keys.Where(id => groupsById[id].Units.All(planned.IsRemoved)).ToList();
        // Two groups can lead to one branch (a bottleneck's inner layers): it is collapsed once.
        var collapsed = collapsedIds.Select(id => branches[id]).DistinctBy(b => b.Output.Name, StringComparer.Ordinal).ToList();
        var collapsedUnits = collapsedIds.SelectMany(id => groupsById[id].Units).ToHashSet();
        var sliced = collapsedUnits.Count == 0 ? plan.Removed : plan.Removed.Where(u => !collapsedUnits.Contains(u)).ToList();
        var rewrite = collapsedUnits.Count == 0 ? planned : new RewriteContext(model, analysis.Context.Units, sliced);
        var outcomes = analysis.Groups.Select(g => new GroupOutcome(g.Id, g.Name, g.Producers.Select(p => p.Name).ToList(),
            g.ChannelCount, g.Units.Count(u => !planned.IsRemoved(u)), g.PrunableUnits.Count, g.PinReasons)).ToList();
        var removed = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        foreach (var g in analysis.Groups)
        {
            var units = g.Units.Where(rewrite.IsRemoved).ToList();
            if (units.Count > 0) removed[g.Key] = units;
        }
        var refitLayers = Recovery.RefitLayer.Capture(analysis, rewrite, options.Refit.Downstream);
        var keeps = collapsed.ToDictionary(b => b.Output.Name, b => analysis.Context.CarrierOf(b.Output) is { } c && c.Units.Any(rewrite.IsRemoved)
            ? (c.Axis, rewrite.KeepMask(c.Units)) : ((int Axis, bool[] Keep)?)null, StringComparer.Ordinal);
        analysis.Remove(sliced);
        var removedBranches = collapsed.Select(b => b.Describe()).ToList(); // before the collapse rewires the Adds
        if (collapsed.Count > 0)
        {
            Depth.BranchCollapse.Apply(model, collapsed.ToDictionary(b => b.Output.Name, b => means![b.Output.Name], StringComparer.Ordinal), name => keeps[name]);
            var alive = model.Graph.Nodes.SelectMany(n => n.Outputs).Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
            refitLayers = refitLayers.Where(l => alive.Contains(l.OutputName)).ToList();
        }
        Verifier.Verify(model.Graph);
        var after = CostModel.Measure(model.Graph); // recovery changes weights, never shapes: the cost stays
        RestoreRecordedShapes(analysis, recorded, rewrite);
        var result = new DataFreePruneResult(model, baseline.Macs, baseline.Params, after.Macs, after.Params, plan.TargetMet, plan.Shortfall,
            outcomes, analysis.Barriers, options.Criterion, Allocations.NameOf(options.Allocation), roundTo,
            analysisTime, clock.Elapsed - start - analysisTime, plan.GroupsAtLimit, precisionNote)
        {
            RefitLayers = refitLayers,
            RemovedUnits = plan.Removed,
            Pqi = pqi,
            CieGrid = grid,
            PredictedLatencyMs = target.Parts.OfType<PruneTarget.Latency>().Select(l => (double?)l.Predictor.Predict(plan.Removed)).FirstOrDefault(),
            RemovedBranches = removedBranches,
        };
        return (result, removed);
    }

    /// <summary>The residual branches the latency allocation may remove whole, by group id: only with calibration data
    /// (the branch becomes its mean on it) and inputs of fixed size (the mean has the branch output's size).</summary>
    private static IReadOnlyDictionary<int, Depth.ResidualBranch> BranchesToOffer(Model model, ChannelAnalysis analysis, DataFreePruneOptions options,
        Dictionary<Value, Shape?> recorded)
    {
        if (!options.RemoveBranches || options.Allocation != Allocation.Latency || options.Calibration is null) return new Dictionary<int, Depth.ResidualBranch>();
        var inputs = model.Graph.Inputs.Where(v => !v.IsInitializer).Select(v => recorded.GetValueOrDefault(v));
        return Depth.BranchCollapse.SizesAreStatic(inputs) ? Depth.ResidualBranches.Find(model, analysis) : new Dictionary<int, Depth.ResidualBranch>();
    }

    /// <summary>A copy of <paramref name="prepared"/> with only <paramref name="units"/> removed (unit ids of an
    /// analysis with the same pinned groups, which numbers units the same way each time).</summary>
    private static Model RemoveOnly(Model prepared, DataFreePruneOptions options, IReadOnlyCollection<int> units)
    {
        var model = prepared.Clone();
        var recorded = BindInputShapes(model, options.InputShapes);
        RefuseHugeInputs(model);
        var analysis = ChannelAnalysis.Run(model, options.PinnedGroups);
        var rewrite = new RewriteContext(model, analysis.Context.Units, units);
        analysis.Remove(units);
        RestoreRecordedShapes(analysis, recorded, rewrite);
        return model;
    }

    /// <summary>Binds dynamic input dims to the sizes given (analysis needs them) and returns the shapes the
    /// file recorded, to be put back after removal.</summary>
    internal static Dictionary<Value, Shape?> BindInputShapes(Model model, IReadOnlyDictionary<string, long[]> inputShapes)
    {
        var recorded = new Dictionary<Value, Shape?>(ReferenceEqualityComparer.Instance);
        foreach (var v in model.Graph.Inputs.Concat(model.Graph.Nodes.SelectMany(n => n.Outputs))) recorded[v] = v.Shape;
        foreach (var input in model.Graph.Inputs)
            if (inputShapes.TryGetValue(input.Name, out var dims)) input.Shape = new Shape(dims);
        return recorded;
    }

    /// <summary>Bytes of one input above which the model is not run (the runtime check and the
    /// criteria run it on inputs of that size).</summary>
    public const long MaxInputBytes = 1L << 30;

    /// <summary>Refuses inputs too big to run: an input of [1,3,8,2^32] made the pruner overflow
    /// and would make ONNX Runtime allocate terabytes (found by fuzzing).</summary>
    internal static void RefuseHugeInputs(Model model)
    {
        foreach (var input in model.Graph.Inputs.Where(v => !v.IsInitializer && v.Shape is { IsStatic: true }))
        {
            var dims = input.Shape!.TryGetSizes()!;
            double bytes = dims.Aggregate(1.0, (n, d) => n * d) * Math.Max(1, DataTypes.ElementSize(input.ElementType));
            if (bytes > MaxInputBytes)
                throw new PruneInputException(PruneInputProblem.DynamicInputShapes,
                    $"input '{input.Name}' has shape [{string.Join(",", dims)}] ({bytes:0} bytes), too large to run the model on; give smaller sizes");
        }
    }

    /// <summary>Points of the original a MACs or parameter target may be undershot by.</summary>
    public const double TargetTolerancePoints = 2.0;

    /// <summary>
    /// Plans with the requested width multiple; when rounding to it overshoots a MACs or parameter
    /// target by more than <see cref="TargetTolerancePoints"/> (few prunable groups, each with few
    /// allowed widths), plans again with half the multiple, down to 1, and says so.
    /// </summary>
    private static (PrunePlan Plan, int RoundTo, string? Note) PlanWithinTolerance(ChannelAnalysis analysis, IReadOnlyDictionary<int, double> scores,
        PrunedCostEstimator estimator, DataFreePruneOptions options, PruneTarget target, ModelCost baseline, Policy.Cie.ContributionMatrix? contributions,
        IReadOnlyDictionary<int, double> collapsible)
    {
        // The latency allocation without a latency target still prices removals by the latency they save.
        var pricing = options.Allocation == Allocation.Latency && !target.Parts.OfType<PruneTarget.Latency>().Any() && options.LatencyPredictor is { } build
            ? build(analysis, baseline) : null;
        int roundTo = options.Constraints.RoundTo;
        PrunePlan Plan(int r) => new AllocationPlanner(analysis, scores, estimator,
            options.Constraints with { RoundTo = r, SmallStep = Math.Min(options.Constraints.SmallStep, r) })
            { Pqi = options.Pqi, Contributions = contributions, Collapsible = collapsible, Pricing = pricing }.Plan(target, options.Allocation);
        double Overshoot(PrunePlan p) => target switch
        {
            PruneTarget.Macs m => 100.0 * (m.Limit - p.Macs) / baseline.Macs,
            PruneTarget.Params q => 100.0 * (q.Limit - p.Params) / baseline.Params,
            _ => 0,
        };
        var plan = Plan(roundTo);
        if (!plan.TargetMet || Overshoot(plan) <= TargetTolerancePoints) return (plan, roundTo, null);
        if (!options.AllowFinerWidths)
            return (plan, roundTo, $"the model is {Overshoot(plan):0.0} points below the target: multiples of {roundTo} allow no closer width, and finer ones made it slower");
        for (int r = roundTo / 2; r >= 1; r /= 2)
        {
            var finer = Plan(r);
            if (finer.TargetMet && Overshoot(finer) <= TargetTolerancePoints)
                return (finer, r, $"multiples of {roundTo} could only reach {Overshoot(plan):0.0} points below the target; used multiples of {r} to land within {TargetTolerancePoints} points");
        }
        return (plan, roundTo, $"no width multiple lands within {TargetTolerancePoints} points of the target; the model is {Overshoot(plan):0.0} points below it");
    }

    /// <summary>Puts back the shapes the file recorded, with each carrier's channel dim set to what is kept.</summary>
    internal static void RestoreRecordedShapes(ChannelAnalysis analysis, Dictionary<Value, Shape?> recorded, RewriteContext rewrite)
    {
        foreach (var (value, shape) in recorded)
        {
            if (shape is not null && analysis.Context.CarrierOf(value) is { } c && c.Axis < shape.Rank)
            {
                var dims = shape.Dims.ToArray();
                dims[c.Axis] = Dim.Known(rewrite.KeptCount(c.Units));
                value.Shape = new Shape(dims);
            }
            else value.Shape = shape;
        }
    }

    public static string DescribeBarriers(ChannelAnalysis analysis) =>
        analysis.Barriers.Count == 0 ? "no layer has prunable channels"
            : string.Join("; ", analysis.Barriers.GroupBy(b => (b.OpType, b.Reason)).Take(5).Select(g => $"{g.Key.OpType} ({g.Key.Reason}) at {g.First().NodeName}{(g.Count() > 1 ? $" and {g.Count() - 1} more" : "")}"));
}

/// <summary>The model or the options cannot be pruned as asked; the message says why and what to do.</summary>
internal sealed class PruneInputException(PruneInputProblem problem, string message) : Exception(message)
{
    public PruneInputProblem Problem { get; } = problem;
}

/// <summary>Why a model or the options cannot be pruned as asked; a front end words each one
/// with its own option names.</summary>
internal enum PruneInputProblem
{
    /// <summary>MACs depend on input sizes the model leaves open.</summary>
    DynamicInputShapes,
    NothingPrunable,
    /// <summary>The width multiple (<see cref="Policy.GroupConstraints.RoundTo"/>) leaves no layer anything to remove.</summary>
    WidthMultipleTooLarge,
    /// <summary>The target (<see cref="TargetSpec"/>) cannot be read or reached.</summary>
    BadTarget,
    /// <summary>A data-driven criterion was asked for without calibration data.</summary>
    NeedsData,
    /// <summary>ONNX Runtime cannot run the pruned model even with the groups it was traced to kept whole.</summary>
    RuntimeRejects,
    /// <summary>The bn-scale criterion found no BatchNormalization to read (folded into the convolutions, or
    /// missing after some prunable layers).</summary>
    NoBatchNormalization,
}
