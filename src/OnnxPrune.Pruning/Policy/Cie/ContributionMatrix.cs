namespace OnnxPrune.Pruning.Policy.Cie;

/// <summary>
/// CIE's contribution matrix (METHODS.md §4): C[l, j] = what the model loses (baseline accuracy minus accuracy, in
/// points, or the KL divergence to the original's outputs) when only group l is pruned at ratio rho_j. A scalar tau
/// picks each group's ratio: the largest rho whose loss, read off the piecewise-linear curve through (0, 0) and the
/// grid points, is at most tau. The set {rho : C(rho) &lt;= tau} only grows with tau, so the allocation is monotone
/// in tau and a binary search on tau finds the least pruning that meets a target.
/// </summary>
internal sealed class ContributionMatrix
{
    private readonly Dictionary<string, double[]> _rows;

    /// <param name="ratios">The grid, ascending, each in (0, 1).</param>
    /// <param name="rows">Per group key, C at each ratio of the grid.</param>
    public ContributionMatrix(IReadOnlyList<double> ratios, IReadOnlyDictionary<string, double[]> rows)
    {
        if (ratios.Count == 0) throw new ArgumentException("the grid has no ratios", nameof(ratios));
        for (int j = 0; j < ratios.Count; j++)
            if (!(ratios[j] > 0 && ratios[j] < 1) || (j > 0 && ratios[j] <= ratios[j - 1]))
                throw new ArgumentException("grid ratios must ascend strictly within (0, 1)", nameof(ratios));
        foreach (var (key, row) in rows)
            if (row.Length != ratios.Count) throw new ArgumentException($"row '{key}' has {row.Length} values for {ratios.Count} ratios", nameof(rows));
        Ratios = ratios.ToArray();
        _rows = rows.ToDictionary(r => r.Key, r => r.Value.ToArray(), StringComparer.Ordinal);
    }

    public IReadOnlyList<double> Ratios { get; }
    public IReadOnlyDictionary<string, double[]> Rows => _rows;

    /// <summary>The smallest and largest value of C, with 0 (the unpruned point) included.</summary>
    public (double Min, double Max) Range()
    {
        var all = _rows.Values.SelectMany(r => r).Append(0.0).ToList();
        return (all.Min(), all.Max());
    }

    /// <summary>The ratio group <paramref name="key"/> takes at <paramref name="tau"/> (0 for a group not in the grid).</summary>
    public double RatioAt(string key, double tau) => _rows.TryGetValue(key, out var row) ? RatioAt(Ratios, row, tau) : 0;

    /// <summary>sup { rho : C(rho) &lt;= tau } on the curve through (0, 0) and (ratios[j], row[j]), linear between points.</summary>
    public static double RatioAt(IReadOnlyList<double> ratios, IReadOnlyList<double> row, double tau)
    {
        // Walk the segments from the widest ratio down: the first one that reaches tau holds the supremum.
        for (int j = ratios.Count - 1; j >= 0; j--)
        {
            if (row[j] <= tau) return ratios[j];
            double x0 = j == 0 ? 0 : ratios[j - 1], y0 = j == 0 ? 0 : row[j - 1];
            if (y0 <= tau) return x0 + (tau - y0) / (row[j] - y0) * (ratios[j] - x0);
        }
        return 0;
    }

    /// <summary>Parses "lo:hi:step" (0.1:0.9:0.1) into the grid's ratios.</summary>
    public static double[] ParseGrid(string text)
    {
        var parts = text.Split(':');
        var ci = System.Globalization.CultureInfo.InvariantCulture;
        if (parts.Length != 3 || !double.TryParse(parts[0], ci, out var lo) || !double.TryParse(parts[1], ci, out var hi) || !double.TryParse(parts[2], ci, out var step)
            || !(lo > 0) || !(hi < 1) || !(hi >= lo) || !(step > 0))
            throw new ArgumentException($"--cie-grid '{text}': write lo:hi:step with 0 < lo <= hi < 1 and step > 0 (for example 0.1:0.9:0.1)");
        var ratios = new List<double>();
        for (int k = 0; lo + k * step <= hi + 1e-9; k++) ratios.Add(Math.Round(lo + k * step, 6));
        return ratios.ToArray();
    }
}
