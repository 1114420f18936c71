using OnnxPrune.Pruning.Policy.Cie;

namespace OnnxPrune.Pruning.Policy;

internal sealed partial class AllocationPlanner
{
    /// <summary>The sensitivity grid <see cref="Allocation.Cie"/> allocates from (required for it).</summary>
    public ContributionMatrix? Contributions { get; init; }

    private ContributionMatrix Matrix => Contributions ?? throw new InvalidOperationException("--allocation cie needs its contribution matrix (the sensitivity grid)");

    /// <summary>Each group gives up floor(rho_l(tau) channels) of its lowest-scored channels, within the constraints.</summary>
    private List<int> SelectByCie(double tau)
    {
        var removed = new List<int>();
        foreach (var (group, order, _) in _ranked)
            removed.AddRange(order.Take(Constrain(group, (int)Math.Floor(Matrix.RatioAt(group.Key, tau) * group.ChannelCount + 1e-9))));
        return removed;
    }
}
