using OnnxPrune.Runtime;

namespace OnnxPrune.Autodiff;

/// <summary>
/// Hessian-vector products for second-order saliency, by central differences of gradients:
/// Hv ≈ (g(θ + εv) − g(θ − εv)) / (2ε). Two runs of the training graph; exact for a quadratic
/// loss up to rounding, O(ε²) otherwise.
/// </summary>
internal static class HessianVectorProduct
{
    /// <summary>ε = 1e-3 · (1 + ‖θ‖) / ‖v‖: a perturbation of about a thousandth of the
    /// parameters' size, large against float32 rounding, small against curvature changes.</summary>
    public static double DefaultStep(double thetaNorm, double directionNorm) =>
        directionNorm == 0 ? 0 : 1e-3 * (1 + thetaNorm) / directionNorm;

    /// <summary>
    /// Computes Hv for the loss of <paramref name="session"/>'s graph at parameters θ (given, or
    /// the starting values) on one batch of <paramref name="data"/>.
    /// </summary>
    /// <param name="direction">v per parameter name (same element count as the parameter);
    /// parameters not listed have v = 0.</param>
    /// <param name="step">ε; null for <see cref="DefaultStep"/> with the norms over all parameters.</param>
    /// <returns>Hv for every parameter, by name, and the ε used.</returns>
    /// <exception cref="ArgumentException">Unknown parameter, wrong length, or weights baked into the graph.</exception>
    public static (IReadOnlyDictionary<string, double[]> Product, double Step) Compute(GradientSession session,
        IReadOnlyDictionary<string, TensorData> data, IReadOnlyDictionary<string, double[]> direction,
        IReadOnlyDictionary<string, TensorData>? parameters = null, double? step = null)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(direction);
        var graph = session.Graph;
        if (!graph.WeightsAreInputs)
            throw new ArgumentException("Hessian-vector products need the parameters as graph inputs (GradientOptions.WeightsAsInputs)");
        var theta = new Dictionary<string, double[]>(StringComparer.Ordinal);
        foreach (var p in graph.Parameters)
        {
            var current = parameters is not null && parameters.TryGetValue(p.Name, out var given) ? given : session.InitialParameters[p.Name];
            theta[p.Name] = TensorConvert.ToDoubles(current);
        }
        foreach (var (name, v) in direction)
        {
            if (!theta.TryGetValue(name, out var t)) throw new ArgumentException($"the training graph has no parameter '{name}'", nameof(direction));
            if (t.Length != v.Length) throw new ArgumentException($"direction for '{name}' has {v.Length} elements, the parameter {t.Length}", nameof(direction));
        }
        double thetaNorm = Math.Sqrt(theta.Values.Sum(SquaredNorm));
        double directionNorm = Math.Sqrt(direction.Values.Sum(SquaredNorm));
        double epsilon = step ?? DefaultStep(thetaNorm, directionNorm);
        var product = new Dictionary<string, double[]>(StringComparer.Ordinal);
        if (epsilon == 0)
        {
            foreach (var p in graph.Parameters) product[p.Name] = new double[theta[p.Name].Length];
            return (product, 0);
        }

        IReadOnlyDictionary<string, TensorData> Shifted(double sign)
        {
            var feeds = new Dictionary<string, TensorData>(StringComparer.Ordinal);
            foreach (var p in graph.Parameters)
            {
                var values = theta[p.Name];
                if (direction.TryGetValue(p.Name, out var v))
                {
                    values = (double[])values.Clone();
                    for (int i = 0; i < values.Length; i++) values[i] += sign * epsilon * v[i];
                }
                feeds[p.Name] = TensorConvert.FromDoubles(p.ElementType, values, p.Dims);
            }
            return feeds;
        }

        var plus = session.Evaluate(data, Shifted(+1));
        var minus = session.Evaluate(data, Shifted(-1));
        foreach (var p in graph.Parameters)
        {
            var gp = TensorConvert.ToDoubles(plus.Gradients[p.Name]);
            var gm = TensorConvert.ToDoubles(minus.Gradients[p.Name]);
            var hv = new double[gp.Length];
            for (int i = 0; i < hv.Length; i++) hv[i] = (gp[i] - gm[i]) / (2 * epsilon);
            product[p.Name] = hv;
        }
        return (product, epsilon);
    }

    private static double SquaredNorm(double[] v)
    {
        double s = 0;
        foreach (var x in v) s += x * x;
        return s;
    }
}
