namespace OnnxPrune.Pruning.Policy.Pqi;

/// <summary>
/// The PQ Index of Diao et al. (ICLR 2023, arXiv 2302.05601; METHODS.md §3), applied to structures: the vector
/// w holds one entry per channel (its criterion score, a norm for l1/l2), within one group or over the model.
/// I(w) = 1 - d^(1/q - 1/p) ||w||_p / ||w||_q, 0 &lt; p &lt; q: 0 when every entry is equal (dense), approaching
/// 1 - d^(1/q - 1/p) when one entry holds everything (most compressible).
/// </summary>
internal static class PqIndex
{
    /// <summary>I(w) over the magnitudes of <paramref name="w"/>; 0 for an empty or all-zero vector (nothing to tell apart).</summary>
    public static double Index(IReadOnlyList<double> w, double p, double q)
    {
        Check(p, q);
        int d = w.Count;
        if (d == 0) return 0;
        double lp = Norm(w, p), lq = Norm(w, q);
        if (!(lq > 0)) return 0;
        return 1 - Math.Pow(d, 1 / q - 1 / p) * lp / lq;
    }

    /// <summary>The largest index a vector of <paramref name="d"/> entries can have: a one-hot vector's.</summary>
    public static double Maximum(int d, double p, double q) => 1 - Math.Pow(d, 1 / q - 1 / p);

    /// <summary>
    /// Entries to keep: r = d (1 + eta)^(-q/(q-p)) (1 - I)^(qp/(q-p)). With eta = 0 and I = 0 (dense) it keeps
    /// all d; the more compressible the vector, the fewer.
    /// </summary>
    public static double RetainedCount(int d, double index, double p, double q, double eta)
    {
        Check(p, q);
        if (eta <= -1) throw new ArgumentOutOfRangeException(nameof(eta), "eta must be above -1");
        double keep = d * Math.Pow(1 + eta, -q / (q - p)) * Math.Pow(Math.Max(0, 1 - index), q * p / (q - p));
        return Math.Min(d, keep);
    }

    /// <summary>Entries to prune this iteration: c = floor(d min(gamma (1 - r/d), beta)), never negative.</summary>
    public static int PruneCount(int d, double retained, double gamma, double beta)
    {
        if (d == 0) return 0;
        double share = Math.Min(gamma * (1 - retained / d), beta);
        return Math.Max(0, (int)Math.Floor(d * share + 1e-9));
    }

    /// <summary>||w||_p = (sum |w_i|^p)^(1/p) (a quasi-norm for p &lt; 1).</summary>
    private static double Norm(IReadOnlyList<double> w, double p)
    {
        // Scale by the largest magnitude first: p = 0.5 over large norms would otherwise lose digits.
        double max = 0;
        foreach (var x in w) max = Math.Max(max, Math.Abs(x));
        if (max == 0) return 0;
        double sum = 0;
        foreach (var x in w) sum += Math.Pow(Math.Abs(x) / max, p);
        return max * Math.Pow(sum, 1 / p);
    }

    private static void Check(double p, double q)
    {
        if (!(p > 0 && q > p)) throw new ArgumentOutOfRangeException(nameof(p), $"the PQ Index needs 0 < p < q (got p = {p}, q = {q})");
    }
}
