using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using OnnxPrune.Runtime;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Hessian-vector products by central differences of gradients, against a Hessian
/// known in closed form.</summary>
public class HessianVectorProductTests
{
    /// <summary>
    /// y = x W, loss = mean((y − t)²) over N×M elements: the Hessian with respect to W is block
    /// diagonal over W's columns with blocks 2/(N M) XᵀX, so (Hv)[:, j] = 2/(N M) XᵀX v[:, j].
    /// </summary>
    private static (Model Model, IReadOnlyDictionary<string, TensorData> Data, double[] X) Quadratic(DataType type)
    {
        var net = new TestNet(type, seed: 31);
        var x = net.Input("x", [N, K]);
        var y = net.Op("MatMul", [x, net.Weight("w", [K, M])]);
        var model = net.Finish(y);
        net.Target([N, M]);
        return (model, net.Data, TensorConvert.ToDoubles(net.Data["x"]));
    }

    private const int N = 5, K = 4, M = 3;

    private static double[] ExactProduct(double[] x, double[] v)
    {
        var result = new double[K * M];
        for (int i = 0; i < K; i++)
            for (int j = 0; j < M; j++)
            {
                double s = 0;
                for (int l = 0; l < K; l++)
                {
                    double xtx = 0;
                    for (int n = 0; n < N; n++) xtx += x[n * K + i] * x[n * K + l];
                    s += xtx * v[l * M + j];
                }
                result[i * M + j] = 2.0 / (N * M) * s;
            }
        return result;
    }

    [Theory]
    [InlineData(DataType.Double, 1e-8)]
    [InlineData(DataType.Float, 1e-2)]
    public void Matches_the_exact_product_on_a_quadratic_model(DataType type, double tolerance)
    {
        var (model, data, x) = Quadratic(type);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var rng = new Random(5);
        for (int trial = 0; trial < 3; trial++)
        {
            var v = Enumerable.Range(0, K * M).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var (product, step) = HessianVectorProduct.Compute(session, data, new Dictionary<string, double[]> { ["w"] = v });
            var w = TensorConvert.ToDoubles(session.InitialParameters["w"]);
            double thetaNorm = Math.Sqrt(w.Sum(e => e * e)), vNorm = Math.Sqrt(v.Sum(e => e * e));
            step.Should().BeApproximately(1e-3 * (1 + thetaNorm) / vNorm, 1e-15);
            var expected = ExactProduct(x, v);
            double scale = expected.Max(Math.Abs);
            for (int i = 0; i < expected.Length; i++)
                Math.Abs(product["w"][i] - expected[i]).Should().BeLessThanOrEqualTo(tolerance * scale, $"element {i}");
        }
    }

    [Fact]
    public void A_zero_direction_gives_zero_without_running()
    {
        var (model, data, _) = Quadratic(DataType.Double);
        var graph = GradientBuilder.Build(model, new GradientOptions { Loss = new MeanSquaredErrorLoss() });
        using var session = new GradientSession(graph, GradientCheck.Settings, GradientCheck.Runtime);
        var (product, step) = HessianVectorProduct.Compute(session, data, new Dictionary<string, double[]> { ["w"] = new double[K * M] });
        step.Should().Be(0);
        product["w"].Should().AllSatisfy(e => e.Should().Be(0));
        var wrongLength = () => HessianVectorProduct.Compute(session, data, new Dictionary<string, double[]> { ["w"] = new double[3] });
        wrongLength.Should().Throw<ArgumentException>().WithMessage("*3 elements*");
    }
}
