using System.Globalization;
using OnnxPrune.Runtime;
using OnnxPrune.Training.Data;

namespace OnnxPrune.Training;

/// <summary>How a <see cref="Trainer"/> trains. Immutable; vary with <c>with</c>.</summary>
internal sealed record TrainerOptions
{
    /// <summary>Epochs to train in total (a resumed run continues up to this many).</summary>
    public int Epochs { get; init; } = 1;

    public int BatchSize { get; init; } = 128;

    /// <summary>Seeds the order of the samples and the augmentation (epoch e's batches are a
    /// function of (Seed, e) alone, see <see cref="BatchIterator"/>). The initial weights come
    /// from the model given to the trainer.</summary>
    public int Seed { get; init; }

    public SgdOptions Sgd { get; init; } = new();

    /// <summary>Multiplies <see cref="SgdOptions.LearningRate"/>, per step.</summary>
    public LearningRateSchedule Schedule { get; init; } = new CosineSchedule();

    /// <summary>Random crop / flip of the training images (never of evaluation images).</summary>
    public Augmentation Augmentation { get; init; } = Augmentation.None;

    /// <summary>Applied to every image (training and evaluation) before it is fed; null: fed as stored.
    /// The exported model's metadata names it, since the model expects inputs normalised so.</summary>
    public ChannelNormalization? Normalization { get; init; }

    /// <summary>Running statistics update, PyTorch's convention:
    /// running = (1 - m) * running + m * batch (ONNX's momentum attribute is 1 - m).</summary>
    public double BatchNormMomentum { get; init; } = 0.1;

    /// <summary>Batch size when evaluating (the last batch may be smaller).</summary>
    public int EvaluationBatchSize { get; init; } = 256;

    /// <summary>Evaluate on the validation set after every epoch (else only when asked).</summary>
    public bool EvaluateEveryEpoch { get; init; } = true;

    /// <summary>Initializers to train; null: every float initializer (or Constant node) in a weight
    /// position of Conv/ConvTranspose (weight, bias), Gemm/MatMul (any constant operand) and
    /// BatchNormalization (scale, bias; never the running statistics); see
    /// <see cref="ClassifierSignature.DefaultTrainable"/>.</summary>
    public IReadOnlyList<string>? Trainable { get; init; }

    /// <summary>
    /// The dims of one sample, [C, H, W] (or [F] for a flattened input), when known before training:
    /// the trainer writes them into the model's input where it declares a dynamic (symbolic or
    /// unknown) dim, because some gradient rules need static shapes (global pooling of an input
    /// of any size, for instance). Null: the model's declared dims are used as they are.
    /// </summary>
    public long[]? InputSampleDims { get; init; }

    /// <summary>What counts as divergence and how many rollbacks (with a halved learning rate each) a run may take.</summary>
    public DivergenceOptions Divergence { get; init; } = new();

    /// <summary>Names of BatchNormalization nodes that <see cref="Trainer.ExportModel"/> folds into the
    /// layers before them: those <see cref="BatchNormInsertion"/> inserted for training (see
    /// <see cref="FineTuning.WithInsertedBatchNorm"/>). Null or empty: the export keeps every BatchNorm.</summary>
    public IReadOnlySet<string>? FoldOnExport { get; init; }

    /// <summary>Written (atomically, overwriting) after every epoch when set.</summary>
    public string? CheckpointPath { get; init; }

    /// <summary>ORT settings of the training and evaluation sessions (intra-op threads ...).
    /// Results are deterministic for a given seed and thread count.</summary>
    public SessionSettings Session { get; init; } = SessionSettings.Default;

    /// <summary>Distil from a teacher model while training; null: plain cross-entropy.</summary>
    public DistillationOptions? Distillation { get; init; }

    /// <exception cref="ArgumentException">A number is out of range (the message names it).</exception>
    public void Validate()
    {
        Distillation?.Validate();
        if (Epochs < 1) throw new ArgumentException($"epochs must be at least 1, got {Epochs}");
        if (BatchSize < 1) throw new ArgumentException($"batch size must be at least 1, got {BatchSize}");
        if (EvaluationBatchSize < 1) throw new ArgumentException($"evaluation batch size must be at least 1, got {EvaluationBatchSize}");
        if (!(BatchNormMomentum >= 0 && BatchNormMomentum <= 1)) throw new ArgumentException($"BatchNorm momentum must be in [0, 1], got {BatchNormMomentum}");
        ArgumentNullException.ThrowIfNull(Sgd);
        ArgumentNullException.ThrowIfNull(Schedule);
        ArgumentNullException.ThrowIfNull(Augmentation);
        ArgumentNullException.ThrowIfNull(Session);
        ArgumentNullException.ThrowIfNull(Divergence);
        Divergence.Validate();
        if (Augmentation.CropPadding < 0) throw new ArgumentException($"crop padding must not be negative, got {Augmentation.CropPadding}");
        Sgd.Validate();
        Schedule.Validate();
    }
}

/// <summary>
/// Stochastic gradient descent as PyTorch's torch.optim.SGD (dampening 0):
/// g = grad + wd·w (weight decay only where it applies), v = μ·v + g, then
/// w -= lr·(g + μ·v) with Nesterov or w -= lr·v without.
/// </summary>
/// <param name="LearningRate">Base learning rate, scaled by the schedule.</param>
/// <param name="Momentum">μ in [0, 1).</param>
/// <param name="Nesterov">Nesterov momentum (needs μ &gt; 0).</param>
/// <param name="WeightDecay">L2 coefficient wd ≥ 0.</param>
/// <param name="DecayNormAndBias">False (the default): weight decay applies only to parameters of
/// rank ≥ 2 (convolution and linear weights), not to biases and BatchNorm scales/shifts (rank 1),
/// the usual choice for small networks. True: to every parameter, as plain torch.optim.SGD does.</param>
internal sealed record SgdOptions(double LearningRate = 0.1, double Momentum = 0.9, bool Nesterov = false,
    double WeightDecay = 5e-4, bool DecayNormAndBias = false)
{
    public void Validate()
    {
        if (!(LearningRate > 0) || !double.IsFinite(LearningRate)) throw new ArgumentException($"learning rate must be a positive number, got {Fmt(LearningRate)}");
        if (!(Momentum >= 0 && Momentum < 1)) throw new ArgumentException($"momentum must be in [0, 1), got {Fmt(Momentum)}");
        if (!(WeightDecay >= 0) || !double.IsFinite(WeightDecay)) throw new ArgumentException($"weight decay must be zero or positive, got {Fmt(WeightDecay)}");
        if (Nesterov && Momentum == 0) throw new ArgumentException("Nesterov momentum needs a momentum above 0");
    }

    internal static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>A factor on the base learning rate as a function of the step.</summary>
internal abstract record LearningRateSchedule
{
    /// <summary>The factor for global step <paramref name="step"/> (0-based) of a run of
    /// <paramref name="epochs"/> epochs of <paramref name="stepsPerEpoch"/> steps.</summary>
    public abstract double Factor(long step, int stepsPerEpoch, int epochs);

    public virtual void Validate() { }

    /// <summary>Reads the forms <see cref="object.ToString"/> writes: "constant", "cosine",
    /// "cosine:warmup=2", "step", "step:milestones=0.5/0.75,gamma=0.1".</summary>
    /// <exception cref="FormatException">Not one of those forms.</exception>
    public static LearningRateSchedule Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var colon = text.IndexOf(':');
        var kind = (colon < 0 ? text : text[..colon]).Trim().ToLowerInvariant();
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        if (colon >= 0)
            foreach (var part in text[(colon + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                var eq = part.IndexOf('=');
                if (eq <= 0) throw new FormatException($"'{text}': '{part}' is not KEY=VALUE");
                args[part[..eq]] = part[(eq + 1)..];
            }
        LearningRateSchedule result = kind switch
        {
            "constant" => new ConstantSchedule(),
            "cosine" => new CosineSchedule(Int("warmup", 0), Double("final", 0)),
            "step" => new StepSchedule(args.TryGetValue("milestones", out var m) ? m.Split('/').Select(Number).ToArray() : StepSchedule.DefaultMilestones,
                Double("gamma", 0.1)),
            _ => throw new FormatException($"unknown learning-rate schedule '{kind}'; choose cosine, step or constant"),
        };
        var known = kind switch { "cosine" => new[] { "warmup", "final" }, "step" => ["milestones", "gamma"], _ => [] };
        foreach (var key in args.Keys)
            if (!known.Contains(key)) throw new FormatException($"'{text}': schedule '{kind}' has no setting '{key}'");
        try { result.Validate(); }
        catch (ArgumentException e) { throw new FormatException($"'{text}': {e.Message}", e); }
        return result;

        int Int(string key, int fallback) => args.TryGetValue(key, out var v)
            ? int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new FormatException($"'{text}': {key}={v} is not an integer")
            : fallback;
        double Double(string key, double fallback) => args.TryGetValue(key, out var v) ? Number(v) : fallback;
        double Number(string v) => double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d)
            ? d : throw new FormatException($"'{text}': '{v}' is not a number");
    }
}

/// <summary>The base learning rate throughout.</summary>
internal sealed record ConstantSchedule : LearningRateSchedule
{
    public override double Factor(long step, int stepsPerEpoch, int epochs) => 1;
    public override string ToString() => "constant";
}

/// <summary>
/// Linear warm-up from 1/(warm-up steps) to 1 over <paramref name="WarmupEpochs"/> epochs, then a
/// half cosine per step from 1 down to <paramref name="FinalFactor"/> at the end of the last epoch
/// (as torch's CosineAnnealingLR stepped per iteration).
/// </summary>
internal sealed record CosineSchedule(int WarmupEpochs = 0, double FinalFactor = 0) : LearningRateSchedule
{
    public override double Factor(long step, int stepsPerEpoch, int epochs)
    {
        long warmup = (long)Math.Min(WarmupEpochs, Math.Max(0, epochs - 1)) * stepsPerEpoch;
        if (step < warmup) return (step + 1) / (double)warmup;
        long total = Math.Max(1, (long)epochs * stepsPerEpoch - warmup);
        double t = Math.Clamp((step - warmup) / (double)total, 0, 1);
        return FinalFactor + (1 - FinalFactor) * 0.5 * (1 + Math.Cos(Math.PI * t));
    }

    public override void Validate()
    {
        if (WarmupEpochs < 0) throw new ArgumentException($"warm-up epochs must not be negative, got {WarmupEpochs}");
        if (!(FinalFactor >= 0 && FinalFactor <= 1)) throw new ArgumentException($"final factor must be in [0, 1], got {FinalFactor}");
    }

    public override string ToString()
    {
        var parts = new List<string>();
        if (WarmupEpochs > 0) parts.Add($"warmup={WarmupEpochs}");
        if (FinalFactor > 0) parts.Add($"final={SgdOptions.Fmt(FinalFactor)}");
        return parts.Count == 0 ? "cosine" : "cosine:" + string.Join(',', parts);
    }
}

/// <summary>
/// Multiplies the rate by <paramref name="Gamma"/> at each milestone, given as fractions of the
/// epochs (default 0.5 and 0.75: 0.1 → 0.01 → 0.001, the CIFAR ResNet recipe); changes take effect
/// at epoch boundaries.
/// </summary>
internal sealed record StepSchedule(IReadOnlyList<double> MilestoneFractions, double Gamma = 0.1) : LearningRateSchedule
{
    public static readonly double[] DefaultMilestones = [0.5, 0.75];

    public StepSchedule() : this(DefaultMilestones) { }

    public override double Factor(long step, int stepsPerEpoch, int epochs)
    {
        long epoch = step / Math.Max(1, stepsPerEpoch);
        double factor = 1;
        foreach (var f in MilestoneFractions)
            if (epoch >= (long)Math.Round(f * epochs, MidpointRounding.AwayFromZero)) factor *= Gamma;
        return factor;
    }

    public override void Validate()
    {
        if (!(Gamma > 0 && Gamma <= 1)) throw new ArgumentException($"gamma must be in (0, 1], got {Gamma}");
        foreach (var f in MilestoneFractions)
            if (!(f > 0 && f < 1)) throw new ArgumentException($"milestones are fractions of the epochs in (0, 1), got {f}");
    }

    public override string ToString() =>
        $"step:milestones={string.Join('/', MilestoneFractions.Select(SgdOptions.Fmt))},gamma={SgdOptions.Fmt(Gamma)}";

    public bool Equals(StepSchedule? other) => other is not null && Gamma == other.Gamma && MilestoneFractions.SequenceEqual(other.MilestoneFractions);
    public override int GetHashCode() => HashCode.Combine(Gamma, MilestoneFractions.Count);
}
