using OnnxPrune.IR;

namespace OnnxPrune.Pruning.Channels;

/// <summary>
/// A value whose axis <see cref="Axis"/> carries prunable channels: position j of that axis
/// belongs to unit <c>Units[j]</c> (-1 for a position no unit owns, which is never removed).
/// After Flatten into features, one channel owns a block of consecutive positions.
/// </summary>
/// <param name="MayBeNonZero">True when a removed channel may carry a non-zero value here even
/// after its weights are zeroed (Sigmoid(0) = 0.5, a scalar added). Consumers of such a carrier
/// cannot drop the channel without changing their result, so they pin it.</param>
internal sealed record Carrier(Value Value, int Axis, int[] Units, bool MayBeNonZero)
{
    public int Length => Units.Length;
}

/// <summary>What a bound tensor slice is to its unit; criteria score <see cref="Producer"/>
/// slices, the exactness test zeroes <see cref="Producer"/> and <see cref="PerChannel"/> slices.</summary>
internal enum ParamRole
{
    /// <summary>The filter (and bias) that computes the channel.</summary>
    Producer,
    /// <summary>The input slice of a layer that reads the channel.</summary>
    Consumer,
    /// <summary>Per-channel parameters on the way: BatchNorm, PRelu slopes, per-channel constants.</summary>
    PerChannel,
    /// <summary>Running statistics (BatchNorm mean and variance): sliced, never zeroed or scored.</summary>
    Statistic,
    /// <summary>A per-channel divisor (x / d): sliced, never zeroed (a zeroed channel over a zeroed
    /// divisor is 0/0 = NaN, over the kept one it stays 0) or scored.</summary>
    Divisor,
}

/// <summary>
/// Axis <see cref="Axis"/> of the tensor at input <see cref="InputIndex"/> of <see cref="Node"/>
/// is indexed by units: index i belongs to unit <c>IndexUnits[i]</c> (-1: kept always).
/// </summary>
internal sealed record ParamBinding(Node Node, int InputIndex, int Axis, int[] IndexUnits, ParamRole Role);
