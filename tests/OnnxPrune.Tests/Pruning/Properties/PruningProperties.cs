using OnnxPrune.IR;
using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Cost;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Runtime;
using OnnxPrune.Runtime.Data;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Pruning.Properties;

/// <summary>What one generated case did: channels removed, groups pinned and why.</summary>
internal sealed record CaseOutcome(int RemovedChannels, int PrunableGroups, int PinnedGroups, IReadOnlyList<string> Barriers);

/// <summary>A property of the rewrite did not hold for a generated graph.</summary>
internal sealed class PropertyViolation(string message) : Exception(message);

/// <summary>
/// The properties every generated graph must keep, each checked with ONNX Runtime: (1) the
/// original with the removed channels zeroed and the pruned model agree; (2) ORT loads and runs
/// the pruned model; (3) the output shapes are unchanged; (4) the cost estimator's prediction is
/// the cost model's measure of the rewritten graph. Removal follows the pipeline: the prepare
/// passes, the analysis, then about the spec's share of every prunable group (one channel of each
/// group always kept).
/// </summary>
internal static class PruningProperties
{
    private const double RelativeTolerance = 1e-4;

    public static CaseOutcome Check(CnnSpec spec)
    {
        _ = OrtTestLibrary.Runtime;
        var model = CnnBuilder.Build(spec);
        var original = OnnxModelFile.ToBytes(model);
        PreparePasses.Run(model, verify: true);
        var analysis = ChannelAnalysis.Run(model);
        var removed = ChooseRemoval(analysis, spec);

        var baseline = CostModel.Measure(model.Graph);
        var estimate = new PrunedCostEstimator(analysis, baseline).Estimate(removed);
        var outputShapes = model.Graph.Outputs.Select(o => o.Shape?.ToString()).ToList();
        analysis.ZeroInPlace(removed);
        var zeroed = OnnxModelFile.ToBytes(model);
        analysis.Remove(removed);
        var problems = Verifier.Check(model.Graph);
        if (problems.Count > 0) throw new PropertyViolation($"the pruned graph does not verify: {string.Join("; ", problems)}");
        var after = CostModel.Measure(model.Graph);
        if (after.Macs != estimate.Macs || after.Params != estimate.Params)
            throw new PropertyViolation($"(4) cost: estimated {estimate.Macs} MACs, {estimate.Params} params; measured {after.Macs} MACs, {after.Params} params");
        var prunedShapes = model.Graph.Outputs.Select(o => o.Shape?.ToString()).ToList();
        if (!prunedShapes.SequenceEqual(outputShapes))
            throw new PropertyViolation($"(3) declared output shapes changed: {string.Join(", ", outputShapes)} -> {string.Join(", ", prunedShapes)}");
        CompareInOrt(original, zeroed, OnnxModelFile.ToBytes(model), spec.RemovalSeed);

        var groups = analysis.Groups;
        return new CaseOutcome(removed.Count, groups.Count(g => g.IsPrunable), groups.Count(g => g.PinReasons.Count > 0),
            analysis.Barriers.Select(b => $"{b.OpType}: {b.Reason}").Distinct().ToList());
    }

    /// <summary>About <see cref="CnnSpec.RemovalPercent"/>% of each prunable group's free units, seeded;
    /// every group keeps at least one unit.</summary>
    private static List<int> ChooseRemoval(ChannelAnalysis analysis, CnnSpec spec)
    {
        var random = new Random(spec.RemovalSeed);
        var removed = new List<int>();
        foreach (var g in analysis.Groups.Where(g => g.IsPrunable))
        {
            var chosen = g.PrunableUnits.Where(_ => random.Next(100) < spec.RemovalPercent).ToList();
            if (chosen.Count == g.ChannelCount) chosen.RemoveAt(random.Next(chosen.Count));
            removed.AddRange(chosen);
        }
        return removed;
    }

    private static void CompareInOrt(byte[] original, byte[] zeroed, byte[] pruned, int seed)
    {
        var settings = new SessionSettings { IntraOpThreads = 1 };
        using var o = InferenceSession.FromBytes(original, settings);
        using var a = InferenceSession.FromBytes(zeroed, settings);
        using var b = Guard(() => InferenceSession.FromBytes(pruned, settings), "(2) ONNX Runtime rejects the pruned model");
        {
            var inputs = RandomInputs.Create(a.Inputs, 1, seed, new Dictionary<string, long[]>());
            var outO = o.Run(inputs);
            var outA = a.Run(inputs);
            var outB = Guard(() => b.Run(inputs), "(2) ONNX Runtime fails running the pruned model");
            foreach (var (key, value) in outA)
            {
                if (!outB[key].Dims.SequenceEqual(value.Dims) || !outO[key].Dims.SequenceEqual(value.Dims))
                    throw new PropertyViolation($"(3) output '{key}' is [{string.Join(",", outB[key].Dims)}], the original's [{string.Join(",", outO[key].Dims)}]");
                var x = TensorConversion.ToDoubles(value);
                var y = TensorConversion.ToDoubles(outB[key]);
                double scale = x.Max(Math.Abs), maxAbs = x.Zip(y, (p, q) => Math.Abs(p - q)).Max();
                if (!(maxAbs <= RelativeTolerance * Math.Max(scale, 1e-6)))
                    throw new PropertyViolation($"(1) output '{key}' differs from the masked original by {maxAbs:g3} (scale {scale:g3})");
            }
        }
    }

    private static T Guard<T>(Func<T> run, string what)
    {
        try { return run(); }
        catch (OrtException e) { throw new PropertyViolation($"{what}: {e.Message}"); }
    }
}
