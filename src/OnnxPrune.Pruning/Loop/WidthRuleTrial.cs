using OnnxPrune.Pruning.Latency;
using OnnxPrune.Pruning.Pipeline;
using OnnxPrune.Pruning.Policy;

namespace OnnxPrune.Pruning.Loop;

/// <summary>
/// The width rule of one round's latency attempts. The per-layer tables time a layer alone, where a width below ONNX
/// Runtime's channel block costs no conversion out of its blocked layout; inside the network that narrow output is
/// converted back to plain NCHW for the next layer, so after a miss with such widths a tighter budget only narrows more
/// layers (data-free ResNet-56 at 60% of its latency went to 3% of its MACs and still missed). Such a miss switches the
/// round to whole multiples (<see cref="GroupConstraints.Coarser"/>), with the tables' correction reset; the round goes
/// back to the requested rule, with the narrow attempts' correction, when whole multiples measure no better, can remove
/// no more, or cannot prune the model at all (on regnet_y_400mf the most multiples of 16 could remove measured worse
/// than a narrow miss that a tighter narrow plan then met). One switch per round.
/// </summary>
internal sealed class WidthRuleTrial(GroupConstraints requested)
{
    private List<LatencyAnchor>? _narrowAnchors;
    private double? _narrowFraction;

    /// <summary>The rule the next attempt plans with.</summary>
    public GroupConstraints Current { get; private set; } = requested;

    /// <summary>Whether the round is trying whole multiples now.</summary>
    public bool OnWholeMultiples => Current != requested;

    /// <summary>Attempts the round gets beyond its own: the attempt in whole multiples is an experiment on the width rule,
    /// not a step of the search, so a switch adds one.</summary>
    public int ExtraAttempts => _narrowAnchors is null ? 0 : 1;

    /// <summary>The groups a missed attempt narrowed below the multiple, when that miss switches the round to whole
    /// multiples (empty otherwise: no miss, no narrow group, or the round switched already).</summary>
    public List<GroupOutcome> NarrowMiss(DataFreePruneResult result, bool latencyMiss) =>
        _narrowAnchors is null && latencyMiss && Current.SmallStep < Current.RoundTo ? LatencyGuardedPruner.NarrowGroups(result, Current) : [];

    /// <summary>Why a missed attempt in whole multiples hands the round back to the requested rule (for <see cref="GoBack"/>),
    /// or null when it does not.</summary>
    public string? WhyGoBack(bool latencyMiss, double? fraction, bool removedAllItCould) =>
        !OnWholeMultiples || !latencyMiss ? null
        : fraction >= _narrowFraction ? $"measured no better than the narrow widths ({100 * _narrowFraction:0.0}%)"
        : removedAllItCould ? "can remove no more"
        : null;

    /// <summary>Switches to whole multiples after the narrow miss measured at <paramref name="fraction"/>; keeps the
    /// round's corrections for a way back and clears them. Returns what the attempt's note says.</summary>
    public string SwitchToWholeMultiples(List<GroupOutcome> narrow, double? fraction, List<LatencyAnchor> anchors)
    {
        var note = $"widths below {Current.RoundTo} in {narrow.Count} group(s) ({LatencyGuardedPruner.Describe(narrow)}): " +
                   $"the next plans keep {Current.Coarser().Describe()}, with the tables uncorrected";
        Current = Current.Coarser();
        (_narrowAnchors, _narrowFraction) = (anchors.ToList(), fraction);
        anchors.Clear();
        return note;
    }

    /// <summary>Back to the requested rule with the narrow attempts' corrections. Returns what the note says.</summary>
    public string GoBack(string why, List<LatencyAnchor> anchors)
    {
        var note = $"{Current.Describe()} {why}: the next plans go back to {requested.Describe()}, corrected by the narrow attempts' measurements";
        Current = requested;
        anchors.Clear();
        anchors.AddRange(_narrowAnchors!);
        return note;
    }
}
