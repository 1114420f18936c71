using OnnxPrune.Autodiff;
using OnnxPrune.IR;
using Attribute = OnnxPrune.IR.Attribute;

namespace OnnxPrune.Tests.Autodiff;

/// <summary>Gradient checks for activations and element-wise arithmetic with broadcasting, in
/// float64 where ORT runs the op in double (tolerance 1e-6), else float32 (1e-2).</summary>
public class ElementwiseGradientTests
{
    public static TheoryData<string, bool> Activations() => new()
    {
        // op, runs in double
        { "Relu", true }, { "LeakyRelu", false }, { "Clip", true }, { "Sigmoid", true }, { "HardSigmoid", false },
        { "HardSwish", false }, { "Tanh", true }, { "Elu", false }, { "Selu", false }, { "Celu", false },
        { "Softplus", false }, { "Softsign", false }, { "ThresholdedRelu", false }, { "Exp", true }, { "Log", true },
        { "Sqrt", true }, { "Reciprocal", true }, { "Neg", true }, { "Abs", true }, { "Erf", false },
        { "Sin", true }, { "Cos", true }, { "Identity", true }, { "Dropout", true },
    };

    [Theory]
    [MemberData(nameof(Activations))]
    public void Activation_gradients_match_finite_differences(string op, bool inDouble)
    {
        var net = new TestNet(inDouble ? DataType.Double : DataType.Float, seed: op.Length);
        bool positiveDomain = op is "Log" or "Sqrt" or "Reciprocal";
        // Spread inputs over every region of piecewise activations (HardSwish's ±3, Clip's bounds).
        double scale = op is "HardSwish" or "HardSigmoid" or "Clip" or "ThresholdedRelu" ? 3 : 1;
        var x = net.Input("x", [3, 5], scale);
        var w = net.Weight("w", [3, 5], 0.5, 1);
        Value t = net.Op("Mul", [x, w]);
        if (positiveDomain) t = net.Op("Add", [t, net.Constant("three", [], [3])]);
        var inputs = new List<Value?> { t };
        var attributes = new List<Attribute>();
        switch (op)
        {
            case "Clip":
                inputs.Add(net.Constant("min", [], [-1]));
                inputs.Add(net.Constant("max", [], [2]));
                break;
            case "LeakyRelu": attributes.Add(Attribute.Float("alpha", 0.5f)); break;
            case "Elu" or "Celu": attributes.Add(Attribute.Float("alpha", 0.7f)); break;
            case "ThresholdedRelu": attributes.Add(Attribute.Float("alpha", 0.5f)); break;
        }
        var y = net.Op(op, inputs.ToArray(), attributes.ToArray());
        if (!inDouble)
        {
            GradientCheck.VerifyProjected(net, y, 1e-2, ["w"], ["x"]);
            return;
        }
        var model = net.Finish(y);
        net.Target([3, 5]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("w"), 1e-6, inputs: ["x"]);
    }

    public static TheoryData<string, long[], long[]> Binary()
    {
        var data = new TheoryData<string, long[], long[]>();
        foreach (var op in new[] { "Add", "Sub", "Mul", "Div", "Pow" })
        {
            data.Add(op, [2, 3, 4], [2, 3, 4]);
            data.Add(op, [2, 3, 4], [3, 1]);
            data.Add(op, [1, 3, 1], [2, 1, 4]);
            data.Add(op, [4], [2, 3, 1]);
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Binary))]
    public void Broadcasting_arithmetic_gradients_match_finite_differences(string op, long[] aDims, long[] bDims)
    {
        var net = new TestNet(DataType.Double, seed: 2);
        var a = net.Input("a", aDims);
        var b = net.Input("b", bDims);
        // Keep divisors and bases away from zero.
        if (op == "Div") net.SetData("b", net.Tensor(net.Uniform(TestNet.Count(bDims), 0.5, 2), bDims));
        if (op == "Pow")
        {
            net.SetData("a", net.Tensor(net.Uniform(TestNet.Count(aDims), 0.5, 2), aDims));
            net.SetData("b", net.Tensor(net.Uniform(TestNet.Count(bDims), -1.5, 2.5), bDims));
        }
        var y = net.Op(op, [a, b]);
        var model = net.Finish(y);
        net.Target(Broadcast(aDims, bDims));
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["a", "b"]);
    }

    [Fact]
    public void Pow_with_a_constant_exponent()
    {
        var net = new TestNet(DataType.Double, seed: 4);
        var a = net.Input("a", [3, 4]);
        var y = net.Op("Add", [net.Op("Pow", [a, net.Constant("two", [], [2])]), net.Op("Pow", [net.Op("Abs", [a]), net.Constant("e", [], [1.5])])]);
        var model = net.Finish(y);
        net.Target([3, 4]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["a"]);
    }

    [Fact]
    public void Sum_Where_and_PRelu_gradients_match_finite_differences()
    {
        var net = new TestNet(DataType.Float, seed: 8);
        var a = net.Input("a", [2, 3, 4, 4]);
        var b = net.Input("b", [3, 1, 1]);
        var c = net.Input("c", [4]);
        var slope = net.Weight("slope", [3, 1, 1], 0.2, 0.25);
        var sum = net.Op("Sum", [a, b, c]);
        var prelu = net.Op("PRelu", [sum, slope]);
        var mask = net.Op("Greater", [a, net.Constant("zero", [], [0])]);
        var y = net.Op("Where", [mask, prelu, c]);
        var model = net.Finish(y);
        net.Target([2, 3, 4, 4]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse("slope"), 1e-2, inputs: ["a", "b", "c"]);
    }

    [Theory]
    [InlineData("Max")]
    [InlineData("Min")]
    [InlineData("Mean")]
    public void Variadic_max_min_and_mean_with_broadcasting(string op)
    {
        // ORT runs Mean in float32 only.
        var net = new TestNet(op == "Mean" ? DataType.Float : DataType.Double, seed: 12);
        var a = net.Input("a", [2, 3, 4]);
        var b = net.Input("b", [3, 1]);
        var c = net.Input("c", [4]);
        var y = net.Op(op, [a, b, c]);
        if (op == "Mean")
        {
            GradientCheck.VerifyProjected(net, y, 1e-2, [], ["a", "b", "c"]);
            return;
        }
        var model = net.Finish(y);
        net.Target([2, 3, 4]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["a", "b", "c"]);
    }

    [Fact]
    public void Piecewise_constant_ops_pass_no_gradient()
    {
        var net = new TestNet(DataType.Double, seed: 13);
        var x = net.Input("x", [3, 4], 3);
        var steps = new[] { "Floor", "Ceil", "Round", "Sign" }.Select(op => net.Op(op, [x])).ToArray();
        var y = net.Op("Add", [net.Op("Sum", steps.ToArray<Value?>()), net.Op("Tanh", [x])]);
        var model = net.Finish(y);
        net.Target([3, 4]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["x"]);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void Gelu_exact_and_tanh_approximation(string approximate)
    {
        var net = new TestNet(DataType.Float, seed: 14);
        var x = net.Input("x", [3, 5], 2);
        var y = net.Op("Gelu", [net.Op("Mul", [x, net.Weight("w", [3, 5], 0.5, 1)])], Attribute.String("approximate", approximate));
        var model = net.Finish(y);
        model.OpsetImports[""] = 20;
        var loss = GradientCheck.AppendProjectionLoss(model, y, seed: 2);
        GradientCheck.Verify(model, net.Data, new GradientOptions { Loss = new ExistingLoss(loss), Trainable = ["w"] }, 1e-2, inputs: ["x"]);
    }

    [Fact]
    public void A_value_read_twice_by_one_node_gets_both_contributions()
    {
        var net = new TestNet(DataType.Double, seed: 9);
        var x = net.Input("x", [3, 4]);
        var y = net.Op("Mul", [x, x]);
        var model = net.Finish(y);
        net.Target([3, 4]);
        GradientCheck.Verify(model, net.Data, GradientCheck.Mse(), 1e-6, inputs: ["x"]);
    }

    private static long[] Broadcast(long[] a, long[] b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new long[rank];
        for (int i = 0; i < rank; i++)
        {
            long da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            long db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            result[i] = Math.Max(da, db);
        }
        return result;
    }
}
