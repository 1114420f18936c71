using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Runtime;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>
/// Checks a training graph against ONNX Runtime itself: along random unit directions over the
/// parameters (and chosen data inputs), the directional derivative from the gradient outputs
/// must match the central finite difference of the loss that ORT computes.
/// </summary>
internal static class GradientCheck
{
    public static SessionSettings Settings = new() { IntraOpThreads = 1 };

    public static OrtRuntime Runtime => OrtTestLibrary.Runtime;

    /// <param name="inputs">Data inputs to differentiate with respect to (through
    /// <see cref="GradientOptions.ValueGradients"/>) in addition to the parameters.</param>
    /// <returns>The largest relative error seen.</returns>
    public static double Verify(Model model, IReadOnlyDictionary<string, TensorData> data, GradientOptions options,
        double tolerance, string[]? inputs = null, int directions = 3, int seed = 11, double? step = null)
    {
        inputs ??= Array.Empty<string>();
        var graph = GradientBuilder.Build(model, options with { ValueGradients = options.ValueGradients.Concat(inputs).ToArray() });
        using var session = new GradientSession(graph, Settings, Runtime);
        var evaluation = session.Evaluate(data, allOutputs: true);

        // Flatten everything being checked into (name, is-input, values, gradient, type, dims).
        var entries = new List<(string Name, bool IsInput, double[] Theta, double[] Grad, DataType Type, long[] Dims)>();
        foreach (var p in graph.Parameters)
            entries.Add((p.Name, false, TensorConvert.ToDoubles(session.InitialParameters[p.Name]),
                TensorConvert.ToDoubles(evaluation.Gradients[p.Name]), p.ElementType, p.Dims));
        foreach (var name in inputs)
        {
            var grad = evaluation.Outputs[graph.ValueGradientOutputs[name]];
            entries.Add((name, true, TensorConvert.ToDoubles(data[name]), TensorConvert.ToDoubles(grad), data[name].ElementType, data[name].Dims.ToArray()));
        }
        entries.Should().NotBeEmpty("something must be differentiated");
        foreach (var e in entries) e.Theta.Length.Should().Be(e.Grad.Length, $"the gradient of '{e.Name}' has the parameter's size");

        bool isFloat = entries.Any(e => e.Type == DataType.Float);
        double h = step ?? (isFloat ? 1e-2 : 1e-5);
        var rng = new Random(seed);
        double worst = 0;
        // Directions restricted to one tensor at a time, so every gradient is checked on its own.
        for (int k = 0; k < entries.Count; k++)
        {
            var e = entries[k];
            double gradientNorm = Math.Sqrt(e.Grad.Sum(g => g * g));
            for (int d = 0; d < directions; d++)
            {
                var v = Enumerable.Range(0, e.Theta.Length).Select(_ => Gaussian(rng)).ToArray();
                double norm = Math.Sqrt(v.Sum(x => x * x));
                for (int i = 0; i < v.Length; i++) v[i] /= norm;
                double analytic = 0;
                for (int i = 0; i < v.Length; i++) analytic += e.Grad[i] * v[i];

                double LossAt(double sign)
                {
                    var parameters = new Dictionary<string, TensorData>();
                    var feeds = new Dictionary<string, TensorData>(data);
                    var shifted = e.Theta.Select((t, i) => t + sign * h * v[i]).ToArray();
                    var tensor = TensorConvert.FromDoubles(e.Type, shifted, e.Dims);
                    if (e.IsInput) feeds[e.Name] = tensor; else parameters[e.Name] = tensor;
                    return session.Evaluate(feeds, parameters).Loss;
                }
                double numeric = (LossAt(+1) - LossAt(-1)) / (2 * h);
                // Relative error; the floor keeps a direction almost orthogonal to the gradient
                // from turning rounding noise into a failure.
                double floor = Math.Max(1e-3 * gradientNorm, 1e-12);
                double error = Math.Abs(analytic - numeric) / Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), floor);
                worst = Math.Max(worst, error);
                error.Should().BeLessThanOrEqualTo(tolerance,
                    $"'{e.Name}' direction {d}: analytic {analytic:G9} vs finite difference {numeric:G9} (loss {evaluation.Loss:G9})");
            }
        }
        return worst;
    }

    /// <summary>
    /// For large models: random unit directions over all parameters at once (not one tensor at a
    /// time); the directional derivative must match the central finite difference of the loss.
    /// </summary>
    public static double VerifyJoint(GradientSession session, IReadOnlyDictionary<string, TensorData> data, double tolerance,
        int directions = 2, int seed = 13, double step = 1e-2)
    {
        var graph = session.Graph;
        var evaluation = session.Evaluate(data);
        var theta = graph.Parameters.Select(p => TensorConvert.ToDoubles(session.InitialParameters[p.Name])).ToList();
        var grads = graph.Parameters.Select(p => TensorConvert.ToDoubles(evaluation.Gradients[p.Name])).ToList();
        var rng = new Random(seed);
        double worst = 0;
        for (int d = 0; d < directions; d++)
        {
            var v = theta.Select(t => t.Select(_ => Gaussian(rng)).ToArray()).ToList();
            double norm = Math.Sqrt(v.Sum(a => a.Sum(x => x * x)));
            double analytic = 0;
            for (int k = 0; k < v.Count; k++)
                for (int i = 0; i < v[k].Length; i++)
                {
                    v[k][i] /= norm;
                    analytic += grads[k][i] * v[k][i];
                }
            double LossAt(double sign)
            {
                var parameters = new Dictionary<string, TensorData>();
                for (int k = 0; k < v.Count; k++)
                {
                    var p = graph.Parameters[k];
                    parameters[p.Name] = TensorConvert.FromDoubles(p.ElementType, theta[k].Select((t, i) => t + sign * step * v[k][i]).ToArray(), p.Dims);
                }
                return session.Evaluate(data, parameters).Loss;
            }
            double numeric = (LossAt(+1) - LossAt(-1)) / (2 * step);
            double error = Math.Abs(analytic - numeric) / Math.Max(Math.Abs(analytic), Math.Abs(numeric));
            worst = Math.Max(worst, error);
            error.Should().BeLessThanOrEqualTo(tolerance, $"direction {d}: analytic {analytic:G9} vs finite difference {numeric:G9} (loss {evaluation.Loss:G9})");
        }
        return worst;
    }

    /// <summary>
    /// Checks <paramref name="y"/> under the loss Σ y·R for a random constant R: linear in y, so
    /// the output gradient is a random tensor and float32 finite differences stay well above
    /// rounding noise.
    /// </summary>
    public static double VerifyProjected(TestNet net, Value y, double tolerance, string[] trainable, string[] inputs)
    {
        var model = net.Finish(y);
        var dims = ConvGradientTests.OutputDims(model, y);
        var projection = net.Weight("projection", dims, 1);
        var loss = net.Op("ReduceSum", [net.Op("Mul", [y, projection])], OnnxPrune.IR.Attribute.Int("keepdims", 0));
        loss.ElementType = net.Type;
        net.Graph.AddOutput(loss);
        return Verify(model, net.Data, new GradientOptions { Loss = new ExistingLoss(loss.Name), Trainable = trainable }, tolerance, inputs);
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>MSE against a random "target" input, no parameters beyond those listed.</summary>
    public static GradientOptions Mse(params string[] trainable) =>
        new() { Loss = new MeanSquaredErrorLoss(), Trainable = trainable };
}
