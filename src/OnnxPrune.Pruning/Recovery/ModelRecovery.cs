using System.Diagnostics;
using OnnxPrune.IR;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Recovery;

/// <summary>What recovery did to a pruned model.</summary>
/// <param name="Layers">Every layer that read removed channels, in graph order (empty for bn).</param>
/// <param name="BatchNorms">How many BatchNormalization layers got re-estimated statistics.</param>
internal sealed record RecoveryOutcome(RecoveryMode Mode, IReadOnlyList<LayerRefitOutcome> Layers, int BatchNorms, int Images, TimeSpan Time)
{
    public static readonly RecoveryOutcome NotRun = new(RecoveryMode.None, [], 0, 0, TimeSpan.Zero);
}

/// <summary>
/// Recovery without fine-tuning (METHODS.md §6), the pass every pruning path runs after removing
/// channels when it has calibration data: the least-squares refit of the layers that read removed
/// channels (refit), then BatchNorm statistics re-estimated on the same images (refit and bn).
/// The refit goes first because it makes each layer's output match the original's again, after
/// which the re-estimated statistics describe outputs close to the original ones.
/// </summary>
internal static class ModelRecovery
{
    /// <param name="original">The model before removal (after the same preparation passes), which the refit imitates.</param>
    /// <param name="pruned">The pruned model, changed in place.</param>
    /// <param name="layers">The layers that read removed channels (<see cref="Pipeline.DataFreePruneResult.RefitLayers"/>).</param>
    public static RecoveryOutcome Run(RecoveryMode mode, Model original, Model pruned, IReadOnlyList<RefitLayer> layers, CalibrationSet data,
        SessionSettings session, RefitSettings? settings = null, Action<string>? progress = null)
    {
        if (mode == RecoveryMode.None) return RecoveryOutcome.NotRun;
        var clock = Stopwatch.StartNew();
        settings ??= new RefitSettings();

        IReadOnlyList<LayerRefitOutcome> refit = [];
        if (mode == RecoveryMode.Refit && layers.Count > 0)
            // The refit reports layers done; its several passes over the images would each restart an image count.
            refit = new LeastSquaresRefit(data with { Progress = null }, session, settings).Run(original, pruned, layers, progress);
        progress?.Invoke("re-estimating BatchNorm statistics");
        int norms = new BatchNormReestimation(data, session, settings.BatchSize).Run(pruned);
        return new RecoveryOutcome(mode, refit, norms, data.Images.Count, clock.Elapsed);
    }
}
