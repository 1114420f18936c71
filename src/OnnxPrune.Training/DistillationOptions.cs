using System.Globalization;
using OnnxPrune.IR;

namespace OnnxPrune.Training;

/// <summary>
/// Knowledge distillation while training (<see cref="TrainerOptions.Distillation"/>): every step
/// runs <see cref="Teacher"/> in ONNX Runtime on exactly the batch the student sees (augmented and
/// normalised), and the loss becomes (1 − w)·CE(labels) + w·T²·KL(softmax(teacher/T) ‖ softmax(student/T)).
/// The KL term is part of the training graph (<see cref="Autodiff.DistillationLoss"/>), so its
/// gradient comes from the same autodiff pass. Evaluation is unchanged.
/// </summary>
internal sealed record DistillationOptions
{
    /// <summary>Default <see cref="Temperature"/>: 4, the usual choice for 10–100 classes; it
    /// spreads a confident teacher's probability over the runner-up classes enough to carry
    /// their ranking without flattening it to uniform.</summary>
    public const double DefaultTemperature = 4;

    /// <summary>
    /// Default <see cref="Weight"/>: 0.5. In a pruning loop the teacher is the unpruned original,
    /// which is better than the student but not perfect: an equal share keeps the labels (which
    /// correct the teacher's mistakes) and the teacher's soft targets (which carry what the pruned
    /// layers knew) both in charge; with the T² factor the two terms' gradients are of the same order,
    /// so 0.5 is a balance rather than a guess of magnitudes.
    /// </summary>
    public const double DefaultWeight = 0.5;

    /// <summary>The teacher: a classifier taking the same images and giving logits (or a Softmax of
    /// them) of the same class count as the student. Not modified.</summary>
    public required Model Teacher { get; init; }

    /// <summary>T &gt; 0: both logits are divided by it before the softmax.</summary>
    public double Temperature { get; init; } = DefaultTemperature;

    /// <summary>w in [0, 1]: the soft term's share of the loss. 0 trains exactly as without
    /// distillation (the teacher is not run); 1 ignores the labels.</summary>
    public double Weight { get; init; } = DefaultWeight;

    /// <exception cref="ArgumentException">Temperature or weight out of range.</exception>
    public void Validate()
    {
        ArgumentNullException.ThrowIfNull(Teacher);
        if (!(Temperature > 0) || !double.IsFinite(Temperature)) throw new ArgumentException($"the distillation temperature must be a positive number, got {Fmt(Temperature)}");
        if (!(Weight >= 0 && Weight <= 1)) throw new ArgumentException($"the distillation weight must be in [0, 1], got {Fmt(Weight)}");
    }

    /// <summary>"T=4,weight=0.5", as written into an exported model's metadata.</summary>
    public override string ToString() => $"T={Fmt(Temperature)},weight={Fmt(Weight)}";

    private static string Fmt(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
