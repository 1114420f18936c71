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
    /// <summary>Float32 finite-difference steps, tried in turn: a large step suffers when it
    /// crosses a kink (Relu, Clip, MaxPool), a small one from rounding; a correct gradient agrees
    /// at some step, a wrong one at none.</summary>
    private static readonly double[] FloatSteps = [1e-2, 3e-3, 1e-3];

    public static readonly SessionSettings Settings = new() { IntraOpThreads = 1 };

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
        var steps = step is { } h0 ? [h0] : isFloat ? FloatSteps : [1e-5];
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

                double LossAt(double shift)
                {
                    var parameters = new Dictionary<string, TensorData>();
                    var feeds = new Dictionary<string, TensorData>(data);
                    var shifted = e.Theta.Select((t, i) => t + shift * v[i]).ToArray();
                    var tensor = TensorConvert.FromDoubles(e.Type, shifted, e.Dims);
                    if (e.IsInput) feeds[e.Name] = tensor; else parameters[e.Name] = tensor;
                    return session.Evaluate(feeds, parameters).Loss;
                }
                // Relative error; the floor keeps a direction almost orthogonal to the gradient
                // from turning rounding noise into a failure.
                double floor = Math.Max(1e-3 * gradientNorm, 1e-12);
                double best = double.MaxValue, bestNumeric = 0;
                foreach (var h in steps)
                {
                    double numeric = (LossAt(h) - LossAt(-h)) / (2 * h);
                    double error = Math.Abs(analytic - numeric) / Math.Max(Math.Max(Math.Abs(analytic), Math.Abs(numeric)), floor);
                    if (error < best) (best, bestNumeric) = (error, numeric);
                    if (best <= tolerance) break;
                }
                worst = Math.Max(worst, best);
                best.Should().BeLessThanOrEqualTo(tolerance,
                    $"'{e.Name}' direction {d}: analytic {analytic:G9} vs finite difference {bestNumeric:G9} (loss {evaluation.Loss:G9})");
            }
        }
        return worst;
    }

    /// <summary>
    /// For large models: directions over all parameters at once, half along the gradient and half
    /// random (so the directional derivative stands well above float32 rounding while a wrong
    /// gradient still shows); it must match the central finite difference of the loss.
    /// </summary>
    public static double VerifyJoint(GradientSession session, IReadOnlyDictionary<string, TensorData> data, double tolerance,
        int directions = 2, int seed = 13)
    {
        var graph = session.Graph;
        var evaluation = session.Evaluate(data);
        var theta = graph.Parameters.Select(p => TensorConvert.ToDoubles(session.InitialParameters[p.Name])).ToList();
        var grads = graph.Parameters.Select(p => TensorConvert.ToDoubles(evaluation.Gradients[p.Name])).ToList();
        var rng = new Random(seed);
        double worst = 0;
        for (int d = 0; d < directions; d++)
        {
            var random = theta.Select(t => t.Select(_ => Gaussian(rng)).ToArray()).ToList();
            double randomNorm = Math.Sqrt(random.Sum(a => a.Sum(x => x * x)));
            double gradNorm = Math.Sqrt(grads.Sum(a => a.Sum(x => x * x)));
            var v = random.Select((a, k) => a.Select((x, i) => x / randomNorm + grads[k][i] / gradNorm).ToArray()).ToList();
            double norm = Math.Sqrt(v.Sum(a => a.Sum(x => x * x)));
            double analytic = 0;
            for (int k = 0; k < v.Count; k++)
                for (int i = 0; i < v[k].Length; i++)
                {
                    v[k][i] /= norm;
                    analytic += grads[k][i] * v[k][i];
                }
            double LossAt(double shift)
            {
                var parameters = new Dictionary<string, TensorData>();
                for (int k = 0; k < v.Count; k++)
                {
                    var p = graph.Parameters[k];
                    parameters[p.Name] = TensorConvert.FromDoubles(p.ElementType, theta[k].Select((t, i) => t + shift * v[k][i]).ToArray(), p.Dims);
                }
                return session.Evaluate(data, parameters).Loss;
            }
            double best = double.MaxValue, bestNumeric = 0;
            // Deep Relu networks have kinks everywhere: smaller steps too (the gradient-aligned
            // direction keeps the derivative far above rounding).
            foreach (var h in FloatSteps.Append(3e-4).Append(1e-4))
            {
                double numeric = (LossAt(+h) - LossAt(-h)) / (2 * h);
                double error = Math.Abs(analytic - numeric) / Math.Max(Math.Abs(analytic), Math.Abs(numeric));
                if (error < best) (best, bestNumeric) = (error, numeric);
                if (best <= tolerance) break;
            }
            worst = Math.Max(worst, best);
            best.Should().BeLessThanOrEqualTo(tolerance, $"direction {d}: analytic {analytic:G9} vs finite difference {bestNumeric:G9} (loss {evaluation.Loss:G9})");
        }
        return worst;
    }

    /// <summary>
    /// Checks <paramref name="y"/> under the loss Σ y·R for a random constant R: linear in y, so
    /// the output gradient is a random tensor and float32 finite differences stay well above
    /// rounding noise.
    /// </summary>
    public static double VerifyProjected(TestNet net, Value y, double tolerance, string[] trainable, string[] inputs,
        Func<GradientOptions, GradientOptions>? configure = null)
    {
        var model = net.Finish(y);
        var loss = AppendProjectionLoss(model, y, seed: 17);
        var options = new GradientOptions { Loss = new ExistingLoss(loss), Trainable = trainable };
        return Verify(model, net.Data, configure?.Invoke(options) ?? options, tolerance, inputs);
    }

    /// <summary>Adds the output "projection_loss" = Σ y·R (R random normal), accumulated in float64
    /// so the loss adds no rounding of its own to finite differences. Works at any opset.</summary>
    public static string AppendProjectionLoss(Model model, Value y, int seed)
    {
        var graph = model.Graph;
        var dims = ConvGradientTests.OutputDims(model, y);
        var rng = new Random(seed);
        var r = new double[TestNet.Count(dims)];
        for (int i = 0; i < r.Length; i++) r[i] = Gaussian(rng);
        var projection = graph.AddInitializer(new Value("projection") { ConstValue = DenseTensor.FromDoubles(DataType.Double, dims, r) });
        var wide = graph.AddNode(new Node("", "Cast", [y], ["projection_input"], [OnnxPrune.IR.Attribute.Int("to", (long)DataType.Double)], "projection_cast")).Outputs[0];
        var product = graph.AddNode(new Node("", "Mul", [wide, projection], ["projection_product"], name: "projection_mul")).Outputs[0];
        var loss = graph.AddNode(new Node("", "ReduceSum", [product], ["projection_loss"], [OnnxPrune.IR.Attribute.Int("keepdims", 0)], "projection_sum")).Outputs[0];
        loss.ElementType = DataType.Double;
        graph.AddOutput(loss);
        return loss.Name;
    }

    private static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>MSE against a random "target" input, no parameters beyond those listed.</summary>
    public static GradientOptions Mse(params string[] trainable) =>
        new() { Loss = new MeanSquaredErrorLoss(), Trainable = trainable };
}
