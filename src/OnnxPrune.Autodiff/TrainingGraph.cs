using OnnxPrune.IR;

namespace OnnxPrune.Autodiff;

/// <summary>
/// A model that computes the forward pass, a scalar loss and the gradient of the loss with
/// respect to every trainable parameter, in standard ONNX ops (ONNX Runtime's CPU provider runs
/// it). Built by <see cref="GradientBuilder.Build"/>; the input model is not changed.
/// </summary>
internal sealed class TrainingGraph
{
    internal TrainingGraph(Model model, string lossOutput, IReadOnlyList<TrainableParameter> parameters,
        IReadOnlyList<string> dataInputs, IReadOnlyList<string> modelOutputs,
        IReadOnlyDictionary<string, string> valueGradientOutputs, IReadOnlyList<BatchNormStatistics> batchNormStatistics,
        bool weightsAreInputs, bool blockedConvolutions = false)
    {
        BlockedConvolutions = blockedConvolutions;
        Model = model;
        LossOutput = lossOutput;
        Parameters = parameters;
        DataInputs = dataInputs;
        ModelOutputs = modelOutputs;
        ValueGradientOutputs = valueGradientOutputs;
        BatchNormStatistics = batchNormStatistics;
        WeightsAreInputs = weightsAreInputs;
    }

    /// <summary>The training model. Its outputs are, in order: the loss, the model's own outputs
    /// (when kept), one gradient per parameter, the requested value gradients, then the batch
    /// statistics of each BatchNormalization (mean, variance).</summary>
    public Model Model { get; }

    /// <summary>Name of the scalar loss output.</summary>
    public string LossOutput { get; }

    /// <summary>The trainable parameters in model order, with their gradient outputs and starting values.</summary>
    public IReadOnlyList<TrainableParameter> Parameters { get; }

    /// <summary>Inputs fed with data on every run: the model's own inputs, then the loss's
    /// inputs if the loss added any (labels or target; labels then teacher logits for distillation). Parameters are not listed here.</summary>
    public IReadOnlyList<string> DataInputs { get; }

    /// <summary>The model's outputs kept as outputs of the training graph (empty when
    /// <see cref="GradientOptions.KeepModelOutputs"/> is false).</summary>
    public IReadOnlyList<string> ModelOutputs { get; }

    /// <summary>Requested intermediate value name -> name of its gradient output.</summary>
    public IReadOnlyDictionary<string, string> ValueGradientOutputs { get; }

    /// <summary>One entry per BatchNormalization run on batch statistics.</summary>
    public IReadOnlyList<BatchNormStatistics> BatchNormStatistics { get; }

    /// <summary>True when the parameters are graph inputs that must be fed on each run
    /// (<see cref="GradientOptions.WeightsAsInputs"/>).</summary>
    public bool WeightsAreInputs { get; }

    /// <summary>The parameter of that name, or null.</summary>
    /// <summary>Whether sessions run eligible convolutions on ORT's blocked-layout kernels
    /// (<see cref="GradientOptions.BlockedConvolutions"/>); <see cref="Model"/> itself stays standard ONNX.</summary>
    public bool BlockedConvolutions { get; }

    public TrainableParameter? Parameter(string name) => Parameters.FirstOrDefault(p => p.Name == name);
}

/// <summary>A trained initializer.</summary>
/// <param name="Name">Initializer name in the inference model, and input name in the training graph.</param>
/// <param name="GradientOutput">Output holding d loss / d parameter (same shape and type).</param>
/// <param name="InitialValue">The value the inference model had.</param>
internal sealed record TrainableParameter(string Name, string GradientOutput, Tensor InitialValue)
{
    public DataType ElementType => InitialValue.DataType;
    public long[] Dims => InitialValue.Dims;
}

/// <summary>
/// A BatchNormalization in training mode: the batch statistics the graph computed, so the trainer
/// can update the running statistics of the inference model:
/// running = Momentum * running + (1 - Momentum) * batch (ONNX's convention for momentum).
/// </summary>
/// <param name="NodeName">The BatchNormalization node of the inference model.</param>
/// <param name="RunningMean">Initializer of the running mean in the inference model.</param>
/// <param name="RunningVariance">Initializer of the running variance in the inference model.</param>
/// <param name="BatchMeanOutput">Output: per-channel mean over the batch and spatial axes.</param>
/// <param name="BatchVarianceOutput">Output: per-channel unbiased variance (divided by n-1, as
/// PyTorch uses for its running variance); normalisation itself uses the biased one.</param>
/// <param name="Momentum">The node's momentum attribute (default 0.9).</param>
/// <param name="Epsilon">The node's epsilon attribute.</param>
internal sealed record BatchNormStatistics(string NodeName, string RunningMean, string RunningVariance,
    string BatchMeanOutput, string BatchVarianceOutput, float Momentum, float Epsilon);
