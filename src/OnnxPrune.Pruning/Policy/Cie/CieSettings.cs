namespace OnnxPrune.Pruning.Policy.Cie;

/// <summary>This run computes only cells whose index modulo <see cref="Count"/> is <see cref="Index"/> - 1 (`--shard I/N`).</summary>
internal sealed record Shard(int Index, int Count)
{
    public bool Owns(int cell) => cell % Count == Index - 1;

    /// <summary>Parses "I/N" with 1 &lt;= I &lt;= N.</summary>
    public static Shard Parse(string text)
    {
        var parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var i) || !int.TryParse(parts[1], out var n) || n < 1 || i < 1 || i > n)
            throw new ArgumentException($"--shard '{text}': write I/N with 1 <= I <= N (for example 2/4)");
        return new Shard(i, n);
    }
}

/// <summary>Settings of `--allocation cie` (METHODS.md §4).</summary>
internal sealed record CieSettings
{
    /// <summary>The grid's ratios (`--cie-grid 0.1:0.9:0.1`).</summary>
    public IReadOnlyList<double> Ratios { get; init; } = ContributionMatrix.ParseGrid("0.1:0.9:0.1");

    /// <summary>Held-out images each cell is evaluated on (not the images the criterion or recovery use).</summary>
    public Criteria.CalibrationSet? Evaluation { get; init; }

    /// <summary>Cells evaluated at once; each worker runs its own ONNX Runtime session.</summary>
    public int Workers { get; init; } = 1;

    /// <summary>Intra-op threads over all workers together (each gets Threads / Workers, at least 1), so the grid does not oversubscribe the cores.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>Folder of the on-disk cache of grid cells (null: no cache).</summary>
    public string? CacheDirectory { get; init; }

    /// <summary>Compute only this share of the cells into the cache (null: all of them, then allocate).</summary>
    public Shard? Shard { get; init; }

    /// <summary>Stops the grid between cells; the cells finished are already in the cache.</summary>
    public CancellationToken Cancel { get; init; }
}

/// <summary>What one grid computation did: the matrix (null for a shard run), cells computed now, cells read from the cache.</summary>
internal sealed record GridOutcome(ContributionMatrix? Matrix, int Computed, int Cached, int Cells, string Metric, double Baseline, TimeSpan Time);
