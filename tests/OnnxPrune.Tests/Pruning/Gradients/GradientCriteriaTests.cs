using OnnxPrune.IR;
using OnnxPrune.Pruning.Channels;
using OnnxPrune.Pruning.Criteria;
using OnnxPrune.Runtime;
using OnnxPrune.Tests.Autodiff;
using OnnxPrune.Training;
using OnnxPrune.Training.Data;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Pruning.Gradients;

/// <summary>
/// Taylor and SOSP-H saliency against independent measurements: the score of a channel is |θ_sᵀg|, the size
/// of the loss's derivative along the channel's own parameters, which a central difference of the
/// loss (measured by ONNX Runtime on the model with those parameters scaled by 1 ± ε) gives
/// without any gradient graph.
/// </summary>
public class GradientCriteriaTests
{
    private const int Images = 24, Classes = 3;

    /// <summary>x (N,2,5,5) -> Conv 3x3 pad 1 (4 filters, bias) -> Relu -> Conv 1x1 (3 filters) ->
    /// GlobalAveragePool -> Flatten: logits (N,3). The first conv's 4 channels are one group.</summary>
    private static (Model Model, Dataset Data) Net()
    {
        var net = new TestNet(DataType.Float, seed: 3);
        var x = net.Input("x", [Images, 2, 5, 5]);
        var w1 = net.Weight("w1", [4, 2, 3, 3], scale: 0.6);
        var b1 = net.Weight("b1", [4], scale: 0.3);
        var w2 = net.Weight("w2", [Classes, 4, 1, 1], scale: 0.8);
        var h = net.Op("Relu", [net.Op("Conv", [x, w1, b1], Attribute.Ints("pads", [1, 1, 1, 1]))]);
        var logits = net.Op("Flatten", [net.Op("GlobalAveragePool", [net.Op("Conv", [h, w2])])]);
        var model = net.Finish(logits);
        var random = new Random(11);
        var labels = Enumerable.Range(0, Images).Select(_ => (long)random.Next(Classes)).ToArray();
        var data = new Dataset(net.Data["x"].As<float>(), labels, 2, 5, 5, Classes, "random images");
        // The images are the calibration set: x is fed by the criterion, not kept as the net's data.
        return (model, data);
    }

    [Fact]
    public void Each_channel_scores_the_loss_derivative_along_its_own_parameters()
    {
        var (model, data) = Net();
        var analysis = ChannelAnalysis.Run(model);
        var group = analysis.Groups.Single(g => g.Producers.Any(p => p.Inputs[1]!.Name == "w1"));
        group.ChannelCount.Should().Be(4);
        var scores = new TaylorCriterion(new CalibrationSet(data, HasLabels: true), new SessionSettings { IntraOpThreads = 1 }, batchSize: 10)
            .Score(analysis);

        var largest = 0.0;
        for (int c = 0; c < 4; c++)
        {
            // Channel c's parameters: its filter w1[c] and bias b1[c], and the next conv's input slice w2[:, c].
            const double eps = 1e-2;
            double Loss(double scale) => LossWith(model, data, c, scale);
            var derivative = (Loss(1 + eps) - Loss(1 - eps)) / (2 * eps);
            var unit = group.Units[c];
            scores[unit].Should().BeApproximately(Math.Abs(derivative), 0.02 * Math.Abs(derivative) + 2e-5, $"channel {c}");
            largest = Math.Max(largest, Math.Abs(derivative));
        }
        largest.Should().BeGreaterThan(1e-3, "the check compares derivatives well above the difference's rounding");
        scores.Values.Distinct().Count().Should().BeGreaterThan(1, "the channels differ");
    }

    [Fact]
    public void Sosp_h_adds_half_the_curvature_along_all_parameters_to_the_first_order_term()
    {
        // λ_c = | -θ_cᵀg + ½ θ_cᵀ(Hθ) |. Both terms measured on the loss alone: θ_cᵀg is the
        // derivative along channel c's parameters; for L(α, β) = L((1+β)(θ + α θ_c)) the mixed
        // derivative d²L/dα dβ at 0 is θ_cᵀg + θ_cᵀHθ.
        var (model, data) = Net();
        var analysis = ChannelAnalysis.Run(model);
        var group = analysis.Groups.Single(g => g.Producers.Any(p => p.Inputs[1]!.Name == "w1"));
        var scores = new SospCriterion(new CalibrationSet(data, HasLabels: true), new SessionSettings { IntraOpThreads = 1 }, batchSize: 10).Score(analysis);
        const double a = 2e-2, b = 2e-2;
        for (int c = 0; c < 4; c++)
        {
            double L(double alpha, double beta) => LossWith(model, data, c, alpha, beta);
            var first = (L(a, 0) - L(-a, 0)) / (2 * a);
            var mixed = (L(a, b) - L(a, -b) - L(-a, b) + L(-a, -b)) / (4 * a * b);
            var expected = Math.Abs(-first + 0.5 * (mixed - first));
            scores[group.Units[c]].Should().BeApproximately(expected, 0.05 * expected + 1e-3, $"channel {c}: first {first}, mixed {mixed}");
        }
    }

    [Fact]
    public void Sosp_i_adds_half_the_gauss_newton_form_of_each_channels_own_parameters()
    {
        // λ_c = | -θ_cᵀg + ½ θ_cᵀGθ_c |, G = (1/N) Σ_n J_nᵀ (diag(p_n) - p_n p_nᵀ) J_n. Measured without any
        // gradient graph: J_n θ_c is the derivative of the logits along channel c's parameters (a central
        // difference of ORT's outputs), and θ_cᵀg the derivative of the loss.
        var (model, data) = Net();
        var analysis = ChannelAnalysis.Run(model);
        var group = analysis.Groups.Single(g => g.Producers.Any(p => p.Inputs[1]!.Name == "w1"));
        var scores = new SospICriterion(new CalibrationSet(data, HasLabels: true), new SessionSettings { IntraOpThreads = 1 }).Score(analysis);
        const double a = 1e-2;
        var p = Softmax(Logits(model, data));
        var largest = 0.0;
        for (int c = 0; c < 4; c++)
        {
            var first = (LossWith(model, data, c, 1 + a) - LossWith(model, data, c, 1 - a)) / (2 * a);
            var (up, down) = (Logits(Scaled(model, c, 1 + a), data), Logits(Scaled(model, c, 1 - a), data));
            double quadratic = 0;
            for (int n = 0; n < Images; n++)
            {
                var u = Enumerable.Range(0, Classes).Select(k => (up[n * Classes + k] - down[n * Classes + k]) / (2 * a)).ToArray();
                var pu = Enumerable.Range(0, Classes).Sum(k => p[n * Classes + k] * u[k]);
                quadratic += (Enumerable.Range(0, Classes).Sum(k => p[n * Classes + k] * u[k] * u[k]) - pu * pu) / Images;
            }
            var expected = Math.Abs(-first + 0.5 * quadratic);
            scores[group.Units[c]].Should().BeApproximately(expected, 0.02 * expected + 1e-4, $"channel {c}: first {first}, quadratic {quadratic}");
            largest = Math.Max(largest, quadratic);
        }
        largest.Should().BeGreaterThan(1e-2, "the curvature term is large enough to be checked");
    }

    [Fact]
    public void Without_labels_the_targets_are_the_models_own_predictions()
    {
        var (model, data) = Net();
        var predicted = Predictions(model, data);
        var relabelled = new Dataset(data.Images, predicted, 2, 5, 5, Classes, "random images, labelled by the model");
        var settings = new SessionSettings { IntraOpThreads = 1 };
        var unlabelled = new TaylorCriterion(new CalibrationSet(data, HasLabels: false), settings).Score(ChannelAnalysis.Run(model));
        var byPrediction = new TaylorCriterion(new CalibrationSet(relabelled, HasLabels: true), settings).Score(ChannelAnalysis.Run(model));
        var withLabels = new TaylorCriterion(new CalibrationSet(data, HasLabels: true), settings).Score(ChannelAnalysis.Run(model));
        unlabelled.Should().BeEquivalentTo(byPrediction);
        unlabelled.Should().NotBeEquivalentTo(withLabels, "random labels are not the model's predictions");
    }

    [Fact]
    public void Calibration_samples_are_seeded_and_class_balanced()
    {
        // 30 images: class 0 has 20, class 1 has 7, class 2 has 3.
        var labels = Enumerable.Range(0, 30).Select(i => i < 20 ? 0L : i < 27 ? 1L : 2L).ToArray();
        var images = Enumerable.Range(0, 30).Select(i => (float)i).ToArray();
        var data = new Dataset(images, labels, 1, 1, 1, 3);
        var identity = ChannelNormalization.Identity(1);
        var a = CalibrationSet.Sample(data, identity, 12, seed: 5, hasLabels: true);
        var b = CalibrationSet.Sample(data, identity, 12, seed: 5, hasLabels: true);
        a.Images.Images.Should().Equal(b.Images.Images);
        // Classes take turns: 4 + 4 + 3 (class 2 runs out) + 1 more from the next turn.
        a.Images.ClassCounts().Should().Equal(5, 4, 3);
        CalibrationSet.Sample(data, identity, 12, seed: 6, hasLabels: true).Images.Images.Should().NotEqual(a.Images.Images);
        CalibrationSet.Sample(data, identity, 12, seed: 5, hasLabels: false).Images.ClassCounts().Sum().Should().Be(12);
    }

    /// <summary>A copy of the net with channel <paramref name="channel"/>'s parameters scaled by <paramref name="scale"/>.</summary>
    private static Model Scaled(Model model, int channel, double scale)
    {
        var copy = model.Clone();
        Scale(copy, "w1", axis: 0, channel, scale);
        Scale(copy, "b1", axis: 0, channel, scale);
        Scale(copy, "w2", axis: 1, channel, scale);
        return copy;
    }

    private static double[] Logits(Model model, Dataset data)
    {
        using var session = InferenceSession.FromModel(model, new SessionSettings { IntraOpThreads = 1 });
        return session.Run(new Dictionary<string, TensorData> { ["x"] = data.ImagesTensor() }).Values.First().As<float>().Select(v => (double)v).ToArray();
    }

    private static double[] Softmax(double[] logits)
    {
        var p = new double[logits.Length];
        for (int n = 0; n < logits.Length / Classes; n++)
        {
            var row = logits.Skip(n * Classes).Take(Classes).ToArray();
            var exp = row.Select(v => Math.Exp(v - row.Max())).ToArray();
            for (int k = 0; k < Classes; k++) p[n * Classes + k] = exp[k] / exp.Sum();
        }
        return p;
    }

    private static double LossWith(Model model, Dataset data, int channel, double scale) => LossWith(model, data, channel, scale - 1, 0);

    /// <summary>The loss with channel <paramref name="channel"/>'s parameters scaled by 1 + alpha
    /// and then every parameter by 1 + beta.</summary>
    private static double LossWith(Model model, Dataset data, int channel, double alpha, double beta)
    {
        var copy = model.Clone();
        Scale(copy, "w1", axis: 0, channel, 1 + alpha);
        Scale(copy, "b1", axis: 0, channel, 1 + alpha);
        Scale(copy, "w2", axis: 1, channel, 1 + alpha);
        foreach (var name in new[] { "w1", "b1", "w2" }) ScaleAll(copy, name, 1 + beta);
        return ClassifierEvaluation.Evaluate(copy, data, null, new SessionSettings { IntraOpThreads = 1 }).Loss;
    }

    private static void ScaleAll(Model model, string name, double scale)
    {
        var init = model.Graph.Initializers[name];
        init.ConstValue = DenseTensor.FromFloats(init.ConstValue!.Dims.ToArray(), init.ConstValue.ToFloatArray().Select(v => (float)(v * scale)).ToArray());
    }

    /// <summary>Multiplies index <paramref name="index"/> of <paramref name="axis"/> of an initializer by <paramref name="scale"/>.</summary>
    private static void Scale(Model model, string name, int axis, int index, double scale)
    {
        var init = model.Graph.Initializers[name];
        var t = init.ConstValue!;
        var values = t.ToFloatArray();
        long inner = t.Dims.Skip(axis + 1).Aggregate(1L, (p, d) => p * d), n = t.Dims[axis];
        for (long k = 0; k < values.Length; k++)
            if ((k / inner) % n == index) values[k] = (float)(values[k] * scale);
        init.ConstValue = DenseTensor.FromFloats(t.Dims.ToArray(), values);
    }

    private static long[] Predictions(Model model, Dataset data)
    {
        using var session = InferenceSession.FromModel(model, new SessionSettings { IntraOpThreads = 1 });
        var output = session.Run(new Dictionary<string, TensorData> { ["x"] = data.ImagesTensor() }).Values.First().As<float>();
        return Enumerable.Range(0, data.Count).Select(i => (long)Array.IndexOf(output, output.Skip(i * Classes).Take(Classes).Max(), i * Classes) - i * Classes).ToArray();
    }
}
