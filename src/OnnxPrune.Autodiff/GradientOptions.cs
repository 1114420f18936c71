namespace OnnxPrune.Autodiff;

/// <summary>What <see cref="GradientBuilder.Build"/> differentiates and how. Immutable; vary with <c>with</c>.</summary>
internal sealed record GradientOptions
{
    public static GradientOptions Default { get; } = new();

    /// <summary>The loss appended to the model (default: softmax cross-entropy of the model's
    /// first output against an int64 "labels" input).</summary>
    public Loss Loss { get; init; } = new SoftmaxCrossEntropyLoss();

    /// <summary>
    /// Names of the initializers to train. Null selects every floating-point initializer that
    /// feeds Conv/ConvTranspose (weight, bias), Gemm/MatMul (any operand), BatchNormalization
    /// (scale, bias; never the running statistics), PRelu (slope) or Add/Mul (an operand with more
    /// than one element, so scalar normalisation constants stay fixed). Constant nodes in those
    /// positions count as initializers (exporters such as paddle2onnx store weights that way).
    /// </summary>
    public IReadOnlyList<string>? Trainable { get; init; }

    /// <summary>Intermediate values (by name) whose gradients become extra outputs
    /// "grad/&lt;name&gt;" (for example activations, for Taylor saliency).</summary>
    public IReadOnlyList<string> ValueGradients { get; init; } = Array.Empty<string>();

    /// <summary>
    /// True (the default): trainable initializers are removed from the initializer list and become
    /// graph inputs of the same name and shape, so a trainer (or a Hessian-vector product) feeds
    /// the current weights on every run; their starting values are in
    /// <see cref="TrainingGraph.Parameters"/>. False: they stay initializers baked into the
    /// training graph (fewer inputs to feed; gradients at those fixed weights only).
    /// </summary>
    public bool WeightsAsInputs { get; init; } = true;

    /// <summary>How BatchNormalization behaves in the training graph.</summary>
    public BatchNormMode BatchNorm { get; init; } = BatchNormMode.BatchStatistics;

    /// <summary>Keep the model's own outputs (e.g. logits) as outputs of the training graph so a
    /// trainer can measure accuracy from the same run.</summary>
    public bool KeepModelOutputs { get; init; } = true;

    /// <summary>How the weight gradient of a convolution is computed.</summary>
    public ConvWeightGradient ConvWeightGradient { get; init; } = ConvWeightGradient.Auto;

    /// <summary>
    /// True (the default): a <see cref="GradientSession"/> runs the training graph's eligible 2-D
    /// convolutions on ONNX Runtime's blocked-layout kernels (<see cref="BlockedConvolutions"/>)
    /// when the loaded runtime has them. False: standard Conv nodes only.
    /// </summary>
    public bool BlockedConvolutions { get; init; } = true;

    /// <summary>
    /// The channel block of the blocked-layout kernels the graph will run on (16 with AVX-512, 8
    /// with AVX2: <c>NchwcSupport.BlockSize</c> of the runtime that will run it), which decides the
    /// weight-gradient forms under <see cref="ConvWeightGradient.Auto"/>. 0 (the default): not
    /// known, so the rules choose forms that do not depend on the kernels. Given here so that
    /// building a graph never starts an ONNX Runtime session.
    /// </summary>
    public int ChannelBlock { get; init; }

    /// <summary>Default-domain opset of the training graph: the largest of this, the model's own
    /// and 16. Models older than opset 13 (down to 7) have their nodes rewritten into the newer
    /// forms first (Squeeze/ReduceSum axes, Split, Clip, Pad, Slice inputs, Softmax axis
    /// semantics, Upsample as Resize).</summary>
    public long MinimumOpset { get; init; } = 17;
}

/// <summary>How BatchNormalization is differentiated.</summary>
internal enum BatchNormMode
{
    /// <summary>Training mode: normalise with the batch's mean and (biased) variance computed in
    /// the graph; the batch mean and unbiased variance become outputs so the trainer can update
    /// the running statistics.</summary>
    BatchStatistics,

    /// <summary>Inference mode: the running statistics are constants and BatchNorm is a fixed
    /// per-channel affine map (gradients still reach scale and bias).</summary>
    RunningStatistics,
}

/// <summary>Formulations of the convolution weight gradient (DESIGN.md: measure the alternatives).</summary>
internal enum ConvWeightGradient
{
    /// <summary><see cref="InterleavedConv"/> where its input channels are a multiple of the
    /// block, else <see cref="TransposedConv"/> where that Conv will run on ORT's blocked-layout
    /// kernels (<see cref="GradientOptions.BlockedConvolutions"/>, a runtime that has them, batch and
    /// output channels on the block), else <see cref="ShiftedMatMul"/>.</summary>
    Auto,

    /// <summary>One Slice of the (padded, transposed) input per kernel tap and one GEMM with the
    /// output gradient per tap, concatenated; with stride 1 each slice is a contiguous window of
    /// the flattened spatial axes. Works for every group count. The faster choice on ORT's CPU
    /// provider (3x3 32->32 14x14 batch 128, 2 threads: about 15 ms against 26 ms).</summary>
    ShiftedMatMul,

    /// <summary>A Conv whose input is the transposed input (C,N,H,W) and whose kernel is the
    /// transposed output gradient (M,N,Ho,Wo), strides and dilations swapped. group=1 only; grouped
    /// convolutions fall back to <see cref="ShiftedMatMul"/>.</summary>
    TransposedConv,

    /// <summary>A Conv over the input with b channels interleaved into its width (batch C/b,
    /// channels N) and the transposed output gradient as its kernel (see
    /// <c>InterleavedWeightGradient</c>); b is the NCHWc block under <see cref="Auto"/>.
    /// 2-D, group 1, undilated only; the rest falls back to <see cref="TransposedConv"/>.</summary>
    InterleavedConv,
}

/// <summary>A loss appended to the model. The training graph's first output is the scalar loss.</summary>
internal abstract record Loss;

/// <summary>
/// Mean softmax cross-entropy between logits (N,C) or (N,C,d1,...) and int64 class labels
/// (N) or (N,d1,...), as ONNX's SoftmaxCrossEntropyLoss computes it.
/// </summary>
/// <param name="Logits">Name of the logits value; null means the model's first output.</param>
/// <param name="LabelsInput">Name of the new int64 graph input holding the labels.</param>
internal sealed record SoftmaxCrossEntropyLoss(string? Logits = null, string LabelsInput = "labels") : Loss;

/// <summary>
/// Knowledge distillation (Hinton et al., 2015): (1 − Weight)·CE(logits, labels) +
/// Weight·T²·KL(softmax(teacher/T) ‖ softmax(logits/T)), the KL summed over classes and averaged
/// over the batch. The teacher's logits [N, K] are a new float graph input, so the gradient of the
/// KL term comes from the same reverse walk as the cross-entropy's. T² keeps the soft term's
/// gradient, which scales as 1/T, comparable to the hard term's across temperatures.
/// </summary>
/// <param name="Logits">Name of the student's logits [N, K]; null means the model's first output.</param>
/// <param name="LabelsInput">Name of the new int64 input holding the labels [N].</param>
/// <param name="TeacherLogitsInput">Name of the new float input holding the teacher's logits [N, K].</param>
/// <param name="Temperature">T &gt; 0.</param>
/// <param name="Weight">The soft term's share in [0, 1].</param>
internal sealed record DistillationLoss(string? Logits, string LabelsInput, string TeacherLogitsInput, double Temperature, double Weight) : Loss;

/// <summary>Mean over all elements of (output - target)^2.</summary>
/// <param name="Output">Name of the value compared; null means the model's first output.</param>
/// <param name="TargetInput">Name of the new graph input holding the target (same shape and type).</param>
internal sealed record MeanSquaredErrorLoss(string? Output = null, string TargetInput = "target") : Loss;

/// <summary>A scalar the model already computes is the loss (custom losses built with the IR).</summary>
internal sealed record ExistingLoss(string Value) : Loss;
