using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>Top-1 accuracy and cross-entropy of any image classifier on a data set, run by ONNX Runtime.</summary>
internal static class ClassifierEvaluation
{
    /// <summary>
    /// Runs <paramref name="model"/> over <paramref name="data"/> in batches (images normalised with
    /// <paramref name="normalization"/>, not augmented) and compares its top-1 class with the labels.
    /// </summary>
    /// <exception cref="TrainingInputException">The data does not fit the model (image shape, label range).</exception>
    public static EvaluationResult Evaluate(Model model, Dataset data, ChannelNormalization? normalization,
        SessionSettings? settings = null, int batchSize = 256, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        var signature = ClassifierSignature.Of(model);
        signature.CheckData(data);
        using var session = InferenceSession.FromModel(model, settings ?? SessionSettings.Default);
        return Trainer.EvaluateModel(session, signature, data, batchSize, normalization, cancellationToken);
    }
}
