using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks for MatMul (vectors, batches, broadcast batches) and Gemm
/// (transA/transB/alpha/beta, C broadcast), in float64.</summary>
public class LinearGradientTests
{
    public static TheoryData<long[], long[], long[]> MatMulShapes() => new()
    {
        { [3, 4], [4, 5], [3, 5] },
        { [2, 3, 4], [4, 5], [2, 3, 5] },
        { [2, 3, 4], [2, 4, 5], [2, 3, 5] },
        { [1, 3, 4], [2, 4, 5], [2, 3, 5] },
        { [3, 4], [2, 4, 5], [2, 3, 5] },
        { [4], [4, 5], [5] },
        { [3, 4], [4], [3] },
        { [2, 3, 4], [4], [2, 3] },
    };

    [Theory]
    [MemberData(nameof(MatMulShapes))]
    public void MatMul_gradients_match_finite_differences(long[] aDims, long[] bDims, long[] yDims)
    {
        var net = new TestNet(DataType.Double, seed: aDims.Length * 10 + bDims.Length);
        var a = net.Input("a", aDims);
        var b = net.Input("b", bDims);
        var model = net.Finish(net.Op("MatMul", [a, b]));
        net.Target(yDims);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["a", "b"]);
    }

    [Theory]
    [InlineData(0, 0, 1.0, 1.0, "row")]
    [InlineData(1, 0, 0.5, 2.0, "full")]
    [InlineData(0, 1, 1.5, 0.5, "column")]
    [InlineData(1, 1, 1.0, 1.0, "scalar")]
    [InlineData(0, 1, 1.0, 1.0, "none")]
    public void Gemm_gradients_match_finite_differences(int transA, int transB, double alpha, double beta, string c)
    {
        const long m = 3, k = 4, n = 5;
        var net = new TestNet(DataType.Double, seed: transA * 2 + transB);
        var a = net.Input("a", transA == 1 ? [k, m] : [m, k]);
        var b = net.Input("b", transB == 1 ? [n, k] : [k, n]);
        var inputs = new List<Value?> { a, b };
        var checkedInputs = new List<string> { "a", "b" };
        long[]? cDims = c switch { "row" => [n], "full" => [m, n], "column" => [m, 1], "scalar" => [1], _ => null };
        if (cDims is not null)
        {
            inputs.Add(net.Input("c", cDims));
            checkedInputs.Add("c");
        }
        var y = net.Op("Gemm", inputs.ToArray(), Attribute.Int("transA", transA), Attribute.Int("transB", transB),
            Attribute.Float("alpha", (float)alpha), Attribute.Float("beta", (float)beta));
        var model = net.Finish(y);
        net.Target([m, n]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: checkedInputs.ToArray());
    }
}
