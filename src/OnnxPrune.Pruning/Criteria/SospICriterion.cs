using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// SOSP-I (Nonnenmacher et al., ICLR 2022; METHODS.md §2): the second-order estimate of the loss
/// change when one group goes on its own, with the Gauss-Newton matrix G of the cross-entropy in
/// place of the Hessian, evaluated group by group: λ_s = | −θ_sᵀ g + ½ θ_sᵀ G θ_s |. It is the
/// reference SOSP-H is compared with: SOSP-H replaces θ_s's own quadratic form by θ_sᵀ(Hθ) over all
/// parameters, which one Hessian-vector product serves.
/// <para>θ_sᵀ G θ_s is computed exactly, without finite differences, from per-image, per-class
/// gradients: G = (1/N) Σ_n Σ_y p_y(x_n) ∇ℓ_y(x_n) ∇ℓ_y(x_n)ᵀ (see
/// <see cref="CalibrationGradients.ForEachImageClassGradient"/>), so
/// θ_sᵀ G θ_s = (1/N) Σ_n Σ_y p_y (θ_sᵀ ∇ℓ_y)². Every class counts: when the model is confident the
/// quadratic form comes almost entirely from the improbable classes. For models with more than
/// <paramref name="maxClasses"/> classes only the most probable ones per image are taken (an
/// approximation that keeps ImageNet models feasible). Cost: images × classes gradient runs of
/// one image, plus the batched gradient for g.</para>
/// <para>The first-order term and its loss are those of <see cref="TaylorCriterion"/> (labels, or the
/// model's own top-1 predictions); G does not depend on the labels.</para>
/// </summary>
internal sealed class SospICriterion(CalibrationSet data, SessionSettings session, int batchSize = 128, int maxClasses = SospICriterion.DefaultMaxClasses) : IChannelCriterion
{
    /// <summary>Classes per image in the Gauss-Newton sum: all of a 10-class model's.</summary>
    public const int DefaultMaxClasses = 10;

    public string Name => "sosp-i";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis) =>
        PredictedChanges(analysis).ToDictionary(p => p.Key, p => Math.Abs(p.Value));

    /// <summary>Per root unit, the signed estimate −θ_sᵀg + ½θ_sᵀGθ_s of the loss change when the unit
    /// alone goes; the score is its size.</summary>
    public IReadOnlyDictionary<int, double> PredictedChanges(ChannelAnalysis analysis)
    {
        var model = analysis.Context.Model;
        var parameters = CalibrationGradients.ScoredParameters(analysis);
        var gradients = new CalibrationGradients(data, session, batchSize);
        var first = CalibrationGradients.GroupDots(analysis, parameters.Bindings, gradients.Compute(model, parameters.Names, hessianTimesTheta: false).Gradient);
        var quadratic = new Dictionary<int, double>();
        gradients.ForEachImageClassGradient(model, parameters.Names, maxClasses, (weight, gradient) =>
        {
            foreach (var (unit, dot) in CalibrationGradients.GroupDots(analysis, parameters.Bindings, gradient))
                quadratic[unit] = quadratic.GetValueOrDefault(unit) + weight * dot * dot;
        });
        return analysis.Groups.SelectMany(g => g.Units)
            .ToDictionary(u => u, u => -first.GetValueOrDefault(u) + 0.5 * quadratic.GetValueOrDefault(u));
    }
}
