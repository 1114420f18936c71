using OnnxPrune.Onnx;
using OnnxPrune.Pruning.Pipeline;

namespace OnnxPrune.Pruning.Policy.Pqi;

/// <summary>One iteration of the PQI loop: the index of the model it started from, what was left after it, and the
/// accuracy after its fine-tune (null without a trainer).</summary>
public sealed record PqiIteration(int Iteration, double Index, int PruneCount, long ParamsAfter, long MacsAfter, double? Accuracy, bool Kept);

/// <summary>The loop's outcome: the model kept, its pruning result (costs relative to the original), the trajectory, and why it stopped.</summary>
internal sealed record PqiRun(byte[] Bytes, DataFreePruneResult Result, IReadOnlyList<PqiIteration> Trajectory, string StopReason);

/// <summary>
/// Sparsity-adaptive pruning with the PQ Index (METHODS.md §3): prune the c channels the index says are compressible
/// (the last iteration only as many as the target needs), fine-tune, score again, and repeat until the MACs/parameter
/// target holds, nothing more can go at the allowed widths, or, with <see cref="PqiSettings.StopWhenRising"/>, the
/// index rises after having fallen: then that iteration is undone, because the paper reads the rise as compressibility
/// having run out.
/// </summary>
internal static class PqiPruner
{
    public static PqiRun Run(byte[] original, string? modelDirectory, string label, DataFreePruneOptions options,
        Loop.IRoundTrainer? trainer = null, int finetuneEpochs = 0, Action<string>? log = null)
    {
        var baseline = SteppedPruner.Baseline(OnnxModelFile.FromBytes(original, modelDirectory, label), options.InputShapes);
        // Percentages mean "of the original": every iteration gets the same absolute limits.
        var absolute = Absolute(options.Target, baseline.Macs, baseline.Params);
        var current = original;
        var trajectory = new List<PqiIteration>();
        DataFreePruneResult? kept = null;
        IReadOnlyList<GroupOutcome>? firstGroups = null;
        string reason = $"{options.Pqi.MaxIterations} iterations (the most allowed)";
        bool fell = false;
        for (int k = 1; k <= options.Pqi.MaxIterations; k++)
        {
            var result = DataFreePruner.Run(OnnxModelFile.FromBytes(current, modelDirectory, label),
                options with { Allocation = Allocation.Pqi, Target = absolute, Scores = new ScoreCache(), AllowFinerWidths = false });
            firstGroups ??= result.Groups;
            double index = result.Pqi!.Global;
            var previous = trajectory.Count > 0 ? trajectory[^1].Index : (double?)null;
            if (previous is { } p && index < p - 1e-12) fell = true;
            if (options.Pqi.StopWhenRising && fell && previous is { } q && index > q + 1e-12)
            {
                trajectory.Add(new PqiIteration(k, index, result.Pqi.PruneCount, result.ParamsAfter, result.MacsAfter, null, false));
                reason = $"the PQ Index rose again after falling ({q:0.0000} -> {index:0.0000}): iteration {k} was undone (--pqi-stop)";
                break;
            }
            bool progress = result.MacsAfter < result.MacsBefore || result.ParamsAfter < result.ParamsBefore;
            if (!progress)
            {
                trajectory.Add(new PqiIteration(k, index, result.Pqi.PruneCount, result.ParamsAfter, result.MacsAfter, null, false));
                // Trained filter norms are nearly dense (I around 0.005 on the bundled ResNets), so with the paper's
                // defaults c stays below one allowed width step; eta (or gamma) is the knob that makes it bite.
                reason = $"iteration {k} could remove nothing at the allowed widths: the index is {index:0.0000}, so c ({result.Pqi.PruneCount} channels in all) stays below one " +
                         "width step; raise --pqi-eta (0.1 keeps about 83% per iteration) or --pqi-gamma, or lower --round-to";
                kept ??= result;
                break;
            }
            var model = result.Model;
            if (!result.TargetMet && trainer is not null && finetuneEpochs > 0) model = trainer.FineTune(model, finetuneEpochs, $"pqi iteration {k}");
            double? accuracy = trainer is null ? null : 100 * trainer.Evaluate(model);
            current = OnnxModelFile.ToBytes(model);
            kept = result with { Model = model };
            trajectory.Add(new PqiIteration(k, index, result.Pqi.PruneCount, result.ParamsAfter, result.MacsAfter, accuracy, true));
            log?.Invoke($"pqi iteration {k}: index {index:0.0000}, {result.ParamsAfter:N0} params ({100.0 * result.ParamsAfter / baseline.Params:0.0}%), " +
                        $"{result.MacsAfter:N0} MACs ({100.0 * result.MacsAfter / baseline.Macs:0.0}%)" + (accuracy is { } a ? $", top-1 {a:0.00}%" : ""));
            if (result.TargetMet) { reason = $"the target holds after {k} iteration(s)"; break; }
        }
        kept ??= DataFreePruner.Run(OnnxModelFile.FromBytes(original, modelDirectory, label), options with { Target = new TargetSpec.Ratio(1e-9) }); // unreachable in practice
        var before = firstGroups!.ToDictionary(g => g.Name, g => g.ChannelsBefore, StringComparer.Ordinal);
        var final = kept with
        {
            MacsBefore = baseline.Macs, ParamsBefore = baseline.Params,
            Groups = kept.Groups.Select(g => g with { ChannelsBefore = before.GetValueOrDefault(g.Name, g.ChannelsBefore) }).ToList(),
            TargetMet = Meets(absolute, kept.MacsAfter, kept.ParamsAfter),
            Shortfall = Meets(absolute, kept.MacsAfter, kept.ParamsAfter) ? null : $"the PQI loop stopped first: {reason}",
        };
        return new PqiRun(current, final, trajectory, reason);
    }

    private static TargetSpec Absolute(TargetSpec target, long macs, long parameters) => target switch
    {
        TargetSpec.Flops f => new TargetSpec.Flops(Count(PruneTargetLimit(f.Text, macs, "the MACs target"))),
        TargetSpec.Params p => new TargetSpec.Params(Count(PruneTargetLimit(p.Text, parameters, "the parameter target"))),
        TargetSpec.All a => new TargetSpec.All(a.Targets.Select(t => Absolute(t, macs, parameters)).ToList()),
        _ => throw new PruneInputException(PruneInputProblem.BadTarget, "--allocation pqi iterates toward a MACs or parameter target: give --target-flops or --target-params"),
    };

    private static bool Meets(TargetSpec absolute, long macs, long parameters) => absolute.Parts.All(t => t switch
    {
        TargetSpec.Flops f => macs <= long.Parse(f.Text, System.Globalization.CultureInfo.InvariantCulture),
        TargetSpec.Params p => parameters <= long.Parse(p.Text, System.Globalization.CultureInfo.InvariantCulture),
        _ => true,
    });

    private static long PruneTargetLimit(string text, long original, string what) => PruneTarget.ParseLimit(text, original, what);

    private static string Count(long value) => value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
