namespace OnnxPrune.Pruning.Policy.Pqi;

/// <summary>Where the PQ Index is taken: over each group's channels (each layer prunes its own c), or over every
/// prunable channel of the model at once (one c, the lowest scores model-wide, normalised per group).</summary>
internal enum PqiScope { Layer, Global }

/// <summary>Settings of `--allocation pqi` (METHODS.md §3; paper defaults p = 0.5, q = 1, eta = 0, gamma = 1, beta = 0.9).</summary>
internal sealed record PqiSettings
{
    public double P { get; init; } = 0.5;
    public double Q { get; init; } = 1;
    public double Eta { get; init; }
    public double Gamma { get; init; } = 1;
    public double Beta { get; init; } = 0.9;
    public PqiScope Scope { get; init; } = PqiScope.Layer;

    /// <summary>Stop iterating when the model's index rises again after falling (the paper's sign that compressibility has run out).</summary>
    public bool StopWhenRising { get; init; }

    /// <summary>At most this many prune iterations (each removes at most beta of what is left).</summary>
    public int MaxIterations { get; init; } = 20;
}
