using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// SOSP-H (Nonnenmacher et al., ICLR 2022; METHODS.md §2): the second-order estimate of the loss
/// change when a group goes, with the pairwise sum over removed structures replaced by the sum
/// over all of them so that one Hessian-vector product serves every group:
/// λ_s = | −θ_sᵀ g + ½ θ_sᵀ (H θ) |, g the mean loss gradient and Hθ the Hessian times all
/// parameters, both over the calibration images (Hθ by a forward difference of gradients; see
/// <see cref="CalibrationGradients"/>). θ_s is every parameter the group's removal zeroes.
/// </summary>
internal sealed class SospCriterion(CalibrationSet data, SessionSettings session, int batchSize = 128) : IChannelCriterion
{
    public string Name => "sosp-h";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis) =>
        PredictedChanges(analysis).ToDictionary(p => p.Key, p => Math.Abs(p.Value));

    /// <summary>Per root unit, the signed estimate −θ_sᵀg + ½θ_sᵀ(Hθ) whose size is the score (for
    /// comparing with the loss change measured by removing the unit).</summary>
    public IReadOnlyDictionary<int, double> PredictedChanges(ChannelAnalysis analysis)
    {
        var parameters = CalibrationGradients.ScoredParameters(analysis);
        var (gradient, hessianTheta) = new CalibrationGradients(data, session, batchSize).Compute(analysis.Context.Model, parameters.Names, hessianTimesTheta: true);
        var first = CalibrationGradients.GroupDots(analysis, parameters.Bindings, gradient);
        var second = CalibrationGradients.GroupDots(analysis, parameters.Bindings, hessianTheta!);
        return analysis.Groups.SelectMany(g => g.Units)
            .ToDictionary(u => u, u => -first.GetValueOrDefault(u) + 0.5 * second.GetValueOrDefault(u));
    }
}
