using OnnxPrune.Pruning.Channels;
using OnnxPrune.Runtime;

namespace OnnxPrune.Pruning.Criteria;

/// <summary>
/// First-order Taylor saliency of a channel group (Molchanov et al., CVPR 2019, on groups as in
/// METHODS.md): |θ_sᵀ g|, where θ_s is every parameter the group's removal zeroes (the producing
/// filters and biases, per-channel parameters such as BatchNorm's scale and shift, the consumers'
/// input slices) and g the gradient of the loss over the calibration images, computed by ONNX
/// Runtime on the gradient graph OnnxPrune builds. -θ_sᵀ g is the first-order change of the loss
/// when the group goes; the score is its size.
/// <para>The loss is softmax cross-entropy against the labels; without labels, against the
/// original model's own top-1 predictions. (Against its soft outputs, the KL divergence of the
/// unpruned model to itself has zero gradient, which would make every first-order score 0.)
/// BatchNorm uses its running statistics: the model as it is deployed.</para>
/// </summary>
internal sealed class TaylorCriterion(CalibrationSet data, SessionSettings session, int batchSize = 128) : IChannelCriterion
{
    public string Name => "taylor";

    public IReadOnlyDictionary<int, double> Score(ChannelAnalysis analysis)
    {
        var parameters = CalibrationGradients.ScoredParameters(analysis);
        var gradients = new CalibrationGradients(data, session, batchSize).Compute(analysis.Context.Model, parameters.Names, hessianTimesTheta: false);
        var dots = CalibrationGradients.GroupDots(analysis, parameters.Bindings, gradients.Gradient);
        return analysis.Groups.SelectMany(g => g.Units).ToDictionary(u => u, u => Math.Abs(dots.GetValueOrDefault(u)));
    }
}
