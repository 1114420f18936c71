using OnnxPrune.IR;

namespace OnnxPrune.Autodiff.Rules;

/// <summary>A rule for an op whose only differentiable input is input 0 and whose gradient is
/// a function of (context, node, output gradient).</summary>
internal sealed class UnaryRule(Func<GradientContext, GradNode, Value, Value?> gradient) : IGradientRule
{
    public Value?[] Backward(GradientContext ctx, GradNode node, IReadOnlyList<Value?> outputGradients)
    {
        var result = new Value?[node.Inputs.Count];
        if (outputGradients[0] is { } dy && ctx.NeedsGradient(node.Input(0))) result[0] = gradient(ctx, node, dy);
        return result;
    }
}

/// <summary>Activations and other element-wise functions of one tensor. x is the input, y the
/// output, dy the output gradient; masks are built with comparisons and applied by KeepWhere.</summary>
internal static class UnaryRules
{
    private static Value X(GradNode n) => n.RequireInput(0);
    private static Value Y(GradNode n) => n.Outputs[0];

    private static Value Greater(GradientContext c, Value a, Value b) => c.Op("Greater", [a, b]);
    private static Value Less(GradientContext c, Value a, Value b) => c.Op("Less", [a, b]);
    private static Value And(GradientContext c, Value a, Value b) => c.Op("And", [a, b]);
    private static Value One(GradientContext c, Value like) => c.Scalar(1, c.TypeOf(like));

    /// <summary>dy where y &gt; 0 (y = max(x, 0), so y &gt; 0 exactly where x &gt; 0); the mask is
    /// computed once dy exists, not held from the forward pass
    /// (<see cref="GradientContext.KeepWherePositive"/>).</summary>
    public static readonly IGradientRule Relu = new UnaryRule((c, n, dy) => c.KeepWherePositive(Y(n), dy));

    public static readonly IGradientRule LeakyRelu = new UnaryRule((c, n, dy) =>
        c.Where(Greater(c, X(n), c.Zero(dy)), dy, c.Scale(dy, n.Attributes.GetFloat("alpha", 0.01f))));

    /// <summary>dy strictly inside (min, max), as PyTorch's hardtanh/ReLU6 backward.</summary>
    public static readonly IGradientRule Clip = new UnaryRule((c, n, dy) =>
    {
        Value? mask = null;
        if (n.Input(1) is { } min) mask = Greater(c, X(n), min);
        if (n.Input(2) is { } max) mask = mask is null ? Less(c, X(n), max) : And(c, mask, Less(c, X(n), max));
        return mask is null ? dy : c.KeepWhere(mask, dy);
    });

    /// <summary>dy * y * (1 - y).</summary>
    public static readonly IGradientRule Sigmoid = new UnaryRule((c, n, dy) =>
        c.Mul(dy, c.Mul(Y(n), c.Sub(One(c, dy), Y(n)))));

    /// <summary>alpha * dy where 0 &lt; y &lt; 1 (y = clamp(alpha x + beta, 0, 1)).</summary>
    public static readonly IGradientRule HardSigmoid = new UnaryRule((c, n, dy) =>
    {
        var y = Y(n);
        var inside = And(c, Greater(c, y, c.Zero(dy)), Less(c, y, One(c, dy)));
        return c.Where(inside, c.Scale(dy, n.Attributes.GetFloat("alpha", 0.2f)), c.Zero(dy));
    });

    /// <summary>y = x * relu6(x + 3) / 6: 0 below -3, dy above 3, dy * (x/3 + 1/2) between
    /// (PyTorch's boundaries).</summary>
    public static readonly IGradientRule HardSwish = new UnaryRule((c, n, dy) =>
    {
        var x = X(n);
        var t = c.Scalar(3, c.TypeOf(x));
        var slope = c.Add(c.Scale(x, 1.0 / 3.0), c.Scalar(0.5, c.TypeOf(x)));
        var middle = c.Mul(dy, slope);
        var upper = c.Where(Greater(c, x, t), dy, middle);
        return c.Where(Less(c, x, c.Scalar(-3, c.TypeOf(x))), c.Zero(dy), upper);
    });

    /// <summary>dy * (1 - y^2).</summary>
    public static readonly IGradientRule Tanh = new UnaryRule((c, n, dy) =>
        c.Mul(dy, c.Sub(One(c, dy), c.Mul(Y(n), Y(n)))));

    /// <summary>dy for x &gt; 0, else dy * (y + alpha).</summary>
    public static readonly IGradientRule Elu = new UnaryRule((c, n, dy) =>
    {
        var alpha = n.Attributes.GetFloat("alpha", 1f);
        var negative = c.Mul(dy, c.Add(Y(n), c.Scalar(alpha, c.TypeOf(dy))));
        return c.Where(Greater(c, X(n), c.Zero(dy)), dy, negative);
    });

    /// <summary>gamma * dy for x &gt; 0, else dy * (y + alpha * gamma).</summary>
    public static readonly IGradientRule Selu = new UnaryRule((c, n, dy) =>
    {
        double alpha = n.Attributes.GetFloat("alpha", 1.67326319217681884765625f);
        double gamma = n.Attributes.GetFloat("gamma", 1.05070102214813232421875f);
        var negative = c.Mul(dy, c.Add(Y(n), c.Scalar(alpha * gamma, c.TypeOf(dy))));
        return c.Where(Greater(c, X(n), c.Zero(dy)), c.Scale(dy, gamma), negative);
    });

    /// <summary>dy for x &gt; 0, else dy * (y / alpha + 1) (= dy * exp(x / alpha)).</summary>
    public static readonly IGradientRule Celu = new UnaryRule((c, n, dy) =>
    {
        double alpha = n.Attributes.GetFloat("alpha", 1f);
        var negative = c.Mul(dy, c.Add(c.Scale(Y(n), 1 / alpha), One(c, dy)));
        return c.Where(Greater(c, X(n), c.Zero(dy)), dy, negative);
    });

    /// <summary>dy * sigmoid(x).</summary>
    public static readonly IGradientRule Softplus = new UnaryRule((c, n, dy) =>
        c.Mul(dy, c.Op("Sigmoid", [X(n)])));

    /// <summary>dy / (1 + |x|)^2.</summary>
    public static readonly IGradientRule Softsign = new UnaryRule((c, n, dy) =>
    {
        var d = c.Add(One(c, dy), c.Op("Abs", [X(n)]));
        return c.Div(dy, c.Mul(d, d));
    });

    /// <summary>y = x tanh(softplus(x)): dy * (t + x sigmoid(x) (1 - t^2)), t = tanh(softplus(x)).</summary>
    public static readonly IGradientRule Mish = new UnaryRule((c, n, dy) =>
    {
        var x = X(n);
        var t = c.Op("Tanh", [c.Op("Softplus", [x])]);
        var inner = c.Mul(c.Mul(x, c.Op("Sigmoid", [x])), c.Sub(One(c, dy), c.Mul(t, t)));
        return c.Mul(dy, c.Add(t, inner));
    });

    public static readonly IGradientRule ThresholdedRelu = new UnaryRule((c, n, dy) =>
        c.KeepWhere(Greater(c, X(n), c.Scalar(n.Attributes.GetFloat("alpha", 1f), c.TypeOf(dy))), dy));

    public static readonly IGradientRule Exp = new UnaryRule((c, n, dy) => c.Mul(dy, Y(n)));

    public static readonly IGradientRule Log = new UnaryRule((c, n, dy) => c.Div(dy, X(n)));

    /// <summary>dy / (2 y).</summary>
    public static readonly IGradientRule Sqrt = new UnaryRule((c, n, dy) => c.Div(c.Scale(dy, 0.5), Y(n)));

    /// <summary>-dy * y^2.</summary>
    public static readonly IGradientRule Reciprocal = new UnaryRule((c, n, dy) =>
        c.Neg(c.Mul(dy, c.Mul(Y(n), Y(n)))));

    public static readonly IGradientRule Neg = new UnaryRule((c, n, dy) => c.Neg(dy));

    public static readonly IGradientRule Abs = new UnaryRule((c, n, dy) => c.Mul(dy, c.Op("Sign", [X(n)])));

    /// <summary>dy * 2/sqrt(pi) * exp(-x^2).</summary>
    public static readonly IGradientRule Erf = new UnaryRule((c, n, dy) =>
    {
        var x = X(n);
        var e = c.Op("Exp", [c.Neg(c.Mul(x, x))]);
        return c.Mul(c.Scale(dy, 2 / Math.Sqrt(Math.PI)), e);
    });

    public static readonly IGradientRule Sin = new UnaryRule((c, n, dy) => c.Mul(dy, c.Op("Cos", [X(n)])));

    public static readonly IGradientRule Cos = new UnaryRule((c, n, dy) => c.Neg(c.Mul(dy, c.Op("Sin", [X(n)]))));

    /// <summary>
    /// Gelu (opset 20). Exact: dy (Φ(x) + x φ(x)), Φ = (1 + erf(x/√2))/2, φ = exp(−x²/2)/√(2π).
    /// approximate="tanh": y = x/2 (1 + tanh(u)), u = √(2/π)(x + 0.044715 x³):
    /// dy ((1 + t)/2 + x/2 (1 − t²) u'), t = tanh(u), u' = √(2/π)(1 + 3·0.044715 x²).
    /// </summary>
    public static readonly IGradientRule Gelu = new UnaryRule((c, n, dy) =>
    {
        var x = X(n);
        var type = c.TypeOf(x);
        var half = c.Scalar(0.5, type);
        if (n.Attributes.GetString("approximate", "none") == "tanh")
        {
            double k = Math.Sqrt(2 / Math.PI);
            var x2 = c.Mul(x, x);
            var u = c.Scale(c.Add(x, c.Scale(c.Mul(x2, x), 0.044715)), k);
            var t = c.Op("Tanh", [u]);
            var du = c.Scale(c.Add(One(c, x), c.Scale(x2, 3 * 0.044715)), k);
            var first = c.Mul(half, c.Add(One(c, x), t));
            var second = c.Mul(c.Mul(c.Mul(half, x), c.Sub(One(c, x), c.Mul(t, t))), du);
            return c.Mul(dy, c.Add(first, second));
        }
        var cdf = c.Mul(half, c.Add(One(c, x), c.Op("Erf", [c.Scale(x, 1 / Math.Sqrt(2))])));
        var pdf = c.Scale(c.Op("Exp", [c.Scale(c.Mul(x, x), -0.5)]), 1 / Math.Sqrt(2 * Math.PI));
        return c.Mul(dy, c.Add(cdf, c.Mul(x, pdf)));
    });

    /// <summary>Piecewise-constant functions (Floor, Ceil, Round, Sign): zero gradient almost
    /// everywhere, so nothing flows back.</summary>
    public static readonly IGradientRule Zero = new UnaryRule((c, n, dy) => null);

    /// <summary>A cast between floating types: cast the gradient back.</summary>
    public static readonly IGradientRule Cast = new UnaryRule((c, n, dy) =>
        GradientContext.IsFloating(c.TypeOf(X(n))) ? c.Cast(dy, c.TypeOf(X(n))) : null);

    /// <summary>Identity, and Dropout as at inference (ratio ignored, mask output not differentiated).</summary>
    public static readonly IGradientRule PassThrough = new UnaryRule((c, n, dy) => dy);
}
